// `serl validate` end to end: spawns the built CLI (run `npm run build` first).
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { JsonDiagnostic } from '../../src/cli/commands/validate';
import { runCli, type CliRun } from './cli';
import { MATH_SEEDS_FILE, skipUnlessPresent } from '../sharedData';


/** `serl validate ARGS…` through the built CLI. */
function serl(...args: string[]): CliRun {
  return runCli(['validate', ...args]);
}

function serlJson(...args: string[]): { code: number | null; diagnostics: JsonDiagnostic[]; stderr: string } {
  const run = serl('--format', 'json', ...args);
  return { code: run.code, diagnostics: JSON.parse(run.stdout) as JsonDiagnostic[], stderr: run.stderr };
}

let directory: string;

/** Writes a file in the test's temporary directory; objects become JSONL lines. */
function file(name: string, lines: readonly (string | object)[] | string): string {
  const path = join(directory, name);
  const text = typeof lines === 'string' ? lines : lines.map((line) => (typeof line === 'string' ? line : JSON.stringify(line))).join('\n') + '\n';
  writeFileSync(path, text);
  return path;
}

const CLEAN = [
  { problem: 'Find the arithmetic mean of the prime numbers in this list: 21, 23, 25, 27, 29.', answer: '26', level: 'Level 2' },
  { problem: 'What is the greatest common divisor of eighty-four and one hundred twenty-six?', answer: 42, idx: 3 },
];

before(() => {
  directory = mkdtempSync(join(tmpdir(), 'serl-validate-'));
});

after(() => rmSync(directory, { recursive: true, force: true }));

describe('serl validate: exit status and text output', () => {
  it('exits 0 with only a summary for a clean file', () => {
    const run = serl(file('clean.jsonl', CLEAN));
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stdout, '1 file checked: 0 errors, 0 warnings, 0 information, 0 hints\n');
    assert.equal(run.stderr, '');
  });

  it('exits 0 when there are only warnings, information and hints', () => {
    const path = file('warnings.jsonl', [...CLEAN, { problem: 'What is 2+2?', answer: '4', answr: '4' }, CLEAN[0]!]);
    const run = serl(path);
    assert.equal(run.code, 0, run.stdout);
    assert.deepEqual(run.stdout.trim().split('\n'), [
      `${path}:3:12: warning rule-too-short: SeRL's rule filter would drop this instruction: 3 words (minimum 4)`,
      `${path}:3:40: hint unknown-field: unknown field "answr": did you mean "answer"?`,
      `${path}:4:12: warning duplicate: duplicate of line 1`,
      '1 file checked: 0 errors, 2 warnings, 0 information, 1 hint',
    ]);
  });

  it('exits 1 when any error is found, reporting every bad line and going on', () => {
    const path = file('errors.jsonl', [CLEAN[0]!, '{"problem": "Unclosed', '[1, 2]', CLEAN[1]!, { answer: '3' }]);
    const run = serl(path);
    assert.equal(run.code, 1);
    assert.deepEqual(run.stdout.trim().split('\n'), [
      `${path}:2:13: error json-syntax: unterminated string`,
      `${path}:3:1: error not-an-object: a seed item must be a JSON object, got an array`,
      `${path}:5:1: error missing-instruction: no instruction: expected a "problem", "question" or "instruction" field holding text`,
      '1 file checked: 3 errors, 0 warnings, 0 information, 0 hints',
    ]);
  });

  it('reports a missing answer as an error where the file declares answers', () => {
    const run = serl(file('answers.jsonl', [...CLEAN, { problem: 'How many positive three-digit integers are divisible by both eleven and five?' }]));
    assert.equal(run.code, 1);
    assert.match(run.stdout, /:3:1: error missing-answer: missing "answer": 2 of 3 items in this file have one\n/);
  });
});

describe('serl validate --format json', () => {
  it('writes an array of {file, line, column, endLine, endColumn, severity, code, message}, 1-based, end exclusive', () => {
    const line = '{"problem": "What is one plus one, written in words?", "answer": two}';
    const path = file('syntax.jsonl', [CLEAN[0]!, line]);
    const { code, diagnostics } = serlJson(path);
    assert.equal(code, 1);
    const column = line.indexOf('two') + 1;
    assert.deepEqual(diagnostics, [
      { file: path, line: 2, column, endLine: 2, endColumn: column + 3, severity: 'error', code: 'json-syntax', message: 'unexpected "two"' },
    ]);
  });

  it('writes [] for a clean file', () => {
    const run = serl('--format', 'json', file('clean2.jsonl', CLEAN));
    assert.equal(run.code, 0);
    assert.deepEqual(JSON.parse(run.stdout), []);
  });

  it('counts columns after a BOM and with CRLF line ends as an editor does', () => {
    const path = file('crlf.jsonl', '\uFEFF' + [JSON.stringify(CLEAN[0]), '{"problem": 7, "answer": 7}', ''].join('\r\n'));
    const { diagnostics } = serlJson(path);
    assert.deepEqual(
      diagnostics.map(({ line, column, endColumn, code }) => ({ line, column, endColumn, code })),
      [{ line: 2, column: 13, endColumn: 14, code: 'wrong-type' }],
    );
  });

  it('validates .json files as one document with multi-line ranges', () => {
    const path = file('seeds.json', JSON.stringify({ items: [CLEAN[0], { question: 12, answer: '12' }] }, null, 2));
    const { code, diagnostics } = serlJson(path);
    assert.equal(code, 1);
    const diagnostic = diagnostics[0]!;
    assert.equal(diagnostic.code, 'wrong-type');
    assert.equal(diagnostic.line, 9);
    assert.equal(diagnostic.column, 19);
  });
});

describe('serl validate: several files', () => {
  it('reports duplicates across the files given, naming the other file and line', () => {
    const first = file('first.jsonl', CLEAN);
    const second = file('second.jsonl', [
      { problem: 'How many positive three-digit integers are divisible by both eleven and five?', answer: 18 },
      { problem: CLEAN[1]!.problem.toUpperCase(), answer: 42 },
    ]);
    const { code, diagnostics } = serlJson(first, second);
    assert.equal(code, 0);
    assert.deepEqual(
      diagnostics.map(({ file, line, code, message }) => ({ file, line, code, message })),
      [{ file: second, line: 2, code: 'duplicate', message: `duplicate of line 2 of ${first}` }],
    );
  });

  it('uses --threshold for near duplicates', () => {
    const path = file('near.jsonl', [
      { problem: 'A farmer has 3 cows and buys 6 more at the market. How many cows does the farmer have now?' },
      { problem: 'A farmer has 40 cows and buys 43 more at the market. How many cows does the farmer have now?' },
    ]);
    assert.deepEqual(
      serlJson(path).diagnostics.map(({ code, message }) => [code, message]),
      [['near-duplicate', 'near duplicate of line 1 (ROUGE-L 0.90)']],
    );
    assert.deepEqual(serlJson('--threshold', '0.95', path).diagnostics, []);
    assert.equal(serlJson('--threshold=0.5', path).diagnostics.length, 1);
  });

  it('exits 2 naming a file it cannot read, and still reports the others', () => {
    const missing = join(directory, 'missing.jsonl');
    const run = serl(missing, file('errors2.jsonl', ['{"problem": }']), directory);
    assert.equal(run.code, 2);
    assert.equal(run.stderr, `serl validate: cannot read '${missing}': no such file\nserl validate: cannot read '${directory}': is a directory\n`);
    assert.match(run.stdout, /errors2\.jsonl:1:13: error json-syntax: expected a value\n1 file checked: 1 error,/);
  });
});

describe('serl validate: usage', () => {
  it('exits 2 without files, with an unknown option or a bad option value', () => {
    for (const args of [[], ['--formatt', 'json', 'x.jsonl'], ['--format', 'xml', 'x.jsonl'], ['--threshold', '1.5', 'x.jsonl'], ['--threshold', 'high', 'x.jsonl'], ['--threshold', '', 'x.jsonl']]) {
      const run = serl(...args);
      assert.equal(run.code, 2, args.join(' '));
      assert.match(run.stderr, /^serl validate: /, args.join(' '));
      assert.equal(run.stdout, '');
    }
    assert.match(serl('--format', 'xml', 'x.jsonl').stderr, /--format must be text or json, got 'xml'/);
    assert.match(serl('--threshold', '1.5', 'x.jsonl').stderr, /--threshold must be a number in \[0, 1\], got 1\.5/);
    assert.match(serl().stderr, /no files given/);
  });

  it('prints help with --help and exits 0', () => {
    const run = serl('--help');
    assert.equal(run.code, 0);
    assert.match(run.stdout, /^usage: serl validate \[--format text\|json\]/);
    assert.match(run.stdout, /endColumn is exclusive/);
  });
});

describe('serl validate on the MATH seed set (verified by hand)', { skip: skipUnlessPresent(MATH_SEEDS_FILE) }, () => {
  it('finds no errors, and exactly the near duplicates a brute-force ROUGE-L check finds', () => {
    const { code, diagnostics } = serlJson(MATH_SEEDS_FILE);
    assert.equal(code, 0);
    assert.deepEqual(
      diagnostics.filter((diagnostic) => diagnostic.severity === 'error'),
      [],
    );
    // Every item has an answer equal to its solution's last \boxed{}, so no answer findings.
    assert.deepEqual(
      diagnostics.filter((diagnostic) => diagnostic.code.startsWith('answer') || diagnostic.code.startsWith('missing')),
      [],
    );
    // All pairs scored by an independent rouge_score-semantics script: these are all pairs above 0.7.
    assert.deepEqual(
      diagnostics.filter((diagnostic) => diagnostic.code === 'near-duplicate').map(({ line, message }) => `${line}: ${message}`),
      [
        '42: near duplicate of line 4 (ROUGE-L 0.75)',
        '96: near duplicate of line 12 (ROUGE-L 0.85)',
        '113: near duplicate of line 4 (ROUGE-L 0.75)',
        '132: near duplicate of line 62 (ROUGE-L 0.85)',
        '133: near duplicate of line 4 (ROUGE-L 0.75)',
        '203: near duplicate of line 13 (ROUGE-L 0.76)',
        '231: near duplicate of line 219 (ROUGE-L 0.92)',
        '233: near duplicate of line 18 (ROUGE-L 0.71)',
        '250: near duplicate of line 232 (ROUGE-L 0.76)',
        '252: near duplicate of line 25 (ROUGE-L 0.75)',
        '269: near duplicate of line 44 (ROUGE-L 0.75)',
        '298: near duplicate of line 297 (ROUGE-L 0.71)',
        '323: near duplicate of line 130 (ROUGE-L 0.91)',
        '418: near duplicate of line 401 (ROUGE-L 0.87)',
        '421: near duplicate of line 260 (ROUGE-L 0.72)',
        '477: near duplicate of line 130 (ROUGE-L 0.78)',
      ],
    );
    assert.equal(diagnostics.filter((diagnostic) => diagnostic.code === 'duplicate').length, 0);
  });

  it('reports the rule-filter findings checked by hand', () => {
    const { diagnostics } = serlJson(MATH_SEEDS_FILE);
    const at = (line: number) => diagnostics.filter((diagnostic) => diagnostic.line === line).map(({ column, code, message }) => ({ column, code, message }));
    const drop = "SeRL's rule filter would drop this instruction: ";
    // "Find: $\frac{12}{30}-\frac{1}{7}$" is two words.
    assert.deepEqual(at(3), [{ column: 13, code: 'rule-too-short', message: `${drop}2 words (minimum 4)` }]);
    // The [asy] figure code holds draw(A--B--C--A).
    assert.deepEqual(at(9), [{ column: 13, code: 'rule-blocked-keyword', message: `${drop}contains 'draw'` }]);
    // "The region between the graph of $y = f (x)$ …"
    assert.deepEqual(at(83), [{ column: 13, code: 'rule-blocked-keyword', message: `${drop}contains 'graph'` }]);
    // "$B$ and $C$ trisect $\overline{AD}$ …" starts with TeX's $, punctuation for the rule.
    assert.deepEqual(at(234), [{ column: 13, code: 'rule-bad-first-character', message: `${drop}starts with punctuation '$'` }]);
    // "Compute $\sin 510^\circ$." is three words and scores 3/4 against "Compute $\sin 45^\circ$.".
    assert.deepEqual(
      at(42).map((diagnostic) => diagnostic.code),
      ['rule-too-short', 'near-duplicate'],
    );
    // The same counts as self-instruct's filter rules re-implemented in Python over the 500 problems.
    const counts = new Map<string, number>();
    for (const { code } of diagnostics) counts.set(code, (counts.get(code) ?? 0) + 1);
    assert.deepEqual(Object.fromEntries(counts), {
      'rule-too-short': 20,
      'rule-blocked-keyword': 53,
      'rule-too-long': 7,
      'rule-bad-first-character': 1,
      'near-duplicate': 16,
    });
  });
});
