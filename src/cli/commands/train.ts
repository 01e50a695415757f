// `serl train`: runs or resumes a SeRL training run (src/engine/controller.ts) in the foreground, with a
// progress bar on a terminal and one plain line per step otherwise. SIGINT/SIGTERM stop it at the next
// step boundary: the step in progress is abandoned (redone on resume), the run ends 'stopped'.
import { SingleBar } from 'cli-progress';
import { runLoop, type RunPurpose, type TrainListener } from '../../engine/controller';
import { RunLockedError } from '../../engine/runLock';
import type { StepMetrics } from '../../protocol/events';
import { EXIT_OK, UsageError, parseArgsOrUsage, stopOnSignals, type Command, type CommandIO } from '../io';

export const EXIT_TRAIN_FAILED = 1;
/** A run stopped by SIGINT/SIGTERM (128 + SIGINT, as shells report an interrupted command). */
export const EXIT_TRAIN_STOPPED = 130;

const HELP = `usage: serl train --config FILE [--workspace DIR] [--python PATH] [--verbose]
       serl train --resume RUN [--workspace DIR] [--python PATH] [--verbose]

Runs SeRL training: a new run from a run config (serl.config.json; its seeds, model and eval paths are
relative to the config file), or resumes RUN from its last checkpoint (at most one step is redone).
Runs live in DIR/.serl/runs/<run-id>/ (DIR: the current directory by default).

  --python PATH   Python interpreter of the training worker, with PyTorch (default: python3)
  --verbose       also print the worker's stderr log
Ctrl-C (SIGINT) or SIGTERM stops after the current worker call; resume later with --resume.
Exit status: 0 completed, 1 failed (an error event and a message say why), 130 stopped, 2 usage.
`;

interface TrainArgs {
  configFile: string | undefined;
  resume: string | undefined;
  workspace: string;
  python: string | undefined;
  verbose: boolean;
}

function parseCommandLine(args: string[], help: string): TrainArgs | 'help' {
  const { values } = parseArgsOrUsage(
    {
      args,
      options: {
        config: { type: 'string' },
        resume: { type: 'string' },
        workspace: { type: 'string' },
        python: { type: 'string' },
        verbose: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    },
    help,
  );
  if (values.help) return 'help';
  if ((values.config === undefined) === (values.resume === undefined)) {
    throw new UsageError(`give exactly one of --config FILE and --resume RUN\n\n${help}`);
  }
  return {
    configFile: values.config,
    resume: values.resume,
    workspace: values.workspace ?? process.cwd(),
    python: values.python,
    verbose: values.verbose === true,
  };
}

export const trainCommand: Command = loopCommand('train', HELP);

/** `serl train` and `serl curate`: the same options, outcomes and exit statuses; `help` is the command's. */
export function loopCommand(purpose: RunPurpose, help: string): Command {
  return async (args, io) => {
    const options = parseCommandLine(args, help);
    if (options === 'help') {
      io.stdout.write(help);
      return EXIT_OK;
    }
    const stop = stopOnSignals(io, (signal) => `\nserl ${purpose}: ${signal}: stopping after the current ${purpose === 'train' ? 'worker' : 'sampling'} call…\n`);
    const progress = createProgress(io, options.verbose);
    try {
      const outcome = await runLoop(
        {
          workspace: options.workspace,
          start: options.configFile !== undefined ? { configFile: options.configFile } : { resume: options.resume! },
          python: options.python,
          signal: stop.signal,
          listener: progress.listener,
        },
        purpose,
      );
      progress.close();
      const where = `run ${outcome.runId} (${outcome.steps} steps)`;
      switch (outcome.status) {
        case 'completed':
          io.stdout.write(`completed ${where}\n`);
          return EXIT_OK;
        case 'stopped':
          io.stderr.write(`stopped ${where}: resume with serl ${purpose} --resume ${outcome.runId}\n`);
          return EXIT_TRAIN_STOPPED;
        case 'failed':
          io.stderr.write(`serl ${purpose}: ${where} failed: ${outcome.detail ?? 'unknown error'}\n`);
          return EXIT_TRAIN_FAILED;
      }
    } catch (error) {
      progress.close();
      // Nothing ran (bad config, unreadable seeds, a locked or unknown run): a usage-level problem.
      if (error instanceof RunLockedError) throw new UsageError(error.message);
      throw new UsageError((error as Error).message);
    } finally {
      stop.dispose();
    }
  };
}

/** "step 3/50 reward 0.42 agreement 0.61 kept 5/16 loss 0.013 4.1 s/step", then the collapse probe's reading on steps that took one. */
export function formatStepLine(metrics: StepMetrics, totalSteps: number): string {
  const value = (number: number | null, digits: number) => (number === null ? '–' : number.toFixed(digits));
  return [
    `step ${metrics.step}/${totalSteps}`,
    `reward ${value(metrics.reward_mean, 3)}`,
    `agreement ${value(metrics.agreement_mean, 3)}`,
    `kept ${metrics.kept}/${metrics.voted}`,
    `trained ${metrics.trained}`,
    `loss ${value(metrics.loss, 4)}`,
    `${metrics.step_seconds.toFixed(1)} s/step`,
    ...(metrics.probe_accuracy == null || metrics.probe_agreement == null
      ? []
      : [`probe right ${(metrics.probe_accuracy * 100).toFixed(0)}% agreement ${metrics.probe_agreement.toFixed(3)}`]),
    ...(metrics.eval ? [`eval ${(metrics.eval.accuracy * 100).toFixed(1)}%`] : []),
  ].join(' ');
}

export interface Progress {
  listener: TrainListener;
  close(): void;
}

export function createProgress(io: CommandIO, verbose: boolean): Progress {
  const log = (level: string, message: string) => {
    if (level === 'debug' && !verbose) return;
    io.stderr.write(`${level === 'info' || level === 'debug' ? '' : `${level}: `}${message}\n`);
  };
  const opened: TrainListener['opened'] = (info) => {
    const from = info.resumedFrom ? ` resuming after step ${info.resumedFrom.step}` : '';
    io.stderr.write(`run ${info.runId} in ${info.dir}${from}\n`);
    for (const problem of info.problems) io.stderr.write(`warning: ${problem}\n`);
  };
  const terminal = (io.stdout as NodeJS.WriteStream).isTTY === true;
  if (!terminal) {
    return {
      listener: {
        opened,
        log,
        stepDone: (metrics, total) => io.stdout.write(`${formatStepLine(metrics, total)}\n`),
      },
      close: () => {},
    };
  }
  const bar = new SingleBar({
    stream: io.stdout,
    format: 'step {value}/{total} [{bar}] {phase} | reward {reward} | agreement {agreement} | kept {kept} | loss {loss} | {speed} s/step',
    hideCursor: true,
    clearOnComplete: false,
  });
  let started = false;
  let last = { reward: '–', agreement: '–', kept: '–', loss: '–', speed: '–' };
  return {
    listener: {
      opened: (info) => {
        opened(info);
        bar.start(info.totalSteps, info.resumedFrom?.step ?? 0, { phase: 'starting', ...last });
        started = true;
      },
      // Log lines go above the bar: the bar redraws itself on its next update.
      log: (level, message) => {
        if (level === 'debug' && !verbose) return;
        if (started) io.stdout.write('\r\x1b[K');
        log(level, message);
      },
      phase: (step, text) => bar.update({ phase: `step ${step}: ${text}` }),
      stepDone: (metrics) => {
        const value = (number: number | null, digits: number) => (number === null ? '–' : number.toFixed(digits));
        last = {
          reward: value(metrics.reward_mean, 3),
          agreement: value(metrics.agreement_mean, 3),
          kept: `${metrics.kept}/${metrics.voted}`,
          loss: value(metrics.loss, 4),
          speed: metrics.step_seconds.toFixed(1),
        };
        bar.update(metrics.step, { phase: 'done', ...last });
      },
    },
    close: () => {
      if (started) bar.stop();
      started = false;
    },
  };
}
