// Exact and near duplicates across every seed file the server knows, kept up to date entry by entry with
// the same answers as `validateSeeds` over all files (in URI order): an item repeating an earlier one's
// normalised text is a duplicate of the first; among the first occurrences, an item is a near duplicate
// of the most similar earlier one with ROUGE-L F1 above the threshold (ties: the earliest).
import { NearDuplicateIndex, type NearDuplicateMatch } from '../src/core/rouge';
import { duplicateDiagnostic, NEAR_DUPLICATE_MAX_CHARS, nearDuplicateDiagnostic, type Diagnostic, type OtherItem } from '../src/core/validate';
import type { SeedDocument, SeedEntry } from './seedDocument';

export interface NearLink {
  other: SeedEntry;
  score: number;
}

/** The entries sharing one exact-duplicate key, and the first of them in file order (null once all are gone). */
export interface DuplicateGroup {
  readonly key: string;
  members: SeedEntry[];
  first: SeedEntry | null;
}

/**
 * The near-duplicate join a rebuild leaves to its caller: every first occurrence's instruction, in file
 * order. The caller runs `nearestEarlierAbove` (in process, or split over worker threads) and hands the
 * answer to `completeJoin`; until then only the near-duplicate findings are missing.
 */
export interface NearJoinRequest {
  readonly texts: readonly string[];
  readonly threshold: number;
}

interface PendingJoin extends NearJoinRequest {
  readonly entries: readonly SeedEntry[];
}

/** With deferNearWork, an edit still fills the index at once when at most this many entries are left. */
const FILL_AT_ONCE_UP_TO = 1000;

/** Whether an entry takes part in the near-duplicate search (see NEAR_DUPLICATE_MAX_CHARS). */
function searchable(entry: SeedEntry): boolean {
  return entry.instruction!.length <= NEAR_DUPLICATE_MAX_CHARS;
}

/** Order of items across files: by document URI, then position. */
export function compareEntries(a: SeedEntry, b: SeedEntry): number {
  if (a.doc === b.doc) return a.index - b.index;
  return a.doc.uri < b.doc.uri ? -1 : 1;
}

export class DuplicateTracker {
  private readonly groups = new Map<string, DuplicateGroup>();
  private index: NearDuplicateIndex<SeedEntry>;
  /** First occurrences not yet in the index: it is filled in the background after a rebuild. */
  private unindexed: SeedEntry[] = [];
  /** The join the near-duplicate state waits for, or null. */
  private join: PendingJoin | null = null;
  /**
   * Near-duplicate work that needs the complete index: first occurrences whose best earlier match must be
   * searched again, and new first occurrences, which may also be the best earlier match of later items.
   * Done at once by `update` unless `deferNearWork`; else when the join is in and the index complete.
   */
  private readonly dirty = new Set<SeedEntry>();
  private readonly arrivals = new Set<SeedEntry>();

  /**
   * @param deferNearWork leave near-duplicate updates that need the similarity index until it is complete
   *   (a server filling it in the background); false: `update` fills it at once and is always exact.
   */
  constructor(
    readonly threshold: number,
    private readonly deferNearWork = false,
  ) {
    this.index = this.newIndex();
  }

  private newIndex(): NearDuplicateIndex<SeedEntry> {
    return new NearDuplicateIndex<SeedEntry>({ minThreshold: Math.min(this.threshold, 0.5) });
  }

  get indexComplete(): boolean {
    return this.unindexed.length === 0;
  }

  /** Whether fillIndex has work: the join is in, and the index is incomplete or updates wait for it. */
  get waitingForIndex(): boolean {
    return this.join === null && (!this.indexComplete || this.dirty.size > 0 || this.arrivals.size > 0);
  }

  /** Whether near-duplicate findings are still missing (a join running, or updates waiting for the index). */
  get nearPending(): boolean {
    return this.join !== null || this.dirty.size > 0 || this.arrivals.size > 0;
  }

  /**
   * Recomputes the exact duplicates from `entries` (every entry of every document, in file order) and
   * returns the near-duplicate join to run (null at threshold 1, where there is none): a batch join is far
   * cheaper than item-by-item queries. The similarity index that later edits need is filled by
   * `fillIndex` once the join is complete.
   */
  rebuild(entries: Iterable<SeedEntry>): NearJoinRequest | null {
    this.groups.clear();
    this.index = this.newIndex();
    this.dirty.clear();
    this.arrivals.clear();
    const distinct: SeedEntry[] = [];
    for (const entry of entries) {
      entry.distinct = false;
      entry.handle = -1;
      entry.near = null;
      entry.nearOf = null;
      entry.group = null;
      const key = entry.key;
      if (key === null) continue;
      const group = this.groups.get(key);
      if (group !== undefined) {
        group.members.push(entry);
        entry.group = group;
        continue;
      }
      entry.group = { key, members: [entry], first: entry };
      this.groups.set(key, entry.group);
      entry.distinct = true;
      if (searchable(entry)) distinct.push(entry);
    }
    if (this.threshold >= 1) {
      this.join = null;
      this.unindexed = distinct.reverse();
      return null;
    }
    this.unindexed = [];
    this.join = { entries: distinct, texts: distinct.map((entry) => entry.instruction!), threshold: this.threshold };
    return this.join;
  }

  /**
   * Takes the answer of `nearestEarlierAbove(join.texts, join.threshold)`; ignored when a later rebuild
   * replaced the join. Edits made meanwhile are applied on top (the answer links entries, not lines, so it
   * stays valid for the entries that are still first occurrences). Returns the documents to re-publish.
   */
  completeJoin(join: NearJoinRequest, matches: readonly (NearDuplicateMatch<number> | null)[]): Set<SeedDocument> {
    const affected = new Set<SeedDocument>();
    if (join !== this.join) return affected;
    const { entries } = this.join;
    this.join = null;
    matches.forEach((match, k) => {
      const entry = entries[k]!;
      if (match === null || !entry.distinct) return;
      const other = entries[match.ref]!;
      if (other.distinct) {
        this.link(entry, other, match.score);
        affected.add(entry.doc);
      } else {
        this.dirty.add(entry);
      }
    });
    this.unindexed = [...entries].reverse();
    this.settle(affected);
    return affected;
  }

  /**
   * Adds first occurrences to the index until `deadline` (performance.now()); once it is complete, does the
   * near-duplicate work left waiting for it, adding the documents whose findings changed to `affected`.
   * Returns whether the index is complete.
   */
  fillIndex(deadline = Infinity, affected = new Set<SeedDocument>()): boolean {
    if (this.join !== null || !this.indexUntil(deadline)) return false;
    this.settle(affected);
    return true;
  }

  private indexUntil(deadline: number): boolean {
    while (this.unindexed.length > 0 && performance.now() < deadline) {
      const entry = this.unindexed.pop()!;
      if (entry.distinct && entry.handle < 0) entry.handle = this.index.add(entry.instruction!, entry);
    }
    return this.unindexed.length === 0;
  }

  /**
   * Applies an edit: `removed` entries are gone, `added` ones are new. Returns the documents whose
   * duplicate findings changed (besides those of the added entries).
   */
  update(removed: readonly SeedEntry[], added: readonly SeedEntry[]): Set<SeedDocument> {
    const affected = new Set<SeedDocument>();
    const touched = new Set<DuplicateGroup>();
    for (const entry of removed) {
      const group = entry.group;
      if (group === null) continue;
      group.members.splice(group.members.indexOf(entry), 1);
      entry.group = null;
      touched.add(group);
    }
    for (const entry of added) {
      const key = entry.key;
      if (key === null) continue;
      let group = this.groups.get(key);
      if (group === undefined) this.groups.set(key, (group = { key, members: [], first: null }));
      group.members.push(entry);
      entry.group = group;
      touched.add(group);
    }

    const gone: SeedEntry[] = [];
    const arrived: SeedEntry[] = [];
    for (const group of touched) {
      let first: SeedEntry | null = null;
      for (const member of group.members) if (first === null || compareEntries(member, first) < 0) first = member;
      if (first === group.first) continue;
      // Every duplicate of the group names its first occurrence.
      for (const member of group.members) affected.add(member.doc);
      if (group.first !== null) gone.push(group.first);
      if (first !== null) arrived.push(first);
      group.first = first;
      if (first === null) this.groups.delete(group.key);
    }

    for (const entry of gone) {
      entry.distinct = false;
      if (entry.handle >= 0) this.index.remove(entry.handle);
      entry.handle = -1;
      this.unlink(entry, affected);
      this.dirty.delete(entry);
      this.arrivals.delete(entry);
      // Items naming it lose that finding now; their next best match is searched with the rest.
      for (const dependent of entry.nearOf ?? []) {
        dependent.near = null;
        affected.add(dependent.doc);
        this.dirty.add(dependent);
      }
      entry.nearOf = null;
    }
    for (const entry of arrived) {
      entry.distinct = true;
      if (!searchable(entry)) continue;
      this.arrivals.add(entry);
      this.dirty.add(entry);
    }
    // A small rest of the index is filled at once, so that small workspaces never see a partial answer.
    if (!this.deferNearWork || this.unindexed.length <= FILL_AT_ONCE_UP_TO) this.fillIndex(Infinity, affected);
    return affected;
  }

  /** The waiting near-duplicate work, done against the complete index (the caller checked it is). */
  private settle(affected: Set<SeedDocument>): void {
    if (this.join !== null || !this.indexComplete || (this.dirty.size === 0 && this.arrivals.size === 0)) return;
    const arrivals = [...this.arrivals];
    const dirty = new Set(this.dirty);
    this.arrivals.clear();
    this.dirty.clear();
    for (const entry of arrivals) if (entry.handle < 0) entry.handle = this.index.add(entry.instruction!, entry);
    if (this.threshold >= 1) return;
    // A new first occurrence may be the best earlier match of later items. Its matches also give its own
    // best earlier one below, so each entry's matches are searched once.
    const matchesOf = new Map<SeedEntry, NearDuplicateMatch<SeedEntry>[]>();
    for (const entry of arrivals) {
      const matches = this.matchesAbove(entry);
      matchesOf.set(entry, matches);
      for (const { ref: later, score } of matches) {
        if (dirty.has(later) || compareEntries(entry, later) > 0) continue;
        if (later.near === null || score > later.near.score || (score === later.near.score && compareEntries(entry, later.near.other) < 0)) {
          this.unlink(later, affected);
          this.link(later, entry, score);
          affected.add(later.doc);
        }
      }
    }
    for (const entry of dirty) {
      if (!entry.distinct) continue;
      let best: NearLink | null = null;
      for (const { ref: other, score } of matchesOf.get(entry) ?? this.matchesAbove(entry)) {
        if (compareEntries(other, entry) >= 0) continue;
        if (best === null || score > best.score || (score === best.score && compareEntries(other, best.other) < 0)) best = { other, score };
      }
      this.unlink(entry, affected);
      if (best !== null) this.link(entry, best.other, best.score);
      affected.add(entry.doc);
    }
  }

  /** Documents with findings that name a line of `doc` (refreshed when its lines move). */
  documentsNaming(doc: SeedDocument): Set<SeedDocument> {
    const naming = new Set<SeedDocument>();
    for (const entry of doc.entries) {
      if (!entry.distinct) continue;
      for (const dependent of entry.nearOf ?? []) naming.add(dependent.doc);
      for (const member of entry.group?.members ?? []) naming.add(member.doc);
    }
    naming.delete(doc);
    return naming;
  }

  /** The duplicate or near-duplicate finding on an entry, at current positions. */
  diagnosticFor(entry: SeedEntry): Diagnostic | null {
    const first = entry.group?.first;
    if (first != null && first !== entry) return duplicateDiagnostic(entry.instructionRange(), this.otherItem(first, entry));
    if (entry.near !== null) return nearDuplicateDiagnostic(entry.instructionRange(), this.otherItem(entry.near.other, entry), entry.near.score, this.threshold);
    return null;
  }

  /** The first occurrence an exact duplicate repeats (null when the entry is one). */
  firstOccurrence(entry: SeedEntry): SeedEntry | null {
    const first = entry.group?.first ?? null;
    return first === entry ? null : first;
  }

  /** The most similar other first occurrence at any score (for hover), null when none, 'pending' during the join. */
  nearestNeighbour(entry: SeedEntry): NearLink | null | 'pending' {
    if (this.nearPending) return 'pending';
    // Waiting work is left to the next fillIndex, whose caller publishes what it changes.
    this.indexUntil(Infinity);
    const text = entry.instruction;
    if (text == null || !searchable(entry)) return null;
    const own = entry.distinct ? entry.handle : -1;
    if (own >= 0) this.index.remove(own);
    try {
      const match = this.index.nearest(text);
      return match === null ? null : { other: match.ref, score: match.score };
    } finally {
      if (own >= 0) entry.handle = this.index.add(text, entry);
    }
  }

  otherItem(other: SeedEntry, of: SeedEntry): OtherItem {
    const range = other.instructionRange();
    return other.doc === of.doc ? { range } : { range, file: other.doc.uri, fileName: other.doc.name };
  }

  private link(entry: SeedEntry, other: SeedEntry, score: number): void {
    entry.near = { other, score };
    (other.nearOf ??= new Set()).add(entry);
  }

  private unlink(entry: SeedEntry, affected: Set<SeedDocument>): void {
    if (entry.near === null) return;
    entry.near.other.nearOf?.delete(entry);
    entry.near = null;
    affected.add(entry.doc);
  }

  /**
   * Every first occurrence other than `entry` scoring above the threshold against it. The index answers
   * only the best match, so each found one is taken out until none is left, then all are put back.
   */
  private matchesAbove(entry: SeedEntry): NearDuplicateMatch<SeedEntry>[] {
    const text = entry.instruction!;
    const found: NearDuplicateMatch<SeedEntry>[] = [];
    const own = entry.handle;
    if (own >= 0) this.index.remove(own);
    for (let match = this.index.nearestAbove(text, this.threshold); match !== null; match = this.index.nearestAbove(text, this.threshold)) {
      found.push(match);
      this.index.remove(match.ref.handle);
    }
    for (const { ref } of found) ref.handle = this.index.add(ref.instruction!, ref);
    if (own >= 0) entry.handle = this.index.add(text, entry);
    return found;
  }
}
