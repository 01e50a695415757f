import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { voteCommand } from '../../src/cli/commands/vote';
import { UsageError } from '../../src/cli/io';
import { jsonLines, lines, runCli, runInProcess } from './cli';

describe('serl vote (dist/cli.js)', () => {
  it('writes majority, agreement, rewards and groups for each group of responses', () => {
    const input = lines([
      { responses: ['so $\\boxed{\\frac12}$', 'The answer is 0.5.', '\\boxed{2}', 'no idea, we are stuck here', '\\boxed{1/2}'] },
      { responses: ['\\boxed{7}', '\\boxed{8}', '\\boxed{8}', '\\boxed{7}'] },
      { responses: ['nothing to see here, we give up'] },
      { responses: [] },
    ]);
    const { code, stdout, stderr } = runCli(['vote'], input);
    assert.equal(stderr, '');
    assert.equal(code, 0);
    assert.deepEqual(jsonLines(stdout), [
      {
        majority: '\\frac12',
        agreement: 0.6,
        rewards: [1, 1, 0, 0, 1],
        groups: [
          { answer: '\\frac12', count: 3, members: [0, 1, 4] },
          { answer: '2', count: 1, members: [2] },
        ],
      },
      {
        majority: '7',
        agreement: 0.5,
        rewards: [1, 0, 0, 1],
        groups: [
          { answer: '7', count: 2, members: [0, 3] },
          { answer: '8', count: 2, members: [1, 2] },
        ],
      },
      { majority: null, agreement: 0, rewards: [0], groups: [] },
      { majority: null, agreement: 0, rewards: [], groups: [] },
    ]);
  });

  it('answers a bad line with an error naming its line number, goes on, and exits 1', () => {
    const input = [
      '{"responses": [',
      JSON.stringify({ responses: '\\boxed{1}' }),
      JSON.stringify({ responses: ['\\boxed{1}', 2] }),
      JSON.stringify({ answers: ['\\boxed{1}'] }),
      '',
      JSON.stringify({ responses: ['\\boxed{3}'] }),
    ].join('\n');
    const { code, stdout } = runCli(['vote'], input);
    assert.equal(code, 1);
    const output = jsonLines(stdout) as Record<string, unknown>[];
    assert.deepEqual(
      output.slice(0, 4).map((line) => line.line),
      [1, 2, 3, 4],
    );
    assert.match(String(output[0]!.error), /^stdin line 1: invalid JSON/);
    assert.match(String(output[1]!.error), /^stdin line 2: .*expected array/);
    assert.match(String(output[2]!.error), /^stdin line 3: .*expected string, received number.*\n.*responses\[1\]/s);
    assert.match(String(output[3]!.error), /^stdin line 4: .*\n.*responses/s);
    assert.deepEqual(output[4], { majority: '3', agreement: 1, rewards: [1], groups: [{ answer: '3', count: 1, members: [0] }] });
    assert.equal(output.length, 5);
  });

  it('prints its usage for --help and exits 2 on an unexpected argument', () => {
    const help = runCli(['vote', '--help']);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /^usage: serl vote/);
    const extra = runCli(['vote', 'extra']);
    assert.equal(extra.code, 2);
    assert.match(extra.stderr, /^serl vote: unexpected argument 'extra'/);
  });
});

describe('voteCommand (in process)', () => {
  it('votes 16-response groups line by line, in order', async () => {
    const groups = Array.from({ length: 50 }, (_, index) => ({
      responses: Array.from({ length: 16 }, (_, member) => `\\boxed{${member < 9 ? index : index + 1}}`),
    }));
    const { code, stdout } = await runInProcess(voteCommand, [], lines(groups));
    assert.equal(code, 0);
    const output = jsonLines(stdout) as { majority: string; agreement: number }[];
    assert.deepEqual(
      output.map((line) => [line.majority, line.agreement]),
      groups.map((_, index) => [`${index}`, 9 / 16]),
    );
  });

  it('throws a UsageError on an unexpected argument', async () => {
    await assert.rejects(runInProcess(voteCommand, ['--threshold', '2'], ''), UsageError);
  });
});
