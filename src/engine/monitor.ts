// The collapse monitor: majority-vote RL can learn to agree with itself on wrong answers (agreement → 1,
// entropy → 0; DESIGN.md "Known failure mode"). It watches each step's metrics and raises an alert when a
// reading crosses its threshold — once when it crosses, not on every step it stays beyond.
//
// Thresholds (readings from step-metrics):
// - all_equal_share ≥ 0.9 over at least 4 voted items: nearly every group answers unanimously, so the
//   majority vote no longer tells responses apart (the band then drops nearly everything as too easy).
// - entropy < 0.25 × its baseline, the mean over the first 3 steps that trained: the policy has become
//   (near) deterministic; an absolute floor would not fit models of different vocabularies.
// - label_accuracy, on items with a known answer (seed answers, relabels), smoothed over the last 4 steps
//   that had such items, at least 0.2 below its smoothed level at the run's start: the majority has drifted
//   away from the truth. One step holds ~16 labelled items (3 of them move the reading by 0.2), and compared
//   with the best reading so far, raw readings of a run whose true accuracy never moves fired in 99% of
//   simulated 20-step runs (binomial, p = 0.65); 4-step means against the start fire in 6% (12% over 40
//   steps) and still catch a drift from 0.65 to 0.3 over 20 steps in 94% of runs, around step 12
//   (test/unit/controller.test.ts simulates both).
// - The probe (SeRL mode, probe.ts: 16 labelled seeds by default, voted on every 2 steps). Its readings are
//   smoothed over the last 2 probes, since one item of 16 moves accuracy by 6 points:
//   - probe accuracy at least 0.2 below the best smoothed reading earlier in the run (6–7 of the 32 item
//     verdicts in the window turned wrong). The best of many noisy readings sits above the true level: in
//     a healthy arithmetic run (band on, validation, ~8% accuracy) the smoothed reading spanned 0–16%, so
//     0.15 fired on noise;
//   - overconfidence (agreement − accuracy) at least 0.2 above its level at the run's first 2 probes, with
//     agreement up: it rose 0.2 more than accuracy did, the policy agrees with itself more than it grows right —
//     majority-vote reward hacking. "Agreement up while accuracy down" is its plain case; as a difference
//     it also fires where accuracy is too low to fall measurably (a weak base's majority is right on 1–3
//     of 16 items), which the drop above cannot see, and stays quiet while both rise together (learning).
//     Measured on arithmetic validation runs: at most +0.13 in the healthy one, +0.6 in two collapses.
//   A step without a reading (no probe this step, nothing trained, no labelled item) leaves that
//   condition's state as it was.
// - no-kept-items: a step trained nothing (the difficulty band or the filters rejected every item); in a
//   curation-only run, which trains nothing by design, a step that kept nothing.
import type { Alert, StepMetrics } from '../protocol/events';

export const COLLAPSE_THRESHOLDS = {
  allEqualShare: 0.9,
  minVotedForAllEqual: 4,
  entropyRatio: 0.25,
  entropyBaselineSteps: 3,
  labelAccuracyWindow: 4,
  labelAccuracyDrop: 0.2,
  probeWindow: 2,
  probeAccuracyDrop: 0.2,
  probeOverconfidenceRise: 0.2,
} as const;

export type MonitorReading = Pick<
  StepMetrics,
  'step' | 'voted' | 'trained' | 'all_equal_share' | 'entropy' | 'label_accuracy'
> &
  Partial<Pick<StepMetrics, 'kept' | 'probe_accuracy' | 'probe_agreement'>>;

export type MonitorAlert = Pick<Alert, 'step' | 'kind' | 'detail' | 'metrics'>;

type Condition = 'all-equal' | 'entropy' | 'label-accuracy' | 'probe-accuracy' | 'probe-overconfidence' | 'no-kept-items';

interface ProbeLevel {
  accuracy: number;
  agreement: number;
}

export class CollapseMonitor {
  private readonly baselineEntropies: number[] = [];
  private readonly labelAccuracies: number[] = [];
  /** The smoothed label accuracy at the first full window: where the run started. */
  private labelAccuracyBaseline: number | null = null;
  private readonly probeAccuracies: number[] = [];
  private readonly probeAgreements: number[] = [];
  /** The smoothed probe reading at the first full window: the policy before RL moved it much. */
  private probeBaseline: ProbeLevel | null = null;
  private bestProbeAccuracy: number | null = null;
  private active = new Set<Condition>();

  constructor(private readonly options: { curationOnly?: boolean } = {}) {}

  /** Folds in one completed step; returns the alerts whose condition starts at this step. */
  observe(reading: MonitorReading): MonitorAlert[] {
    const now = new Map<Condition, MonitorAlert>();
    /** Conditions this step has no reading for: they keep their state. */
    const unread = new Set<Condition>();
    const { step } = reading;

    const share = reading.all_equal_share;
    if (share === null || reading.voted < COLLAPSE_THRESHOLDS.minVotedForAllEqual) unread.add('all-equal');
    else if (share >= COLLAPSE_THRESHOLDS.allEqualShare) {
      now.set('all-equal', {
        step,
        kind: 'collapse',
        detail: `${percent(share)} of the ${reading.voted} voted items answered unanimously (threshold ${percent(COLLAPSE_THRESHOLDS.allEqualShare)})`,
        metrics: { all_equal_share: share, voted: reading.voted },
      });
    }

    const entropy = reading.entropy;
    if (entropy === null) unread.add('entropy');
    else {
      const baseline = this.entropyBaseline();
      if (baseline !== null && entropy < COLLAPSE_THRESHOLDS.entropyRatio * baseline) {
        now.set('entropy', {
          step,
          kind: 'collapse',
          detail: `policy entropy ${round(entropy)} nats fell below ${COLLAPSE_THRESHOLDS.entropyRatio} × its early-run level ${round(baseline)}`,
          metrics: { entropy, entropy_baseline: baseline },
        });
      }
      if (this.baselineEntropies.length < COLLAPSE_THRESHOLDS.entropyBaselineSteps) this.baselineEntropies.push(entropy);
    }

    const accuracy = reading.label_accuracy === null ? null : pushWindow(this.labelAccuracies, reading.label_accuracy, COLLAPSE_THRESHOLDS.labelAccuracyWindow);
    if (accuracy === null) unread.add('label-accuracy');
    else {
      const baseline = (this.labelAccuracyBaseline ??= accuracy);
      if (accuracy <= baseline - COLLAPSE_THRESHOLDS.labelAccuracyDrop) {
        now.set('label-accuracy', {
          step,
          kind: 'collapse',
          detail:
            `majority answers match the known answers ${percent(accuracy)} of the time (mean of the last ${COLLAPSE_THRESHOLDS.labelAccuracyWindow} steps ` +
            `with labelled items), down from ${percent(baseline)} at the run's start`,
          metrics: { label_accuracy: accuracy, baseline_label_accuracy: baseline },
        });
      }
    }

    const probe = this.smoothedProbe(reading);
    if (probe === null) {
      unread.add('probe-accuracy');
      unread.add('probe-overconfidence');
    } else {
      const best = this.bestProbeAccuracy;
      if (best !== null && probe.accuracy <= best - COLLAPSE_THRESHOLDS.probeAccuracyDrop) {
        now.set('probe-accuracy', {
          step,
          kind: 'collapse',
          detail: `on the labelled probe the majority is right ${percent(probe.accuracy)} of the time (mean of the last ${COLLAPSE_THRESHOLDS.probeWindow} probes), down from ${percent(best)}`,
          metrics: { probe_accuracy: probe.accuracy, best_probe_accuracy: best },
        });
      }
      this.bestProbeAccuracy = best === null ? probe.accuracy : Math.max(best, probe.accuracy);
      const baseline = (this.probeBaseline ??= probe);
      const overconfidence = probe.agreement - probe.accuracy;
      const baselineOverconfidence = baseline.agreement - baseline.accuracy;
      // Agreement must have risen: a fall in accuracy alone is the drop above.
      if (probe.agreement > baseline.agreement && overconfidence >= baselineOverconfidence + COLLAPSE_THRESHOLDS.probeOverconfidenceRise) {
        now.set('probe-overconfidence', {
          step,
          kind: 'collapse',
          detail:
            `on the labelled probe agreement went ${round2(baseline.agreement)} → ${round2(probe.agreement)} while accuracy went ` +
            `${percent(baseline.accuracy)} → ${percent(probe.accuracy)} (means of ${COLLAPSE_THRESHOLDS.probeWindow} probes): the policy agrees with itself ` +
            `more than it grows right`,
          metrics: {
            probe_agreement: probe.agreement,
            baseline_probe_agreement: baseline.agreement,
            probe_accuracy: probe.accuracy,
            baseline_probe_accuracy: baseline.accuracy,
          },
        });
      }
    }

    if (this.options.curationOnly) {
      if (reading.kept === 0) {
        now.set('no-kept-items', {
          step,
          kind: 'no-kept-items',
          detail: `step ${step} kept nothing: no item passed the filters and the difficulty band`,
          metrics: { voted: reading.voted, kept: 0 },
        });
      }
    } else if (reading.trained === 0) {
      now.set('no-kept-items', {
        step,
        kind: 'no-kept-items',
        detail: `step ${step} trained nothing: no item passed the filters and the difficulty band`,
        metrics: { voted: reading.voted, trained: 0 },
      });
    }

    const started = [...now].filter(([condition]) => !this.active.has(condition)).map(([, alert]) => alert);
    this.active = new Set([...now.keys(), ...[...this.active].filter((condition) => unread.has(condition))]);
    return started;
  }

  /** The mean of the last probeWindow probe readings, once that many were taken; null on steps without one. */
  private smoothedProbe(reading: MonitorReading): ProbeLevel | null {
    const accuracy = reading.probe_accuracy ?? null;
    const agreement = reading.probe_agreement ?? null;
    if (accuracy === null || agreement === null) return null;
    const smoothedAccuracy = pushWindow(this.probeAccuracies, accuracy, COLLAPSE_THRESHOLDS.probeWindow);
    const smoothedAgreement = pushWindow(this.probeAgreements, agreement, COLLAPSE_THRESHOLDS.probeWindow);
    return smoothedAccuracy === null || smoothedAgreement === null ? null : { accuracy: smoothedAccuracy, agreement: smoothedAgreement };
  }

  private entropyBaseline(): number | null {
    if (this.baselineEntropies.length < COLLAPSE_THRESHOLDS.entropyBaselineSteps) return null;
    return this.baselineEntropies.reduce((sum, value) => sum + value, 0) / this.baselineEntropies.length;
  }
}

/** Appends a reading to a rolling window of `size`; the window's mean once it is full, else null. */
function pushWindow(window: number[], value: number, size: number): number | null {
  window.push(value);
  if (window.length > size) window.shift();
  return window.length < size ? null : window.reduce((sum, entry) => sum + entry, 0) / size;
}

function percent(share: number): string {
  return `${Math.round(share * 100)}%`;
}

function round2(value: number): string {
  return value.toFixed(2);
}

function round(value: number): number {
  return Number(value.toFixed(4));
}
