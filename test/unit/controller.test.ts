// The controller's pure parts: scoring a group of responses, the planned number of steps, the learning-rate
// schedule, config path resolution, the collapse monitor and the export selection and formats.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { formatStepLine } from '../../src/cli/commands/train';
import { defaultRunConfig, RunConfigSchema } from '../../src/core/config';
import { RunPool } from '../../src/core/pool';
import { createRng } from '../../src/core/random';
import { isUnanimous, loadLabelledSet, loadRunConfigFile, plannedSteps, scoreResponses } from '../../src/engine/controller';
import { curatedItems, formatCuratedItem, type CuratedItem } from '../../src/engine/exportItems';
import { CollapseMonitor, type MonitorReading } from '../../src/engine/monitor';
import { learningRate } from '../../src/engine/schedule';
import { parseDecision, parseRunEvent, RUN_LOG_VERSION, type StepMetrics } from '../../src/protocol/events';

const scratch = mkdtempSync(join(tmpdir(), 'serl-controller-unit-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

describe('scoreResponses', () => {
  const bounds = [0.2, 0.8] as const;

  it('rewards majority membership and applies the band to the agreement', () => {
    const scored = scoreResponses(['so \\boxed{4}', '\\boxed{4}', '\\boxed{5}', 'no answer here'], null, bounds);
    assert.equal(scored.source, 'majority');
    assert.deepEqual(scored.rewards, [1, 1, 0, 0]);
    assert.equal(scored.meanReward, 0.5);
    assert.equal(scored.difficulty.status, 'kept');
  });

  it('rewards equivalence with a reference, and the band then applies to the accuracy', () => {
    const scored = scoreResponses(['\\boxed{4}', '\\boxed{4}', '\\boxed{4}', '\\boxed{1/2}'], { answer: '0.5', source: 'relabel' }, bounds);
    assert.equal(scored.source, 'relabel');
    assert.deepEqual(scored.rewards, [0, 0, 0, 1]);
    assert.equal(scored.vote.majority, '4');
    assert.equal(scored.meanReward, 0.25);
    assert.equal(scored.difficulty.status, 'kept');
  });

  it('calls a unanimous group too easy and no answer at all too hard', () => {
    const unanimous = scoreResponses(['\\boxed{7}', '\\boxed{7}', '\\boxed{07}'], null, bounds);
    assert.equal(unanimous.difficulty.status, 'too-easy');
    assert.equal(isUnanimous(unanimous.vote), true);
    const none = scoreResponses(['I do not know how to solve this problem.', 'Sorry, this one is beyond what I can do.'], null, bounds);
    assert.equal(none.difficulty.status, 'too-hard');
    assert.deepEqual(none.rewards, [0, 0]);
    assert.equal(isUnanimous(none.vote), false);
  });
});

describe('plannedSteps', () => {
  it('is max_steps when given', () => {
    assert.equal(plannedSteps(RunConfigSchema.parse({ max_steps: 7 }), 500), 7);
  });
  it('covers instructions_num_per_iteration per iteration in serl mode, the seeds in seed modes', () => {
    assert.equal(plannedSteps(RunConfigSchema.parse({ iterations: 2, instructions_num_per_iteration: 100, rollout_batch_size: 16 }), 500), 14);
    assert.equal(plannedSteps(RunConfigSchema.parse({ mode: 'majority', rollout_batch_size: 16 }), 500), 32);
  });
});

describe('learningRate', () => {
  const optimizer = { ...defaultRunConfig().optimizer, lr: 1e-3, lr_warmup_ratio: 0.1 };

  it('warms up linearly without ever reaching 0, then decays by cosine to 0.1 × lr at the last step', () => {
    const rates = Array.from({ length: 20 }, (_, i) => learningRate(optimizer, i + 1, 20));
    assert.ok(rates[0] > 0 && rates[0] < rates[1]);
    assert.equal(rates[2], 1e-3);
    for (let i = 3; i < 20; i++) assert.ok(rates[i] <= rates[i - 1]);
    assert.ok(Math.abs(rates[19] - 1e-4) < 1e-12);
  });

  it('stays at lr after the warm-up with constant_with_warmup', () => {
    const constant = { ...optimizer, lr_scheduler: 'constant_with_warmup' as const };
    assert.equal(learningRate(constant, 20, 20), 1e-3);
    assert.ok(learningRate(constant, 1, 20) < 1e-3);
  });
});

describe('loadRunConfigFile', () => {
  it('resolves seeds, eval and a tiny model against the config folder; keeps an hf model id', async () => {
    const dir = join(scratch, 'configs');
    mkdirSync(dir, { recursive: true });
    const tiny = join(dir, 'tiny.json');
    writeFileSync(tiny, JSON.stringify({ seeds: 'data/seeds.jsonl', model: { kind: 'tiny', path: 'base' }, eval: { dataset: 'test.jsonl' } }));
    const config = await loadRunConfigFile(tiny);
    assert.equal(config.seeds, join(dir, 'data', 'seeds.jsonl'));
    assert.equal(config.model.path, join(dir, 'base'));
    assert.equal(config.eval.dataset, join(dir, 'test.jsonl'));
    const hf = join(dir, 'hf.json');
    writeFileSync(hf, JSON.stringify({ model: { kind: 'hf', path: 'meta-llama/Llama-3.2-3B-Instruct' } }));
    assert.equal((await loadRunConfigFile(hf)).model.path, 'meta-llama/Llama-3.2-3B-Instruct');
  });

  it('names the file and the field of a bad config', async () => {
    const file = join(scratch, 'bad.json');
    writeFileSync(file, JSON.stringify({ optimizer: { lr: -1 } }));
    await assert.rejects(loadRunConfigFile(file), (error: Error) => error.message.includes(`${file}: optimizer.lr`));
    writeFileSync(file, '{"mode": ');
    await assert.rejects(loadRunConfigFile(file), (error: Error) => error.message.startsWith(`${file}: invalid JSON`));
  });
});

describe('loadLabelledSet', () => {
  it('reads instructions and answers, and refuses a file with errors, naming line and column', async () => {
    const good = join(scratch, 'good.seed.jsonl');
    writeFileSync(good, '{"problem": "What is 2 + 2 here?", "answer": 4}\n{"question": "Name the sum of 1 and 1."}\n');
    assert.deepEqual(await loadLabelledSet(good), { file: good, texts: ['What is 2 + 2 here?', 'Name the sum of 1 and 1.'], answers: ['4', null] });
    const bad = join(scratch, 'bad.seed.jsonl');
    writeFileSync(bad, '{"problem": "fine problem text"}\n{"problem": \n');
    await assert.rejects(loadLabelledSet(bad), (error: Error) => error.message.startsWith(`${bad}:2:`));
  });
});

describe('CollapseMonitor', () => {
  const reading = (step: number, overrides: Partial<MonitorReading> = {}): MonitorReading => ({
    step,
    voted: 16,
    trained: 8,
    all_equal_share: 0.2,
    entropy: 2,
    label_accuracy: 0.7,
    ...overrides,
  });

  it('raises each alert once when its threshold is crossed, again only after it cleared', () => {
    const monitor = new CollapseMonitor();
    for (let step = 1; step <= 3; step++) assert.deepEqual(monitor.observe(reading(step)), []);
    const collapsing = monitor.observe(reading(4, { all_equal_share: 0.95, entropy: 0.3 }));
    assert.deepEqual(collapsing.map((alert) => alert.kind), ['collapse', 'collapse']);
    assert.deepEqual(collapsing.map((alert) => Object.keys(alert.metrics)[0]), ['all_equal_share', 'entropy']);
    assert.deepEqual(monitor.observe(reading(5, { all_equal_share: 0.95, entropy: 0.3 })), []);
    monitor.observe(reading(6));
    assert.equal(monitor.observe(reading(7, { all_equal_share: 0.9 })).length, 1);
  });

  it('judges label accuracy on 4-step means against the run\'s start, so one noisy step does not fire', () => {
    const monitor = new CollapseMonitor();
    const accuracies = [0.7, 0.6, 0.8, 0.7, 0.3, 0.7, 0.6, 0.4, 0.4, 0.3];
    const alerts = accuracies.map((label_accuracy, index) => monitor.observe(reading(index + 1, { label_accuracy })));
    // Step 5's 0.3 is 0.4 below the start, but the mean of steps 2–5 (0.6) is only 0.1 below 0.7.
    assert.deepEqual(alerts.slice(0, 9).flat(), []);
    // Steps 7–10 average 0.425: 0.275 below the start's 0.7.
    assert.deepEqual(alerts[9]!.map((alert) => alert.metrics), [{ label_accuracy: 0.425, baseline_label_accuracy: 0.7 }]);
  });

  it('rarely fires on the noise of 16 labelled items per step, and catches a real drift (simulated runs)', () => {
    const rng = createRng(5);
    /** The share of 1,000 simulated 20-step runs in which a label-accuracy alert fired, and its mean step. */
    const simulate = (accuracyAt: (step: number) => number) => {
      let fired = 0;
      let stepSum = 0;
      for (let run = 0; run < 1000; run++) {
        const monitor = new CollapseMonitor();
        for (let step = 1; step <= 20; step++) {
          let right = 0;
          for (let item = 0; item < 16; item++) if (rng.next() < accuracyAt(step)) right++;
          const alerts = monitor.observe(reading(step, { label_accuracy: right / 16 }));
          if (alerts.some((alert) => 'label_accuracy' in alert.metrics)) {
            fired++;
            stepSum += step;
            break;
          }
        }
      }
      return { share: fired / 1000, meanStep: stepSum / Math.max(1, fired) };
    };
    const steady = simulate(() => 0.65);
    assert.ok(steady.share < 0.1, `false alarms in ${(steady.share * 100).toFixed(1)}% of steady runs`);
    const drifting = simulate((step) => 0.65 - (0.35 * (step - 1)) / 19);
    assert.ok(drifting.share > 0.9, `a drift 0.65 → 0.3 caught in only ${(drifting.share * 100).toFixed(1)}% of runs`);
    assert.ok(drifting.meanStep < 15, `caught at step ${drifting.meanStep.toFixed(1)} on average`);
  });

  it('leaves the label-accuracy state as it was on steps without labelled items', () => {
    const monitor = new CollapseMonitor();
    for (const [step, label_accuracy] of [[1, 0.8], [2, 0.8], [3, 0.8], [4, 0.8], [5, null], [6, 0.7], [7, 0.6], [8, null], [9, 0.5]] as const) {
      assert.deepEqual(monitor.observe(reading(step, { label_accuracy })), [], `step ${step}`);
    }
    // Steps 5 and 8 neither enter nor reset the window: at step 10 it holds 0.7, 0.6, 0.5, 0.3 (mean 0.525).
    assert.deepEqual(monitor.observe(reading(10, { label_accuracy: 0.3 })).map((alert) => alert.step), [10]);
  });

  it('needs enough voted items and an entropy baseline before it judges', () => {
    const monitor = new CollapseMonitor();
    assert.deepEqual(monitor.observe(reading(1, { voted: 3, all_equal_share: 1, entropy: 0.001 })), []);
  });

  it('reports a step that trained nothing', () => {
    const alerts = new CollapseMonitor().observe(reading(1, { trained: 0, entropy: null }));
    assert.deepEqual(alerts.map((alert) => alert.kind), ['no-kept-items']);
  });
});

describe('export', () => {
  const location = (line: number) => ({ file: 'events.jsonl', line, offset: 0, length: 0 });
  const ts = '2026-11-25T00:00:00.000Z';
  const event = (line: number, value: Record<string, unknown>) => {
    const parsed = parseRunEvent({ v: RUN_LOG_VERSION, ts, ...value });
    assert.ok(parsed.ok, parsed.ok ? '' : parsed.error);
    return { value: parsed.value, location: location(line) };
  };
  const vote = (itemId: string, majority: string | null, status: 'kept' | 'too-easy') => ({
    type: 'item-voted',
    item_id: itemId,
    step: 1,
    reward_source: 'majority',
    majority,
    agreement: 0.5,
    groups: majority === null ? [] : [{ answer: majority, count: 1, members: [0] }],
    responses: [
      { text: 'a', answer: majority, reward: majority === null ? 0 : 1, tokens: 3, finish_reason: 'eos' },
      { text: 'b', answer: null, reward: 0, tokens: 3, finish_reason: 'eos' },
    ],
    difficulty: { status, detail: '' },
  });

  function poolWith(curation: 'auto' | 'review', decisions: Record<string, unknown>[]): RunPool {
    const pool = new RunPool();
    const config = { mode: 'serl', algorithm: 'grpo', model: { kind: 'tiny' }, seeds: 's', seed: 1, n_samples_per_prompt: 2, rollout_batch_size: 4, curation, reward_difficulty_bounds: [0.2, 0.8], iterations: 1, instructions_num_per_iteration: 4 };
    pool.applyEvent(event(1, { type: 'run-started', run_id: 'r', pid: 1, hostname: 'h', config }));
    const origin = { kind: 'self-instruct', prompt_id: 'p', sources: [] };
    ['a', 'b', 'c', 'd'].forEach((id, i) => pool.applyEvent(event(2 + i, { type: 'item-generated', item_id: id, step: 1, text: `problem ${id}`, origin })));
    pool.applyEvent(event(6, vote('a', '4', 'kept')));
    pool.applyEvent(event(7, vote('b', '5', 'kept')));
    pool.applyEvent(event(8, vote('c', '6', 'too-easy')));
    pool.applyEvent(event(9, vote('d', null, 'kept')));
    decisions.forEach((decision, i) => {
      const parsed = parseDecision({ v: RUN_LOG_VERSION, ts, decision_id: `00000000-0000-4000-8000-00000000000${i}`, ...decision });
      assert.ok(parsed.ok, parsed.ok ? '' : parsed.error);
      pool.applyDecision({ value: parsed.value, location: location(i + 1) });
    });
    return pool;
  }

  it('auto mode: kept items, not vetoed; the relabel wins over the majority; items without an answer are counted', () => {
    const pool = poolWith('auto', [
      { type: 'veto', item_id: 'b' },
      { type: 'relabel', item_id: 'a', answer: '44' },
    ]);
    const selection = curatedItems(pool, 'auto');
    assert.deepEqual(selection.items.map((item) => [item.item_id, item.answer, item.answer_source]), [['a', '44', 'relabel']]);
    assert.deepEqual(selection.withoutAnswer, ['d']);
  });

  it('review mode: only accepted items', () => {
    const pool = poolWith('review', [{ type: 'accept', item_id: 'b' }]);
    assert.deepEqual(curatedItems(pool, 'review').items.map((item) => item.item_id), ['b']);
  });

  it('writes each format', () => {
    const item: CuratedItem = { item_id: 'a', instruction: 'Ann has 3 eggs. How many?', answer: '3', answer_source: 'majority', agreement: 0.5, step: 1, origin: 'seed' };
    assert.deepEqual(JSON.parse(formatCuratedItem(item, 'jsonl')), item);
    assert.deepEqual(JSON.parse(formatCuratedItem(item, 'openrlhf')), { problem: item.instruction, answer: '3' });
    assert.deepEqual(JSON.parse(formatCuratedItem(item, 'trl')), { prompt: [{ role: 'user', content: item.instruction }], answer: '3' });
  });
});

describe('formatStepLine', () => {
  it('prints the step, rewards, kept counts, loss and speed; a missing reading as a dash', () => {
    const metrics = {
      v: 1, ts: '', type: 'step-metrics', step: 3, generated: 20, voted: 16, kept: 5, trained: 5, filtered_by_reason: {},
      reward_mean: 0.4213, agreement_mean: 0.6, loss: null, kl: null, entropy: null, grad_norm: null, lr: null,
      response_length: null, tokens_per_s: null, step_seconds: 4.08, all_equal_share: null, label_accuracy: null,
    } as StepMetrics;
    assert.equal(formatStepLine(metrics, 50), 'step 3/50 reward 0.421 agreement 0.600 kept 5/16 trained 5 loss – 4.1 s/step');
    assert.equal(
      formatStepLine({ ...metrics, probe_accuracy: 0.5625, probe_agreement: 0.71875 }, 50),
      'step 3/50 reward 0.421 agreement 0.600 kept 5/16 trained 5 loss – 4.1 s/step probe right 56% agreement 0.719',
    );
  });
});
