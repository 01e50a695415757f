// The collapse monitor's labelled probe (issue 3; DESIGN.md "Known failure mode"). In SeRL mode the loop
// trains on generated instructions, which carry no labels, so nothing it trains on tells whether the
// majority is still right: a policy can grow unanimous on wrong answers while the all-equal share and the
// entropy stay inside their thresholds (measured: bench/README.md, arithmetic world). The probe is a fixed
// slice of labelled seeds that the controller votes on every `monitor.probe_every` steps with the
// rollout's sampling settings; it never trains and never enters the pool, so it measures the policy
// without being optimised by it.
import { createRng } from '../core/random';
import { majorityMatches, majorityVote } from '../core/vote';

export interface ProbeReading {
  /** Share of probe items whose majority answer equals the seed's answer. */
  probe_accuracy: number;
  /** Mean majority agreement over the probe items. */
  probe_agreement: number;
}

/**
 * The probe's seed indices: the first `size` seeds with an answer in an order shuffled by `seed`. Its own
 * generator, so that choosing the probe leaves the run's random stream (exemplars, draws) as it was.
 * Empty when no seed has an answer.
 */
export function chooseProbeSlice(answers: readonly (string | null)[], size: number, seed: number): number[] {
  const order = createRng(seed).shuffle(answers.map((_, index) => index));
  return order.filter((index) => answers[index] !== null).slice(0, size);
}

/**
 * A recorded slice checked against the seed file as it is now: every index must name a seed with an
 * answer, else the probe would silently measure something else. Returns the problems, "" when none.
 */
export function checkProbeSlice(indices: readonly number[], answers: readonly (string | null)[], seedFile: string): string {
  const bad = indices.filter((index) => index >= answers.length || answers[index] === null);
  if (bad.length === 0) return '';
  const shown = bad.slice(0, 5).map((index) => index + 1).join(', ');
  return `${seedFile}: the run's probe slice names seed line(s) ${shown}${bad.length > 5 ? ', …' : ''}, which the file no longer has or which have no "answer" (was the seed file changed under the run?)`;
}

/** Whether `step` votes on the probe: every `every` steps and at the run's last step (like evaluation). */
export function probeDue(step: number, every: number, totalSteps: number): boolean {
  return step % every === 0 || step === totalSteps;
}

/** Votes on each item's responses and compares each majority with the item's answer. */
export function scoreProbe(responses: readonly (readonly string[])[], answers: readonly string[]): ProbeReading {
  if (responses.length === 0 || responses.length !== answers.length) {
    throw new Error(`probe: ${responses.length} response groups for ${answers.length} items`);
  }
  let matches = 0;
  let agreement = 0;
  responses.forEach((texts, i) => {
    const vote = majorityVote([...texts]);
    if (majorityMatches(vote, answers[i])) matches += 1;
    agreement += vote.agreement;
  });
  return { probe_accuracy: matches / responses.length, probe_agreement: agreement / responses.length };
}
