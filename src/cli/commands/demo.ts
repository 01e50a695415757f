// `serl demo`: the README's main command. Base → SeRL (no labels) on the arithmetic world, on CPU, and a
// report (report.json + report.md) comparing both on the held-out set. The logic is src/engine/demo.ts;
// this file parses options and shows progress (the training progress of `serl train`).
import { SingleBar } from 'cli-progress';
import { z } from 'zod';
import { runDemo, type DemoListener, type DemoPhase } from '../../engine/demo';
import { RunLockedError } from '../../engine/runLock';
import { EXIT_OK, UsageError, parseArgsOrUsage, stopOnSignals, type Command, type CommandIO } from '../io';
import { createProgress, EXIT_TRAIN_FAILED, EXIT_TRAIN_STOPPED } from './train';

const HELP = `usage: serl demo [--out DIR] [--python PATH] [--steps N] [--test-limit N] [--verbose]

The arithmetic world end to end on CPU: evaluates the base policy (examples/arithmetic/base/) on the
held-out set (examples/arithmetic/test.jsonl), trains it with SeRL without labels
(examples/arithmetic/serl.config.json), evaluates the trained policy, and writes DIR/report.json and
DIR/report.md: greedy pass@1, sampled pass@1 (t=1, mean of 16) and maj@16 for both.
The run lives in DIR/.serl/runs/<run-id>/ (serl runs --workspace DIR).

  --out DIR         report and run folder (default: demo-out)
  --python PATH     Python interpreter of the training worker, with PyTorch (default: python3)
  --steps N         SeRL steps (default: the config's max_steps)
  --test-limit N    evaluate on the first N held-out problems only (quicker, less precise)
  --verbose         also print the worker's stderr log
Exit status: 0 done, 1 the run failed, 130 stopped (Ctrl-C), 2 usage or setup error.
`;

const positiveInt = (name: string) =>
  z
    .string()
    .regex(/^[1-9]\d*$/, { error: `${name} must be a positive integer` })
    .transform(Number)
    .optional();

function parseCommandLine(args: string[]) {
  const { values } = parseArgsOrUsage(
    {
      args,
      options: {
        out: { type: 'string' },
        python: { type: 'string' },
        steps: { type: 'string' },
        'test-limit': { type: 'string' },
        verbose: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    },
    HELP,
  );
  if (values.help) return 'help' as const;
  const numbers = z.object({ steps: positiveInt('--steps'), testLimit: positiveInt('--test-limit') }).safeParse({
    steps: values.steps,
    testLimit: values['test-limit'],
  });
  if (!numbers.success) throw new UsageError(`${numbers.error.issues.map((issue) => issue.message).join('; ')}\n\n${HELP}`);
  return {
    out: values.out ?? 'demo-out',
    python: values.python,
    verbose: values.verbose === true,
    ...numbers.data,
  };
}

export const demoCommand: Command = async (args, io) => {
  const options = parseCommandLine(args);
  if (options === 'help') {
    io.stdout.write(HELP);
    return EXIT_OK;
  }
  const stop = stopOnSignals(io, (signal) => `\nserl demo: ${signal}: stopping…\n`);
  const trainProgress = createProgress(io, options.verbose);
  const evalProgress = createEvalProgress(io);
  const listener: DemoListener = {
    train: trainProgress.listener,
    phase: (text) => {
      evalProgress.close();
      trainProgress.close();
      io.stderr.write(`${text}\n`);
    },
    evalProgress: evalProgress.update,
    scored: (phase, scores, k) => {
      evalProgress.close();
      const pct = (value: number) => `${(value * 100).toFixed(1)}%`;
      io.stderr.write(
        `${PHASE_NAMES[phase]}: greedy pass@1 ${pct(scores.greedy_pass1)}, sampled pass@1 ${pct(scores.sampled_pass1)}, ` +
          `maj@${k} ${pct(scores.maj_at_k)} (${scores.seconds.toFixed(0)} s)\n`,
      );
    },
  };
  try {
    const { report, jsonFile, markdownFile } = await runDemo({
      out: options.out,
      python: options.python,
      steps: options.steps,
      testLimit: options.testLimit,
      signal: stop.signal,
      listener,
    });
    evalProgress.close();
    trainProgress.close();
    const k = report.test_set.samples_per_problem;
    const pct = (value: number) => `${(value * 100).toFixed(1)}%`.padStart(6);
    io.stdout.write(`\n${'policy'.padEnd(6)}  greedy pass@1  sampled pass@1  maj@${k}\n`);
    for (const [name, scores] of [['base', report.base], ['SeRL', report.serl]] as const) {
      if (scores) io.stdout.write(`${name.padEnd(6)}  ${pct(scores.greedy_pass1).padStart(13)}  ${pct(scores.sampled_pass1).padStart(14)}  ${pct(scores.maj_at_k).padStart(5)}\n`);
    }
    io.stdout.write(`\nrun ${report.run_id}: ${report.steps} steps, ${(report.wall_seconds.total / 60).toFixed(1)} min\nwrote ${jsonFile}\nwrote ${markdownFile}\n`);
    switch (report.status) {
      case 'completed':
        return EXIT_OK;
      case 'stopped':
        io.stderr.write(`serl demo: stopped: ${report.detail ?? ''}\n`);
        return EXIT_TRAIN_STOPPED;
      case 'failed':
        io.stderr.write(`serl demo: the SeRL run failed: ${report.detail ?? 'unknown error'}\n`);
        return EXIT_TRAIN_FAILED;
    }
  } catch (error) {
    evalProgress.close();
    trainProgress.close();
    if (stop.signal.aborted) {
      io.stderr.write(`serl demo: stopped\n`);
      return EXIT_TRAIN_STOPPED;
    }
    if (error instanceof RunLockedError) throw new UsageError(error.message);
    throw new UsageError((error as Error).message);
  } finally {
    stop.dispose();
  }
};

const PHASE_NAMES: Record<DemoPhase, string> = { 'base-eval': 'base', 'serl-eval': 'SeRL' };

/** Evaluation progress in sequences: a bar on a terminal, a line per quarter otherwise. */
function createEvalProgress(io: CommandIO) {
  const terminal = (io.stdout as NodeJS.WriteStream).isTTY === true;
  let bar: SingleBar | null = null;
  let lastQuarter = -1;
  return {
    update(phase: DemoPhase, done: number, total: number) {
      if (!terminal) {
        const quarter = Math.floor((done / total) * 4);
        if (quarter > lastQuarter) {
          lastQuarter = quarter;
          io.stdout.write(`evaluating ${PHASE_NAMES[phase]}: ${done}/${total} sequences\n`);
        }
        return;
      }
      if (!bar) {
        bar = new SingleBar({
          stream: io.stdout,
          format: `evaluating ${PHASE_NAMES[phase]} [{bar}] {value}/{total} sequences | {duration_formatted}`,
          hideCursor: true,
          clearOnComplete: false,
        });
        bar.start(total, done);
      } else {
        bar.update(done);
      }
    },
    close() {
      bar?.stop();
      bar = null;
      lastQuarter = -1;
    },
  };
}
