// ROUGE-L: pairs/s of src/core/rouge.ts against bench/rouge_baseline.py (rouge_score's tokenizer, LCS table and
// F-measure in Python) on the same generated pairs, with identical scores required; then the near-duplicate
// index at 100k texts: nearestAbove(0.7) queries/s against scoring every text, and the validator's pattern
// (each text checked against all earlier ones, then added) on the first STREAM_TEXTS of them.
// Run: node --import tsx bench/rouge.bench.ts [PAIRS] [INDEX_TEXTS] [STREAM_TEXTS]   (defaults 3000, 100000, 20000)
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createRng, type Rng } from '../src/core/random';
import { NearDuplicateIndex, rougeL } from '../src/core/rouge';

const PAIR_COUNT = Number(process.argv[2] ?? 3_000);
const INDEX_TEXTS = Number(process.argv[3] ?? 100_000);
const STREAM_TEXTS = Number(process.argv[4] ?? 20_000);
const PYTHON = '/usr/bin/python3';
const THRESHOLD = 0.7;

// Words of MATH-style problems, by role: function words dominate real text; content words follow Zipf's law
// (frequency ∝ 1/rank) over a large vocabulary, as in real corpora, so most texts hold a few rare words.
const FUNCTION_WORDS = 'the of a is and to in that what if for with by are be on at such than its each there how many all it as which when from has an this'.split(' ');
const MATH_WORDS = ('triangle square circle rectangle integer number sum product value length area perimeter probability sequence ' +
  'function polynomial root coefficient fraction ratio percent angle side radius diameter point line slope equation ' +
  'inequality remainder divisor factor prime digit base term series matrix vector coordinate set element average mean ' +
  'median mode dollars students books apples cars hours minutes miles pages marbles coins cards tickets games teams ' +
  'distance speed rate volume cube sphere cylinder cone hexagon pentagon parabola ellipse interval domain range ' +
  'positive negative real smallest largest greatest least distinct consecutive even odd rational equal right isosceles ' +
  'regular total possible different find compute determine evaluate simplify solve express').split(' ');
const OPENERS = ['Find', 'Compute', 'What is', 'Determine', 'How many', 'Let', 'Suppose', 'If', 'Evaluate', 'Simplify', 'Solve for', 'A', 'The'];
const FORMULAS = ['$x$', '$y$', '$n$', '$k$', '$x^2 + 3x - 4 = 0$', '$\\frac{3}{4}$', '$f(x) = 2x + 1$', '$\\sqrt{2}$', '$a_n$', '$\\pi r^2$', '$2^{10}$', '$\\{1, 2, 3\\}$'];
const SYLLABLES = 'ba ce di fo gu ha je ki lo mu na pe ri so tu va we xi yo za bri cla dre flo gra ple sta tro'.split(' ');

/** The content vocabulary: math words first (the most frequent ranks), then made-up words. */
const CONTENT = (() => {
  const rng = createRng(1);
  const words = new Set(MATH_WORDS);
  while (words.size < 30_000) words.add(Array.from({ length: 2 + rng.int(3) }, () => rng.pick(SYLLABLES)).join(''));
  return [...words];
})();
const ZIPF_CUMULATIVE = (() => {
  const cumulative = new Float64Array(CONTENT.length);
  let total = 0;
  for (let rank = 0; rank < CONTENT.length; rank++) cumulative[rank] = total += 1 / (rank + 1);
  return cumulative.map((value) => value / total);
})();

function contentWord(rng: Rng): string {
  const target = rng.next();
  let low = 0;
  let high = ZIPF_CUMULATIVE.length - 1;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (ZIPF_CUMULATIVE[middle] < target) low = middle + 1;
    else high = middle;
  }
  return CONTENT[low];
}

function word(rng: Rng): string {
  const roll = rng.next();
  if (roll < 0.45) return rng.pick(FUNCTION_WORDS);
  if (roll < 0.85) return contentWord(rng);
  if (roll < 0.95) return String(rng.int(rng.pick([10, 100, 1000, 100000])));
  return rng.pick(FORMULAS);
}

/** A math-problem-like text of 10–150 words. */
function problemText(rng: Rng): string {
  const words = [rng.pick(OPENERS)];
  const target = 10 + rng.int(141);
  while (words.length < target) {
    const next = word(rng);
    words.push(rng.next() < 0.06 ? `${next}${rng.pick([',', '.', '?', ';'])}` : next);
  }
  return words.join(' ') + rng.pick(['?', '.', '.']);
}

/** `text` with 5–30% of its words substituted, inserted or deleted: a generated paraphrase. */
function edited(rng: Rng, text: string): string {
  const words = text.split(' ');
  const edits = Math.max(1, Math.round(words.length * (0.05 + rng.next() * 0.25)));
  for (let e = 0; e < edits; e++) {
    const at = rng.int(words.length);
    const kind = rng.int(3);
    if (kind === 0) words[at] = word(rng);
    else if (kind === 1) words.splice(at, 0, word(rng));
    else if (words.length > 2) words.splice(at, 1);
  }
  return words.join(' ');
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[sorted.length >> 1];
}

function format(value: number): string {
  return value >= 100 ? Math.round(value).toLocaleString('en-US') : value.toPrecision(3);
}

function benchPairs(): void {
  const rng = createRng(20250527);
  const pairs = Array.from({ length: PAIR_COUNT }, () => {
    const a = problemText(rng);
    return { a, b: rng.next() < 0.5 ? edited(rng, a) : problemText(rng) };
  });
  const meanWords = pairs.reduce((sum, { a, b }) => sum + a.split(' ').length + b.split(' ').length, 0) / (2 * pairs.length);
  console.log(`ROUGE-L pairs: ${pairs.length} (half paraphrases, half unrelated), mean ${meanWords.toFixed(1)} words per text`);

  const directory = mkdtempSync(path.join(tmpdir(), 'serl-rouge-bench-'));
  try {
    const pairsFile = path.join(directory, 'pairs.jsonl');
    const scoresFile = path.join(directory, 'scores.jsonl');
    writeFileSync(pairsFile, pairs.map((pair) => JSON.stringify(pair)).join('\n') + '\n');
    // Both sides are timed over several passes and compared best to best: the least disturbed passes on a busy machine.
    const baselineRates: number[] = [];
    for (let pass = 0; pass < 3; pass++) {
      const python = spawnSync(PYTHON, [path.join(__dirname, 'rouge_baseline.py'), pairsFile, scoresFile], { encoding: 'utf8' });
      if (python.status !== 0) throw new Error(`${PYTHON} bench/rouge_baseline.py failed: ${python.stderr || python.error?.message}`);
      baselineRates.push((JSON.parse(python.stdout) as { pairs_per_s: number }).pairs_per_s);
    }
    const expected = readFileSync(scoresFile, 'utf8')
      .trim()
      .split('\n')
      .map((line) => (JSON.parse(line) as { f: number }).f);

    const scores = new Float64Array(pairs.length);
    const rates: number[] = [];
    // The first passes include JIT warm-up.
    for (let pass = 0; pass < 15; pass++) {
      const started = performance.now();
      for (let i = 0; i < pairs.length; i++) scores[i] = rougeL(pairs[i].a, pairs[i].b);
      rates.push(pairs.length / ((performance.now() - started) / 1000));
    }
    let maxDifference = 0;
    let identical = 0;
    for (let i = 0; i < pairs.length; i++) {
      maxDifference = Math.max(maxDifference, Math.abs(scores[i] - expected[i]));
      if (scores[i] === expected[i]) identical++;
    }
    const ours = Math.max(...rates);
    const baseline = Math.max(...baselineRates);
    console.log(`  python baseline (${PYTHON}, rouge_score semantics): ${format(baseline)} pairs/s best, ${format(median(baselineRates))} median of ${baselineRates.length} passes`);
    console.log(`  rougeL (TypeScript, one thread): ${format(ours)} pairs/s best, ${format(median(rates))} median of ${rates.length} passes`);
    console.log(`  ratio (best / best): ${format(ours / baseline)}x  (target >= 100x)`);
    console.log(`  scores: ${identical}/${pairs.length} bit-identical, max |difference| ${maxDifference}`);
    if (expected.length !== pairs.length || maxDifference > 1e-12) throw new Error('scores differ from the Python baseline');
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
}

function benchIndex(): void {
  const rng = createRng(7);
  const texts: string[] = [];
  // One text in five paraphrases an earlier one, as generated instructions often do.
  for (let i = 0; i < INDEX_TEXTS; i++) texts.push(i > 0 && rng.next() < 0.2 ? edited(rng, rng.pick(texts)) : problemText(rng));
  const queries = Array.from({ length: 2000 }, (_, i) => (i % 2 === 0 ? edited(rng, rng.pick(texts)) : problemText(rng)));
  console.log(`\nNear-duplicate index: ${texts.length} texts, threshold ${THRESHOLD}`);

  const index = new NearDuplicateIndex<number>({ minThreshold: THRESHOLD });
  let started = performance.now();
  texts.forEach((text, i) => index.add(text, i));
  const buildSeconds = (performance.now() - started) / 1000;
  console.log(`  build: ${format(texts.length / buildSeconds)} texts/s (${buildSeconds.toFixed(2)} s)`);

  started = performance.now();
  const found = queries.map((query) => index.nearestAbove(query, THRESHOLD));
  const indexRate = queries.length / ((performance.now() - started) / 1000);
  const hits = found.filter((match) => match !== null).length;

  // Brute force: score every text (the straightforward loop a caller would otherwise write), on a sample.
  const sample = queries.slice(0, 10);
  started = performance.now();
  const bruteFound = sample.map((query) => {
    let best: { ref: number; score: number } | null = null;
    for (let i = 0; i < texts.length; i++) {
      const score = rougeL(query, texts[i]);
      if (score > THRESHOLD && (best === null || score > best.score)) best = { ref: i, score };
    }
    return best;
  });
  const bruteRate = sample.length / ((performance.now() - started) / 1000);
  const agree = bruteFound.every((match, i) => JSON.stringify(match) === JSON.stringify(found[i]));
  console.log(`  nearestAbove(${THRESHOLD}): ${format(indexRate)} queries/s (${hits}/${queries.length} found a match)`);
  console.log(`  brute force (rougeL against every text): ${format(bruteRate)} queries/s on ${sample.length} of them`);
  console.log(`  ratio: ${format(indexRate / bruteRate)}x; sample answers identical: ${agree}`);
  if (!agree) throw new Error('index and brute force disagree');

  const stream = texts.slice(0, STREAM_TEXTS);
  const streaming = new NearDuplicateIndex<number>({ minThreshold: THRESHOLD });
  let duplicates = 0;
  started = performance.now();
  stream.forEach((text, i) => {
    if (streaming.nearestAbove(text, THRESHOLD) !== null) duplicates++;
    streaming.add(text, i);
  });
  const seconds = (performance.now() - started) / 1000;
  console.log(
    `  validator pattern: each of ${stream.length} texts against all earlier ones, then added: ` +
      `${seconds.toFixed(2)} s (${duplicates} near duplicates); all pairs scored would be ${format((stream.length * (stream.length - 1)) / 2)} rougeL calls`,
  );
}

benchPairs();
benchIndex();
