// Reading seed files for the `serl` commands that take them (validate, dedupe --against).
import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { parseSeedJson, parseSeedLines, seedFormatForPath, type ParsedSeedFile } from '../core/seeds';

/** Parses a seed file by its extension. JSONL is streamed line by line; a .json file is one document and is read whole. */
export async function readSeedFile(path: string): Promise<ParsedSeedFile> {
  if (seedFormatForPath(path) === 'json') return parseSeedJson(await readFile(path, 'utf8'));
  const lines = createInterface({ input: createReadStream(path, { encoding: 'utf8', highWaterMark: 1 << 20 }), crlfDelay: Infinity });
  return parseSeedLines(lines);
}

const IO_REASONS: Record<string, string> = {
  ENOENT: 'no such file',
  EISDIR: 'is a directory',
  EACCES: 'permission denied',
};

/** Why a file could not be read, in a few words for the common cases ("no such file"). */
export function describeIoError(error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code;
  return (code !== undefined ? IO_REASONS[code] : undefined) ?? (error as Error).message;
}
