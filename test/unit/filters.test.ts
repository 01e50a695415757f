import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  difficultyFilter,
  FILTER_REASONS,
  SimilarityFilter,
  type SimilarityVerdict,
} from '../../src/core/filters';
import { rougeL } from '../../src/core/rouge';
import { RULE_REJECT_REASONS } from '../../src/core/selfInstruct';
import { MATH_SEEDS_FILE, readMathSeeds, skipUnlessPresent } from '../sharedData';


const SEEDS = [
  'What is the sum of the first ten positive integers?',
  'A rectangle has length 8 and width 3. What is its area?',
  'How many prime numbers are there between 1 and 50?',
];

function rejection<Ref>(verdict: SimilarityVerdict<Ref>) {
  return verdict.ok ? null : { reason: verdict.reason, detail: verdict.detail, nearest: verdict.nearest };
}

function filterWithSeeds(threshold?: number): SimilarityFilter<string> {
  const filter = new SimilarityFilter<string>(threshold);
  SEEDS.forEach((text, i) => filter.addSeed(text, `seed-${i}`));
  return filter;
}

describe('FILTER_REASONS', () => {
  it('lists the rule, similarity and difficulty reasons once each, in pipeline order', () => {
    assert.deepEqual(
      [...FILTER_REASONS],
      [...RULE_REJECT_REASONS, 'duplicate', 'similar-to-vetoed', 'too-easy', 'too-hard'],
    );
    assert.equal(new Set(FILTER_REASONS).size, FILTER_REASONS.length);
  });
});

describe('SimilarityFilter', () => {
  it('rejects a near copy of a seed as a duplicate and reports the seed and its ROUGE-L score', () => {
    const candidate = 'What is the sum of the first twenty positive integers?';
    const score = rougeL(candidate, SEEDS[0]!);
    assert.ok(score > 0.7);
    assert.deepEqual(rejection(filterWithSeeds().check(candidate)), {
      reason: 'duplicate',
      detail: `ROUGE-L ${Number(score.toFixed(4))} > 0.7 against a seed`,
      nearest: { pool: 'seed', ref: 'seed-0', score },
    });
  });

  it('accepts a new problem and reports its nearest seed with a score at or below the threshold', () => {
    const candidate = 'A square has side 5. What is its perimeter?';
    const verdict = filterWithSeeds().check(candidate);
    assert.equal(verdict.ok, true);
    assert.equal(verdict.nearest?.ref, 'seed-1');
    assert.equal(verdict.nearest?.pool, 'seed');
    assert.equal(verdict.nearest?.score, rougeL(candidate, SEEDS[1]!));
    assert.ok(verdict.nearest!.score <= 0.7);
  });

  it('keeps a candidate whose score equals the threshold exactly (the rule is "> threshold")', () => {
    // 7 shared tokens of 10 and 10: F1 = 0.7 exactly.
    const seed = 'alpha beta gamma delta epsilon zeta eta theta iota kappa';
    const candidate = 'alpha beta gamma delta epsilon zeta eta one two three';
    assert.equal(rougeL(seed, candidate), 0.7);
    const filter = new SimilarityFilter<number>();
    filter.addSeed(seed, 0);
    assert.equal(filter.check(candidate).ok, true);
    assert.equal(filter.check(seed).ok, false);
  });

  it('compares against items accepted earlier in the batch (SeRL), but only after they are accepted', () => {
    const filter = filterWithSeeds();
    const first = 'A train travels 60 miles in 1.5 hours. What is its average speed?';
    const second = 'A train travels 90 miles in 1.5 hours. What is its average speed?';
    assert.equal(filter.check(second).ok, true, 'check alone does not accept');
    assert.equal(filter.checkAndAccept(first, 'gen-1').ok, true);
    assert.deepEqual(rejection(filter.checkAndAccept(second, 'gen-2')), {
      reason: 'duplicate',
      detail: `ROUGE-L ${Number(rougeL(first, second).toFixed(4))} > 0.7 against an item accepted in this batch`,
      nearest: { pool: 'accepted', ref: 'gen-1', score: rougeL(first, second) },
    });
    assert.deepEqual(filter.sizes, { seed: 3, accepted: 1, vetoed: 0 });
  });

  it('forgets the accepted items when a new batch starts, but keeps seeds and vetoed items', () => {
    const filter = filterWithSeeds();
    filter.accept('Find the largest prime factor of 221.', 'gen-1');
    filter.addVetoed('Compute the product of the digits of 2024 here.', 'veto-1');
    filter.newBatch();
    assert.equal(filter.check('Find the largest prime factor of 323.').ok, true);
    assert.equal(filter.check(SEEDS[2]!).ok, false);
    assert.equal(rejection(filter.check('Compute the product of the digits of 2025 here.'))?.reason, 'similar-to-vetoed');
    assert.deepEqual(filter.sizes, { seed: 3, accepted: 0, vetoed: 1 });
  });

  it('reports a vetoed neighbour in preference to a duplicate', () => {
    const filter = filterWithSeeds();
    filter.addVetoed(SEEDS[0]!, 'veto-7');
    assert.deepEqual(rejection(filter.check(SEEDS[0]!)), {
      reason: 'similar-to-vetoed',
      detail: 'ROUGE-L 1 > 0.7 against a vetoed item',
      nearest: { pool: 'vetoed', ref: 'veto-7', score: 1 },
    });
  });

  it('does not accept a rejected candidate', () => {
    const filter = filterWithSeeds();
    assert.equal(filter.checkAndAccept(SEEDS[1]!, 'gen-1').ok, false);
    assert.deepEqual(filter.sizes, { seed: 3, accepted: 0, vetoed: 0 });
  });

  it('picks the higher-scoring pool for the nearest item, and the seed on a tie', () => {
    const filter = new SimilarityFilter<string>();
    filter.addSeed('one two three four five six seven eight nine ten', 'seed');
    filter.accept('one two three four five six seven eight nine ten', 'accepted');
    const exact = filter.check('one two three four five six seven eight nine ten');
    assert.equal(rejection(exact)?.nearest.ref, 'seed');
    filter.accept('one two three four five six seven eight nine eleven', 'closer');
    const closer = filter.check('one two three four five six seven eight nine eleven');
    assert.equal(rejection(closer)?.nearest.ref, 'closer');
    assert.equal(rejection(closer)?.nearest.score, 1);
  });

  it('honours a custom threshold', () => {
    const candidate = 'What is the sum of the first ten odd integers?';
    const score = rougeL(candidate, SEEDS[0]!);
    assert.ok(score > 0.5 && score <= 0.9, `score ${score}`);
    assert.equal(filterWithSeeds(0.9).check(candidate).ok, true);
    assert.equal(filterWithSeeds(0.5).check(candidate).ok, false);
    assert.match(rejection(filterWithSeeds(0.5).check(candidate))!.detail, /> 0\.5 against a seed$/);
  });

  it('prints enough digits that a score just above the threshold does not read as the threshold', () => {
    // 71 of 100 shared tokens: F1 0.71; at threshold 0.7099999 the 4-decimal form would be "0.71".
    const base = Array.from({ length: 100 }, (_, i) => `w${i}`);
    const other = [...base.slice(0, 71), ...Array.from({ length: 29 }, (_, i) => `x${i}`)];
    const filter = new SimilarityFilter<number>(0.7099999);
    filter.addSeed(base.join(' '), 0);
    assert.equal(rejection(filter.check(other.join(' ')))?.detail, 'ROUGE-L 0.71 > 0.7099999 against a seed');
    const tight = new SimilarityFilter<number>(0.70999);
    tight.addSeed(base.join(' '), 0);
    assert.equal(rejection(tight.check(other.join(' ')))?.detail, 'ROUGE-L 0.71 > 0.70999 against a seed');
  });

  it('reports no nearest item when both pools are empty, and rejects nothing', () => {
    assert.deepEqual(new SimilarityFilter<number>().check('Anything at all goes here.'), { ok: true, nearest: null });
  });

  it('treats texts without ROUGE tokens as never similar', () => {
    const filter = filterWithSeeds();
    const verdict = filter.check('∑∫ — ∂');
    assert.equal(verdict.ok, true);
    assert.equal(verdict.nearest?.score, 0);
  });

  it('rejects thresholds outside [0, 1]', () => {
    for (const threshold of [-0.1, 1.1, Number.NaN]) assert.throws(() => new SimilarityFilter(threshold), RangeError);
  });

  it('agrees with scoring every pair on the MATH seeds', { skip: skipUnlessPresent(MATH_SEEDS_FILE) }, () => {
    const problems = readMathSeeds().map((seed) => seed.problem);
    // Seeds: the first 400; candidates: the last 100, run through SeRL's accept-as-you-go loop.
    const filter = new SimilarityFilter<number>();
    problems.slice(0, 400).forEach((text, i) => filter.addSeed(text, i));
    const accepted: number[] = [];
    for (let c = 400; c < problems.length; c++) {
      const pool = [...problems.slice(0, 400).map((_, i) => i), ...accepted];
      const scores = pool.map((i) => rougeL(problems[c]!, problems[i]!));
      const best = Math.max(...scores);
      const verdict = filter.checkAndAccept(problems[c]!, c);
      assert.equal(verdict.ok, best <= 0.7, `candidate ${c}: best ${best}`);
      assert.equal(verdict.nearest?.score, best, `candidate ${c}`);
      assert.equal(verdict.nearest?.ref, pool[scores.indexOf(best)], `candidate ${c}`);
      if (verdict.ok) accepted.push(c);
    }
    assert.ok(accepted.length > 90, `accepted ${accepted.length}`);
  });
});

describe('difficultyFilter', () => {
  it('keeps agreement inside [0.2, 0.8], inclusive at both ends', () => {
    for (const agreement of [0.2, 0.25, 0.5, 0.8, 3 / 15, 12 / 15]) {
      assert.equal(difficultyFilter(agreement).status, 'kept', `agreement ${agreement}`);
    }
    assert.deepEqual(difficultyFilter(0.5), { status: 'kept', detail: 'agreement 0.5 within [0.2, 0.8]' });
  });

  it('calls agreement above the upper bound too easy', () => {
    assert.deepEqual(difficultyFilter(13 / 16), { status: 'too-easy', detail: 'agreement 0.8125 > 0.8 (upper bound)' });
    assert.equal(difficultyFilter(1).status, 'too-easy');
  });

  it('calls agreement below the lower bound too hard', () => {
    assert.deepEqual(difficultyFilter(3 / 16), { status: 'too-hard', detail: 'agreement 0.1875 < 0.2 (lower bound)' });
    assert.deepEqual(difficultyFilter(0), { status: 'too-hard', detail: 'agreement 0 < 0.2 (lower bound)' });
  });

  it('shows extra digits when rounding would print the bound itself', () => {
    assert.equal(difficultyFilter(0.80001).detail, 'agreement 0.80001 > 0.8 (upper bound)');
    assert.equal(difficultyFilter(1 / 3, [0.4, 0.6]).detail, 'agreement 0.3333 < 0.4 (lower bound)');
  });

  it('takes other bounds, including a single point', () => {
    assert.equal(difficultyFilter(0.9, [0, 1]).status, 'kept');
    assert.equal(difficultyFilter(0.5, [0.5, 0.5]).status, 'kept');
    assert.equal(difficultyFilter(0.5625, [0.5, 0.5]).status, 'too-easy');
  });

  it('rejects agreement outside [0, 1] and malformed bounds', () => {
    for (const agreement of [-0.1, 1.1, Number.NaN]) {
      assert.throws(() => difficultyFilter(agreement), /agreement must be in \[0, 1\]/);
    }
    assert.throws(() => difficultyFilter(0.5, [0.8, 0.2]), /0 <= low <= high <= 1/);
    assert.throws(() => difficultyFilter(0.5, [-1, 0.2]), /0 <= low <= high <= 1/);
    assert.throws(() => difficultyFilter(0.5, [0.2, 2]), /0 <= low <= high <= 1/);
  });
});
