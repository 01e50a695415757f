// The host side of one dashboard webview, without `vscode`: validates what the page sends, follows the
// shown run's feed into a DashboardRunModel, and posts rows and metrics in chunks and throttled deltas.
// Decisions go through the feed (the webview never writes files); bulk decisions and relabels ask the
// user first through `DashboardUi`. index.ts binds it to a real webview.
import type { RunSummary } from '../../engine/runStore';
import {
  parseWebviewMessage,
  type DecisionAction,
  type HostMessage,
  type RunChoice,
  type WebviewMessage,
  type WebviewMessageOf,
} from '../../protocol/dashboard';
import type { Disposable, RunCatalog, RunFeed } from '../runFeed';
import { DashboardRunModel, type SeedTexts } from './runModel';

/** The questions the host asks the user (VS Code's modal message and input box). */
export interface DashboardUi {
  /** A modal confirmation; true when the user chose `action`. */
  confirm(message: string, action: string): Promise<boolean>;
  /** The answer for a relabel; undefined when the user cancelled. */
  askAnswer(itemId: string, text: string, suggestion: string | null): Promise<string | undefined>;
  /** Opens the dashboard in an editor tab. */
  openPanel(runId: string | null): void;
  /**
   * Runs a long task (a bulk decision) with visible progress; `step` reports one unit done of `total`
   * and says whether the user cancelled.
   */
  withProgress(title: string, total: number, task: (step: () => boolean) => Promise<void>): Promise<void>;
}

export interface DashboardLog {
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

export interface DashboardControllerOptions {
  catalog: RunCatalog;
  /** Delivers a message to the page; false when the page is gone (hidden), which `ready` repairs. */
  post: (message: HostMessage) => Thenable<boolean> | Promise<boolean> | boolean;
  ui: DashboardUi;
  log: DashboardLog;
  seedTexts: SeedTexts;
  /** Rows per `pool-rows` message while loading. */
  chunkRows?: number;
  /** Deltas are gathered for this long before they are posted. */
  flushMs?: number;
}

type Thenable<T> = PromiseLike<T>;

const DEFAULT_CHUNK_ROWS = 2000;
const DEFAULT_FLUSH_MS = 100;

export function runChoice(summary: RunSummary): RunChoice {
  return {
    runId: summary.runId,
    status: summary.status,
    step: summary.state?.step ?? null,
    rewardMean: summary.state?.reward_mean ?? null,
  };
}

/** The run shown when the page asks for none (or for one that is gone): a running one, else the newest. */
export function defaultRun(runs: readonly RunSummary[]): string | null {
  const running = runs.filter((run) => run.status === 'running');
  return (running.at(-1) ?? runs.at(-1))?.runId ?? null;
}

export class DashboardController implements Disposable {
  private model: DashboardRunModel | null = null;
  private feed: RunFeed | null = null;
  private subscription: Disposable | null = null;
  private readonly catalogSubscription: Disposable;
  private flushTimer: NodeJS.Timeout | null = null;
  private disposed = false;
  private readonly chunkRows: number;
  private readonly flushMs: number;

  constructor(private readonly options: DashboardControllerOptions) {
    this.chunkRows = options.chunkRows ?? DEFAULT_CHUNK_ROWS;
    this.flushMs = options.flushMs ?? DEFAULT_FLUSH_MS;
    this.catalogSubscription = options.catalog.onDidChange(() => void this.postRuns());
  }

  get shownRunId(): string | null {
    return this.model?.runId ?? null;
  }

  /** A message from the page, unvalidated. */
  async receive(raw: unknown): Promise<void> {
    const parsed = parseWebviewMessage(raw);
    if (!parsed.ok) {
      this.options.log.error(`dashboard: ignored a message from the webview: ${parsed.error}`);
      return;
    }
    try {
      await this.handle(parsed.value);
    } catch (error) {
      this.options.log.error(`dashboard: ${parsed.value.type}: ${(error as Error).stack ?? error}`);
    }
  }

  /** Shows `runId` (a command's argument): switches the run unless it is already shown. */
  async show(runId: string | null): Promise<void> {
    const target = this.resolveRun(runId);
    if (target !== this.shownRunId) this.follow(target);
    await this.postRuns();
  }

  dispose(): void {
    this.disposed = true;
    this.unfollow();
    this.catalogSubscription.dispose();
  }

  private async handle(message: WebviewMessage): Promise<void> {
    switch (message.type) {
      case 'ready':
        // A (re)loaded page has nothing: send everything. The run this controller already shows wins over
        // the page's saved one (a command may have switched runs while the page was hidden).
        if (this.model) {
          await this.postRuns();
          await this.postEverything(this.model);
        } else {
          await this.show(message.runId);
        }
        return;
      case 'select-run':
        await this.show(message.runId);
        return;
      case 'open-item':
        await this.openItem(message);
        return;
      case 'decide':
        await this.decide(message);
        return;
      case 'relabel':
        await this.relabel(message);
        return;
      case 'open-panel':
        this.options.ui.openPanel(message.runId);
        return;
      case 'webview-error':
        this.options.log.error(`dashboard webview: ${message.message}`);
        return;
    }
  }

  private resolveRun(runId: string | null): string | null {
    const runs = this.options.catalog.list();
    if (runId !== null && runs.some((run) => run.runId === runId)) return runId;
    if (runId !== null) this.options.log.warn(`dashboard: run ${runId} is not in the workspace; showing another`);
    return defaultRun(runs);
  }

  private async postRuns(): Promise<void> {
    await this.post({ type: 'runs', runs: this.options.catalog.list().map(runChoice), selected: this.shownRunId });
  }

  private follow(runId: string | null): void {
    this.unfollow();
    if (runId === null) return;
    const feed = this.options.catalog.feed(runId);
    const model = new DashboardRunModel(runId, this.options.seedTexts);
    this.model = model;
    this.feed = feed;
    void this.post({ type: 'pool-reset', runId });
    this.subscription = feed.subscribe({
      onEvents: (events) => {
        model.applyEvents(events);
        this.scheduleFlush();
      },
      onDecisions: (decisions) => {
        model.applyDecisions(decisions);
        this.scheduleFlush();
      },
      onReset: () => {
        if (this.model !== model) return;
        // The logs were replaced: start the run over, in the model and in the page.
        this.follow(runId);
      },
      onProblem: (message) => {
        model.addProblem(message);
        this.scheduleFlush();
      },
    });
  }

  private unfollow(): void {
    this.subscription?.dispose();
    this.subscription = null;
    this.feed = null;
    this.model = null;
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.flushTimer = null;
  }

  private scheduleFlush(): void {
    if (this.flushTimer || this.disposed) return;
    this.flushTimer = setTimeout(() => {
      this.flushTimer = null;
      void this.flush();
    }, this.flushMs);
  }

  /** Posts what changed since the last flush. */
  async flush(): Promise<void> {
    const model = this.model;
    if (!model) return;
    const { upserts, removed } = model.takeChanges();
    await this.postRows(model, upserts, removed);
    await this.postDetails(model);
  }

  private async postEverything(model: DashboardRunModel): Promise<void> {
    await this.post({ type: 'pool-reset', runId: model.runId });
    await this.postRows(model, model.allRows(), []);
    await this.postDetails(model, true);
  }

  private async postRows(model: DashboardRunModel, upserts: ReturnType<DashboardRunModel['allRows']>, removed: string[]): Promise<void> {
    if (upserts.length === 0 && removed.length === 0) return;
    const total = model.size;
    for (let start = 0; start < Math.max(upserts.length, 1); start += this.chunkRows) {
      const chunk = upserts.slice(start, start + this.chunkRows);
      await this.post({ type: 'pool-rows', runId: model.runId, upserts: chunk, removed: start === 0 ? removed : [], total });
    }
  }

  private async postDetails(model: DashboardRunModel, everything = false): Promise<void> {
    await this.post({ type: 'run-header', runId: model.runId, header: model.header() });
    const metrics = everything ? model.allMetrics() : model.takeMetrics();
    if (metrics) await this.post({ type: 'metrics', runId: model.runId, ...metrics });
    const problems = everything ? model.allProblems() : model.takeProblems();
    for (const message of problems) this.options.log.warn(`run ${model.runId}: ${message}`);
    if (problems.length) await this.post({ type: 'problems', runId: model.runId, messages: problems });
  }

  private async openItem(message: WebviewMessageOf<'open-item'>): Promise<void> {
    const model = this.modelFor(message.runId);
    const reply = { type: 'item-detail', runId: message.runId, requestId: message.requestId, itemId: message.itemId } as const;
    if (!model) {
      await this.post({ ...reply, detail: null, error: `run ${message.runId} is no longer shown` });
      return;
    }
    try {
      await this.post({ ...reply, detail: await model.detail(message.itemId), error: null });
    } catch (error) {
      await this.post({ ...reply, detail: null, error: (error as Error).message });
    }
  }

  private async decide(message: WebviewMessageOf<'decide'>): Promise<void> {
    const model = this.modelFor(message.runId);
    const feed = this.feed;
    if (!model || !feed) {
      await this.reply(message.requestId, 0, false, [`run ${message.runId} is no longer shown`]);
      return;
    }
    const ids = [...new Set(message.itemIds)];
    const unknown = ids.filter((id) => !model.has(id));
    const known = ids.filter((id) => model.has(id));
    const errors = unknown.map((id) => `no item ${id} in run ${message.runId}`);
    if (known.length > 1) {
      const verb = ACTION_VERBS[message.action];
      const scope = message.scope ? ` (${message.scope})` : '';
      const confirmed = await this.options.ui.confirm(
        `${verb} ${known.length.toLocaleString('en-US')} items of run ${message.runId}${scope}? Each becomes a line in decisions.jsonl.`,
        `${verb} ${known.length.toLocaleString('en-US')}`,
      );
      if (!confirmed) {
        await this.reply(message.requestId, 0, true, errors);
        return;
      }
    }
    let written = 0;
    let cancelled = false;
    // Each decision is its own durable append (the run store's contract), so a large bulk action takes a
    // while: it shows progress and can be cancelled, keeping what was written.
    await this.options.ui.withProgress(`SeRL: ${ACTION_VERBS[message.action].toLowerCase()} ${known.length} items`, known.length, async (step) => {
      for (const itemId of known) {
        try {
          await feed.decide({ type: message.action, item_id: itemId });
          written += 1;
        } catch (error) {
          errors.push(`${itemId}: ${(error as Error).message}`);
        }
        if (step()) {
          cancelled = written + errors.length < known.length;
          break;
        }
      }
    });
    if (errors.length) this.options.log.error(`dashboard: ${message.action}: ${errors.join('; ')}`);
    await this.reply(message.requestId, written, cancelled, errors);
  }

  private async relabel(message: WebviewMessageOf<'relabel'>): Promise<void> {
    const model = this.modelFor(message.runId);
    const feed = this.feed;
    const row = model?.row(message.itemId);
    if (!model || !feed || !row) {
      await this.reply(message.requestId, 0, false, [`no item ${message.itemId} in the shown run`]);
      return;
    }
    const answer = (await this.options.ui.askAnswer(row.id, row.text, row.label ?? row.majority))?.trim();
    if (!answer) {
      await this.reply(message.requestId, 0, true, []);
      return;
    }
    try {
      await feed.decide({ type: 'relabel', item_id: row.id, answer });
      await this.reply(message.requestId, 1, false, []);
    } catch (error) {
      this.options.log.error(`dashboard: relabel ${row.id}: ${(error as Error).message}`);
      await this.reply(message.requestId, 0, false, [(error as Error).message]);
    }
  }

  private modelFor(runId: string): DashboardRunModel | null {
    return this.model?.runId === runId ? this.model : null;
  }

  private async reply(requestId: number, written: number, cancelled: boolean, errors: string[]): Promise<void> {
    await this.post({ type: 'decision-result', requestId, written, cancelled, errors });
  }

  private async post(message: HostMessage): Promise<void> {
    if (this.disposed) return;
    try {
      await this.options.post(message);
    } catch (error) {
      this.options.log.warn(`dashboard: could not post ${message.type}: ${(error as Error).message}`);
    }
  }
}

const ACTION_VERBS: Record<DecisionAction, string> = { accept: 'Accept', veto: 'Veto' };
