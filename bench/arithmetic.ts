// The arithmetic world's four-run benchmark (issue 3): from the committed base model, the same number of
// RL steps with
//   SeRL           self-instruction + majority-vote rewards (examples/arithmetic/serl.config.json)
//   majority       majority-vote rewards on the seed problems only (mode: majority)
//   ground truth   the seeds' answers as rewards (mode: ground-truth): the ceiling SeRL is measured against
//   no band        SeRL without the difficulty band (reward_difficulty_bounds [0, 1]): the ablation in
//                  which majority voting reinforces its own mistakes, which the collapse monitor flags
// then greedy pass@1, sampled pass@1 (t=1, mean of 16) and maj@16 of each trained policy and of the base,
// on the held-out set. Writes report.json and report.md to --out.
//
// Usage: node --import tsx bench/arithmetic.ts [--set test|validation] [--runs serl,majority,ground-truth,no-band]
//   [--config FILE] [--steps N] [--limit N] [--samples K] [--out DIR] [--python PATH] [--threads T]
// (npm run bench:arithmetic). Tune on --set validation (with --config for variants); the test set is only
// ever measured.
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { performance } from 'node:perf_hooks';
import { z } from 'zod';
import type { RunConfig } from '../src/core/config';
import {
  DEMO_SAMPLES,
  DEMO_TEMPERATURE,
  evaluatePolicyScores,
  findArithmeticExample,
  loadDemoInputs,
  trainAndScore,
  type PolicyScores,
  type ScoredRun,
} from '../src/engine/demo';

const RUNS = {
  serl: { title: 'SeRL (no labels)', adjust: (config: RunConfig): RunConfig => ({ ...config, mode: 'serl' }) },
  majority: { title: 'majority vote, seeds only', adjust: (config: RunConfig): RunConfig => ({ ...config, mode: 'majority' }) },
  'ground-truth': { title: 'RL with ground-truth rewards', adjust: (config: RunConfig): RunConfig => ({ ...config, mode: 'ground-truth' }) },
  'no-band': {
    title: 'SeRL without the difficulty band',
    adjust: (config: RunConfig): RunConfig => ({ ...config, mode: 'serl', filters: { ...config.filters, reward_difficulty_bounds: [0, 1] } }),
  },
} as const;
type RunName = keyof typeof RUNS;
const RUN_NAMES = ['base', ...Object.keys(RUNS)] as ['base', ...RunName[]];

const ArgsSchema = z.strictObject({
  set: z.enum(['test', 'validation']).default('test'),
  config: z.string().min(1).optional(),
  // 'base' evaluates the base model; leave it out when tuning several variants against one base figure.
  runs: z
    .string()
    .default(RUN_NAMES.join(','))
    .transform((list) => list.split(',').map((name) => name.trim()))
    .pipe(z.array(z.enum(RUN_NAMES)).min(1)),
  steps: z.coerce.number().int().positive().optional(),
  limit: z.coerce.number().int().positive().optional(),
  samples: z.coerce.number().int().positive().default(DEMO_SAMPLES),
  out: z.string().min(1).default(resolve(__dirname, 'out', 'arithmetic')),
  python: z.string().min(1).default('/usr/bin/python3'),
  threads: z.coerce.number().int().positive().default(2),
});

interface BenchReport {
  created_at: string;
  set: { file: string; problems: number; samples_per_problem: number; temperature: number };
  steps: number | undefined;
  wall_seconds: number;
  base: PolicyScores | null;
  runs: ({ name: RunName; title: string } & ScoredRun)[];
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: Object.fromEntries(Object.keys(ArgsSchema.shape).map((name) => [name, { type: 'string' as const }])),
    strict: true,
  });
  const parsed = ArgsSchema.safeParse(values);
  if (!parsed.success) throw new Error(parsed.error.issues.map((issue) => `--${issue.path.join('.')}: ${issue.message}`).join('; '));
  const args = parsed.data;
  const started = performance.now();
  const out = resolve(args.out);
  await rm(out, { recursive: true, force: true });
  await mkdir(out, { recursive: true });

  const example = findArithmeticExample();
  const options = {
    python: args.python,
    configFile: args.config,
    testFile: join(example, `${args.set}.jsonl`),
    steps: args.steps,
    testLimit: args.limit,
    samples: args.samples,
    workerEnv: { SERL_WORKER_THREADS: String(args.threads), OMP_NUM_THREADS: String(args.threads) },
    listener: {
      phase: (text: string) => log(text),
      train: {
        stepDone: (metrics: { step: number; kept: number; voted: number; reward_mean: number | null; step_seconds: number }, total: number) =>
          log(
            `  step ${metrics.step}/${total}: kept ${metrics.kept}/${metrics.voted}, reward ${metrics.reward_mean?.toFixed(3) ?? '–'}, ` +
              `${metrics.step_seconds.toFixed(1)} s`,
          ),
        log: (level: string, message: string) => {
          if (level === 'warning' || level === 'error') log(`  ${level}: ${message}`);
        },
      },
    },
  };
  const { config, problems, testFile } = await loadDemoInputs(options);

  let base: PolicyScores | null = null;
  if (args.runs.includes('base')) {
    log(`base: evaluating on ${problems.length} problems of ${testFile}`);
    base = await evaluatePolicyScores('base-eval', config.model.path!, config, problems, options);
    log(`base: ${figures(base)}`);
  }
  const runs: BenchReport['runs'] = [];
  for (const name of args.runs) {
    if (name === 'base') continue;
    log(`${name}: ${RUNS[name].title}`);
    const run = await trainAndScore(name, RUNS[name].adjust(config), out, problems, options);
    runs.push({ name, title: RUNS[name].title, ...run });
    log(`${name}: ${run.status}, ${run.steps} steps in ${run.training_seconds.toFixed(0)} s; ${run.scores ? figures(run.scores) : run.detail}`);
    for (const alert of run.alerts) log(`  alert at step ${alert.step}: ${alert.kind}: ${alert.detail}`);
  }

  const report: BenchReport = {
    created_at: new Date().toISOString(),
    set: { file: testFile, problems: problems.length, samples_per_problem: args.samples, temperature: DEMO_TEMPERATURE },
    steps: config.max_steps,
    wall_seconds: (performance.now() - started) / 1000,
    base,
    runs,
  };
  await writeFile(join(out, 'report.json'), `${JSON.stringify(report, null, 2)}\n`);
  const markdown = renderBenchReport(report);
  await writeFile(join(out, 'report.md'), markdown);
  process.stdout.write(`\n${markdown}\nwrote ${join(out, 'report.json')} and report.md\n`);
}

const percent = (value: number) => `${(value * 100).toFixed(1)}%`;
const points = (after: number, before: number) => `${after >= before ? '+' : ''}${((after - before) * 100).toFixed(1)}`;

function figures(scores: PolicyScores): string {
  return `greedy ${percent(scores.greedy_pass1)}, sampled ${percent(scores.sampled_pass1)}, maj ${percent(scores.maj_at_k)} (${scores.seconds.toFixed(0)} s)`;
}

function renderBenchReport(report: BenchReport): string {
  const k = report.set.samples_per_problem;
  const row = (title: string, scores: PolicyScores | null, extra: string) =>
    scores
      ? `| ${title} | ${percent(scores.greedy_pass1)} | ${percent(scores.sampled_pass1)} | ` +
        `${report.base ? points(scores.sampled_pass1, report.base.sampled_pass1) : '–'} | ${percent(scores.maj_at_k)} | ${extra} |`
      : `| ${title} | – | – | – | – | ${extra} |`;
  const lines = [
    `Held-out set: ${report.set.problems} problems of \`${report.set.file.split('/').slice(-2).join('/')}\`; sampled pass@1 is the mean over ${k} samples at temperature ${report.set.temperature}, maj@${k} their majority vote. ${report.runs[0]?.steps ?? 0} RL steps per run; ${(report.wall_seconds / 60).toFixed(1)} min in all.`,
    '',
    `| policy | greedy pass@1 | sampled pass@1 | Δ sampled (points) | maj@${k} | training |`,
    '| --- | ---: | ---: | ---: | ---: | --- |',
    ...(report.base ? [row('base', report.base, '–')] : []),
    ...report.runs.map((run) => {
      const kept = `${run.training.totals.trained}/${run.training.totals.voted} items trained, ${run.training_seconds.toFixed(0)} s`;
      const alerts = run.alerts.filter((alert) => alert.kind === 'collapse');
      const flagged = alerts.length === 0 ? '' : `; **collapse alert at step ${alerts.map((alert) => alert.step).join(', ')}**`;
      return row(run.title, run.scores, `${run.status}, ${kept}${flagged}`);
    }),
    '',
  ];
  for (const run of report.runs) {
    const collapse = run.alerts.filter((alert) => alert.kind === 'collapse');
    if (collapse.length > 0) lines.push(`${run.title}: ${collapse.map((alert) => `step ${alert.step}: ${alert.detail}`).join('; ')}.`, '');
  }
  return lines.join('\n');
}

function log(line: string): void {
  process.stderr.write(`[${new Date().toISOString().slice(11, 19)}] ${line}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`bench/arithmetic.ts: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
});
