// Trains the arithmetic world's base model: a fresh tiny character-level GPT, supervised on warmup.jsonl
// through the real training worker (initialize → train_sft steps → save), written as a weights-only model
// directory (config.json, tokenizer.json, model.pt) that `initialize {model: {kind: "tiny", path}}` loads.
// Deterministic given the options: the same machine and thread count give byte-identical weights.
//
// Usage: node --import tsx examples/arithmetic/warmup.ts [--out DIR] [--steps N] [--batch B] [--lr X]
//   [--seed S] [--data FILE] [--init DIR] [--python PATH] [--threads T] [--validate N]
// Defaults write examples/arithmetic/base/ (committed) with /usr/bin/python3 (Debian's python3-torch).
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { createRng } from '../../src/core/random';
import { evaluatePolicy, type Evaluation, readLabelledProblems } from '../../src/engine/evaluate';
import { WorkerClient } from '../../src/engine/worker';
import { describeIssues } from '../../src/core/schema';

/** The base model's architecture: 384 characters of context fit a 3-exemplar self-instruction prompt and its new item (README.md). */
export const BASE_ARCHITECTURE = { n_layer: 3, n_head: 4, n_embd: 96, block_size: 320 } as const;

const ArgsSchema = z.strictObject({
  out: z.string().min(1).default(path.join(__dirname, 'base')),
  data: z.string().min(1).default(path.join(__dirname, 'warmup.jsonl')),
  // Continue from an earlier warm-up's model directory instead of fresh weights (a second phase).
  init: z.string().min(1).optional(),
  steps: z.coerce.number().int().positive().default(2000),
  batch: z.coerce.number().int().positive().default(16),
  lr: z.coerce.number().positive().default(3e-3),
  seed: z.coerce.number().int().min(0).default(1),
  python: z.string().min(1).default('/usr/bin/python3'),
  // The thread count changes the order of float reductions, so base/ is reproduced bit for bit with 2 (its recipe).
  threads: z.coerce.number().int().positive().default(2),
  validate: z.coerce.number().int().min(0).default(0),
});
export type WarmupOptions = z.output<typeof ArgsSchema>;

const WarmupRecordSchema = z.object({
  id: z.string().min(1),
  kind: z.enum(['solve', 'list']),
  prompt: z.string().min(1),
  completion: z.string().min(1),
});
type WarmupExample = z.infer<typeof WarmupRecordSchema>;

/** Sequences per forward/backward; batches are sorted by length first, so a micro-batch pads little. */
const MICRO_BATCH = 8;
const MAX_GRAD_NORM = 1;
/** Linear warm-up over this share of the steps, then cosine decay to MIN_LR_RATIO × lr. */
const WARMUP_SHARE = 0.05;
const MIN_LR_RATIO = 0.1;

export function learningRate(step: number, steps: number, peak: number): number {
  const warmupSteps = Math.max(1, Math.round(WARMUP_SHARE * steps));
  if (step < warmupSteps) return (peak * (step + 1)) / warmupSteps;
  const progress = steps === warmupSteps ? 1 : (step - warmupSteps) / (steps - warmupSteps);
  return peak * (MIN_LR_RATIO + (1 - MIN_LR_RATIO) * 0.5 * (1 + Math.cos(Math.PI * progress)));
}

/** Parses warmup.jsonl; every bad line is named ("file:line: …") in one error. */
export function parseWarmupExamples(text: string, source: string): WarmupExample[] {
  const examples: WarmupExample[] = [];
  const errors: string[] = [];
  text.split('\n').forEach((raw, index) => {
    if (raw.trim() === '') return;
    const place = `${source}:${index + 1}`;
    let value: unknown;
    try {
      value = JSON.parse(raw);
    } catch (error) {
      errors.push(`${place}: invalid JSON: ${(error as Error).message}`);
      return;
    }
    const parsed = WarmupRecordSchema.safeParse(value);
    if (parsed.success) examples.push(parsed.data);
    else errors.push(`${place}: ${describeIssues(parsed.error).join('; ')}`);
  });
  if (errors.length > 0) throw new Error(`${errors.length} bad line(s) in the warm-up data:\n${errors.slice(0, 20).join('\n')}`);
  if (examples.length === 0) throw new Error(`${source}: no warm-up examples`);
  return examples;
}

export interface WarmupResult {
  steps: number;
  finalLoss: number;
  seconds: number;
  validation: Omit<Evaluation, 'items'> | null;
}

/** Trains and writes the base model to `options.out` (replacing it only once the new one is complete). */
export async function runWarmup(
  options: WarmupOptions,
  log: (line: string) => void,
  abort?: AbortSignal,
): Promise<WarmupResult> {
  const dataText = readFileSync(options.data, 'utf8');
  const examples = parseWarmupExamples(dataText, options.data);
  const started = Date.now();
  const worker = await WorkerClient.start({
    python: options.python,
    env: { SERL_WORKER_THREADS: String(options.threads), OMP_NUM_THREADS: String(options.threads) },
    onLog: (entry) => {
      if (entry.level !== 'debug') log(`worker ${entry.level}: ${entry.message}`);
    },
  });
  const out = path.resolve(options.out);
  const staging = mkdtempSync(path.join(path.dirname(out), `.${path.basename(out)}.`));
  try {
    const info = await worker.initialize({
      model: options.init === undefined ? { kind: 'tiny', dtype: 'float32', config: BASE_ARCHITECTURE } : { kind: 'tiny', dtype: 'float32', path: path.resolve(options.init) },
      device: 'cpu',
      seed: options.seed,
      optimizer: { lr: options.lr },
    });
    log(`tiny GPT ${JSON.stringify(BASE_ARCHITECTURE)}: ${info.params.toLocaleString('en')} parameters on ${info.device}`);

    const rng = createRng(options.seed);
    let order: number[] = [];
    const lossCurve: [number, number][] = [];
    let recentLoss = 0;
    let recentCount = 0;
    let finalLoss = Number.NaN;
    const logEvery = Math.max(1, Math.round(options.steps / 20));
    for (let step = 0; step < options.steps; step++) {
      // Checked between steps, so the finally below still removes the staging folder and stops the worker.
      abort?.throwIfAborted();
      const batch: WarmupExample[] = [];
      while (batch.length < options.batch) {
        if (order.length === 0) order = rng.shuffle(examples.map((_, index) => index));
        batch.push(examples[order.pop()!]!);
      }
      // Sorting changes only the summation order of the gradient, and the sort is deterministic.
      batch.sort((a, b) => a.prompt.length + a.completion.length - (b.prompt.length + b.completion.length));
      const result = await worker.trainSft({
        examples: batch.map(({ prompt, completion }) => ({ prompt, completion })),
        micro_batch: MICRO_BATCH,
        max_grad_norm: MAX_GRAD_NORM,
        lr: learningRate(step, options.steps, options.lr),
      });
      recentLoss += result.loss;
      recentCount++;
      finalLoss = result.loss;
      if ((step + 1) % logEvery === 0 || step + 1 === options.steps) {
        const mean = recentLoss / recentCount;
        lossCurve.push([step + 1, Number(mean.toFixed(4))]);
        const seconds = ((Date.now() - started) / 1000).toFixed(0);
        log(`step ${step + 1}/${options.steps}  loss ${mean.toFixed(4)}  lr ${result.lr.toExponential(2)}  ${seconds} s`);
        recentLoss = 0;
        recentCount = 0;
      }
    }

    const checkpoint = path.join(staging, 'checkpoint');
    await worker.save({ dir: checkpoint });
    const trainedSeconds = (Date.now() - started) / 1000;

    let validation: WarmupResult['validation'] = null;
    if (options.validate > 0) {
      // Settings are chosen on validation.jsonl, never on test.jsonl.
      const problems = (await readLabelledProblems(path.join(path.dirname(options.data), 'validation.jsonl'))).slice(0, options.validate);
      const { items: _items, ...figures } = await evaluatePolicy(worker, problems, { seed: options.seed });
      validation = figures;
      log(
        `validation (${figures.n} problems of validation.jsonl, k=${figures.k}): greedy pass@1 ${percent(figures.greedy_pass1)}, ` +
          `sampled pass@1 ${percent(figures.sampled_pass1)}, maj@${figures.k} ${percent(figures.maj_at_k)}`,
      );
    }

    const model = path.join(checkpoint, 'model');
    writeFileSync(
      path.join(model, 'warmup.json'),
      JSON.stringify(
        {
          script: 'examples/arithmetic/warmup.ts',
          architecture: BASE_ARCHITECTURE,
          init: options.init === undefined ? null : { dir: options.init, recipe: readInitRecipe(options.init) },
          data: { file: path.basename(options.data), sha256: createHash('sha256').update(dataText).digest('hex') },
          steps: options.steps,
          batch: options.batch,
          lr: options.lr,
          schedule: { warmup_share: WARMUP_SHARE, decay: 'cosine', min_lr_ratio: MIN_LR_RATIO },
          micro_batch: MICRO_BATCH,
          max_grad_norm: MAX_GRAD_NORM,
          seed: options.seed,
          threads: options.threads,
          loss_curve: lossCurve,
          validation,
        },
        null,
        2,
      ) + '\n',
    );
    // Only the weights: the optimizer moments and RNG states would triple the size and nothing resumes from them.
    rmSync(out, { recursive: true, force: true });
    renameSync(model, out);
    log(`wrote ${out} after ${trainedSeconds.toFixed(0)} s of training`);
    return { steps: options.steps, finalLoss, seconds: trainedSeconds, validation };
  } finally {
    rmSync(staging, { recursive: true, force: true });
    await worker.dispose();
  }
}

/** The recipe of the model a second phase starts from (null when it has none), so warmup.json records the whole chain. */
function readInitRecipe(dir: string): unknown {
  const file = path.join(dir, 'warmup.json');
  if (!existsSync(file)) return null;
  try {
    const { loss_curve: _curve, ...recipe } = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
    return recipe;
  } catch (error) {
    throw new Error(`${file}: invalid JSON: ${(error as Error).message}`);
  }
}

function percent(value: number): string {
  return `${(100 * value).toFixed(1)}%`;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: Object.fromEntries(Object.keys(ArgsSchema.shape).map((name) => [name, { type: 'string' as const }])),
    strict: true,
  });
  const parsed = ArgsSchema.safeParse(values);
  if (!parsed.success) {
    throw new Error(parsed.error.issues.map((issue) => `--${issue.path.join('.')}: ${issue.message}`).join('; '));
  }
  const interrupted = new AbortController();
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => interrupted.abort(new Error(`interrupted by ${signal}; ${parsed.data.out} is unchanged`)));
  }
  await runWarmup(parsed.data, (line) => process.stdout.write(`${line}\n`), interrupted.signal);
}

if (require.main === module) {
  main().catch((error: unknown) => {
    process.stderr.write(`warmup.ts: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  });
}
