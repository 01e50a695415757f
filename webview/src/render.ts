/// <reference lib="dom" />
// Renders pool rows and the item detail. Every piece of run data (instructions, responses, answers, ids,
// details) goes into the page as text (dom.ts's h, textContent) or as a data-* attribute value, never as
// HTML: model output is untrusted, and a response holding `<script>` must show as those characters.
import { STATUS_LABELS, type ItemDetail, type PoolRow, type TextRef } from '../../src/protocol/dashboard';
import { h, type Child } from './dom';

export const ROW_HEIGHT = 24;

const COLUMNS = ['status', 'reason', 'agreement', 'majority', 'step', 'text'] as const;
type Column = (typeof COLUMNS)[number];

export const COLUMN_TITLES: Record<Column, string> = {
  status: 'Status',
  reason: 'Reason',
  agreement: 'Agr.',
  majority: 'Majority',
  step: 'Step',
  text: 'Instruction',
};

/** The header row of the pool grid. */
export function headerRow(): HTMLElement {
  return h(
    'div',
    { class: 'row header-row', role: 'row', 'aria-rowindex': '1' },
    ...COLUMNS.map((column) => h('span', { class: `cell cell-${column}`, role: 'columnheader' }, COLUMN_TITLES[column])),
  );
}

/** An empty row element; `fillRow` gives it a row's content (elements are reused while scrolling). */
export function createRowElement(): HTMLElement {
  return h(
    'div',
    { class: 'row', role: 'row', 'aria-selected': 'false' },
    ...COLUMNS.map((column) => h('span', { class: `cell cell-${column}`, role: 'gridcell', 'data-column': column })),
  );
}

export function statusText(row: PoolRow): string {
  if (row.review === null) return STATUS_LABELS[row.stage];
  return row.review === 'awaiting-review' ? STATUS_LABELS[row.review] : `${STATUS_LABELS[row.review]} · ${STATUS_LABELS[row.stage]}`;
}

function agreementText(agreement: number | null): string {
  return agreement === null ? '' : agreement.toFixed(2);
}

/** Shows `row` (at view index `index`) in `element`, made by createRowElement. */
export function fillRow(element: HTMLElement, row: PoolRow, index: number, selected: boolean): void {
  element.dataset.itemId = row.id;
  element.dataset.index = String(index);
  element.dataset.status = row.review ?? row.stage;
  element.dataset.stage = row.stage;
  element.setAttribute('aria-rowindex', String(index + 2));
  element.setAttribute('aria-selected', String(selected));
  element.classList.toggle('selected', selected);
  const cells = element.children;
  const values: Record<Column, string> = {
    status: statusText(row),
    reason: row.reason ?? '',
    agreement: agreementText(row.agreement),
    majority: row.label !== null ? `${row.label} (relabelled)` : (row.majority ?? ''),
    step: String(row.step),
    text: row.text,
  };
  COLUMNS.forEach((column, i) => {
    const cell = cells[i] as HTMLElement;
    if (cell.textContent !== values[column]) cell.textContent = values[column];
  });
  (cells[COLUMNS.indexOf('text')] as HTMLElement).title = row.text;
  (cells[COLUMNS.indexOf('reason')] as HTMLElement).title = row.detail;
}

function refLabel(ref: TextRef): string {
  return ref.kind === 'seed' ? `seed #${ref.index}` : `item ${ref.itemId}`;
}

function refText(ref: TextRef): Child {
  return ref.text === null ? h('em', { class: 'muted' }, '(text unavailable)') : ref.text;
}

function field(name: string, label: string, ...value: Child[]): HTMLElement[] {
  return [h('dt', {}, label), h('dd', { 'data-field': name }, ...value)];
}

function percent(share: number): string {
  return `${(share * 100).toFixed(0)}%`;
}

/** The detail pane's content for one item. */
export function renderDetail(detail: ItemDetail): HTMLElement {
  const { row } = detail;
  const facts: HTMLElement[] = [
    ...field('status', 'Status', statusText(row)),
    ...field('step', 'Step', String(row.step)),
    ...(row.reason ? field('reason', 'Reason', row.reason) : []),
    ...(row.detail ? field('detail', 'Detail', row.detail) : []),
    ...(detail.vote ? field('agreement', 'Agreement', `${detail.vote.agreement.toFixed(3)} (${detail.vote.difficulty.status}: ${detail.vote.difficulty.detail})`) : []),
    ...(detail.vote ? field('majority', 'Majority answer', detail.vote.majority ?? '(no extractable answer)') : []),
    ...(detail.label ? field('label', 'Relabelled answer', detail.label.answer) : []),
    ...(detail.review ? field('review', 'Decision', `${detail.review.decision}${detail.review.reason ? `: ${detail.review.reason}` : ''} (${detail.review.ts})`) : []),
    ...(detail.trained ? field('trained', 'Trained', `step ${detail.trained.step}, rewards from ${detail.trained.rewardSource}`) : []),
  ];
  return h(
    'article',
    { class: 'detail', 'data-item-id': row.id },
    h('h2', { class: 'detail-title' }, `Item ${row.id}`),
    h('p', { class: 'instruction', 'data-field': 'instruction' }, row.text),
    h('dl', { class: 'facts' }, ...facts),
    voteSection(detail),
    sourcesSection(detail),
    nearestSection(detail),
    detail.problems.length
      ? h('ul', { class: 'problems', 'data-field': 'problems' }, ...detail.problems.map((problem) => h('li', {}, problem)))
      : null,
  );
}

function voteSection(detail: ItemDetail): HTMLElement {
  const vote = detail.vote;
  if (!vote) return h('section', { 'data-section': 'vote' }, h('h3', {}, 'Vote'), h('p', { class: 'muted' }, 'Not voted (filtered before the vote, or not sampled yet).'));
  const grouped = new Set(vote.groups.flatMap((group) => group.members));
  const unanswered = vote.responses.map((_, index) => index).filter((index) => !grouped.has(index));
  const groups = [
    ...vote.groups.map((group, g) => ({ answer: group.answer, members: group.members, majority: g === 0 && vote.majority !== null })),
    ...(unanswered.length ? [{ answer: null, members: unanswered, majority: false }] : []),
  ];
  const total = vote.responses.length || vote.groups.reduce((sum, group) => sum + group.count, 0);
  return h(
    'section',
    { 'data-section': 'vote' },
    h('h3', {}, `Vote: ${total} responses, ${vote.groups.length} answers (rewards from ${vote.rewardSource})`),
    h(
      'table',
      { class: 'vote-table', 'data-field': 'vote-groups' },
      h('thead', {}, h('tr', {}, h('th', {}, 'Answer'), h('th', {}, 'Count'), h('th', {}, 'Share'), h('th', {}, 'Reward'))),
      h(
        'tbody',
        {},
        ...groups.map((group, g) => {
          const rewards = group.members.map((member) => vote.responses[member]?.reward).filter((reward) => reward !== undefined);
          const reward = rewards.length ? String(rewards[0]) : '';
          return h(
            'tr',
            { 'data-group-index': String(g), class: group.majority ? 'majority' : undefined },
            h('td', { class: 'answer' }, group.answer ?? h('em', {}, '(no answer)'), group.majority ? h('span', { class: 'badge' }, 'majority') : null),
            h('td', {}, String(group.members.length)),
            h('td', {}, total ? percent(group.members.length / total) : ''),
            h('td', {}, reward),
          );
        }),
      ),
    ),
    ...groups.map((group, g) =>
      h(
        'details',
        { class: 'responses', 'data-group-index': String(g) },
        h('summary', {}, `${group.answer ?? '(no answer)'} ×${group.members.length}`),
        ...group.members.map((member) => responseView(vote.responses[member], member)),
      ),
    ),
    vote.responses.length === 0 ? h('p', { class: 'muted' }, 'The responses could not be read (see below).') : null,
  );
}

function responseView(response: NonNullable<ItemDetail['vote']>['responses'][number] | undefined, index: number): HTMLElement {
  if (!response) return h('p', { class: 'muted' }, `response ${index}: unavailable`);
  const trained = response.trainedReward !== null && response.trainedReward !== response.reward ? `, trained reward ${response.trainedReward}` : '';
  return h(
    'div',
    { class: 'response', 'data-response-index': String(index) },
    h('div', { class: 'response-meta' }, `#${index} · reward ${response.reward}${trained} · ${response.tokens} tokens · ${response.finishReason}`),
    h('pre', { class: 'response-text' }, response.text),
  );
}

function sourcesSection(detail: ItemDetail): HTMLElement {
  const origin = detail.origin;
  if (origin.kind === 'seed') {
    return h(
      'section',
      { 'data-section': 'sources' },
      h('h3', {}, 'Source'),
      h('p', {}, `${refLabel(origin.seed)} used as is${origin.answer !== null ? `; reference answer ${origin.answer}` : ''}`),
    );
  }
  return h(
    'section',
    { 'data-section': 'sources' },
    h('h3', {}, `Few-shot sources (prompt ${origin.promptId})`),
    h(
      'ol',
      { class: 'sources', 'data-field': 'sources' },
      ...origin.sources.map((source) => h('li', { 'data-source-kind': source.kind }, h('span', { class: 'ref' }, refLabel(source)), ' ', refText(source))),
    ),
  );
}

function nearestSection(detail: ItemDetail): HTMLElement {
  const seed = detail.nearestSeed;
  const item = detail.nearestItem;
  return h(
    'section',
    { 'data-section': 'nearest' },
    h('h3', {}, 'Nearest seed (ROUGE-L F1)'),
    seed
      ? h(
          'p',
          { 'data-field': 'nearest-seed' },
          h('span', { class: 'ref' }, `${refLabel(seed.seed)} · ${seed.score.toFixed(3)}${seed.recorded ? '' : ' (computed)'}`),
          ' ',
          refText(seed.seed),
        )
      : h('p', { class: 'muted' }, 'No seed to compare with.'),
    item
      ? h(
          'p',
          { 'data-field': 'nearest-item' },
          h('span', { class: 'ref' }, `nearest ${item.pool} ${refLabel(item.item)} · ${item.score.toFixed(3)}`),
          ' ',
          refText(item.item),
        )
      : null,
  );
}
