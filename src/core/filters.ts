// The filters between generation and training: the similarity filter (SeRL/self-instruct: ROUGE-L F1
// > 0.7 against any seed or any item already accepted in the batch is a duplicate; SeRL Studio adds
// items the user vetoed) and the difficulty filter on majority-vote agreement. Every rejection carries
// a reason code from FILTER_REASONS, which run events and the dashboard share.
import { NearDuplicateIndex } from './rouge';
import { RULE_REJECT_REASONS } from './selfInstruct';

export const DEFAULT_ROUGE_THRESHOLD = 0.7;
/** SeRL's `--reward_difficulty_bounds 0.2 0.8`. */
export const DEFAULT_DIFFICULTY_BOUNDS: readonly [number, number] = [0.2, 0.8];

export const SIMILARITY_REJECT_REASONS = ['duplicate', 'similar-to-vetoed'] as const;
export type SimilarityRejectReason = (typeof SIMILARITY_REJECT_REASONS)[number];

export const DIFFICULTY_REJECT_REASONS = ['too-easy', 'too-hard'] as const;
export type DifficultyRejectReason = (typeof DIFFICULTY_REJECT_REASONS)[number];

/** Why an item left the pipeline, in pipeline order: rule filters, similarity, difficulty. */
export const FILTER_REASONS = [
  ...RULE_REJECT_REASONS,
  ...SIMILARITY_REJECT_REASONS,
  ...DIFFICULTY_REJECT_REASONS,
] as const;
export type FilterReason = (typeof FILTER_REASONS)[number];

/** The texts an item is compared against: seeds, items accepted in the current batch, vetoed items. */
export type SimilarityPool = 'seed' | 'accepted' | 'vetoed';

export interface Neighbour<Ref> {
  pool: SimilarityPool;
  ref: Ref;
  /** ROUGE-L F1 against the candidate. */
  score: number;
}

export type SimilarityVerdict<Ref> =
  | {
      ok: true;
      /** The most similar seed or accepted item (all at or below the threshold); null when both pools are empty. */
      nearest: Neighbour<Ref> | null;
    }
  | {
      ok: false;
      reason: SimilarityRejectReason;
      detail: string;
      /** The most similar item above the threshold in the pool that rejected the candidate. */
      nearest: Neighbour<Ref>;
    };

const POOL_NAMES: Record<SimilarityPool, string> = {
  seed: 'a seed',
  accepted: 'an item accepted in this batch',
  vetoed: 'a vetoed item',
};

/**
 * SeRL's similarity filter with SeRL Studio's veto pool. `Ref` identifies an item to the caller (a seed
 * index, an item id). As in SeRL, accepted items count only within the current batch (`newBatch`),
 * while seeds and vetoed items count for the whole run.
 */
export class SimilarityFilter<Ref> {
  readonly threshold: number;
  private readonly seeds: NearDuplicateIndex<Ref>;
  private readonly vetoed: NearDuplicateIndex<Ref>;
  private accepted: NearDuplicateIndex<Ref>;

  constructor(threshold: number = DEFAULT_ROUGE_THRESHOLD) {
    if (!(threshold >= 0 && threshold <= 1)) {
      throw new RangeError(`ROUGE-L threshold must be in [0, 1], got ${threshold}`);
    }
    this.threshold = threshold;
    this.seeds = this.createIndex();
    this.vetoed = this.createIndex();
    this.accepted = this.createIndex();
  }

  /** An index whose prefix filter is sized for this threshold, so `nearestAbove` always prunes. */
  private createIndex(): NearDuplicateIndex<Ref> {
    return new NearDuplicateIndex<Ref>({ minThreshold: this.threshold });
  }

  addSeed(text: string, ref: Ref): void {
    this.seeds.add(text, ref);
  }

  /** A vetoed item: later candidates too similar to it are rejected as 'similar-to-vetoed'. */
  addVetoed(text: string, ref: Ref): void {
    this.vetoed.add(text, ref);
  }

  /** Forgets the items accepted so far (SeRL clears its batch after each training step). */
  newBatch(): void {
    this.accepted = this.createIndex();
  }

  get sizes(): Record<SimilarityPool, number> {
    return { seed: this.seeds.size, accepted: this.accepted.size, vetoed: this.vetoed.size };
  }

  /**
   * The verdict on a candidate, without accepting it. A vetoed neighbour is reported first since it is
   * the user's own judgement; a seed wins a tie with an accepted item, as seeds come first in SeRL's list.
   */
  check(text: string): SimilarityVerdict<Ref> {
    const vetoed = this.vetoed.nearestAbove(text, this.threshold);
    if (vetoed) return this.reject('similar-to-vetoed', { pool: 'vetoed', ...vetoed });
    const duplicate = better(
      this.neighbour('seed', this.seeds.nearestAbove(text, this.threshold)),
      this.neighbour('accepted', this.accepted.nearestAbove(text, this.threshold)),
    );
    if (duplicate) return this.reject('duplicate', duplicate);
    const nearestSeed = this.neighbour('seed', this.seeds.nearest(text));
    return { ok: true, nearest: better(nearestSeed, this.neighbour('accepted', this.accepted.nearest(text))) };
  }

  /** Adds an item to the current batch's accepted pool. */
  accept(text: string, ref: Ref): void {
    this.accepted.add(text, ref);
  }

  /** `check`, then `accept` when the candidate passes: SeRL's per-item loop. */
  checkAndAccept(text: string, ref: Ref): SimilarityVerdict<Ref> {
    const verdict = this.check(text);
    if (verdict.ok) this.accept(text, ref);
    return verdict;
  }

  private neighbour(pool: SimilarityPool, match: { ref: Ref; score: number } | null): Neighbour<Ref> | null {
    return match && { pool, ...match };
  }

  private reject(reason: SimilarityRejectReason, nearest: Neighbour<Ref>): SimilarityVerdict<Ref> {
    const score = formatAgainst(nearest.score, this.threshold);
    const detail = `ROUGE-L ${score} > ${this.threshold} against ${POOL_NAMES[nearest.pool]}`;
    return { ok: false, reason, detail, nearest };
  }
}

/** The higher-scoring neighbour; `first` on a tie. */
function better<Ref>(first: Neighbour<Ref> | null, second: Neighbour<Ref> | null): Neighbour<Ref> | null {
  if (!first) return second;
  if (!second) return first;
  return second.score > first.score ? second : first;
}

export type DifficultyStatus = 'kept' | DifficultyRejectReason;

export interface DifficultyVerdict {
  status: DifficultyStatus;
  detail: string;
}

/**
 * SeRL's difficulty filter: keep an instruction whose majority-vote agreement (mean reward) lies in
 * [low, high], inclusive at both ends; above is too easy (the model already agrees with itself), below
 * too hard (no reliable majority).
 */
export function difficultyFilter(
  agreement: number,
  bounds: readonly [number, number] = DEFAULT_DIFFICULTY_BOUNDS,
): DifficultyVerdict {
  const [low, high] = bounds;
  if (!(low >= 0 && low <= high && high <= 1)) {
    throw new RangeError(`difficulty bounds must satisfy 0 <= low <= high <= 1, got [${low}, ${high}]`);
  }
  if (!(agreement >= 0 && agreement <= 1)) throw new RangeError(`agreement must be in [0, 1], got ${agreement}`);
  if (agreement > high) {
    return { status: 'too-easy', detail: `agreement ${formatAgainst(agreement, high)} > ${high} (upper bound)` };
  }
  if (agreement < low) {
    return { status: 'too-hard', detail: `agreement ${formatAgainst(agreement, low)} < ${low} (lower bound)` };
  }
  return { status: 'kept', detail: `agreement ${formatAgainst(agreement)} within [${low}, ${high}]` };
}

/**
 * Four decimals without trailing zeros, or as many more as it takes not to print a value that lies
 * beyond a bound as the bound itself (0.70001 > 0.7 must not read "0.7 > 0.7").
 */
function formatAgainst(value: number, bound?: number): string {
  for (let digits = 4; digits < 17; digits++) {
    const text = String(Number(value.toFixed(digits)));
    if (bound === undefined || value === bound || Number(text) !== bound) return text;
  }
  return String(value);
}
