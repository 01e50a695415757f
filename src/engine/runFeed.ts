// The run manager's side of src/extension/runFeed.ts: the workspace's runs (RunCatalog) and one run's
// logs as they grow (RunFeed). No `vscode` here.
//
// The catalog rescans the run folders (listRuns: each run's lock, last event and state.json — a few small
// reads) on a timer and whenever asked, and tells listeners only when something changed.
//
// A feed subscription follows events.jsonl and decisions.jsonl with its own two cursors: the files are read
// once, from the start, and then only what is appended. Events are delivered before decisions on each
// round, so the history comes first. When either file is replaced or truncated the subscription says
// onReset and starts both files over.
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { plannedSteps } from './controller';
import { JsonlFollower } from './jsonl';
import { appendDecision, listRuns, readRunConfig, runPaths, type RunPaths, type RunSummary } from './runStore';
import { parseSeedText, seedFormatForPath } from '../core/seeds';
import { parseDecision, parseRunEvent, type Decision, type DecisionInput, type LogRecord, type RunEvent } from '../protocol/events';
import type { Disposable, RunCatalog, RunFeed, RunFeedListener } from '../extension/runFeed';

/** Bytes of a log delivered in one batch: a long history arrives in pieces a view can take. */
const FEED_BATCH_BYTES = 1 << 20;

export interface CatalogOptions {
  /** Rescan period. */
  pollMs?: number;
  /** Feed subscriptions' polling period. */
  feedPollMs?: number;
  /** A scan or listener failed (the catalog goes on). */
  onError?: (error: unknown) => void;
}

export class WorkspaceRunCatalog implements RunCatalog {
  private runs: RunSummary[] = [];
  private digest = '[]';
  private readonly listeners = new Set<() => void>();
  private readonly totals = new Map<string, Promise<number | null>>();
  private timer: NodeJS.Timeout | null = null;
  private scanning: Promise<RunSummary[]> | null = null;
  private rescanRequested = false;
  private disposed = false;

  constructor(
    /** Workspace folders; each may hold .serl/runs. */
    private roots: readonly string[],
    private readonly options: CatalogOptions = {},
  ) {}

  /** Scans now and then every `pollMs`. */
  start(): Promise<RunSummary[]> {
    const first = this.refresh();
    const loop = () => {
      this.timer = setTimeout(() => void this.refresh().finally(() => !this.disposed && loop()), this.options.pollMs ?? 2000);
    };
    loop();
    return first;
  }

  setRoots(roots: readonly string[]): Promise<RunSummary[]> {
    this.roots = roots;
    return this.refresh();
  }

  list(): RunSummary[] {
    return this.runs;
  }

  find(runId: string): RunSummary | undefined {
    return this.runs.find((run) => run.runId === runId);
  }

  /** The workspace folder holding a run. */
  workspaceOf(runId: string): string | undefined {
    return this.roots.find((root) => existsSync(runPaths(root, runId).dir));
  }

  /** Rescans the run folders; scans never overlap (a request during one is served by one more). */
  refresh(): Promise<RunSummary[]> {
    if (this.scanning) {
      this.rescanRequested = true;
      return this.scanning;
    }
    this.scanning = (async () => {
      try {
        do {
          this.rescanRequested = false;
          await this.scan();
        } while (this.rescanRequested && !this.disposed);
      } catch (error) {
        this.options.onError?.(error);
      } finally {
        this.scanning = null;
      }
      return this.runs;
    })();
    return this.scanning;
  }

  onDidChange(listener: () => void): Disposable {
    this.listeners.add(listener);
    return { dispose: () => this.listeners.delete(listener) };
  }

  feed(runId: string): RunFeed {
    const workspace = this.workspaceOf(runId);
    if (workspace === undefined) throw new Error(`no run ${runId} in ${this.roots.join(', ') || 'the workspace (no folder open)'}`);
    return new FollowedRunFeed(runPaths(workspace, runId), { pollMs: this.options.feedPollMs, onError: this.options.onError });
  }

  /** Steps the run is planned to take (max_steps, else from the iterations and the seed count); null if unknown. */
  totalSteps(runId: string): Promise<number | null> {
    let total = this.totals.get(runId);
    if (!total) {
      const workspace = this.workspaceOf(runId);
      total = workspace === undefined ? Promise.resolve(null) : readTotalSteps(runPaths(workspace, runId));
      this.totals.set(runId, total);
      // A config not readable yet (a scan between the run's folder and its config.json) is tried again next time.
      void total.then((steps) => steps === null && this.totals.delete(runId));
    }
    return total;
  }

  dispose(): void {
    this.disposed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.listeners.clear();
  }

  private async scan(): Promise<void> {
    const lists = await Promise.all(this.roots.map((root) => listRuns(root)));
    const runs = lists.flat();
    const digest = JSON.stringify(runs);
    if (digest === this.digest || this.disposed) return;
    this.runs = runs;
    this.digest = digest;
    for (const listener of [...this.listeners]) {
      try {
        listener();
      } catch (error) {
        this.options.onError?.(error);
      }
    }
  }
}

async function readTotalSteps(paths: RunPaths): Promise<number | null> {
  try {
    const config = await readRunConfig(paths);
    if (config.max_steps !== undefined || config.mode === 'serl') return plannedSteps(config, 0);
    const seeds = parseSeedText(await readFile(config.seeds, 'utf8'), seedFormatForPath(config.seeds));
    return plannedSteps(config, seeds.items.length);
  } catch {
    return null;
  }
}

export class FollowedRunFeed implements RunFeed {
  constructor(
    readonly paths: RunPaths,
    private readonly options: { pollMs?: number; onError?: (error: unknown) => void } = {},
  ) {}

  get runId(): string {
    return this.paths.runId;
  }

  get dir(): string {
    return this.paths.dir;
  }

  subscribe(listener: RunFeedListener): Disposable {
    const subscription = new FeedSubscription(this.paths, listener, this.options.pollMs ?? 250, this.options.onError);
    subscription.start();
    return { dispose: () => subscription.stop() };
  }

  decide(decision: DecisionInput): Promise<Decision> {
    return appendDecision(this.paths, decision);
  }
}

class FeedSubscription {
  private events!: JsonlFollower<RunEvent>;
  private decisions!: JsonlFollower<Decision>;
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;

  constructor(
    private readonly paths: RunPaths,
    private readonly listener: RunFeedListener,
    private readonly pollMs: number,
    private readonly onError: ((error: unknown) => void) | undefined,
  ) {
    this.startOver();
  }

  start(): void {
    this.timer = setTimeout(() => void this.tick(), 0);
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  private startOver(): void {
    this.events = new JsonlFollower(this.paths.events, parseRunEvent);
    this.decisions = new JsonlFollower(this.paths.decisions, parseDecision);
  }

  private async tick(): Promise<void> {
    try {
      const reset = (await this.drain(this.events, (records) => this.listener.onEvents(records))) || (await this.drain(this.decisions, (records) => this.listener.onDecisions(records)));
      if (reset && !this.stopped) {
        this.startOver();
        this.listener.onReset();
        this.timer = setTimeout(() => void this.tick(), 0);
        return;
      }
    } catch (error) {
      this.report(error);
    }
    if (!this.stopped) this.timer = setTimeout(() => void this.tick(), this.pollMs);
  }

  /** Delivers what was appended to one file; true when the file was reset. */
  private async drain<T>(follower: JsonlFollower<T>, deliver: (records: LogRecord<T>[]) => void): Promise<boolean> {
    for (;;) {
      const batch = await follower.poll({ maxBytes: FEED_BATCH_BYTES });
      if (this.stopped) return false;
      if (batch.reset) return true;
      if (batch.records.length > 0) this.call(() => deliver(batch.records));
      for (const problem of batch.problems) this.call(() => this.listener.onProblem(problem.message));
      if (batch.atEnd) return false;
    }
  }

  private call(action: () => void): void {
    try {
      action();
    } catch (error) {
      this.report(error);
    }
  }

  private report(error: unknown): void {
    if (this.onError) {
      this.onError(error);
      return;
    }
    try {
      this.listener.onProblem(`${this.paths.dir}: ${(error as Error).message}`);
    } catch {
      // a listener that fails on its own problem report has nowhere else to hear it
    }
  }
}
