// What the page remembers while VS Code hides it (vscode.getState/setState): the run, the pool's query,
// the selection and the open tab. The data itself is not saved: the host sends it again on `ready`.
// Saved state is input like any other (an older bundle may have written it): it is validated, and a
// field that does not fit falls back to its default without losing the others.
import { z } from 'zod';
import { FILTER_REASONS } from '../../src/core/filters';
import { STATUS_FILTERS } from '../../src/protocol/dashboard';
import { DEFAULT_QUERY, SORT_KEYS, type PoolQuery } from './poolView';

export const TABS = ['pool', 'charts'] as const;
export type Tab = (typeof TABS)[number];

export interface UiState {
  runId: string | null;
  query: PoolQuery;
  selectedId: string | null;
  /** The item whose detail is open. */
  openId: string | null;
  tab: Tab;
  scrollTop: number;
}

export const DEFAULT_UI_STATE: UiState = { runId: null, query: DEFAULT_QUERY, selectedId: null, openId: null, tab: 'pool', scrollTop: 0 };

const fieldSchemas = {
  runId: z.string().min(1).nullable(),
  selectedId: z.string().min(1).nullable(),
  openId: z.string().min(1).nullable(),
  tab: z.enum(TABS),
  scrollTop: z.number().min(0),
};

const querySchemas = {
  status: z.union([z.literal('all'), z.enum(STATUS_FILTERS)]),
  reason: z.union([z.literal('all'), z.enum(FILTER_REASONS)]),
  search: z.string().max(1000),
  sort: z.enum(SORT_KEYS),
  descending: z.boolean(),
};

/** The saved state, field by field; `problems` names each field that was replaced by its default. */
export function restoreUiState(saved: unknown): { state: UiState; problems: string[] } {
  const problems: string[] = [];
  if (saved === undefined || saved === null) return { state: DEFAULT_UI_STATE, problems };
  if (typeof saved !== 'object' || Array.isArray(saved)) {
    return { state: DEFAULT_UI_STATE, problems: ['saved state: not an object; using defaults'] };
  }
  const record = saved as Record<string, unknown>;
  const pick = <T>(schema: z.ZodType<T>, value: unknown, fallback: T, path: string): T => {
    if (value === undefined) return fallback;
    const parsed = schema.safeParse(value);
    if (parsed.success) return parsed.data;
    problems.push(`saved state: ${path}: ${parsed.error.issues[0]?.message ?? 'invalid'}; using the default`);
    return fallback;
  };
  const savedQuery = typeof record.query === 'object' && record.query !== null ? (record.query as Record<string, unknown>) : {};
  if (record.query !== undefined && savedQuery !== record.query) problems.push('saved state: query: not an object; using the default');
  const query: PoolQuery = {
    status: pick(querySchemas.status, savedQuery.status, DEFAULT_QUERY.status, 'query.status'),
    reason: pick(querySchemas.reason, savedQuery.reason, DEFAULT_QUERY.reason, 'query.reason'),
    search: pick(querySchemas.search, savedQuery.search, DEFAULT_QUERY.search, 'query.search'),
    sort: pick(querySchemas.sort, savedQuery.sort, DEFAULT_QUERY.sort, 'query.sort'),
    descending: pick(querySchemas.descending, savedQuery.descending, DEFAULT_QUERY.descending, 'query.descending'),
  };
  return {
    state: {
      runId: pick(fieldSchemas.runId, record.runId, null, 'runId'),
      query,
      selectedId: pick(fieldSchemas.selectedId, record.selectedId, null, 'selectedId'),
      openId: pick(fieldSchemas.openId, record.openId, null, 'openId'),
      tab: pick(fieldSchemas.tab, record.tab, DEFAULT_UI_STATE.tab, 'tab'),
      scrollTop: pick(fieldSchemas.scrollTop, record.scrollTop, 0, 'scrollTop'),
    },
    problems,
  };
}
