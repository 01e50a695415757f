// The arithmetic-world demo (issue 3, the README's main command): base → SeRL without labels, on CPU.
//
//   1. evaluate the base policy (examples/arithmetic/base/) on the held-out set (test.jsonl)
//   2. train with SeRL from examples/arithmetic/serl.config.json (train() in controller.ts); the run lives
//      in <out>/.serl/runs/<id>/, so the demo writes nothing in the repository
//   3. evaluate the run's last checkpoint on the same set
//   4. write <out>/report.json and <out>/report.md
//
// The held-out set is only ever measured here, never used to choose a setting. The logic lives here (not in
// the CLI command) so the extension can run the demo too.
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { RunConfig } from '../core/config';
import type { StepMetrics } from '../protocol/events';
import { loadRunConfigFile, train, type TrainListener, type TrainOutcome } from './controller';
import { evaluatePolicy, readLabelledProblems, type Evaluation, type LabelledProblem } from './evaluate';
import { openRun, replayRun } from './runStore';
import { DEFAULT_PYTHON, WorkerClient } from './worker';

export const DEMO_REPORT_VERSION = 1;
/** Samples per problem behind sampled pass@1 and maj@k (issue 3: mean of 16, maj@16). */
export const DEMO_SAMPLES = 16;
export const DEMO_TEMPERATURE = 1;

/** examples/arithmetic of the repository holding this file (or the bundle in dist/). */
export function findArithmeticExample(start: string = __dirname): string {
  for (let dir = resolve(start); ; dir = dirname(dir)) {
    const candidate = join(dir, 'examples', 'arithmetic');
    if (existsSync(join(candidate, 'serl.config.json'))) return candidate;
    if (dirname(dir) === dir) throw new Error(`cannot find examples/arithmetic/serl.config.json above ${start}`);
  }
}

export type DemoPhase = 'base-eval' | 'serl-eval';

export interface DemoListener {
  /** Training progress (the same listener `serl train` uses). */
  train?: TrainListener;
  /** A phase starts: evaluating the base policy, training, evaluating the trained policy, writing. */
  phase?(text: string): void;
  /** Evaluation progress in sequences sampled. */
  evalProgress?(phase: DemoPhase, done: number, total: number): void;
  /** A policy has been evaluated. */
  scored?(phase: DemoPhase, scores: PolicyScores, samplesPerProblem: number): void;
}

export interface DemoOptions {
  /** Where report.json / report.md go; also the workspace whose .serl/runs holds the SeRL run. */
  out: string;
  /** The worker's Python interpreter (needs PyTorch). Default: the worker's default (python3). */
  python?: string;
  /** The run config. Default: examples/arithmetic/serl.config.json. */
  configFile?: string;
  /** The held-out labelled set. Default: test.jsonl next to the config. */
  testFile?: string;
  /** RL steps (overrides the config's max_steps). */
  steps?: number;
  /** Evaluate on the first N problems of the held-out set only (short runs, tests). */
  testLimit?: number;
  /** Samples per problem for sampled pass@1 and maj@k. Default 16. */
  samples?: number;
  /** Last changes to the run config before the run is created (tests: tiny sizes). */
  adjustConfig?: (config: RunConfig) => RunConfig;
  /** Extra environment of the workers (e.g. SERL_WORKER_THREADS). */
  workerEnv?: NodeJS.ProcessEnv;
  signal?: AbortSignal;
  listener?: DemoListener;
}

export interface PolicyScores {
  /** The model directory or checkpoint evaluated. */
  checkpoint: string;
  greedy_pass1: number;
  sampled_pass1: number;
  maj_at_k: number;
  mean_agreement: number;
  seconds: number;
}

export interface DemoStepSummary {
  step: number;
  generated: number;
  voted: number;
  kept: number;
  trained: number;
  reward_mean: number | null;
  agreement_mean: number | null;
  all_equal_share: number | null;
  loss: number | null;
  kl: number | null;
  entropy: number | null;
  step_seconds: number;
  eval_accuracy: number | null;
  /** The collapse probe's reading (SeRL mode, every probe_every steps), null on steps without one. */
  probe_accuracy: number | null;
  probe_agreement: number | null;
}

export interface DemoReport {
  v: typeof DEMO_REPORT_VERSION;
  created_at: string;
  status: 'completed' | 'stopped' | 'failed';
  detail?: string;
  run_id: string;
  run_dir: string;
  config_file: string;
  python: string;
  steps: number;
  planned_steps: number;
  wall_seconds: { total: number; base_eval: number; training: number; serl_eval: number };
  test_set: { file: string; problems: number; samples_per_problem: number; temperature: number };
  base: PolicyScores;
  /** Null when the run did not complete. */
  serl: PolicyScores | null;
  /** The collapse monitor's alerts (and no-kept-items notices) of the run. */
  alerts: ScoredRun['alerts'];
  training: {
    mode: RunConfig['mode'];
    algorithm: RunConfig['algorithm'];
    lr: number;
    n_samples_per_prompt: number;
    rollout_batch_size: number;
    reward_difficulty_bounds: [number, number];
    totals: { generated: number; voted: number; kept: number; trained: number };
    reward_mean: { first: number | null; last: number | null; mean: number | null };
    agreement_mean: { first: number | null; last: number | null; mean: number | null };
    per_step: DemoStepSummary[];
  };
}

export interface DemoResult {
  report: DemoReport;
  jsonFile: string;
  markdownFile: string;
}

/** Runs the whole demo and writes the report; a run that stops or fails still gets a report (serl: null). */
export async function runDemo(options: DemoOptions): Promise<DemoResult> {
  const started = performance.now();
  const listener = options.listener ?? {};
  const out = resolve(options.out);
  const { config, configFile, testFile, problems } = await loadDemoInputs(options);
  const samples = options.samples ?? DEMO_SAMPLES;
  await mkdir(out, { recursive: true });

  listener.phase?.(`evaluating the base policy on ${problems.length} held-out problems (greedy + ${samples} samples each)`);
  const base = await evaluatePolicyScores('base-eval', config.model.path!, config, problems, options);
  throwIfAborted(options.signal);

  listener.phase?.(`training with SeRL (${config.mode}, ${config.algorithm}, no labels)`);
  const run = await trainAndScore('serl', config, out, problems, options);

  const report: DemoReport = {
    v: DEMO_REPORT_VERSION,
    created_at: new Date().toISOString(),
    status: run.status,
    ...(run.detail === undefined ? {} : { detail: run.detail }),
    run_id: run.run_id,
    run_dir: run.run_dir,
    config_file: configFile,
    python: options.python ?? DEFAULT_PYTHON,
    steps: run.steps,
    planned_steps: run.planned_steps,
    wall_seconds: {
      total: (performance.now() - started) / 1000,
      base_eval: base.seconds,
      training: run.training_seconds,
      serl_eval: run.scores?.seconds ?? 0,
    },
    test_set: { file: testFile, problems: problems.length, samples_per_problem: samples, temperature: DEMO_TEMPERATURE },
    base,
    serl: run.scores,
    alerts: run.alerts,
    training: run.training,
  };
  const jsonFile = join(out, 'report.json');
  const markdownFile = join(out, 'report.md');
  await writeFile(jsonFile, `${JSON.stringify(report, null, 2)}\n`);
  await writeFile(markdownFile, renderDemoReport(report));
  return { report, jsonFile, markdownFile };
}

export interface DemoInputs {
  config: RunConfig;
  configFile: string;
  testFile: string;
  problems: LabelledProblem[];
}

/** The run config (options applied) and the held-out problems, read and checked before anything long starts. */
export async function loadDemoInputs(options: Omit<DemoOptions, 'out'>): Promise<DemoInputs> {
  const configFile = resolve(options.configFile ?? join(findArithmeticExample(), 'serl.config.json'));
  const testFile = resolve(options.testFile ?? join(dirname(configFile), 'test.jsonl'));
  let config = await loadRunConfigFile(configFile);
  if (options.steps !== undefined) config = { ...config, max_steps: options.steps };
  if (options.adjustConfig) config = options.adjustConfig(config);
  if (config.model.kind !== 'tiny' || config.model.path === undefined) {
    throw new Error(`${configFile}: the demo starts from a tiny model checkpoint (model.kind "tiny" with a path)`);
  }
  let problems = await readLabelledProblems(testFile);
  if (options.testLimit !== undefined) problems = problems.slice(0, options.testLimit);
  return { config, configFile, testFile, problems };
}

/** One training run and the evaluation of its last checkpoint (scores null when the run did not complete). */
export interface ScoredRun {
  status: TrainOutcome['status'];
  detail?: string;
  run_id: string;
  run_dir: string;
  steps: number;
  planned_steps: number;
  training_seconds: number;
  scores: PolicyScores | null;
  /** The collapse monitor's alerts (and no-kept-items notices) of the run. */
  alerts: { step: number; kind: string; detail: string }[];
  training: DemoReport['training'];
}

/**
 * Trains with `config` in `workspace`/.serl/runs, then evaluates the run's last checkpoint on `problems`.
 * The resolved config is written to `workspace`/`name`.config.json first.
 */
export async function trainAndScore(
  name: string,
  config: RunConfig,
  workspace: string,
  problems: LabelledProblem[],
  options: Omit<DemoOptions, 'out'>,
): Promise<ScoredRun> {
  const listener = options.listener ?? {};
  const { $schema: _schema, ...runConfig } = config;
  await mkdir(workspace, { recursive: true });
  // The run's config, its paths absolute: train() reads it as it would the user's config file.
  const configFile = join(workspace, `${name}.config.json`);
  await writeFile(configFile, `${JSON.stringify(runConfig, null, 2)}\n`);

  const trainStarted = performance.now();
  let plannedSteps = config.max_steps ?? 0;
  const outcome = await train({
    workspace,
    start: { configFile },
    python: options.python,
    workerEnv: options.workerEnv,
    signal: options.signal,
    listener: {
      ...listener.train,
      opened: (info) => {
        plannedSteps = info.totalSteps;
        listener.train?.opened?.(info);
      },
    },
  });
  const trainingSeconds = (performance.now() - trainStarted) / 1000;

  const paths = await openRun(workspace, outcome.runId);
  const replay = await replayRun(paths);
  const checkpoint = replay.pool.lastCheckpoint;
  const perStep = [...replay.pool.steps.values()].sort((a, b) => a.step - b.step).map(stepSummary);

  let scores: PolicyScores | null = null;
  let detail = outcome.detail;
  if (outcome.status === 'completed') {
    if (!checkpoint) throw new Error(`run ${outcome.runId} completed without a checkpoint in ${paths.checkpoints}`);
    listener.phase?.(`evaluating the trained policy (step ${checkpoint.step}) on the same problems`);
    scores = await evaluatePolicyScores('serl-eval', join(paths.dir, checkpoint.dir), config, problems, options);
  } else {
    detail ??= `the run ended ${outcome.status}`;
  }
  return {
    status: outcome.status,
    ...(detail === undefined ? {} : { detail }),
    run_id: outcome.runId,
    run_dir: paths.dir,
    steps: outcome.steps,
    planned_steps: plannedSteps,
    training_seconds: trainingSeconds,
    scores,
    alerts: replay.pool.alerts.map((alert) => ({ step: alert.step, kind: alert.kind, detail: alert.detail })),
    training: trainingSummary(config, perStep),
  };
}

function trainingSummary(config: RunConfig, perStep: DemoStepSummary[]): DemoReport['training'] {
  const sum = (pick: (step: DemoStepSummary) => number) => perStep.reduce((total, step) => total + pick(step), 0);
  const trend = (pick: (step: DemoStepSummary) => number | null) => {
    const values = perStep.map(pick).filter((value): value is number => value !== null);
    return {
      first: values[0] ?? null,
      last: values.at(-1) ?? null,
      mean: values.length === 0 ? null : values.reduce((total, value) => total + value, 0) / values.length,
    };
  };
  return {
    mode: config.mode,
    algorithm: config.algorithm,
    lr: config.optimizer.lr,
    n_samples_per_prompt: config.n_samples_per_prompt,
    rollout_batch_size: config.rollout_batch_size,
    reward_difficulty_bounds: config.filters.reward_difficulty_bounds,
    totals: {
      generated: sum((step) => step.generated),
      voted: sum((step) => step.voted),
      kept: sum((step) => step.kept),
      trained: sum((step) => step.trained),
    },
    reward_mean: trend((step) => step.reward_mean),
    agreement_mean: trend((step) => step.agreement_mean),
    per_step: perStep,
  };
}

/** Greedy pass@1, sampled pass@1 and maj@k of a tiny-model checkpoint, in a worker of its own. */
export async function evaluatePolicyScores(
  phase: DemoPhase,
  checkpoint: string,
  config: RunConfig,
  problems: LabelledProblem[],
  options: Omit<DemoOptions, 'out'>,
): Promise<PolicyScores> {
  const t0 = performance.now();
  const samples = options.samples ?? DEMO_SAMPLES;
  const evaluation = await evaluateCheckpoint(checkpoint, config, problems, samples, options, (done, total) =>
    options.listener?.evalProgress?.(phase, done, total),
  );
  const result = scores(checkpoint, evaluation, (performance.now() - t0) / 1000);
  options.listener?.scored?.(phase, result, samples);
  return result;
}

async function evaluateCheckpoint(
  checkpoint: string,
  config: RunConfig,
  problems: LabelledProblem[],
  samples: number,
  options: Omit<DemoOptions, 'out'>,
  onProgress: (done: number, total: number) => void,
): Promise<Evaluation> {
  const worker = await WorkerClient.start({
    python: options.python,
    env: options.workerEnv,
    onLog: (entry) => options.listener?.train?.log?.(entry.level, `worker: ${entry.message}`),
    onStderr: (line) => options.listener?.train?.log?.('debug', `worker stderr: ${line}`),
  });
  const abort = () => void worker.dispose();
  options.signal?.addEventListener('abort', abort);
  try {
    await worker.initialize({
      model: { kind: 'tiny', path: checkpoint, dtype: config.model.dtype },
      device: config.device,
      seed: config.seed,
      optimizer: { lr: config.optimizer.lr },
      reference: false,
    });
    return await evaluatePolicy(worker, problems, {
      samples,
      temperature: DEMO_TEMPERATURE,
      maxTokens: config.generate_max_len,
      seed: config.seed,
      onProgress,
    });
  } finally {
    options.signal?.removeEventListener('abort', abort);
    await worker.dispose();
  }
}

function scores(checkpoint: string, evaluation: Evaluation, seconds: number): PolicyScores {
  return {
    checkpoint,
    greedy_pass1: evaluation.greedy_pass1,
    sampled_pass1: evaluation.sampled_pass1,
    maj_at_k: evaluation.maj_at_k,
    mean_agreement: evaluation.mean_agreement,
    seconds,
  };
}

function stepSummary(metrics: StepMetrics): DemoStepSummary {
  return {
    step: metrics.step,
    generated: metrics.generated,
    voted: metrics.voted,
    kept: metrics.kept,
    trained: metrics.trained,
    reward_mean: metrics.reward_mean,
    agreement_mean: metrics.agreement_mean,
    all_equal_share: metrics.all_equal_share,
    loss: metrics.loss,
    kl: metrics.kl,
    entropy: metrics.entropy,
    step_seconds: metrics.step_seconds,
    eval_accuracy: metrics.eval?.accuracy ?? null,
    probe_accuracy: metrics.probe_accuracy ?? null,
    probe_agreement: metrics.probe_agreement ?? null,
  };
}

function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new Error('the demo was stopped before training');
}

// ---------------------------------------------------------------------------------------------------------
// report.md

const percent = (value: number | null | undefined) => (value === null || value === undefined ? '–' : `${(value * 100).toFixed(1)}%`);
const fixed = (value: number | null, digits = 3) => (value === null ? '–' : value.toFixed(digits));
const points = (after: number, before: number) => `${after - before >= 0 ? '+' : ''}${((after - before) * 100).toFixed(1)}`;

export function renderDemoReport(report: DemoReport): string {
  const k = report.test_set.samples_per_problem;
  const row = (name: string, scores: PolicyScores) =>
    `| ${name} | ${percent(scores.greedy_pass1)} | ${percent(scores.sampled_pass1)} | ${percent(scores.maj_at_k)} |`;
  const lines = [
    '# SeRL demo: the arithmetic world',
    '',
    `Run \`${report.run_id}\` (${report.status}): ${report.steps} of ${report.planned_steps} SeRL steps ` +
      `(${report.training.mode}, ${report.training.algorithm}, lr ${report.training.lr}, no labels), ` +
      `${(report.wall_seconds.total / 60).toFixed(1)} min in all.`,
    ...(report.detail ? ['', `**${report.detail}**`] : []),
    '',
    `Held-out set: ${report.test_set.problems} problems of \`${report.test_set.file}\`; sampled pass@1 is the mean over ` +
      `${k} samples at temperature ${report.test_set.temperature}, maj@${k} the majority vote of those samples.`,
    '',
    `| policy | greedy pass@1 | sampled pass@1 | maj@${k} |`,
    '| --- | ---: | ---: | ---: |',
    row('base', report.base),
    ...(report.serl
      ? [
          row('SeRL', report.serl),
          `| Δ (points) | ${points(report.serl.greedy_pass1, report.base.greedy_pass1)} | ` +
            `${points(report.serl.sampled_pass1, report.base.sampled_pass1)} | ${points(report.serl.maj_at_k, report.base.maj_at_k)} |`,
        ]
      : ['| SeRL | – | – | – |']),
    '',
    `Wall time: base evaluation ${report.wall_seconds.base_eval.toFixed(0)} s, training ${report.wall_seconds.training.toFixed(0)} s, ` +
      `SeRL evaluation ${report.wall_seconds.serl_eval.toFixed(0)} s.`,
    '',
    '## Training',
    '',
    `${report.training.totals.generated} instructions generated, ${report.training.totals.voted} voted on, ` +
      `${report.training.totals.kept} kept by the difficulty band [${report.training.reward_difficulty_bounds.join(', ')}], ` +
      `${report.training.totals.trained} trained (${report.training.n_samples_per_prompt} responses each). ` +
      `Reward mean ${fixed(report.training.reward_mean.first)} → ${fixed(report.training.reward_mean.last)}, ` +
      `agreement ${fixed(report.training.agreement_mean.first)} → ${fixed(report.training.agreement_mean.last)}.`,
    '',
    'The probe columns: the labelled seeds the collapse monitor votes on without training on them (– on steps without a probe).',
    '',
    '| step | generated | voted | kept | trained | reward | agreement | all-equal | probe right | probe agreement | loss | kl | s |',
    '| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...report.training.per_step.map(
      (step) =>
        `| ${step.step} | ${step.generated} | ${step.voted} | ${step.kept} | ${step.trained} | ${fixed(step.reward_mean)} | ` +
        `${fixed(step.agreement_mean)} | ${fixed(step.all_equal_share, 2)} | ${percent(step.probe_accuracy)} | ${fixed(step.probe_agreement)} | ` +
        `${fixed(step.loss, 4)} | ${fixed(step.kl, 4)} | ${step.step_seconds.toFixed(1)} |`,
    ),
    '',
    '## Alerts',
    '',
    ...(report.alerts.length === 0
      ? ['None: the collapse monitor raised no alert.']
      : report.alerts.map((alert) => `- step ${alert.step}, ${alert.kind}: ${alert.detail}`)),
    '',
  ];
  return lines.join('\n');
}
