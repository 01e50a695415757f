/// <reference lib="dom" />
// The dashboard app: the pool (virtualised table, filters, search, sort, keyboard triage, bulk actions),
// the item detail and the charts. It holds no run data of its own beyond what the host sent: on load it
// says `ready` and the host sends everything again; UI state (run, query, selection) survives hiding the
// view through vscode.getState/setState. Every host message is validated before use.
//
// Hooks for end-to-end tests (stable): #run-select, #run-summary, #problems, #status-line;
// vscode-tab-header[data-tab="pool"|"charts"]; #pool-search, #filter-status, #filter-reason, #sort-key,
// #sort-direction, #pool-count, #bulk-accept, #bulk-veto; #pool-list (role=grid) with rows
// [role=row][data-item-id][data-status][data-stage][aria-selected] and cells [data-column]; #item-detail
// (role=region, data-item-id) with [data-action="accept"|"veto"|"relabel"], [data-field=…],
// [data-section="vote"|"sources"|"nearest"], [data-group-index], [data-response-index]; #charts with
// figure[data-chart="reward"|"items"|"loss"|"kl"|"entropy"|"response-length"|"tokens-per-s"|"eval"],
// #alerts li[data-step][data-alert-kind].
import '@vscode-elements/elements/dist/vscode-button/index.js';
import '@vscode-elements/elements/dist/vscode-option/index.js';
import '@vscode-elements/elements/dist/vscode-single-select/index.js';
import '@vscode-elements/elements/dist/vscode-tab-header/index.js';
import '@vscode-elements/elements/dist/vscode-tab-panel/index.js';
import '@vscode-elements/elements/dist/vscode-tabs/index.js';
import '@vscode-elements/elements/dist/vscode-textfield/index.js';
import './style.css';
import { FILTER_REASONS } from '../../src/core/filters';
import {
  parseHostMessage,
  STATUS_LABELS,
  type DecisionAction,
  type HostMessage,
  type HostMessageOf,
  type PoolRow,
  type RunChoice,
  type RunHeader,
  type WebviewMessage,
} from '../../src/protocol/dashboard';
import { Charts } from './charts';
import { custom, h } from './dom';
import { KEY_HELP, keyAction, type KeyAction } from './keyboard';
import { ALL_STATUSES, PoolView, SORT_KEYS, SORT_LABELS, type PoolQuery } from './poolView';
import { createRowElement, fillRow, headerRow, renderDetail, ROW_HEIGHT } from './render';
import { restoreUiState, TABS, type UiState } from './uiState';
import { pageRows, revealRow, rowWindow, type Viewport } from './virtualWindow';

interface VsCodeApi {
  postMessage(message: unknown): void;
  getState(): unknown;
  setState(state: unknown): void;
}
declare function acquireVsCodeApi(): VsCodeApi;

type SelectElement = HTMLElement & { value: string };

const vscode = acquireVsCodeApi();

function post(message: WebviewMessage): void {
  vscode.postMessage(message);
}

const restored = restoreUiState(vscode.getState());
let ui: UiState = restored.state;
for (const problem of restored.problems) post({ type: 'webview-error', message: problem });

const view = new PoolView();
view.setQuery(ui.query);
let shownRunId: string | null = null;
let total = 0;
let nextRequestId = 1;
let detailRequest = 0;
let saveTimer = 0;

function save(): void {
  clearTimeout(saveTimer);
  saveTimer = window.setTimeout(() => vscode.setState(ui), 100);
}

function update(patch: Partial<UiState>): void {
  ui = { ...ui, ...patch };
  save();
}

// ---------------------------------------------------------------------------------------------------------
// Layout

const layout = document.body.dataset.layout === 'sidebar' ? 'sidebar' : 'panel';

const runSelect = custom('vscode-single-select', { id: 'run-select', 'aria-label': 'Run' }) as SelectElement;
const runSummary = h('span', { id: 'run-summary', class: 'run-summary', 'aria-live': 'polite' });
const openPanelButton = layout === 'sidebar' ? custom('vscode-button', { id: 'open-panel', secondary: '' }, 'Open in editor') : null;
const problemsBox = h('details', { id: 'problems', class: 'problems-banner', hidden: '' });
const statusLine = h('div', { id: 'status-line', class: 'status-line', role: 'status', 'aria-live': 'polite' });

const searchField = custom('vscode-textfield', { id: 'pool-search', placeholder: 'Search instructions, answers, ids  ( / )', 'aria-label': 'Search' }) as SelectElement;
const statusSelect = selectOf('filter-status', 'Status', [['all', 'all statuses'], ...ALL_STATUSES.map((status) => [status, STATUS_LABELS[status]] as [string, string])]);
const reasonSelect = selectOf('filter-reason', 'Reason', [['all', 'all reasons'], ...FILTER_REASONS.map((reason) => [reason, reason] as [string, string])]);
const sortSelect = selectOf('sort-key', 'Sort by', SORT_KEYS.map((key) => [key, SORT_LABELS[key]] as [string, string]));
const directionButton = custom('vscode-button', { id: 'sort-direction', secondary: '', 'aria-label': 'Sort direction' });
const poolCount = h('span', { id: 'pool-count', class: 'pool-count', 'aria-live': 'polite' });
const bulkAccept = custom('vscode-button', { id: 'bulk-accept', secondary: '' }, 'Accept shown…');
const bulkVeto = custom('vscode-button', { id: 'bulk-veto', secondary: '' }, 'Veto shown…');

const rowsBox = h('div', { class: 'rows', role: 'rowgroup' });
const spacer = h('div', { class: 'spacer', role: 'presentation' }, rowsBox);
const scroller = h('div', { id: 'pool-scroll', class: 'pool-scroll', role: 'presentation' }, spacer);
const grid = h(
  'div',
  { id: 'pool-list', class: 'pool-list', role: 'grid', 'aria-label': 'Instruction pool', 'aria-readonly': 'true', tabindex: '0' },
  h('div', { role: 'rowgroup', class: 'header-group' }, headerRow()),
  scroller,
);
const emptyNote = h('p', { id: 'pool-empty', class: 'muted pool-empty' });
const detailPane = h('section', { id: 'item-detail', class: 'item-detail', role: 'region', 'aria-label': 'Item detail', tabindex: '-1' });
const chartsRoot = h('div', { id: 'charts', class: 'charts' });

const tabs = custom(
  'vscode-tabs',
  { id: 'tabs', 'selected-index': String(TABS.indexOf(ui.tab)) },
  custom('vscode-tab-header', { slot: 'header', 'data-tab': 'pool' }, 'Pool'),
  custom(
    'vscode-tab-panel',
    { id: 'panel-pool' },
    h(
      'div',
      { class: 'pool' },
      h('div', { class: 'pool-toolbar', role: 'toolbar', 'aria-label': 'Pool filters and actions' }, searchField, statusSelect, reasonSelect, sortSelect, directionButton, poolCount, bulkAccept, bulkVeto),
      h('div', { class: 'pool-body' }, h('div', { class: 'pool-table' }, grid, emptyNote), detailPane),
      h('p', { class: 'hint muted', id: 'key-help' }, KEY_HELP),
    ),
  ),
  custom('vscode-tab-header', { slot: 'header', 'data-tab': 'charts' }, 'Charts'),
  custom('vscode-tab-panel', { 'data-tab': 'charts' }, chartsRoot),
);

document.getElementById('app')!.append(
  h('header', { class: 'run-bar', id: 'run-bar' }, h('label', { class: 'run-label' }, 'Run'), runSelect, runSummary, openPanelButton),
  problemsBox,
  statusLine,
  tabs,
);
const charts = new Charts(chartsRoot);

function selectOf(id: string, label: string, options: [string, string][]): SelectElement {
  return custom('vscode-single-select', { id, 'aria-label': label }, ...options.map(([value, text]) => custom('vscode-option', { value }, text))) as SelectElement;
}

function showQuery(query: PoolQuery): void {
  searchField.value = query.search;
  statusSelect.value = query.status;
  reasonSelect.value = query.reason;
  sortSelect.value = query.sort;
  directionButton.textContent = query.descending ? '↓ desc' : '↑ asc';
}
showQuery(ui.query);
detailPane.append(h('p', { class: 'muted' }, 'Select an item and press Enter to see its vote.'));

// ---------------------------------------------------------------------------------------------------------
// The virtualised list

const rowElements: HTMLElement[] = [];
let renderFrame = 0;

function viewport(): Viewport {
  return { scrollTop: scroller.scrollTop, height: scroller.clientHeight, rowHeight: ROW_HEIGHT };
}

function scheduleRender(): void {
  if (!renderFrame) renderFrame = requestAnimationFrame(renderList);
}

/** Renders only the rows in (and just around) the viewport, reusing row elements. */
function renderList(): void {
  renderFrame = 0;
  spacer.style.height = `${view.length * ROW_HEIGHT}px`;
  grid.setAttribute('aria-rowcount', String(view.length + 1));
  const rows = rowWindow(viewport(), view.length);
  const count = rows.end - rows.start;
  while (rowElements.length < count) rowElements.push(createRowElement());
  rowsBox.replaceChildren(...rowElements.slice(0, count));
  rowsBox.style.transform = `translateY(${rows.offset}px)`;
  const selectedIndex = ui.selectedId === null ? -1 : view.indexOf(ui.selectedId);
  for (let i = 0; i < count; i++) {
    const index = rows.start + i;
    const element = rowElements[i];
    element.id = `pool-row-${index}`;
    fillRow(element, view.at(index)!, index, index === selectedIndex);
  }
  if (selectedIndex >= rows.start && selectedIndex < rows.end) grid.setAttribute('aria-activedescendant', `pool-row-${selectedIndex}`);
  else grid.removeAttribute('aria-activedescendant');
  const shown = view.length.toLocaleString('en-US');
  const loading = view.size < total ? ` (loading ${view.size.toLocaleString('en-US')} of ${total.toLocaleString('en-US')})` : '';
  const awaiting = view.count('awaiting-review');
  poolCount.textContent = `${shown} of ${view.size.toLocaleString('en-US')} shown${loading}${awaiting ? ` · ${awaiting} awaiting review` : ''}`;
  emptyNote.textContent = shownRunId === null ? 'No run in this workspace yet.' : view.size === 0 ? 'No items yet.' : view.length === 0 ? 'No item matches the filter.' : '';
  emptyNote.hidden = emptyNote.textContent === '';
}

scroller.addEventListener('scroll', () => {
  scheduleRender();
  update({ scrollTop: scroller.scrollTop });
});

function select(index: number): void {
  const row = view.at(index);
  if (!row) return;
  update({ selectedId: row.id });
  scroller.scrollTop = revealRow(viewport(), index);
  scheduleRender();
}

rowsBox.addEventListener('click', (event) => {
  const element = (event.target as Element).closest<HTMLElement>('[role="row"]');
  const id = element?.dataset.itemId;
  if (!id) return;
  const index = view.indexOf(id);
  if (index < 0) return;
  select(index);
  openItem(id);
  grid.focus();
});

// ---------------------------------------------------------------------------------------------------------
// Queries

function setQuery(patch: Partial<PoolQuery>): void {
  const query = { ...ui.query, ...patch };
  update({ query });
  view.setQuery(query);
  showQuery(query);
  // Keep the selected row in sight when it is still shown.
  const index = ui.selectedId === null ? -1 : view.indexOf(ui.selectedId);
  scroller.scrollTop = index >= 0 ? revealRow({ ...viewport(), scrollTop: 0 }, index) : 0;
  scheduleRender();
}

let searchTimer = 0;
searchField.addEventListener('input', () => {
  clearTimeout(searchTimer);
  searchTimer = window.setTimeout(() => setQuery({ search: searchField.value }), 120);
});
statusSelect.addEventListener('change', () => setQuery({ status: statusSelect.value as PoolQuery['status'] }));
reasonSelect.addEventListener('change', () => setQuery({ reason: reasonSelect.value as PoolQuery['reason'] }));
sortSelect.addEventListener('change', () => setQuery({ sort: sortSelect.value as PoolQuery['sort'] }));
directionButton.addEventListener('click', () => setQuery({ descending: !ui.query.descending }));
runSelect.addEventListener('change', () => {
  if (runSelect.value && runSelect.value !== shownRunId) post({ type: 'select-run', runId: runSelect.value });
});
openPanelButton?.addEventListener('click', () => post({ type: 'open-panel', runId: shownRunId }));
tabs.addEventListener('vsc-tabs-select', (event) => {
  const index = (event as CustomEvent<{ selectedIndex: number }>).detail.selectedIndex;
  update({ tab: TABS[index] ?? 'pool' });
  if (ui.tab === 'charts') charts.schedule();
  else scheduleRender();
});

// ---------------------------------------------------------------------------------------------------------
// Decisions and the detail

function describeQuery(query: PoolQuery): string {
  const parts = [
    query.status !== 'all' ? `status: ${STATUS_LABELS[query.status]}` : '',
    query.reason !== 'all' ? `reason: ${query.reason}` : '',
    query.search ? `search: "${query.search.slice(0, 100)}"` : '',
  ].filter(Boolean);
  return parts.length ? `the current filter, ${parts.join(', ')}` : 'every item of the run';
}

function decide(action: DecisionAction, ids: string[], scope: string): void {
  if (shownRunId === null || ids.length === 0) return;
  post({ type: 'decide', runId: shownRunId, requestId: nextRequestId++, action, itemIds: ids, scope });
  statusLine.textContent = ids.length > 1 ? `${action === 'accept' ? 'Accepting' : 'Vetoing'} ${ids.length} items…` : '';
}

bulkAccept.addEventListener('click', () => decide('accept', view.ids(), describeQuery(ui.query)));
bulkVeto.addEventListener('click', () => decide('veto', view.ids(), describeQuery(ui.query)));

function openItem(id: string): void {
  if (shownRunId === null) return;
  update({ openId: id });
  detailRequest = nextRequestId++;
  detailPane.setAttribute('aria-busy', 'true');
  post({ type: 'open-item', runId: shownRunId, itemId: id, requestId: detailRequest });
}

function showDetail(message: HostMessageOf<'item-detail'>): void {
  if (message.requestId !== detailRequest || message.itemId !== ui.openId) return;
  detailPane.removeAttribute('aria-busy');
  detailPane.dataset.itemId = message.itemId;
  if (message.detail) {
    const actions = h(
      'div',
      { class: 'detail-actions' },
      custom('vscode-button', { 'data-action': 'accept' }, 'Accept (a)'),
      custom('vscode-button', { 'data-action': 'veto', secondary: '' }, 'Veto (v)'),
      custom('vscode-button', { 'data-action': 'relabel', secondary: '' }, 'Relabel (r)'),
    );
    detailPane.replaceChildren(actions, renderDetail(message.detail));
  } else {
    detailPane.replaceChildren(h('p', { class: 'error' }, message.error ?? 'No detail.'));
  }
}

detailPane.addEventListener('click', (event) => {
  const action = (event.target as Element).closest<HTMLElement>('[data-action]')?.dataset.action;
  const id = ui.openId;
  if (!id || shownRunId === null) return;
  if (action === 'accept' || action === 'veto') decide(action, [id], '');
  if (action === 'relabel') post({ type: 'relabel', runId: shownRunId, requestId: nextRequestId++, itemId: id });
});

function closeDetail(): void {
  update({ openId: null });
  detailPane.removeAttribute('data-item-id');
  detailPane.replaceChildren(h('p', { class: 'muted' }, 'Select an item and press Enter to see its vote.'));
}

// ---------------------------------------------------------------------------------------------------------
// Keyboard

function inTextField(event: KeyboardEvent): boolean {
  const target = event.composedPath()[0];
  return target instanceof HTMLInputElement || target instanceof HTMLTextAreaElement || (target instanceof HTMLElement && target.isContentEditable);
}

document.addEventListener('keydown', (event) => {
  if (ui.tab !== 'pool') return;
  const selectedIndex = ui.selectedId === null ? -1 : view.indexOf(ui.selectedId);
  const action = keyAction(
    { key: event.key, ctrlKey: event.ctrlKey, metaKey: event.metaKey, altKey: event.altKey, inTextField: inTextField(event) },
    { index: selectedIndex, count: view.length, pageRows: pageRows(viewport()) },
  );
  if (!action) return;
  event.preventDefault();
  runKeyAction(action, selectedIndex);
});

function runKeyAction(action: KeyAction, index: number): void {
  const row: PoolRow | undefined = view.at(index);
  switch (action.kind) {
    case 'select':
      select(action.index);
      grid.focus();
      return;
    case 'accept':
    case 'veto':
      if (!row) return;
      decide(action.kind, [row.id], '');
      // Triage moves on to the next row.
      if (index + 1 < view.length) select(index + 1);
      return;
    case 'relabel':
      if (row && shownRunId !== null) post({ type: 'relabel', runId: shownRunId, requestId: nextRequestId++, itemId: row.id });
      return;
    case 'open':
      if (row) openItem(row.id);
      return;
    case 'focus-search':
      searchField.focus();
      return;
    case 'escape':
      if (document.activeElement === searchField) grid.focus();
      else if (ui.openId !== null) closeDetail();
      return;
  }
}

// ---------------------------------------------------------------------------------------------------------
// Host messages

function runLabel(run: RunChoice): string {
  const step = run.step === null ? '' : ` · step ${run.step}`;
  const reward = run.rewardMean === null ? '' : ` · reward ${run.rewardMean.toFixed(2)}`;
  return `${run.runId} (${run.status}${step}${reward})`;
}

function headerText(header: RunHeader | null): string {
  if (!header) return 'not started';
  const steps = header.maxSteps === null ? `step ${header.step}` : `step ${header.step}/${header.maxSteps}`;
  const end = header.finished ? ` · ${header.finished.status}` : '';
  return `${header.mode} · ${header.algorithm} · ${header.curation} curation · n=${header.samplesPerPrompt} · band [${header.difficultyBounds.join(', ')}] · ${steps}${end}`;
}

function resetRun(runId: string): void {
  const sameRun = runId === ui.runId;
  shownRunId = runId;
  total = 0;
  view.clear();
  charts.update(true, [], []);
  problemsBox.replaceChildren();
  problemsBox.hidden = true;
  problemCount = 0;
  if (sameRun) {
    pendingScroll = ui.scrollTop;
  } else {
    pendingScroll = null;
    update({ runId, selectedId: null, openId: null, scrollTop: 0 });
    closeDetail();
  }
  scheduleRender();
}

let pendingScroll: number | null = ui.scrollTop;
let problemCount = 0;
const MAX_LISTED_PROBLEMS = 200;

function handle(message: HostMessage): void {
  switch (message.type) {
    case 'runs': {
      runSelect.replaceChildren(...message.runs.map((run) => custom('vscode-option', { value: run.runId }, runLabel(run))));
      if (message.selected !== null) runSelect.value = message.selected;
      if (message.selected === null) resetToNoRun();
      return;
    }
    case 'pool-reset':
      resetRun(message.runId);
      return;
    case 'run-header':
      if (message.runId === shownRunId) runSummary.textContent = headerText(message.header);
      return;
    case 'pool-rows': {
      if (message.runId !== shownRunId) return;
      view.apply(message.upserts, message.removed);
      total = message.total;
      // The saved scroll position and open item come back once their rows are there.
      if (pendingScroll !== null && view.length * ROW_HEIGHT >= pendingScroll + scroller.clientHeight) {
        spacer.style.height = `${view.length * ROW_HEIGHT}px`;
        scroller.scrollTop = pendingScroll;
        pendingScroll = null;
      }
      const open = ui.openId;
      if (open !== null && (message.upserts.some((row) => row.id === open) || detailPane.dataset.itemId !== open)) {
        if (view.get(open)) openItem(open);
      }
      scheduleRender();
      return;
    }
    case 'metrics':
      if (message.runId === shownRunId) charts.update(message.replace, message.steps, message.alerts);
      return;
    case 'item-detail':
      if (message.runId === shownRunId) showDetail(message);
      return;
    case 'problems': {
      if (message.runId !== shownRunId) return;
      problemCount += message.messages.length;
      const list = problemsBox.querySelector('ul') ?? h('ul', {});
      // The first ones are listed (the log channel has them all): a log full of bad lines stays cheap.
      list.append(...message.messages.slice(0, Math.max(0, MAX_LISTED_PROBLEMS - list.children.length)).map((text) => h('li', {}, text)));
      const more = problemCount - list.children.length;
      const summary = `${problemCount} problem${problemCount === 1 ? '' : 's'} in this run's logs (those lines were skipped)${more ? `; ${more} more in the SeRL log` : ''}`;
      problemsBox.replaceChildren(h('summary', {}, summary), list);
      problemsBox.hidden = false;
      return;
    }
    case 'decision-result': {
      const errors = message.errors.length ? ` · ${message.errors.length} failed: ${message.errors.slice(0, 3).join('; ')}` : '';
      statusLine.textContent = message.cancelled ? `Cancelled.${errors}` : `Wrote ${message.written} decision${message.written === 1 ? '' : 's'}.${errors}`;
      statusLine.classList.toggle('error', message.errors.length > 0);
      return;
    }
  }
}

function resetToNoRun(): void {
  shownRunId = null;
  view.clear();
  runSummary.textContent = '';
  scheduleRender();
}

window.addEventListener('message', (event: MessageEvent) => {
  const parsed = parseHostMessage(event.data);
  if (!parsed.ok) {
    // Within the protocol's bound on the report (a chunk of bad rows names every one of them).
    post({ type: 'webview-error', message: `rejected a host message: ${parsed.error}`.slice(0, 10_000) });
    return;
  }
  handle(parsed.value);
});

scheduleRender();
post({ type: 'ready', runId: ui.runId });
