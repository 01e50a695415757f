// An older commit's files, extracted with `git archive` into a folder under bench/out/, so that one benchmark
// run measures the old and the new code on the same inputs (bench/worker-baseline.ts, bench/lsp.bench.ts).
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '..');

/** Replaces `target` with `paths` as they were at `commit`; throws when git cannot give them (no repository). */
export function extractCommit(commit: string, paths: readonly string[], target: string): void {
  rmSync(target, { recursive: true, force: true });
  mkdirSync(target, { recursive: true });
  const archive = execFileSync('git', ['archive', commit, ...paths], { cwd: ROOT, maxBuffer: 64 << 20 });
  execFileSync('tar', ['-x', '-C', target], { input: archive });
}
