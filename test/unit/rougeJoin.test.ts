// nearestEarlierAbove against the naive all-pairs search (rougeLFromTokens of every text against every
// earlier one), on a corpus built to stress the join's filters: short templated texts made mostly of
// frequent tokens, near copies, reorderings (high token overlap, lower LCS), scores exactly at the
// threshold, equal scores from several earlier texts (ties go to the earliest), empty and one-token texts.
// Each pair-key shape is forced in turn (they are all exact; the join only picks the cheapest), and the
// join's own choice is checked too.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createRng, type Rng } from '../../src/core/random';
import { PAIR_KEY_SHAPES, joinShare, mergeNearestEarlier, nearestEarlierAbove, packTexts, prepareJoin, rougeLFromTokens, rougeTokens, unpackTexts, type NearDuplicateMatch } from '../../src/core/rouge';

const NAMES = ['Ava', 'Ben', 'Cleo', 'Dev'];
const THINGS = ['apples', 'coins', 'cards'];
const SYLLABLES = ['ka', 'lo', 'mi', 'ne', 'ru', 'sa'];

function rareWord(rng: Rng): string {
  return Array.from({ length: 2 + rng.int(2) }, () => rng.pick(SYLLABLES)).join('');
}

/** A templated problem: 15 frame tokens from small sets, and `details` rare words (0 makes it all frame). */
function templated(rng: Rng, details: number): string {
  const detail = Array.from({ length: details }, () => rareWord(rng)).join(' ');
  return `${rng.pick(NAMES)} has ${1 + rng.int(9)} ${rng.pick(THINGS)}. ${detail}. Then ${rng.pick(NAMES)} gives ${1 + rng.int(5)} more. How many ${rng.pick(THINGS)} are there now?`;
}

/** `edits` random replacements, insertions and deletions of tokens. */
function edited(rng: Rng, tokens: readonly string[], edits: number): string[] {
  const result = [...tokens];
  for (let k = 0; k < edits; k++) {
    const at = rng.int(result.length + 1);
    const kind = rng.int(3);
    if (kind === 0 && at < result.length) result[at] = rareWord(rng);
    else if (kind === 1 || result.length === 0) result.splice(at, 0, rareWord(rng));
    else result.splice(Math.min(at, result.length - 1), 1);
  }
  return result;
}

/** Two tokens swapped `swaps` times: the bag of tokens stays, the LCS drops. */
function reordered(rng: Rng, tokens: readonly string[], swaps: number): string[] {
  const result = [...tokens];
  for (let k = 0; k < swaps && result.length > 1; k++) {
    const i = rng.int(result.length);
    const j = rng.int(result.length);
    [result[i], result[j]] = [result[j]!, result[i]!];
  }
  return result;
}

/**
 * Ten tokens, then a text sharing exactly `shared` of them in order among `length` tokens: with 7 of 10
 * against 10, F1 = 2·7/20 = 0.7, exactly the default threshold (which must not qualify: the test is > t).
 */
function atThreshold(rng: Rng): string[] {
  const base = Array.from({ length: 10 }, (_, k) => `t${rng.int(1000)}x${k}`);
  const kept = base.filter((_, k) => k !== 2 && k !== 5 && k !== 8);
  const other = [...kept];
  other.splice(rng.int(other.length + 1), 0, `u${rng.int(1000)}`, `u${rng.int(1000)}`, `u${rng.int(1000)}`);
  return [base.join(' '), other.join(' ')];
}

function corpus(rng: Rng, count: number): string[] {
  const texts: string[] = [];
  while (texts.length < count) {
    const roll = rng.int(20);
    const source = texts.length > 0 ? rougeTokens(rng.pick(texts)) : [];
    if (roll < 6) texts.push(templated(rng, rng.int(3)));
    else if (roll < 9) texts.push(templated(rng, 3 + rng.int(10)));
    else if (roll < 13 && source.length > 0) texts.push(edited(rng, source, 1 + rng.int(4)).join(' '));
    else if (roll < 15 && source.length > 0) texts.push(reordered(rng, source, 1 + rng.int(3)).join(' '));
    else if (roll === 15) texts.push(...atThreshold(rng));
    else if (roll === 16 && source.length > 0) texts.push(source.join(' ').toUpperCase(), `${source.join(' ')} !`);
    else if (roll === 17) texts.push(rng.pick(['', '...', '$ $']));
    else if (roll === 18) texts.push(rng.pick(['a', 'seven', 'Ava', 'kalo', '42']));
    else texts.push(Array.from({ length: 20 + rng.int(120) }, () => rareWord(rng)).join(' '));
  }
  return texts.slice(0, count);
}

/** Every pair's score, by the pairwise function (itself checked against rouge_score's dynamic programme). */
function allScores(texts: readonly string[]): Float64Array[] {
  const tokens = texts.map(rougeTokens);
  return tokens.map((mine, i) => Float64Array.from(tokens.slice(0, i), (theirs) => rougeLFromTokens(mine, theirs)));
}

function naive(scores: readonly Float64Array[], threshold: number): (NearDuplicateMatch<number> | null)[] {
  return scores.map((row) => {
    let best: NearDuplicateMatch<number> | null = null;
    row.forEach((score, ref) => {
      if (score > threshold && (best === null || score > best.score)) best = { ref, score };
    });
    return best;
  });
}

describe('nearestEarlierAbove against the naive all-pairs search', () => {
  const texts = corpus(createRng(2025), 2000);
  const scores = allScores(texts);

  it('the corpus has scores exactly at the threshold, tied best matches and many matches', () => {
    let atSeven = 0;
    let ties = 0;
    for (const row of scores) {
      if (row.some((score) => score === 0.7)) atSeven++;
      const best = Math.max(0, ...row);
      if (best > 0.5 && row.filter((score) => score === best).length > 1) ties++;
    }
    const matched = naive(scores, 0.7).filter((match) => match !== null).length;
    assert.ok(atSeven >= 20, `${atSeven} texts score exactly 0.7 against an earlier one`);
    assert.ok(ties >= 20, `${ties} texts have several equally best earlier texts`);
    assert.ok(matched > 300 && matched < 1500, `${matched} texts with a match above 0.7`);
  });

  for (const threshold of [0.3, 0.5, 0.6, 0.7, 0.8, 0.9]) {
    it(`gives the naive answer at threshold ${threshold}, with each pair-key shape and with its own choice`, () => {
      const expected = naive(scores, threshold);
      assert.deepEqual(nearestEarlierAbove(texts, threshold), expected);
      for (const shape of PAIR_KEY_SHAPES) {
        assert.deepEqual(nearestEarlierAbove(texts, threshold, { part: 0, parts: 1 }, shape), expected, `shape ${JSON.stringify(shape)}`);
      }
    });
  }

  it('gives the naive answer from one plan in shared memory read by three shares, and leaves the plan as it was', () => {
    const expected = naive(scores, 0.7);
    const plan = prepareJoin(texts, 0.7, { shared: true })!;
    assert.ok(plan.elements.buffer instanceof SharedArrayBuffer && plan.bucketRange.buffer instanceof SharedArrayBuffer && plan.tokens.buffer instanceof SharedArrayBuffer);
    const before = JSON.stringify(plan);
    const shares = [0, 1, 2].map((part) => joinShare(plan, { part, parts: 3 }));
    assert.deepEqual(mergeNearestEarlier(shares), expected);
    assert.equal(JSON.stringify(plan), before);
    assert.equal(prepareJoin(texts, 1), null);
    assert.equal(prepareJoin(texts, -0.1), null);
    assert.equal(prepareJoin(texts.slice(0, 1), 0.7), null);
  });

  it('gives the naive answer from the texts packed into one string (as posted to a thread), non-ASCII texts among them', () => {
    // Texts that lowercase to other lengths or to ASCII letters ('İ', the Kelvin sign), and separators between
    // texts that are token characters once joined: each text must be scanned alone.
    const mixed = texts.map((text, i) => (i % 7 === 3 ? `${text} İstanbul ÉTÉ \u212Aelvin` : i % 11 === 5 ? `${text}\nnext line` : text));
    assert.deepEqual(unpackTexts(packTexts(mixed)), mixed);
    const expected = naive(allScores(mixed), 0.6);
    assert.deepEqual(joinShare(prepareJoin(packTexts(mixed), 0.6)!, { part: 0, parts: 1 }), expected);
    assert.deepEqual(nearestEarlierAbove(mixed, 0.6), expected);
    assert.equal(prepareJoin(packTexts(mixed.slice(0, 1)), 0.7), null);
  });
});
