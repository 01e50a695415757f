// Sampling speed of the training worker on the demo's evaluation workload: the arithmetic world's base model
// (3 layers, 128 wide, 512-character context), held-out problems, 1 greedy + 16 sampled (t=1) responses of
// ≤ 80 characters each with "\n" as the stop string, through the real evaluation code (evaluatePolicy) and
// the real worker process. Baseline, in the same run on the same problems: the worker at BASELINE_COMMIT
// (KV cache grown with torch.cat, prompts prefilled once per sample, finished rows computed to the end).
// Greedy responses must be identical; sampled ones differ (the samplers draw in another order), so their
// pass@1 is printed as a sanity check only.
// Run: node --import tsx bench/worker-sampling.bench.ts [PROBLEMS] [--threads N]   (defaults 100 and 2)
import path from 'node:path';
import { evaluatePolicy, readLabelledProblems, type Sampler } from '../src/engine/evaluate';
import { BASE_MODEL, BASELINE_COMMIT, ROOT, baselineTrainerDir, cpuSeconds, missingTorch, startWorker } from './worker-baseline';

const args = process.argv.slice(2);
const threadsAt = args.indexOf('--threads');
const THREADS = threadsAt >= 0 ? Number(args[threadsAt + 1]) : 2;
const PROBLEMS = Number(args.find((arg, i) => !arg.startsWith('--') && args[i - 1] !== '--threads') ?? 100);

interface Measured {
  wallS: number;
  cpuS: number;
  tokens: number;
  greedy: string[];
  greedyPass1: number;
  sampledPass1: number;
}

async function measure(trainerDir: string): Promise<Measured> {
  const worker = await startWorker(trainerDir, THREADS);
  try {
    await worker.initialize({ model: { kind: 'tiny', path: BASE_MODEL }, device: 'cpu', seed: 0, optimizer: { lr: 1e-4 } });
    const problems = (await readLabelledProblems(path.join(ROOT, 'examples/arithmetic/test.jsonl'))).slice(0, PROBLEMS);
    let tokens = 0;
    const counting: Sampler = {
      async sample(params) {
        const result = await worker.sample(params);
        for (const entry of result.results) for (const sample of entry.samples) tokens += sample.tokens;
        return result;
      },
    };
    const cpuBefore = cpuSeconds(worker.pid!);
    const started = performance.now();
    const evaluation = await evaluatePolicy(counting, problems);
    const wallS = (performance.now() - started) / 1000;
    const cpuS = cpuSeconds(worker.pid!) - cpuBefore;
    return {
      wallS,
      cpuS,
      tokens,
      greedy: evaluation.items.map((item) => item.greedy.text),
      greedyPass1: evaluation.greedy_pass1,
      sampledPass1: evaluation.sampled_pass1,
    };
  } finally {
    await worker.dispose();
  }
}

async function main(): Promise<void> {
  const skip = missingTorch();
  if (skip) {
    console.log(`skipped: ${skip}`);
    return;
  }
  console.log(`${PROBLEMS} problems × (1 greedy + 16 sampled), ≤ 80 tokens, ${THREADS} thread(s); baseline ${BASELINE_COMMIT.slice(0, 7)}`);
  const rows: [string, Measured][] = [];
  for (const [label, dir] of [['baseline', baselineTrainerDir()], ['current', path.join(ROOT, 'trainer')]] as const) {
    const result = await measure(dir);
    rows.push([label, result]);
    console.log(
      `${label.padEnd(8)} ${result.tokens} tokens  wall ${result.wallS.toFixed(1)} s = ${(result.tokens / result.wallS).toFixed(0)} tokens/s` +
        `  worker CPU ${result.cpuS.toFixed(1)} s = ${(result.tokens / result.cpuS).toFixed(0)} tokens/CPU-s` +
        `  greedy pass@1 ${result.greedyPass1.toFixed(3)}  sampled pass@1 ${result.sampledPass1.toFixed(3)}`,
    );
  }
  const [[, before], [, after]] = rows as [[string, Measured], [string, Measured]];
  const sameGreedy = before.greedy.filter((text, i) => text === after.greedy[i]).length;
  console.log(`greedy responses identical: ${sameGreedy}/${before.greedy.length}`);
  const rate = (m: Measured, seconds: number) => m.tokens / seconds;
  console.log(
    `ratio (current / baseline): ${(rate(after, after.wallS) / rate(before, before.wallS)).toFixed(2)}× tokens/s wall, ` +
      `${(rate(after, after.cpuS) / rate(before, before.cpuS)).toFixed(2)}× tokens per CPU-second`,
  );
  console.log(`projected 500 × 17 evaluation, wall: ${((after.wallS * 500) / PROBLEMS).toFixed(0)} s (baseline ${((before.wallS * 500) / PROBLEMS).toFixed(0)} s)`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
