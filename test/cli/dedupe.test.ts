import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { dedupeCommand } from '../../src/cli/commands/dedupe';
import { UsageError } from '../../src/cli/io';
import { createRng } from '../../src/core/random';
import { rougeL } from '../../src/core/rouge';
import { jsonLines, lines, runCli, runInProcess } from './cli';
import { MATH_SEEDS_FILE, readMathSeeds, skipUnlessPresent } from '../sharedData';

const directory = mkdtempSync(path.join(tmpdir(), 'serl-dedupe-test-'));
after(() => rmSync(directory, { recursive: true, force: true }));

function file(name: string, text: string): string {
  const filePath = path.join(directory, name);
  writeFileSync(filePath, text);
  return filePath;
}

type Verdict = { keep: boolean; nearest: { source: 'against' | 'stdin'; line: number; score: number } | null };

/** SeRL's similarity filter written out plainly: score every compared item, keep when none is above t. */
function expectedVerdicts(against: string[], items: string[], threshold: number): Verdict[] {
  const pool: { text: string; source: 'against' | 'stdin'; line: number }[] = against.map((text, i) => ({ text, source: 'against', line: i + 1 }));
  return items.map((text, i) => {
    let best: Verdict['nearest'] = null;
    for (const other of pool) {
      const score = rougeL(text, other.text);
      if (score > threshold && (best === null || score > best.score)) best = { source: other.source, line: other.line, score };
    }
    if (best !== null) return { keep: false, nearest: best };
    pool.push({ text, source: 'stdin', line: i + 1 });
    return { keep: true, nearest: null };
  });
}

const AGAINST = [
  { problem: 'Find the sum of all positive integers n such that n^2 + 3n is prime.', answer: '2' },
  { question: 'How many primes are below 100?' },
  { instruction: 'Compute the area of a circle of radius 3.', id: 7 },
];

describe('serl dedupe (dist/cli.js)', () => {
  it('drops items too similar to FILE or to an item kept before, and names the nearest', () => {
    const against = file('against.jsonl', lines(AGAINST));
    const input = lines([
      { problem: 'Find the product of all positive integers n such that n^2 - 3n is a prime number.' },
      { problem: 'A train travels 60 miles in 1.5 hours. What is its average speed?' },
      { question: 'A train travels 60 miles in 2 hours. What is its average speed?' },
      { instruction: 'compute the AREA of a circle of radius 3' },
      { problem: 'Write the first ten primes.', answer: 'x' },
    ]);
    const { code, stdout, stderr } = runCli(['dedupe', '--against', against], input);
    assert.equal(stderr, '');
    assert.equal(code, 0);
    assert.deepEqual(jsonLines(stdout), [
      { keep: false, nearest: { source: 'against', line: 1, score: 0.8749999999999999 } },
      { keep: true, nearest: null },
      { keep: false, nearest: { source: 'stdin', line: 2, score: rougeL('A train travels 60 miles in 1.5 hours. What is its average speed?', 'A train travels 60 miles in 2 hours. What is its average speed?') } },
      { keep: false, nearest: { source: 'against', line: 3, score: 1 } },
      { keep: true, nearest: null },
    ]);
  });

  it('applies --threshold, and compares with a .json FILE holding an array of items', () => {
    const against = file('against.json', `[\n${AGAINST.map((item) => `  ${JSON.stringify(item)}`).join(',\n')}\n]\n`);
    const input = lines([{ problem: 'Find the product of all positive integers n such that n^2 - 3n is a prime number.' }, { question: 'How many primes are below fifty?' }]);
    const strict = runCli(['dedupe', '--against', against, '--threshold', '0.9'], input);
    assert.equal(strict.code, 0);
    assert.deepEqual(jsonLines(strict.stdout), [
      { keep: true, nearest: null },
      { keep: true, nearest: null },
    ]);
    const loose = runCli(['dedupe', '--against', against, '--threshold', '.5'], input);
    assert.deepEqual(jsonLines(loose.stdout), [
      { keep: false, nearest: { source: 'against', line: 2, score: 0.8749999999999999 } },
      { keep: false, nearest: { source: 'against', line: 3, score: rougeL('How many primes are below fifty?', AGAINST[1]!.question!) } },
    ]);
  });

  it('reports FILE’s bad lines on stderr as FILE:line:column and leaves them out', () => {
    const against = file(
      'dirty.jsonl',
      [JSON.stringify(AGAINST[0]), '{"problem": "How many primes are below 100?", ', JSON.stringify({ problem: 5 }), '', JSON.stringify({ answer: '3' }), JSON.stringify(AGAINST[1])].join('\n'),
    );
    const input = lines([{ problem: 'How many primes are below 100?' }, { problem: 'Find the sum of all positive integers n such that n^2 + 3n is prime!' }]);
    const { code, stdout, stderr } = runCli(['dedupe', '--against', against], input);
    assert.equal(code, 0);
    assert.deepEqual(jsonLines(stdout), [
      { keep: false, nearest: { source: 'against', line: 6, score: 1 } },
      { keep: false, nearest: { source: 'against', line: 1, score: 1 } },
    ]);
    const warnings = stderr.trim().split('\n');
    assert.equal(warnings.length, 4);
    assert.match(warnings[0]!, new RegExp(`^serl dedupe: ${against.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:2:\\d+: error: `));
    assert.match(warnings[1]!, /dirty\.jsonl:3:\d+: error: .*"problem" must be a string/);
    assert.match(warnings[2]!, /dirty\.jsonl:5:\d+: error: /);
    assert.match(warnings[3]!, /dirty\.jsonl: 3 problems, items with errors left out; comparing with 2 items$/);
  });

  it('answers bad stdin lines with an error naming the line, goes on, and exits 1', () => {
    const against = file('small.jsonl', lines(AGAINST.slice(1)));
    const input = ['{"problem": ', JSON.stringify({ answer: '4' }), JSON.stringify({ problem: ['x'] }), JSON.stringify('text'), '', JSON.stringify({ problem: 'How many primes are below 100?' })].join('\n');
    const { code, stdout } = runCli(['dedupe', '--against', against], input);
    assert.equal(code, 1);
    const output = jsonLines(stdout) as Record<string, unknown>[];
    assert.deepEqual(
      output.slice(0, 4).map((line) => line.line),
      [1, 2, 3, 4],
    );
    assert.match(String(output[0]!.error), /^stdin line 1: invalid JSON/);
    assert.match(String(output[1]!.error), /^stdin line 2: .*no instruction text/s);
    assert.match(String(output[2]!.error), /^stdin line 3: .*problem/s);
    assert.match(String(output[3]!.error), /^stdin line 4: .*expected object/s);
    assert.deepEqual(output[4], { keep: false, nearest: { source: 'against', line: 1, score: 1 } });
    assert.equal(output.length, 5);
  });

  it('names an earlier stdin item by its input line, blank lines counted', () => {
    const against = file('unrelated.jsonl', lines(AGAINST.slice(1)));
    const first = 'A train travels 60 miles in 1.5 hours. What is its average speed?';
    const second = 'A train travels 60 miles in 2 hours. What is its average speed?';
    const input = ['', JSON.stringify({ problem: first }), '', '  ', '{"problem": ', JSON.stringify({ question: second })].join('\n') + '\n';
    const { code, stdout } = runCli(['dedupe', '--against', against], input);
    assert.equal(code, 1);
    const output = jsonLines(stdout) as Record<string, unknown>[];
    assert.equal(output.length, 3);
    assert.deepEqual(output[0], { keep: true, nearest: null });
    assert.match(String(output[1]!.error), /^stdin line 5: invalid JSON/);
    assert.equal(output[1]!.line, 5);
    assert.deepEqual(output[2], { keep: false, nearest: { source: 'stdin', line: 2, score: rougeL(first, second) } });
  });

  it('exits 2 naming the problem for a missing FILE or a missing --against, and prints its usage for --help', () => {
    const missing = path.join(directory, 'no-such-file.jsonl');
    const cases: [string[], RegExp][] = [
      [['--against', missing], /^serl dedupe: cannot read --against .*no-such-file\.jsonl: no such file/],
      [[], /^serl dedupe: --against FILE is required/],
    ];
    for (const [args, message] of cases) {
      const { code, stdout, stderr } = runCli(['dedupe', ...args], lines([{ problem: 'x y z' }]));
      assert.equal(code, 2, args.join(' '));
      assert.equal(stdout, '');
      assert.match(stderr, message);
    }
    const help = runCli(['dedupe', '--help']);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /^usage: serl dedupe --against FILE/);
  });
});

describe('dedupeCommand (in process)', () => {
  it('gives the verdicts of SeRL’s filter written out plainly, on random near-duplicate items', async () => {
    const rng = createRng(11);
    const words = 'find the sum product of all positive integers n such that is prime how many what value x y circle area radius'.split(' ');
    const sentence = () => Array.from({ length: 4 + rng.int(14) }, () => rng.pick(words)).join(' ');
    const against = Array.from({ length: 40 }, sentence);
    const items: string[] = [];
    for (let i = 0; i < 200; i++) {
      const base = rng.next() < 0.5 ? sentence() : rng.pick([...against, ...items]);
      const tokens = base.split(' ');
      if (rng.next() < 0.8) tokens[rng.int(tokens.length)] = rng.pick(words);
      items.push(tokens.join(' '));
    }
    const againstFile = file('random.jsonl', lines(against.map((problem) => ({ problem }))));
    for (const threshold of [0.5, 0.7, 0.9]) {
      const { code, stdout } = await runInProcess(dedupeCommand, ['--against', againstFile, '--threshold', String(threshold)], lines(items.map((problem) => ({ problem }))));
      assert.equal(code, 0);
      const verdicts = jsonLines(stdout) as Verdict[];
      assert.deepEqual(verdicts, expectedVerdicts(against, items, threshold));
      assert.ok(verdicts.some((verdict) => verdict.keep) && verdicts.some((verdict) => !verdict.keep));
    }
  });

  it('finds the MATH seeds’ paraphrases among new items (real data)', { skip: skipUnlessPresent(MATH_SEEDS_FILE) }, async () => {
    const seeds = readMathSeeds().map((seed) => seed.problem);
    const rng = createRng(12);
    // Half the stdin items are seeds with one word dropped (near duplicates), half are seeds not in FILE.
    const items = Array.from({ length: 100 }, (_, i) => {
      if (i % 2 === 1) return seeds[250 + i]!;
      const tokens = seeds[rng.int(250)]!.split(' ');
      tokens.splice(rng.int(tokens.length), 1);
      return tokens.join(' ');
    });
    const { code, stdout } = await runInProcess(dedupeCommand, ['--against', MATH_SEEDS_FILE], lines(items.map((problem) => ({ problem }))));
    assert.equal(code, 0);
    const verdicts = jsonLines(stdout) as Verdict[];
    assert.deepEqual(verdicts, expectedVerdicts(seeds, items, 0.7));
    assert.ok(verdicts.filter((verdict, i) => i % 2 === 0 && !verdict.keep).length >= 45);
  });

  it('throws a UsageError naming the problem for bad options and unreadable files', async () => {
    const missing = path.join(directory, 'no-such-file.jsonl');
    const cases: [string[], RegExp][] = [
      [[], /--against FILE is required/],
      [['--against'], /--against/],
      [['--against', missing, 'extra'], /extra/],
      [['--against', missing, '--threshold', '1.5'], /--threshold must be a number in \[0, 1\], got 1.5/],
      [['--against', missing, '--threshold', 'high'], /--threshold must be a number in \[0, 1\], got 'high'/],
      [['--against', missing, '--threshold=-0.1'], /--threshold must be a number in \[0, 1\], got '-0.1'/],
      [['--against', missing], /cannot read --against .*no-such-file\.jsonl: no such file/],
      [['--against', directory], /cannot read --against .*: is a directory/],
    ];
    for (const [args, message] of cases) {
      await assert.rejects(runInProcess(dedupeCommand, args, ''), (error: unknown) => error instanceof UsageError && message.test(error.message), args.join(' '));
    }
  });
});
