import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createRng, type Rng } from '../../src/core/random';
import { NearDuplicateIndex, nearestEarlierAbove, rougeL, rougeTokens } from '../../src/core/rouge';
import { MATH_SEEDS_FILE, readMathSeeds, skipUnlessPresent } from '../sharedData';


/** rouge_score's `_lcs_table` dynamic programme: the reference the bit-parallel LCS must agree with. */
function dpLcs(a: readonly string[], b: readonly string[]): number {
  let previous = new Int32Array(b.length + 1);
  let current = new Int32Array(b.length + 1);
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      current[j] = a[i - 1] === b[j - 1] ? previous[j - 1] + 1 : Math.max(previous[j], current[j - 1]);
    }
    [previous, current] = [current, previous];
  }
  return previous[b.length];
}

/** rouge_score's `_score_lcs` F-measure (target = a, prediction = b), float operations in its order. */
function referenceF1(a: readonly string[], b: readonly string[]): number {
  if (a.length === 0 || b.length === 0) return 0;
  const lcs = dpLcs(a, b);
  const precision = lcs / b.length;
  const recall = lcs / a.length;
  return precision + recall > 0 ? (2 * precision * recall) / (precision + recall) : 0;
}

/** rouge_score's tokenize(), transcribed literally: the reference for rougeTokens. */
function referenceTokens(text: string): string[] {
  return text
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, ' ')
    .split(/\s+/)
    .filter((token) => /^[a-z0-9]+$/.test(token));
}

function randomTokens(rng: Rng, length: number, vocabulary: number): string[] {
  return Array.from({ length }, () => `w${rng.int(vocabulary)}`);
}

/** A copy of `tokens` with a few random substitutions, insertions and deletions. */
function mutate(rng: Rng, tokens: readonly string[], edits: number, vocabulary: number): string[] {
  const result = tokens.slice();
  for (let e = 0; e < edits; e++) {
    const at = rng.int(result.length + 1);
    const kind = rng.int(3);
    if (kind === 0 && at < result.length) result[at] = `w${rng.int(vocabulary)}`;
    else if (kind === 1) result.splice(at, 0, `w${rng.int(vocabulary)}`);
    else if (at < result.length) result.splice(at, 1);
  }
  return result;
}

describe('rougeTokens', () => {
  it('lowercases and splits on every run of characters outside [a-z0-9]', () => {
    assert.deepEqual(rougeTokens('The quick, brown FOX!'), ['the', 'quick', 'brown', 'fox']);
    assert.deepEqual(rougeTokens('x_1+x_2=10'), ['x', '1', 'x', '2', '10']);
    assert.deepEqual(rougeTokens('What is $\\frac{1}{2}$?'), ['what', 'is', 'frac', '1', '2']);
    assert.deepEqual(rougeTokens('  3.14\tpi\n\nr^2 '), ['3', '14', 'pi', 'r', '2']);
    assert.deepEqual(rougeTokens("don't"), ['don', 't']);
  });

  it('gives no tokens for empty, blank or punctuation-only text', () => {
    for (const text of ['', '   ', '\n\t', '?!.,;:-', '$$ \\{ } ( ) []', '…—“”']) assert.deepEqual(rougeTokens(text), []);
  });

  it('treats non-ASCII letters as separators, since rouge_score lowercases before filtering', () => {
    assert.deepEqual(rougeTokens('Café déjà vu'), ['caf', 'd', 'j', 'vu']);
    assert.deepEqual(rougeTokens('ÉCOLE naïve'), ['cole', 'na', 've']);
    assert.deepEqual(rougeTokens('数学 problem 二'), ['problem']);
    assert.deepEqual(rougeTokens('α+β=γ 2π'), ['2']);
    assert.deepEqual(rougeTokens('emoji 😀 ok'), ['emoji', 'ok']);
  });

  it('keeps the ASCII letters that lowercasing produces from "İ" and the Kelvin sign, as Python does', () => {
    assert.deepEqual(rougeTokens('İstanbul'), ['i', 'stanbul']);
    assert.deepEqual(rougeTokens('300 \u212A'), ['300', 'k']);
  });

  it('agrees with a literal transcription of rouge_score’s tokenizer on random mixed text', () => {
    const rng = createRng(6);
    const alphabet = [...'aZz09 AbcXYZ_-.,;:!?$\\{}()^+=\t\n"\'', 'é', 'É', 'ß', 'İ', '\u212A', 'π', '数', '😀', '\u00a0', '\u2003'];
    for (let trial = 0; trial < 3000; trial++) {
      const text = Array.from({ length: rng.int(60) }, () => rng.pick(alphabet)).join('');
      assert.deepEqual(rougeTokens(text), referenceTokens(text), JSON.stringify(text));
    }
  });

  it('maps exactly U+0130 and U+212A (of all non-ASCII code points) to ASCII letters or digits', () => {
    // Python 3.11: [cp for cp in range(0x80, 0x110000) if re.sub('[^a-z0-9]+', ' ', chr(cp).lower()).strip()]
    // gives exactly these two, with these texts; String.prototype.toLowerCase must agree.
    const produced: Record<number, string> = {};
    for (let cp = 0x80; cp < 0x110000; cp++) {
      if (cp >= 0xd800 && cp <= 0xdfff) continue;
      const tokens = rougeTokens(String.fromCodePoint(cp));
      if (tokens.length > 0) produced[cp] = tokens.join(' ');
    }
    assert.deepEqual(produced, { 0x130: 'i', 0x212a: 'k' });
  });
});

describe('rougeL on token sequences', () => {
  // rougeL of space-joined tokens is rouge_score's F1 of those tokens, and for fixed lengths F1 is strictly
  // increasing in the LCS length, so bit-for-bit equal scores mean equal LCS lengths.
  it('agrees with the dynamic programme on thousands of random sequences, short and long', () => {
    const rng = createRng(1);
    for (let trial = 0; trial < 3000; trial++) {
      const vocabulary = [1, 2, 3, 5, 20, 500][trial % 6];
      const a = randomTokens(rng, rng.int(trial % 10 === 0 ? 220 : 70), vocabulary);
      const b = trial % 3 === 0 ? mutate(rng, a, rng.int(12), vocabulary) : randomTokens(rng, rng.int(160), vocabulary);
      const expected = referenceF1(a, b);
      assert.equal(rougeL(a.join(' '), b.join(' ')), expected, `a=${a.join(' ')} b=${b.join(' ')}`);
      assert.equal(rougeL(b.join(' '), a.join(' ')), expected);
    }
  });

  it('is exact at the 32-bit word boundaries of the pattern', () => {
    const rng = createRng(2);
    for (const length of [31, 32, 33, 63, 64, 65, 95, 96, 97, 128, 150, 300]) {
      for (let trial = 0; trial < 40; trial++) {
        const a = randomTokens(rng, length, 3);
        const b = randomTokens(rng, length + rng.int(40), 3);
        assert.equal(rougeL(a.join(' '), b.join(' ')), referenceF1(a, b), `length ${length}`);
      }
      const same = randomTokens(rng, length, 4);
      const reversed = [...same].reverse();
      assert.equal(rougeL(same.join(' '), same.join(' ')), 1);
      assert.equal(rougeL(same.join(' '), reversed.join(' ')), referenceF1(same, reversed));
    }
  });

  it('handles disjoint sequences and repeated tokens', () => {
    assert.equal(rougeL('a b', 'c d'), 0);
    assert.equal(rougeL('a a a a', 'a'), 0.4);
    assert.equal(rougeL('a b a b', 'b a b a'), referenceF1(['a', 'b', 'a', 'b'], ['b', 'a', 'b', 'a']));
    assert.equal(rougeL(Array(100).fill('x').join(' '), Array(70).fill('x').join(' ')), (2 * 1 * 0.7) / 1.7);
  });
});

describe('rougeL', () => {
  it('matches scores computed by rouge_score (values from bench/rouge_baseline.py)', () => {
    assert.equal(rougeL('The quick brown fox jumps over the lazy dog', 'The quick brown dog jumps on the log.'), 0.5882352941176471);
    assert.equal(rougeL('a a a a', 'a'), 0.4);
    assert.equal(rougeL('Café déjà vu', 'caf d j vu'), 1);
    assert.equal(rougeL('What is $\\frac{1}{2}+\\frac{1}{3}$?', 'Compute 1/2 + 1/3.'), 0.6153846153846154);
    assert.equal(rougeL('İstanbul has 3 KELVIN', 'i stanbul has 3 \u212Aelvin'), 1);
    // 2L/(m+n) is exactly 0.875 here, but rouge_score's float operations give one ulp less.
    assert.equal(
      rougeL(
        'Find the sum of all positive integers n such that n^2 + 3n is prime.',
        'Find the product of all positive integers n such that n^2 - 3n is a prime number.',
      ),
      0.8749999999999999,
    );
  });

  it('is 0 when either side has no tokens, and 1 for texts with the same tokens', () => {
    assert.equal(rougeL('', ''), 0);
    assert.equal(rougeL('', 'something'), 0);
    assert.equal(rougeL('?!', '...'), 0);
    assert.equal(rougeL('alpha beta', 'gamma delta'), 0);
    assert.equal(rougeL('Solve: x + 1 = 2.', 'solve X 1 2'), 1);
  });

  it('tells tokens apart exactly, short and long (over 10 characters), whatever their case', () => {
    // The last two have the same 32-bit FNV-1a hash (found by search): only their characters tell them apart.
    const tokens = ['a', '0a', 'a0', '00', '0', 'aaaaaaaaaa', 'aaaaaaaaaaa', 'aaaaaaaaab', 'abcdefghijklmnop', 'abcdefghijklmnoq', 'zzzzzzzzzz9', 'zzzzzzzzzz8', 'zzzzzzzzzzz', 'zzzzzzzzzzy', 'x'.repeat(200), 'x'.repeat(201), 'collisiona437aa', 'collision4aaaca'];
    for (const a of tokens) {
      for (const b of tokens) {
        assert.equal(rougeL(a, b), a === b ? 1 : 0, `${a} vs ${b}`);
        assert.equal(rougeL(a.toUpperCase(), `(${b})`), a === b ? 1 : 0);
      }
    }
    const index = new NearDuplicateIndex<string>({ minThreshold: 0 });
    for (const token of tokens) index.add(`${token} common words here`, token);
    for (const token of tokens) assert.deepEqual(index.nearest(`${token.toUpperCase()} common words here`), { ref: token, score: 1 });
    assert.deepEqual(index.nearestAbove('abcdefghijklmnoz common words here', 0.7), { ref: 'a', score: 0.75 });
  });

  it('equals the reference F1 bit for bit and is symmetric bit for bit, whatever the separators', () => {
    const rng = createRng(3);
    for (let trial = 0; trial < 3000; trial++) {
      const vocabulary = [2, 4, 10, 50, 1000][trial % 5];
      const a = randomTokens(rng, rng.int(180), vocabulary);
      const b = trial % 2 === 0 ? mutate(rng, a, rng.int(30), vocabulary) : randomTokens(rng, rng.int(180), vocabulary);
      const expected = referenceF1(a, b);
      assert.equal(rougeL(a.join(' '), b.join(', ')), expected);
      assert.equal(rougeL(b.join('\n'), a.join('-')), expected);
    }
  });
});

/** What NearDuplicateIndex must return: scoring every stored text in order, strictly better replaces. */
function bestAbove(scores: readonly number[], threshold: number): { ref: number; score: number } | null {
  let best: { ref: number; score: number } | null = null;
  scores.forEach((score, ref) => {
    if (score > threshold && (best === null || score > best.score)) best = { ref, score };
  });
  return best;
}

/** Scores by the reference tokenizer and dynamic programme, independent of the code under test. */
function referenceScores(texts: readonly string[], query: string): number[] {
  const queryTokens = referenceTokens(query);
  return texts.map((text) => referenceF1(queryTokens, referenceTokens(text)));
}

function bruteForce(texts: readonly string[], query: string, threshold: number): { ref: number; score: number } | null {
  return bestAbove(referenceScores(texts, query), threshold);
}

/** Texts over `vocabulary` words, many of them edits of earlier ones so that every threshold has matches. */
function randomCorpus(rng: Rng, count: number, vocabulary: number, maxLength: number): string[] {
  const texts: string[] = [];
  for (let i = 0; i < count; i++) {
    const roll = rng.int(10);
    if (texts.length > 0 && roll < 5) {
      const source = rougeTokens(rng.pick(texts));
      texts.push(mutate(rng, source, rng.int(Math.max(2, source.length >>> 2)), vocabulary).join(' '));
    } else if (texts.length > 0 && roll === 5) {
      texts.push(rng.pick(texts).toUpperCase() + ' ?!');
    } else if (roll === 6 && rng.int(4) === 0) {
      texts.push(rng.pick(['', '...', '$$']));
    } else {
      texts.push(randomTokens(rng, 1 + rng.int(maxLength), vocabulary).join(' '));
    }
  }
  return texts;
}

const THRESHOLDS = [-0.5, 0, 0.05, 0.2, 0.3, 0.45, 0.5, 0.55, 0.6, 0.7, 0.75, 0.8, 0.9, 0.95, 0.99, 1, 1.5];

describe('nearestEarlierAbove', () => {
  it('gives each text the best earlier one by brute force (ties: the earliest), for every threshold', () => {
    const rng = createRng(12);
    const shapes = [
      { count: 120, vocabulary: 8, maxLength: 12 },
      { count: 120, vocabulary: 40, maxLength: 40 },
      { count: 100, vocabulary: 300, maxLength: 150 },
      { count: 60, vocabulary: 6, maxLength: 90 },
    ];
    for (const shape of shapes) {
      const texts = randomCorpus(rng, shape.count, shape.vocabulary, shape.maxLength);
      const scores = texts.map((text, i) => referenceScores(texts.slice(0, i), text));
      for (const threshold of THRESHOLDS) {
        const found = nearestEarlierAbove(texts, threshold);
        texts.forEach((text, i) => assert.deepEqual(found[i], bestAbove(scores[i]!, threshold), `t=${threshold} i=${i} ${text}`));
      }
    }
    assert.throws(() => nearestEarlierAbove(['a'], Number.NaN), RangeError);
  });
});

/**
 * Templated problems (fixed sentence frames, a few slot values, a small shared vocabulary), the data on which
 * token-overlap bounds prune least; some texts are edits of earlier ones so that every threshold has matches.
 */
function templatedCorpus(rng: Rng, count: number): string[] {
  const names = ['Ava', 'Ben', 'Cleo', 'Dev', 'Eli'];
  const things = ['apples', 'coins', 'cards', 'books'];
  const frames = [
    (a: string, t: string, n: number) => `${a} has ${n} ${t}. Then ${a} gives away ${n % 7} of them.`,
    (a: string, t: string, n: number) => `At the market ${a} buys ${n} ${t} for ${n % 5} dollars each.`,
    (a: string, t: string, n: number) => `${a} shares ${n} ${t} equally with ${n % 3} friends.`,
  ];
  const questions = ['How many are left?', 'How many does each get?', 'What is the total cost?'];
  const filler = 'the a of red small old new each then also with'.split(' ');
  const texts: string[] = [];
  for (let i = 0; i < count; i++) {
    if (texts.length > 0 && rng.int(4) === 0) {
      texts.push(mutate(rng, rougeTokens(rng.pick(texts)), 1 + rng.int(6), 12).join(' '));
      continue;
    }
    const detail = Array.from({ length: rng.int(8) }, () => rng.pick(filler)).join(' ');
    texts.push(`${rng.pick(frames)(rng.pick(names), rng.pick(things), 1 + rng.int(20))} ${detail} ${rng.pick(questions)}`);
  }
  return texts;
}

describe('nearestEarlierAbove on templated text', () => {
  it('equals brute-force rougeL (best earlier text, ties to the earliest) at the thresholds validate uses', () => {
    const rng = createRng(31);
    const texts = templatedCorpus(rng, 400);
    const scores = texts.map((text, i) => texts.slice(0, i).map((earlier) => rougeL(text, earlier)));
    let matched = 0;
    for (const threshold of [0.5, 0.6, 0.7, 0.8, 0.9]) {
      const found = nearestEarlierAbove(texts, threshold);
      texts.forEach((text, i) => {
        const expected = bestAbove(scores[i]!, threshold);
        if (expected !== null) matched++;
        assert.deepEqual(found[i], expected, `t=${threshold} i=${i} ${text}`);
      });
    }
    // The corpus must exercise both answers: many texts with a match, many without.
    assert.ok(matched > 200 && matched < 1800, `${matched} matches`);
  });
});

describe('NearDuplicateIndex', () => {
  it('agrees with brute force for every threshold, on random corpora, for several minThresholds', () => {
    const rng = createRng(4);
    const shapes = [
      { count: 150, vocabulary: 8, maxLength: 12 },
      { count: 150, vocabulary: 40, maxLength: 40 },
      { count: 120, vocabulary: 300, maxLength: 150 },
      { count: 60, vocabulary: 6, maxLength: 90 },
    ];
    for (const minThreshold of [0, 0.3, 0.5, 0.7, 1]) {
      for (const shape of shapes) {
        const texts = randomCorpus(rng, shape.count, shape.vocabulary, shape.maxLength);
        const queries = randomCorpus(rng, 40, shape.vocabulary, shape.maxLength).concat(texts.slice(0, 20));
        const index = new NearDuplicateIndex<number>({ minThreshold });
        texts.forEach((text, i) => {
          // Interleave queries with adds: the index must stay exact as its vocabulary grows.
          if (i % 25 === 0) {
            const query = queries[rng.int(queries.length)];
            const stored = texts.slice(0, i);
            const threshold = rng.pick(THRESHOLDS);
            assert.deepEqual(index.nearestAbove(query, threshold), bruteForce(stored, query, threshold));
          }
          index.add(text, i);
        });
        for (const query of queries) {
          const scores = referenceScores(texts, query);
          for (const threshold of THRESHOLDS) {
            assert.deepEqual(index.nearestAbove(query, threshold), bestAbove(scores, threshold), `t=${threshold} q=${query}`);
          }
          assert.deepEqual(index.nearest(query), bestAbove(scores, -1));
        }
      }
    }
  });

  it('stays exact across its reorders by frequency (at 1024 texts, then at each 4-fold growth)', () => {
    const rng = createRng(8);
    const texts = randomCorpus(rng, 4200, 60, 30);
    const queries = randomCorpus(rng, 30, 60, 30);
    const index = new NearDuplicateIndex<number>({ minThreshold: 0.5 });
    const checkpoints = new Set([1000, 1023, 1024, 1025, 1100, 4095, 4096, 4097, 4200]);
    texts.forEach((text, i) => {
      if (checkpoints.has(i)) {
        const stored = texts.slice(0, i);
        for (const query of [...queries.slice(0, 6), texts[rng.int(i)], texts[i]]) {
          const scores = referenceScores(stored, query);
          for (const threshold of [0.5, 0.7, 0.9]) assert.deepEqual(index.nearestAbove(query, threshold), bestAbove(scores, threshold), `${i} texts, t=${threshold}`);
        }
      }
      index.add(text, i);
    });
  });

  it('finds the earliest of equally similar texts', () => {
    const index = new NearDuplicateIndex<string>();
    index.add('one two three four five', 'first');
    index.add('one two three four five', 'same tokens');
    index.add('ONE, two; three... four! five?', 'same tokens, other punctuation');
    index.add('one two three four six', 'other');
    assert.deepEqual(index.nearestAbove('one two three four five', 0.7), { ref: 'first', score: 1 });
    // 4 of 5 tokens: P = R = 0.8, and 2PR/(P+R) rounds to 0.8000000000000002, as in rouge_score.
    assert.deepEqual(index.nearest('one two three four seven'), { ref: 'first', score: 0.8000000000000002 });
    // 'zero two three four five' and 'one two three four six' both share 4 of 5 tokens in order.
    index.add('zero two three four five', 'later');
    assert.deepEqual(index.nearestAbove('nine two three four five six', 0.5), { ref: 'first', score: 0.7272727272727272 });
  });

  it('returns null above the threshold when nothing qualifies, and for an empty index', () => {
    const empty = new NearDuplicateIndex<number>();
    assert.equal(empty.nearest('anything'), null);
    assert.equal(empty.nearestAbove('anything', 0.7), null);
    assert.equal(empty.nearestAbove('anything', -1), null);
    const index = new NearDuplicateIndex<number>();
    index.add('how many primes are below 100', 0);
    assert.equal(index.nearestAbove('how many squares are below 50', 0.7), null);
    assert.deepEqual(index.nearestAbove('how many squares are below 50', 0.6), { ref: 0, score: 0.6666666666666666 });
    assert.equal(index.nearestAbove('how many primes are below 100', 1), null);
    assert.equal(index.nearestAbove('completely unrelated words', 0), null);
  });

  it('scores texts without tokens as 0 against everything', () => {
    const index = new NearDuplicateIndex<string>();
    index.add('...', 'punctuation');
    index.add('real words here', 'words');
    assert.equal(index.nearestAbove('!!!', 0), null);
    assert.deepEqual(index.nearestAbove('!!!', -0.1), { ref: 'punctuation', score: 0 });
    assert.deepEqual(index.nearest(''), { ref: 'punctuation', score: 0 });
    assert.deepEqual(index.nearest('other text'), { ref: 'punctuation', score: 0 });
    assert.deepEqual(index.nearest('real words'), { ref: 'words', score: 0.8 });
  });

  it('handles long texts and repeated tokens', () => {
    const rng = createRng(5);
    const long = randomTokens(rng, 400, 50);
    const index = new NearDuplicateIndex<number>();
    index.add(long.join(' '), 0);
    index.add(Array(200).fill('the').join(' '), 1);
    const edited = mutate(rng, long, 20, 50);
    assert.deepEqual(index.nearestAbove(edited.join(' '), 0.7), { ref: 0, score: referenceF1(long, edited) });
    assert.deepEqual(index.nearest(Array(150).fill('the').join(' ')), {
      ref: 1,
      score: referenceF1(Array(200).fill('the'), Array(150).fill('the')),
    });
  });

  it('counts every added text in size, identical ones included', () => {
    const index = new NearDuplicateIndex<number>();
    assert.equal(index.size, 0);
    index.add('a b c', 0);
    index.add('a b c', 1);
    index.add('', 2);
    assert.equal(index.size, 3);
  });

  it('removes texts by handle: queries answer as brute force over the texts still present', () => {
    const rng = createRng(21);
    for (const shape of [
      { count: 300, vocabulary: 8, maxLength: 12 },
      { count: 300, vocabulary: 40, maxLength: 40 },
    ]) {
      const pool = randomCorpus(rng, shape.count, shape.vocabulary, shape.maxLength);
      const queries = randomCorpus(rng, 20, shape.vocabulary, shape.maxLength);
      const index = new NearDuplicateIndex<number>({ minThreshold: 0.5 });
      // Live additions in add order, as brute force sees them: [handle, text, ref].
      let live: [number, string, number][] = [];
      for (let step = 0; step < 900; step++) {
        if (live.length > 0 && rng.int(5) < 2) {
          const [handle] = live.splice(rng.int(live.length), 1)[0]!;
          assert.equal(index.remove(handle), true);
          assert.equal(index.remove(handle), false);
        } else {
          // Re-adding removed and present texts alike: identical sequences must share an item correctly.
          const text = rng.pick(pool);
          live.push([index.add(text, step), text, step]);
        }
        assert.equal(index.size, live.length);
        if (step % 30 === 0) {
          const texts = live.map(([, text]) => text);
          for (const query of [rng.pick(queries), rng.pick(pool), ...(texts.length > 0 ? [rng.pick(texts)] : [])]) {
            const scores = referenceScores(texts, query);
            const asRefs = (found: { ref: number; score: number } | null) => found && { ref: live[found.ref]![2], score: found.score };
            for (const threshold of [0, 0.5, 0.7, 0.9]) {
              assert.deepEqual(index.nearestAbove(query, threshold), asRefs(bestAbove(scores, threshold)), `step ${step}, t=${threshold}, q=${query}`);
            }
            assert.deepEqual(index.nearest(query), asRefs(bestAbove(scores, -1)));
          }
        }
      }
      live = [];
    }
  });

  it('gives ties to the earliest live addition after the earliest is removed', () => {
    const index = new NearDuplicateIndex<string>();
    const first = index.add('one two three four five', 'first');
    index.add('one two three four six', 'other');
    index.add('one two three four five', 'same tokens, added later');
    // Both stored sequences score 0.8 against the query; 'first' was added before 'other'.
    assert.deepEqual(index.nearestAbove('one two three four seven', 0.7), { ref: 'first', score: 0.8000000000000002 });
    index.remove(first);
    // The sequence's earliest addition is now the third one, added after 'other', which wins the tie.
    assert.deepEqual(index.nearestAbove('one two three four seven', 0.7), { ref: 'other', score: 0.8000000000000002 });
    assert.deepEqual(index.nearestAbove('one two three four five', 0.7), { ref: 'same tokens, added later', score: 1 });
    assert.throws(() => index.remove(3), RangeError);
    assert.throws(() => index.remove(-1), RangeError);
    assert.throws(() => index.remove(0.5), RangeError);
  });

  it('stays exact through compaction and reorders under heavy churn', () => {
    const rng = createRng(22);
    const pool = randomCorpus(rng, 3000, 60, 24);
    const queries = randomCorpus(rng, 10, 60, 24);
    const index = new NearDuplicateIndex<number>({ minThreshold: 0.5 });
    const live = new Map<number, [string, number]>();
    const check = (label: string) => {
      const entries = [...live.entries()].sort((a, b) => a[0] - b[0]);
      const texts = entries.map(([, [text]]) => text);
      for (const query of [...queries.slice(0, 3), rng.pick(pool)]) {
        const scores = texts.map((text) => rougeL(query, text));
        for (const threshold of [0.5, 0.7]) {
          const best = bestAbove(scores, threshold);
          assert.deepEqual(index.nearestAbove(query, threshold), best && { ref: entries[best.ref]![1][1], score: best.score }, label);
        }
      }
    };
    // Grow past the first reorder, remove most (dead items then outnumber live ones: compaction), grow again.
    pool.forEach((text, i) => live.set(index.add(text, i), [text, i]));
    check('after 3000 adds');
    for (const handle of [...live.keys()]) {
      if (rng.int(10) < 8) {
        index.remove(handle);
        live.delete(handle);
      }
    }
    check('after removing 80%');
    pool.slice(0, 1500).forEach((text, i) => live.set(index.add(text.toUpperCase(), -i), [text, -i]));
    check('after re-adding');
    assert.equal(index.size, live.size);
  });

  it('rejects a NaN threshold and a minThreshold outside [0, 1]', () => {
    const index = new NearDuplicateIndex<number>();
    assert.throws(() => index.nearestAbove('x', Number.NaN), RangeError);
    for (const minThreshold of [-0.1, 1.1, Number.NaN]) {
      assert.throws(() => new NearDuplicateIndex<number>({ minThreshold }), RangeError);
    }
  });

  it('agrees with brute force on the MATH seeds (SeRL’s filter: each seed against the earlier ones)', { skip: skipUnlessPresent(MATH_SEEDS_FILE) }, () => {
    const problems = readMathSeeds().map((seed) => seed.problem);
    assert.equal(problems.length, 500);
    const index = new NearDuplicateIndex<number>({ minThreshold: 0.7 });
    problems.forEach((problem, i) => {
      const scores = referenceScores(problems.slice(0, i), problem);
      for (const threshold of [0.3, 0.5, 0.7]) {
        assert.deepEqual(index.nearestAbove(problem, threshold), bestAbove(scores, threshold));
      }
      assert.deepEqual(index.nearest(problem), bestAbove(scores, -1));
      index.add(problem, i);
    });
  });
});
