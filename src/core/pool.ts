// The run's materialised state, folded from its two logs: every item with its verdicts and the human
// decisions on it, the step timeline, checkpoints, alerts and errors. The controller folds the logs to
// resume; the dashboard folds them (incrementally, as a follower reads new lines) to show the pool.
// No I/O here: the caller reads the logs and hands over validated records with their locations.
//
// Resume: a `run-started` with `resumed_from.step = s` rolls the timeline back to step s. Items generated
// for later steps become `superseded` (kept for history, out of the pool), training of later steps is
// undone, and later step metrics and checkpoints leave the timeline. Decisions are never rolled back:
// a veto stays a veto, even of a superseded item, since it judges the text.
//
// Decisions join items by id in either order (a follower may see a decision before the item's events);
// among accept and veto of one item the latest in decisions.jsonl wins, as does the latest relabel.
import type {
  Alert,
  Checkpoint,
  Decision,
  ItemFilterReason,
  ItemOrigin,
  ItemVoted,
  LogLocation,
  LogRecord,
  Neighbour,
  RewardSource,
  RunError,
  RunEvent,
  RunFinished,
  ProbeSlice,
  RunStarted,
  StepMetrics,
} from '../protocol/events';
import { formatLogLocation } from '../protocol/events';

export interface VoteSummary {
  step: number;
  reward_source: RewardSource;
  majority: string | null;
  agreement: number;
  groups: ItemVoted['groups'];
  difficulty: ItemVoted['difficulty'];
  nearest: Neighbour | null;
  responseCount: number;
  /** The `item-voted` line, to re-read the responses (kept out of memory: tens of kB per item). */
  responsesAt: LogLocation;
}

export interface ReviewDecision {
  decision: 'accepted' | 'vetoed';
  reason: string | null;
  decision_id: string;
  ts: string;
}

export interface Relabel {
  answer: string;
  decision_id: string;
  ts: string;
}

export interface PoolItem {
  item_id: string;
  /** The RL step the item was generated for. */
  step: number;
  text: string;
  origin: ItemOrigin;
  /** The session (0: the first `run-started`) that generated it. */
  session: number;
  generatedAt: LogLocation;
  filtered: { reason: ItemFilterReason; detail: string; nearest: Neighbour | null } | null;
  vote: VoteSummary | null;
  trained: { step: number; reward_source: RewardSource } | null;
  /** Generated for a step that a resume rolled back: history only. */
  superseded: boolean;
  review: ReviewDecision | null;
  label: Relabel | null;
}

/** Where an item stands in the pipeline (DESIGN.md "Human in the loop"), before human decisions. */
export type ItemStage = 'candidate' | 'filtered' | 'too-easy' | 'too-hard' | 'kept' | 'trained';

export function itemStage(item: PoolItem): ItemStage {
  if (item.trained) return 'trained';
  if (item.filtered) return 'filtered';
  if (item.vote) return item.vote.difficulty.status;
  return 'candidate';
}

export interface PoolProblem {
  location: LogLocation;
  /** "file:line: what is inconsistent". */
  message: string;
}

export interface ResumePoint {
  /** Steps done in the state resumed from (0: from the start). */
  step: number;
  checkpoint: Checkpoint | null;
  /** Completed steps after the checkpoint, which the resumed run redoes. */
  redoneSteps: number;
  /** The number the resumed session gets (for item ids: itemIdFor). */
  session: number;
}

export class RunPool {
  /** In generation order. */
  readonly items = new Map<string, PoolItem>();
  /** The live timeline's step metrics, by step. */
  readonly steps = new Map<number, StepMetrics>();
  readonly sessions: RunStarted[] = [];
  /** The live timeline's checkpoints, oldest first. */
  checkpoints: Checkpoint[] = [];
  readonly alerts: Alert[] = [];
  readonly errors: RunError[] = [];
  /** The collapse monitor's probe, fixed by the first session that ran one. */
  probeSlice: ProbeSlice | null = null;
  /** The last session's end; null while it runs (or if it was killed). */
  finished: RunFinished | null = null;
  readonly problems: PoolProblem[] = [];
  private readonly decisionLocations = new Map<string, LogLocation>();
  /** Decisions on items whose events have not been seen (yet). */
  private readonly waitingDecisions = new Map<string, LogRecord<Decision>[]>();

  applyEvent({ value: event, location }: LogRecord<RunEvent>): void {
    switch (event.type) {
      case 'run-started':
        this.startSession(event, location);
        return;
      case 'item-generated': {
        const existing = this.items.get(event.item_id);
        if (existing) {
          this.problem(location, `item ${event.item_id} generated again (first at ${formatLogLocation(existing.generatedAt)}); ignored`);
          return;
        }
        const item: PoolItem = {
          item_id: event.item_id,
          step: event.step,
          text: event.text,
          origin: event.origin,
          session: Math.max(0, this.sessions.length - 1),
          generatedAt: location,
          filtered: null,
          vote: null,
          trained: null,
          superseded: false,
          review: null,
          label: null,
        };
        this.items.set(item.item_id, item);
        for (const decision of this.waitingDecisions.get(item.item_id) ?? []) this.decide(item, decision.value);
        this.waitingDecisions.delete(item.item_id);
        return;
      }
      case 'item-filtered': {
        const item = this.knownItem(event.item_id, location);
        if (item) item.filtered = { reason: event.reason, detail: event.detail, nearest: event.nearest ?? null };
        return;
      }
      case 'item-voted': {
        const item = this.knownItem(event.item_id, location);
        if (!item) return;
        item.vote = {
          step: event.step,
          reward_source: event.reward_source,
          majority: event.majority,
          agreement: event.agreement,
          groups: event.groups,
          difficulty: event.difficulty,
          nearest: event.nearest ?? null,
          responseCount: event.responses.length,
          responsesAt: location,
        };
        return;
      }
      case 'item-trained': {
        const item = this.knownItem(event.item_id, location);
        if (item) item.trained = { step: event.step, reward_source: event.reward_source };
        return;
      }
      case 'step-metrics':
        if (this.steps.has(event.step)) this.problem(location, `step ${event.step} completed twice; the later metrics count`);
        this.steps.set(event.step, event);
        return;
      case 'checkpoint':
        this.checkpoints.push(event);
        return;
      case 'alert':
        this.alerts.push(event);
        return;
      case 'probe-slice':
        if (this.probeSlice) this.problem(location, 'probe slice fixed again; the first one counts');
        else this.probeSlice = event;
        return;
      case 'error':
        this.errors.push(event);
        return;
      case 'run-finished':
        this.finished = event;
        return;
    }
  }

  applyDecision(record: LogRecord<Decision>): void {
    const { value: decision, location } = record;
    const first = this.decisionLocations.get(decision.decision_id);
    if (first) {
      this.problem(location, `decision ${decision.decision_id} repeats ${formatLogLocation(first)}; counted once`);
      return;
    }
    this.decisionLocations.set(decision.decision_id, location);
    const item = this.items.get(decision.item_id);
    if (item) {
      this.decide(item, decision);
      return;
    }
    const waiting = this.waitingDecisions.get(decision.item_id);
    if (waiting) waiting.push(record);
    else this.waitingDecisions.set(decision.item_id, [record]);
  }

  /** Steps completed on the live timeline (0: none). */
  get lastCompletedStep(): number {
    let last = 0;
    for (const step of this.steps.keys()) last = Math.max(last, step);
    return last;
  }

  get lastCheckpoint(): Checkpoint | null {
    return this.checkpoints.at(-1) ?? null;
  }

  /** Where a resumed run continues: the last checkpoint, or the start when there is none. */
  resumePoint(): ResumePoint {
    const checkpoint = this.lastCheckpoint;
    const step = checkpoint?.step ?? 0;
    return { step, checkpoint, redoneSteps: this.lastCompletedStep - step, session: this.sessions.length };
  }

  /** Live items, in generation order. */
  liveItems(): PoolItem[] {
    return [...this.items.values()].filter((item) => !item.superseded);
  }

  /**
   * Generated instructions that may serve as few-shot exemplars: kept (trained or not) and not vetoed; in
   * review mode only once accepted.
   */
  fewShotItems(): PoolItem[] {
    const review = this.sessions.at(-1)?.config.curation === 'review';
    return this.liveItems().filter((item) => {
      const stage = itemStage(item);
      if (item.origin.kind !== 'self-instruct' || (stage !== 'kept' && stage !== 'trained')) return false;
      return review ? item.review?.decision === 'accepted' : item.review?.decision !== 'vetoed';
    });
  }

  /** Kept items no one has accepted or vetoed yet, and not trained (review mode's queue). */
  reviewQueue(): PoolItem[] {
    return this.liveItems().filter((item) => itemStage(item) === 'kept' && item.review === null);
  }

  /** Every vetoed item, superseded ones included: new candidates too similar to any of them are filtered. */
  vetoedItems(): PoolItem[] {
    return [...this.items.values()].filter((item) => item.review?.decision === 'vetoed');
  }

  acceptedItems(): PoolItem[] {
    return [...this.items.values()].filter((item) => item.review?.decision === 'accepted');
  }

  relabelledItems(): PoolItem[] {
    return [...this.items.values()].filter((item) => item.label !== null);
  }

  /** Decisions on item ids that never appeared in events.jsonl. */
  orphanDecisions(): LogRecord<Decision>[] {
    return [...this.waitingDecisions.values()].flat();
  }

  /** Live items per stage. */
  stageCounts(): Record<ItemStage, number> {
    const counts: Record<ItemStage, number> = { candidate: 0, filtered: 0, 'too-easy': 0, 'too-hard': 0, kept: 0, trained: 0 };
    for (const item of this.liveItems()) counts[itemStage(item)] += 1;
    return counts;
  }

  private startSession(event: RunStarted, location: LogLocation): void {
    const resumed = event.resumed_from;
    if (this.sessions.length > 0 && !resumed) {
      this.problem(location, 'run-started again without resumed_from; earlier steps are kept as they are');
    }
    this.sessions.push(event);
    this.finished = null;
    if (!resumed) return;
    if (resumed.step > this.lastCompletedStep) {
      this.problem(location, `resumed from step ${resumed.step} but only ${this.lastCompletedStep} steps completed`);
    }
    for (const item of this.items.values()) {
      if (item.step > resumed.step) item.superseded = true;
      if (item.trained && item.trained.step > resumed.step) item.trained = null;
    }
    for (const step of [...this.steps.keys()]) if (step > resumed.step) this.steps.delete(step);
    this.checkpoints = this.checkpoints.filter((checkpoint) => checkpoint.step <= resumed.step);
  }

  private decide(item: PoolItem, decision: Decision): void {
    const stamp = { decision_id: decision.decision_id, ts: decision.ts };
    switch (decision.type) {
      case 'accept':
        item.review = { decision: 'accepted', reason: null, ...stamp };
        return;
      case 'veto':
        item.review = { decision: 'vetoed', reason: decision.reason ?? null, ...stamp };
        return;
      case 'relabel':
        item.label = { answer: decision.answer, ...stamp };
        return;
    }
  }

  private knownItem(itemId: string, location: LogLocation): PoolItem | null {
    const item = this.items.get(itemId);
    if (!item) this.problem(location, `no item-generated for item ${itemId} before this line; ignored`);
    return item ?? null;
  }

  private problem(location: LogLocation, message: string): void {
    this.problems.push({ location, message: `${formatLogLocation(location)}: ${message}` });
  }
}

/** The state of a run from its logs, as read (validated) from events.jsonl and decisions.jsonl. */
export function foldRun(events: Iterable<LogRecord<RunEvent>>, decisions: Iterable<LogRecord<Decision>>): RunPool {
  const pool = new RunPool();
  for (const event of events) pool.applyEvent(event);
  for (const decision of decisions) pool.applyDecision(decision);
  return pool;
}
