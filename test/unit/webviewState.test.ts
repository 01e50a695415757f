// The dashboard page's state logic, which runs in Node as well as in the webview: the pool view (filter,
// search, sort, incremental deltas), the keyboard reducer, the virtual window and the saved UI state.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FILTER_REASONS } from '../../src/core/filters';
import { POOL_STAGES, type PoolRow } from '../../src/protocol/dashboard';
import { createRng } from '../../src/core/random';
import { keyAction, type KeyPress } from '../../webview/src/keyboard';
import { DEFAULT_QUERY, PoolView, rowMatches, SORT_KEYS, type PoolQuery } from '../../webview/src/poolView';
import { DEFAULT_UI_STATE, restoreUiState } from '../../webview/src/uiState';
import { pageRows, revealRow, rowWindow } from '../../webview/src/virtualWindow';

function row(seq: number, patch: Partial<PoolRow> = {}): PoolRow {
  return {
    id: `s1-${seq}`,
    seq,
    step: 1,
    text: `Problem number ${seq}`,
    stage: 'kept',
    review: null,
    reason: null,
    detail: '',
    agreement: 0.5,
    majority: String(seq),
    label: null,
    ...patch,
  };
}

const ids = (view: PoolView) => view.ids();

describe('PoolView', () => {
  const rows = [
    row(0, { text: 'What is six times seven?', majority: '42', agreement: 0.75 }),
    row(1, { stage: 'too-easy', reason: 'too-easy', agreement: 1 }),
    row(2, { stage: 'rule-rejected', reason: 'too-short', agreement: null, majority: null, text: 'Draw a map' }),
    row(3, { stage: 'kept', review: 'vetoed', agreement: 0.25, text: 'Seven dwarfs share 42 apples' }),
    row(4, { step: 2, stage: 'trained', review: 'accepted', agreement: 0.5 }),
    row(5, { step: 2, stage: 'kept', review: 'awaiting-review', agreement: 0.5 }),
  ];

  it('filters by stage or review state, by reason, and searches every term in text, answer and id', () => {
    const view = new PoolView();
    view.apply(rows);
    const query = (patch: Partial<PoolQuery>) => {
      view.setQuery({ ...DEFAULT_QUERY, ...patch });
      return ids(view);
    };
    assert.deepEqual(query({}), rows.map((r) => r.id));
    assert.deepEqual(query({ status: 'kept' }), ['s1-0', 's1-3', 's1-5']);
    assert.deepEqual(query({ status: 'vetoed' }), ['s1-3']);
    assert.deepEqual(query({ status: 'awaiting-review' }), ['s1-5']);
    assert.deepEqual(query({ status: 'accepted' }), ['s1-4']);
    assert.deepEqual(query({ reason: 'too-short' }), ['s1-2']);
    assert.deepEqual(query({ search: 'SEVEN' }), ['s1-0', 's1-3']);
    assert.deepEqual(query({ search: 'seven 42' }), ['s1-0', 's1-3'], 'the answer 42 matches s1-0, the text s1-3');
    assert.deepEqual(query({ search: 'seven apples' }), ['s1-3']);
    assert.deepEqual(query({ search: 's1-4' }), ['s1-4']);
    assert.deepEqual(query({ status: 'kept', search: 'dwarfs' }), ['s1-3']);
    assert.deepEqual(query({ search: 'nothing like this' }), []);
  });

  it('sorts by each key, ties in generation order, either direction', () => {
    const view = new PoolView();
    view.apply(rows);
    view.setQuery({ ...DEFAULT_QUERY, sort: 'agreement' });
    assert.deepEqual(ids(view), ['s1-2', 's1-3', 's1-4', 's1-5', 's1-0', 's1-1'], 'no vote sorts lowest');
    view.setQuery({ ...DEFAULT_QUERY, sort: 'agreement', descending: true });
    assert.deepEqual(ids(view), ['s1-1', 's1-0', 's1-5', 's1-4', 's1-3', 's1-2']);
    view.setQuery({ ...DEFAULT_QUERY, sort: 'step', descending: true });
    assert.deepEqual(ids(view), ['s1-5', 's1-4', 's1-3', 's1-2', 's1-1', 's1-0']);
    view.setQuery({ ...DEFAULT_QUERY, sort: 'status' });
    assert.deepEqual(ids(view).slice(0, 3), ['s1-3', 's1-4', 's1-5'], 'vetoed, accepted, awaiting review first');
    view.setQuery({ ...DEFAULT_QUERY, sort: 'text' });
    assert.equal(ids(view)[0], 's1-2', '"draw a map" first');
  });

  it('places deltas exactly where a full rebuild would, and keeps status counts', () => {
    const rng = createRng(7);
    const random = () => rng.next();
    const pick = <T>(values: readonly T[]): T => values[Math.floor(random() * values.length)];
    const randomRow = (seq: number): PoolRow =>
      row(seq, {
        step: 1 + Math.floor(random() * 5),
        stage: pick(POOL_STAGES),
        review: pick([null, null, 'accepted', 'vetoed', 'awaiting-review'] as const),
        reason: pick([null, ...FILTER_REASONS]),
        agreement: random() < 0.2 ? null : Math.round(random() * 8) / 8,
        text: `${pick(['add', 'multiply', 'divide', 'Draw'])} ${Math.floor(random() * 50)}`,
      });
    for (const sort of SORT_KEYS) {
      for (const descending of [false, true]) {
        const query: PoolQuery = { status: pick(['all', 'kept', 'vetoed'] as const), reason: 'all', search: pick(['', 'add']), sort, descending };
        const incremental = new PoolView();
        incremental.setQuery(query);
        let seq = 0;
        const live = new Map<string, PoolRow>();
        for (let round = 0; round < 60; round++) {
          const upserts: PoolRow[] = [];
          for (let k = 0; k < 5; k++) upserts.push(randomRow(seq++));
          // Re-send some existing rows with new content (a vote, a decision), remove a few (a resume).
          for (const id of [...live.keys()].filter(() => random() < 0.05)) upserts.push({ ...randomRow(live.get(id)!.seq), id });
          // The host never sends one id both ways in a message.
          const updated = new Set(upserts.map((r) => r.id));
          const removed = [...live.keys()].filter((id) => !updated.has(id) && random() < 0.02);
          incremental.apply(upserts, removed);
          upserts.forEach((r) => live.set(r.id, r));
          removed.forEach((id) => live.delete(id));
        }
        const rebuilt = new PoolView();
        rebuilt.apply([...live.values()]);
        rebuilt.setQuery(query);
        assert.deepEqual(incremental.ids(), rebuilt.ids(), `sort ${sort} ${descending ? 'desc' : 'asc'}`);
        assert.equal(incremental.length, [...live.values()].filter((r) => rowMatches(r, query)).length);
        for (const status of ['kept', 'vetoed', 'awaiting-review', 'too-hard'] as const) {
          const expected = [...live.values()].filter((r) => r.stage === status || r.review === status).length;
          assert.equal(incremental.count(status), expected, status);
        }
        for (const [index, id] of incremental.ids().entries()) assert.equal(incremental.indexOf(id), index);
      }
    }
  });

  it('reports rows the query hides as not shown (-1) and clears', () => {
    const view = new PoolView();
    view.apply(rows);
    view.setQuery({ ...DEFAULT_QUERY, status: 'vetoed' });
    assert.equal(view.indexOf('s1-3'), 0);
    assert.equal(view.indexOf('s1-0'), -1);
    assert.equal(view.indexOf('unknown'), -1);
    assert.equal(view.get('s1-0')!.majority, '42');
    view.clear();
    assert.equal(view.size, 0);
    assert.equal(view.length, 0);
    assert.equal(view.count('kept'), 0);
  });
});

describe('keyAction', () => {
  const key = (name: string, patch: Partial<KeyPress> = {}): KeyPress => ({ key: name, ctrlKey: false, metaKey: false, altKey: false, inTextField: false, ...patch });
  const at = (index: number, count = 10) => ({ index, count, pageRows: 4 });

  it('moves with j/k and the arrows, clamped to the list; starts from the edge when nothing is selected', () => {
    assert.deepEqual(keyAction(key('j'), at(3)), { kind: 'select', index: 4 });
    assert.deepEqual(keyAction(key('ArrowDown'), at(3)), { kind: 'select', index: 4 });
    assert.deepEqual(keyAction(key('k'), at(3)), { kind: 'select', index: 2 });
    assert.deepEqual(keyAction(key('ArrowUp'), at(3)), { kind: 'select', index: 2 });
    assert.equal(keyAction(key('j'), at(9)), null);
    assert.equal(keyAction(key('k'), at(0)), null);
    assert.deepEqual(keyAction(key('j'), at(-1)), { kind: 'select', index: 0 });
    assert.deepEqual(keyAction(key('k'), at(-1)), { kind: 'select', index: 9 });
    assert.deepEqual(keyAction(key('PageDown'), at(3)), { kind: 'select', index: 7 });
    assert.deepEqual(keyAction(key('PageDown'), at(8)), { kind: 'select', index: 9 });
    assert.deepEqual(keyAction(key('PageUp'), at(3)), { kind: 'select', index: 0 });
    assert.deepEqual(keyAction(key('G'), at(3)), { kind: 'select', index: 9 });
    assert.deepEqual(keyAction(key('Home'), at(3)), { kind: 'select', index: 0 });
    assert.equal(keyAction(key('j'), at(-1, 0)), null);
  });

  it('accepts, vetoes, relabels and opens only a selected row', () => {
    assert.deepEqual(keyAction(key('a'), at(2)), { kind: 'accept' });
    assert.deepEqual(keyAction(key('v'), at(2)), { kind: 'veto' });
    assert.deepEqual(keyAction(key('r'), at(2)), { kind: 'relabel' });
    assert.deepEqual(keyAction(key('Enter'), at(2)), { kind: 'open' });
    for (const name of ['a', 'v', 'r', 'Enter']) assert.equal(keyAction(key(name), at(-1)), null, name);
  });

  it('leaves keys with modifiers to VS Code, and typing in the search field alone', () => {
    assert.equal(keyAction(key('a', { ctrlKey: true }), at(2)), null);
    assert.equal(keyAction(key('v', { metaKey: true }), at(2)), null);
    assert.equal(keyAction(key('j', { altKey: true }), at(2)), null);
    for (const name of ['a', 'v', 'r', 'j', 'k', '/', 'Enter', 'G']) assert.equal(keyAction(key(name, { inTextField: true }), at(2)), null, name);
    assert.deepEqual(keyAction(key('Escape', { inTextField: true }), at(2)), { kind: 'escape' });
    assert.deepEqual(keyAction(key('ArrowDown', { inTextField: true }), at(-1)), { kind: 'select', index: 0 });
    assert.deepEqual(keyAction(key('/'), at(2)), { kind: 'focus-search' });
    assert.equal(keyAction(key('x'), at(2)), null);
  });
});

describe('virtual window', () => {
  const viewport = { scrollTop: 0, height: 240, rowHeight: 24 };

  it('renders the visible rows plus overscan, clamped to the list', () => {
    assert.deepEqual(rowWindow(viewport, 100_000, 8), { start: 0, end: 19, offset: 0 });
    assert.deepEqual(rowWindow({ ...viewport, scrollTop: 24 * 5000 + 10 }, 100_000, 8), { start: 4992, end: 5019, offset: 4992 * 24 });
    assert.deepEqual(rowWindow({ ...viewport, scrollTop: 24 * 99_995 }, 100_000, 8), { start: 99_987, end: 100_000, offset: 99_987 * 24 });
    assert.deepEqual(rowWindow(viewport, 5, 8), { start: 0, end: 5, offset: 0 });
    assert.deepEqual(rowWindow(viewport, 0), { start: 0, end: 0, offset: 0 });
    // A stale scroll position beyond a list that shrank still renders within it.
    const stale = rowWindow({ ...viewport, scrollTop: 24 * 1000 }, 10, 2);
    assert.ok(stale.start <= stale.end && stale.end <= 10);
  });

  it('never renders more than a screenful plus overscan, whatever the list size', () => {
    for (const count of [10, 1000, 100_000, 1_000_000]) {
      for (const scrollTop of [0, 1234, 24 * count * 0.5, 24 * count]) {
        const window = rowWindow({ ...viewport, scrollTop }, count, 8);
        assert.ok(window.end - window.start <= 10 + 1 + 16, `${count} rows at ${scrollTop}: ${window.end - window.start} rendered`);
      }
    }
  });

  it('scrolls the least to reveal a row', () => {
    assert.equal(revealRow(viewport, 3), 0, 'already visible');
    assert.equal(revealRow(viewport, 10), 24 * 11 - 240, 'below: align its bottom');
    assert.equal(revealRow({ ...viewport, scrollTop: 2400 }, 50), 1200, 'above: align its top');
    assert.equal(pageRows(viewport), 9);
  });
});

describe('restoreUiState', () => {
  it('restores a saved state and defaults a missing one', () => {
    const saved = { ...DEFAULT_UI_STATE, runId: 'r1', selectedId: 's1-2', tab: 'charts', query: { ...DEFAULT_QUERY, status: 'vetoed', search: 'x' } };
    assert.deepEqual(restoreUiState(JSON.parse(JSON.stringify(saved))), { state: saved, problems: [] });
    assert.deepEqual(restoreUiState(undefined), { state: DEFAULT_UI_STATE, problems: [] });
  });

  it('replaces only the fields that do not fit, naming them', () => {
    const { state, problems } = restoreUiState({ runId: 'r1', tab: 'graphs', scrollTop: -5, query: { status: 'deleted', sort: 'agreement' } });
    assert.equal(state.runId, 'r1');
    assert.equal(state.tab, 'pool');
    assert.equal(state.scrollTop, 0);
    assert.equal(state.query.status, 'all');
    assert.equal(state.query.sort, 'agreement');
    assert.deepEqual(
      problems.map((problem) => problem.split(':')[1].trim()),
      ['query.status', 'tab', 'scrollTop'],
    );
    assert.deepEqual(restoreUiState('nonsense').problems, ['saved state: not an object; using defaults']);
  });
});
