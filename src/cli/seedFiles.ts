// Reading seed files for the `serl` commands that take them (validate, dedupe --against).
import { readFile } from 'node:fs/promises';
import { parseSeedText, seedFormatForPath, type ParsedSeedFile } from '../core/seeds';

/**
 * Parses a seed file by its extension. The file is read whole: one read and one split cost a fraction of
 * readline's per-line events and decoding (a 100k-line file is ~40 MB, held only while parsing).
 */
export async function readSeedFile(path: string): Promise<ParsedSeedFile> {
  return parseSeedText(await readFile(path, 'utf8'), seedFormatForPath(path));
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
