import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  parseSeedJson,
  parseSeedJsonl,
  parseSeedLine,
  parseSeedLines,
  parseSeedText,
  seedAnswer,
  seedFormatForPath,
  seedInstruction,
  seedInstructionField,
  seedItemSchema,
  isValidSeedItem,
  type ParsedSeedFile,
  type Range,
  type SeedProblem,
} from '../../src/core/seeds';

function range(line: number, start: number, end: number, endLine = line): Range {
  return { start: { line, character: start }, end: { line: endLine, character: end } };
}

/** The text a range covers in a one-line text. */
function slice(text: string, r: Range): string {
  assert.equal(r.start.line, r.end.line, 'single-line range');
  return text.slice(r.start.character, r.end.character);
}

function only<T>(items: readonly T[]): T {
  assert.equal(items.length, 1, `expected exactly one, got ${JSON.stringify(items)}`);
  return items[0]!;
}

function codes(problems: readonly SeedProblem[]): string[] {
  return problems.map((problem) => problem.code);
}

describe('seedInstruction', () => {
  it('takes problem, then question, then instruction', () => {
    assert.equal(seedInstruction({ problem: 'P', question: 'Q', instruction: 'I' }), 'P');
    assert.equal(seedInstruction({ question: 'Q', instruction: 'I' }), 'Q');
    assert.equal(seedInstruction({ instruction: 'I' }), 'I');
    assert.equal(seedInstructionField({ question: 'Q', instruction: 'I' }), 'question');
  });

  it('skips fields without text: empty, blank, null, or not a string', () => {
    assert.equal(seedInstruction({ problem: '', question: 'Q' }), 'Q');
    assert.equal(seedInstruction({ problem: ' \n\t', instruction: 'I' }), 'I');
    assert.equal(seedInstruction({ problem: null, question: 'Q' }), 'Q');
    assert.equal(seedInstruction({ problem: 42, question: 'Q' }), 'Q');
    assert.equal(seedInstruction({ problem: ['P'] }), null);
  });

  it('returns the text untouched (no trimming or normalising)', () => {
    assert.equal(seedInstruction({ problem: '  What is  2+2? ' }), '  What is  2+2? ');
  });

  it('is null for values that are not objects or that have no instruction field', () => {
    for (const value of [null, undefined, 'text', 3, true, ['problem'], { answer: '4' }, { Problem: 'case matters' }]) {
      assert.equal(seedInstruction(value), null, JSON.stringify(value));
      assert.equal(seedInstructionField(value), null);
    }
  });
});

describe('seedItemSchema', () => {
  it('keeps every extra field untouched', () => {
    const item = { problem: 'P', answer: '4', level: 'Level 2', subject: 'Algebra', unique_id: 'test/a/1.json', idx: 7, nested: { a: [1] } };
    assert.deepEqual(seedItemSchema.parse(item), item);
  });

  it('accepts numeric answers and ids, and null for any optional field', () => {
    assert.equal(seedItemSchema.safeParse({ question: 'Q', answer: 12.5, id: 3 }).success, true);
    assert.equal(seedItemSchema.safeParse({ question: 'Q', answer: null, solution: null, id: null, problem: null }).success, true);
  });

  it('rejects wrong types and a missing instruction', () => {
    assert.equal(seedItemSchema.safeParse({ problem: 'P', answer: [1] }).success, false);
    assert.equal(seedItemSchema.safeParse({ problem: 'P', solution: 3 }).success, false);
    assert.equal(seedItemSchema.safeParse({ problem: 'P', id: true }).success, false);
    assert.equal(seedItemSchema.safeParse({ answer: '4' }).success, false);
    assert.equal(seedItemSchema.safeParse({ problem: '   ' }).success, false);
    assert.equal(seedItemSchema.safeParse([{ problem: 'P' }]).success, false);
  });
});

describe('isValidSeedItem', () => {
  it('accepts exactly what seedItemSchema accepts', () => {
    const fieldValues: unknown[] = [undefined, null, 'P', '  ', '', 3, 0, Number.NaN, Number.POSITIVE_INFINITY, true, [1], { a: 1 }];
    const fields = ['problem', 'question', 'instruction', 'answer', 'solution', 'id'];
    const values: unknown[] = [null, 3, 'P', [], [{ problem: 'P' }], {}, { level: 'x' }];
    // Every field from a small set in turn, and many random combinations (a fixed linear congruential sequence).
    for (const field of fields) for (const value of fieldValues) values.push({ problem: 'P', [field]: value }, { [field]: value });
    let state = 12345;
    const next = (n: number) => ((state = (state * 1103515245 + 12345) >>> 0) >>> 8) % n;
    for (let i = 0; i < 5000; i++) {
      const item: Record<string, unknown> = { extra: i };
      for (const field of fields) {
        const choice = next(fieldValues.length + 1);
        if (choice < fieldValues.length) item[field] = fieldValues[choice];
      }
      values.push(item);
    }
    for (const value of values) assert.equal(isValidSeedItem(value), seedItemSchema.safeParse(value).success, JSON.stringify(value));
  });
});

describe('seedAnswer', () => {
  it('gives the answer text, numbers as JSON writes them, and null for blank, absent or mistyped answers', () => {
    assert.equal(seedAnswer(seedItemSchema.parse({ problem: 'P', answer: '\\frac{1}{2}' })), '\\frac{1}{2}');
    assert.equal(seedAnswer(seedItemSchema.parse({ problem: 'P', answer: 0.5 })), '0.5');
    assert.equal(seedAnswer(seedItemSchema.parse({ problem: 'P', answer: 0 })), '0');
    assert.equal(seedAnswer(seedItemSchema.parse({ problem: 'P', answer: '  ' })), null);
    assert.equal(seedAnswer(seedItemSchema.parse({ problem: 'P', answer: null })), null);
    assert.equal(seedAnswer(seedItemSchema.parse({ problem: 'P' })), null);
    assert.equal(seedAnswer({ answer: ['4'] }), null);
    assert.equal(seedAnswer({ answer: true }), null);
  });
});

describe('seedFormatForPath', () => {
  it('reads .json as one document and everything else as JSONL', () => {
    assert.equal(seedFormatForPath('data/seeds.json'), 'json');
    assert.equal(seedFormatForPath('SEEDS.JSON'), 'json');
    assert.equal(seedFormatForPath('seeds.seed.jsonl'), 'jsonl');
    assert.equal(seedFormatForPath('seeds.ndjson'), 'jsonl');
    assert.equal(seedFormatForPath('seeds.json.txt'), 'jsonl');
  });
});

describe('parseSeedLine: valid items', () => {
  it('returns the item with its value, schema view, instruction and range', () => {
    const text = '{"problem": "What is 2+2?", "answer": "4", "level": "Level 1"}';
    const { item, problems } = parseSeedLine(text, 7);
    assert.deepEqual(problems, []);
    assert.ok(item);
    assert.equal(item.line, 7);
    assert.deepEqual(item.value, { problem: 'What is 2+2?', answer: '4', level: 'Level 1' });
    assert.deepEqual(item.seed, item.value);
    assert.equal(item.instruction, 'What is 2+2?');
    assert.equal(item.instructionField, 'problem');
    assert.deepEqual(item.range, range(7, 0, text.length));
  });

  it('gives key and value ranges of every top-level field (keys with quotes, values as written)', () => {
    const text = '{"problem": "What is 2+2?", "answer": 4, "meta": {"answer": "x"}, "tags": [1, 2]}';
    const { item } = parseSeedLine(text, 3);
    assert.ok(item);
    const fields = item.fields();
    assert.deepEqual([...fields.keys()], ['problem', 'answer', 'meta', 'tags']);
    assert.equal(slice(text, fields.get('problem')!.key), '"problem"');
    assert.equal(slice(text, fields.get('problem')!.value), '"What is 2+2?"');
    assert.equal(slice(text, fields.get('answer')!.value), '4');
    assert.equal(slice(text, fields.get('meta')!.value), '{"answer": "x"}');
    assert.equal(slice(text, fields.get('tags')!.value), '[1, 2]');
    assert.equal(fields.get('problem')!.key.start.line, 3);
    assert.equal(slice(text, item.rangeOf('answer')), '4');
    assert.deepEqual(item.rangeOf('solution'), item.range, 'a missing field falls back to the item');
  });

  it('points a repeated key at its last occurrence, whose value JSON.parse keeps', () => {
    const text = '{"problem": "first", "problem": "second"}';
    const { item } = parseSeedLine(text, 0);
    assert.equal(item?.instruction, 'second');
    assert.equal(slice(text, item!.rangeOf('problem')), '"second"');
  });

  it('counts characters in UTF-16 code units, as LSP does', () => {
    const text = '{"problem": "😀 Ünïcödé apples", "answer": "3"}';
    const { item } = parseSeedLine(text, 0);
    assert.equal(slice(text, item!.rangeOf('answer')), '"3"');
    assert.equal(item!.rangeOf('answer').start.character, text.indexOf('"3"'));
  });

  it('excludes surrounding whitespace and a trailing \\r from the item range', () => {
    const text = '  \t{"question": "Q one two three"}   \r';
    const { item, problems } = parseSeedLine(text, 2);
    assert.deepEqual(problems, []);
    assert.deepEqual(item!.range, range(2, 3, 34));
    assert.equal(text.slice(3, 34), '{"question": "Q one two three"}');
  });

  it('skips a BOM on line 0 (positions exclude it, as in VS Code) but not on later lines', () => {
    const { item, problems } = parseSeedLine('\uFEFF{"problem": "P"}', 0);
    assert.deepEqual(problems, []);
    assert.deepEqual(item!.range, range(0, 0, 16));
    assert.deepEqual(item!.rangeOf('problem'), range(0, 12, 15));
    const later = parseSeedLine('\uFEFF{"problem": "P"}', 4);
    assert.equal(later.item, null);
    assert.deepEqual(codes(later.problems), ['json-syntax']);
    assert.deepEqual(later.problems[0]!.range, range(4, 0, 1));
  });

  it('gives neither item nor problem for blank lines', () => {
    for (const text of ['', '   ', '\t', '\r', ' \r']) {
      assert.deepEqual(parseSeedLine(text, 1), { item: null, problems: [] }, JSON.stringify(text));
    }
  });

  it('is a pure function of text and line number', () => {
    const text = '{"problem": "Find x.", "answer": [1]}';
    const first = parseSeedLine(text, 9);
    const second = parseSeedLine(text, 9);
    assert.deepEqual(first.problems, second.problems);
    assert.deepEqual(first.item!.value, second.item!.value);
    assert.deepEqual(first.item!.fields(), second.item!.fields());
    const elsewhere = parseSeedLine(text, 2);
    assert.deepEqual(elsewhere.problems[0]!.range, { start: { ...first.problems[0]!.range.start, line: 2 }, end: { ...first.problems[0]!.range.end, line: 2 } });
  });
});

describe('parseSeedLine: JSON syntax errors at the exact position', () => {
  // [line text, the text the error range covers, message pattern]
  const cases: [string, string, RegExp][] = [
    ['{"problem": }', '}', /expected a value/],
    ['{"problem": "P",}', ',', /trailing comma/],
    ['{"problem": "P", "tags": [1, 2,]}', ',', /trailing comma/],
    ["{'problem': 'P'}", "'problem'", /double quotes/],
    ['{"problem": "P", "answer": NaN}', 'NaN', /NaN is not a JSON value/],
    ['{"problem": "P", "answer": tru}', 'tru', /unexpected "tru"/],
    ['{"problem": "P" "answer": "4"}', '"answer"', /expected ','/],
    ['{"problem" "P"}', '"P"', /expected ':'/],
    ['{"problem": "P"} {"problem": "Q"}', '{', /after the JSON value/],
    ['{"problem": "P"} // note', '// note', /comments are not allowed/],
    ['{"problem": "a \\q b"}', '\\q', /invalid escape \\q/],
    ['{"problem": "a \\u12G4"}', '\\u', /invalid \\u escape/],
    ['{"problem": "tab\there"}', '\t', /control character/],
    ['{"problem": "P", "answer": 01}', '1', /expected ','/],
    ['{"problem": "P", "answer": 1.}', '1.', /invalid number/],
    ['{problem: "P"}', 'problem', /unexpected "problem"/],
  ];
  for (const [text, covered, message] of cases) {
    it(`${text} → ${JSON.stringify(covered)}`, () => {
      const { item, problems } = parseSeedLine(text, 5);
      assert.equal(item, null);
      const problem = only(problems);
      assert.equal(problem.code, 'json-syntax');
      assert.equal(problem.severity, 'error');
      assert.match(problem.message, message);
      assert.equal(problem.range.start.line, 5);
      assert.equal(slice(text, problem.range), covered);
    });
  }

  it('reports a torn line (cut off mid-item) at its end', () => {
    for (const text of ['{"problem": "What is', '{"problem": "P", "answer": "4"', '{"problem": "P", "answer":', '{"problem": "P", "tags": [1, 2']) {
      const problem = only(parseSeedLine(text, 0).problems);
      assert.match(problem.message, /unexpected end of line|unterminated string/, text);
      assert.ok(problem.range.end.character === text.length, `${text}: ${JSON.stringify(problem.range)}`);
    }
  });

  it('points an unterminated string at the string', () => {
    const text = '{"problem": "What is';
    const problem = only(parseSeedLine(text, 0).problems);
    assert.match(problem.message, /unterminated string/);
    assert.equal(slice(text, problem.range), '"What is');
  });
});

describe('parseSeedLine: schema problems', () => {
  it('rejects values that are not objects, covering the value', () => {
    for (const [text, kind] of [
      ['[{"problem": "P"}]', 'an array'],
      ['"What is 2+2?"', 'a string'],
      [' 42 ', 'a number'],
      ['null', 'null'],
      ['true', 'a boolean'],
    ] as const) {
      const { item, problems } = parseSeedLine(text, 1);
      assert.equal(item, null);
      const problem = only(problems);
      assert.equal(problem.code, 'not-an-object');
      assert.match(problem.message, new RegExp(`got ${kind}$`));
      assert.equal(slice(text, problem.range), text.trim());
    }
  });

  it('reports each field of the wrong type at its value and keeps the item (without a schema view)', () => {
    const text = '{"problem": "P", "answer": [4], "solution": 12, "id": {"n": 1}}';
    const { item, problems } = parseSeedLine(text, 0);
    assert.deepEqual(codes(problems), ['wrong-type', 'wrong-type', 'wrong-type']);
    assert.deepEqual(
      problems.map((problem) => slice(text, problem.range)),
      ['[4]', '12', '{"n": 1}'],
    );
    assert.match(problems[0]!.message, /"answer" must be a string or a number, got an array/);
    assert.match(problems[1]!.message, /"solution" must be a string, got a number/);
    assert.match(problems[2]!.message, /"id" must be a string or a number, got an object/);
    assert.ok(item);
    assert.equal(item.seed, null);
    assert.equal(item.instruction, 'P');
  });

  it('reports a missing instruction over the item', () => {
    const text = '{"answer": "4", "level": "Level 1"}';
    const { item, problems } = parseSeedLine(text, 0);
    const problem = only(problems);
    assert.equal(problem.code, 'missing-instruction');
    assert.match(problem.message, /"problem", "question" or "instruction"/);
    assert.deepEqual(problem.range, item!.range);
    assert.equal(item!.instruction, null);
  });

  it('reports an empty instruction field at its value', () => {
    const text = '{"problem": "", "answer": "4"}';
    const problem = only(parseSeedLine(text, 0).problems);
    assert.equal(problem.code, 'missing-instruction');
    assert.match(problem.message, /"problem" is empty/);
    assert.equal(slice(text, problem.range), '""');
  });

  it('reports an instruction field of the wrong type once, as wrong-type', () => {
    const text = '{"problem": 12}';
    const problem = only(parseSeedLine(text, 0).problems);
    assert.equal(problem.code, 'wrong-type');
    assert.equal(slice(text, problem.range), '12');
  });

  it('takes the next instruction field when one is mistyped, and reports the mistyped one', () => {
    const text = '{"problem": 12, "question": "Q"}';
    const { item, problems } = parseSeedLine(text, 0);
    assert.deepEqual(codes(problems), ['wrong-type']);
    assert.equal(item!.instruction, 'Q');
  });
});

function lines(text: string): ParsedSeedFile {
  return parseSeedJsonl(text);
}

describe('parseSeedJsonl', () => {
  it('keeps going after bad lines and numbers lines from 0', () => {
    const text = [
      '{"problem": "one two three four"}',
      '{"problem": ',
      '',
      '[1, 2]',
      '{"question": "five six seven eight"}',
      '{"answer": "4"}',
      '{"instruction": "nine ten eleven twelve"}',
    ].join('\n');
    const parsed = lines(text);
    assert.deepEqual(
      parsed.items.map((item) => [item.line, item.instruction]),
      [
        [0, 'one two three four'],
        [4, 'five six seven eight'],
        [5, null],
        [6, 'nine ten eleven twelve'],
      ],
    );
    assert.deepEqual(
      parsed.problems.map((problem) => [problem.range.start.line, problem.code]),
      [
        [1, 'json-syntax'],
        [3, 'not-an-object'],
        [5, 'missing-instruction'],
      ],
    );
  });

  it('handles CRLF, lone CR, a trailing newline and trailing whitespace', () => {
    const crlf = lines('{"problem": "A"}\r\n{"problem": "B"}  \r\n\r\n{"problem": "C"}\r\n');
    assert.deepEqual(
      crlf.items.map((item) => [item.line, item.instruction, item.range.end.character]),
      [
        [0, 'A', 16],
        [1, 'B', 16],
        [3, 'C', 16],
      ],
    );
    assert.deepEqual(crlf.problems, []);
    const cr = lines('{"problem": "A"}\r{"problem": "B"}');
    assert.deepEqual(
      cr.items.map((item) => item.line),
      [0, 1],
    );
  });

  it('skips a BOM at the start of the file', () => {
    const parsed = lines('\uFEFF{"problem": "A"}\n{"problem": "B"}');
    assert.deepEqual(parsed.problems, []);
    assert.deepEqual(parsed.items[0]!.range, range(0, 0, 16));
  });

  it('reports a torn last line and keeps the items before it', () => {
    const parsed = lines('{"problem": "A"}\n{"problem": "B"}\n{"problem": "C", "ans');
    assert.equal(parsed.items.length, 2);
    const problem = only(parsed.problems);
    assert.equal(problem.code, 'json-syntax');
    assert.equal(problem.range.start.line, 2);
  });

  it('handles an empty file', () => {
    assert.deepEqual(lines(''), { items: [], problems: [] });
  });

  it('gives per line exactly what parseSeedLine gives for that line', () => {
    const texts = ['{"problem": "A", "answer": 1}', '{"problem": "B",', 'null', '{"question": ""}'];
    const parsed = lines(texts.join('\n'));
    const expected = texts.map((text, line) => parseSeedLine(text, line));
    assert.deepEqual(
      parsed.problems,
      expected.flatMap((result) => result.problems),
    );
    assert.deepEqual(
      parsed.items.map((item) => [item.line, item.value, item.range]),
      expected.flatMap((result) => (result.item ? [[result.item.line, result.item.value, result.item.range]] : [])),
    );
  });
});

describe('parseSeedLines', () => {
  const texts = ['\uFEFF{"problem": "A"}', '{"problem": "B"', '', '{"question": "C"}\r'];

  async function* streamed(): AsyncGenerator<string> {
    for (const text of texts) yield text;
  }

  it('parses an async stream of lines like the whole text', async () => {
    const fromStream = await parseSeedLines(streamed());
    const fromText = parseSeedJsonl(texts.join('\n'));
    assert.deepEqual(fromStream.problems, fromText.problems);
    assert.deepEqual(
      fromStream.items.map((item) => [item.line, item.value, item.range]),
      fromText.items.map((item) => [item.line, item.value, item.range]),
    );
  });

  it('accepts a plain iterable of lines', async () => {
    const parsed = await parseSeedLines(texts);
    assert.deepEqual(
      parsed.items.map((item) => item.instruction),
      ['A', 'C'],
    );
    assert.deepEqual(codes(parsed.problems), ['json-syntax']);
  });

  it('parses a large stream without losing or misnumbering lines', async () => {
    const count = 20_000;
    function* many(): Generator<string> {
      for (let i = 0; i < count; i++) yield i % 1000 === 999 ? `{"problem": "broken ${i}"` : JSON.stringify({ problem: `Problem number ${i}`, answer: i });
    }
    const parsed = await parseSeedLines(many());
    assert.equal(parsed.items.length, count - count / 1000);
    assert.equal(parsed.problems.length, count / 1000);
    assert.deepEqual(
      parsed.problems.slice(0, 2).map((problem) => problem.range.start.line),
      [999, 1999],
    );
    assert.equal(parsed.items[12_345 - 12]!.value.answer, 12_345);
    assert.equal(parsed.items[12_345 - 12]!.line, 12_345);
  });
});

describe('parseSeedJson', () => {
  it('parses a top-level array with multi-line ranges', () => {
    const text = '[\n  {\n    "problem": "What is 2+2?",\n    "answer": "4"\n  },\n  {"question": "Q two"}\n]\n';
    const parsed = parseSeedJson(text);
    assert.deepEqual(parsed.problems, []);
    assert.equal(parsed.items.length, 2);
    const [first, second] = parsed.items;
    assert.equal(first!.line, 1);
    assert.deepEqual(first!.range, range(1, 2, 3, 4));
    assert.deepEqual(first!.fields().get('problem')!.key, range(2, 4, 13));
    assert.deepEqual(first!.rangeOf('problem'), range(2, 15, 29));
    assert.deepEqual(first!.rangeOf('answer'), range(3, 14, 17));
    assert.equal(second!.line, 5);
    assert.equal(second!.instruction, 'Q two');
  });

  it('accepts an object holding an "items" or a "data" array', () => {
    assert.deepEqual(
      parseSeedJson('{"version": 2, "items": [{"problem": "A"}]}').items.map((item) => item.instruction),
      ['A'],
    );
    assert.deepEqual(
      parseSeedJson('{"data": [{"problem": "B"}, {"problem": "C"}]}').items.map((item) => item.instruction),
      ['B', 'C'],
    );
  });

  it('reports a top level that holds no item array', () => {
    for (const text of ['{"problem": "A"}', '42', '{"items": "none"}']) {
      const parsed = parseSeedJson(text);
      assert.deepEqual(codes(parsed.problems), ['not-an-array'], text);
      assert.deepEqual(parsed.items, []);
    }
  });

  it('reports schema problems per element with their ranges', () => {
    const text = '[\n  {"problem": "A"},\n  7,\n  {"problem": "B", "answer": [1]},\n  {"level": 1}\n]';
    const parsed = parseSeedJson(text);
    assert.deepEqual(
      parsed.problems.map((problem) => [problem.code, problem.range.start.line, problem.range.start.character]),
      [
        ['not-an-object', 2, 2],
        ['wrong-type', 3, 29],
        ['missing-instruction', 4, 2],
      ],
    );
    assert.deepEqual(
      parsed.items.map((item) => item.line),
      [1, 3, 4],
    );
  });

  it('keeps the elements outside a syntax error and skips the one holding it', () => {
    const text = '[\n  {"problem": "A"},\n  {"problem": "B" "answer": 1},\n  {"problem": "C"}\n]';
    const parsed = parseSeedJson(text);
    const problem = only(parsed.problems);
    assert.equal(problem.code, 'json-syntax');
    assert.deepEqual(problem.range, range(2, 18, 26));
    assert.deepEqual(
      parsed.items.map((item) => item.instruction),
      ['A', 'C'],
    );
  });

  it('reports a trailing comma and a truncated file', () => {
    const trailing = parseSeedJson('[\n  {"problem": "A"},\n]');
    assert.match(only(trailing.problems).message, /trailing comma/);
    assert.deepEqual(only(trailing.problems).range, range(1, 18, 19));
    assert.deepEqual(
      trailing.items.map((item) => item.instruction),
      ['A'],
    );
    const truncated = parseSeedJson('[\n  {"problem": "A"},\n  {"problem": "B"');
    assert.match(truncated.problems[0]!.message, /unexpected end of file/);
    assert.deepEqual(
      truncated.items.map((item) => item.instruction),
      ['A'],
    );
  });

  it('counts positions after a BOM and across CRLF line breaks', () => {
    const parsed = parseSeedJson('\uFEFF[\r\n  {"problem": "A"},\r\n  {"problem": "B"}\r\n]');
    assert.deepEqual(parsed.problems, []);
    assert.deepEqual(
      parsed.items.map((item) => item.range),
      [range(1, 2, 18), range(2, 2, 18)],
    );
  });

  it('gives JSON.parse semantics to values (numbers, escapes, repeated keys)', () => {
    const parsed = parseSeedJson('[{"problem": "a\\nb \\u00e9", "answer": 1e3, "answer": 2.50}]');
    assert.deepEqual(parsed.items[0]!.value, { problem: 'a\nb é', answer: 2.5 });
  });

  it('reports an empty file', () => {
    assert.deepEqual(codes(parseSeedJson('').problems), ['json-syntax']);
  });
});

describe('parseSeedText', () => {
  it('dispatches on the format', () => {
    const text = '{"problem": "A"}\n{"problem": "B"}';
    assert.equal(parseSeedText(text, 'jsonl').items.length, 2);
    assert.deepEqual(codes(parseSeedText(text, 'json').problems), ['json-syntax', 'not-an-array']);
  });
});
