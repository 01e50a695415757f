// The SeRL loop end to end with the real Python worker (/usr/bin/python3 + PyTorch, CPU, one thread) on the
// arithmetic seeds: each mode for a couple of steps, a veto while running, kill -9 of `node dist/cli.js train`
// mid-step and a resume, and the runs/export commands on the result. The model is a tiny GPT built here:
// freshly initialised, given a few supervised steps on the arithmetic warm-up so that it writes word-like
// text (a fresh one writes nothing the rule filters let through), and saved as the runs' base checkpoint.
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { PassThrough } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { exportCommand } from '../../src/cli/commands/export';
import { runsCommand } from '../../src/cli/commands/runs';
import type { RunConfigInput } from '../../src/core/config';
import { answersEquivalent } from '../../src/core/answers';
import { chooseProbeSlice } from '../../src/engine/probe';
import { appendDecision, openRun, replayRun, runPaths, type RunPaths } from '../../src/engine/runStore';
import { train, type TrainOutcome } from '../../src/engine/controller';
import { WorkerClient } from '../../src/engine/worker';
import { parseRunEvent, type RunEvent, type RunEventOf, type RunEventType } from '../../src/protocol/events';

const ROOT = resolve(__dirname, '../..');
const CLI = join(ROOT, 'dist', 'cli.js');
const PYTHON = '/usr/bin/python3';
const SEEDS = join(ROOT, 'examples', 'arithmetic', 'seeds.seed.jsonl');
const WARMUP = join(ROOT, 'examples', 'arithmetic', 'warmup.jsonl');
const WORKER_ENV = { SERL_WORKER_THREADS: '1', OMP_NUM_THREADS: '1' };

const torchProbe = spawnSync(PYTHON, ['-c', 'import torch'], { encoding: 'utf8' });
const torchMissing = torchProbe.status !== 0 ? `PyTorch is not importable by ${PYTHON}: ${torchProbe.stderr?.trim().split('\n').pop()}` : undefined;

/** python3 from PATH when it cannot import torch (a pyenv or venv Python next to Debian's): the failure case. */
const pathPython = spawnSync('python3', ['-c', 'import torch'], { encoding: 'utf8' });
const pythonWithoutTorch = pathPython.status === 1 && /No module named 'torch'/.test(pathPython.stderr) ? 'python3' : undefined;

const scratch = mkdtempSync(join(tmpdir(), 'serl-train-test-'));
const baseModel = join(scratch, 'base');
const children: ChildProcess[] = [];

/** A tiny GPT (1 layer, 48 wide) after a few warm-up steps: seconds on one CPU thread. */
async function buildBaseModel(): Promise<void> {
  const worker = await WorkerClient.start({ python: PYTHON, env: WORKER_ENV });
  try {
    await worker.initialize({
      model: { kind: 'tiny', config: { n_layer: 1, n_head: 2, n_embd: 48, block_size: 512 } },
      device: 'cpu',
      seed: 1,
      optimizer: { lr: 3e-3 },
    });
    const records = readFileSync(WARMUP, 'utf8').trim().split('\n').map((line) => JSON.parse(line) as { kind: string; prompt: string; completion: string });
    const solve = records.filter((record) => record.kind === 'solve');
    const list = records.filter((record) => record.kind === 'list' && record.prompt.length < 300);
    for (let i = 0; i < 20; i++) {
      const batch = [...solve.slice(i * 8, i * 8 + 8), ...list.slice(i * 4, i * 4 + 4)];
      await worker.trainSft({ examples: batch.map(({ prompt, completion }) => ({ prompt, completion })), micro_batch: 12 });
    }
    await worker.save({ dir: baseModel });
  } finally {
    await worker.dispose();
  }
}

/** A config for a short run: n 4, batch 4, short generations, one exemplar (the model's context is 512). */
function writeConfig(dir: string, overrides: RunConfigInput): string {
  const config: RunConfigInput = {
    seeds: SEEDS,
    model: { kind: 'tiny', path: baseModel, dtype: 'float32' },
    device: 'cpu',
    max_steps: 2,
    n_samples_per_prompt: 4,
    rollout_batch_size: 4,
    train_batch_size: 8,
    micro_train_batch_size: 8,
    generate_max_len: 32,
    self_instruction: {
      exemplars: 1,
      max_generated_exemplars: 1,
      batch_size: 4,
      presence_penalty: 0,
      max_tokens: 100,
      prompt: { system: 'Write new arithmetic word problems.', user: '' },
    },
    optimizer: { lr: 1e-3 },
    checkpoint_every: 2,
    ...overrides,
  };
  const file = join(dir, 'serl.config.json');
  writeFileSync(file, JSON.stringify(config, null, 2));
  return file;
}

function workspace(name: string): string {
  return mkdtempSync(join(scratch, `${name}-`));
}

async function runTraining(dir: string, start: { configFile: string } | { resume: string }, listener = {}): Promise<TrainOutcome> {
  return train({ workspace: dir, start, python: PYTHON, workerEnv: WORKER_ENV, listener });
}

function readEvents(paths: RunPaths): RunEvent[] {
  return readFileSync(paths.events, 'utf8')
    .split('\n')
    .filter((line) => line !== '')
    .map((line, i) => {
      const parsed = parseRunEvent(JSON.parse(line));
      assert.ok(parsed.ok, `events.jsonl:${i + 1}: ${parsed.ok ? '' : parsed.error}`);
      return parsed.value;
    });
}

function ofType<Type extends RunEventType>(events: RunEvent[], type: Type): RunEventOf<Type>[] {
  return events.filter((event): event is RunEventOf<Type> => event.type === type);
}

async function runCommand(command: typeof runsCommand, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const out: string[] = [];
  const err: string[] = [];
  stdout.on('data', (chunk: Buffer) => out.push(chunk.toString()));
  stderr.on('data', (chunk: Buffer) => err.push(chunk.toString()));
  const code = await command(args, { stdin: new PassThrough(), stdout, stderr });
  return { code, stdout: out.join(''), stderr: err.join('') };
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function waitFor(what: string, condition: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((resolveWait) => setTimeout(resolveWait, 50));
  }
}

before(async () => {
  if (!torchMissing) await buildBaseModel();
});

after(() => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  rmSync(scratch, { recursive: true, force: true });
});

describe('serl train with the real worker', { skip: torchMissing }, () => {
  it('serl mode: self-instruction, filters, votes, training, checkpoints, runs and export', async () => {
    const dir = workspace('serl');
    const steps: number[] = [];
    const outcome = await runTraining(dir, { configFile: writeConfig(dir, { mode: 'serl', algorithm: 'reinforce++' }) }, {
      stepDone: (metrics: { step: number }) => steps.push(metrics.step),
    });
    assert.equal(outcome.status, 'completed', outcome.detail);
    assert.deepEqual(steps, [1, 2]);
    const paths = await openRun(dir, outcome.runId);
    const events = readEvents(paths);
    assert.equal(events[0].type, 'run-started');
    assert.equal(events.at(-1)?.type, 'run-finished');

    const generated = ofType(events, 'item-generated');
    assert.ok(generated.length >= 2, `generated ${generated.length}`);
    for (const item of generated) {
      assert.equal(item.origin.kind, 'self-instruct');
      if (item.origin.kind === 'self-instruct') assert.equal(item.origin.sources.length, 1);
    }
    const filtered = ofType(events, 'item-filtered');
    const voted = ofType(events, 'item-voted');
    // Every generated item got exactly one verdict: filtered before the vote, or voted.
    assert.equal(filtered.length + voted.length, generated.length);
    for (const vote of voted) {
      assert.equal(vote.responses.length, 4);
      assert.equal(vote.reward_source, 'majority');
      const members = new Set(vote.groups[0]?.members ?? []);
      vote.responses.forEach((response, i) => assert.equal(response.reward, members.has(i) ? 1 : 0));
    }
    const trained = ofType(events, 'item-trained');
    const kept = voted.filter((vote) => vote.difficulty.status === 'kept').map((vote) => vote.item_id);
    assert.deepEqual(trained.map((event) => event.item_id), kept);

    const metrics = ofType(events, 'step-metrics');
    assert.deepEqual(metrics.map((event) => event.step), [1, 2]);
    const totalFiltered = metrics.reduce((sum, event) => sum + Object.values(event.filtered_by_reason).reduce((a, b) => a + b, 0), 0);
    const difficultyRejects = voted.filter((vote) => vote.difficulty.status !== 'kept').length;
    assert.equal(totalFiltered, filtered.length + difficultyRejects);
    for (const event of metrics) {
      assert.ok(event.step_seconds > 0);
      assert.ok(event.tokens_per_s !== null && event.tokens_per_s > 0);
      if (event.trained > 0) {
        assert.ok(event.loss !== null && Number.isFinite(event.loss));
        assert.ok(event.entropy !== null && event.entropy > 0);
        assert.ok(event.lr !== null && event.lr > 0);
      }
    }

    // Checkpoints every step; step 1 (not a multiple of checkpoint_every 2) is deleted once step 2 is saved.
    const checkpoints = ofType(events, 'checkpoint');
    assert.deepEqual(checkpoints.map((event) => event.step), [1, 2]);
    assert.ok(checkpoints.every((event) => event.rng?.length === 4));
    assert.deepEqual(readdirSync(paths.checkpoints), ['step-000002']);

    const runs = await runCommand(runsCommand, ['--workspace', dir, '--format', 'json']);
    assert.equal(runs.code, 0);
    const listed = JSON.parse(runs.stdout) as { run_id: string; status: string; step: number }[];
    assert.deepEqual(listed.map(({ run_id, status, step }) => ({ run_id, status, step })), [{ run_id: outcome.runId, status: 'completed', step: 2 }]);

    for (const format of ['jsonl', 'openrlhf', 'trl']) {
      const out = join(dir, `export.${format}.jsonl`);
      const exported = await runCommand(exportCommand, ['--workspace', dir, '--run', outcome.runId, '--format', format, '--out', out]);
      assert.equal(exported.code, 0, exported.stderr);
      const lines = readFileSync(out, 'utf8').split('\n').filter((line) => line !== '').map((line) => JSON.parse(line));
      const expected = voted.filter((vote) => vote.difficulty.status === 'kept' && vote.majority !== null);
      assert.equal(lines.length, expected.length, format);
      lines.forEach((line, i) => {
        const text = generated.find((item) => item.item_id === expected[i].item_id)!.text;
        if (format === 'jsonl') assert.deepEqual([line.item_id, line.instruction, line.answer], [expected[i].item_id, text, expected[i].majority]);
        if (format === 'openrlhf') assert.deepEqual(line, { problem: text, answer: expected[i].majority });
        if (format === 'trl') assert.deepEqual(line, { prompt: [{ role: 'user', content: text }], answer: expected[i].majority });
      });
    }
  });

  it('majority mode (GRPO): seeds drawn, majority rewards, label accuracy on the seed answers', async () => {
    const dir = workspace('majority');
    const evalFile = join(dir, 'eval.jsonl');
    writeFileSync(evalFile, readFileSync(join(ROOT, 'examples', 'arithmetic', 'test.jsonl'), 'utf8').split('\n').slice(0, 5).join('\n'));
    const outcome = await runTraining(dir, { configFile: writeConfig(dir, { mode: 'majority', algorithm: 'grpo', eval: { dataset: 'eval.jsonl', every: 2 } }) });
    assert.equal(outcome.status, 'completed', outcome.detail);
    const events = readEvents(await openRun(dir, outcome.runId));
    const seeds = readFileSync(SEEDS, 'utf8').trim().split('\n').map((line) => JSON.parse(line) as { problem: string; answer: string });
    const generated = ofType(events, 'item-generated');
    assert.equal(generated.length, 8);
    for (const item of generated) {
      assert.equal(item.origin.kind, 'seed');
      if (item.origin.kind === 'seed') {
        assert.equal(item.text, seeds[item.origin.seed_index].problem);
        assert.equal(item.origin.answer, seeds[item.origin.seed_index].answer);
      }
    }
    assert.ok(ofType(events, 'item-voted').every((vote) => vote.reward_source === 'majority'));
    const metrics = ofType(events, 'step-metrics');
    for (const step of metrics) {
      assert.equal(step.voted, 4);
      assert.ok(step.label_accuracy !== null, 'every seed has an answer: the labelled slice is the whole batch');
    }
    // eval.every 2: evaluated at step 2 only, greedy, on the 5 problems.
    assert.equal(metrics[0].eval, undefined);
    assert.deepEqual({ ...metrics[1].eval, accuracy: undefined }, { dataset: evalFile, problems: 5, samples_per_problem: 1, accuracy: undefined });
    assert.ok(metrics[1].eval!.accuracy >= 0 && metrics[1].eval!.accuracy <= 1);
  });

  it('ground-truth mode (RLOO): rewards are equivalence with the seed answer', async () => {
    const dir = workspace('ground-truth');
    const outcome = await runTraining(dir, { configFile: writeConfig(dir, { mode: 'ground-truth', algorithm: 'rloo' }) });
    assert.equal(outcome.status, 'completed', outcome.detail);
    const events = readEvents(await openRun(dir, outcome.runId));
    const answers = new Map(ofType(events, 'item-generated').map((item) => [item.item_id, item.origin.kind === 'seed' ? item.origin.answer : undefined]));
    const voted = ofType(events, 'item-voted');
    assert.equal(voted.length, 8);
    for (const vote of voted) {
      assert.equal(vote.reward_source, 'ground-truth');
      const answer = answers.get(vote.item_id)!;
      for (const response of vote.responses) {
        assert.equal(response.reward, response.answer !== null && answersEquivalent(response.answer, answer) ? 1 : 0);
      }
    }
  });

  it('review mode: kept items wait; an accepted one is re-sampled and trained, the others are not', async () => {
    const dir = workspace('review');
    const configFile = writeConfig(dir, { mode: 'majority', max_steps: 1, curation: { mode: 'review' }, filters: { reward_difficulty_bounds: [0, 1] } });
    let runId = '';
    let accepted = '';
    let acceptance: Promise<unknown> = Promise.resolve();
    const waits: string[] = [];
    const outcome = await train({
      workspace: dir,
      start: { configFile },
      python: PYTHON,
      workerEnv: WORKER_ENV,
      listener: {
        opened: (info) => (runId = info.runId),
        phase: (_step, text) => {
          if (!text.startsWith('waiting for review')) return;
          waits.push(text);
          if (accepted) return;
          accepted = ofType(readEvents(runPaths(dir, runId)), 'item-voted')[1].item_id;
          acceptance = appendDecision(runPaths(dir, runId), { type: 'accept', item_id: accepted });
        },
      },
    });
    await acceptance;
    assert.equal(outcome.status, 'completed', outcome.detail);
    assert.ok(waits.length >= 1 && /4 kept items/.test(waits[0]), waits.join('; '));
    const events = readEvents(runPaths(dir, runId));
    const votes = ofType(events, 'item-voted');
    assert.equal(votes.length, 5, 'four votes, then the accepted item re-sampled at training time');
    assert.equal(votes[4].item_id, accepted);
    assert.deepEqual(ofType(events, 'item-trained').map((event) => [event.item_id, event.rewards]), [[accepted, votes[4].responses.map((response) => response.reward)]]);
    assert.equal(ofType(events, 'step-metrics')[0].trained, 1);
  });

  it('a veto while running keeps an item out of training; a stopped step is redone and its vetoed copies filtered', async () => {
    const dir = workspace('veto');
    // Every voted item is kept (band [0, 1]), so only a veto keeps one from training.
    const configFile = writeConfig(dir, { mode: 'serl', filters: { reward_difficulty_bounds: [0, 1] } });
    const stop = new AbortController();
    let runId = '';
    let vetoWhileRunning: Promise<unknown> = Promise.resolve();
    let vetoedWhileRunning = '';
    let stoppedStepVoted: string[] = [];
    const eventsNow = () => readEvents(runPaths(dir, runId));
    const candidatesOf = (events: RunEvent[], step: number) => {
      const filtered = new Set(ofType(events, 'item-filtered').map((event) => event.item_id));
      return ofType(events, 'item-generated').filter((item) => item.step === step && !filtered.has(item.item_id));
    };
    const first = await train({
      workspace: dir,
      start: { configFile },
      python: PYTHON,
      workerEnv: WORKER_ENV,
      signal: stop.signal,
      listener: {
        opened: (info) => (runId = info.runId),
        phase: (step, text) => {
          // Between generation and training: the controller polls decisions right before it trains.
          if (step === 1 && text === 'rollouts') {
            vetoedWhileRunning = candidatesOf(eventsNow(), 1)[0]?.item_id ?? '';
            if (vetoedWhileRunning) vetoWhileRunning = appendDecision(runPaths(dir, runId), { type: 'veto', item_id: vetoedWhileRunning });
          }
          if (step === 2 && text === 'training') {
            stoppedStepVoted = ofType(eventsNow(), 'item-voted').filter((vote) => vote.step === 2).map((vote) => vote.item_id);
            stop.abort();
          }
        },
      },
    });
    await vetoWhileRunning;
    assert.equal(first.status, 'stopped', first.detail);
    assert.equal(first.steps, 1);
    assert.ok(vetoedWhileRunning !== '', 'step 1 had no candidate to veto');
    const paths = runPaths(dir, runId);
    let events = readEvents(paths);
    const stepOneVoted = ofType(events, 'item-voted').filter((vote) => vote.step === 1).map((vote) => vote.item_id);
    const trainedIds = ofType(events, 'item-trained').map((event) => event.item_id);
    assert.deepEqual(trainedIds, stepOneVoted.filter((id) => id !== vetoedWhileRunning));
    assert.equal(events.at(-1)?.type, 'run-finished');

    // The stopped step's candidates are vetoed; the resumed run redoes step 2 from the step-1 checkpoint with
    // the same RNG and worker state, so it writes the same texts again, which the filter now rejects.
    assert.ok(stoppedStepVoted.length > 0, 'step 2 voted nothing before the stop');
    for (const itemId of stoppedStepVoted) await appendDecision(paths, { type: 'veto', item_id: itemId });
    const resumed = await runTraining(dir, { resume: runId });
    assert.equal(resumed.status, 'completed', resumed.detail);
    events = readEvents(paths);
    const vetoedTexts = new Map(ofType(events, 'item-generated').filter((item) => stoppedStepVoted.includes(item.item_id)).map((item) => [item.text, item.item_id]));
    const redone = ofType(events, 'item-generated').filter((item) => item.step === 2 && item.item_id.endsWith('-r1'));
    const copies = redone.filter((item) => vetoedTexts.has(item.text));
    assert.equal(copies.length, vetoedTexts.size, 'the redone step did not repeat the stopped one');
    const filteredById = new Map(ofType(events, 'item-filtered').map((event) => [event.item_id, event]));
    for (const copy of copies) {
      const verdict = filteredById.get(copy.item_id);
      assert.equal(verdict?.reason, 'similar-to-vetoed', copy.item_id);
      assert.deepEqual(verdict?.nearest, { pool: 'vetoed', ref: { kind: 'item', item_id: vetoedTexts.get(copy.text) }, score: 1 });
    }
    const trainedTexts = new Set(ofType(events, 'item-trained').map((event) => ofType(events, 'item-generated').find((item) => item.item_id === event.item_id)!.text));
    for (const text of vetoedTexts.keys()) assert.equal(trainedTexts.has(text), false);
  });

  it('a worker that dies mid-run: an error event, run-finished failed, a clear message and exit 1', async () => {
    const dir = workspace('crash');
    const configFile = writeConfig(dir, { mode: 'majority', max_steps: 3 });
    const cli = spawn(process.execPath, [CLI, 'train', '--config', configFile, '--workspace', dir, '--python', PYTHON], {
      env: { ...process.env, ...WORKER_ENV },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(cli);
    const stderr: string[] = [];
    cli.stderr!.on('data', (chunk: Buffer) => stderr.push(chunk.toString()));
    const exited = new Promise<number | null>((resolveExit) => cli.once('exit', (code) => resolveExit(code)));
    const runsRoot = join(dir, '.serl', 'runs');
    const eventsOf = (run: string) => join(runsRoot, run, 'events.jsonl');
    await waitFor('step 1 to start', () => existsSync(runsRoot) && readdirSync(runsRoot).some((run) => existsSync(eventsOf(run)) && /"item-generated"/.test(readFileSync(eventsOf(run), 'utf8'))), 60_000);
    const workerPids = spawnSync('ps', ['-o', 'pid=', '--ppid', String(cli.pid)], { encoding: 'utf8' })
      .stdout.split('\n').map((line) => Number(line.trim())).filter((pid) => pid > 0);
    assert.equal(workerPids.length, 1, 'the CLI should have one child, the worker');
    process.kill(workerPids[0], 'SIGKILL');
    assert.equal(await exited, 1, stderr.join(''));
    assert.match(stderr.join(''), /failed: .*training worker.*SIGKILL/);
    const events = readEvents(runPaths(dir, readdirSync(runsRoot)[0]));
    const errors = ofType(events, 'error');
    assert.equal(errors.length, 1);
    assert.equal(errors[0].fatal, true);
    const finished = events.at(-1);
    assert.equal(finished?.type === 'run-finished' && finished.status, 'failed');
  });

  it('SIGTERM stops `serl train` at a step boundary: run-finished stopped, exit 130, no worker left', async () => {
    const dir = workspace('sigterm');
    const configFile = writeConfig(dir, { mode: 'majority', max_steps: 50 });
    const cli = spawn(process.execPath, [CLI, 'train', '--config', configFile, '--workspace', dir, '--python', PYTHON], {
      env: { ...process.env, ...WORKER_ENV },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(cli);
    const stdout: string[] = [];
    cli.stdout!.on('data', (chunk: Buffer) => stdout.push(chunk.toString()));
    const exited = new Promise<number | null>((resolveExit) => cli.once('exit', (code) => resolveExit(code)));
    await waitFor('step 1 to finish', () => /^step 1\/50 /m.test(stdout.join('')), 60_000);
    const workerPids = spawnSync('ps', ['-o', 'pid=', '--ppid', String(cli.pid)], { encoding: 'utf8' })
      .stdout.split('\n').map((line) => Number(line.trim())).filter((pid) => pid > 0);
    cli.kill('SIGTERM');
    assert.equal(await exited, 130);
    assert.ok(workerPids.length === 1 && !isRunning(workerPids[0]), 'the worker outlived its controller');
    const runsRoot = join(dir, '.serl', 'runs');
    const events = readEvents(runPaths(dir, readdirSync(runsRoot)[0]));
    const finished = events.at(-1);
    assert.equal(finished?.type === 'run-finished' && finished.status, 'stopped');
    const completed = ofType(events, 'step-metrics').length;
    assert.ok(completed >= 1 && completed < 50);
    assert.equal(ofType(events, 'checkpoint').at(-1)?.step, completed);
  });

  it('a Python without PyTorch: the run fails with a message that says so', { skip: pythonWithoutTorch ? undefined : 'every python3 here has PyTorch' }, async () => {
    const dir = workspace('no-torch');
    const outcome = await train({ workspace: dir, start: { configFile: writeConfig(dir, { mode: 'majority' }) }, python: pythonWithoutTorch!, workerEnv: WORKER_ENV });
    assert.equal(outcome.status, 'failed');
    assert.match(outcome.detail ?? '', /torch/);
    const events = readEvents(runPaths(dir, outcome.runId));
    assert.equal(ofType(events, 'error')[0]?.fatal, true);
  });

  it('the collapse probe: votes on labelled seeds it never trains on, and leaves the training exactly as it was', async () => {
    const seeds = readFileSync(SEEDS, 'utf8').trim().split('\n').map((line) => JSON.parse(line) as { problem: string; answer: string });
    const run = async (name: string, monitor: RunConfigInput['monitor']) => {
      const dir = workspace(name);
      const configFile = writeConfig(dir, { mode: 'serl', max_steps: 3, filters: { reward_difficulty_bounds: [0, 1] }, monitor });
      const outcome = await runTraining(dir, { configFile });
      assert.equal(outcome.status, 'completed', outcome.detail);
      return readEvents(await openRun(dir, outcome.runId));
    };
    const probed = await run('probe', { probe_size: 6, probe_every: 2, probe_samples: 3 });
    const slices = ofType(probed, 'probe-slice');
    assert.equal(slices.length, 1);
    assert.deepEqual(slices[0].seed_indices, chooseProbeSlice(seeds.map((seed) => seed.answer), 6, 42));
    assert.ok(probed.indexOf(slices[0]) < probed.findIndex((event) => event.type === 'item-generated'), 'the slice is fixed before step 1');

    // Probed at step 2 (probe_every) and 3 (the last step), from 3 responses on each of 6 items.
    const metrics = ofType(probed, 'step-metrics');
    assert.deepEqual(metrics.map((step) => [step.probe_accuracy === null, step.probe_agreement === null]), [[true, true], [false, false], [false, false]]);
    for (const step of metrics.slice(1)) {
      const sixths = step.probe_accuracy! * 6;
      const eighteenths = step.probe_agreement! * 18;
      assert.ok(Math.abs(sixths - Math.round(sixths)) < 1e-9 && sixths >= 0 && sixths <= 6, `probe accuracy ${step.probe_accuracy}`);
      assert.ok(Math.abs(eighteenths - Math.round(eighteenths)) < 1e-9 && eighteenths >= 6 && eighteenths <= 18, `probe agreement ${step.probe_agreement}`);
    }

    // Nothing of the probe enters the pool or training: every voted or trained item is a generated one, and
    // none is a probe seed's text.
    const probeTexts = new Set(slices[0].seed_indices.map((index) => seeds[index].problem));
    const generated = new Map(ofType(probed, 'item-generated').map((item) => [item.item_id, item]));
    for (const event of [...ofType(probed, 'item-voted'), ...ofType(probed, 'item-trained')]) {
      const item = generated.get(event.item_id);
      assert.ok(item && item.origin.kind === 'self-instruct' && !probeTexts.has(item.text), event.item_id);
    }
    assert.ok(ofType(probed, 'item-trained').length > 0, 'nothing trained: the comparison below would be empty');

    // The same run without a probe generates, votes and trains exactly the same: the probe samples from its
    // own generator and changes neither the worker's nor the controller's random stream.
    const plain = await run('no-probe', { probe_size: 0 });
    assert.deepEqual(ofType(plain, 'probe-slice'), []);
    assert.ok(ofType(plain, 'step-metrics').every((step) => step.probe_accuracy === null && step.probe_agreement === null));
    const training = (events: RunEvent[]) => ({
      generated: ofType(events, 'item-generated').map((item) => item.text),
      trained: ofType(events, 'item-trained').map((event) => [event.item_id, event.rewards]),
      loss: ofType(events, 'step-metrics').map((step) => step.loss),
    });
    assert.deepEqual(training(plain), training(probed));
  });

  it('kill -9 during a probed run: the resume keeps the probe slice and probes on schedule', async () => {
    const dir = workspace('probe-resume');
    const configFile = writeConfig(dir, { mode: 'serl', max_steps: 3, monitor: { probe_size: 4, probe_every: 1, probe_samples: 2 } });
    const cli = spawn(process.execPath, [CLI, 'train', '--config', configFile, '--workspace', dir, '--python', PYTHON], {
      env: { ...process.env, ...WORKER_ENV },
      stdio: ['ignore', 'ignore', 'ignore'],
    });
    children.push(cli);
    const runsRoot = join(dir, '.serl', 'runs');
    await waitFor('the run directory', () => existsSync(runsRoot) && readdirSync(runsRoot).length === 1, 30_000);
    const runId = readdirSync(runsRoot)[0];
    const paths = runPaths(dir, runId);
    await waitFor('step 2 to start', () => existsSync(paths.events) && /"type":"item-generated","item_id":"s2-/.test(readFileSync(paths.events, 'utf8')), 90_000);
    const workerPids = spawnSync('ps', ['-o', 'pid=', '--ppid', String(cli.pid)], { encoding: 'utf8' })
      .stdout.split('\n').map((line) => Number(line.trim())).filter((pid) => pid > 0);
    cli.kill('SIGKILL');
    await waitFor('the CLI to die', () => cli.signalCode === 'SIGKILL', 10_000);
    await waitFor('the orphaned worker to exit', () => workerPids.every((pid) => !isRunning(pid)), 30_000);
    const before = ofType(readEvents(paths), 'probe-slice');
    assert.equal(before.length, 1);

    const resumed = await runTraining(dir, { resume: runId });
    assert.equal(resumed.status, 'completed', resumed.detail);
    const events = readEvents(paths);
    assert.equal(ofType(events, 'run-started').length, 2);
    assert.deepEqual(ofType(events, 'probe-slice'), before, 'the resumed session chose no new slice');
    const after = await replayRun(paths);
    assert.deepEqual(after.problems, []);
    assert.deepEqual(after.pool.probeSlice?.seed_indices, before[0].seed_indices);
    const steps = [...after.pool.steps.values()].sort((a, b) => a.step - b.step);
    assert.deepEqual(steps.map((step) => step.step), [1, 2, 3]);
    assert.ok(steps.every((step) => step.probe_accuracy !== null && step.probe_agreement !== null), 'probe_every 1: every step probed');
  });

  it('kill -9 of `serl train` mid-step: the resume loses no decision and redoes at most one step', async () => {
    const check = spawnSync(process.execPath, [CLI, 'train', '--help'], { encoding: 'utf8' });
    assert.equal(check.status, 0, `${CLI} has no train command: build it first (npm run build)\n${check.stderr}`);
    const dir = workspace('resume');
    const configFile = writeConfig(dir, { mode: 'majority', max_steps: 4 });
    const cli = spawn(process.execPath, [CLI, 'train', '--config', configFile, '--workspace', dir, '--python', PYTHON], {
      env: { ...process.env, ...WORKER_ENV },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(cli);
    const output: string[] = [];
    cli.stdout!.on('data', (chunk: Buffer) => output.push(chunk.toString()));
    cli.stderr!.on('data', (chunk: Buffer) => output.push(chunk.toString()));

    const runsRoot = join(dir, '.serl', 'runs');
    let eventsFile = '';
    const eventsSoFar = () => (eventsFile && existsSync(eventsFile) ? readFileSync(eventsFile, 'utf8') : '');
    await waitFor('the run directory', () => existsSync(runsRoot) && readdirSync(runsRoot).length === 1, 30_000);
    const runId = readdirSync(runsRoot)[0];
    eventsFile = join(runsRoot, runId, 'events.jsonl');
    const paths = await openRun(dir, runId);
    // Mid-step: step 2 is done and step 3 has started generating.
    await waitFor('step 3 to start', () => /"type":"item-generated","item_id":"s3-/.test(eventsSoFar()), 90_000);
    const before = await replayRun(paths);
    const vetoed = [...before.pool.items.values()].find((item) => item.step === 2)!;
    await appendDecision(paths, { type: 'veto', item_id: vetoed.item_id, reason: 'before the kill' });
    const workerPids = spawnSync('ps', ['-o', 'pid=', '--ppid', String(cli.pid)], { encoding: 'utf8' })
      .stdout.split('\n').map((line) => Number(line.trim())).filter((pid) => pid > 0);
    assert.ok(workerPids.length >= 1, 'the CLI has no worker child');
    const completedBeforeKill = before.pool.lastCompletedStep;
    cli.kill('SIGKILL');
    await waitFor('the CLI to die', () => cli.signalCode === 'SIGKILL', 10_000);
    // The worker notices its controller is gone (end of stdin) and exits by itself.
    await waitFor('the orphaned worker to exit', () => workerPids.every((pid) => !isRunning(pid)), 30_000);
    const relabelled = [...before.pool.items.values()].find((item) => item.step === 1)!;
    await appendDecision(paths, { type: 'relabel', item_id: relabelled.item_id, answer: '42' });

    const resumed = spawnSync(process.execPath, [CLI, 'train', '--resume', runId, '--workspace', dir, '--python', PYTHON], {
      env: { ...process.env, ...WORKER_ENV },
      encoding: 'utf8',
      timeout: 90_000,
    });
    assert.equal(resumed.status, 0, `resume failed:\n${resumed.stdout}\n${resumed.stderr}\nfirst session:\n${output.join('')}`);
    assert.match(resumed.stdout, /^step 4\/4 reward /m);

    const events = readEvents(paths);
    const sessions = ofType(events, 'run-started');
    assert.equal(sessions.length, 2);
    const resumedFrom = sessions[1].resumed_from!;
    assert.ok(completedBeforeKill - resumedFrom.step <= 1, `redid ${completedBeforeKill - resumedFrom.step} steps`);
    assert.equal(resumedFrom.checkpoint_dir, `checkpoints/step-${String(resumedFrom.step).padStart(6, '0')}`);
    const after = await replayRun(paths);
    assert.deepEqual(after.problems, []);
    assert.deepEqual([...after.pool.steps.keys()].sort(), [1, 2, 3, 4]);
    assert.equal(after.pool.items.get(vetoed.item_id)?.review?.decision, 'vetoed');
    assert.equal(after.pool.items.get(relabelled.item_id)?.label?.answer, '42');
    assert.equal(after.pool.finished?.status, 'completed');
    // Items of the redone step 3 carry the new session's ids; the interrupted session's are superseded.
    const live = after.pool.liveItems().filter((item) => item.step === 3);
    assert.ok(live.length > 0 && live.every((item) => item.item_id.endsWith('-r1')));
  });
});
