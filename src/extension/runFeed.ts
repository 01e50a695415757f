// The contract between the run manager (which owns processes and files) and the dashboard (which only
// shows runs and forwards user decisions). The run manager implements it; the dashboard consumes it.
import type { RunSummary } from '../engine/runStore.js';
import type { Decision, DecisionInput, LogRecord, RunEvent } from '../protocol/events.js';

export interface Disposable {
  dispose(): void;
}

export interface RunFeedListener {
  /** Every event already in events.jsonl first, then each batch appended later (read incrementally). */
  onEvents(events: LogRecord<RunEvent>[]): void;
  /** Likewise for decisions.jsonl. */
  onDecisions(decisions: LogRecord<Decision>[]): void;
  /** A file was replaced or truncated: drop what was built from it; the feed starts over. */
  onReset(): void;
  /** A bad line, named by file and line; it was skipped. */
  onProblem(message: string): void;
}

export interface RunFeed {
  readonly runId: string;
  readonly dir: string;
  subscribe(listener: RunFeedListener): Disposable;
  /** Appends a user decision to decisions.jsonl (the controller reads it live). */
  decide(decision: DecisionInput): Promise<Decision>;
}

export interface RunCatalog {
  /** The workspace's runs, oldest first, as last scanned. */
  list(): RunSummary[];
  onDidChange(listener: () => void): Disposable;
  feed(runId: string): RunFeed;
}
