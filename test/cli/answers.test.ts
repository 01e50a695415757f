import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { answersCommand } from '../../src/cli/commands/answers';
import { UsageError } from '../../src/cli/io';
import { jsonLines, lines, runCli, runInProcess } from './cli';

describe('serl answers compare (dist/cli.js)', () => {
  it('compares gold and predicted answers line by line, extracting from full responses', () => {
    const input = lines([
      { gold: '\\frac{1}{2}', pred: 'So the probability is $\\boxed{0.5}$.' },
      { gold: 'The side is $\\boxed{4}$ inches.', pred: 'The answer is 5.' },
      { gold: '1/2', pred: '1/2' },
      { gold: '(1,2)', pred: '\\boxed{[1,2]}' },
      { gold: 'x = 11', pred: 'We conclude $\\boxed{11}$' },
      { gold: '\\text{(B)}', pred: '**Answer:** B' },
      { gold: '26', pred: 'I could not solve it, we are stuck here.' },
      { gold: '1,000', pred: '\\boxed{\\$1000}' },
    ]);
    const { code, stdout, stderr } = runCli(['answers', 'compare'], input);
    assert.equal(stderr, '');
    assert.equal(code, 0);
    assert.deepEqual(jsonLines(stdout), [
      { equal: true, gold: '\\frac{1}{2}', pred: '0.5' },
      { equal: false, gold: '4', pred: '5' },
      { equal: true, gold: '1/2', pred: '1/2' },
      { equal: false, gold: '(1,2)', pred: '[1,2]' },
      { equal: true, gold: 'x = 11', pred: '11' },
      { equal: true, gold: '\\text{(B)}', pred: 'B' },
      { equal: false, gold: '26', pred: null },
      { equal: true, gold: '1,000', pred: '\\$1000' },
    ]);
  });

  it('answers a bad line with an error naming its line number, goes on, and exits 1', () => {
    const input = [
      JSON.stringify({ gold: '2', pred: '2' }),
      '{"gold": "2", "pred": ',
      '',
      JSON.stringify({ gold: '3' }),
      JSON.stringify({ gold: 3, pred: '3' }),
      JSON.stringify(['2', '2']),
      JSON.stringify({ gold: '2', pred: '\\boxed{2.0}' }),
    ].join('\n');
    const { code, stdout } = runCli(['answers', 'compare'], input);
    assert.equal(code, 1);
    const output = jsonLines(stdout) as Record<string, unknown>[];
    assert.equal(output.length, 6, 'the blank line gives no output');
    assert.deepEqual(output[0], { equal: true, gold: '2', pred: '2' });
    assert.deepEqual(
      output.slice(1, 5).map((line) => line.line),
      [2, 4, 5, 6],
    );
    assert.match(String(output[1]!.error), /^stdin line 2: invalid JSON/);
    assert.match(String(output[2]!.error), /^stdin line 4: .*expected string.*\n.*pred/s);
    assert.match(String(output[3]!.error), /^stdin line 5: .*expected string, received number.*\n.*gold/s);
    assert.match(String(output[4]!.error), /^stdin line 6: .*expected object/);
    assert.deepEqual(output[5], { equal: true, gold: '2', pred: '2.0' });
  });

  it('prints its usage for --help', () => {
    const { code, stdout } = runCli(['answers', '--help']);
    assert.equal(code, 0);
    assert.match(stdout, /^usage: serl answers compare/);
  });

  it('exits 2 on a missing or unknown subcommand and on extra arguments', () => {
    for (const args of [['answers'], ['answers', 'check'], ['answers', 'compare', 'extra']]) {
      const { code, stdout, stderr } = runCli(args);
      assert.equal(code, 2, args.join(' '));
      assert.equal(stdout, '');
      assert.match(stderr, /^serl answers: .*(compare|unexpected argument)/);
    }
  });
});

describe('answersCommand (in process)', () => {
  it('keeps the input order over many lines', async () => {
    const pairs = Array.from({ length: 500 }, (_, index) => ({ gold: `${index}`, pred: `\\boxed{${index % 3 === 0 ? index : index + 1}}` }));
    const { code, stdout } = await runInProcess(answersCommand, ['compare'], lines(pairs));
    assert.equal(code, 0);
    const output = jsonLines(stdout) as { equal: boolean; gold: string; pred: string }[];
    assert.equal(output.length, 500);
    output.forEach((line, index) => {
      assert.equal(line.gold, `${index}`);
      assert.equal(line.equal, index % 3 === 0);
    });
  });

  it('writes nothing for empty input', async () => {
    assert.deepEqual(await runInProcess(answersCommand, ['compare'], ''), { code: 0, stdout: '', stderr: '' });
  });

  it('throws a UsageError for anything but compare', async () => {
    await assert.rejects(runInProcess(answersCommand, [], ''), UsageError);
    await assert.rejects(runInProcess(answersCommand, ['vote'], ''), UsageError);
  });
});
