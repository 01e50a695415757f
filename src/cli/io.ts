// Shared plumbing of the `serl` commands: exit codes, usage errors and the JSONL stdin → stdout filter.
import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';

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

/**
 * Reads JSONL from `io.stdin`, calls `handle` on each parsed line and writes its result as one JSON line.
 * A line that is not JSON, or that `handle` rejects by throwing, produces `{"error", "line"}` instead
 * (1-based input line number) and processing continues. Blank lines are skipped without output.
 * Returns the number of error lines written.
 */
export async function mapJsonLines(io: CommandIO, handle: (value: unknown) => unknown): Promise<number> {
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
      output = handle(value);
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
