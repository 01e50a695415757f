// Majority vote over a 16-response group (target: median ≤ 1 ms). Each group mixes 1–5 distinct answers,
// each written in several surface spellings ("1/2", "\frac{1}{2}", "0.5"; "\sqrt{8}", "2\sqrt{2}"; …) at
// the end of a chain-of-thought response of ~1.5 KB, plus the odd response without an answer.
// Measured: `majorityVote` warm (the same groups again: parse and CAS caches hot) and cold (every answer
// string new: each group built from fresh numbers), and, in the same run, the baseline: the naive
// all-pairs vote (answersEquivalent over every pair of the n responses, no key grouping). For scale,
// also a vote with no keys and no caches at all: the Compute Engine's isEqual on every pair (fewer groups).
// Run: node --import tsx bench/vote.bench.ts [GROUPS]   (default 400)
import { ComputeEngine } from '@cortex-js/compute-engine';
import { answersEquivalent, extractAnswer } from '../src/core/answers';
import { createRng, type Rng } from '../src/core/random';
import { majorityVote } from '../src/core/vote';

const GROUPS = Number(process.argv[2] ?? 400);
const RESPONSES = 16;
const TARGET_MS = 1;

/**
 * One answer in its spellings; `n` makes the numbers (and so the strings) unique to a group. Weights
 * follow the answers of the MATH seeds: mostly integers, then fractions and decimals, then surds, π,
 * tuples and polynomials (surds, π and polynomials need the CAS when spellings differ).
 */
const FAMILIES: { weight: number; spellings: (n: number) => string[] }[] = [
  { weight: 45, spellings: (n) => [`${n}`, `${n}.0`, `\\$${n}`, `${n}\\text{ cm}`, `x = ${n}`] },
  { weight: 8, spellings: (n) => [`${n * 1000 + 7}`, `${n},007`, `${n * 1000 + 7}.00`] },
  { weight: 15, spellings: (n) => [`\\frac{1}{${n + 2}}`, `1/${n + 2}`, `\\dfrac{1}{${n + 2}}`, `\\frac{2}{${2 * (n + 2)}}`] },
  { weight: 10, spellings: (n) => [`${n / 4}`, `\\frac{${n}}{4}`, `${n}/4`, `${(n / 4).toFixed(2)}`] },
  { weight: 10, spellings: (n) => [`${2 * n + 1}\\sqrt{2}`, `\\sqrt{${2 * (2 * n + 1) ** 2}}`, `${2 * n + 1} \\sqrt 2`] },
  { weight: 5, spellings: (n) => [`\\frac{${n}\\pi}{3}`, `${n}\\pi/3`, `\\frac{${n}}{3}\\pi`] },
  { weight: 4, spellings: (n) => [`(${n}, ${n + 3})`, `(${n},${n + 3})`, `\\left(${n}, ${n + 3}\\right)`] },
  { weight: 3, spellings: (n) => [`x^2+${2 * n}x+${n * n}`, `(x+${n})^2`] },
];
const TOTAL_WEIGHT = FAMILIES.reduce((sum, family) => sum + family.weight, 0);

function weightedPick<T>(rng: Rng, items: readonly T[], weightOf: (item: T) => number, total: number): T {
  let pick = rng.int(total);
  return items.find((item) => (pick -= weightOf(item)) < 0)!;
}

const FILLER = [
  'First we restate the problem and name the unknown quantity.',
  'Substituting the given values, we get an equation in one variable.',
  'Multiplying both sides by 12 clears the denominators: 3a + 4b = 60.',
  'We check the edge cases n = 0 and n = 1 separately; neither works.',
  'Simplifying, the expression becomes (a + b)^2 - 2ab, which equals 49 - 24 = 25.',
  'Since 7 and 24 are coprime, the fraction is already in lowest terms.',
];

function response(rng: Rng, answer: string | null): string {
  const steps = Array.from({ length: 14 + rng.int(8) }, () => rng.pick(FILLER)).join(' ');
  return answer === null ? `${steps} I am not able to finish this.` : `${steps} Therefore the answer is $\\boxed{${answer}}$.`;
}

/** A group of 16 responses over 1–5 distinct answers; `fresh` numbers make every answer string new. */
function makeGroup(rng: Rng, fresh: number): string[] {
  const distinct = 1 + rng.int(5);
  const answers = Array.from({ length: distinct }, (_, index) => ({
    spellings: weightedPick(rng, FAMILIES, (family) => family.weight, TOTAL_WEIGHT).spellings(fresh * 8 + index + 3),
    weight: 1 + rng.int(6),
  }));
  const total = answers.reduce((sum, answer) => sum + answer.weight, 0);
  return Array.from({ length: RESPONSES }, () => {
    if (rng.int(16) === 0) return response(rng, null);
    return response(rng, rng.pick(weightedPick(rng, answers, (answer) => answer.weight, total).spellings));
  });
}

/** The baseline: every pair of responses compared, classes by union–find, majority = largest class. */
function naiveVote(responses: string[]): string | null {
  const answers = responses.map(extractAnswer);
  const parent = answers.map((_, index) => index);
  const root = (index: number): number => (parent[index] === index ? index : (parent[index] = root(parent[index]!)));
  for (let i = 0; i < answers.length; i++) {
    for (let j = i + 1; j < answers.length; j++) {
      if (answers[i] !== null && answers[j] !== null && answersEquivalent(answers[i]!, answers[j]!)) parent[root(j)] = root(i);
    }
  }
  const sizes = new Map<number, number>();
  answers.forEach((answer, index) => answer !== null && sizes.set(root(index), (sizes.get(root(index)) ?? 0) + 1));
  let best: number | null = null;
  for (const [rootIndex, size] of sizes) if (best === null || size > sizes.get(best)!) best = rootIndex;
  return best === null ? null : answers[best]!;
}

/** Classes by the CAS alone: parse both answers of every pair and ask isEqual. */
function casOnlyVote(ce: ComputeEngine, responses: string[]): number {
  const answers = responses.map(extractAnswer);
  let equalPairs = 0;
  for (let i = 0; i < answers.length; i++) {
    for (let j = i + 1; j < answers.length; j++) {
      if (answers[i] !== null && answers[j] !== null && ce.parse(answers[i]!).isEqual(ce.parse(answers[j]!))) equalPairs++;
    }
  }
  return equalPairs;
}

function timeEach(groups: string[][], vote: (responses: string[]) => unknown): number[] {
  return groups.map((group) => {
    const start = performance.now();
    vote(group);
    return performance.now() - start;
  });
}

function quantile(times: number[], q: number): number {
  const sorted = [...times].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

function report(label: string, times: number[]): number {
  const median = quantile(times, 0.5);
  console.log(`  ${label.padEnd(38)} median ${median.toFixed(3)} ms   p90 ${quantile(times, 0.9).toFixed(3)} ms`);
  return median;
}

const rng = createRng(16);
let fresh = 0;
const newGroups = (count: number): string[][] => Array.from({ length: count }, () => makeGroup(rng, fresh++));

console.log(`vote: ${GROUPS} groups of ${RESPONSES} responses (~${Math.round(response(rng, '1').length / 100) / 10} KB each), 1–5 distinct answers in surface variants`);

// The Compute Engine loads on the first comparison that needs it; timed apart from the votes.
const loadStart = performance.now();
answersEquivalent('\\sqrt{2}', '\\sqrt{3}');
console.log(`  Compute Engine load (once per process)  ${(performance.now() - loadStart).toFixed(0)} ms`);

// Untimed: lets the JIT compile both paths, so "cold" below means cold caches, not cold code.
timeEach(newGroups(100), majorityVote);
timeEach(newGroups(100), naiveVote);

console.log('cold (every answer string new to the caches; the two methods alternate group by group):');
const coldTimes = { vote: [] as number[], naive: [] as number[] };
for (let index = 0; index < GROUPS; index++) {
  coldTimes.vote.push(...timeEach(newGroups(1), majorityVote));
  coldTimes.naive.push(...timeEach(newGroups(1), naiveVote));
}
const coldVote = report('majorityVote', coldTimes.vote);
const coldNaive = report('baseline: all-pairs answersEquivalent', coldTimes.naive);

console.log('warm (the same groups again):');
const warmGroups = newGroups(GROUPS);
timeEach(warmGroups, majorityVote);
const warmVote = report('majorityVote', timeEach(warmGroups, majorityVote));
const warmNaive = report('baseline: all-pairs answersEquivalent', timeEach(warmGroups, naiveVote));

const ce = new ComputeEngine();
const casOnly = report('no keys, no cache: CAS isEqual per pair', timeEach(warmGroups.slice(0, Math.ceil(GROUPS / 10)), (group) => casOnlyVote(ce, group)));

console.log(`target: median ≤ ${TARGET_MS} ms → cold ${coldVote <= TARGET_MS ? 'met' : 'MISSED'}, warm ${warmVote <= TARGET_MS ? 'met' : 'MISSED'}`);
console.log(`ratio (baseline median / majorityVote median): cold ${(coldNaive / coldVote).toFixed(1)}×, warm ${(warmNaive / warmVote).toFixed(1)}×`);
console.log(`ratio (CAS per pair / majorityVote, warm medians): ${(casOnly / warmVote).toFixed(0)}×`);
