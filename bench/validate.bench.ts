// Seed-file validation at 100k lines (target ≤ 1 s, CLI end to end). A deterministic generator writes a
// realistic seed file: math word problems assembled from sentence templates with varied names, objects and
// numbers plus free-text detail with a long tail of rare words, most with an answer and a \boxed{}
// solution, and a sprinkling of exact duplicates, near duplicates, answer mismatches, missing answers,
// rule-filter hits and broken lines. Timed: the full validation in-process (read + parse + every check)
// and `node dist/cli.js validate` on the file, each also with the near-duplicate search off, so the
// search's share is visible. Baselines, in the same run: the near-duplicate search done naively (rougeL
// against every earlier item) against the NearDuplicateIndex and against validate's join (nearestEarlierAbove)
// on the same subset, and the join as it was before its pair-key filter (src/core/rouge.ts at BEFORE_COMMIT,
// written to bench/out by git show) on a prefix, timed back to back with the current one (wall and CPU time,
// as the development machine is shared).
// The full-size runs with the near-duplicate search are skipped when the search, timed on a 10k-line
// prefix and extrapolated quadratically, would take over two minutes (pass --force to run them anyway).
// Run: node --import tsx bench/validate.bench.ts [LINES] [BASELINE_SUBSET] [--force]   (defaults 100000 and 1000)
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { readSeedFile } from '../src/cli/seedFiles';
import { createRng, type Rng } from '../src/core/random';
import { NearDuplicateIndex, nearestEarlierAbove, rougeLFromTokens, rougeTokens } from '../src/core/rouge';
import { DEFAULT_NEAR_DUPLICATE_THRESHOLD, validateSeeds, type Diagnostic, type ValidateOptions } from '../src/core/validate';

const args = process.argv.slice(2).filter((arg) => !arg.startsWith('--'));
const LINES = Number(args[0] ?? 100_000);
const SUBSET = Number(args[1] ?? 1_000);
const FORCE = process.argv.includes('--force');
const PROBE_LINES = 10_000;
const SKIP_ABOVE_MS = 120_000;
const TARGET_MS = 1000;
const ROOT = path.resolve(__dirname, '..');
const FILE = path.join(ROOT, 'bench/out/seeds-validate.jsonl');
const CLI = path.join(ROOT, 'dist/cli.js');
/** The last commit with the join before its pair-key filter. */
const BEFORE_COMMIT = 'a650aed';
const BEFORE_FILE = path.join(ROOT, 'bench/out/rouge-before.ts');

const NAMES = ('Ava Ben Chloe Daniel Emma Farid Grace Hiro Isla Jamal Kira Liam Maya Noah Olivia Priya Quinn Rosa Sam Tara Umar ' +
  'Vera Wen Ximena Yusuf Zoe Aaron Bianca Carlos Dina Elif Felix Gwen Hassan Ines Jonas Keiko Leo Mila Nikhil Omar Paula ' +
  'Rafael Sofia Tomas Uma Victor Willa Xavier Yara Zane Amara Bruno Celia Dev Esme Finn Greta Hugo Ivy').split(' ');
const THINGS = ('apples marbles stickers books pencils cookies coins stamps shells cards tickets balloons cupcakes oranges ' +
  'notebooks beads flowers candles toy cars seashells postcards buttons erasers crayons muffins bottles plates chairs ' +
  'blocks ribbons puzzles magnets lemons pears peaches bagels tomatoes carrots potatoes eggs').split(' ');
const PLACES = 'market bakery library school fair museum park garden store farm zoo beach cafe gym harbor station'.split(' ');
const UNITS = ['hour', 'day', 'week', 'month'];

type Slots = { a: string; b: string; t: string; u: string; p: string; n: number; m: number; k: number; c: number };
const INTROS: ((s: Slots) => string)[] = [
  (s) => `${s.a} has ${s.n} ${s.t}.`,
  (s) => `At the ${s.p}, ${s.a} buys ${s.n} ${s.t} for $${s.c} each.`,
  (s) => `${s.a} collects ${s.n} ${s.t} every ${s.u}.`,
  (s) => `A box holds ${s.n} ${s.t}, and ${s.a} owns ${s.k} such boxes.`,
  (s) => `${s.a} and ${s.b} share ${s.n} ${s.t} equally.`,
  (s) => `The ${s.p} sells ${s.t} in packs of ${s.k}.`,
  (s) => `${s.a} reads ${s.n} pages on Monday and twice as many on Tuesday.`,
  (s) => `There are ${s.n} ${s.t} in a basket at the ${s.p}.`,
  (s) => `${s.a} earns $${s.c} per ${s.u} working at the ${s.p}.`,
  (s) => `A recipe needs ${s.k} ${s.t} for every ${s.m} servings.`,
  (s) => `${s.a} is ${s.k} years older than ${s.b}, who is ${s.m} years old.`,
  (s) => `A train leaves the ${s.p} at ${s.k} o'clock and travels ${s.n} miles.`,
  (s) => `${s.a} plants ${s.n} rows of ${s.t} with ${s.k} in each row.`,
  (s) => `The price of ${s.t} rose from $${s.m} to $${s.c}.`,
];
const EVENTS: ((s: Slots) => string)[] = [
  (s) => `Then ${s.b} gives ${s.a} ${s.m} more.`,
  (s) => `${s.a} loses ${s.m} of them on the way home.`,
  (s) => `Later ${s.a} sells ${s.m} of them to ${s.b}.`,
  (s) => `Each ${s.u}, ${s.m} of them are used up.`,
  (s) => `${s.b} doubles the amount and then adds ${s.m}.`,
  (s) => `After ${s.k} ${s.u}s, ${s.a} has spent $${s.c} in total.`,
  (s) => `${s.b} takes one third of what is left.`,
  (s) => `On the second ${s.u} the number increases by ${s.m} percent.`,
  (s) => `${s.a} splits them into ${s.k} equal groups.`,
  (s) => `A discount of ${s.m} percent applies at the ${s.p}.`,
  (s) => `${s.b} arrives with ${s.k} friends who each bring ${s.m} ${s.t}.`,
  (s) => `Half of them are given to the ${s.p}.`,
];
const QUESTIONS: ((s: Slots) => string)[] = [
  (s) => `How many ${s.t} does ${s.a} have now?`,
  (s) => `How much money does ${s.a} spend altogether?`,
  (s) => `What is the total number of ${s.t} after ${s.k} ${s.u}s?`,
  (s) => `How many ${s.t} are left?`,
  (s) => `What fraction of the ${s.t} does ${s.b} get?`,
  (s) => `How many more ${s.t} does ${s.a} have than ${s.b}?`,
  (s) => `What is the average number of ${s.t} per ${s.u}?`,
  (s) => `How old will ${s.b} be in ${s.k} years?`,
  (s) => `How many ${s.u}s does it take to reach ${s.n} ${s.t}?`,
  (s) => `What percent of the ${s.t} remain at the ${s.p}?`,
];
const EXTRAS: ((s: Slots) => string)[] = [
  (s) => `Assume ${s.b} never returns any of the ${s.t}.`,
  () => `Express your answer as a common fraction.`,
  () => `Round your answer to the nearest whole number.`,
  (s) => `Ignore any ${s.t} that were broken at the ${s.p}.`,
  (s) => `Note that ${s.a} started with no savings.`,
];

function slots(rng: Rng): Slots {
  const [a, b] = rng.sample(NAMES, 2) as [string, string];
  return { a, b, t: rng.pick(THINGS), u: rng.pick(UNITS), p: rng.pick(PLACES), n: 10 + rng.int(990), m: 2 + rng.int(48), k: 2 + rng.int(11), c: 1 + rng.int(99) };
}

// Free-text detail between the template sentences: without it, problems from the same few templates
// would be near duplicates of one another far more often than in real seed sets.
const DETAIL_WORDS = ('the a of and to in with for on at each every after before while because during then also only ' +
  'red blue green small large old new heavy light round square wooden glass paper metal plastic bright quiet busy ' +
  'morning evening weekend holiday summer winter spring autumn rainy sunny windy snowy early late first last second ' +
  'neighbor teacher cousin friend brother sister uncle aunt coach baker farmer driver pilot doctor artist student ' +
  'carries paints counts stacks sorts packs wraps trades measures weighs mixes builds repairs delivers orders ' +
  'bicycle wagon kitchen shelf drawer table window bridge river hill road corner tower tent boat bus truck').split(' ');

// Real problems have a long tail of rare words (MATH: a fifth of all tokens occur in ≤ 1% of problems);
// pseudo-words drawn with Zipf's law (P(rank r) ∝ 1/r) from a large vocabulary supply that tail.
const SYLLABLES = 'ka lo mi ne ru sa ti vo ze pa de fi gu ho ja bi'.split(' ');
const RARE_WORDS = SYLLABLES.flatMap((a) => SYLLABLES.flatMap((b) => [a + b, ...SYLLABLES.map((c) => a + b + c)]));

function rareWord(rng: Rng): string {
  const rank = Math.floor(Math.exp(rng.next() * Math.log(RARE_WORDS.length + 1))) - 1;
  return RARE_WORDS[rank]!;
}

function detail(rng: Rng): string {
  const words = Array.from({ length: 6 + rng.int(14) }, () => (rng.next() < 0.5 ? rng.pick(DETAIL_WORDS) : rareWord(rng)));
  return words[0]!.charAt(0).toUpperCase() + words.join(' ').slice(1) + '.';
}

function problem(rng: Rng): string {
  const s = slots(rng);
  const parts = [rng.pick(INTROS)(s), detail(rng), rng.pick(EVENTS)(s)];
  if (rng.next() < 0.5) parts.push(detail(rng));
  parts.push(rng.pick(QUESTIONS)(s));
  if (rng.next() < 0.3) parts.push(rng.pick(EXTRAS)(s));
  return parts.join(' ');
}

/** One seed line; the mix of defects is what a real, slightly dirty seed file would hold. */
function seedLine(rng: Rng, index: number, earlier: string[]): string {
  const roll = rng.next();
  if (roll < 0.001) return `{"problem": "${problem(rng)}", "answer": `; // torn or broken line
  let text: string;
  if (roll < 0.011 && earlier.length > 0) text = rng.pick(earlier).toUpperCase(); // exact duplicate up to case
  else if (roll < 0.021 && earlier.length > 0) text = rng.pick(earlier).replace(/\d+/, (digits) => String(Number(digits) + 1)); // near duplicate
  else if (roll < 0.026) text = rng.pick(['What is 7 times 8?', 'Compute 12 squared.', 'Find the graph of y = 2x + 1 and give its slope.', 'Write a program that sums the first 100 integers.']);
  else text = problem(rng);
  earlier.push(text);
  const item: Record<string, unknown> = { problem: text, idx: index, level: `Level ${1 + rng.int(5)}`, subject: rng.pick(['Prealgebra', 'Algebra', 'Number Theory']) };
  const answer = rng.int(2) === 0 ? 1 + rng.int(5000) : `\\frac{${1 + rng.int(40)}}{${41 + rng.int(40)}}`;
  const answerRoll = rng.next();
  if (answerRoll < 0.03) return JSON.stringify(item); // missing answer in a file that declares answers
  item.answer = answerRoll < 0.035 ? 5001 + rng.int(5000) : answer; // < 0.035: an answer the solution contradicts
  if (rng.next() < 0.7) item.solution = `We work through the problem step by step and find that the result is $\\boxed{${answer}}$.`;
  return JSON.stringify(item);
}

/** Writes the file; returns the instructions of its well-formed lines, in order. */
function generate(): string[] {
  const rng = createRng(20250520);
  const instructions: string[] = [];
  const lines = Array.from({ length: LINES }, (_, index) => seedLine(rng, index, instructions));
  mkdirSync(path.dirname(FILE), { recursive: true });
  writeFileSync(FILE, lines.join('\n') + '\n');
  return instructions;
}

interface Validation {
  parseMs: number;
  checksMs: number;
  diagnostics: Diagnostic[];
}

/** What `serl validate` does in-process: read and parse the file, then every check. */
async function validateFile(options: ValidateOptions = {}): Promise<Validation> {
  const start = performance.now();
  const parsed = await readSeedFile(FILE);
  const parsedAt = performance.now();
  const [diagnostics] = validateSeeds([{ file: FILE, ...parsed }], options);
  return { parseMs: parsedAt - start, checksMs: performance.now() - parsedAt, diagnostics: diagnostics! };
}

/** Up to three runs, the run with the median total reported; a single run when one takes over 10 s. */
async function repeated<T>(run: () => Promise<T> | T, total: (result: T) => number): Promise<{ result: T; runs: number }> {
  const results: T[] = [];
  do results.push(await run());
  while (results.length < 3 && total(results[0]!) < 10_000);
  const sorted = [...results].sort((a, b) => total(a) - total(b));
  return { result: sorted[Math.floor(sorted.length / 2)]!, runs: results.length };
}

function ms(value: number): string {
  return `${value.toFixed(0)} ms`;
}

/** Naive near-duplicate search: every item scored against every earlier one. Returns matches found. */
function naiveNearDuplicates(texts: string[]): number {
  const tokens = texts.map(rougeTokens);
  let found = 0;
  for (let i = 0; i < tokens.length; i++) {
    for (let j = 0; j < i; j++) {
      if (rougeLFromTokens(tokens[i]!, tokens[j]!) > DEFAULT_NEAR_DUPLICATE_THRESHOLD) {
        found++;
        break;
      }
    }
  }
  return found;
}

function indexedNearDuplicates(texts: string[]): number {
  const index = new NearDuplicateIndex<number>({ minThreshold: DEFAULT_NEAR_DUPLICATE_THRESHOLD });
  let found = 0;
  texts.forEach((text, i) => {
    if (index.nearestAbove(text, DEFAULT_NEAR_DUPLICATE_THRESHOLD) !== null) found++;
    index.add(text, i);
  });
  return found;
}

/** What validate runs: the whole list joined at once (nearestEarlierAbove). */
function joinedNearDuplicates(texts: string[]): number {
  return nearestEarlierAbove(texts, DEFAULT_NEAR_DUPLICATE_THRESHOLD).filter((match) => match !== null).length;
}

type Join = typeof nearestEarlierAbove;

/** The join at BEFORE_COMMIT, or null when git cannot show it (no repository). */
async function joinBefore(): Promise<Join | null> {
  try {
    const source = execFileSync('git', ['show', `${BEFORE_COMMIT}:src/core/rouge.ts`], { cwd: ROOT, encoding: 'utf8' });
    writeFileSync(BEFORE_FILE, source);
  } catch {
    return null;
  }
  return ((await import(BEFORE_FILE)) as { nearestEarlierAbove: Join }).nearestEarlierAbove;
}

/** Wall and CPU (user + system) milliseconds of one call. */
function timed<T>(run: () => T): { result: T; wallMs: number; cpuMs: number } {
  const cpu = process.cpuUsage();
  const start = performance.now();
  const result = run();
  const used = process.cpuUsage(cpu);
  return { result, wallMs: performance.now() - start, cpuMs: (used.user + used.system) / 1000 };
}

function countCodes(diagnostics: readonly Diagnostic[]): string {
  const counts = new Map<string, number>();
  for (const { code } of diagnostics) counts.set(code, (counts.get(code) ?? 0) + 1);
  return [...counts].map(([code, count]) => `${code} ${count}`).join(', ');
}

async function inProcess(label: string, options: ValidateOptions): Promise<Validation> {
  const { result, runs } = await repeated(() => validateFile(options), (run) => run.parseMs + run.checksMs);
  const total = result.parseMs + result.checksMs;
  console.log(`in-process, ${label} (median of ${runs}): parse ${ms(result.parseMs)} + checks ${ms(result.checksMs)} = ${ms(total)} → ${(total / TARGET_MS).toFixed(2)}× the target`);
  return result;
}

async function viaCli(label: string, args: string[], expectedFindings: number): Promise<void> {
  const { result, runs } = await repeated(() => {
    const start = performance.now();
    const run = spawnSync(process.execPath, [CLI, 'validate', '--format', 'json', ...args, FILE], { encoding: 'utf8', maxBuffer: 1 << 30 });
    if (run.status !== 1) throw new Error(`CLI exited ${run.status} (expected 1: the file has errors): ${run.stderr}`);
    if ((JSON.parse(run.stdout) as unknown[]).length !== expectedFindings) throw new Error('CLI and in-process findings differ');
    return performance.now() - start;
  }, (elapsed) => elapsed);
  console.log(`CLI end to end, ${label} (median of ${runs}): ${ms(result)} → ${(result / TARGET_MS).toFixed(2)}× the ${TARGET_MS} ms target`);
}

async function main(): Promise<void> {
  let started = performance.now();
  const instructions = generate();
  console.log(`generated ${LINES} lines in ${ms(performance.now() - started)} → ${path.relative(ROOT, FILE)}`);

  const probeLines = Math.min(PROBE_LINES, instructions.length);
  const probeTexts = instructions.slice(0, probeLines);
  const current = timed(() => nearestEarlierAbove(probeTexts, DEFAULT_NEAR_DUPLICATE_THRESHOLD));
  const probeMs = current.wallMs;
  const projectedMs = probeMs * (instructions.length / probeLines) ** 2;
  console.log(
    `near-duplicate search (validate's join) on the first ${probeLines} items: ${ms(current.wallMs)} (CPU ${ms(current.cpuMs)}); ` +
      `quadratic projection to all: ${ms(projectedMs)}`,
  );
  const before = await joinBefore();
  if (before === null) {
    console.log(`join before ${BEFORE_COMMIT}: git show failed; skipped`);
  } else {
    const previous = timed(() => before(probeTexts, DEFAULT_NEAR_DUPLICATE_THRESHOLD));
    if (JSON.stringify(previous.result) !== JSON.stringify(current.result)) throw new Error(`the join at ${BEFORE_COMMIT} and the current one disagree`);
    console.log(
      `join at ${BEFORE_COMMIT} on the same items: ${ms(previous.wallMs)} (CPU ${ms(previous.cpuMs)}) → ratio ` +
        `${(previous.wallMs / current.wallMs).toFixed(2)}× wall, ${(previous.cpuMs / current.cpuMs).toFixed(2)}× CPU; same answers`,
    );
  }

  const withoutSearch = await inProcess('near-duplicate search off', { nearDuplicateThreshold: 1 });
  const full = FORCE || projectedMs <= SKIP_ABOVE_MS ? await inProcess('all checks', {}) : null;
  if (full === null) console.log(`in-process and CLI with all checks: skipped (projected over ${ms(SKIP_ABOVE_MS)}; --force runs them)`);
  console.log(`findings: ${countCodes((full ?? withoutSearch).diagnostics)}`);

  if (existsSync(CLI)) {
    const startup = await repeated(() => {
      const start = performance.now();
      spawnSync(process.execPath, [CLI, 'validate', '--help']);
      return performance.now() - start;
    }, (elapsed) => elapsed);
    console.log(`CLI process start + bundle load (validate --help, median of ${startup.runs}): ${ms(startup.result)}`);
    await viaCli('near-duplicate search off', ['--threshold', '1'], withoutSearch.diagnostics.length);
    if (full !== null) await viaCli('all checks', [], full.diagnostics.length);
  } else {
    console.log(`CLI: ${path.relative(ROOT, CLI)} not built (npm run build); skipped`);
  }

  // Baseline: the near-duplicate search without the index, on a subset.
  const texts = instructions.slice(0, SUBSET);
  started = performance.now();
  const naiveFound = naiveNearDuplicates(texts);
  const naiveMs = performance.now() - started;
  started = performance.now();
  const indexedFound = indexedNearDuplicates(texts);
  const indexedMs = performance.now() - started;
  started = performance.now();
  const joinedFound = joinedNearDuplicates(texts);
  const joinedMs = performance.now() - started;
  if (naiveFound !== indexedFound) throw new Error(`index found ${indexedFound} near duplicates, naive search ${naiveFound}`);
  if (naiveFound !== joinedFound) throw new Error(`join found ${joinedFound} near duplicates, naive search ${naiveFound}`);
  console.log(
    `near duplicates among the first ${SUBSET} items (${naiveFound} found by all): naive rougeL against every earlier item ${ms(naiveMs)}, ` +
      `NearDuplicateIndex ${ms(indexedMs)} → ratio ${(naiveMs / indexedMs).toFixed(1)}×, ` +
      `nearestEarlierAbove (validate's join) ${ms(joinedMs)} → ratio ${(naiveMs / joinedMs).toFixed(1)}×`,
  );
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
