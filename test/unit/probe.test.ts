// The collapse monitor's labelled probe: choosing the slice, scoring a probe, the monitor's probe alerts,
// the config section, and the probe's records in the run log (old logs without them still load).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { defaultRunConfig, parseRunConfig } from '../../src/core/config';
import { RunPool } from '../../src/core/pool';
import { CollapseMonitor, type MonitorReading } from '../../src/engine/monitor';
import { checkProbeSlice, chooseProbeSlice, probeDue, scoreProbe } from '../../src/engine/probe';
import { parseRunEvent, stampRunEvent, type RunEvent } from '../../src/protocol/events';

describe('chooseProbeSlice', () => {
  const answers = ['1', null, '3', '4', null, '6', '7', '8', '9', '10'];

  it('takes the first labelled seeds of a seeded order: the same for the same seed, another for another', () => {
    const slice = chooseProbeSlice(answers, 4, 42);
    assert.equal(slice.length, 4);
    assert.equal(new Set(slice).size, 4);
    for (const index of slice) assert.notEqual(answers[index], null);
    assert.deepEqual(chooseProbeSlice(answers, 4, 42), slice);
    assert.notDeepEqual(chooseProbeSlice(answers, 8, 7), chooseProbeSlice(answers, 8, 42));
    // A larger probe extends the smaller one: the order does not depend on the size.
    assert.deepEqual(chooseProbeSlice(answers, 6, 42).slice(0, 4), slice);
  });

  it('holds every labelled seed when there are fewer than asked, and none when no seed is labelled', () => {
    assert.deepEqual(chooseProbeSlice(answers, 100, 1).sort((a, b) => a - b), [0, 2, 3, 5, 6, 7, 8, 9]);
    assert.deepEqual(chooseProbeSlice([null, null], 16, 1), []);
  });

  it('checkProbeSlice names seed lines that vanished or lost their answer', () => {
    assert.equal(checkProbeSlice([0, 2], answers, 'seeds.jsonl'), '');
    const problem = checkProbeSlice([0, 1, 12], answers, 'seeds.jsonl');
    assert.match(problem, /^seeds\.jsonl: the run's probe slice names seed line\(s\) 2, 13,/);
  });
});

describe('scoreProbe and probeDue', () => {
  it('counts the items whose majority equals the answer and averages the agreement', () => {
    const reading = scoreProbe(
      [
        ['#### 4', '#### 4', '#### 5', '#### 4'], // majority 4, right, agreement 0.75
        ['#### 7', '#### 7', '#### 7', '#### 7'], // unanimous and wrong
        ['no answer', 'it is not known', 'no answer', '#### 2'], // majority 2 on one response: right, agreement 0.25
        ['no answer', 'it is not known', 'no answer', 'no answer'], // no answer at all: wrong, agreement 0
      ],
      ['4', '8', '2', '1'],
    );
    assert.deepEqual(reading, { probe_accuracy: 0.5, probe_agreement: (0.75 + 1 + 0.25 + 0) / 4 });
  });

  it('refuses responses that do not match the items', () => {
    assert.throws(() => scoreProbe([['#### 1']], ['1', '2']), /1 response groups for 2 items/);
  });

  it('is due every probe_every steps and at the last step', () => {
    const due = [1, 2, 3, 4, 5, 6, 7].filter((step) => probeDue(step, 2, 7));
    assert.deepEqual(due, [2, 4, 6, 7]);
  });
});

describe('CollapseMonitor on the probe', () => {
  const reading = (step: number, probe: [number, number] | null): MonitorReading => ({
    step,
    voted: 16,
    trained: 16,
    all_equal_share: 0.2,
    entropy: 1,
    label_accuracy: null,
    probe_accuracy: probe?.[0] ?? null,
    probe_agreement: probe?.[1] ?? null,
  });
  const kinds = (alerts: { metrics: Record<string, number> }[]) => alerts.map((alert) => Object.keys(alert.metrics)[0]);

  it('flags a probe accuracy drop on the smoothed reading, not on one noisy probe', () => {
    const monitor = new CollapseMonitor();
    assert.deepEqual(monitor.observe(reading(1, [0.5, 0.4])), []);
    assert.deepEqual(monitor.observe(reading(2, [0.5, 0.4])), []);
    // One probe 25 points down: the mean of the last two is only 12.5 points down.
    assert.deepEqual(monitor.observe(reading(3, [0.25, 0.4])), []);
    assert.deepEqual(monitor.observe(reading(4, [0.5, 0.4])), []);
    assert.deepEqual(monitor.observe(reading(5, [0.25, 0.4])), []);
    // Two in a row: the mean falls 0.25 below the best (0.5).
    const alerts = monitor.observe(reading(6, [0.25, 0.4]));
    assert.deepEqual(kinds(alerts), ['probe_accuracy']);
    assert.equal(alerts[0].kind, 'collapse');
    assert.match(alerts[0].detail, /right 25% of the time \(mean of the last 2 probes\), down from 50%/);
  });

  it('does not take a small probe at a low accuracy for a drop (measured: a healthy run spanned 0–16%)', () => {
    const monitor = new CollapseMonitor();
    const probes: [number, number][] = [[0.125, 0.25], [0.0625, 0.25], [0.25, 0.24], [0.0625, 0.27], [0, 0.28], [0, 0.28]];
    probes.forEach((probe, i) => assert.deepEqual(monitor.observe(reading(i + 1, probe)), [], `step ${i + 1}`));
  });

  it('flags agreement rising while accuracy does not: the reward-hacking signature', () => {
    const monitor = new CollapseMonitor();
    monitor.observe(reading(1, [0.125, 0.25]));
    monitor.observe(reading(2, [0.0625, 0.25])); // baseline: accuracy 0.094, agreement 0.25, overconfidence 0.156
    assert.deepEqual(monitor.observe(reading(3, [0.0625, 0.375])), []);
    assert.deepEqual(monitor.observe(reading(4, [0.125, 0.375])), []); // agreement 0.375: overconfidence up 0.125
    const alerts = monitor.observe(reading(5, [0.0625, 0.625])); // agreement 0.5, accuracy 0.094: up 0.25
    assert.deepEqual(kinds(alerts), ['probe_agreement']);
    assert.deepEqual(alerts[0].metrics, {
      probe_agreement: 0.5,
      baseline_probe_agreement: 0.25,
      probe_accuracy: 0.09375,
      baseline_probe_accuracy: 0.09375,
    });
    assert.match(alerts[0].detail, /agreement went 0\.25 → 0\.50 while accuracy went 9% → 9% \(means of 2 probes\)/);
  });

  it('flags agreement outrunning accuracy where accuracy is too low to fall (a weak base)', () => {
    const monitor = new CollapseMonitor();
    monitor.observe(reading(2, [0.0625, 0.2]));
    monitor.observe(reading(4, [0.0625, 0.2]));
    monitor.observe(reading(6, [0.125, 0.45]));
    // Accuracy doubled (1 → 2 of 16 items), agreement rose 0.3: overconfidence up 0.24.
    assert.deepEqual(kinds(monitor.observe(reading(8, [0.125, 0.5]))), ['probe_agreement']);
  });

  it('stays quiet when agreement rises with accuracy: the policy is learning', () => {
    const monitor = new CollapseMonitor();
    const probes: [number, number][] = [[0.5, 0.5], [0.5, 0.5], [0.5625, 0.6], [0.625, 0.7], [0.6875, 0.8], [0.75, 0.9]];
    probes.forEach((probe, i) => assert.deepEqual(monitor.observe(reading(i + 1, probe)), [], `step ${i + 1}`));
  });

  it('keeps a raised probe alert through steps without a probe, and raises it again only after it cleared', () => {
    const monitor = new CollapseMonitor();
    monitor.observe(reading(2, [0.5, 0.4]));
    monitor.observe(reading(4, [0.5, 0.4]));
    monitor.observe(reading(6, [0.25, 0.4]));
    assert.deepEqual(kinds(monitor.observe(reading(8, [0.25, 0.4]))), ['probe_accuracy']);
    assert.deepEqual(monitor.observe(reading(9, null)), [], 'no probe at step 9: the alert stays raised');
    assert.deepEqual(monitor.observe(reading(10, [0.25, 0.4])), []);
    monitor.observe(reading(12, [0.75, 0.4]));
    monitor.observe(reading(14, [0.75, 0.4])); // cleared, and the best is now 0.75
    monitor.observe(reading(16, [0.5, 0.4]));
    assert.deepEqual(kinds(monitor.observe(reading(18, [0.5, 0.4]))), ['probe_accuracy']);
  });

  it('reads step metrics without probe fields (older runs) as steps without a probe', () => {
    const monitor = new CollapseMonitor();
    const old = { step: 1, voted: 16, trained: 16, all_equal_share: 0.2, entropy: 1, label_accuracy: null };
    assert.deepEqual(monitor.observe(old), []);
  });
});

describe('the monitor config section', () => {
  it('defaults to a 16-item probe every 2 steps with the rollout n', () => {
    assert.deepEqual(defaultRunConfig().monitor, { probe_size: 16, probe_every: 2 });
  });

  it('names the field of a bad value', () => {
    const parsed = parseRunConfig({ monitor: { probe_samples: 1, probe_every: 0, probe_size: -1 } }, 'serl.config.json');
    assert.equal(parsed.ok, false);
    const messages = parsed.ok ? [] : parsed.errors.map((error) => error.message);
    assert.ok(messages.includes('serl.config.json: monitor.probe_samples: a majority vote needs at least 2 responses'), messages.join('\n'));
    assert.ok(messages.some((message) => message.startsWith('serl.config.json: monitor.probe_every: ')), messages.join('\n'));
    assert.ok(messages.some((message) => message.startsWith('serl.config.json: monitor.probe_size: ')), messages.join('\n'));
    const typo = parseRunConfig({ monitor: { probe_sise: 8 } }, 'serl.config.json');
    assert.ok(!typo.ok && typo.errors[0].message.includes("did you mean 'probe_size'?"));
  });
});

describe('probe records in the run log', () => {
  const location = (line: number) => ({ file: 'events.jsonl', line, offset: 0, length: 0 });

  it('validates probe-slice and the step metrics probe fields; the pool keeps the first slice', () => {
    const slice = stampRunEvent({ type: 'probe-slice', seed_indices: [4, 0, 9] });
    assert.deepEqual(parseRunEvent(JSON.parse(JSON.stringify(slice))), { ok: true, value: slice });
    const empty = parseRunEvent({ ...slice, seed_indices: [] });
    assert.ok(!empty.ok && /seed_indices/.test(empty.error));
    const negative = parseRunEvent({ ...slice, seed_indices: [-1] });
    assert.ok(!negative.ok && /seed_indices\[0\]/.test(negative.error));

    const pool = new RunPool();
    pool.applyEvent({ value: slice, location: location(1) });
    pool.applyEvent({ value: stampRunEvent({ type: 'probe-slice', seed_indices: [1] }), location: location(2) });
    assert.deepEqual(pool.probeSlice?.seed_indices, [4, 0, 9]);
    assert.deepEqual(pool.problems.map((problem) => problem.message), ['events.jsonl:2: probe slice fixed again; the first one counts']);
  });

  it('loads step metrics with probe readings, with nulls, and without the fields (logs older than the probe)', () => {
    const base = {
      v: 1, ts: '2026-11-25T14:30:00.000Z', type: 'step-metrics', step: 3, generated: 16, voted: 16, kept: 16, trained: 16,
      filtered_by_reason: {}, reward_mean: 0.4, agreement_mean: 0.4, loss: 0.1, kl: 0, entropy: 0.2, grad_norm: 1, lr: 3e-4,
      response_length: 20, tokens_per_s: 900, step_seconds: 6, all_equal_share: 0.1, label_accuracy: null,
    };
    for (const fields of [{ probe_accuracy: 0.25, probe_agreement: 0.5 }, { probe_accuracy: null, probe_agreement: null }, {}]) {
      const parsed = parseRunEvent({ ...base, ...fields });
      assert.ok(parsed.ok, parsed.ok ? '' : parsed.error);
      assert.deepEqual(parsed.value as RunEvent, { ...base, ...fields });
    }
    const bad = parseRunEvent({ ...base, probe_accuracy: 'high' });
    assert.ok(!bad.ok && /probe_accuracy/.test(bad.error));
  });
});
