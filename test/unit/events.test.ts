import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { defaultRunConfig } from '../../src/core/config';
import {
  itemIdFor,
  parseDecision,
  parseRunEvent,
  stampRunEvent,
  summarizeRunConfig,
  type ItemVoted,
  type RunEvent,
} from '../../src/protocol/events';

const TS = '2026-11-25T14:30:00.000Z';

function voted(overrides: Partial<ItemVoted> = {}): ItemVoted {
  return {
    v: 1,
    ts: TS,
    type: 'item-voted',
    item_id: 's1-0',
    step: 1,
    reward_source: 'majority',
    majority: '4',
    agreement: 2 / 3,
    groups: [
      { answer: '4', count: 2, members: [0, 2] },
      { answer: '5', count: 1, members: [1] },
    ],
    responses: [
      { text: '2+2=\\boxed{4}', answer: '4', reward: 1, tokens: 7, finish_reason: 'stop' },
      { text: '\\boxed{5}', answer: '5', reward: 0, tokens: 4, finish_reason: 'stop' },
      { text: 'so \\boxed{4}', answer: '4', reward: 1, tokens: 5, finish_reason: 'eos' },
    ],
    difficulty: { status: 'kept', detail: 'agreement 0.6667 within [0.2, 0.8]' },
    ...overrides,
  };
}

function parseError(value: unknown): string {
  const result = parseRunEvent(value);
  assert.equal(result.ok, false, `expected a parse error for ${JSON.stringify(value)}`);
  return (result as { error: string }).error;
}

describe('parseRunEvent', () => {
  it('accepts every kind of event and keeps their fields', () => {
    const events: RunEvent[] = [
      {
        v: 1,
        ts: TS,
        type: 'run-started',
        run_id: 'r',
        pid: 42,
        hostname: 'box',
        config: summarizeRunConfig(defaultRunConfig()),
        resumed_from: { step: 3, checkpoint_dir: 'checkpoints/step-000003' },
      },
      {
        v: 1,
        ts: TS,
        type: 'item-generated',
        item_id: 's1-0',
        step: 1,
        text: 'What is 2+2?',
        origin: { kind: 'self-instruct', prompt_id: 'p0', sources: [{ kind: 'seed', index: 3 }, { kind: 'item', item_id: 's0-1' }] },
      },
      {
        v: 1,
        ts: TS,
        type: 'item-filtered',
        item_id: 's1-1',
        reason: 'duplicate',
        detail: 'ROUGE-L 0.9 > 0.7 against a seed',
        nearest: { pool: 'seed', ref: { kind: 'seed', index: 0 }, score: 0.9 },
      },
      voted(),
      { v: 1, ts: TS, type: 'item-trained', item_id: 's1-0', step: 1, reward_source: 'relabel', rewards: [1, 0, 1] },
      {
        v: 1,
        ts: TS,
        type: 'step-metrics',
        step: 1,
        generated: 10,
        voted: 6,
        kept: 3,
        trained: 3,
        filtered_by_reason: { duplicate: 2, 'too-easy': 3, 'too-long': 1 },
        reward_mean: 0.5,
        agreement_mean: 0.6,
        loss: 0.1,
        kl: null,
        entropy: 1.2,
        grad_norm: 0.3,
        lr: 5e-7,
        response_length: 120,
        tokens_per_s: 900,
        step_seconds: 4.5,
        all_equal_share: 0.1,
        label_accuracy: null,
        eval: { dataset: 'test.jsonl', problems: 500, samples_per_problem: 1, accuracy: 0.61 },
      },
      { v: 1, ts: TS, type: 'alert', step: 1, kind: 'collapse', detail: 'entropy fell', metrics: { entropy: 0.01 } },
      { v: 1, ts: TS, type: 'checkpoint', step: 1, dir: 'checkpoints/step-000001', rng: [1, 2, 3, 4] },
      { v: 1, ts: TS, type: 'error', message: 'worker exited', fatal: true },
      { v: 1, ts: TS, type: 'run-finished', status: 'failed', detail: 'worker exited' },
    ];
    for (const event of events) assert.deepEqual(parseRunEvent(JSON.parse(JSON.stringify(event))), { ok: true, value: event });
  });

  it('accepts a seed item with its reference answer', () => {
    const event = {
      v: 1,
      ts: TS,
      type: 'item-generated',
      item_id: 's2-4',
      step: 2,
      text: 'Compute 3*7.',
      origin: { kind: 'seed', seed_index: 17, answer: '21' },
    };
    assert.equal(parseRunEvent(event).ok, true);
  });

  it('names the format version it reads', () => {
    assert.match(parseError({ ...voted(), v: 2 }), /format version v=2; this SeRL Studio reads v=1/);
    assert.match(parseError({ type: 'alert' }), /no format version "v"/);
  });

  it('names an unknown event type and lists the known ones', () => {
    assert.match(parseError({ v: 1, ts: TS, type: 'item-exploded' }), /unknown event type "item-exploded" \(known: run-started, .*run-finished\)/);
  });

  it('names the event type and the field that is wrong', () => {
    assert.equal(parseError({ ...voted(), agreement: 1.5 }).split(':').slice(0, 2).join(':'), 'item-voted: agreement');
    assert.match(parseError({ ...voted(), responses: [] }), /^item-voted: responses: /);
    assert.match(parseError({ ...voted(), ts: 'yesterday' }), /^item-voted: ts: /);
    assert.match(parseError({ ...voted(), difficulty: { status: 'boring', detail: '' } }), /item-voted: difficulty\.status: /);
    assert.match(parseError('not an object'), /not a JSON object/);
  });

  it('checks that vote groups agree with the responses', () => {
    const badCount = voted({ groups: [{ answer: '4', count: 3, members: [0, 2] }] });
    assert.match(parseError(badCount), /item-voted: groups\[0\]\.count: is 3 but the group has 2 members/);
    const missingResponse = voted({ groups: [{ answer: '4', count: 1, members: [7] }] });
    assert.match(parseError(missingResponse), /groups\[0\]\.members\[0\]: response 7 does not exist \(3 responses\)/);
  });

  it('refuses a filter reason that belongs to the vote', () => {
    const filtered = { v: 1, ts: TS, type: 'item-filtered', item_id: 'a', reason: 'too-easy', detail: '' };
    assert.match(parseError(filtered), /^item-filtered: reason: /);
  });

  it('ignores fields a later v1 writer may add', () => {
    const result = parseRunEvent({ ...voted(), shiny_new_field: 1 });
    assert.equal(result.ok, true);
    assert.equal('shiny_new_field' in (result as { value: object }).value, false);
  });
});

describe('parseDecision', () => {
  const id = '0b7c9f3e-8a51-4c1e-9d2a-4f5e6a7b8c9d';

  it('accepts accept, veto and relabel', () => {
    for (const decision of [
      { v: 1, ts: TS, decision_id: id, item_id: 'a', type: 'accept' },
      { v: 1, ts: TS, decision_id: id, item_id: 'a', type: 'veto', reason: 'needs a diagram' },
      { v: 1, ts: TS, decision_id: id, item_id: 'a', type: 'relabel', answer: '\\frac{1}{2}' },
    ]) {
      assert.deepEqual(parseDecision(decision), { ok: true, value: decision });
    }
  });

  it('refuses a decision without a UUID, an empty relabel, or an unknown kind', () => {
    const base = { v: 1, ts: TS, item_id: 'a' };
    assert.match((parseDecision({ ...base, decision_id: '7', type: 'accept' }) as { error: string }).error, /^accept: decision_id: /);
    assert.match((parseDecision({ ...base, decision_id: id, type: 'relabel', answer: '  ' }) as { error: string }).error, /^relabel: answer: /);
    assert.match((parseDecision({ ...base, decision_id: id, type: 'like' }) as { error: string }).error, /unknown decision type "like"/);
  });
});

describe('stampRunEvent', () => {
  it('adds the version and the time', () => {
    const event = stampRunEvent({ type: 'run-finished', status: 'completed' }, new Date(TS));
    assert.deepEqual(event, { v: 1, ts: TS, type: 'run-finished', status: 'completed' });
    assert.equal(parseRunEvent(event).ok, true);
  });
});

describe('summarizeRunConfig', () => {
  it('records the settings that identify a run', () => {
    const config = defaultRunConfig();
    const summary = summarizeRunConfig({ ...config, mode: 'majority', max_steps: 20, curation: { mode: 'review' } });
    assert.equal(summary.mode, 'majority');
    assert.equal(summary.max_steps, 20);
    assert.equal(summary.curation, 'review');
    assert.deepEqual(summary.reward_difficulty_bounds, [0.2, 0.8]);
    assert.deepEqual(summary.model, { kind: 'hf', path: 'meta-llama/Llama-3.2-3B-Instruct' });
    assert.equal('max_steps' in summarizeRunConfig(config), false);
  });
});

describe('itemIdFor', () => {
  it('never gives a resumed session the id an earlier session used', () => {
    assert.equal(itemIdFor(0, 3, 17), 's3-17');
    assert.equal(itemIdFor(2, 3, 17), 's3-17-r2');
    const ids = new Set([0, 1, 2].flatMap((session) => [1, 2].flatMap((step) => [0, 1].map((i) => itemIdFor(session, step, i)))));
    assert.equal(ids.size, 12);
  });
});
