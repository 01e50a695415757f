// Training speed of the worker: one `train_step` on 16 prompts × 16 samples (PPO-clip with a k3 KL to the
// reference, the arithmetic world's base model, samples drawn by the same worker with keep) and one
// `train_sft` on 256 warm-up examples, through the real worker process. Baseline, in the same run: the
// worker at BASELINE_COMMIT (right-padded micro-batches in request order, the LM head over the prompts,
// entropies with a gradient graph). train_sft gets identical inputs in both; train_step trains on each
// worker's own samples (the samplers draw differently), so it is compared in tokens per second.
// Run: node --import tsx bench/worker-train.bench.ts [--micro-batch M] [--threads N] [--repeats R]
//   (defaults 16, 1 and 3; the best of R steps is kept)
import path from 'node:path';
import { readFileSync } from 'node:fs';
import { readLabelledProblems } from '../src/engine/evaluate';
import { BASE_MODEL, BASELINE_COMMIT, ROOT, baselineTrainerDir, cpuSeconds, missingTorch, startWorker } from './worker-baseline';

function option(name: string, fallback: number): number {
  const at = process.argv.indexOf(name);
  return at >= 0 ? Number(process.argv[at + 1]) : fallback;
}
const MICRO_BATCH = option('--micro-batch', 16);
const THREADS = option('--threads', 1);
const REPEATS = option('--repeats', 3);
const PROMPTS = 16;
const SAMPLES = 16;

interface Timed {
  wallS: number;
  cpuS: number;
  tokens: number;
}

async function measure(trainerDir: string): Promise<{ step: Timed; sft: Timed }> {
  const worker = await startWorker(trainerDir, THREADS);
  try {
    await worker.initialize({ model: { kind: 'tiny', path: BASE_MODEL }, device: 'cpu', seed: 0, optimizer: { lr: 1e-5 }, reference: true });
    const problems = (await readLabelledProblems(path.join(ROOT, 'examples/arithmetic/test.jsonl'))).slice(0, PROMPTS);
    const sft = readFileSync(path.join(ROOT, 'examples/arithmetic/warmup.jsonl'), 'utf8')
      .split('\n')
      .filter((line) => line.trim() !== '')
      .slice(0, PROMPTS * SAMPLES)
      .map((line) => JSON.parse(line) as { prompt: string; completion: string })
      .map(({ prompt, completion }) => ({ prompt, completion }));
    const rollout = await worker.sample({
      requests: problems.map((problem, i) => ({ id: i, prompt: problem.problem, n: SAMPLES, temperature: 1, max_tokens: 80, stop: ['\n'] })),
      keep: true,
      seed: 1,
    });
    // Fixed advantages in [-1, 1]: the step's cost does not depend on their values.
    const batch = rollout.results
      .flatMap((entry) => entry.samples)
      .map((sample, i) => ({ sample_id: sample.sample_id!, advantage: ((i * 7919) % 17) / 8 - 1 }));
    const timed = async (run: () => Promise<{ tokens: number }>): Promise<Timed> => {
      let best: Timed | undefined;
      for (let repeat = 0; repeat < REPEATS; repeat++) {
        const cpuBefore = cpuSeconds(worker.pid!);
        const started = performance.now();
        const { tokens } = await run();
        const result = { wallS: (performance.now() - started) / 1000, cpuS: cpuSeconds(worker.pid!) - cpuBefore, tokens };
        if (!best || result.cpuS < best.cpuS) best = result;
      }
      return best!;
    };
    const step = await timed(() =>
      worker.trainStep({
        batch,
        loss: { kind: 'ppo-clip', clip_eps: 0.2, kl_coef: 1e-4, kl_estimator: 'k3' },
        micro_batch: MICRO_BATCH,
        max_grad_norm: 1,
      }),
    );
    const supervised = await timed(() => worker.trainSft({ examples: sft, micro_batch: MICRO_BATCH, max_grad_norm: 1 }));
    return { step, sft: supervised };
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
  console.log(
    `train_step on ${PROMPTS} prompts × ${SAMPLES} samples and train_sft on ${PROMPTS * SAMPLES} examples, micro_batch ${MICRO_BATCH}, ` +
      `${THREADS} thread(s), best of ${REPEATS}; baseline ${BASELINE_COMMIT.slice(0, 7)}`,
  );
  const before = await measure(baselineTrainerDir());
  const after = await measure(path.join(ROOT, 'trainer'));
  const line = (label: string, timed: Timed) =>
    `${label.padEnd(20)} ${String(timed.tokens).padStart(6)} tokens  wall ${timed.wallS.toFixed(2)} s  CPU ${timed.cpuS.toFixed(2)} s = ` +
    `${(timed.tokens / timed.cpuS).toFixed(0)} tokens/CPU-s`;
  for (const [method, key] of [['train_step', 'step'], ['train_sft', 'sft']] as const) {
    console.log(line(`${method} baseline`, before[key]));
    console.log(line(`${method} current`, after[key]));
    const rate = (timed: Timed) => timed.tokens / timed.cpuS;
    console.log(`${method} ratio (current / baseline, tokens per CPU-second): ${(rate(after[key]) / rate(before[key])).toFixed(2)}×`);
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
