// Helpers shared by the CLI tests: run `serl` as the built bundle or one command in process, and build or
// read JSON lines. Not named *.test.ts, so the test runner loads it only through the tests that import it.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import type { Command } from '../../src/cli/io';

const CLI = path.resolve(__dirname, '../../dist/cli.js');

export interface CliRun {
  /** Exit code; null when the process was killed by a signal. */
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the built `serl` (dist/cli.js) with `args`, feeding `input` on stdin. */
export function runCli(args: string[], input = ''): CliRun {
  assert.ok(existsSync(CLI), `${CLI} is missing: run \`npm run build\` first`);
  const result = spawnSync(process.execPath, [CLI, ...args], { input, encoding: 'utf8' });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** Runs one command's function in this process, so that its UsageErrors reach the test uncaught. */
export async function runInProcess(command: Command, args: string[], input: string): Promise<{ code: number; stdout: string; stderr: string }> {
  const stdin = new PassThrough();
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const outputChunks: Buffer[] = [];
  const errorChunks: Buffer[] = [];
  stdout.on('data', (chunk: Buffer) => outputChunks.push(chunk));
  stderr.on('data', (chunk: Buffer) => errorChunks.push(chunk));
  stdin.end(input);
  const code = await command(args, { stdin, stdout, stderr });
  return { code, stdout: Buffer.concat(outputChunks).toString('utf8'), stderr: Buffer.concat(errorChunks).toString('utf8') };
}

/** Parses the non-blank lines of a command's output. */
export function jsonLines(text: string): unknown[] {
  return text
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as unknown);
}

/** One JSON line per value, as a command reads them on stdin. */
export function lines(values: unknown[]): string {
  return values.map((value) => JSON.stringify(value)).join('\n') + '\n';
}
