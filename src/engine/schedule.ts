// The learning-rate schedule of a run, per RL step (OpenRLHF's scheduler, counted in RL steps rather than
// optimizer steps: every optimizer step of one RL step uses that step's rate, which the controller passes
// to the worker's train_step).
import type { RunConfig } from '../core/config';

/** cosine_with_min_lr decays to this share of the peak rate (OpenRLHF: min_lr = 0.1 × lr). */
export const COSINE_MIN_LR_SHARE = 0.1;

/**
 * The rate for 1-based RL step `step` of `totalSteps`: a linear warm-up over the first
 * ceil(lr_warmup_ratio × totalSteps) steps (never 0, which the worker refuses), then constant or a cosine
 * decay to 0.1 × lr that reaches its floor at the last step.
 */
export function learningRate(optimizer: RunConfig['optimizer'], step: number, totalSteps: number): number {
  if (!Number.isInteger(step) || step < 1) throw new RangeError(`step must be a positive integer, got ${step}`);
  const total = Math.max(totalSteps, step);
  const warmupSteps = Math.ceil(optimizer.lr_warmup_ratio * total);
  if (step <= warmupSteps) return (optimizer.lr * step) / (warmupSteps + 1);
  if (optimizer.lr_scheduler === 'constant_with_warmup') return optimizer.lr;
  const decaySteps = total - warmupSteps;
  const progress = decaySteps <= 1 ? 1 : (step - warmupSteps - 1) / (decaySteps - 1);
  const minLr = COSINE_MIN_LR_SHARE * optimizer.lr;
  return minLr + (optimizer.lr - minLr) * 0.5 * (1 + Math.cos(Math.PI * progress));
}
