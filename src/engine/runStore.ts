// The run store: a workspace's runs under .serl/runs/<run-id>/ (DESIGN.md "Run store").
//
//   config.json      the resolved run config, written once when the run is created
//   events.jsonl     append-only, written only by the controller holding the lock (RunWriter)
//   decisions.jsonl  append-only, written only by the user side (appendDecision), one decision at a time
//   controller.json  the lock holder (runLock.ts); controller.lock/ is proper-lockfile's lock
//   state.json       lowdb: a small summary (step, last checkpoint, counts) for listing runs, written only
//                    by the lock holder at sync points; derived from events.jsonl and never trusted over it
//   checkpoints/     the worker's saved states
//
// There is no shared index of runs: several controllers would have to write it. Listing scans the run
// directories instead, reading each run's state.json, lock and last event — a few small reads per run.
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { Low } from 'lowdb';
import { DataFile } from 'lowdb/node';
import { lock } from 'proper-lockfile';
import { z } from 'zod';
import { parseRunConfig, type RunConfig } from '../core/config';
import { RunPool, type ResumePoint } from '../core/pool';
import {
  FINISH_STATUSES,
  parseDecision,
  parseRunEvent,
  RUN_LOG_VERSION,
  stampRunEvent,
  summarizeRunConfig,
  type Decision,
  type DecisionInput,
  type LogRecord,
  type RunEvent,
  type RunEventInput,
} from '../protocol/events';
import {
  JSONL_START,
  JsonlAppender,
  JsonlFollower,
  readJsonl,
  readLastJsonlRecord,
  type JsonlBatch,
  type JsonlCursor,
  type LineParser,
} from './jsonl';
import { acquireRunLock, inspectRunLock, parseJsonFile, type ControllerInfo, type RunLock } from './runLock';

export const RUNS_DIRECTORY = join('.serl', 'runs');

/** Run ids name directories: letters, digits, '.', '_' and '-', not starting with '.' or '-'. */
const RUN_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/** "2026-11-25T14-30-00-3fa9c1": UTC time to the second, then random hex; ids sort by creation time. */
export function newRunId(now: Date = new Date()): string {
  return `${now.toISOString().slice(0, 19).replace(/:/g, '-')}-${randomBytes(3).toString('hex')}`;
}

export interface RunPaths {
  runId: string;
  dir: string;
  config: string;
  events: string;
  decisions: string;
  checkpoints: string;
  state: string;
  controller: string;
  lock: string;
}

export function runPaths(workspace: string, runId: string): RunPaths {
  if (!RUN_ID_PATTERN.test(runId)) {
    throw new Error(`invalid run id ${JSON.stringify(runId)}: use letters, digits, '.', '_' and '-' (e.g. ${newRunId()})`);
  }
  const dir = join(workspace, RUNS_DIRECTORY, runId);
  return {
    runId,
    dir,
    config: join(dir, 'config.json'),
    events: join(dir, 'events.jsonl'),
    decisions: join(dir, 'decisions.jsonl'),
    checkpoints: join(dir, 'checkpoints'),
    state: join(dir, 'state.json'),
    controller: join(dir, 'controller.json'),
    lock: join(dir, 'controller.lock'),
  };
}

/** Creates the run's directory with its resolved config; fails if the run exists. */
export async function createRun(workspace: string, config: RunConfig, runId: string = newRunId()): Promise<RunPaths> {
  const paths = runPaths(workspace, runId);
  await mkdir(join(workspace, RUNS_DIRECTORY), { recursive: true });
  try {
    await mkdir(paths.dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') throw new Error(`run ${runId} already exists in ${paths.dir}`);
    throw error;
  }
  await writeFile(paths.config, `${JSON.stringify(config, null, 2)}\n`, { flag: 'wx' });
  await mkdir(paths.checkpoints);
  return paths;
}

/** The paths of an existing run; throws naming the run when there is none. */
export async function openRun(workspace: string, runId: string): Promise<RunPaths> {
  const paths = runPaths(workspace, runId);
  if (!(await isDirectory(paths.dir))) throw new Error(`no run ${runId} in ${join(workspace, RUNS_DIRECTORY)}`);
  return paths;
}

export async function readRunConfig(paths: RunPaths): Promise<RunConfig> {
  let text: string;
  try {
    text = await readFile(paths.config, 'utf8');
  } catch (error) {
    throw new Error(`${paths.config}: cannot read the run's config: ${(error as Error).message}`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new Error(`${paths.config}: invalid JSON: ${(error as Error).message}`);
  }
  const result = parseRunConfig(value, paths.config);
  if (!result.ok) throw new Error(result.errors.map((error) => error.message).join('\n'));
  return result.config;
}

// ---------------------------------------------------------------------------------------------------------
// Replay

export interface RunReplay {
  pool: RunPool;
  /** Bad lines and inconsistencies, each "file:line: …". */
  problems: string[];
  /** Where following each log goes on. Bytes after them are a line still being written (or torn). */
  eventsCursor: JsonlCursor;
  decisionsCursor: JsonlCursor;
}

/**
 * Folds the run's logs into its state. Events are folded before decisions; decisions join items by id,
 * so the order between the two files does not matter. An incomplete last line is left unread.
 */
export async function replayRun(paths: RunPaths): Promise<RunReplay> {
  const pool = new RunPool();
  const problems: string[] = [];
  const eventsCursor = await foldLog(paths.events, parseRunEvent, problems, (record) => pool.applyEvent(record));
  const decisionsCursor = await foldLog(paths.decisions, parseDecision, problems, (record) => pool.applyDecision(record));
  problems.push(...pool.problems.map((problem) => problem.message));
  return { pool, problems, eventsCursor, decisionsCursor };
}

async function foldLog<T>(
  file: string,
  parse: LineParser<T>,
  problems: string[],
  apply: (record: LogRecord<T>) => void,
): Promise<JsonlCursor> {
  let cursor = JSONL_START;
  for (;;) {
    const batch = await readJsonl(file, parse, cursor);
    batch.records.forEach(apply);
    problems.push(...batch.problems.map((problem) => problem.message));
    cursor = batch.cursor;
    if (batch.atEnd) return cursor;
  }
}

// ---------------------------------------------------------------------------------------------------------
// The controller's side

const RunStateSchema = z.object({
  v: z.literal(RUN_LOG_VERSION),
  run_id: z.string(),
  /** Steps completed. */
  step: z.int().min(0),
  last_checkpoint: z.object({ step: z.int().min(0), dir: z.string() }).nullable(),
  reward_mean: z.number().nullable(),
  agreement_mean: z.number().nullable(),
  items: z.record(z.string(), z.int().min(0)),
  finished: z.enum(FINISH_STATUSES).nullable(),
  updated_at: z.iso.datetime({ offset: true }),
});
export type RunState = z.infer<typeof RunStateSchema>;

function stateFile(paths: RunPaths): DataFile<RunState> {
  return new DataFile<RunState>(paths.state, {
    parse: (text) => parseJsonFile(paths.state, text, RunStateSchema),
    stringify: (state) => `${JSON.stringify(state, null, 2)}\n`,
  });
}

/**
 * The controller's handle on a run: holds the lock, appends events (folding each into `pool`, which starts
 * as the replay of what the logs already hold), and follows decisions.jsonl.
 */
export class RunWriter {
  private closed = false;

  private constructor(
    readonly paths: RunPaths,
    readonly config: RunConfig,
    readonly lock: RunLock,
    /** The run's state: the logs so far plus everything emitted and polled since. */
    readonly pool: RunPool,
    /** What opening found: bad or torn lines, inconsistencies. */
    readonly problems: string[],
    private readonly events: JsonlAppender<RunEvent>,
    private readonly decisions: JsonlFollower<Decision>,
    private readonly state: Low<RunState>,
  ) {}

  /**
   * Opens a run for its controller: takes the lock (RunLockedError when another controller has it),
   * replays the logs, cuts off a torn last event line, and follows decisions from where the replay ended.
   */
  static async open(
    workspace: string,
    runId: string,
    options: { onLockCompromised?: (error: Error) => void } = {},
  ): Promise<RunWriter> {
    const paths = await openRun(workspace, runId);
    const config = await readRunConfig(paths);
    const lock = await acquireRunLock(paths, { onCompromised: options.onLockCompromised });
    try {
      const replay = await replayRun(paths);
      const events = JsonlAppender.open(paths.events, parseRunEvent);
      const problems = [...replay.problems];
      if (events.repair) {
        const { line, droppedBytes } = events.repair;
        problems.push(`${paths.events}:${line}: cut off an incomplete last line (${droppedBytes} bytes) left by an interrupted write`);
      }
      const decisions = new JsonlFollower(paths.decisions, parseDecision, replay.decisionsCursor);
      const state = new Low<RunState>(stateFile(paths), summarizeState(runId, replay.pool));
      return new RunWriter(paths, config, lock, replay.pool, problems, events, decisions, state);
    } catch (error) {
      await lock.release();
      throw error;
    }
  }

  /** Appends an event (stamped with `v` and `ts`) and folds it into `pool`. */
  emit(event: RunEventInput): LogRecord<RunEvent> {
    if (this.closed) throw new Error(`run ${this.paths.runId} is closed for writing`);
    if (this.lock.compromised) throw this.lock.compromised;
    const value = stampRunEvent(event);
    const record = { value, location: this.events.append(value) };
    this.pool.applyEvent(record);
    return record;
  }

  /**
   * Emits this session's `run-started`. A run that has started before is resumed from its last checkpoint
   * (or its start): the returned point says from where; null for a new run.
   */
  startSession(options: { curationOnly?: boolean } = {}): ResumePoint | null {
    const resume = this.pool.sessions.length > 0 ? this.pool.resumePoint() : null;
    this.emit({
      type: 'run-started',
      run_id: this.paths.runId,
      pid: process.pid,
      hostname: hostname(),
      config: summarizeRunConfig(this.config, options),
      ...(resume ? { resumed_from: { step: resume.step, checkpoint_dir: resume.checkpoint?.dir ?? null } } : {}),
    });
    return resume;
  }

  /** Decisions appended since the last poll, folded into `pool`; bad lines are reported in the batch. */
  async pollDecisions(): Promise<JsonlBatch<Decision>> {
    const batch = await this.decisions.poll();
    const problemsBefore = this.pool.problems.length;
    batch.records.forEach((record) => this.pool.applyDecision(record));
    const foldProblems = this.pool.problems.slice(problemsBefore);
    return { ...batch, problems: [...batch.problems, ...foldProblems] };
  }

  /** A step or checkpoint boundary: makes the events durable (fsync) and refreshes state.json. */
  async sync(): Promise<void> {
    if (this.lock.compromised) throw this.lock.compromised;
    this.events.sync();
    this.state.data = summarizeState(this.paths.runId, this.pool);
    await this.state.write();
  }

  /** Syncs, closes the log and releases the lock. The caller emits `run-finished` first. */
  async close(): Promise<void> {
    if (this.closed) return;
    try {
      await this.sync();
    } finally {
      this.closed = true;
      this.events.close();
      await this.decisions.stop();
      await this.lock.release();
    }
  }
}

function summarizeState(runId: string, pool: RunPool): RunState {
  const lastStep = pool.steps.get(pool.lastCompletedStep);
  const checkpoint = pool.lastCheckpoint;
  return {
    v: RUN_LOG_VERSION,
    run_id: runId,
    step: pool.lastCompletedStep,
    last_checkpoint: checkpoint && { step: checkpoint.step, dir: checkpoint.dir },
    reward_mean: lastStep?.reward_mean ?? null,
    agreement_mean: lastStep?.agreement_mean ?? null,
    items: pool.stageCounts(),
    finished: pool.finished?.status ?? null,
    updated_at: new Date().toISOString(),
  };
}

// ---------------------------------------------------------------------------------------------------------
// The user side

/** How long a decision waits for another user-side writer to finish its append. */
const DECISION_LOCK_RETRIES = { retries: 20, minTimeout: 10, maxTimeout: 100 };

/**
 * Appends one human decision, durably (fsync) before returning it. User-side writers (extension, CLI)
 * take turns through a short lock on decisions.jsonl, so one never cuts off another's line as torn.
 */
export async function appendDecision(paths: RunPaths, input: DecisionInput): Promise<Decision> {
  const decision = { v: RUN_LOG_VERSION, ts: new Date().toISOString(), decision_id: randomUUID(), ...input } as Decision;
  if (!(await isDirectory(paths.dir))) throw new Error(`no run ${paths.runId} at ${paths.dir}`);
  const release = await lock(paths.decisions, {
    lockfilePath: `${paths.decisions}.lock`,
    realpath: false,
    retries: DECISION_LOCK_RETRIES,
  }).catch((error: NodeJS.ErrnoException) => {
    if (error.code !== 'ELOCKED') throw error;
    throw new Error(`${paths.decisions}: another process keeps appending a decision; try again (${error.message})`);
  });
  try {
    const log = JsonlAppender.open(paths.decisions, parseDecision);
    try {
      log.append(decision);
      log.sync();
    } finally {
      log.close();
    }
  } finally {
    await release();
  }
  return decision;
}

// ---------------------------------------------------------------------------------------------------------
// Listing

/**
 * running: a live controller holds the lock. Otherwise from the last event: completed / stopped / failed
 * (run-finished, or failed after a fatal error), created (no events yet), interrupted (the controller died
 * or was killed mid-run: resume it).
 */
export const RUN_STATUSES = ['running', ...FINISH_STATUSES, 'created', 'interrupted'] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];

export interface RunSummary {
  runId: string;
  dir: string;
  status: RunStatus;
  /** The controller holding the run (running) or that last held it. */
  controller: ControllerInfo | null;
  /** From state.json (as of the controller's last sync); null when it has none. */
  state: RunState | null;
  /** Files that could not be read or had bad content. */
  problems: string[];
}

export async function runSummary(paths: RunPaths): Promise<RunSummary> {
  const [lock, last, state] = await Promise.all([
    inspectRunLock(paths),
    readLastJsonlRecord(paths.events, parseRunEvent),
    readState(paths),
  ]);
  const problems = [...(lock.problem ? [lock.problem] : []), ...last.problems, ...(state.problem ? [state.problem] : [])];
  return { runId: paths.runId, dir: paths.dir, status: statusOf(lock.live, last.value), controller: lock.holder, state: state.value, problems };
}

function statusOf(running: boolean, lastEvent: RunEvent | null): RunStatus {
  if (running) return 'running';
  if (!lastEvent) return 'created';
  if (lastEvent.type === 'run-finished') return lastEvent.status;
  if (lastEvent.type === 'error' && lastEvent.fatal) return 'failed';
  return 'interrupted';
}

async function readState(paths: RunPaths): Promise<{ value: RunState | null; problem: string | null }> {
  try {
    return { value: await stateFile(paths).read(), problem: null };
  } catch (error) {
    return { value: null, problem: (error as Error).message };
  }
}

/** Every run of the workspace, oldest first (run ids sort by creation time). */
export async function listRuns(workspace: string): Promise<RunSummary[]> {
  const root = join(workspace, RUNS_DIRECTORY);
  let entries;
  try {
    entries = await readdir(root, { withFileTypes: true });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  const runIds = entries
    .filter((entry) => entry.isDirectory() && RUN_ID_PATTERN.test(entry.name))
    .map((entry) => entry.name)
    .sort();
  return Promise.all(runIds.map((runId) => runSummary(runPaths(workspace, runId))));
}

async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw error;
  }
}
