// Advantages from per-response rewards, grouped by prompt (one group = the n responses to one
// instruction). Semantics follow OpenRLHF as SeRL runs it (SeRL's fork, `compute_advantages_and_returns`):
//
// - 'reinforce++' (SeRL's `--advantage_estimator reinforce`, REINFORCE++): the reward itself, then whitened
//   over the whole batch: (r − mean) / sqrt(max(var, 1e-8)), population variance.
// - 'rloo' (`rloo`): r_i minus the mean of the other n−1 rewards of its group, then whitened over the batch
//   the same way (OpenRLHF whitens every estimator except group_norm).
// - 'grpo' (`group_norm`): (r − group mean) / (group std + 1e-9), sample std (n−1, torch.std's default),
//   no batch whitening.
//
// OpenRLHF computes the batch statistics over tokens: every response token carries its response's
// advantage, so a response weighs by its length. Pass `tokenCounts` to reproduce that exactly; without it
// each response weighs 1. The KL penalty is not here: in OpenRLHF's REINFORCE++ the k1 KL is folded into
// the token rewards before whitening, while in SeRL Studio the worker applies KL (as a token-reward
// penalty or a loss term) after this step. With SeRL's init_kl_coef of 1e-4 the difference is far below
// the advantages' own noise; with `use_kl_loss` it is none.

export const ADVANTAGE_ESTIMATORS = ['reinforce++', 'grpo', 'rloo'] as const;
export type AdvantageEstimator = (typeof ADVANTAGE_ESTIMATORS)[number];

/** OpenRLHF's floor on the batch variance before `rsqrt`. */
export const WHITENING_MIN_VARIANCE = 1e-8;
/** OpenRLHF's `group_norm` epsilon added to the group standard deviation. */
export const GROUP_STD_EPSILON = 1e-9;

export interface AdvantageOptions {
  /** Each response's length in tokens, in the shape of the reward groups: batch statistics weigh by it. */
  tokenCounts?: readonly (readonly number[])[];
}

/** Advantages of `estimator` for reward groups; the result has the groups' shape. */
export function computeAdvantages(
  estimator: AdvantageEstimator,
  groups: readonly (readonly number[])[],
  options: AdvantageOptions = {},
): number[][] {
  switch (estimator) {
    case 'reinforce++':
      return reinforcePlusPlusAdvantages(groups, options);
    case 'grpo':
      return grpoAdvantages(groups);
    case 'rloo':
      return rlooAdvantages(groups, options);
  }
}

/** REINFORCE++: rewards whitened over the batch (groups only give the shape). */
export function reinforcePlusPlusAdvantages(
  groups: readonly (readonly number[])[],
  options: AdvantageOptions = {},
): number[][] {
  checkRewards(groups);
  return whiten(
    groups.map((group) => [...group]),
    options.tokenCounts,
  );
}

/**
 * RLOO: each reward minus the mean of the other rewards of its group, then whitened over the batch.
 * A single-response group has no other responses to compare with: its shaped reward is 0.
 */
export function rlooAdvantages(groups: readonly (readonly number[])[], options: AdvantageOptions = {}): number[][] {
  checkRewards(groups);
  const shaped = groups.map((group) => {
    if (group.length < 2) return group.map(() => 0);
    const sum = group.reduce((total, reward) => total + reward, 0);
    return group.map((reward) => reward - (sum - reward) / (group.length - 1));
  });
  return whiten(shaped, options.tokenCounts);
}

/**
 * GRPO: rewards standardised within each group. A group whose rewards are all equal, or that has a
 * single response (no sample std), gets 0 for every response: it carries no learning signal.
 */
export function grpoAdvantages(groups: readonly (readonly number[])[]): number[][] {
  checkRewards(groups);
  return groups.map((group) => {
    if (group.length < 2) return group.map(() => 0);
    const mean = group.reduce((total, reward) => total + reward, 0) / group.length;
    const squares = group.reduce((total, reward) => total + (reward - mean) ** 2, 0);
    const std = Math.sqrt(squares / (group.length - 1));
    return group.map((reward) => (reward - mean) / (std + GROUP_STD_EPSILON));
  });
}

/** (x − mean) / sqrt(max(var, 1e-8)) with weighted batch mean and population variance. */
function whiten(groups: number[][], tokenCounts: AdvantageOptions['tokenCounts']): number[][] {
  if (tokenCounts) checkTokenCounts(groups, tokenCounts);
  const weightOf = (g: number, i: number) => (tokenCounts ? tokenCounts[g][i] : 1);
  let totalWeight = 0;
  let weightedSum = 0;
  groups.forEach((group, g) =>
    group.forEach((value, i) => {
      totalWeight += weightOf(g, i);
      weightedSum += weightOf(g, i) * value;
    }),
  );
  if (totalWeight === 0) return groups.map((group) => group.map(() => 0));
  const mean = weightedSum / totalWeight;
  let weightedSquares = 0;
  groups.forEach((group, g) => group.forEach((value, i) => (weightedSquares += weightOf(g, i) * (value - mean) ** 2)));
  const scale = 1 / Math.sqrt(Math.max(weightedSquares / totalWeight, WHITENING_MIN_VARIANCE));
  return groups.map((group) => group.map((value) => (value - mean) * scale));
}

function checkRewards(groups: readonly (readonly number[])[]): void {
  groups.forEach((group, g) =>
    group.forEach((reward, i) => {
      if (!Number.isFinite(reward)) throw new RangeError(`reward [${g}][${i}] is not a finite number: ${reward}`);
    }),
  );
}

function checkTokenCounts(groups: readonly (readonly number[])[], tokenCounts: readonly (readonly number[])[]): void {
  if (tokenCounts.length !== groups.length) {
    throw new RangeError(`tokenCounts has ${tokenCounts.length} groups, rewards have ${groups.length}`);
  }
  groups.forEach((group, g) => {
    const counts = tokenCounts[g];
    if (counts.length !== group.length) {
      throw new RangeError(`tokenCounts[${g}] has ${counts.length} entries, rewards[${g}] has ${group.length}`);
    }
    counts.forEach((count, i) => {
      if (!Number.isInteger(count) || count < 0) {
        throw new RangeError(`tokenCounts[${g}][${i}] must be a non-negative integer, got ${count}`);
      }
    });
  });
}
