// The pool table's data: every row the host sent, and the filtered, sorted view of them the table shows.
// Pure (no DOM), so it is unit-tested in Node. Sized for 100k rows: a delta of a few rows is placed by
// binary search instead of re-filtering and re-sorting everything (bench/dashboard.bench.ts measures it),
// and per-status counts are kept as rows come and go.
import type { FilterReason } from '../../src/core/filters';
import { POOL_STAGES, REVIEW_STATES, type PoolRow, type StatusFilter } from '../../src/protocol/dashboard';

export const SORT_KEYS = ['seq', 'step', 'agreement', 'status', 'text'] as const;
export type SortKey = (typeof SORT_KEYS)[number];

export const SORT_LABELS: Record<SortKey, string> = {
  seq: 'generation order',
  step: 'step',
  agreement: 'agreement',
  status: 'status',
  text: 'instruction',
};

export interface PoolQuery {
  status: StatusFilter | 'all';
  reason: FilterReason | 'all';
  /** Whitespace-separated terms, all of which must occur (case-insensitive) in the text, answer or id. */
  search: string;
  sort: SortKey;
  descending: boolean;
}

export const DEFAULT_QUERY: PoolQuery = { status: 'all', reason: 'all', search: '', sort: 'seq', descending: false };

interface Entry {
  row: PoolRow;
  /** Lowercased text, majority answer, label and id, for search and the text sort; made on first use. */
  haystack: string | null;
  statusRank: number;
}

function haystackOf(entry: Entry): string {
  entry.haystack ??= [entry.row.text, entry.row.majority ?? '', entry.row.label ?? '', entry.row.id].join('\n').toLowerCase();
  return entry.haystack;
}

function searchTerms(search: string): string[] {
  return search.toLowerCase().split(/\s+/).filter((term) => term !== '');
}

/** The status column's order: human decisions first, then the pipeline from kept back to candidates. */
const STATUS_ORDER: readonly string[] = ['vetoed', 'accepted', 'awaiting-review', ...[...POOL_STAGES].reverse()];

function entryFor(row: PoolRow): Entry {
  return { row, haystack: null, statusRank: STATUS_ORDER.indexOf(row.review ?? row.stage) };
}

export function rowMatches(row: PoolRow, query: PoolQuery): boolean {
  return entryMatches(entryFor(row), query, searchTerms(query.search));
}

function entryMatches(entry: Entry, query: PoolQuery, terms: readonly string[]): boolean {
  const { row } = entry;
  if (query.status !== 'all' && row.stage !== query.status && row.review !== query.status) return false;
  if (query.reason !== 'all' && row.reason !== query.reason) return false;
  return terms.length === 0 || terms.every((term) => haystackOf(entry).includes(term));
}

type Compare = (a: Entry, b: Entry) => number;

/** A total order for `query` (ties broken by generation order), so every row has one place in the view. */
function comparatorFor(query: PoolQuery): Compare {
  const direction = query.descending ? -1 : 1;
  const bySeq = (a: Entry, b: Entry) => a.row.seq - b.row.seq;
  let primary: Compare;
  switch (query.sort) {
    case 'seq':
      return (a, b) => direction * bySeq(a, b);
    case 'step':
      primary = (a, b) => a.row.step - b.row.step;
      break;
    case 'agreement':
      // Items without a vote sort below every voted item.
      primary = (a, b) => (a.row.agreement ?? -1) - (b.row.agreement ?? -1);
      break;
    case 'status':
      primary = (a, b) => a.statusRank - b.statusRank;
      break;
    case 'text':
      primary = (a, b) => {
        const [x, y] = [haystackOf(a), haystackOf(b)];
        return x < y ? -1 : x > y ? 1 : 0;
      };
      break;
  }
  return (a, b) => direction * primary(a, b) || direction * bySeq(a, b);
}

/** Above this many rows in one delta, one merge pass is cheaper than placing each row by binary search. */
const INCREMENTAL_LIMIT = 512;

export class PoolView {
  private readonly entries = new Map<string, Entry>();
  private view: Entry[] = [];
  private currentQuery: PoolQuery = DEFAULT_QUERY;
  private terms: string[] = [];
  private compare: Compare = comparatorFor(DEFAULT_QUERY);
  private readonly counts = new Map<string, number>();

  get query(): PoolQuery {
    return this.currentQuery;
  }

  /** Rows shown by the query. */
  get length(): number {
    return this.view.length;
  }

  /** Rows received, shown or not. */
  get size(): number {
    return this.entries.size;
  }

  setQuery(query: PoolQuery): void {
    this.currentQuery = query;
    this.terms = searchTerms(query.search);
    this.compare = comparatorFor(query);
    this.rebuild();
  }

  clear(): void {
    this.entries.clear();
    this.counts.clear();
    this.view = [];
  }

  at(index: number): PoolRow | undefined {
    return this.view[index]?.row;
  }

  get(id: string): PoolRow | undefined {
    return this.entries.get(id)?.row;
  }

  /** The row's index in the view; -1 when the query hides it or there is no such row. */
  indexOf(id: string): number {
    const entry = this.entries.get(id);
    if (!entry) return -1;
    const index = this.search(entry);
    return this.view[index] === entry ? index : -1;
  }

  /** Ids of every row the query shows, in view order (bulk actions). */
  ids(): string[] {
    return this.view.map((entry) => entry.row.id);
  }

  /** Rows with this stage or review state, shown or not. */
  count(status: StatusFilter): number {
    return this.counts.get(status) ?? 0;
  }

  /**
   * Inserts or replaces rows (by id) and drops `removed` ids. A few rows are placed one by one (binary
   * search); many (a loading chunk) are sorted among themselves and merged into the view in one pass.
   */
  apply(upserts: readonly PoolRow[], removed: readonly string[] = []): void {
    const leaving: Entry[] = [];
    const arriving: Entry[] = [];
    for (const id of removed) {
      const entry = this.entries.get(id);
      if (!entry) continue;
      leaving.push(entry);
      this.entries.delete(id);
      this.countEntry(entry, -1);
    }
    for (const row of upserts) {
      const old = this.entries.get(row.id);
      if (old) {
        leaving.push(old);
        this.countEntry(old, -1);
      }
      const entry = entryFor(row);
      this.entries.set(row.id, entry);
      this.countEntry(entry, 1);
      if (entryMatches(entry, this.currentQuery, this.terms)) arriving.push(entry);
    }
    if (leaving.length <= INCREMENTAL_LIMIT) leaving.forEach((entry) => this.unplace(entry));
    else {
      const gone = new Set(leaving);
      this.view = this.view.filter((entry) => !gone.has(entry));
    }
    // The same id twice in one message: only its last row stays.
    const current = arriving.filter((entry) => this.entries.get(entry.row.id) === entry);
    if (current.length <= INCREMENTAL_LIMIT) current.forEach((entry) => this.view.splice(this.search(entry), 0, entry));
    else this.view = merge(this.view, current.sort(this.compare), this.compare);
  }

  private rebuild(): void {
    const shown: Entry[] = [];
    for (const entry of this.entries.values()) if (entryMatches(entry, this.currentQuery, this.terms)) shown.push(entry);
    this.view = shown.sort(this.compare);
  }

  private unplace(entry: Entry): void {
    const index = this.search(entry);
    if (this.view[index] === entry) this.view.splice(index, 1);
  }

  /** The first position whose entry does not sort before `entry` (binary search). */
  private search(entry: Entry): number {
    let low = 0;
    let high = this.view.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (this.compare(this.view[middle], entry) < 0) low = middle + 1;
      else high = middle;
    }
    return low;
  }

  private countEntry(entry: Entry, delta: number): void {
    for (const status of [entry.row.stage, entry.row.review]) {
      if (status !== null) this.counts.set(status, (this.counts.get(status) ?? 0) + delta);
    }
  }
}

/** Merges two sorted lists (rows arriving in generation order append in one linear pass). */
function merge(view: readonly Entry[], arriving: readonly Entry[], compare: Compare): Entry[] {
  if (view.length === 0 || compare(view[view.length - 1], arriving[0]) < 0) return view.concat(arriving);
  const merged: Entry[] = new Array(view.length + arriving.length);
  let i = 0;
  let j = 0;
  let k = 0;
  while (i < view.length && j < arriving.length) merged[k++] = compare(view[i], arriving[j]) <= 0 ? view[i++] : arriving[j++];
  while (i < view.length) merged[k++] = view[i++];
  while (j < arriving.length) merged[k++] = arriving[j++];
  return merged;
}

/** Every status, for the filter menu. */
export const ALL_STATUSES: readonly StatusFilter[] = [...REVIEW_STATES, ...POOL_STAGES];
