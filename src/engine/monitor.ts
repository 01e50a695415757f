// The collapse monitor: majority-vote RL can learn to agree with itself on wrong answers (agreement → 1,
// entropy → 0; DESIGN.md "Known failure mode"). It watches each step's metrics and raises an alert when a
// reading crosses its threshold — once when it crosses, not on every step it stays beyond.
//
// Thresholds (readings from step-metrics):
// - all_equal_share ≥ 0.9 over at least 4 voted items: nearly every group answers unanimously, so the
//   majority vote no longer tells responses apart (the band then drops nearly everything as too easy).
// - entropy < 0.25 × its baseline, the mean over the first 3 steps that trained: the policy has become
//   (near) deterministic; an absolute floor would not fit models of different vocabularies.
// - label_accuracy at least 0.2 below the best seen earlier in the run, on items with a known answer
//   (seed answers, relabels): the majority has drifted away from the truth.
// - no-kept-items: a step trained nothing (the difficulty band or the filters rejected every item); in a
//   curation-only run, which trains nothing by design, a step that kept nothing.
import type { Alert, StepMetrics } from '../protocol/events';

export const COLLAPSE_THRESHOLDS = {
  allEqualShare: 0.9,
  minVotedForAllEqual: 4,
  entropyRatio: 0.25,
  entropyBaselineSteps: 3,
  labelAccuracyDrop: 0.2,
} as const;

export type MonitorReading = Pick<
  StepMetrics,
  'step' | 'voted' | 'trained' | 'all_equal_share' | 'entropy' | 'label_accuracy'
> &
  Partial<Pick<StepMetrics, 'kept'>>;

export type MonitorAlert = Pick<Alert, 'step' | 'kind' | 'detail' | 'metrics'>;

type Condition = 'all-equal' | 'entropy' | 'label-accuracy' | 'no-kept-items';

export class CollapseMonitor {
  private readonly baselineEntropies: number[] = [];
  private bestLabelAccuracy: number | null = null;
  private active = new Set<Condition>();

  constructor(private readonly options: { curationOnly?: boolean } = {}) {}

  /** Folds in one completed step; returns the alerts whose condition starts at this step. */
  observe(reading: MonitorReading): MonitorAlert[] {
    const now = new Map<Condition, MonitorAlert>();
    const { step } = reading;

    const share = reading.all_equal_share;
    if (share !== null && reading.voted >= COLLAPSE_THRESHOLDS.minVotedForAllEqual && share >= COLLAPSE_THRESHOLDS.allEqualShare) {
      now.set('all-equal', {
        step,
        kind: 'collapse',
        detail: `${percent(share)} of the ${reading.voted} voted items answered unanimously (threshold ${percent(COLLAPSE_THRESHOLDS.allEqualShare)})`,
        metrics: { all_equal_share: share, voted: reading.voted },
      });
    }

    const entropy = reading.entropy;
    if (entropy !== null) {
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

    const accuracy = reading.label_accuracy;
    if (accuracy !== null) {
      const best = this.bestLabelAccuracy;
      if (best !== null && accuracy <= best - COLLAPSE_THRESHOLDS.labelAccuracyDrop) {
        now.set('label-accuracy', {
          step,
          kind: 'collapse',
          detail: `majority answers match the known answers ${percent(accuracy)} of the time, down from ${percent(best)}`,
          metrics: { label_accuracy: accuracy, best_label_accuracy: best },
        });
      }
      this.bestLabelAccuracy = best === null ? accuracy : Math.max(best, accuracy);
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
    this.active = new Set(now.keys());
    return started;
  }

  private entropyBaseline(): number | null {
    if (this.baselineEntropies.length < COLLAPSE_THRESHOLDS.entropyBaselineSteps) return null;
    return this.baselineEntropies.reduce((sum, value) => sum + value, 0) / this.baselineEntropies.length;
  }
}

function percent(share: number): string {
  return `${Math.round(share * 100)}%`;
}

function round(value: number): number {
  return Number(value.toFixed(4));
}
