// The run lock: at most one controller writes a run. proper-lockfile holds a lock directory inside the run
// directory and refreshes its mtime while the holder lives; controller.json (written through lowdb, only
// by the holder) names the holder, so a refused controller — and the extension, to re-attach — can tell
// who it is.
//
// Stale locks: a holder killed with SIGKILL leaves the lock behind. When controller.json names a process on
// this host that no longer exists, the lock is taken over at once; otherwise (a holder on another host,
// or no controller.json) it is taken over once proper-lockfile finds it unrefreshed for LOCK_STALE_MS. Two
// controllers racing to take over the same dead holder's lock is the one case proper-lockfile settles late:
// the loser learns within LOCK_UPDATE_MS through `compromised` and must stop writing.
import { utimes } from 'node:fs/promises';
import { hostname } from 'node:os';
import { DataFile } from 'lowdb/node';
import { check, lock } from 'proper-lockfile';
import { z } from 'zod';
import { describeIssues } from '../core/schema';

export const LOCK_STALE_MS = 10_000;
const LOCK_UPDATE_MS = LOCK_STALE_MS / 2;

/** The run files the lock involves (a subset of RunPaths). */
export interface LockedRun {
  runId: string;
  dir: string;
  /** The lock directory. */
  lock: string;
  /** The holder's identity. */
  controller: string;
}

export const ControllerInfoSchema = z.object({
  pid: z.int().positive(),
  hostname: z.string(),
  started_at: z.iso.datetime({ offset: true }),
});
export type ControllerInfo = z.infer<typeof ControllerInfoSchema>;

export class RunLockedError extends Error {
  constructor(
    readonly runId: string,
    readonly holder: ControllerInfo | null,
  ) {
    const who = holder
      ? `controller pid ${holder.pid} on ${holder.hostname} (since ${holder.started_at})`
      : 'a controller that has not identified itself (no readable controller.json)';
    super(`run ${runId} is already being written by ${who}; stop it first, or wait if it is shutting down`);
    this.name = 'RunLockedError';
  }
}

export interface RunLock {
  readonly holder: ControllerInfo;
  /** The dead controller whose lock this one took over, if any. */
  readonly tookOverFrom: ControllerInfo | null;
  /** Set when the lock was lost (its directory removed or taken over): the holder must stop writing. */
  readonly compromised: Error | null;
  release(): Promise<void>;
}

/**
 * Takes the run's lock and records this process in controller.json; throws RunLockedError naming the
 * holder when a live controller has it. `onCompromised` hears if the lock is lost later.
 */
export async function acquireRunLock(
  run: LockedRun,
  options: { onCompromised?: (error: Error) => void } = {},
): Promise<RunLock> {
  let compromised: Error | null = null;
  const lockOptions = {
    lockfilePath: run.lock,
    realpath: false,
    stale: LOCK_STALE_MS,
    update: LOCK_UPDATE_MS,
    retries: 0,
    onCompromised: (error: Error) => {
      compromised = new Error(`lost the lock of run ${run.runId}: ${error.message}`);
      options.onCompromised?.(compromised);
    },
  };
  let tookOverFrom: ControllerInfo | null = null;
  let release: () => Promise<void>;
  try {
    release = await lock(run.dir, lockOptions);
  } catch (error) {
    if (!isLocked(error)) throw error;
    const { holder } = await readControllerInfo(run);
    if (!holder || !isDeadLocalProcess(holder)) throw new RunLockedError(run.runId, holder);
    // Its holder was killed without releasing it: backdate it so proper-lockfile treats it as stale.
    await utimes(run.lock, new Date(0), new Date(0)).catch((touchError: NodeJS.ErrnoException) => {
      if (touchError.code !== 'ENOENT') throw touchError;
    });
    try {
      release = await lock(run.dir, lockOptions);
    } catch (retryError) {
      if (isLocked(retryError)) throw new RunLockedError(run.runId, (await readControllerInfo(run)).holder);
      throw retryError;
    }
    tookOverFrom = holder;
  }
  const holder: ControllerInfo = { pid: process.pid, hostname: hostname(), started_at: new Date().toISOString() };
  try {
    await controllerFile(run).write(holder);
  } catch (error) {
    await release();
    throw error;
  }
  return {
    holder,
    tookOverFrom,
    get compromised() {
      return compromised;
    },
    release: async () => {
      if (compromised) return;
      await release();
    },
  };
}

export interface LockInspection {
  /** A lock is there and refreshed, and its holder (when on this host) still exists. */
  live: boolean;
  holder: ControllerInfo | null;
  /** Why controller.json could not be read, if it could not. */
  problem: string | null;
}

/** Whether a controller holds the run now, without taking the lock. */
export async function inspectRunLock(run: LockedRun): Promise<LockInspection> {
  const [locked, { holder, problem }] = await Promise.all([
    check(run.dir, { lockfilePath: run.lock, realpath: false, stale: LOCK_STALE_MS }),
    readControllerInfo(run),
  ]);
  return { live: locked && !(holder && isDeadLocalProcess(holder)), holder, problem };
}

/** controller.json: the last controller that held the run. */
export async function readControllerInfo(run: LockedRun): Promise<{ holder: ControllerInfo | null; problem: string | null }> {
  try {
    return { holder: await controllerFile(run).read(), problem: null };
  } catch (error) {
    return { holder: null, problem: (error as Error).message };
  }
}

function controllerFile(run: LockedRun): DataFile<ControllerInfo> {
  return new DataFile<ControllerInfo>(run.controller, {
    parse: (text) => parseJsonFile(run.controller, text, ControllerInfoSchema),
    stringify: (info) => `${JSON.stringify(info, null, 2)}\n`,
  });
}

/** JSON.parse + schema, with errors that name the file and the field. */
export function parseJsonFile<T>(file: string, text: string, schema: z.ZodType<T>): T {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new Error(`${file}: invalid JSON: ${(error as Error).message}`);
  }
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  throw new Error(`${file}: ${describeIssues(parsed.error).join('; ')}`);
}

function isLocked(error: unknown): boolean {
  return (error as NodeJS.ErrnoException | null)?.code === 'ELOCKED';
}

function isDeadLocalProcess(holder: ControllerInfo): boolean {
  if (holder.hostname !== hostname()) return false;
  try {
    process.kill(holder.pid, 0);
    return false;
  } catch (error) {
    // EPERM: the process exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'ESRCH';
  }
}
