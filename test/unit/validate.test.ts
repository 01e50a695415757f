import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseSeedJson, parseSeedJsonl, type Range } from '../../src/core/seeds';
import {
  DECLARED_ANSWER_SHARE,
  DEFAULT_NEAR_DUPLICATE_THRESHOLD,
  DIAGNOSTIC_CODES,
  declaresAnswers,
  suggestFieldName,
  validateSeeds,
  type Diagnostic,
  type ValidateOptions,
} from '../../src/core/validate';

/** Validates one JSONL text given as an array of lines (objects are JSON-encoded). */
function validateLines(lines: readonly (string | object)[], options?: ValidateOptions): Diagnostic[] {
  const text = lines.map((line) => (typeof line === 'string' ? line : JSON.stringify(line))).join('\n');
  return validateSeeds([{ file: 'seeds.jsonl', ...parseSeedJsonl(text) }], options)[0]!;
}

function withCode(diagnostics: readonly Diagnostic[], code: string): Diagnostic[] {
  return diagnostics.filter((diagnostic) => diagnostic.code === code);
}

function only<T>(items: readonly T[]): T {
  assert.equal(items.length, 1, `expected exactly one, got ${JSON.stringify(items, null, 1)}`);
  return items[0]!;
}

/** The text a single-line range covers. */
function covered(line: string, range: Range): string {
  assert.equal(range.start.line, range.end.line);
  return line.slice(range.start.character, range.end.character);
}

const P = (n: number) => `A farmer has ${n} cows and buys ${n + 3} more at the market. How many cows does the farmer have now?`;
// Distinct enough from each other and from P(n) to stay below the near-duplicate threshold.
const DISTINCT = [
  'Find the arithmetic mean of the prime numbers in this list: 21, 23, 25, 27, 29.',
  'The perimeter of a square equals its area in square inches. Find the length of a side of the square.',
  'Compute the remainder when the sum of the first one hundred positive integers is divided by seven.',
  'What is the greatest common divisor of eighty-four and one hundred twenty-six?',
  'Simplify the expression two thirds minus one seventh and write your result as a common fraction.',
  'How many positive three-digit integers are divisible by both eleven and five?',
];

describe('DIAGNOSTIC_CODES', () => {
  it('lists every code the issue names, in kebab-case, each with a severity and a description', () => {
    const expected = [
      'json-syntax',
      'not-an-array',
      'not-an-object',
      'missing-instruction',
      'wrong-type',
      'unknown-field',
      'missing-answer',
      'answer-not-extractable',
      'answer-mismatch',
      'rule-too-short',
      'rule-too-long',
      'rule-blocked-keyword',
      'rule-write-a-program',
      'rule-bad-first-character',
      'duplicate',
      'near-duplicate',
    ];
    assert.deepEqual(Object.keys(DIAGNOSTIC_CODES).sort(), [...expected].sort());
    for (const [code, info] of Object.entries(DIAGNOSTIC_CODES)) {
      assert.match(code, /^[a-z]+(-[a-z]+)*$/);
      assert.ok(['error', 'warning', 'information', 'hint'].includes(info.severity), code);
      assert.ok(info.description.length > 20 && !info.description.includes('\n'), code);
    }
  });

  it('gives every diagnostic the severity of its code', () => {
    const diagnostics = validateLines([
      '{"problem": ',
      '[1]',
      { answer: '4' },
      { problem: P(1), answer: [4] },
      { problm: P(2), problem: P(2), answer: '5' },
      { problem: 'Too short', answer: '1' },
      { problem: P(3) },
      { problem: P(4), answer: '7', solution: 'So the total is \\boxed{8}.' },
      { problem: P(4), answer: '7' },
      { problem: P(5), answer: '8' },
    ]);
    const seen = new Set<string>(diagnostics.map((diagnostic) => diagnostic.code));
    for (const code of ['json-syntax', 'not-an-object', 'missing-instruction', 'wrong-type', 'unknown-field', 'rule-too-short', 'missing-answer', 'answer-mismatch', 'duplicate', 'near-duplicate']) {
      assert.ok(seen.has(code), `no ${code} in ${JSON.stringify([...seen])}`);
    }
    for (const diagnostic of diagnostics) assert.equal(diagnostic.severity, DIAGNOSTIC_CODES[diagnostic.code].severity);
  });
});

describe('validateSeeds: parse problems', () => {
  it('reports the parser problems as diagnostics with their ranges', () => {
    const diagnostics = validateLines([{ problem: DISTINCT[0] }, '{"problem": "x",}', 'null', { solution: 'abc' }]);
    assert.deepEqual(
      diagnostics.map((diagnostic) => [diagnostic.code, diagnostic.range.start.line, diagnostic.range.start.character]),
      [
        ['json-syntax', 1, 15],
        ['not-an-object', 2, 0],
        ['missing-instruction', 3, 0],
      ],
    );
  });

  it('finds nothing in a clean file', () => {
    assert.deepEqual(
      validateLines(DISTINCT.map((problem, i) => ({ problem, answer: String(i), level: 'Level 1', subject: 'Algebra', unique_id: `u${i}`, idx: i }))),
      [],
    );
  });

  it('validates JSON files the same way, with multi-line ranges', () => {
    const text = JSON.stringify([{ problem: DISTINCT[0] }, { problem: DISTINCT[0] }, { problm: DISTINCT[1] }], null, 2);
    const diagnostics = validateSeeds([{ file: 'seeds.json', ...parseSeedJson(text) }])[0]!;
    assert.deepEqual(
      diagnostics.map((diagnostic) => [diagnostic.code, diagnostic.range.start.line]),
      [
        ['duplicate', 5],
        ['missing-instruction', 7],
        ['unknown-field', 8],
      ],
    );
    assert.equal(diagnostics[0]!.message, 'duplicate of line 3');
  });
});

describe('unknown fields', () => {
  it('suggests the known field for near-misspellings', () => {
    const cases: [string, string][] = [
      ['problm', 'problem'],
      ['Problem', 'problem'],
      ['PROBLEM', 'problem'],
      ['probelm', 'problem'],
      ['prolbem', 'problem'],
      ['problems', 'problem'],
      ['questoin', 'question'],
      ['qestion', 'question'],
      ['instrucion', 'instruction'],
      ['instructions', 'instruction'],
      ['answr', 'answer'],
      ['anwser', 'answer'],
      ['Answer', 'answer'],
      ['answers', 'answer'],
      ['soluton', 'solution'],
      ['solutoin', 'solution'],
    ];
    for (const [name, expected] of cases) assert.equal(suggestFieldName(name), expected, name);
  });

  it('leaves known fields and the usual dataset fields alone', () => {
    const quiet = ['problem', 'question', 'instruction', 'answer', 'solution', 'id', 'idx', 'level', 'subject', 'unique_id', 'type', 'source', 'input', 'output', 'query', 'response', 'gt', 'gt_answer', 'final_answer', 'rationale', 'options', 'label', 'prompt', 'topic', 'ID', 'ids', 'uid', 'problem_id', 'question_id', 'explanation', 'difficulty', 'category', 'messages'];
    for (const name of quiet) assert.equal(suggestFieldName(name), null, name);
  });

  it('reports a hint at the misspelt key', () => {
    const line = JSON.stringify({ problem: DISTINCT[0], answr: '26', level: 'Level 2' });
    const diagnostic = only(validateLines([line]));
    assert.equal(diagnostic.code, 'unknown-field');
    assert.equal(diagnostic.severity, 'hint');
    assert.equal(diagnostic.message, 'unknown field "answr": did you mean "answer"?');
    assert.equal(covered(line, diagnostic.range), '"answr"');
  });

  it('says field names are case-sensitive when only the case differs', () => {
    const diagnostics = validateLines([{ Problem: DISTINCT[0] }]);
    assert.match(only(withCode(diagnostics, 'unknown-field')).message, /did you mean "problem"\? \(field names are case-sensitive\)/);
    assert.equal(withCode(diagnostics, 'missing-instruction').length, 1);
  });
});

describe('declaresAnswers', () => {
  function items(answers: unknown[]) {
    return parseSeedJsonl(answers.map((answer, i) => JSON.stringify({ problem: `${DISTINCT[0]} ${i}`, answer })).join('\n')).items;
  }

  it(`is true when at least ${DECLARED_ANSWER_SHARE * 100}% of the items have a non-blank answer`, () => {
    assert.equal(declaresAnswers(items(['1', '2', '3'])), true);
    assert.equal(declaresAnswers(items(['1', null])), true);
    assert.equal(declaresAnswers(items(['1', '2', null, null])), true);
    assert.equal(declaresAnswers(items(['1', null, null])), false);
    assert.equal(declaresAnswers(items([null, null])), false);
    assert.equal(declaresAnswers(items([])), false);
  });

  it('counts numeric answers (zero included) and ignores blank ones', () => {
    assert.equal(declaresAnswers(items([0, null])), true);
    assert.equal(declaresAnswers(items(['', ' ', '1'])), false);
  });
});

describe('missing answers', () => {
  it('are errors on the items without one when the file declares answers', () => {
    const lines = [
      { problem: DISTINCT[0], answer: '26' },
      { problem: DISTINCT[1] },
      { problem: DISTINCT[2], answer: 2 },
      { problem: DISTINCT[3], answer: '' },
    ];
    const missing = withCode(validateLines(lines), 'missing-answer');
    assert.deepEqual(
      missing.map((diagnostic) => diagnostic.range.start.line),
      [1, 3],
    );
    assert.equal(missing[0]!.severity, 'error');
    assert.equal(missing[0]!.message, 'missing "answer": 2 of 4 items in this file have one');
    assert.deepEqual(missing[0]!.range.end.character, JSON.stringify(lines[1]).length);
  });

  it('are fine in a file where answers are the exception', () => {
    const lines = [{ problem: DISTINCT[0], answer: '26' }, { problem: DISTINCT[1] }, { problem: DISTINCT[2] }];
    assert.deepEqual(withCode(validateLines(lines), 'missing-answer'), []);
  });
});

describe('answers against solutions', () => {
  it('accepts answers equivalent to the solution\'s final answer', () => {
    const lines = [
      { problem: DISTINCT[0], answer: '26', solution: 'The mean is $\\boxed{26}$.' },
      { problem: DISTINCT[1], answer: 4, solution: 'Solving $4x = x^2$ gives $x = \\boxed{4}$ inches.' },
      { problem: DISTINCT[2], answer: '\\frac{1}{2}', solution: 'So the probability is $\\boxed{\\frac12}$.' },
      { problem: DISTINCT[3], answer: '42', solution: 'The answer is 42.' },
      { problem: DISTINCT[4], answer: '0.5', solution: 'We get $\\boxed{\\frac{1}{2}}$.' },
    ];
    assert.deepEqual(validateLines(lines), []);
  });

  it('warns when the answer differs, at the answer, relating the solution', () => {
    const line = JSON.stringify({ problem: DISTINCT[0], answer: '27', solution: 'The mean is $\\boxed{26}$.' });
    const diagnostic = only(validateLines([line]));
    assert.equal(diagnostic.code, 'answer-mismatch');
    assert.equal(diagnostic.severity, 'warning');
    assert.equal(diagnostic.message, '"answer" "27" is not equivalent to the solution\'s final answer "26"');
    assert.equal(covered(line, diagnostic.range), '"27"');
    const related = only(diagnostic.related ?? []);
    assert.equal(related.file, undefined);
    assert.equal(covered(line, related.range), JSON.stringify('The mean is $\\boxed{26}$.'));
    assert.match(related.message, /26/);
  });

  it('warns when no final answer can be extracted from the solution', () => {
    const line = JSON.stringify({ problem: DISTINCT[0], answer: '26', solution: 'Add them up and divide by two.' });
    const diagnostic = only(validateLines([line]));
    assert.equal(diagnostic.code, 'answer-not-extractable');
    assert.equal(covered(line, diagnostic.range), JSON.stringify('Add them up and divide by two.'));
  });

  it('checks a solution without an answer only for extractability', () => {
    assert.deepEqual(validateLines([{ problem: DISTINCT[0], solution: 'It is $\\boxed{26}$.' }]), []);
  });

  it('skips answer checks when the solution has the wrong type (the schema already says so)', () => {
    assert.deepEqual(
      validateLines([{ problem: DISTINCT[0], answer: '26', solution: 26 }]).map((diagnostic) => diagnostic.code),
      ['wrong-type'],
    );
  });
});

describe('rule filters', () => {
  const cases: [string, string, RegExp][] = [
    ['What is 2+2?', 'rule-too-short', /3 words/],
    [Array.from({ length: 151 }, (_, i) => `w${i}`).join(' '), 'rule-too-long', /151 words/],
    ['Look at the graph below and find the slope of the line.', 'rule-blocked-keyword', /'graph'/],
    ['Write a program that prints the first ten prime numbers.', 'rule-write-a-program', /Write a program/],
    ['$x^2 + 5x + 6 = 0$: find the sum of the roots of this equation.', 'rule-bad-first-character', /'\$'/],
    ['¿Cuántos números primos hay entre uno y cien?', 'rule-bad-first-character', /non-ASCII/],
  ];
  for (const [problem, code, detail] of cases) {
    it(`${code}: ${problem.slice(0, 40)}`, () => {
      const line = JSON.stringify({ id: 1, question: problem });
      const diagnostic = only(validateLines([line]));
      assert.equal(diagnostic.code, code);
      assert.equal(diagnostic.severity, 'warning');
      assert.match(diagnostic.message, /^SeRL's rule filter would drop this instruction: /);
      assert.match(diagnostic.message, detail);
      assert.equal(covered(line, diagnostic.range), JSON.stringify(problem));
    });
  }
});

describe('duplicates within a file', () => {
  it('reports exact duplicates (up to whitespace and case) on the later items, naming the first', () => {
    const lines = [
      { problem: DISTINCT[0] },
      { problem: DISTINCT[1] },
      { problem: `  ${DISTINCT[0].toUpperCase().replace(/ /g, '   ')}\n` },
      { question: DISTINCT[0] },
    ];
    const texts = lines.map((line) => JSON.stringify(line));
    const duplicates = withCode(validateLines(texts), 'duplicate');
    assert.deepEqual(
      duplicates.map((diagnostic) => [diagnostic.range.start.line, diagnostic.message]),
      [
        [2, 'duplicate of line 1'],
        [3, 'duplicate of line 1'],
      ],
    );
    assert.equal(covered(texts[3]!, duplicates[1]!.range), JSON.stringify(DISTINCT[0]));
    const related = only(duplicates[0]!.related ?? []);
    assert.equal(related.file, undefined);
    assert.equal(covered(texts[0]!, related.range), JSON.stringify(DISTINCT[0]));
    assert.equal(related.message, 'first occurrence');
  });

  it('reports near duplicates with the line and ROUGE-L score of the most similar earlier item', () => {
    const texts = [P(3), DISTINCT[0], P(40)].map((problem) => JSON.stringify({ problem }));
    const diagnostic = only(validateLines(texts));
    assert.equal(diagnostic.code, 'near-duplicate');
    assert.equal(diagnostic.severity, 'information');
    // 20 tokens each, 18 in common in order: F1 = 18/20.
    assert.equal(diagnostic.message, 'near duplicate of line 1 (ROUGE-L 0.90)');
    assert.equal(diagnostic.range.start.line, 2);
    assert.equal(covered(texts[2]!, diagnostic.range), JSON.stringify(P(40)));
    assert.equal(covered(texts[0]!, only(diagnostic.related ?? []).range), JSON.stringify(P(3)));
  });

  it('names the most similar earlier item, not just the first above the threshold', () => {
    const base = 'Tom reads twelve pages of his book every day during the summer holidays. How many pages does he read in a week?';
    const closer = base.replace('twelve', 'fifteen');
    const query = closer.replace('summer', 'winter');
    const diagnostics = validateLines([{ problem: base }, { problem: closer }, { problem: query }]);
    assert.match(diagnostics[diagnostics.length - 1]!.message, /^near duplicate of line 2 /);
  });

  it('does not also report an exact duplicate as a near duplicate', () => {
    const diagnostics = validateLines([{ problem: P(3) }, { problem: P(3) }]);
    assert.deepEqual(
      diagnostics.map((diagnostic) => diagnostic.code),
      ['duplicate'],
    );
  });

  it(`uses the threshold given (default ${DEFAULT_NEAR_DUPLICATE_THRESHOLD}), strictly above it`, () => {
    const lines = [{ problem: P(3) }, { problem: P(40) }];
    assert.equal(validateLines(lines, { nearDuplicateThreshold: 0.95 }).length, 0);
    assert.equal(validateLines(lines, { nearDuplicateThreshold: 0.9 - 1e-9 }).length, 1);
    assert.equal(validateLines(lines, { nearDuplicateThreshold: 0.9 }).length, 0);
    const loose = validateLines([{ problem: DISTINCT[0] }, { problem: DISTINCT[1] }], { nearDuplicateThreshold: 0 });
    assert.equal(only(loose).code, 'near-duplicate');
  });

  it('reports texts differing only in punctuation as near duplicates (ROUGE-L 1), except at threshold 1', () => {
    const lines = [{ problem: 'Tom has five apples; Ann has three. How many apples do they have together?' }, { problem: 'Tom has five apples, Ann has three: how many apples do they have together' }];
    assert.equal(only(validateLines(lines)).message, 'near duplicate of line 1 (ROUGE-L 1.00)');
    assert.deepEqual(validateLines(lines, { nearDuplicateThreshold: 1 }), []);
    assert.equal(only(validateLines([lines[0]!, lines[0]!], { nearDuplicateThreshold: 1 })).code, 'duplicate');
  });

  it('prints enough digits to show the score is above the threshold', () => {
    // 37 tokens each, the first 26 shared: F1 = 26/37 = 0.7027, which two decimals would print as 0.70.
    const words = Array.from({ length: 37 }, (_, i) => `word${i}`);
    const other = [...words.slice(0, 26), ...Array.from({ length: 11 }, (_, i) => `other${i}`)];
    const diagnostic = only(validateLines([{ problem: words.join(' ') }, { problem: other.join(' ') }]));
    assert.equal(diagnostic.message, 'near duplicate of line 1 (ROUGE-L 0.703)');
  });

  it('rejects a threshold outside [0, 1]', () => {
    for (const threshold of [-0.1, 1.5, Number.NaN]) {
      assert.throws(() => validateLines([], { nearDuplicateThreshold: threshold }), RangeError);
    }
  });

  it('ignores items without an instruction', () => {
    assert.deepEqual(
      validateLines([{ answer: '1' }, { answer: '1' }]).map((diagnostic) => diagnostic.code),
      ['missing-instruction', 'missing-instruction'],
    );
  });
});

describe('duplicates across files', () => {
  it('reports items of later files against earlier files, naming file and line, with the file in related', () => {
    const first = parseSeedJsonl([DISTINCT[0], DISTINCT[1], P(3)].map((problem) => JSON.stringify({ problem })).join('\n'));
    const second = parseSeedJsonl([DISTINCT[2], DISTINCT[1], P(40)].map((problem) => JSON.stringify({ problem })).join('\n'));
    const [inFirst, inSecond] = validateSeeds([
      { file: 'a.jsonl', ...first },
      { file: 'b.jsonl', ...second },
    ]);
    assert.deepEqual(inFirst, []);
    assert.deepEqual(
      inSecond!.map((diagnostic) => [diagnostic.code, diagnostic.range.start.line, diagnostic.message]),
      [
        ['duplicate', 1, 'duplicate of line 2 of a.jsonl'],
        ['near-duplicate', 2, 'near duplicate of line 3 of a.jsonl (ROUGE-L 0.90)'],
      ],
    );
    for (const diagnostic of inSecond!) assert.equal(only(diagnostic.related ?? []).file, 'a.jsonl');
  });

  it('keeps each file\'s own checks to that file', () => {
    const answered = parseSeedJsonl([{ problem: DISTINCT[0], answer: '1' }, { problem: DISTINCT[1], answer: '2' }].map((item) => JSON.stringify(item)).join('\n'));
    const unanswered = parseSeedJsonl([{ problem: DISTINCT[2] }, { problem: DISTINCT[3] }, { problem: DISTINCT[4], answer: '3' }].map((item) => JSON.stringify(item)).join('\n'));
    assert.deepEqual(validateSeeds([
      { file: 'a.jsonl', ...answered },
      { file: 'b.jsonl', ...unanswered },
    ]), [[], []]);
  });
});

describe('ordering', () => {
  it('sorts each file\'s diagnostics by position', () => {
    const diagnostics = validateLines([
      { problem: P(3), answer: '1' },
      { problem: 'Too short', answer: '2' },
      '{"problem": ',
      { problem: P(3), answr: '3' },
    ]);
    const positions = diagnostics.map((diagnostic) => [diagnostic.range.start.line, diagnostic.range.start.character]);
    const sorted = [...positions].sort((a, b) => a[0]! - b[0]! || a[1]! - b[1]!);
    assert.deepEqual(positions, sorted);
    assert.deepEqual(
      diagnostics.map((diagnostic) => diagnostic.code),
      ['rule-too-short', 'json-syntax', 'missing-answer', 'duplicate', 'unknown-field'],
    );
  });
});
