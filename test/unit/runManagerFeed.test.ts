// The run manager's catalog and feed (src/engine/runFeed.ts) on real run folders written by the real run
// store: rescans that report only changes, a feed that delivers the history and then only what is appended,
// decisions written through the feed and read by the controller's side, bad lines, a replaced file.
import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { parseRunConfig } from '../../src/core/config';
import { createRun, RunWriter } from '../../src/engine/runStore';
import { WorkspaceRunCatalog } from '../../src/engine/runFeed';
import type { RunFeedListener } from '../../src/extension/runFeed';
import type { Decision, LogRecord, RunEvent } from '../../src/protocol/events';

const root = mkdtempSync(join(tmpdir(), 'serl-feed-'));
const cleanups: (() => void | Promise<void>)[] = [];
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
  rmSync(root, { recursive: true, force: true });
});

let count = 0;
function freshWorkspace(): string {
  return join(root, `ws-${count++}`);
}

function config(overrides: object = {}) {
  const parsed = parseRunConfig({ seeds: join(root, 'seeds.jsonl'), max_steps: 7, ...overrides }, 'test');
  assert.ok(parsed.ok);
  return parsed.config;
}

async function openWriter(workspace: string): Promise<RunWriter> {
  const { runId } = await createRun(workspace, config());
  const writer = await RunWriter.open(workspace, runId);
  cleanups.push(() => writer.close());
  writer.startSession();
  return writer;
}

function generate(writer: RunWriter, itemId: string): void {
  writer.emit({
    type: 'item-generated',
    item_id: itemId,
    step: 1,
    text: `Problem ${itemId}: what is 2 + 2?`,
    origin: { kind: 'self-instruct', prompt_id: 'p1', sources: [{ kind: 'seed', index: 0 }] },
  });
}

/** A listener that records everything, in arrival order. */
function recorder() {
  const seen = {
    events: [] as LogRecord<RunEvent>[],
    decisions: [] as LogRecord<Decision>[],
    resets: 0,
    problems: [] as string[],
    order: [] as string[],
  };
  const listener: RunFeedListener = {
    onEvents: (events) => {
      seen.events.push(...events);
      seen.order.push(...events.map((event) => `event:${event.value.type}`));
    },
    onDecisions: (decisions) => {
      seen.decisions.push(...decisions);
      seen.order.push(...decisions.map((decision) => `decision:${decision.value.type}`));
    },
    onReset: () => {
      seen.resets += 1;
      seen.events.length = 0;
      seen.decisions.length = 0;
      seen.order.push('reset');
    },
    onProblem: (message) => seen.problems.push(message),
  };
  return { seen, listener };
}

async function waitFor(what: string, condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('WorkspaceRunCatalog', () => {
  it('lists the runs of every root and tells listeners only when something changed', async () => {
    const [first, second] = [freshWorkspace(), freshWorkspace()];
    const catalog = new WorkspaceRunCatalog([first, second], { pollMs: 60_000 });
    cleanups.push(() => catalog.dispose());
    let changes = 0;
    catalog.onDidChange(() => changes++);
    assert.deepEqual(await catalog.refresh(), []);
    assert.equal(changes, 0);

    const writer = await openWriter(second);
    const { runId: idle } = await createRun(first, config());
    const runs = await catalog.refresh();
    assert.equal(changes, 1);
    assert.deepEqual(
      runs.map((run) => [run.runId, run.status]).sort(),
      [
        [idle, 'created'],
        [writer.paths.runId, 'running'],
      ].sort(),
    );
    assert.equal(catalog.workspaceOf(idle), first);
    assert.equal(catalog.workspaceOf(writer.paths.runId), second);

    await catalog.refresh();
    assert.equal(changes, 1, 'a rescan that finds nothing new is silent');

    writer.emit({ type: 'run-finished', status: 'completed' });
    await writer.close();
    await catalog.refresh();
    assert.equal(changes, 2);
    assert.equal(catalog.find(writer.paths.runId)?.status, 'completed');
  });

  it('rescans on its own timer once started', async () => {
    const workspace = freshWorkspace();
    const catalog = new WorkspaceRunCatalog([workspace], { pollMs: 30 });
    cleanups.push(() => catalog.dispose());
    await catalog.start();
    assert.equal(catalog.list().length, 0);
    const { runId } = await createRun(workspace, config());
    await waitFor('the timer to find the new run', () => catalog.find(runId) !== undefined);
  });

  it('knows the planned steps from the run config', async () => {
    const workspace = freshWorkspace();
    const catalog = new WorkspaceRunCatalog([workspace]);
    cleanups.push(() => catalog.dispose());
    const { runId: capped } = await createRun(workspace, config({ max_steps: 12 }));
    const { runId: serl } = await createRun(workspace, config({ max_steps: undefined, instructions_num_per_iteration: 64, rollout_batch_size: 16, iterations: 2 }));
    writeFileSync(join(root, 'seeds.jsonl'), ['a', 'b', 'c'].map((name) => JSON.stringify({ problem: `What is ${name} plus one?` })).join('\n') + '\n');
    const { runId: majority } = await createRun(workspace, config({ max_steps: undefined, mode: 'majority', rollout_batch_size: 2 }));
    await catalog.refresh();
    assert.equal(await catalog.totalSteps(capped), 12);
    assert.equal(await catalog.totalSteps(serl), 8);
    assert.equal(await catalog.totalSteps(majority), 2, '3 seeds in batches of 2');
    assert.equal(await catalog.totalSteps('2026-01-01T00-00-00-000000'), null);
    assert.throws(() => catalog.feed('2026-01-01T00-00-00-000000'), /no run 2026-01-01T00-00-00-000000 in /);
  });
});

describe('RunFeed', () => {
  it('delivers the history first, then only what is appended, and writes decisions the controller reads', async () => {
    const workspace = freshWorkspace();
    const writer = await openWriter(workspace);
    generate(writer, 'a');
    generate(writer, 'b');
    const catalog = new WorkspaceRunCatalog([workspace], { feedPollMs: 20 });
    cleanups.push(() => catalog.dispose());
    await catalog.refresh();
    const feed = catalog.feed(writer.paths.runId);
    assert.equal(feed.dir, writer.paths.dir);

    const { seen, listener } = recorder();
    const subscription = feed.subscribe(listener);
    cleanups.push(() => subscription.dispose());
    await waitFor('the history', () => seen.events.length === 3);
    assert.deepEqual(seen.order, ['event:run-started', 'event:item-generated', 'event:item-generated']);

    generate(writer, 'c');
    await waitFor('the appended event', () => seen.events.length === 4);
    assert.deepEqual(
      seen.events.map((record) => record.location.line),
      [1, 2, 3, 4],
      'each line delivered once, in order',
    );

    const veto = await feed.decide({ type: 'veto', item_id: 'b', reason: 'off topic' });
    await waitFor('the decision', () => seen.decisions.length === 1);
    assert.equal(seen.decisions[0]!.value.decision_id, veto.decision_id);
    const polled = await writer.pollDecisions();
    assert.deepEqual(polled.records.map((record) => record.value.decision_id), [veto.decision_id]);
    assert.equal(writer.pool.items.get('b')?.review?.decision, 'vetoed');

    await assert.rejects(feed.decide({ type: 'relabel', item_id: 'a', answer: '  ' }), /answer/);
    assert.equal(seen.resets, 0);
    assert.deepEqual(seen.problems, []);
  });

  it('reports a bad line by file and line and keeps the lines after it', async () => {
    const workspace = freshWorkspace();
    const writer = await openWriter(workspace);
    const feed = new WorkspaceRunCatalog([workspace], { feedPollMs: 20 }).feed(writer.paths.runId);
    const { seen, listener } = recorder();
    const subscription = feed.subscribe(listener);
    cleanups.push(() => subscription.dispose());
    await feed.decide({ type: 'accept', item_id: 'x' });
    appendFileSync(writer.paths.decisions, '{"v":1,"type":"veto"\n');
    await feed.decide({ type: 'veto', item_id: 'x' });
    await waitFor('both good decisions', () => seen.decisions.length === 2);
    await waitFor('the problem', () => seen.problems.length === 1);
    assert.match(seen.problems[0]!, new RegExp(`^${escape(writer.paths.decisions)}:2: invalid JSON`));
    assert.deepEqual(seen.decisions.map((record) => record.location.line), [1, 3]);
  });

  it('starts over after a log is replaced, and stops reading once disposed', async () => {
    const workspace = freshWorkspace();
    const writer = await openWriter(workspace);
    const feed = new WorkspaceRunCatalog([workspace], { feedPollMs: 20 }).feed(writer.paths.runId);
    await feed.decide({ type: 'accept', item_id: 'x' });
    await feed.decide({ type: 'veto', item_id: 'y' });
    const { seen, listener } = recorder();
    const subscription = feed.subscribe(listener);
    await waitFor('the decisions', () => seen.decisions.length === 2);

    const [kept] = seen.decisions;
    writeFileSync(writer.paths.decisions, `${JSON.stringify(kept!.value)}\n`);
    await waitFor('the reset', () => seen.resets === 1 && seen.decisions.length === 1);
    assert.equal(seen.events.length, 1, 'after a reset the events are delivered again too');
    assert.equal(seen.order.indexOf('reset'), seen.order.length - 3);

    subscription.dispose();
    await new Promise((resolve) => setTimeout(resolve, 50));
    const delivered = seen.order.length;
    await feed.decide({ type: 'veto', item_id: 'z' });
    await new Promise((resolve) => setTimeout(resolve, 150));
    assert.equal(seen.order.length, delivered);
  });
});

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
