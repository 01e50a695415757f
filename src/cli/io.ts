// Shared plumbing of the `serl` commands: exit codes, usage errors, option parsing and the JSONL stdin → stdout filter.
import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { z } from 'zod';

export const EXIT_OK = 0;
export const EXIT_FINDINGS = 1;
export const EXIT_USAGE = 2;

export interface CommandIO {
  stdin: Readable;
  stdout: Writable;
  stderr: Writable;
}

export type Command = (args: string[], io: CommandIO) => Promise<number>;

/** A mistake in how the command was called (or a file it could not read): exit code 2. */
export class UsageError extends Error {}

/** node's parseArgs; its errors (an unknown option, a missing value) become UsageErrors followed by `help`. */
export function parseArgsOrUsage<T extends ParseArgsConfig>(config: T, help: string): ReturnType<typeof parseArgs<T>> {
  try {
    return parseArgs(config);
  } catch (error) {
    throw new UsageError(`${(error as Error).message}\n\n${help}`);
  }
}

/** A `--threshold T` option value: a ROUGE-L F1 threshold in [0, 1], `defaultValue` when absent. */
export function thresholdOption(defaultValue: number) {
  return z
    .string()
    .regex(/^(\d+(\.\d*)?|\.\d+)$/, { error: (issue) => `--threshold must be a number in [0, 1], got '${String(issue.input)}'` })
    .transform(Number)
    .pipe(z.number().max(1, { error: (issue) => `--threshold must be a number in [0, 1], got ${String(issue.input)}` }))
    .default(defaultValue);
}

/**
 * Reads JSONL from `io.stdin`, calls `handle` on each parsed line (with its 1-based input line number) and
 * writes its result as one JSON line.
 * A line that is not JSON, or that `handle` rejects by throwing, produces `{"error", "line"}` instead
 * (1-based input line number) and processing continues. Blank lines are skipped without output.
 * Returns the number of error lines written.
 */
export async function mapJsonLines(io: CommandIO, handle: (value: unknown, lineNumber: number) => unknown): Promise<number> {
  let lineNumber = 0;
  let errors = 0;
  const lines = createInterface({ input: io.stdin, crlfDelay: Infinity });
  for await (const line of lines) {
    lineNumber++;
    if (line.trim() === '') continue;
    let output: unknown;
    try {
      let value: unknown;
      try {
        value = JSON.parse(line);
      } catch (error) {
        throw new Error(`invalid JSON: ${(error as Error).message}`);
      }
      output = handle(value, lineNumber);
    } catch (error) {
      errors++;
      output = { error: `stdin line ${lineNumber}: ${(error as Error).message}`, line: lineNumber };
    }
    if (!io.stdout.write(JSON.stringify(output) + '\n')) {
      await new Promise((resolve) => io.stdout.once('drain', resolve));
    }
  }
  return errors;
}

/**
 * Turns the first SIGINT or SIGTERM into an abort (so long commands stop cleanly and shut their worker
 * down) and says so once on stderr. Call `dispose()` when the command ends.
 */
export function stopOnSignals(io: CommandIO, announcement: (signal: NodeJS.Signals) => string): { signal: AbortSignal; dispose(): void } {
  const stop = new AbortController();
  const onSignal = (signal: NodeJS.Signals) => {
    if (!stop.signal.aborted) io.stderr.write(announcement(signal));
    stop.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return {
    signal: stop.signal,
    dispose() {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
}
