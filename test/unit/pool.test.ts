import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { defaultRunConfig } from '../../src/core/config';
import { foldRun, itemStage, RunPool } from '../../src/core/pool';
import {
  itemIdFor,
  stampRunEvent,
  summarizeRunConfig,
  type Decision,
  type DecisionInput,
  type LogRecord,
  type RunEvent,
  type RunEventInput,
} from '../../src/protocol/events';

/** Builds the two logs of a run the way the run store reads them back. */
class RunLogs {
  readonly events: LogRecord<RunEvent>[] = [];
  readonly decisions: LogRecord<Decision>[] = [];
  private decisionCount = 0;

  event(event: RunEventInput): LogRecord<RunEvent> {
    const record = { value: stampRunEvent(event), location: location('events.jsonl', this.events.length + 1) };
    this.events.push(record);
    return record;
  }

  decision(input: DecisionInput, decisionId = uuid(++this.decisionCount)): LogRecord<Decision> {
    const value = { v: 1, ts: '2026-11-25T14:30:00.000Z', decision_id: decisionId, ...input } as Decision;
    const record = { value, location: location('decisions.jsonl', this.decisions.length + 1) };
    this.decisions.push(record);
    return record;
  }

  started(options: { review?: boolean; resumedFrom?: { step: number; checkpoint_dir: string | null } } = {}): void {
    const config = defaultRunConfig();
    if (options.review) config.curation.mode = 'review';
    this.event({
      type: 'run-started',
      run_id: 'run',
      pid: 1,
      hostname: 'box',
      config: summarizeRunConfig(config),
      ...(options.resumedFrom ? { resumed_from: options.resumedFrom } : {}),
    });
  }

  generated(itemId: string, step: number, text = `Problem ${itemId}: what is 2+2?`): void {
    this.event({
      type: 'item-generated',
      item_id: itemId,
      step,
      text,
      origin: { kind: 'self-instruct', prompt_id: `p${step}`, sources: [{ kind: 'seed', index: 0 }] },
    });
  }

  voted(itemId: string, step: number, agreement: number): void {
    const status = agreement > 0.8 ? 'too-easy' : agreement < 0.2 ? 'too-hard' : 'kept';
    this.event({
      type: 'item-voted',
      item_id: itemId,
      step,
      reward_source: 'majority',
      majority: '4',
      agreement,
      groups: [{ answer: '4', count: 1, members: [0] }],
      responses: [{ text: '\\boxed{4}', answer: '4', reward: 1, tokens: 3, finish_reason: 'stop' }],
      difficulty: { status, detail: `agreement ${agreement}` },
    });
  }

  trained(itemId: string, step: number): void {
    this.event({ type: 'item-trained', item_id: itemId, step, reward_source: 'majority', rewards: [1] });
  }

  stepDone(step: number, checkpoint = false): void {
    this.event({
      type: 'step-metrics',
      step,
      generated: 1,
      voted: 1,
      kept: 1,
      trained: 1,
      filtered_by_reason: {},
      reward_mean: 0.5,
      agreement_mean: 0.5,
      loss: 0.1,
      kl: 0,
      entropy: 1,
      grad_norm: 1,
      lr: 1e-6,
      response_length: 3,
      tokens_per_s: 100,
      step_seconds: 1,
      all_equal_share: 0,
      label_accuracy: null,
    });
    if (checkpoint) this.event({ type: 'checkpoint', step, dir: `checkpoints/step-${step}` });
  }

  /** One self-instruct item through the whole pipeline: generated, voted kept, trained. */
  trainedItem(itemId: string, step: number): void {
    this.generated(itemId, step);
    this.voted(itemId, step, 0.5);
    this.trained(itemId, step);
  }

  fold(): RunPool {
    return foldRun(this.events, this.decisions);
  }
}

function location(file: string, line: number) {
  return { file, line, offset: (line - 1) * 100, length: 99 };
}

function uuid(n: number): string {
  return `00000000-0000-4000-8000-${n.toString(16).padStart(12, '0')}`;
}

function ids(items: { item_id: string }[]): string[] {
  return items.map((item) => item.item_id);
}

describe('foldRun: the pipeline', () => {
  it('follows each item from generation to training, keeping where its responses are', () => {
    const logs = new RunLogs();
    logs.started();
    for (const id of ['a', 'b', 'c', 'd', 'e']) logs.generated(id, 1);
    logs.event({ type: 'item-filtered', item_id: 'b', reason: 'duplicate', detail: 'ROUGE-L 0.9 > 0.7 against a seed' });
    logs.voted('c', 1, 1);
    logs.voted('d', 1, 0.5);
    logs.voted('e', 1, 0.5);
    logs.trained('e', 1);
    const pool = logs.fold();

    assert.deepEqual(
      [...pool.items.values()].map((item) => [item.item_id, itemStage(item)]),
      [['a', 'candidate'], ['b', 'filtered'], ['c', 'too-easy'], ['d', 'kept'], ['e', 'trained']],
    );
    assert.deepEqual(pool.stageCounts(), { candidate: 1, filtered: 1, 'too-easy': 1, 'too-hard': 0, kept: 1, trained: 1 });
    assert.equal(pool.items.get('b')!.filtered!.reason, 'duplicate');
    const vote = pool.items.get('d')!.vote!;
    assert.deepEqual([vote.majority, vote.responseCount, vote.responsesAt.line], ['4', 1, 9]);
    assert.deepEqual(ids(pool.fewShotItems()), ['d', 'e']);
    assert.deepEqual(pool.problems, []);
  });

  it('reports events about unknown items and items generated twice, by file:line', () => {
    const logs = new RunLogs();
    logs.started();
    logs.generated('a', 1, 'first text');
    logs.generated('a', 1, 'second text');
    logs.trained('ghost', 1);
    const pool = logs.fold();
    assert.deepEqual(
      pool.problems.map((problem) => problem.message),
      [
        'events.jsonl:3: item a generated again (first at events.jsonl:2); ignored',
        'events.jsonl:4: no item-generated for item ghost before this line; ignored',
      ],
    );
    assert.equal(pool.items.get('a')!.text, 'first text');
  });
});

describe('foldRun: decisions', () => {
  it('takes a vetoed item out of the few-shot pool, even after it was kept and trained', () => {
    const logs = new RunLogs();
    logs.started();
    logs.trainedItem('a', 1);
    logs.trainedItem('b', 1);
    logs.decision({ type: 'veto', item_id: 'a', reason: 'ambiguous' });
    const pool = logs.fold();
    assert.deepEqual(ids(pool.fewShotItems()), ['b']);
    assert.deepEqual(ids(pool.vetoedItems()), ['a']);
    assert.equal(itemStage(pool.items.get('a')!), 'trained');
    assert.deepEqual(pool.items.get('a')!.review, { decision: 'vetoed', reason: 'ambiguous', decision_id: uuid(1), ts: '2026-11-25T14:30:00.000Z' });
  });

  it('lets the latest of accept and veto win', () => {
    const logs = new RunLogs();
    logs.started();
    logs.trainedItem('a', 1);
    logs.decision({ type: 'veto', item_id: 'a' });
    logs.decision({ type: 'accept', item_id: 'a' });
    assert.deepEqual(ids(logs.fold().fewShotItems()), ['a']);
    logs.decision({ type: 'veto', item_id: 'a' });
    assert.deepEqual(ids(logs.fold().fewShotItems()), []);
  });

  it('in review mode, queues kept items and admits only accepted ones to the few-shot pool', () => {
    const logs = new RunLogs();
    logs.started({ review: true });
    for (const id of ['a', 'b', 'c']) {
      logs.generated(id, 1);
      logs.voted(id, 1, 0.5);
    }
    logs.generated('easy', 1);
    logs.voted('easy', 1, 0.9);
    logs.decision({ type: 'accept', item_id: 'a' });
    logs.decision({ type: 'veto', item_id: 'b' });
    let pool = logs.fold();
    assert.deepEqual(ids(pool.reviewQueue()), ['c']);
    assert.deepEqual(ids(pool.fewShotItems()), ['a']);
    assert.deepEqual(ids(pool.acceptedItems()), ['a']);

    logs.trained('a', 1);
    logs.trained('c', 1);
    pool = logs.fold();
    assert.deepEqual(ids(pool.reviewQueue()), []);
    assert.deepEqual(ids(pool.fewShotItems()), ['a']);
  });

  it('keeps the latest relabel', () => {
    const logs = new RunLogs();
    logs.started();
    logs.trainedItem('a', 1);
    logs.decision({ type: 'relabel', item_id: 'a', answer: '5' });
    logs.decision({ type: 'relabel', item_id: 'a', answer: '\\frac{1}{2}' });
    const pool = logs.fold();
    assert.deepEqual(ids(pool.relabelledItems()), ['a']);
    assert.equal(pool.items.get('a')!.label!.answer, '\\frac{1}{2}');
    assert.equal(pool.items.get('a')!.label!.decision_id, uuid(2));
  });

  it('applies a decision that arrives before its item, and lists decisions on items that never appear', () => {
    const pool = new RunPool();
    const logs = new RunLogs();
    logs.started();
    pool.applyEvent(logs.events[0]!);
    pool.applyDecision(logs.decision({ type: 'veto', item_id: 'a' }));
    pool.applyDecision(logs.decision({ type: 'accept', item_id: 'nowhere' }));
    assert.deepEqual(ids(pool.orphanDecisions().map((record) => record.value)), ['a', 'nowhere']);
    logs.trainedItem('a', 1);
    for (const record of logs.events.slice(1)) pool.applyEvent(record);
    assert.equal(pool.items.get('a')!.review!.decision, 'vetoed');
    assert.deepEqual(ids(pool.orphanDecisions().map((record) => record.value)), ['nowhere']);
  });

  it('counts a repeated decision once and says where it first appeared', () => {
    const logs = new RunLogs();
    logs.started();
    logs.trainedItem('a', 1);
    logs.decision({ type: 'veto', item_id: 'a' }, uuid(7));
    logs.decision({ type: 'accept', item_id: 'a' });
    logs.decision({ type: 'veto', item_id: 'a' }, uuid(7));
    const pool = logs.fold();
    assert.equal(pool.items.get('a')!.review!.decision, 'accepted');
    assert.deepEqual(pool.problems.map((problem) => problem.message), [
      `decisions.jsonl:3: decision ${uuid(7)} repeats decisions.jsonl:1; counted once`,
    ]);
  });
});

describe('foldRun: resume', () => {
  /** Three completed steps, a checkpoint after step 2, and step 4 half done when the controller died. */
  function interruptedRun(): RunLogs {
    const logs = new RunLogs();
    logs.started({ review: true });
    logs.trainedItem('s1-0', 1);
    logs.decision({ type: 'accept', item_id: 's1-0' });
    logs.stepDone(1);
    logs.trainedItem('s2-0', 2);
    logs.generated('s2-1', 2);
    logs.voted('s2-1', 2, 0.5); // kept, waiting for review
    logs.decision({ type: 'accept', item_id: 's2-0' });
    logs.stepDone(2, true);
    logs.trainedItem('s3-0', 3);
    logs.trained('s2-1', 3); // accepted late, trained in step 3
    logs.decision({ type: 'accept', item_id: 's2-1' });
    logs.decision({ type: 'veto', item_id: 's3-0' });
    logs.stepDone(3);
    logs.generated('s4-0', 4);
    return logs;
  }

  it('resumes from the last checkpoint and redoes the steps after it', () => {
    const pool = interruptedRun().fold();
    assert.equal(pool.lastCompletedStep, 3);
    assert.deepEqual(pool.resumePoint(), { step: 2, checkpoint: pool.checkpoints[0], redoneSteps: 1, session: 1 });
    assert.equal(pool.finished, null);
  });

  it('resumes from the start when there is no checkpoint', () => {
    const logs = new RunLogs();
    logs.started();
    logs.trainedItem('s1-0', 1);
    logs.stepDone(1);
    assert.deepEqual(logs.fold().resumePoint(), { step: 0, checkpoint: null, redoneSteps: 1, session: 1 });
  });

  it('rolls the timeline back to the checkpoint and keeps every decision', () => {
    const logs = interruptedRun();
    logs.started({ review: true, resumedFrom: { step: 2, checkpoint_dir: 'checkpoints/step-2' } });
    logs.generated(itemIdFor(1, 3, 0), 3, 'A redone problem for step 3?');
    const pool = logs.fold();

    assert.deepEqual(ids(pool.liveItems()), ['s1-0', 's2-0', 's2-1', 's3-0-r1']);
    assert.deepEqual(
      [...pool.items.values()].filter((item) => item.superseded).map((item) => item.item_id),
      ['s3-0', 's4-0'],
    );
    // s2-1's training happened in step 3, which is redone: it is kept (and accepted) again, not trained.
    assert.equal(itemStage(pool.items.get('s2-1')!), 'kept');
    assert.equal(pool.items.get('s2-1')!.review!.decision, 'accepted');
    assert.equal(itemStage(pool.items.get('s2-0')!), 'trained');
    assert.deepEqual([...pool.steps.keys()], [1, 2]);
    assert.equal(pool.lastCompletedStep, 2);
    assert.deepEqual(pool.checkpoints.map((checkpoint) => checkpoint.step), [2]);
    // The veto of a superseded item still filters similar new candidates.
    assert.deepEqual(ids(pool.vetoedItems()), ['s3-0']);
    assert.deepEqual(ids(pool.fewShotItems()), ['s1-0', 's2-0', 's2-1']);
    assert.equal(pool.items.get(itemIdFor(1, 3, 0))!.session, 1);
    assert.deepEqual(pool.resumePoint(), { step: 2, checkpoint: pool.checkpoints[0], redoneSteps: 0, session: 2 });
    assert.deepEqual(pool.problems, []);
  });

  it('clears a finished run when it is resumed, and reports a resume beyond the completed steps', () => {
    const logs = new RunLogs();
    logs.started();
    logs.stepDone(1, true);
    logs.event({ type: 'run-finished', status: 'stopped' });
    assert.equal(logs.fold().finished!.status, 'stopped');
    logs.started({ resumedFrom: { step: 5, checkpoint_dir: 'checkpoints/step-5' } });
    const pool = logs.fold();
    assert.equal(pool.finished, null);
    assert.deepEqual(pool.problems.map((problem) => problem.message), [
      'events.jsonl:5: resumed from step 5 but only 1 steps completed',
    ]);
  });
});
