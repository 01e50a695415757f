// Run by bench/lsp.bench.ts in a plain node process: the join as the server's worker threads run it, in a
// small heap and without the benchmark's tsx loader (worker threads would inherit it and start ~0.5 s slower).
//   node bench/lsp-join.mjs threads BUNDLE WORKER TEXTS THRESHOLD [prestart]
//     two joins on one 2-thread runner from BUNDLE (language-server/nearJoin.ts bundled) with its WORKER; with
//     `prestart` the runner starts its threads first and the first join comes 0.5 s later, as the server's
//     first join finds them started.
//   node bench/lsp-join.mjs in-place BUNDLE TEXTS THRESHOLD
//     three joins in place from BUNDLE (src/core/rouge.ts bundled): the plan, then its two shares.
// TEXTS is a JSON array of strings. Prints { joins: [{ wall, cpu, plan?, shares? }, …] (ms; CPU of the whole
// process), answer } as JSON.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const [mode, bundle, ...rest] = process.argv.slice(2);

const cpuMs = ({ user, system }) => (user + system) / 1000;

async function timed(run) {
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  const result = await run();
  return { result, timing: { wall: performance.now() - started, cpu: cpuMs(process.cpuUsage(cpuBefore)) } };
}

const joins = [];
let answer = null;
if (mode === 'threads') {
  const [workerPath, textsFile, threshold, start] = rest;
  const texts = JSON.parse(readFileSync(textsFile, 'utf8'));
  const prestart = start === 'prestart';
  const runner = require(bundle).nearJoinRunner({ workerPath, parts: 2, ...(prestart ? { prestart } : {}) });
  if (prestart) await new Promise((resolve) => setTimeout(resolve, 500));
  for (let k = 0; k < 2; k++) {
    const { result, timing } = await timed(() => runner(texts, Number(threshold), new AbortController().signal));
    answer = result;
    joins.push(timing);
  }
} else if (mode === 'in-place') {
  const [textsFile, threshold] = rest;
  const texts = JSON.parse(readFileSync(textsFile, 'utf8'));
  const { prepareJoin, joinShare, mergeNearestEarlier } = require(bundle);
  for (let k = 0; k < 3; k++) {
    const { result: plan, timing: planTiming } = await timed(() => prepareJoin(texts, Number(threshold), { shared: true }));
    const shares = [];
    for (const part of [0, 1]) shares.push(await timed(() => joinShare(plan, { part, parts: 2 })));
    answer = mergeNearestEarlier(shares.map((share) => share.result));
    const shareTimings = shares.map((share) => share.timing);
    const sum = (measure) => planTiming[measure] + shareTimings[0][measure] + shareTimings[1][measure];
    joins.push({ wall: sum('wall'), cpu: sum('cpu'), plan: planTiming, shares: shareTimings });
  }
} else {
  throw new Error(`unknown mode ${mode}: threads or in-place`);
}
process.stdout.write(JSON.stringify({ joins, answer }));
