// Run by bench/lsp.bench.ts in a plain node process, so that worker threads start as in the server (without
// the benchmark's tsx loader): two joins of the texts in TEXTS_FILE on one 2-thread runner, loaded from RUNNER
// (a bundle of language-server/nearJoin.ts) with its worker WORKER. With `prestart` the runner starts its
// threads first and the first join waits 0.5 s for them, as the server's first join finds them started.
// Prints { joins: [{ wall, cpu }, …] (ms, CPU of the whole process), answer } as JSON.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const [runnerPath, workerPath, textsFile, threshold, mode] = process.argv.slice(2);
const { nearJoinRunner } = createRequire(import.meta.url)(runnerPath);
const texts = JSON.parse(readFileSync(textsFile, 'utf8'));
const prestart = mode === 'prestart';
const runner = nearJoinRunner({ workerPath, parts: 2, ...(prestart ? { prestart } : {}) });
if (prestart) await new Promise((resolve) => setTimeout(resolve, 500));
const joins = [];
let answer = null;
for (let k = 0; k < 2; k++) {
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  answer = await runner(texts, Number(threshold), new AbortController().signal);
  const { user, system } = process.cpuUsage(cpuBefore);
  joins.push({ wall: performance.now() - started, cpu: (user + system) / 1000 });
}
process.stdout.write(JSON.stringify({ joins, answer }));
