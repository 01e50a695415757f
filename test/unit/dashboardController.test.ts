// The dashboard's host side over real run folders: rows in chunks then deltas, metrics, item detail read
// back from events.jsonl, decisions appended to decisions.jsonl through the feed, and every message it
// posts valid against the protocol.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, describe, it } from 'node:test';
import { WorkspaceRunCatalog } from '../../src/engine/runFeed';
import { RunWriter } from '../../src/engine/runStore';
import { DashboardController, type DashboardUi } from '../../src/extension/dashboard/controller';
import { cachedSeedTexts } from '../../src/extension/dashboard/runModel';
import { parseHostMessage, type HostMessage, type HostMessageOf, type PoolRow } from '../../src/protocol/dashboard';
import { createTestRun, emitRejectedItem, emitVotedItem, SEED_TEXTS } from './dashboardRunFolder';

const root = mkdtempSync(join(tmpdir(), 'serl-dashboard-'));
after(() => rmSync(root, { recursive: true, force: true }));
let workspaces = 0;

/** What a test sees of the page: every message the controller posted (each checked against the protocol). */
class Page {
  readonly messages: HostMessage[] = [];
  readonly rows = new Map<string, PoolRow>();

  post = (message: HostMessage): boolean => {
    const parsed = parseHostMessage(JSON.parse(JSON.stringify(message)));
    if (!parsed.ok) throw new Error(`the host posted an invalid message: ${parsed.error}`);
    this.messages.push(parsed.value);
    if (message.type === 'pool-reset') this.rows.clear();
    if (message.type === 'pool-rows') {
      message.upserts.forEach((row) => this.rows.set(row.id, row));
      message.removed.forEach((id) => this.rows.delete(id));
    }
    return true;
  };

  of<Type extends HostMessage['type']>(type: Type): HostMessageOf<Type>[] {
    return this.messages.filter((message): message is HostMessageOf<Type> => message.type === type);
  }
}

/** The user: answers the host's questions as the test says, and records them. */
class User implements DashboardUi {
  confirmations: string[] = [];
  confirmAnswer = true;
  answer: string | undefined = '42';
  panels: (string | null)[] = [];
  async confirm(message: string) {
    this.confirmations.push(message);
    return this.confirmAnswer;
  }
  async askAnswer() {
    return this.answer;
  }
  openPanel(runId: string | null) {
    this.panels.push(runId);
  }
  /** Cancels a long task after this many steps (null: never). */
  cancelAfter: number | null = null;
  progressTitles: string[] = [];
  async withProgress(title: string, _total: number, task: (step: () => boolean) => Promise<void>) {
    this.progressTitles.push(title);
    let steps = 0;
    await task(() => this.cancelAfter !== null && ++steps >= this.cancelAfter);
  }
}

class Log {
  readonly lines: string[] = [];
  info = (message: string) => void this.lines.push(`info ${message}`);
  warn = (message: string) => void this.lines.push(`warn ${message}`);
  error = (message: string) => void this.lines.push(`error ${message}`);
}

async function waitFor(what: string, condition: () => boolean): Promise<void> {
  // A generous bound: the follower polls every 10 ms; this only keeps a broken test from hanging.
  for (let waited = 0; !condition(); waited += 10) {
    if (waited > 20_000) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

const open: { controller: DashboardController; catalog: WorkspaceRunCatalog; writer: RunWriter | null }[] = [];
afterEach(async () => {
  for (const { controller, catalog, writer } of open.splice(0)) {
    controller.dispose();
    catalog.dispose();
    await writer?.close();
  }
});

async function setUp(options: { review?: boolean; chunkRows?: number } = {}) {
  const workspace = join(root, `ws-${workspaces++}`);
  const writer = await createTestRun(workspace, 'run-a', options);
  // The run manager's catalog, following the logs every 10 ms.
  const catalog = new WorkspaceRunCatalog([workspace], { feedPollMs: 10 });
  await catalog.refresh();
  const page = new Page();
  const user = new User();
  const log = new Log();
  const controller = new DashboardController({
    catalog,
    post: page.post,
    ui: user,
    log,
    seedTexts: cachedSeedTexts(),
    chunkRows: options.chunkRows ?? 2000,
    flushMs: 5,
  });
  const handle = { controller, catalog, writer: writer as RunWriter | null };
  open.push(handle);
  return { workspace, writer, catalog, page, user, log, controller, handle };
}

function decisionLines(workspace: string): Record<string, unknown>[] {
  const file = join(workspace, '.serl', 'runs', 'run-a', 'decisions.jsonl');
  let text = '';
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return [];
  }
  return text
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line));
}

describe('DashboardController', () => {
  it('sends the pool in chunks, then only what changed', async () => {
    const { writer, page, controller } = await setUp({ chunkRows: 2 });
    emitVotedItem(writer, 's1-0', 1, 'What is 6 times 7?', ['42', '42', '41', '42']);
    emitVotedItem(writer, 's1-1', 1, 'What is 1 + 1?', ['2', '2', '2', '2'], { status: 'too-easy' });
    emitVotedItem(writer, 's1-2', 1, 'Prove the Riemann hypothesis.', ['1', '2', '3', null], { status: 'too-hard' });
    emitRejectedItem(writer, 's1-3', 1, 'Draw it');
    writer.emit({ type: 'item-generated', item_id: 's1-4', step: 1, text: 'What is 9 squared?', origin: { kind: 'seed', seed_index: 1 } });
    await controller.receive({ type: 'ready', runId: null });
    await waitFor('5 rows', () => page.rows.size === 5);

    const chunks = page.of('pool-rows');
    assert.ok(chunks.length >= 3, `5 rows in chunks of 2: ${chunks.length} messages`);
    assert.ok(chunks.every((chunk) => chunk.upserts.length <= 2));
    assert.equal(chunks.at(-1)!.total, 5);
    const row = (id: string) => page.rows.get(id)!;
    assert.deepEqual(
      [...page.rows.values()].sort((a, b) => a.seq - b.seq).map((r) => [r.id, r.seq, r.stage, r.review, r.reason]),
      [
        ['s1-0', 0, 'kept', null, null],
        ['s1-1', 1, 'too-easy', null, 'too-easy'],
        ['s1-2', 2, 'too-hard', null, 'too-hard'],
        ['s1-3', 3, 'rule-rejected', null, 'too-short'],
        ['s1-4', 4, 'candidate', null, null],
      ],
    );
    assert.equal(row('s1-0').agreement, 0.75);
    assert.equal(row('s1-0').majority, '42');
    assert.equal(row('s1-3').detail, 'at most 3 words');
    assert.deepEqual(page.of('runs')[0].runs.map((run) => run.runId), ['run-a']);
    assert.equal(page.of('run-header').at(-1)!.header!.mode, 'serl');

    // A new item and a step: one row and one step point, not the pool again.
    const before = page.messages.length;
    emitVotedItem(writer, 's2-0', 2, 'What is 3 cubed?', ['27', '27', '9', '9', '27']);
    writer.emit({
      type: 'step-metrics',
      step: 1,
      generated: 5,
      voted: 3,
      kept: 1,
      trained: 0,
      filtered_by_reason: { 'too-short': 1, 'too-easy': 1, 'too-hard': 1 },
      reward_mean: 0.75,
      agreement_mean: 0.6,
      loss: 0.1,
      kl: 0.001,
      entropy: 1.2,
      grad_norm: 0.5,
      lr: 5e-7,
      response_length: 120,
      tokens_per_s: 900,
      step_seconds: 3,
      all_equal_share: 0.33,
      label_accuracy: null,
      eval: { dataset: 'test', problems: 10, samples_per_problem: 1, accuracy: 0.4 },
    });
    writer.emit({ type: 'alert', step: 1, kind: 'collapse', detail: 'entropy fell', metrics: { entropy: 0.01 } });
    await waitFor('the delta', () => page.rows.has('s2-0') && page.of('metrics').some((m) => m.steps.length > 0));
    const delta = page.messages.slice(before).filter((m): m is HostMessageOf<'pool-rows'> => m.type === 'pool-rows');
    assert.deepEqual(delta.flatMap((m) => m.upserts.map((r) => r.id)), ['s2-0']);
    const metrics = page.of('metrics').filter((m) => m.steps.length > 0).at(-1)!;
    assert.equal(metrics.replace, false);
    assert.deepEqual(metrics.steps.map((p) => [p.step, p.rewardMean, p.evalAccuracy, p.filteredByReason['too-short']]), [[1, 0.75, 0.4, 1]]);
    await waitFor('the alert', () => page.of('metrics').some((m) => m.alerts.length > 0));
    assert.deepEqual(page.of('metrics').flatMap((m) => m.alerts), [{ step: 1, kind: 'collapse', detail: 'entropy fell' }]);
  });

  it('sends everything again when the page reloads (ready), keeping the run it shows', async () => {
    const { writer, page, controller } = await setUp();
    emitVotedItem(writer, 's1-0', 1, 'What is 6 times 7?', ['42', '42', '41', '42']);
    await controller.receive({ type: 'ready', runId: null });
    await waitFor('the row', () => page.rows.size === 1);
    page.messages.length = 0;
    await controller.receive({ type: 'ready', runId: 'no-such-run' });
    assert.deepEqual(
      page.messages.map((m) => m.type),
      ['runs', 'pool-reset', 'pool-rows', 'run-header', 'metrics'],
    );
    assert.equal(page.rows.size, 1);
  });

  it('marks kept items awaiting review in review mode; decisions go to decisions.jsonl and come back as rows', async () => {
    const { workspace, writer, page, user, controller } = await setUp({ review: true });
    emitVotedItem(writer, 's1-0', 1, 'What is 6 times 7?', ['42', '42', '41', '42']);
    emitVotedItem(writer, 's1-1', 1, 'What is 5 times 5?', ['25', '25', '20', '25']);
    emitVotedItem(writer, 's1-2', 1, 'What is 2 + 2?', ['4', '4', '4', '4'], { status: 'too-easy' });
    await controller.receive({ type: 'ready', runId: 'run-a' });
    await waitFor('3 rows', () => page.rows.size === 3);
    assert.equal(page.rows.get('s1-0')!.review, 'awaiting-review');
    assert.equal(page.rows.get('s1-2')!.review, null);

    // One item: no confirmation.
    await controller.receive({ type: 'decide', runId: 'run-a', requestId: 1, action: 'accept', itemIds: ['s1-0'], scope: '' });
    assert.deepEqual(user.confirmations, []);
    await waitFor('accepted row', () => page.rows.get('s1-0')!.review === 'accepted');

    // A bulk veto the user declines writes nothing.
    user.confirmAnswer = false;
    await controller.receive({ type: 'decide', runId: 'run-a', requestId: 2, action: 'veto', itemIds: ['s1-1', 's1-2'], scope: 'status: kept' });
    assert.match(user.confirmations[0], /Veto 2 items of run run-a \(status: kept\)/);
    assert.deepEqual(page.of('decision-result').at(-1), { type: 'decision-result', requestId: 2, written: 0, cancelled: true, errors: [] });
    assert.equal(decisionLines(workspace).length, 1);

    // Confirmed, with an id that does not exist: the others are written, the unknown one reported.
    user.confirmAnswer = true;
    await controller.receive({ type: 'decide', runId: 'run-a', requestId: 3, action: 'veto', itemIds: ['s1-1', 's1-2', 'nope'], scope: '' });
    const result = page.of('decision-result').at(-1)!;
    assert.equal(result.written, 2);
    assert.deepEqual(result.errors, ['no item nope in run run-a']);
    assert.deepEqual(
      decisionLines(workspace).map((d) => [d.type, d.item_id]),
      [
        ['accept', 's1-0'],
        ['veto', 's1-1'],
        ['veto', 's1-2'],
      ],
    );
    await waitFor('vetoed rows', () => page.rows.get('s1-1')!.review === 'vetoed' && page.rows.get('s1-2')!.review === 'vetoed');

    // Cancelled after the first of two: one is written, and the reply says it was cut short.
    user.cancelAfter = 1;
    await controller.receive({ type: 'decide', runId: 'run-a', requestId: 6, action: 'accept', itemIds: ['s1-1', 's1-2'], scope: '' });
    assert.deepEqual(page.of('decision-result').at(-1), { type: 'decision-result', requestId: 6, written: 1, cancelled: true, errors: [] });
    assert.equal(user.progressTitles.at(-1), 'SeRL: accept 2 items');
    user.cancelAfter = null;
    await waitFor('re-accepted row', () => page.rows.get('s1-1')!.review === 'accepted');

    // Relabel: the host asks for the answer; an empty answer is a cancel.
    await controller.receive({ type: 'relabel', runId: 'run-a', requestId: 4, itemId: 's1-1' });
    await waitFor('relabelled row', () => page.rows.get('s1-1')!.label === '42');
    user.answer = '   ';
    await controller.receive({ type: 'relabel', runId: 'run-a', requestId: 5, itemId: 's1-1' });
    assert.equal(page.of('decision-result').at(-1)!.cancelled, true);
    assert.deepEqual(
      decisionLines(workspace).map((d) => d.type),
      ['accept', 'veto', 'veto', 'accept', 'relabel'],
    );
  });

  it('opens an item: responses grouped by answer with rewards, few-shot sources and the nearest seed', async () => {
    const { writer, page, controller } = await setUp();
    const payload = '<script>window.pwned=1</script><img src=x onerror="window.pwned=2">';
    emitVotedItem(writer, 's1-0', 1, `How many positive divisors does 36 have? ${payload}`, ['9', '9', null, '6'], {
      responseText: (i) => `${payload} response ${i}`,
    });
    emitVotedItem(writer, 's1-1', 1, 'What is the sum of 12 and 31?', ['43', '43'], { nearestSeed: { index: 0, score: 0.6 } });
    writer.emit({ type: 'item-trained', item_id: 's1-0', step: 1, reward_source: 'majority', rewards: [1, 1, 0, 0] });
    await controller.receive({ type: 'ready', runId: null });
    await waitFor('rows', () => page.rows.get('s1-0')?.stage === 'trained');

    await controller.receive({ type: 'open-item', runId: 'run-a', itemId: 's1-0', requestId: 7 });
    const reply = page.of('item-detail').at(-1)!;
    assert.equal(reply.error, null);
    const detail = reply.detail!;
    assert.equal(detail.row.text, `How many positive divisors does 36 have? ${payload}`);
    assert.deepEqual(detail.vote!.groups, [
      { answer: '9', count: 2, members: [0, 1] },
      { answer: '6', count: 1, members: [3] },
    ]);
    assert.deepEqual(detail.vote!.responses.map((r) => [r.answer, r.reward, r.trainedReward]), [
      ['9', 1, 1],
      ['9', 1, 1],
      [null, 0, 0],
      ['6', 0, 0],
    ]);
    assert.equal(detail.vote!.responses[2].text, `${payload} response 2`);
    assert.deepEqual(detail.origin, {
      kind: 'self-instruct',
      promptId: 'p1',
      sources: [
        { kind: 'seed', index: 0, text: SEED_TEXTS[0] },
        { kind: 'seed', index: 2, text: SEED_TEXTS[2] },
      ],
    });
    // The filter recorded no neighbour: the nearest seed is computed (ROUGE-L), here the divisor question.
    assert.equal(detail.nearestSeed!.seed.kind === 'seed' && detail.nearestSeed!.seed.index, 2);
    assert.equal(detail.nearestSeed!.recorded, false);
    assert.deepEqual(detail.trained, { step: 1, rewardSource: 'majority' });

    await controller.receive({ type: 'open-item', runId: 'run-a', itemId: 's1-1', requestId: 8 });
    const recorded = page.of('item-detail').at(-1)!.detail!;
    assert.deepEqual(recorded.nearestSeed, { seed: { kind: 'seed', index: 0, text: SEED_TEXTS[0] }, score: 0.6, recorded: true });

    await controller.receive({ type: 'open-item', runId: 'run-a', itemId: 'missing', requestId: 9 });
    assert.deepEqual(page.of('item-detail').at(-1)!.error, 'no item missing in run run-a');
  });

  it('rejects bad webview messages by name and field, and writes nothing', async () => {
    const { workspace, writer, page, log, controller } = await setUp();
    emitVotedItem(writer, 's1-0', 1, 'What is 6 times 7?', ['42', '42']);
    await controller.receive({ type: 'ready', runId: null });
    await waitFor('the row', () => page.rows.size === 1);
    await controller.receive({ type: 'decide', runId: 'run-a', requestId: 1, action: 'veto', itemIds: [], scope: '' });
    await controller.receive({ type: 'decide', runId: 'run-a', requestId: -1, action: 'delete', itemIds: ['s1-0'], scope: '' });
    await controller.receive({ type: 'write-file', path: '/etc/passwd' });
    await controller.receive('ready');
    const errors = log.lines.filter((line) => line.startsWith('error'));
    assert.equal(errors.length, 4);
    assert.match(errors[0], /decide: itemIds: /);
    assert.match(errors[1], /requestId: .*action: /s);
    assert.match(errors[2], /unknown message type "write-file"/);
    assert.match(errors[3], /not an object/);
    assert.deepEqual(decisionLines(workspace), []);
  });

  it('removes items a resume supersedes and replaces the metrics', async () => {
    const { workspace, writer, page, controller, handle } = await setUp();
    emitVotedItem(writer, 's1-0', 1, 'What is 6 times 7?', ['42', '42']);
    await controller.receive({ type: 'ready', runId: null });
    await waitFor('the row', () => page.rows.size === 1);
    const replacesBefore = page.of('metrics').filter((m) => m.replace).length;
    await writer.close();
    // No checkpoint: the resumed session starts from step 0 and supersedes step 1's items.
    const resumed = await RunWriter.open(workspace, 'run-a');
    handle.writer = resumed;
    resumed.startSession();
    await waitFor('the removal', () => page.rows.size === 0);
    assert.ok(page.of('pool-rows').some((m) => m.removed.includes('s1-0')));
    await waitFor('replaced metrics', () => page.of('metrics').filter((m) => m.replace).length > replacesBefore);
  });

  it('stops following the run when disposed', async () => {
    const { writer, page, controller } = await setUp();
    await controller.receive({ type: 'ready', runId: null });
    await waitFor('the reset', () => page.of('pool-reset').length === 1);
    controller.dispose();
    const count = page.messages.length;
    emitVotedItem(writer, 's1-0', 1, 'What is 6 times 7?', ['42', '42']);
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.equal(page.messages.length, count);
  });
});
