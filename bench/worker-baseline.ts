// Shared by the worker benchmarks: the worker as it was before the speed work (BASELINE_COMMIT), extracted
// with `git archive` into bench/out, so that one run measures the old and the new worker on the same inputs;
// and the CPU seconds a worker process has used, a steadier figure than wall time on a shared machine.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { WorkerClient } from '../src/engine/worker';
import { extractCommit } from './extract';

/** The last commit before the sampling/training speed work on the worker (issue #3). */
export const BASELINE_COMMIT = '6d5e06b3c42907a330f24870d53012cbd643da9c';
export const ROOT = path.resolve(__dirname, '..');
export const PYTHON = '/usr/bin/python3';
export const BASE_MODEL = path.join(ROOT, 'examples/arithmetic/base');

/** A `trainer/` folder holding the baseline's `serl_worker`, extracted once. */
export function baselineTrainerDir(): string {
  const target = path.join(ROOT, 'bench/out/worker-baseline', BASELINE_COMMIT.slice(0, 12));
  const trainer = path.join(target, 'trainer');
  if (!existsSync(path.join(trainer, 'serl_worker/__main__.py'))) {
    extractCommit(BASELINE_COMMIT, ['trainer/serl_worker'], target);
  }
  return trainer;
}

const CLOCK_TICKS = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;

/** User + system CPU seconds of a running process (Linux /proc). */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS; // utime, stime (fields 14 and 15)
}

export async function startWorker(trainerDir: string, threads: number): Promise<WorkerClient> {
  return WorkerClient.start({
    python: PYTHON,
    trainerDir,
    // PASSIVE for both: the current worker sets it itself, the baseline did not; the ratio is the code's.
    env: { SERL_WORKER_THREADS: String(threads), OMP_NUM_THREADS: String(threads), OMP_WAIT_POLICY: 'PASSIVE' },
    onStderr: () => {},
  });
}

/** Why the worker benchmarks cannot run here, or undefined. */
export function missingTorch(): string | undefined {
  const probe = spawnSync(PYTHON, ['-c', 'import torch'], { encoding: 'utf8' });
  return probe.status === 0 ? undefined : `${PYTHON} cannot import torch: ${probe.stderr.trim().split('\n').pop()}`;
}
