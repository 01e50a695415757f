// The language server's incremental re-validation against full re-validation (what the first server did on
// every change: parse the whole text and run validateSeeds over it), measured in the same run on the same
// deterministic seed file: template math problems with rare free words, ~1.5% exact and ~1% near
// duplicates, answers, solutions and a few broken lines.
// Timed: (1) a one-line edit in a 10k-line file — the edit applied to the document model, the duplicate
// state updated, and the document's diagnostics assembled (what is published) — median and p90 over
// EDITS edits of three kinds (a line rewritten, a line inserted, a duplicate line deleted); the baseline is
// one full validation of the edited text; (2) the same over stdio against the built server (didChange to
// publishDiagnostics, debounce 0); (3) opening a 100k-line file (target ≤ 1 s): in process, the document
// model, exact duplicates and diagnostics (everything but the near-duplicate join), against validateSeeds on
// the same text; the join in plain node processes, as the server's worker threads run it (bench/lsp-join.mjs):
// in place, and on a 2-thread runner; over stdio, didOpen to the first publication (every finding but near
// duplicates) and to the one with near duplicates (the join is in), an edit sent during the join, and the
// server process's CPU time (its worker threads included). The baseline of the join and of the server over
// stdio is the tree at JOIN_BEFORE_COMMIT (src/ and language-server/ extracted with git archive into bench/out/
// and bundled there as scripts/build.mjs bundles them), run on the same texts, alternating with the current code.
// Run: node --import tsx bench/lsp.bench.ts [LINES_SMALL] [LINES_LARGE]   (defaults 10000 and 100000)
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { build } from 'esbuild';
import { SeedDocument } from '../language-server/seedDocument';
import { SeedWorkspace } from '../language-server/workspace';
import { extractCommit } from './extract';
import { createRng, type Rng } from '../src/core/random';
import { nearestEarlierAbove } from '../src/core/rouge';
import { parseSeedText } from '../src/core/seeds';
import { DEFAULT_NEAR_DUPLICATE_THRESHOLD, validateSeeds } from '../src/core/validate';
import { SeedSummaryRequest, SeedSummarySchema } from '../src/protocol/seedServer';
import { SERVER_PATH, startServer, type ServerSession } from '../test/integration/language-server-client';

const args = process.argv.slice(2);
const SMALL = Number(args[0] ?? 10_000);
const LARGE = Number(args[1] ?? 100_000);
const EDITS = 60;
const EDIT_TARGET_MS = 50;
const OPEN_TARGET_MS = 1000;
/** The last commit before the join's fourth pass (prefetched list heads, radix-sorted lists, texts posted as one string). */
const JOIN_BEFORE_COMMIT = '7e1f838';
const ROOT = path.resolve(__dirname, '..');

const NAMES = 'Ava Ben Chloe Daniel Emma Farid Grace Hiro Isla Jamal Kira Liam Maya Noah Olivia Priya Quinn Rosa Sam Tara'.split(' ');
const THINGS = 'apples marbles stickers books pencils cookies coins stamps shells cards tickets balloons cupcakes oranges'.split(' ');
const SYLLABLES = 'ka lo mi ne ru sa ti vo ze pa de fi gu ho ja bi'.split(' ');

function rareWord(rng: Rng): string {
  return Array.from({ length: 2 + rng.int(2) }, () => rng.pick(SYLLABLES)).join('');
}

function problem(rng: Rng): string {
  const detail = Array.from({ length: 6 + rng.int(12) }, () => rareWord(rng)).join(' ');
  return `${rng.pick(NAMES)} has ${1 + rng.int(90)} ${rng.pick(THINGS)}. ${detail}. Then ${rng.pick(NAMES)} gives ${1 + rng.int(20)} more. How many ${rng.pick(THINGS)} are there now?`;
}

function seedLine(rng: Rng, earlier: string[]): string {
  const roll = rng.next();
  if (roll < 0.001) return `{"problem": "${problem(rng)}", "answer": `;
  let text: string;
  if (roll < 0.016 && earlier.length > 0) text = rng.pick(earlier).toUpperCase();
  else if (roll < 0.026 && earlier.length > 0) text = rng.pick(earlier).replace(/\d+/, (digits) => String(Number(digits) + 1));
  else text = problem(rng);
  earlier.push(text);
  const answer = 1 + rng.int(500);
  const item: Record<string, unknown> = { problem: text, answer };
  if (rng.next() < 0.5) item.solution = `Adding step by step gives $\\boxed{${rng.next() < 0.97 ? answer : answer + 1}}$.`;
  return JSON.stringify(item);
}

function generate(lines: number, seed: number): string[] {
  const rng = createRng(seed);
  const earlier: string[] = [];
  return Array.from({ length: lines }, () => seedLine(rng, earlier));
}

function quantile(values: number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

const ms = (value: number) => `${value.toFixed(value < 10 ? 2 : 0)} ms`;

/**
 * Wall and CPU milliseconds of `run`. The development machine is shared (load average up to 20 on 2
 * cores), so wall time mostly measures waiting for a core; this process's CPU time (user + system) is
 * the work itself.
 */
function timed(run: () => void): { wall: number; cpu: number } {
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  run();
  const wall = performance.now() - started;
  const { user, system } = process.cpuUsage(cpuBefore);
  return { wall, cpu: (user + system) / 1000 };
}

/** CPU milliseconds (user + system) a child process has used so far: all its threads, or only its main thread. */
function processCpuMs(pid: number, mainThreadOnly = false): number {
  const fields = readFileSync(mainThreadOnly ? `/proc/${pid}/task/${pid}/stat` : `/proc/${pid}/stat`, 'utf8').replace(/^.*\) /, '').split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100; // utime, stime in clock ticks (USER_HZ 100)
}

/** Bundles of the tree at JOIN_BEFORE_COMMIT: src/core/rouge.ts, the runner (language-server/nearJoin.ts), its worker, the server. */
interface TreeBefore {
  rougePath: string;
  runnerPath: string;
  workerPath: string;
  serverPath: string;
}

/**
 * The language server at JOIN_BEFORE_COMMIT: src/ and language-server/ extracted with git archive, the server,
 * its join worker and the runner bundled as scripts/build.mjs bundles them; null without git (no repository).
 */
async function treeBefore(): Promise<TreeBefore | null> {
  const tree = path.resolve(__dirname, 'out/lsp-before', JOIN_BEFORE_COMMIT);
  const dist = (file: string) => path.join(tree, 'dist', file);
  if (!existsSync(dist('rouge.js'))) {
    try {
      extractCommit(JOIN_BEFORE_COMMIT, ['src', 'language-server'], tree);
      const { bundleOptions, computeEngineOnDemand } = await import('../scripts/bundles.mjs');
      const options = { ...bundleOptions(), logLevel: 'warning' as const };
      await build({ ...options, entryPoints: [path.join(tree, 'language-server/server.ts')], outfile: dist('server.js'), plugins: [computeEngineOnDemand] });
      await build({ ...options, entryPoints: [path.join(tree, 'language-server/nearJoinWorker.ts')], outfile: dist('nearJoinWorker.js') });
      await build({ ...options, entryPoints: [path.join(tree, 'language-server/nearJoin.ts')], outfile: dist('nearJoin.js') });
      await build({ ...options, entryPoints: [path.join(tree, 'src/core/rouge.ts')], outfile: dist('rouge.js') });
      copyFileSync(path.join(ROOT, 'dist/compute-engine.js'), dist('compute-engine.js'));
    } catch (error) {
      console.log(`no baseline at ${JOIN_BEFORE_COMMIT}: ${(error as Error).message}`);
      return null;
    }
  }
  return {
    rougePath: dist('rouge.js'),
    runnerPath: dist('nearJoin.js'),
    workerPath: dist('nearJoinWorker.js'),
    serverPath: dist('server.js'),
  };
}

/** Resolves once the server reports no near-duplicate work pending (polled: it is a request). */
async function nearDuplicatesSettled(server: ServerSession): Promise<void> {
  for (;;) {
    const summary = SeedSummarySchema.parse(await server.connection.sendRequest(SeedSummaryRequest.method, {}));
    if (!summary.nearDuplicatesPending) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** What the first server did per change: the whole text parsed and validated. */
function fullValidation(uri: string, text: string): { wall: number; cpu: number } {
  return timed(() => validateSeeds([{ file: uri, ...parseSeedText(text, 'jsonl') }]));
}

type Edit = { range: { start: { line: number; character: number }; end: { line: number; character: number } }; text: string };

/** Edits of three kinds at random lines: rewrite a line, insert one (often a duplicate), delete one. */
function randomEdit(rng: Rng, doc: SeedDocument, pool: string[]): Edit {
  const line = rng.int(doc.lineCount - 1);
  const kind = rng.int(3);
  const newLine = rng.next() < 0.3 ? rng.pick(pool) : seedLine(rng, pool);
  if (kind === 0) return { range: { start: { line, character: 0 }, end: { line, character: doc.entries[line]!.text.length } }, text: newLine };
  if (kind === 1) return { range: { start: { line, character: 0 }, end: { line, character: 0 } }, text: `${newLine}\n` };
  return { range: { start: { line, character: 0 }, end: { line: line + 1, character: 0 } }, text: '' };
}

function inProcessEdits(lines: string[]): void {
  const uri = 'file:///bench/edit.seed.jsonl';
  const rng = createRng(99);
  const workspace = new SeedWorkspace();
  const doc = new SeedDocument(uri, 'jsonl', 'edit.seed.jsonl', lines.join('\n'), 1);
  let started = performance.now();
  workspace.addDocuments([doc]);
  const openMs = performance.now() - started;
  started = performance.now();
  workspace.tracker.fillIndex();
  const indexMs = performance.now() - started;
  console.log(`${lines.length} lines: open (parse, checks, duplicate join) ${ms(openMs)}; similarity index for edits, filled in the background ${ms(indexMs)}`);
  const incremental: { wall: number; cpu: number }[] = [];
  const full: { wall: number; cpu: number }[] = [];
  for (let k = 0; k < EDITS; k++) {
    const edit = randomEdit(rng, doc, lines);
    let published = 0;
    incremental.push(
      timed(() => {
        const changes = doc.applyChanges([edit], k + 2);
        workspace.applyEntryChanges([doc], changes);
        published = workspace.diagnostics(doc).length;
      }),
    );
    if (k % 6 === 0) full.push(fullValidation(uri, doc.text));
    if (published === 0) throw new Error('no diagnostics: the generator should produce some');
  }
  for (const measure of ['cpu', 'wall'] as const) {
    const times = incremental.map((run) => run[measure]);
    const median = quantile(times, 0.5);
    const fullMedian = quantile(full.map((run) => run[measure]), 0.5);
    console.log(
      `one-line edit, in process, ${measure} time: incremental median ${ms(median)}, p90 ${ms(quantile(times, 0.9))}, max ${ms(Math.max(...times))} (${EDITS} edits) → ` +
        `${(median / EDIT_TARGET_MS).toFixed(2)}× the ${EDIT_TARGET_MS} ms target; full re-validation median ${ms(fullMedian)} (${full.length} runs) → ratio ${(fullMedian / median).toFixed(0)}×`,
    );
  }
}

async function overStdio(lines: string[]): Promise<void> {
  const server = await startServer();
  try {
    const uri = 'file:///bench/stdio.seed.jsonl';
    const rng = createRng(5);
    let started = performance.now();
    server.open(uri, lines.join('\n'));
    await server.diagnosticsAtVersion(uri, 1);
    const firstMs = performance.now() - started;
    await nearDuplicatesSettled(server);
    console.log(`over stdio, ${lines.length} lines: didOpen → first publishDiagnostics ${ms(firstMs)}, no near-duplicate work pending (serl/seedSummary) ${ms(performance.now() - started)}`);
    // A mirror of the server's document, only to pick edit positions.
    const mirror = new SeedDocument(uri, 'jsonl', 'mirror', lines.join('\n'), 1);
    const latencies: number[] = [];
    for (let k = 0; k < EDITS; k++) {
      const edit = randomEdit(rng, mirror, lines);
      mirror.applyChanges([edit], k + 2);
      started = performance.now();
      server.change(uri, k + 2, [edit]);
      await server.diagnosticsAtVersion(uri, k + 2);
      latencies.push(performance.now() - started);
    }
    console.log(
      `over stdio, one-line edit: didChange → publishDiagnostics median ${ms(quantile(latencies, 0.5))}, p90 ${ms(quantile(latencies, 0.9))} ` +
        `(first edit ${ms(latencies[0]!)})`,
    );
  } finally {
    await server.stop();
  }
}

async function largeOpen(lines: string[]): Promise<void> {
  const uri = 'file:///bench/large.seed.jsonl';
  const text = lines.join('\n');
  // In process, without the join (threshold 1): what the server publishes first.
  const workspace = new SeedWorkspace(1);
  let doc: SeedDocument | undefined;
  const parsed = timed(() => (doc = new SeedDocument(uri, 'jsonl', 'large.seed.jsonl', text, 1)));
  const exact = timed(() => workspace.addDocuments([doc!]));
  let count = 0;
  const assembled = timed(() => (count = workspace.diagnostics(doc!).length));
  // The join of the first occurrences' instructions, checked against the join in this process.
  const distinct = doc!.entries.filter((entry) => entry.distinct).map((entry) => entry.instruction!);
  const expected = JSON.stringify(nearestEarlierAbove(distinct, DEFAULT_NEAR_DUPLICATE_THRESHOLD));
  const join = await joinFigures(distinct, expected, await treeBefore());
  const baseline = fullValidation(uri, text);
  for (const measure of ['cpu', 'wall'] as const) {
    const first = parsed[measure] + exact[measure] + assembled[measure];
    const total = first + join.inPlace.current[measure];
    const versus = (current: Timing | undefined, before: Timing | undefined) =>
      current === undefined ? 'not measured' : `${ms(current[measure])}` + (before === undefined ? '' : ` (at ${JOIN_BEFORE_COMMIT} ${ms(before[measure])} → ratio ${(before[measure] / current[measure]).toFixed(2)}×)`);
    const { plan, shares } = join.inPlace.current;
    console.log(
      `open ${lines.length} lines in process, ${measure} time: parse + item checks ${ms(parsed[measure])}, exact duplicates ${ms(exact[measure])}, assembly ${ms(assembled[measure])} (${count} diagnostics) → ` +
        `all but the near-duplicate join ${ms(first)} = ${(first / OPEN_TARGET_MS).toFixed(2)}× the ${OPEN_TARGET_MS} ms target; ` +
        `join of ${distinct.length} texts (plain node, same answers): in place, its plan and its two shares one after the other (best of 3) ${versus(join.inPlace.current, join.inPlace.before)} ` +
        `= plan ${versus(plan, join.inPlace.before?.plan)} + shares ${ms(shares![0]![measure])} + ${ms(shares![1]![measure])}; ` +
        `in 2 worker threads (better of 2 runs; the current runner's threads started beforehand, as the server starts them, the old one's with the join): ` +
        `first join ${versus(join.threads?.current[0], join.threads?.before?.[0])}, second join on the same threads ${versus(join.threads?.current[1], join.threads?.before?.[1])}` +
        `; all but the join + the join in place ${ms(total)} = ${(total / OPEN_TARGET_MS).toFixed(2)}× the target; validateSeeds on the same text ${ms(baseline[measure])} → ratio ${(baseline[measure] / total).toFixed(2)}×`,
    );
  }
}

interface Timing {
  wall: number;
  cpu: number;
  /** In place: the plan's and the two shares' own timings. */
  plan?: Timing;
  shares?: Timing[];
}

interface JoinFigures {
  inPlace: { current: Timing; before?: Timing };
  threads: { current: Timing[]; before?: Timing[] } | null;
}

/**
 * The join in plain node processes (bench/lsp-join.mjs), the current code against JOIN_BEFORE_COMMIT's,
 * alternating: in place (the plan, then the two shares the threads run; best of 3 joins) and on a 2-thread
 * runner (a first and a second join; the better of two runs each). Every answer must equal `expected`.
 */
async function joinFigures(texts: string[], expected: string, previous: TreeBefore | null): Promise<JoinFigures> {
  const out = path.resolve(__dirname, 'out');
  const textsFile = path.join(out, 'lsp-join-texts.json');
  const current = { rouge: path.join(out, 'lsp-current-rouge.js'), runner: path.join(out, 'lsp-current-nearJoin.js') };
  mkdirSync(out, { recursive: true });
  writeFileSync(textsFile, JSON.stringify(texts));
  const { bundleOptions } = await import('../scripts/bundles.mjs');
  for (const [entry, outfile] of [['src/core/rouge.ts', current.rouge], ['language-server/nearJoin.ts', current.runner]] as const) {
    await build({ ...bundleOptions(), logLevel: 'warning', entryPoints: [path.resolve(__dirname, '..', entry)], outfile });
  }
  const run = (...args: string[]): Timing[] => {
    const output = execFileSync(process.execPath, [path.resolve(__dirname, 'lsp-join.mjs'), ...args], { maxBuffer: 256 << 20, encoding: 'utf8' });
    const { joins, answer } = JSON.parse(output) as { joins: Timing[]; answer: unknown };
    if (JSON.stringify(answer) !== expected) throw new Error(`lsp-join.mjs ${args.slice(0, 2).join(' ')} disagrees with the join in this process`);
    return joins;
  };
  const threshold = String(DEFAULT_NEAR_DUPLICATE_THRESHOLD);
  const inPlace = (rouge: string) => run('in-place', rouge, textsFile, threshold).reduce((a, b) => (b.cpu < a.cpu ? b : a));
  const threads = (runner: string, worker: string, start: string) => run('threads', runner, worker, textsFile, threshold, start);
  const better = (a: Timing[], b: Timing[]) => a.map((timing, k) => ({ wall: Math.min(timing.wall, b[k]!.wall), cpu: Math.min(timing.cpu, b[k]!.cpu) }));
  const figures: JoinFigures = { inPlace: { current: inPlace(current.rouge), ...(previous === null ? {} : { before: inPlace(previous.rougePath) }) }, threads: null };
  const workerPath = path.resolve(__dirname, '../dist/nearJoinWorker.js');
  if (!existsSync(workerPath)) return figures;
  const rounds = [0, 1].map(() => ({ current: threads(current.runner, workerPath, 'prestart'), before: previous === null ? undefined : threads(previous.runnerPath, previous.workerPath, 'new') }));
  figures.threads = { current: better(rounds[0]!.current, rounds[1]!.current), ...(previous === null ? {} : { before: better(rounds[0]!.before!, rounds[1]!.before!) }) };
  return figures;
}

/** Opening the large file in the built server: first publication, an edit during the join, the near duplicates. */
async function largeOpenOverStdio(lines: string[], serverPath: string, label: string): Promise<void> {
  const server = await startServer({ serverPath });
  try {
    // A running server, as when a user opens the file (the current server starts its join threads meanwhile).
    await new Promise((resolve) => setTimeout(resolve, 500));
    const uri = 'file:///bench/large-stdio.seed.jsonl';
    const pid = server.child.pid!;
    const cpuBefore = processCpuMs(pid);
    const mainCpuBefore = processCpuMs(pid, true);
    const started = performance.now();
    server.open(uri, lines.join('\n'));
    const first = await server.diagnosticsAtVersion(uri, 1);
    const firstMs = performance.now() - started;
    // The join's worker threads start before the first publication: the main thread's time is its cost.
    const firstCpu = processCpuMs(pid, true) - mainCpuBefore;
    // An edit while the join runs: a copy of line 2 inserted at the top, which makes the original (now line 3)
    // an exact duplicate: a finding that must appear at once, at the moved line.
    const editStarted = performance.now();
    server.change(uri, 2, [{ range: { start: { line: 0, character: 0 }, end: { line: 0, character: 0 } }, text: `${lines[1]}\n` }]);
    const edited = await server.diagnosticsAtVersion(uri, 2);
    const editMs = performance.now() - editStarted;
    if (!edited.diagnostics.some((diagnostic) => diagnostic.code === 'duplicate' && diagnostic.range.start.line === 2)) throw new Error('the edit made during the join did not show its duplicate');
    const withNear = await server.diagnosticsFor(uri, (entry) => entry.version === 2 && entry.diagnostics.some((diagnostic) => diagnostic.code === 'near-duplicate'));
    const nearMs = performance.now() - started;
    const nearCpu = processCpuMs(pid) - cpuBefore;
    await nearDuplicatesSettled(server);
    const settledMs = performance.now() - started;
    const near = withNear.diagnostics.filter((diagnostic) => diagnostic.code === 'near-duplicate').length;
    console.log(
      `${label}: open ${lines.length} lines over stdio: didOpen → first publishDiagnostics ${ms(firstMs)} wall, ${ms(firstCpu)} CPU of the server's main thread (${first.diagnostics.length} diagnostics, no near duplicates yet) = ${(firstCpu / OPEN_TARGET_MS).toFixed(2)}× the target in CPU time; ` +
        `an edit during the join answered in ${ms(editMs)}; near duplicates published after ${ms(nearMs)} wall, ${ms(nearCpu)} server CPU, all threads (${near} near duplicates); serl/seedSummary reports no near-duplicate work pending after ${ms(settledMs)}`,
    );
  } finally {
    await server.stop();
  }
}

async function main(): Promise<void> {
  const small = generate(SMALL, 20251125);
  inProcessEdits(small);
  if (existsSync(path.resolve(__dirname, '../dist/server.js'))) await overStdio(small);
  else console.log('over stdio: dist/server.js not built (npm run build); skipped');
  const large = generate(LARGE, 7);
  await largeOpen(large);
  if (!existsSync(SERVER_PATH)) return;
  // The server at JOIN_BEFORE_COMMIT, alternating with the current one, so that both meet the same load.
  const previous = await treeBefore();
  for (let round = 0; round < 2; round++) {
    await largeOpenOverStdio(large, SERVER_PATH, 'current server');
    if (previous !== null) await largeOpenOverStdio(large, previous.serverPath, `server at ${JOIN_BEFORE_COMMIT}`);
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
