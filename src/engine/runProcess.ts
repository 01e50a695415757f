// Controller processes started by the extension's run manager (no `vscode` here, so it is testable).
//
// A run's controller is the `serl` CLI (`node dist/cli.js train|curate …`), started DETACHED: its own
// session and process group, stdin closed, stdout and stderr appended to a log file, not waited for. So it
// outlives a window reload (or the whole editor); a new window finds it again through the run's lock and
// controller.json (`attachController`). Stopping is graceful first (SIGTERM: the CLI stops after the
// current worker call, ends the run 'stopped' and exits 130), then, after a grace period, SIGKILL of the
// controller's process group and of every process below it (the Python worker has a group of its own).
//
// Logs: a resumed run appends to <run>/controller.log. A new run's id is chosen by the CLI, so its log
// starts as .serl/logs/<start>.log and is moved into the run folder once the run appears (a rename keeps the
// controller's open file). A start that fails before creating a run leaves no log: its text is the error.
import { execFileSync, spawn } from 'node:child_process';
import { closeSync, openSync, readdirSync, readFileSync, writeSync } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { readControllerInfo, type ControllerInfo } from './runLock';
import { newRunId, runPaths, RUNS_DIRECTORY, type RunPaths } from './runStore';

/** The CLI's exit status after SIGINT/SIGTERM (src/cli/commands/train.ts). */
export const EXIT_STOPPED = 130;
export const CONTROLLER_LOG = 'controller.log';
const LOGS_DIRECTORY = join('.serl', 'logs');
const POLL_MS = 100;
/** Creating a run is quick (config, seeds, lock; the worker starts after): this only catches a controller that hangs. */
const START_TIMEOUT_MS = 120_000;

/** What to start: a new run from a config file, or an existing run resumed. */
export type RunStart = { command: 'train' | 'curate'; config: string } | { command: 'train' | 'curate'; resume: string };

export interface LaunchOptions {
  /** The Node.js executable (in VS Code: its own, with ELECTRON_RUN_AS_NODE=1 in `env`). */
  node: string;
  /** The CLI bundle, dist/cli.js. */
  cli: string;
  /** The folder whose .serl/runs holds the run. */
  workspace: string;
  /** The training worker's interpreter, passed as --python. */
  python?: string;
  /** Added to this process's environment. */
  env?: NodeJS.ProcessEnv;
  /** How long the controller may take to create (or lock) its run before the start counts as failed. */
  startTimeoutMs?: number;
}

/** How a controller ended. `code` is known only for a process this one started (not for an attached one). */
export interface ControllerExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** The controller exited (or could not be started) before it created or locked its run. */
export class ControllerStartError extends Error {
  constructor(
    message: string,
    /** What the controller wrote before it ended (its error message, usually). */
    readonly output: string,
    readonly exit: ControllerExit | null,
  ) {
    super(message);
    this.name = 'ControllerStartError';
  }
}

/** A live (or just ended) controller of one run. */
export class ControllerProcess {
  private gone = false;
  private watcher: NodeJS.Timeout | null = null;
  /** Resolves once the process has ended. */
  readonly exited: Promise<ControllerExit>;

  private constructor(
    readonly paths: RunPaths,
    readonly pid: number,
    readonly logFile: string,
    /** Resolves with the exit of a child of this process; null: watch the pid instead. */
    childExit: Promise<ControllerExit> | null,
  ) {
    this.exited = (childExit ?? this.pollExit()).then((exit) => {
      this.gone = true;
      return exit;
    });
  }

  get runId(): string {
    return this.paths.runId;
  }

  /** False once the process has ended. */
  get alive(): boolean {
    return !this.gone && isProcessAlive(this.pid);
  }

  /**
   * SIGTERM, then after `graceMs` SIGKILL of the controller's process tree. Resolves when it is gone:
   * 'stopped' (it ended within the grace period), 'killed', or 'not-running' (it had already ended).
   */
  async stop(options: { graceMs?: number } = {}): Promise<'stopped' | 'killed' | 'not-running'> {
    if (!this.alive) return 'not-running';
    signalProcess(this.pid, 'SIGTERM');
    if (await this.waitForExit(options.graceMs ?? 30_000)) return 'stopped';
    killProcessTree(this.pid);
    await this.waitForExit(10_000);
    return 'killed';
  }

  /** Stops watching an attached process (the process itself goes on). */
  dispose(): void {
    if (this.watcher) clearTimeout(this.watcher);
    this.watcher = null;
  }

  private async waitForExit(ms: number): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
    const ended = await Promise.race([this.exited.then(() => true), timeout]);
    clearTimeout(timer);
    return ended;
  }

  private pollExit(): Promise<ControllerExit> {
    return new Promise((resolve) => {
      const check = () => {
        if (!isProcessAlive(this.pid)) {
          this.watcher = null;
          resolve({ code: null, signal: null });
        } else {
          this.watcher = setTimeout(check, 500);
        }
      };
      check();
    });
  }

  /**
   * Starts a controller and resolves once it holds its run (or has ended after creating it: look at
   * `exited` and the run's status). Rejects with ControllerStartError when it ends, or times out, before.
   */
  static async launch(start: RunStart, options: LaunchOptions): Promise<ControllerProcess> {
    const workspace = options.workspace;
    const resumed = 'resume' in start ? runPaths(workspace, start.resume) : null;
    const args = [
      options.cli,
      start.command,
      ...('resume' in start ? ['--resume', start.resume] : ['--config', start.config]),
      '--workspace',
      workspace,
      ...(options.python ? ['--python', options.python] : []),
    ];
    let logFile: string;
    if (resumed) {
      logFile = join(resumed.dir, CONTROLLER_LOG);
    } else {
      await mkdir(join(workspace, LOGS_DIRECTORY), { recursive: true });
      logFile = join(workspace, LOGS_DIRECTORY, `${newRunId()}.log`);
    }
    const runsBefore = resumed ? new Set<string>() : new Set(await runDirectories(workspace));

    const fd = openSync(logFile, 'a');
    let child;
    try {
      writeSync(fd, `--- ${new Date().toISOString()} SeRL Studio: ${[options.node, ...args].map(quoteArg).join(' ')}\n`);
      child = spawn(options.node, args, {
        cwd: workspace,
        env: { ...process.env, ...options.env },
        detached: process.platform !== 'win32',
        stdio: ['ignore', fd, fd],
        windowsHide: true,
      });
    } finally {
      closeSync(fd);
    }
    const childExit = new Promise<ControllerExit>((resolve) => {
      child.once('exit', (code, signal) => resolve({ code, signal }));
    });
    const spawnError = new Promise<Error>((resolve) => child.once('error', resolve));
    child.unref();

    const findRun = async (): Promise<RunPaths | null> => {
      const candidates = resumed ? [resumed] : (await runDirectories(workspace)).filter((id) => !runsBefore.has(id)).map((id) => runPaths(workspace, id));
      for (const paths of candidates) {
        const { holder } = await readControllerInfo(paths);
        if (holder && holder.pid === child.pid && holder.hostname === hostname()) return paths;
      }
      return null;
    };
    const fail = async (message: string, exit: ControllerExit | null): Promise<never> => {
      const output = await readFile(logFile, 'utf8').catch(() => '');
      if (!resumed) await rm(logFile, { force: true });
      throw new ControllerStartError(message, stripHeader(output), exit);
    };

    const deadline = Date.now() + (options.startTimeoutMs ?? START_TIMEOUT_MS);
    let exit: ControllerExit | null = null;
    for (;;) {
      const outcome = await Promise.race([
        childExit.then((value) => ({ exit: value })),
        spawnError.then((error) => ({ error })),
        delay(POLL_MS).then(() => null),
      ]);
      if (outcome && 'error' in outcome) {
        return fail(`cannot start ${options.node}: ${outcome.error.message}`, null);
      }
      if (outcome) exit = outcome.exit;
      const paths = await findRun();
      if (paths) {
        if (!resumed) {
          const finalLog = join(paths.dir, CONTROLLER_LOG);
          await rename(logFile, finalLog);
          logFile = finalLog;
        }
        return new ControllerProcess(paths, child.pid!, logFile, childExit);
      }
      if (exit) {
        const how = exit.code !== null ? `exit status ${exit.code}` : `signal ${exit.signal}`;
        return fail(`the controller ended (${how}) before it ${resumed ? 'took over' : 'created'} the run`, exit);
      }
      if (Date.now() > deadline) {
        killProcessTree(child.pid!);
        return fail(`the controller did not ${resumed ? 'take over' : 'create'} the run within ${options.startTimeoutMs ?? START_TIMEOUT_MS} ms; stopped it`, await childExit);
      }
    }
  }

  /**
   * The controller holding a run, when it is alive on this host and really is a `serl` controller (a pid in
   * a workspace file alone is not trusted with signals). Null otherwise.
   */
  static attach(paths: RunPaths, holder: ControllerInfo | null): ControllerProcess | null {
    if (!holder || holder.hostname !== hostname() || !isControllerCommand(holder.pid)) return null;
    return new ControllerProcess(paths, holder.pid, join(paths.dir, CONTROLLER_LOG), null);
  }
}

function quoteArg(arg: string): string {
  return /^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`;
}

/** The log without the header lines this module writes. */
function stripHeader(text: string): string {
  return text
    .split('\n')
    .filter((line) => !line.startsWith('--- ') || !line.includes(' SeRL Studio: '))
    .join('\n')
    .trim();
}

async function runDirectories(workspace: string): Promise<string[]> {
  try {
    return (await readdir(join(workspace, RUNS_DIRECTORY), { withFileTypes: true })).filter((entry) => entry.isDirectory()).map((entry) => entry.name);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

// ---------------------------------------------------------------------------------------------------------
// Processes

export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function signalProcess(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
  }
}

export interface ProcessEntry {
  pid: number;
  ppid: number;
  pgid: number;
}

/** Every process's parent and group: /proc on Linux, `ps` elsewhere on POSIX. */
function processTable(): ProcessEntry[] {
  if (process.platform === 'linux') {
    const entries: ProcessEntry[] = [];
    for (const name of readdirSync('/proc')) {
      if (!/^\d+$/.test(name)) continue;
      let stat: string;
      try {
        stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      } catch {
        continue; // it ended meanwhile
      }
      // "pid (comm) state ppid pgrp …": comm may hold spaces and parentheses, so split after the last ')'.
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      entries.push({ pid: Number(name), ppid: Number(fields[1]), pgid: Number(fields[2]) });
    }
    return entries;
  }
  return execFileSync('ps', ['-A', '-o', 'pid=,ppid=,pgid='], { encoding: 'utf8' })
    .trim()
    .split('\n')
    .map((line) => line.trim().split(/\s+/).map(Number))
    .map(([pid, ppid, pgid]) => ({ pid: pid!, ppid: ppid!, pgid: pgid! }));
}

/** The processes below `pid` (children, their children, …). */
export function processDescendants(pid: number, table: readonly ProcessEntry[] = processTable()): ProcessEntry[] {
  const found: ProcessEntry[] = [];
  const parents = [pid];
  while (parents.length > 0) {
    const parent = parents.pop()!;
    for (const entry of table) {
      if (entry.ppid !== parent) continue;
      found.push(entry);
      parents.push(entry.pid);
    }
  }
  return found;
}

/**
 * SIGKILL of `pid`, every process below it, and the process groups they lead (the worker leads its own; a
 * group also takes a process started after the scan).
 */
export function killProcessTree(pid: number): void {
  if (process.platform === 'win32') {
    try {
      execFileSync('taskkill', ['/pid', String(pid), '/T', '/F'], { stdio: 'ignore' });
    } catch {
      // already gone
    }
    return;
  }
  const table = processTable();
  const tree = [...table.filter((entry) => entry.pid === pid), ...processDescendants(pid, table)];
  for (const entry of tree) if (entry.pgid === entry.pid) signalProcess(-entry.pid, 'SIGKILL');
  for (const entry of [{ pid }, ...tree]) signalProcess(entry.pid, 'SIGKILL');
}

/** Whether `pid` runs the `serl` CLI's train or curate command (a pid read from a workspace file is not trusted alone). */
export function isControllerCommand(pid: number): boolean {
  let argv: string[];
  try {
    if (process.platform === 'linux') {
      argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    } else if (process.platform === 'win32') {
      return isProcessAlive(pid);
    } else {
      argv = execFileSync('ps', ['-o', 'command=', '-p', String(pid)], { encoding: 'utf8' }).trim().split(/\s+/);
    }
  } catch {
    return false;
  }
  // `node …/dist/cli.js train …`, or the `serl` bin link run through its shebang (`node /usr/local/bin/serl train …`).
  const cli = argv.findIndex((arg) => /(^|[/\\])(cli\.js|serl)$/.test(arg));
  return cli !== -1 && ['train', 'curate'].includes(argv[cli + 1] ?? '');
}
