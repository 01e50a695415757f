// Pool rows as the dashboard shows them, from core/pool.ts's fold: stage, review state, reason and detail.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { defaultRunConfig } from '../../src/core/config';
import { DashboardRunModel } from '../../src/extension/dashboard/runModel';
import { stampRunEvent, summarizeRunConfig, type Decision, type DecisionInput, type LogRecord, type RunEvent, type RunEventInput } from '../../src/protocol/events';

let line = 0;
const at = (file: string) => ({ file, line: ++line, offset: line * 10, length: 9 });
const event = (input: RunEventInput): LogRecord<RunEvent> => ({ value: stampRunEvent(input), location: at('events.jsonl') });
let decisions = 0;
const decision = (input: DecisionInput): LogRecord<Decision> => ({
  value: { v: 1, ts: '2026-11-25T14:30:00.000Z', decision_id: `00000000-0000-4000-8000-${String(++decisions).padStart(12, '0')}`, ...input } as Decision,
  location: at('decisions.jsonl'),
});

function started(review: boolean): LogRecord<RunEvent> {
  const config = defaultRunConfig();
  config.curation.mode = review ? 'review' : 'auto';
  return event({ type: 'run-started', run_id: 'r', pid: 1, hostname: 'h', config: summarizeRunConfig(config) });
}

const generated = (id: string) =>
  event({ type: 'item-generated', item_id: id, step: 1, text: `text of ${id}`, origin: { kind: 'self-instruct', prompt_id: 'p', sources: [] } });

const voted = (id: string, status: 'kept' | 'too-easy' | 'too-hard') =>
  event({
    type: 'item-voted',
    item_id: id,
    step: 1,
    reward_source: 'majority',
    majority: '7',
    agreement: 0.5,
    groups: [{ answer: '7', count: 1, members: [0] }],
    responses: [{ text: '\\boxed{7}', answer: '7', reward: 1, tokens: 3, finish_reason: 'stop' }],
    difficulty: { status, detail: `${status} detail` },
  });

describe('pool rows', () => {
  it('splits filtered items into rule-rejected and duplicate, and carries each verdict', () => {
    const model = new DashboardRunModel('r', async () => []);
    model.applyEvents([
      started(false),
      generated('a'),
      event({ type: 'item-filtered', item_id: 'a', reason: 'blocked-keyword', detail: 'names a graph' }),
      generated('b'),
      event({ type: 'item-filtered', item_id: 'b', reason: 'duplicate', detail: 'ROUGE-L 0.81 with seed 3', nearest: { pool: 'seed', ref: { kind: 'seed', index: 3 }, score: 0.81 } }),
      generated('c'),
      event({ type: 'item-filtered', item_id: 'c', reason: 'similar-to-vetoed', detail: 'ROUGE-L 0.9 with vetoed item x' }),
      generated('d'),
      voted('d', 'too-easy'),
      generated('e'),
      voted('e', 'kept'),
      event({ type: 'item-trained', item_id: 'e', step: 1, reward_source: 'majority', rewards: [1] }),
      generated('f'),
    ]);
    const rows = model.allRows().map((row) => [row.id, row.seq, row.stage, row.review, row.reason, row.detail, row.agreement]);
    assert.deepEqual(rows, [
      ['a', 0, 'rule-rejected', null, 'blocked-keyword', 'names a graph', null],
      ['b', 1, 'duplicate', null, 'duplicate', 'ROUGE-L 0.81 with seed 3', null],
      ['c', 2, 'duplicate', null, 'similar-to-vetoed', 'ROUGE-L 0.9 with vetoed item x', null],
      ['d', 3, 'too-easy', null, 'too-easy', 'too-easy detail', 0.5],
      ['e', 4, 'trained', null, null, 'kept detail', 0.5],
      ['f', 5, 'candidate', null, null, '', null],
    ]);
  });

  it('shows decisions: awaiting review only in review mode, the veto reason, the latest relabel; a decision before its item waits for it', () => {
    const review = new DashboardRunModel('r', async () => []);
    review.applyEvents([started(true), generated('a'), voted('a', 'kept'), generated('b'), voted('b', 'kept')]);
    review.applyDecisions([decision({ type: 'veto', item_id: 'b', reason: 'ambiguous wording' }), decision({ type: 'relabel', item_id: 'a', answer: '8' }), decision({ type: 'relabel', item_id: 'a', answer: '9' }), decision({ type: 'accept', item_id: 'z' })]);
    const [a, b] = review.allRows();
    assert.deepEqual([a.review, a.label, a.majority], ['awaiting-review', '9', '7']);
    assert.deepEqual([b.review, b.detail], ['vetoed', 'ambiguous wording']);
    assert.deepEqual(review.takeChanges(), { upserts: [], removed: [] });
    review.applyEvents([generated('z')]);
    assert.deepEqual(review.takeChanges().upserts.map((row) => [row.id, row.review]), [['z', 'accepted']]);

    const auto = new DashboardRunModel('r', async () => []);
    auto.applyEvents([started(false), generated('a'), voted('a', 'kept')]);
    assert.equal(auto.allRows()[0].review, null);
  });
});
