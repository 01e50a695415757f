// `serl demo` end to end, short: the real worker (/usr/bin/python3 + PyTorch, CPU, one thread) and the
// shipped base checkpoint, 2 SeRL steps at tiny sizes, evaluation on a small slice of test.jsonl. Checks
// the report's structure and that every figure is a share in [0, 1] — not the accuracy (a benchmark's job).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { PassThrough } from 'node:stream';
import { after, describe, it } from 'node:test';
import { main } from '../../src/cli/main';
import { runDemo, type DemoReport } from '../../src/engine/demo';

const ROOT = resolve(__dirname, '../..');
const PYTHON = '/usr/bin/python3';
const WORKER_ENV = { SERL_WORKER_THREADS: '1', OMP_NUM_THREADS: '1' };
const BASE = join(ROOT, 'examples', 'arithmetic', 'base');

const torchProbe = spawnSync(PYTHON, ['-c', 'import torch'], { encoding: 'utf8' });
const skip =
  torchProbe.status !== 0
    ? `PyTorch is not importable by ${PYTHON}: ${torchProbe.stderr?.trim().split('\n').pop()}`
    : !existsSync(join(BASE, 'model.pt'))
      ? `no base checkpoint in ${BASE}`
      : undefined;

const scratch = mkdtempSync(join(tmpdir(), 'serl-demo-test-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

function share(value: unknown, where: string): void {
  assert.equal(typeof value, 'number', `${where} is a number`);
  assert.ok((value as number) >= 0 && (value as number) <= 1, `${where} = ${String(value)} lies in [0, 1]`);
}

describe('serl demo', { skip }, () => {
  it('runs base → SeRL and writes report.json and report.md', { timeout: 180_000 }, async () => {
    const out = join(scratch, 'out');
    const phases: string[] = [];
    const steps: number[] = [];
    const { report, jsonFile, markdownFile } = await runDemo({
      out,
      python: PYTHON,
      workerEnv: WORKER_ENV,
      steps: 2,
      testLimit: 6,
      samples: 4,
      adjustConfig: (config) => ({
        ...config,
        rollout_batch_size: 3,
        n_samples_per_prompt: 4,
        train_batch_size: 4,
        micro_train_batch_size: 4,
        // Any instruction trains, whatever its agreement: the loop runs end to end at these sizes.
        filters: { ...config.filters, reward_difficulty_bounds: [0, 1] },
        self_instruction: { ...config.self_instruction, batch_size: 4 },
        eval: { ...config.eval, dataset: undefined },
      }),
      listener: { phase: (text) => phases.push(text), train: { stepDone: (metrics) => steps.push(metrics.step) } },
    });

    assert.deepEqual(steps, [1, 2]);
    assert.equal(phases.length, 3, `phases: ${phases.join(' | ')}`);
    const written = JSON.parse(readFileSync(jsonFile, 'utf8')) as DemoReport;
    assert.deepEqual(written, JSON.parse(JSON.stringify(report)));

    assert.equal(written.v, 1);
    assert.equal(written.status, 'completed', written.detail);
    assert.match(written.run_id, /^\d{4}-\d\d-\d\dT/);
    assert.equal(written.steps, 2);
    assert.equal(written.planned_steps, 2);
    assert.equal(written.python, PYTHON);
    assert.deepEqual(written.test_set, { file: join(ROOT, 'examples', 'arithmetic', 'test.jsonl'), problems: 6, samples_per_problem: 4, temperature: 1 });
    assert.equal(written.base.checkpoint, BASE);
    assert.ok(written.serl, 'the trained policy is evaluated');
    assert.equal(written.serl.checkpoint, join(written.run_dir, 'checkpoints', 'step-000002'));
    assert.ok(existsSync(join(written.serl.checkpoint, 'model')), 'the evaluated checkpoint exists');
    for (const [name, scores] of [['base', written.base], ['serl', written.serl]] as const) {
      for (const key of ['greedy_pass1', 'sampled_pass1', 'maj_at_k', 'mean_agreement'] as const) share(scores[key], `${name}.${key}`);
      assert.ok(scores.seconds > 0);
    }
    for (const key of ['total', 'base_eval', 'training', 'serl_eval'] as const) assert.ok(written.wall_seconds[key] > 0, `wall_seconds.${key}`);
    assert.ok(written.wall_seconds.total >= written.wall_seconds.base_eval + written.wall_seconds.training + written.wall_seconds.serl_eval);

    const training = written.training;
    assert.equal(training.mode, 'serl');
    assert.deepEqual(training.per_step.map((step) => step.step), [1, 2]);
    for (const step of training.per_step) {
      assert.ok(step.kept <= step.voted && step.voted <= step.generated, `step ${step.step}: kept ≤ voted ≤ generated`);
      if (step.reward_mean !== null) share(step.reward_mean, `step ${step.step} reward_mean`);
      if (step.agreement_mean !== null) share(step.agreement_mean, `step ${step.step} agreement_mean`);
    }
    assert.equal(training.totals.kept, training.per_step.reduce((sum, step) => sum + step.kept, 0));
    // The probe votes on the last step at least (monitor.probe_every 2, and always at the end).
    share(training.per_step.at(-1)!.probe_accuracy, 'last step probe_accuracy');
    share(training.per_step.at(-1)!.probe_agreement, 'last step probe_agreement');

    // The run lives in the output folder, and only there.
    assert.deepEqual(readdirSync(join(out, '.serl', 'runs')), [written.run_id]);
    const markdown = readFileSync(markdownFile, 'utf8');
    assert.match(markdown, /\| policy \| greedy pass@1 \| sampled pass@1 \| maj@4 \|/);
    assert.match(markdown, /\| base \| \d+\.\d% \| \d+\.\d% \| \d+\.\d% \|/);
    assert.match(markdown, /\| SeRL \| \d+\.\d% \| \d+\.\d% \| \d+\.\d% \|/);
    assert.match(markdown, new RegExp(written.run_id));
    assert.match(markdown, /\| step \| generated \| voted \| kept \| trained \| reward \| agreement \| all-equal \| probe right \| probe agreement \|/);
    assert.ok(Array.isArray(written.alerts));
    assert.match(markdown, written.alerts.length === 0 ? /## Alerts\n\nNone: the collapse monitor raised no alert\./ : /## Alerts\n\n- step \d+, /);
  });
});

describe('serl demo (command line)', () => {
  const run = async (args: string[]) => {
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    const chunks = { out: '', err: '' };
    stdout.on('data', (chunk: Buffer) => (chunks.out += chunk.toString()));
    stderr.on('data', (chunk: Buffer) => (chunks.err += chunk.toString()));
    const code = await main(['demo', ...args], { stdin: new PassThrough(), stdout, stderr });
    return { code, ...chunks };
  };

  it('prints its help', async () => {
    const { code, out } = await run(['--help']);
    assert.equal(code, 0);
    assert.match(out, /usage: serl demo \[--out DIR\] \[--python PATH\] \[--steps N\]/);
  });

  it('rejects a bad --steps before running anything', async () => {
    const { code, err } = await run(['--steps', 'zero', '--out', join(scratch, 'never')]);
    assert.equal(code, 2);
    assert.match(err, /--steps must be a positive integer/);
    assert.equal(existsSync(join(scratch, 'never')), false);
  });
});
