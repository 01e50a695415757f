import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { defaultRunConfig } from '../../src/core/config';
import { itemStage } from '../../src/core/pool';
import { parseRunEvent } from '../../src/protocol/events';
import { readJsonl, readJsonlRecordAt } from '../../src/engine/jsonl';
import { acquireRunLock, RunLockedError } from '../../src/engine/runLock';
import {
  appendDecision,
  createRun,
  listRuns,
  newRunId,
  openRun,
  readRunConfig,
  replayRun,
  runPaths,
  RunWriter,
  runSummary,
  type RunPaths,
} from '../../src/engine/runStore';

const root = mkdtempSync(join(tmpdir(), 'serl-runs-'));
const children = new Set<ChildProcess>();
after(() => {
  for (const child of children) child.kill('SIGKILL');
  rmSync(root, { recursive: true, force: true });
});

let workspaceCount = 0;
function freshWorkspace(): string {
  return join(root, `ws-${workspaceCount++}`);
}

const config = defaultRunConfig();

async function newRun(workspace = freshWorkspace(), runId?: string): Promise<{ workspace: string; paths: RunPaths }> {
  return { workspace, paths: await createRun(workspace, config, runId) };
}

/** One item through the pipeline and a completed step, as a controller writes them. */
function writeStep(writer: RunWriter, step: number, itemId: string): void {
  writer.emit({
    type: 'item-generated',
    item_id: itemId,
    step,
    text: `What is ${step} + ${step}?`,
    origin: { kind: 'self-instruct', prompt_id: `p${step}`, sources: [{ kind: 'seed', index: 0 }] },
  });
  writer.emit({
    type: 'item-voted',
    item_id: itemId,
    step,
    reward_source: 'majority',
    majority: String(2 * step),
    agreement: 0.5,
    groups: [{ answer: String(2 * step), count: 1, members: [0] }],
    responses: [
      { text: `\\boxed{${2 * step}}`, answer: String(2 * step), reward: 1, tokens: 4, finish_reason: 'stop' },
      { text: 'no idea', answer: null, reward: 0, tokens: 2, finish_reason: 'length' },
    ],
    difficulty: { status: 'kept', detail: 'agreement 0.5 within [0.2, 0.8]' },
  });
  writer.emit({ type: 'item-trained', item_id: itemId, step, reward_source: 'majority', rewards: [1, 0] });
  writer.emit({
    type: 'step-metrics',
    step,
    generated: 1,
    voted: 1,
    kept: 1,
    trained: 1,
    filtered_by_reason: {},
    reward_mean: 0.5,
    agreement_mean: 0.5,
    loss: 0.25,
    kl: 0,
    entropy: 1,
    grad_norm: 0.5,
    lr: 1e-6,
    response_length: 3,
    tokens_per_s: 100,
    step_seconds: 0.1,
    all_equal_share: 0,
    label_accuracy: null,
  });
}

/** A node process that takes the run's lock and holds it until killed. */
async function lockHolder(paths: RunPaths): Promise<ChildProcess> {
  const script = `
    const { acquireRunLock } = require(${JSON.stringify(join(__dirname, '../../src/engine/runLock.ts'))});
    acquireRunLock(${JSON.stringify(paths)}).then(() => { console.log('locked'); setInterval(() => {}, 1000); },
      (error) => { console.error(error.message); process.exit(1); });`;
  const child = spawn(process.execPath, ['--import', 'tsx', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  child.on('exit', () => children.delete(child));
  let stderr = '';
  child.stderr!.on('data', (data) => (stderr += data));
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (data) => String(data).includes('locked') && resolve());
    child.on('exit', (code) => reject(new Error(`lock holder exited with ${code}: ${stderr}`)));
  });
  return child;
}

async function kill(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  // Waiting for 'exit' also reaps it: a zombie would still count as a live process.
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill(signal);
  await exited;
}

describe('run ids and directories', () => {
  it('makes sortable ids from the time', () => {
    const early = newRunId(new Date('2026-11-25T14:30:00Z'));
    const late = newRunId(new Date('2026-11-25T14:30:01Z'));
    assert.match(early, /^2026-11-25T14-30-00-[0-9a-f]{6}$/);
    assert.ok(early < late);
  });

  it('refuses ids that are not plain directory names', () => {
    for (const runId of ['../escape', '', '.hidden', 'a/b']) {
      assert.throws(() => runPaths(root, runId), /invalid run id/);
    }
  });

  it('creates a run with its resolved config, once', async () => {
    const { workspace, paths } = await newRun(undefined, 'first');
    assert.deepEqual(await readRunConfig(paths), config);
    assert.ok(existsSync(paths.checkpoints));
    await assert.rejects(createRun(workspace, config, 'first'), /run first already exists/);
    await assert.rejects(openRun(workspace, 'second'), /no run second in /);
  });

  it('names the file and the field of a bad config.json', async () => {
    const { paths } = await newRun();
    writeFileSync(paths.config, JSON.stringify({ optimizer: { lr: -1 } }));
    await assert.rejects(readRunConfig(paths), (error: Error) => error.message.startsWith(`${paths.config}: optimizer.lr: `));
    writeFileSync(paths.config, '{');
    await assert.rejects(readRunConfig(paths), new RegExp(`${paths.config}: invalid JSON`));
  });
});

describe('RunWriter', () => {
  it('writes events that replay into the same state, and resumes from the last checkpoint', async () => {
    const { workspace, paths } = await newRun();
    const writer = await RunWriter.open(workspace, paths.runId);
    assert.equal(writer.startSession(), null);
    writeStep(writer, 1, 's1-0');
    writer.emit({ type: 'checkpoint', step: 1, dir: 'checkpoints/step-000001', rng: [1, 2, 3, 4] });
    writeStep(writer, 2, 's2-0');
    await writer.sync();
    const state = JSON.parse(readFileSync(paths.state, 'utf8'));
    assert.deepEqual([state.step, state.last_checkpoint, state.items.trained, state.finished], [2, { step: 1, dir: 'checkpoints/step-000001' }, 2, null]);
    await writer.close();
    assert.throws(() => writer.emit({ type: 'run-finished', status: 'completed' }), /is closed for writing/);

    const events = await readJsonl(paths.events, parseRunEvent);
    assert.deepEqual(events.problems, []);
    assert.deepEqual(events.records.map((record) => record.value.type).slice(0, 3), ['run-started', 'item-generated', 'item-voted']);

    const reopened = await RunWriter.open(workspace, paths.runId);
    try {
      assert.deepEqual([...reopened.pool.items.keys()], ['s1-0', 's2-0']);
      assert.deepEqual(reopened.problems, []);
      const resume = reopened.startSession();
      assert.equal(resume!.step, 1);
      assert.equal(resume!.redoneSteps, 1);
      assert.deepEqual(resume!.checkpoint!.rng, [1, 2, 3, 4]);
      // Step 2 is redone: its item is superseded until the resumed session generates it anew.
      assert.equal(reopened.pool.items.get('s2-0')!.superseded, true);
      assert.equal(reopened.pool.lastCompletedStep, 1);
    } finally {
      await reopened.close();
    }
  });

  it('keeps where each item-voted line is, so the responses can be read back', async () => {
    const { workspace, paths } = await newRun();
    const writer = await RunWriter.open(workspace, paths.runId);
    writer.startSession();
    writeStep(writer, 1, 's1-0');
    await writer.close();
    const { pool } = await replayRun(paths);
    const vote = pool.items.get('s1-0')!.vote!;
    const line = await readJsonlRecordAt(vote.responsesAt, parseRunEvent);
    assert.equal(line.type, 'item-voted');
    assert.deepEqual(line.type === 'item-voted' && line.responses.map((response) => response.answer), ['2', null]);
  });

  it('cuts off a torn last event line when it opens, and says so', async () => {
    const { workspace, paths } = await newRun();
    const writer = await RunWriter.open(workspace, paths.runId);
    writer.startSession();
    writeStep(writer, 1, 's1-0');
    await writer.close();
    appendFileSync(paths.events, '{"v":1,"type":"item-gen');

    const reopened = await RunWriter.open(workspace, paths.runId);
    try {
      assert.deepEqual(reopened.problems, [`${paths.events}:6: cut off an incomplete last line (23 bytes) left by an interrupted write`]);
      reopened.startSession();
    } finally {
      await reopened.close();
    }
    const events = await readJsonl(paths.events, parseRunEvent);
    assert.deepEqual([events.problems, events.pendingBytes, events.records.length], [[], 0, 6]);
  });

  it('reports bad event lines with file:line and replays the rest', async () => {
    const { workspace, paths } = await newRun();
    const writer = await RunWriter.open(workspace, paths.runId);
    writer.startSession();
    await writer.close();
    appendFileSync(paths.events, '{"v":1,"type":"alert"}\n');
    const good = await RunWriter.open(workspace, paths.runId);
    try {
      writeStep(good, 1, 's1-0');
    } finally {
      await good.close();
    }
    const replay = await replayRun(paths);
    assert.equal(replay.problems.length, 1);
    assert.match(replay.problems[0]!, new RegExp(`^${paths.events}:2: alert: `));
    assert.equal(itemStage(replay.pool.items.get('s1-0')!), 'trained');
  });
});

describe('decisions', () => {
  it('are appended by the user side and picked up live by the controller', async () => {
    const { workspace, paths } = await newRun();
    const writer = await RunWriter.open(workspace, paths.runId);
    try {
      writer.startSession();
      writeStep(writer, 1, 's1-0');
      const veto = await appendDecision(paths, { type: 'veto', item_id: 's1-0', reason: 'off topic' });
      assert.match(veto.decision_id, /^[0-9a-f-]{36}$/);
      const batch = await writer.pollDecisions();
      assert.deepEqual(batch.records.map((record) => record.value), [veto]);
      assert.equal(writer.pool.items.get('s1-0')!.review!.decision, 'vetoed');
      assert.deepEqual(writer.pool.fewShotItems(), []);
      assert.deepEqual((await writer.pollDecisions()).records, []);
    } finally {
      await writer.close();
    }
  });

  it('from several writers at once stay whole lines, each exactly once', async () => {
    const { paths } = await newRun();
    const decisions = await Promise.all(
      Array.from({ length: 12 }, (_, i) => appendDecision(paths, { type: 'relabel', item_id: `s1-${i}`, answer: String(i) })),
    );
    const { records, problems } = await readJsonl(paths.decisions, (value) => ({ ok: true, value }));
    assert.deepEqual(problems, []);
    assert.deepEqual(
      records.map((record) => record.value).sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b))),
      [...decisions].sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b))),
    );
  });

  it('are not lost when the controller is away: a resumed controller replays them', async () => {
    const { workspace, paths } = await newRun();
    const writer = await RunWriter.open(workspace, paths.runId);
    writer.startSession();
    writeStep(writer, 1, 's1-0');
    writer.emit({ type: 'checkpoint', step: 1, dir: 'checkpoints/step-000001' });
    await writer.close();
    await appendDecision(paths, { type: 'relabel', item_id: 's1-0', answer: '3' });
    appendFileSync(paths.decisions, '{"v":1,"type":"veto"'); // a user-side writer killed mid-line

    const resumed = await RunWriter.open(workspace, paths.runId);
    try {
      assert.equal(resumed.pool.items.get('s1-0')!.label!.answer, '3');
      await appendDecision(paths, { type: 'veto', item_id: 's1-0' });
      const batch = await resumed.pollDecisions();
      assert.deepEqual(batch.records.map((record) => record.value.type), ['veto']);
      assert.deepEqual(batch.problems, []);
      assert.equal(resumed.pool.items.get('s1-0')!.review!.decision, 'vetoed');
    } finally {
      await resumed.close();
    }
  });
});

describe('the run lock', () => {
  it('refuses a second controller in the same process, naming the run and the holder', async () => {
    const { workspace, paths } = await newRun(undefined, 'busy-run');
    const writer = await RunWriter.open(workspace, paths.runId);
    try {
      await assert.rejects(RunWriter.open(workspace, paths.runId), (error: unknown) => {
        assert.ok(error instanceof RunLockedError);
        assert.equal(error.holder!.pid, process.pid);
        assert.match(error.message, new RegExp(`^run busy-run is already being written by controller pid ${process.pid} on `));
        return true;
      });
    } finally {
      await writer.close();
    }
    const next = await RunWriter.open(workspace, paths.runId);
    await next.close();
  });

  it('refuses while another process holds it, and takes it over once that process is killed', async () => {
    const { paths } = await newRun();
    const holder = await lockHolder(paths);
    await assert.rejects(acquireRunLock(paths), (error: unknown) => {
      assert.ok(error instanceof RunLockedError);
      assert.equal(error.holder!.pid, holder.pid);
      return true;
    });
    assert.equal((await runSummary(paths)).status, 'running');

    await kill(holder, 'SIGKILL');
    assert.equal((await runSummary(paths)).status, 'created');
    const lock = await acquireRunLock(paths);
    try {
      assert.equal(lock.tookOverFrom!.pid, holder.pid);
      assert.equal(lock.holder.pid, process.pid);
      assert.equal(JSON.parse(readFileSync(paths.controller, 'utf8')).pid, process.pid);
    } finally {
      await lock.release();
    }
  });

  it('is released by a holder stopped with SIGTERM', async () => {
    const { paths } = await newRun();
    const holder = await lockHolder(paths);
    await kill(holder, 'SIGTERM');
    assert.equal(existsSync(paths.lock), false);
    const lock = await acquireRunLock(paths);
    assert.equal(lock.tookOverFrom, null);
    await lock.release();
  });
});

describe('listRuns', () => {
  it('derives each run status from its lock and its last event', async () => {
    const workspace = freshWorkspace();
    assert.deepEqual(await listRuns(workspace), []);
    const ids = ['2026-01-01T00-00-00-aaaaaa', '2026-01-02T00-00-00-bbbbbb', '2026-01-03T00-00-00-cccccc', '2026-01-04T00-00-00-dddddd', '2026-01-05T00-00-00-eeeeee'];
    for (const runId of ids) await createRun(workspace, config, runId);
    const [created, completed, interrupted, failed, running] = ids;

    const finish = async (runId: string, end: (writer: RunWriter) => void) => {
      const writer = await RunWriter.open(workspace, runId);
      writer.startSession();
      writeStep(writer, 1, 's1-0');
      end(writer);
      await writer.close();
    };
    await finish(completed!, (writer) => writer.emit({ type: 'run-finished', status: 'completed' }));
    await finish(interrupted!, () => undefined);
    await finish(failed!, (writer) => writer.emit({ type: 'error', message: 'worker ran out of memory', fatal: true }));
    const live = await RunWriter.open(workspace, running!);
    try {
      live.startSession();
      const runs = await listRuns(workspace);
      assert.deepEqual(
        runs.map((run) => [run.runId, run.status]),
        [
          [created, 'created'],
          [completed, 'completed'],
          [interrupted, 'interrupted'],
          [failed, 'failed'],
          [running, 'running'],
        ],
      );
      const done = runs[1]!;
      assert.deepEqual([done.state!.step, done.state!.finished, done.controller!.pid, done.problems], [1, 'completed', process.pid, []]);
    } finally {
      await live.close();
    }
  });

  it('reports an unreadable state.json and still lists the run', async () => {
    const { workspace, paths } = await newRun();
    writeFileSync(paths.state, '{"v":1}');
    const [run] = await listRuns(workspace);
    assert.equal(run!.status, 'created');
    assert.equal(run!.state, null);
    assert.match(run!.problems[0]!, new RegExp(`^${paths.state}: run_id: `));
  });
});
