import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { rougeCommand } from '../../src/cli/commands/rouge';
import { UsageError } from '../../src/cli/io';
import { jsonLines, lines, runCli, runInProcess } from './cli';

describe('serl rouge (dist/cli.js)', () => {
  it('writes rouge_score’s ROUGE-L F1 for each pair, in order', () => {
    const input = lines([
      { a: 'The quick brown fox jumps over the lazy dog', b: 'The quick brown dog jumps on the log.' },
      { a: 'a a a a', b: 'a' },
      { a: 'Café déjà vu', b: 'caf d j vu' },
      { a: '', b: 'anything' },
      { a: '?!', b: '...' },
      {
        a: 'Find the sum of all positive integers n such that n^2 + 3n is prime.',
        b: 'Find the product of all positive integers n such that n^2 - 3n is a prime number.',
      },
    ]);
    const { code, stdout, stderr } = runCli(['rouge'], input);
    assert.equal(stderr, '');
    assert.equal(code, 0);
    // Values printed by bench/rouge_baseline.py (rouge_score's tokenizer, LCS table and F-measure).
    assert.deepEqual(jsonLines(stdout), [
      { f: 0.5882352941176471 },
      { f: 0.4 },
      { f: 1 },
      { f: 0 },
      { f: 0 },
      { f: 0.8749999999999999 },
    ]);
  });

  it('answers a bad line with an error naming its line number, goes on, and exits 1', () => {
    const input = ['{"a": "x", ', JSON.stringify({ a: 'x' }), JSON.stringify({ a: 1, b: 'x' }), JSON.stringify(['x', 'y']), '', JSON.stringify({ a: 'one two', b: 'one' })].join('\n');
    const { code, stdout } = runCli(['rouge'], input);
    assert.equal(code, 1);
    const output = jsonLines(stdout) as Record<string, unknown>[];
    assert.deepEqual(
      output.slice(0, 4).map((line) => line.line),
      [1, 2, 3, 4],
    );
    assert.match(String(output[0]!.error), /^stdin line 1: invalid JSON/);
    assert.match(String(output[1]!.error), /^stdin line 2: .*expected string, received undefined.*\n.*→ at b/s);
    assert.match(String(output[2]!.error), /^stdin line 3: .*expected string, received number.*\n.*→ at a/s);
    assert.match(String(output[3]!.error), /^stdin line 4: .*expected object, received array/s);
    assert.deepEqual(output[4], { f: (2 * 1 * 0.5) / 1.5 });
    assert.equal(output.length, 5);
  });

  it('prints its usage for --help and exits 2 on an unexpected argument', () => {
    const help = runCli(['rouge', '--help']);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /^usage: serl rouge/);
    const wrong = runCli(['rouge', 'extra']);
    assert.equal(wrong.code, 2);
    assert.match(wrong.stderr, /^serl rouge: .*'extra'.*see serl rouge --help/);
    assert.equal(wrong.stdout, '');
  });
});

describe('rougeCommand (in process)', () => {
  it('scores many pairs line by line, symmetric in a and b', async () => {
    const pairs = Array.from({ length: 200 }, (_, i) => ({
      a: Array.from({ length: 5 + (i % 40) }, (_, k) => `w${(k * 7 + i) % 13}`).join(' '),
      b: Array.from({ length: 3 + (i % 57) }, (_, k) => `W${(k * 5 + i) % 11}!`).join(' '),
    }));
    const forward = await runInProcess(rougeCommand, [], lines(pairs));
    const backward = await runInProcess(rougeCommand, [], lines(pairs.map(({ a, b }) => ({ a: b, b: a }))));
    assert.equal(forward.code, 0);
    const scores = jsonLines(forward.stdout) as { f: number }[];
    assert.equal(scores.length, pairs.length);
    assert.ok(scores.every(({ f }) => f >= 0 && f <= 1));
    assert.ok(scores.some(({ f }) => f > 0.3));
    assert.deepEqual(jsonLines(backward.stdout), scores);
  });

  it('throws a UsageError on an unexpected argument or option', async () => {
    for (const args of [['positional'], ['--threshold', '0.5'], ['-x']]) {
      await assert.rejects(runInProcess(rougeCommand, args, ''), UsageError, args.join(' '));
    }
  });
});
