// Every seed file the server knows — open in the client or read from the workspace folders — with their
// shared duplicate state. Edits flow in as entry changes; diagnostics and summaries are assembled from the
// per-entry caches, so nothing is recomputed for lines an edit did not touch.
import { nearestEarlierAbove, type NearDuplicateMatch } from '../src/core/rouge';
import { declared, DEFAULT_NEAR_DUPLICATE_THRESHOLD, DIAGNOSTIC_CODES, missingAnswerDiagnostic, type Diagnostic, type DiagnosticCode } from '../src/core/validate';
import type { SeedFileSummary } from '../src/protocol/seedServer';
import { DuplicateTracker } from './duplicates';
import { SeedDocument, shiftDiagnostic, type EntryChanges, type SeedEntry } from './seedDocument';

/** Above this many changed entries, rebuilding with the batch join is cheaper than updating entry by entry. */
const REBUILD_ABOVE = 200;

/** Joins of fewer texts run in place: they take milliseconds, less than starting worker threads. */
const OFF_THREAD_JOIN_FROM = 2000;

/** Runs `nearestEarlierAbove(texts, threshold)` off the caller's thread (nearJoin.ts); rejects once aborted. */
export type NearJoinRunner = (texts: readonly string[], threshold: number, signal: AbortSignal) => Promise<(NearDuplicateMatch<number> | null)[]>;

export interface SeedWorkspaceOptions {
  /**
   * Runs large near-duplicate joins off the thread. Until one is in, every other finding is available and
   * near-duplicate findings are missing; edits meanwhile are applied on top of its answer. Without it,
   * joins run in place and every answer is complete when a method returns.
   */
  runJoin?: NearJoinRunner;
  /**
   * When to start an off-thread join (default: at once). Starting the threads copies every text, so a
   * server starts it after publishing the findings it already has.
   */
  startJoin?: (start: () => void) => void;
  /** Joins of at least this many texts go to runJoin (default 2000). */
  offThreadJoinFrom?: number;
  /** The documents whose findings changed when an off-thread join came in. */
  onJoinComplete?: (affected: Set<SeedDocument>) => void;
  /** An off-thread join failed; it is then run in place. */
  onJoinError?: (error: unknown) => void;
}

export class SeedWorkspace {
  readonly documents = new Map<string, SeedDocument>();
  tracker: DuplicateTracker;
  private runningJoin: AbortController | null = null;

  constructor(
    threshold = DEFAULT_NEAR_DUPLICATE_THRESHOLD,
    private readonly options: SeedWorkspaceOptions = {},
  ) {
    this.tracker = this.newTracker(threshold);
  }

  private newTracker(threshold: number): DuplicateTracker {
    // Off-thread joins come with a background index fill: near-duplicate updates wait for the index.
    return new DuplicateTracker(threshold, this.options.runJoin !== undefined);
  }

  get threshold(): number {
    return this.tracker.threshold;
  }

  /** Starts over with another threshold (the whole near-duplicate state depends on it). */
  setThreshold(threshold: number): void {
    this.tracker = this.newTracker(threshold);
    this.rebuild();
  }

  /** Whether near-duplicate findings are still being computed (an off-thread join, or work waiting for the index). */
  get nearDuplicatesPending(): boolean {
    return this.tracker.nearPending;
  }

  rebuild(): void {
    this.runningJoin?.abort();
    this.runningJoin = null;
    const join = this.tracker.rebuild(this.allEntries());
    if (join === null) return;
    const { runJoin } = this.options;
    if (runJoin === undefined || join.texts.length < (this.options.offThreadJoinFrom ?? OFF_THREAD_JOIN_FROM)) {
      this.tracker.completeJoin(join, nearestEarlierAbove(join.texts, join.threshold));
      return;
    }
    const running = (this.runningJoin = new AbortController());
    const tracker = this.tracker;
    const complete = (matches: (NearDuplicateMatch<number> | null)[]) => {
      if (running.signal.aborted) return; // a later rebuild replaced this join
      this.runningJoin = null;
      this.options.onJoinComplete?.(this.current(tracker.completeJoin(join, matches)));
    };
    const start = () => {
      if (running.signal.aborted) return;
      runJoin(join.texts, join.threshold, running.signal).then(complete, (error: unknown) => {
        if (running.signal.aborted) return;
        this.options.onJoinError?.(error);
        complete(nearestEarlierAbove(join.texts, join.threshold));
      });
    };
    if (this.options.startJoin === undefined) start();
    else this.options.startJoin(start);
  }

  /** Stops an off-thread join (the server is shutting down). */
  dispose(): void {
    this.runningJoin?.abort();
    this.runningJoin = null;
  }

  /**
   * Fills the similarity index until `deadline` (performance.now()) and, once it is complete, does the
   * near-duplicate updates that waited for it. Returns whether it is complete, and the documents to re-publish.
   */
  fillIndex(deadline = Infinity): { complete: boolean; affected: Set<SeedDocument> } {
    const affected = new Set<SeedDocument>();
    const complete = this.tracker.fillIndex(deadline, affected);
    return { complete, affected: this.current(affected) };
  }

  /** The documents of `docs` still in the workspace. */
  private current(docs: Set<SeedDocument>): Set<SeedDocument> {
    for (const doc of docs) if (this.documents.get(doc.uri) !== doc) docs.delete(doc);
    return docs;
  }

  /** Every entry in file order (documents by URI), as the duplicate state defines "earlier". */
  private *allEntries() {
    const docs = [...this.documents.values()].sort((a, b) => (a.uri < b.uri ? -1 : a.uri > b.uri ? 1 : 0));
    for (const doc of docs) yield* doc.entries;
  }

  /**
   * Adds documents (or replaces those with the same URI) in one batch; returns every document whose
   * diagnostics may have changed.
   */
  addDocuments(docs: readonly SeedDocument[]): Set<SeedDocument> {
    // Appended one by one: spreading a large file's entries as arguments would overflow the stack.
    const removed: SeedEntry[] = [];
    const added: SeedEntry[] = [];
    for (const doc of docs) {
      const previous = this.documents.get(doc.uri);
      if (previous !== undefined) for (const entry of previous.entries) removed.push(entry);
      this.documents.set(doc.uri, doc);
      for (const entry of doc.entries) added.push(entry);
    }
    return this.applyEntryChanges(docs, { removed, added, moved: true });
  }

  removeDocument(uri: string): Set<SeedDocument> {
    const doc = this.documents.get(uri);
    if (doc === undefined) return new Set();
    this.documents.delete(uri);
    const affected = this.applyEntryChanges([], { removed: doc.entries, added: [], moved: true });
    affected.delete(doc);
    return affected;
  }

  /** Applies changes made to `docs`' entries; returns the documents to re-publish. */
  applyEntryChanges(docs: readonly SeedDocument[], changes: EntryChanges): Set<SeedDocument> {
    let affected: Set<SeedDocument>;
    if (changes.removed.length + changes.added.length > REBUILD_ABOVE) {
      this.rebuild();
      affected = new Set(this.documents.values());
    } else {
      // Lines that move change the line numbers that findings in other files name.
      const naming = changes.moved ? docs.flatMap((doc) => [...this.tracker.documentsNaming(doc)]) : [];
      affected = this.tracker.update(changes.removed, changes.added);
      naming.forEach((doc) => affected.add(doc));
    }
    docs.forEach((doc) => affected.add(doc));
    return this.current(affected);
  }

  /** A document's diagnostics, sorted by position. */
  diagnostics(doc: SeedDocument): Diagnostic[] {
    const diagnostics: Diagnostic[] = [...doc.documentProblems];
    let answered = 0;
    let items = 0;
    for (const entry of doc.entries) {
      if (!entry.isItem) continue;
      items++;
      if (entry.answered) answered++;
    }
    const answersDeclared = declared(answered, items);
    for (const entry of doc.entries) {
      const missing = answersDeclared && entry.isItem && !entry.answered;
      const duplicate = entry.key === null ? null : this.tracker.diagnosticFor(entry);
      // Most entries have no finding: nothing is allocated for them.
      if (entry.local.length === 0 && !missing && duplicate === null) continue;
      const own: Diagnostic[] = entry.local.map((local) => shiftDiagnostic(local, entry.shift));
      if (missing) {
        own.push(missingAnswerDiagnostic(entry.itemRange(), answered, items));
      }
      if (duplicate !== null) own.push(duplicate);
      if (own.length > 1) own.sort(byPositionThenCode);
      for (const diagnostic of own) diagnostics.push(diagnostic);
    }
    // A JSONL entry's findings are all on its line, so entry order is position order; a .json document's
    // items span lines and its document problems lie anywhere.
    return doc.format === 'jsonl' ? diagnostics : diagnostics.sort(byPositionThenCode);
  }

  summary(doc: SeedDocument, open: boolean): SeedFileSummary {
    const bySeverity = { error: 0, warning: 0, information: 0, hint: 0 };
    const byCode: Partial<Record<DiagnosticCode, number>> = {};
    for (const diagnostic of this.diagnostics(doc)) {
      bySeverity[diagnostic.severity]++;
      byCode[diagnostic.code] = (byCode[diagnostic.code] ?? 0) + 1;
    }
    const items = doc.entries.filter((entry) => entry.isItem);
    return {
      uri: doc.uri,
      open,
      lines: doc.lineCount,
      items: items.length,
      answered: items.filter((entry) => entry.answered).length,
      bySeverity,
      byCode,
      duplicates: byCode.duplicate ?? 0,
      nearDuplicates: byCode['near-duplicate'] ?? 0,
    };
  }
}

/** Position, then code: a total order, so the same findings always come out in the same order. */
export function byPositionThenCode(a: Diagnostic, b: Diagnostic): number {
  return (
    a.range.start.line - b.range.start.line ||
    a.range.start.character - b.range.start.character ||
    (a.code < b.code ? -1 : a.code > b.code ? 1 : 0)
  );
}

export const KNOWN_DIAGNOSTIC_CODES = Object.keys(DIAGNOSTIC_CODES);
