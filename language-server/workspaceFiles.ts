// Finding seed files in the workspace folders: the globs of `serl.seedFiles`, matched against paths
// relative to each folder (as VS Code's relative patterns are).
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** Folders never worth walking: dependencies, build output, VCS and tool state (all dot-folders). */
const SKIPPED_FOLDERS = new Set(['node_modules', 'dist', 'out', '__pycache__']);
/** A workspace with more seed files than this is scanned only this far (the log says so). */
export const MAX_SCANNED_FILES = 5000;
/** Larger files are left out of the workspace scan (they are still validated when opened). */
export const MAX_SCANNED_BYTES = 64 * 1024 * 1024;

export function uriToPath(uri: string): string | null {
  if (!uri.startsWith('file:')) return null;
  try {
    return fileURLToPath(uri);
  } catch {
    return null;
  }
}

export function pathToUri(file: string): string {
  return pathToFileURL(file).href;
}

/** The path of `file` relative to the workspace folder holding it, with forward slashes; null outside all. */
export function relativeToFolders(file: string, folders: readonly string[]): string | null {
  for (const folder of folders) {
    const relative = path.relative(folder, file);
    if (relative !== '' && !relative.startsWith('..') && !path.isAbsolute(relative)) return relative.split(path.sep).join('/');
  }
  return null;
}

export function matchesSeedGlobs(relative: string, globs: readonly string[]): boolean {
  return globs.some((glob) => path.matchesGlob(relative, glob));
}

/** Seed files under the folders matching the globs, in path order; stops at MAX_SCANNED_FILES. */
export async function findSeedFiles(folders: readonly string[], globs: readonly string[], log: (message: string) => void): Promise<string[]> {
  const found: string[] = [];
  const walk = async (folder: string, root: string): Promise<void> => {
    let entries;
    try {
      entries = await readdir(folder, { withFileTypes: true });
    } catch (error) {
      log(`cannot read folder ${folder}: ${(error as Error).message}`);
      return;
    }
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const entry of entries) {
      if (found.length >= MAX_SCANNED_FILES) return;
      const full = path.join(folder, entry.name);
      if (entry.isDirectory()) {
        if (!entry.name.startsWith('.') && !SKIPPED_FOLDERS.has(entry.name)) await walk(full, root);
      } else if (entry.isFile() && matchesSeedGlobs(path.relative(root, full).split(path.sep).join('/'), globs)) {
        found.push(full);
      }
    }
  };
  for (const folder of folders) await walk(folder, folder);
  if (found.length >= MAX_SCANNED_FILES) log(`more than ${MAX_SCANNED_FILES} seed files in the workspace: only the first ${MAX_SCANNED_FILES} are validated until opened`);
  return found;
}

/** A file's text (UTF-8; invalid bytes become U+FFFD), or null when it is too large or unreadable (logged). */
export async function readSeedFile(file: string, log: (message: string) => void): Promise<string | null> {
  try {
    const { size } = await stat(file);
    if (size > MAX_SCANNED_BYTES) {
      log(`${file}: ${size} bytes, over the ${MAX_SCANNED_BYTES}-byte limit of the workspace scan; open it to validate it`);
      return null;
    }
    return await readFile(file, 'utf8');
  } catch (error) {
    log(`cannot read ${file}: ${(error as Error).message}`);
    return null;
  }
}
