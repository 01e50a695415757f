// Exact and near duplicates across every seed file the server knows, kept up to date entry by entry with
// the same answers as `validateSeeds` over all files (in URI order): an item repeating an earlier one's
// normalised text is a duplicate of the first; among the first occurrences, an item is a near duplicate
// of the most similar earlier one with ROUGE-L F1 above the threshold (ties: the earliest).
import { NearDuplicateIndex, nearestEarlierAbove, type NearDuplicateMatch } from '../src/core/rouge';
import { duplicateDiagnostic, instructionRange, NEAR_DUPLICATE_MAX_CHARS, nearDuplicateDiagnostic, type Diagnostic, type OtherItem } from '../src/core/validate';
import { shiftRange, type SeedDocument, type SeedEntry } from './seedDocument';

export interface NearLink {
  other: SeedEntry;
  score: number;
}

interface Group {
  members: Set<SeedEntry>;
  first: SeedEntry | null;
}

/** Whether an entry takes part in the near-duplicate search (see NEAR_DUPLICATE_MAX_CHARS). */
function searchable(entry: SeedEntry): boolean {
  return entry.item!.instruction!.length <= NEAR_DUPLICATE_MAX_CHARS;
}

/** Order of items across files: by document URI, then position. */
export function compareEntries(a: SeedEntry, b: SeedEntry): number {
  if (a.doc === b.doc) return a.index - b.index;
  return a.doc.uri < b.doc.uri ? -1 : 1;
}

/** The instruction range of an entry's item at its current line. */
export function currentInstructionRange(entry: SeedEntry): NonNullable<ReturnType<typeof instructionRange>> {
  return shiftRange(instructionRange(entry.item!), entry.shift);
}

export class DuplicateTracker {
  private readonly groups = new Map<string, Group>();
  private index: NearDuplicateIndex<SeedEntry>;
  /** First occurrences not yet in the index: it is filled in the background after a rebuild. */
  private unindexed: SeedEntry[] = [];

  constructor(readonly threshold: number) {
    this.index = this.newIndex();
  }

  private newIndex(): NearDuplicateIndex<SeedEntry> {
    return new NearDuplicateIndex<SeedEntry>({ minThreshold: Math.min(this.threshold, 0.5) });
  }

  get indexComplete(): boolean {
    return this.unindexed.length === 0;
  }

  /**
   * Recomputes everything from `entries` (every entry of every document) with the batch join, which is
   * far cheaper than item-by-item queries; the similarity index that later edits need is filled by
   * `fillIndex`, in slices, or at once by the first update.
   */
  rebuild(entries: Iterable<SeedEntry>): void {
    this.groups.clear();
    this.index = this.newIndex();
    const keyed: SeedEntry[] = [];
    for (const entry of entries) {
      entry.distinct = false;
      entry.handle = -1;
      entry.near = null;
      entry.nearOf.clear();
      if (entry.key !== null) keyed.push(entry);
    }
    keyed.sort(compareEntries);
    const distinct: SeedEntry[] = [];
    for (const entry of keyed) {
      const key = entry.key!;
      const group = this.groups.get(key);
      if (group !== undefined) {
        group.members.add(entry);
        continue;
      }
      this.groups.set(key, { members: new Set([entry]), first: entry });
      entry.distinct = true;
      if (searchable(entry)) distinct.push(entry);
    }
    if (this.threshold < 1) {
      nearestEarlierAbove(
        distinct.map((entry) => entry.item!.instruction!),
        this.threshold,
      ).forEach((match, k) => {
        if (match !== null) this.link(distinct[k]!, distinct[match.ref]!, match.score);
      });
    }
    this.unindexed = distinct.reverse();
  }

  /** Adds first occurrences to the index until `deadline` (performance.now()); true when it is complete. */
  fillIndex(deadline = Infinity): boolean {
    while (this.unindexed.length > 0 && performance.now() < deadline) {
      const entry = this.unindexed.pop()!;
      if (entry.distinct) entry.handle = this.index.add(entry.item!.instruction!, entry);
    }
    return this.unindexed.length === 0;
  }

  /**
   * Applies an edit: `removed` entries are gone, `added` ones are new. Returns the documents whose
   * duplicate findings changed (besides those of the added entries).
   */
  update(removed: readonly SeedEntry[], added: readonly SeedEntry[]): Set<SeedDocument> {
    this.fillIndex();
    const affected = new Set<SeedDocument>();
    const touched = new Set<string>();
    for (const entry of removed) {
      const key = entry.key;
      if (key === null) continue;
      this.groups.get(key)?.members.delete(entry);
      touched.add(key);
    }
    for (const entry of added) {
      const key = entry.key;
      if (key === null) continue;
      let group = this.groups.get(key);
      if (group === undefined) this.groups.set(key, (group = { members: new Set(), first: null }));
      group.members.add(entry);
      touched.add(key);
    }

    const gone: SeedEntry[] = [];
    const arrived: SeedEntry[] = [];
    for (const key of touched) {
      const group = this.groups.get(key)!;
      let first: SeedEntry | null = null;
      for (const member of group.members) if (first === null || compareEntries(member, first) < 0) first = member;
      if (first === group.first) continue;
      // Every duplicate of the group names its first occurrence.
      for (const member of group.members) affected.add(member.doc);
      if (group.first !== null) gone.push(group.first);
      if (first !== null) arrived.push(first);
      group.first = first;
      if (first === null) this.groups.delete(key);
    }

    const dirty = new Set<SeedEntry>();
    for (const entry of gone) {
      entry.distinct = false;
      if (entry.handle >= 0) this.index.remove(entry.handle);
      entry.handle = -1;
      this.unlink(entry, affected);
      for (const dependent of entry.nearOf) {
        dependent.near = null;
        dirty.add(dependent);
      }
      entry.nearOf.clear();
    }
    for (const entry of arrived) {
      entry.distinct = true;
      if (!searchable(entry)) continue;
      entry.handle = this.index.add(entry.item!.instruction!, entry);
      dirty.add(entry);
    }
    if (this.threshold >= 1) return affected;
    // A new first occurrence may be the best earlier match of later items. Its matches also give its own
    // best earlier one below, so each entry's matches are searched once.
    const matchesOf = new Map<SeedEntry, NearDuplicateMatch<SeedEntry>[]>();
    for (const entry of arrived) {
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
    return affected;
  }

  /** Documents with findings that name a line of `doc` (refreshed when its lines move). */
  documentsNaming(doc: SeedDocument): Set<SeedDocument> {
    const naming = new Set<SeedDocument>();
    for (const entry of doc.entries) {
      if (!entry.distinct) continue;
      for (const dependent of entry.nearOf) naming.add(dependent.doc);
      for (const member of this.groups.get(entry.key!)?.members ?? []) naming.add(member.doc);
    }
    naming.delete(doc);
    return naming;
  }

  /** The duplicate or near-duplicate finding on an entry, at current positions. */
  diagnosticFor(entry: SeedEntry): Diagnostic | null {
    const key = entry.key;
    if (key === null) return null;
    const first = this.groups.get(key)?.first;
    if (first !== undefined && first !== null && first !== entry) return duplicateDiagnostic(currentInstructionRange(entry), this.otherItem(first, entry));
    if (entry.near !== null) return nearDuplicateDiagnostic(currentInstructionRange(entry), this.otherItem(entry.near.other, entry), entry.near.score, this.threshold);
    return null;
  }

  /** The first occurrence an exact duplicate repeats (null when the entry is one). */
  firstOccurrence(entry: SeedEntry): SeedEntry | null {
    const first = entry.key === null ? null : (this.groups.get(entry.key)?.first ?? null);
    return first === entry ? null : first;
  }

  /** The most similar other first occurrence at any score (for hover), or null. */
  nearestNeighbour(entry: SeedEntry): NearLink | null {
    this.fillIndex();
    const text = entry.item?.instruction;
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
    const range = currentInstructionRange(other);
    return other.doc === of.doc ? { range } : { range, file: other.doc.uri, fileName: other.doc.name };
  }

  private link(entry: SeedEntry, other: SeedEntry, score: number): void {
    entry.near = { other, score };
    other.nearOf.add(entry);
  }

  private unlink(entry: SeedEntry, affected: Set<SeedDocument>): void {
    if (entry.near === null) return;
    entry.near.other.nearOf.delete(entry);
    entry.near = null;
    affected.add(entry.doc);
  }

  /**
   * Every first occurrence other than `entry` scoring above the threshold against it. The index answers
   * only the best match, so each found one is taken out until none is left, then all are put back.
   */
  private matchesAbove(entry: SeedEntry): NearDuplicateMatch<SeedEntry>[] {
    const text = entry.item!.instruction!;
    const found: NearDuplicateMatch<SeedEntry>[] = [];
    const own = entry.handle;
    if (own >= 0) this.index.remove(own);
    for (let match = this.index.nearestAbove(text, this.threshold); match !== null; match = this.index.nearestAbove(text, this.threshold)) {
      found.push(match);
      this.index.remove(match.ref.handle);
    }
    for (const { ref } of found) ref.handle = this.index.add(ref.item!.instruction!, ref);
    if (own >= 0) entry.handle = this.index.add(text, entry);
    return found;
  }
}
