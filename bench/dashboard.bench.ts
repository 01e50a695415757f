// The dashboard at 100,000 items: what one live update costs while a run writes events.
//
// 1. Host (src/extension/dashboard/runModel.ts): a batch of events touching 16 items (new items voted, a
//    decision) in a pool of 100k. Measured: folding the batch and building the delta message (`takeChanges`)
//    against the baseline of re-sending the whole pool per batch (`allRows`): time and JSON bytes posted.
// 2. Page (webview/src/poolView.ts): applying that delta to the filtered, sorted view of 100k rows
//    (binary-search placement) against the baseline of re-filtering and re-sorting every row per delta,
//    for three queries (generation order; agreement descending; a search with a status filter).
// Run: node --import tsx bench/dashboard.bench.ts [ITEMS]   (default 100000)
import { DashboardRunModel } from '../src/extension/dashboard/runModel';
import { defaultRunConfig } from '../src/core/config';
import { createRng } from '../src/core/random';
import { stampRunEvent, summarizeRunConfig, type Decision, type LogRecord, type RunEvent, type RunEventInput } from '../src/protocol/events';
import type { PoolRow } from '../src/protocol/dashboard';
import { DEFAULT_QUERY, PoolView, type PoolQuery } from '../webview/src/poolView';

const ITEMS = Number(process.argv[2] ?? 100_000);
const DELTAS = 100;
const CHANGED_PER_DELTA = 16;
const rng = createRng(11);

let line = 0;
function record(event: RunEventInput): LogRecord<RunEvent> {
  line += 1;
  return { value: stampRunEvent(event), location: { file: 'events.jsonl', line, offset: line * 100, length: 99 } };
}

const WORDS = ['apples', 'train', 'speed', 'triangle', 'sum', 'product', 'divisors', 'prime', 'circle', 'area', 'ratio', 'average'];
function itemEvents(index: number): LogRecord<RunEvent>[] {
  const id = `s${1 + Math.floor(index / 64)}-${index % 64}`;
  const step = 1 + Math.floor(index / 64);
  const text = `Problem ${index}: the ${rng.pick(WORDS)} and the ${rng.pick(WORDS)} give ${rng.int(1000)}; what is the ${rng.pick(WORDS)}?`;
  const events = [record({ type: 'item-generated', item_id: id, step, text, origin: { kind: 'self-instruct', prompt_id: `p${step}`, sources: [{ kind: 'seed', index: rng.int(500) }] } })];
  if (rng.int(4) === 0) {
    events.push(record({ type: 'item-filtered', item_id: id, reason: 'too-short', detail: 'at most 3 words' }));
    return events;
  }
  const agree = 1 + rng.int(16);
  const status = agree <= 3 ? 'too-hard' : agree >= 13 ? 'too-easy' : 'kept';
  events.push(
    record({
      type: 'item-voted',
      item_id: id,
      step,
      reward_source: 'majority',
      majority: String(index),
      agreement: agree / 16,
      groups: [{ answer: String(index), count: agree, members: Array.from({ length: agree }, (_, i) => i) }],
      responses: Array.from({ length: 16 }, (_, i) => ({ text: `r${i}`, answer: i < agree ? String(index) : null, reward: i < agree ? 1 : 0, tokens: 20, finish_reason: 'stop' as const })),
      difficulty: { status, detail: `agreement ${(agree / 16).toFixed(2)}` },
    }),
  );
  return events;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

function fmt(ms: number): string {
  return ms < 1 ? `${(ms * 1000).toFixed(0)} µs` : `${ms.toFixed(2)} ms`;
}

// ---------------------------------------------------------------------------------------------------------
// Host

const config = defaultRunConfig();
config.curation.mode = 'review';
const started = record({ type: 'run-started', run_id: 'bench', pid: 1, hostname: 'bench', config: summarizeRunConfig(config) });
const model = new DashboardRunModel('bench', async () => []);
const baseline = new DashboardRunModel('bench', async () => []);
const initial = [started, ...Array.from({ length: ITEMS }, (_, i) => itemEvents(i)).flat()];
model.applyEvents(initial);
baseline.applyEvents(initial);
model.allRows();
let next = ITEMS;
let decisionCount = 0;

/** A batch as a live run writes it: 15 new items and one decision on an existing item. */
function liveBatch(): { events: LogRecord<RunEvent>[]; decisions: LogRecord<Decision>[] } {
  const events = Array.from({ length: CHANGED_PER_DELTA - 1 }, () => itemEvents(next++)).flat();
  const target = rng.int(next);
  const decision: Decision = {
    v: 1,
    ts: new Date().toISOString(),
    decision_id: `00000000-0000-4000-8000-${String(++decisionCount).padStart(12, '0')}`,
    item_id: `s${1 + Math.floor(target / 64)}-${target % 64}`,
    type: 'veto',
  };
  return { events, decisions: [{ value: decision, location: { file: 'decisions.jsonl', line: decisionCount, offset: 0, length: 1 } }] };
}

const deltaTimes: number[] = [];
const fullTimes: number[] = [];
let deltaBytes = 0;
let fullBytes = 0;
const deltas: { upserts: PoolRow[]; removed: string[] }[] = [];
for (let i = 0; i < DELTAS; i++) {
  const batch = liveBatch();
  let start = performance.now();
  model.applyEvents(batch.events);
  model.applyDecisions(batch.decisions);
  const changes = model.takeChanges();
  const deltaJson = JSON.stringify({ type: 'pool-rows', runId: 'bench', ...changes, total: model.size });
  deltaTimes.push(performance.now() - start);
  deltaBytes += deltaJson.length;
  deltas.push(changes);

  // Baseline only every 20th batch: re-sending 100k rows is slow.
  baseline.applyEvents(batch.events);
  baseline.applyDecisions(batch.decisions);
  if (i % 20 === 0) {
    start = performance.now();
    const fullJson = JSON.stringify({ type: 'pool-rows', runId: 'bench', upserts: baseline.allRows(), removed: [], total: baseline.size });
    fullTimes.push(performance.now() - start);
    fullBytes = fullJson.length;
  }
}
console.log(`host: ${ITEMS.toLocaleString('en-US')} items, batches touching ${CHANGED_PER_DELTA} items (${DELTAS} batches)`);
console.log(`  delta (fold + takeChanges + JSON)   median ${fmt(median(deltaTimes))}, ${Math.round(deltaBytes / DELTAS).toLocaleString('en-US')} bytes per message`);
console.log(`  baseline: whole pool per batch       median ${fmt(median(fullTimes))}, ${fullBytes.toLocaleString('en-US')} bytes per message`);
console.log(`  ratio: ${(median(fullTimes) / median(deltaTimes)).toFixed(0)}× less time, ${(fullBytes / (deltaBytes / DELTAS)).toFixed(0)}× fewer bytes`);

// ---------------------------------------------------------------------------------------------------------
// Page

const allRows = model.allRows();
const queries: [string, PoolQuery][] = [
  ['generation order', DEFAULT_QUERY],
  ['agreement, descending', { ...DEFAULT_QUERY, sort: 'agreement', descending: true }],
  ['search "train" + status kept', { ...DEFAULT_QUERY, status: 'kept', search: 'train' }],
];
console.log(`page: a view of ${allRows.length.toLocaleString('en-US')} rows, the same ${DELTAS} deltas`);
for (const [name, query] of queries) {
  const view = new PoolView();
  view.setQuery(query);
  const base = allRows.filter((row) => !deltas.some((delta) => delta.upserts.some((changed) => changed.id === row.id)));
  view.apply(base);
  const incremental: number[] = [];
  for (const delta of deltas) {
    const start = performance.now();
    view.apply(delta.upserts, delta.removed);
    incremental.push(performance.now() - start);
  }
  // Baseline: the same deltas, each followed by re-filtering and re-sorting everything (setQuery rebuilds).
  const naive = new PoolView();
  naive.setQuery(query);
  naive.apply(base);
  const rebuilt: number[] = [];
  for (const delta of deltas) {
    const start = performance.now();
    naive.apply(delta.upserts, delta.removed);
    naive.setQuery(query);
    rebuilt.push(performance.now() - start);
  }
  if (view.ids().join() !== naive.ids().join()) throw new Error(`${name}: incremental and rebuilt views differ`);
  console.log(
    `  ${name.padEnd(30)} delta median ${fmt(median(incremental))}   rebuild median ${fmt(median(rebuilt))}   ratio ${(median(rebuilt) / median(incremental)).toFixed(0)}×   (${view.length.toLocaleString('en-US')} shown, views identical)`,
  );
}
