// The playground's logic, free of `vscode` so that it is tested on its own: the seed items of a file (for
// code lenses and the pick list), sampling one item's n responses with a backend exactly as a rollout
// would (the bare instruction, the run config's sampling), the majority-vote outcome with SeRL's difficulty
// verdict and agreement with the item's own answer, and the read-only Markdown report.
import { performance } from 'node:perf_hooks';
import { answersEquivalent, extractAnswer } from '../core/answers';
import type { RunConfig } from '../core/config';
import { difficultyFilter, type DifficultyVerdict } from '../core/filters';
import { parseSeedText, seedAnswer, seedFormatForPath } from '../core/seeds';
import { voteOnAnswers } from '../core/vote';
import type { Sample } from '../protocol/worker';
import type { SamplingBackend } from './backend';

export interface PlaygroundItem {
  /** 0-based position among the JSON objects of the file (a line that is not JSON is none). */
  index: number;
  /** 0-based line the item starts on. */
  line: number;
  instruction: string;
  /** The item's reference answer, when it has one. */
  answer: string | null;
  id: string | null;
}

/** The items of a seed file that have an instruction (others are the language server's to report). */
export function playgroundItems(text: string, path: string): PlaygroundItem[] {
  return parseSeedText(text, seedFormatForPath(path)).items.flatMap((record, index): PlaygroundItem[] => {
    if (record.instruction === null) return [];
    const rawId = record.value.id;
    return [
      {
        index,
        line: record.line,
        instruction: record.instruction,
        answer: seedAnswer(record.value),
        id: typeof rawId === 'string' || typeof rawId === 'number' ? String(rawId) : null,
      },
    ];
  });
}

export interface PlaygroundSettings {
  n: number;
  temperature: number;
  top_p: number;
  max_tokens: number;
  bounds: readonly [number, number];
}

/** The rollout settings of a run config: what a training or curation run would sample for this item. */
export function playgroundSettings(config: RunConfig): PlaygroundSettings {
  return {
    n: config.n_samples_per_prompt,
    temperature: config.temperature,
    top_p: config.top_p,
    max_tokens: config.generate_max_len,
    bounds: config.filters.reward_difficulty_bounds,
  };
}

export interface PlaygroundResponse {
  text: string;
  answer: string | null;
  tokens: number;
  finish_reason: Sample['finish_reason'];
  /** In the majority group: reward 1 under majority voting. */
  inMajority: boolean;
  /** Equivalent to the item's answer; null when the item has none. */
  matchesReference: boolean | null;
}

export interface PlaygroundGroup {
  answer: string;
  count: number;
  /** Indices into `responses`. */
  members: number[];
  matchesReference: boolean | null;
}

export interface PlaygroundOutcome {
  item: PlaygroundItem;
  settings: PlaygroundSettings;
  responses: PlaygroundResponse[];
  /** Largest first; the first is the majority. */
  groups: PlaygroundGroup[];
  majority: string | null;
  agreement: number;
  difficulty: DifficultyVerdict;
  /** Whether the majority answer is the item's answer; null without one (or without a majority). */
  majorityCorrect: boolean | null;
  /** Share of responses whose answer is the item's; null without one. */
  accuracy: number | null;
  seconds: number;
}

/** Samples n responses to the item's instruction and votes on their answers. */
export async function samplePlaygroundItem(
  backend: SamplingBackend,
  item: PlaygroundItem,
  settings: PlaygroundSettings,
  signal?: AbortSignal,
): Promise<PlaygroundOutcome> {
  const started = performance.now();
  const result = await backend.sample(
    {
      // The bare instruction, as the controller's rollouts send it.
      requests: [{ id: 0, prompt: item.instruction, n: settings.n, temperature: settings.temperature, top_p: settings.top_p, max_tokens: settings.max_tokens }],
    },
    signal ? { signal } : {},
  );
  const samples = result.results[0]?.samples ?? [];
  if (samples.length !== settings.n) throw new Error(`the ${backend.kind} backend answered ${samples.length} responses where ${settings.n} were asked for`);
  const vote = voteOnAnswers(samples.map((sample) => extractAnswer(sample.text)));
  const reference = item.answer;
  const matches = (answer: string | null): boolean | null => (reference === null ? null : answer !== null && answersEquivalent(answer, reference));
  const responses = samples.map((sample, i) => ({
    text: sample.text,
    answer: vote.answers[i],
    tokens: sample.tokens,
    finish_reason: sample.finish_reason,
    inMajority: vote.rewards[i] === 1,
    matchesReference: matches(vote.answers[i]),
  }));
  const correct = responses.filter((response) => response.matchesReference === true).length;
  return {
    item,
    settings,
    responses,
    groups: vote.groups.map((group) => ({ ...group, matchesReference: matches(group.answer) })),
    majority: vote.majority,
    agreement: vote.agreement,
    difficulty: difficultyFilter(vote.agreement, settings.bounds),
    majorityCorrect: reference === null || vote.majority === null ? null : matches(vote.majority),
    accuracy: reference === null ? null : correct / responses.length,
    seconds: (performance.now() - started) / 1000,
  };
}

/** The outcome as Markdown; model text goes into code fences longer than any backtick run in it. */
export function renderPlaygroundMarkdown(outcome: PlaygroundOutcome, source: { file: string; backend: string }): string {
  const { item, settings } = outcome;
  const percent = (share: number) => `${(share * 100).toFixed(0)}%`;
  const mark = (value: boolean | null) => (value === null ? '' : value ? ' ✓ matches the item\'s answer' : ' ✗ differs from the item\'s answer');
  const lines: string[] = [
    `# Playground: item ${item.index + 1}${item.id === null ? '' : ` (${inlineCode(item.id)})`}`,
    '',
    `${source.file}, line ${item.line + 1} · ${source.backend} · n=${settings.n}, temperature ${settings.temperature}, top_p ${settings.top_p}, max_tokens ${settings.max_tokens} · ${outcome.seconds.toFixed(1)} s`,
    '',
    fenced(item.instruction),
    '',
    `Item's answer: ${item.answer === null ? '(none)' : inlineCode(item.answer)}`,
    '',
    '## Majority vote',
    '',
    `- Majority: ${outcome.majority === null ? '(no response has an extractable answer)' : inlineCode(outcome.majority)}${mark(outcome.majorityCorrect)}`,
    `- Agreement: ${percent(outcome.agreement)} (${outcome.groups[0]?.count ?? 0} of ${outcome.responses.length})`,
    `- Difficulty band [${settings.bounds[0]}, ${settings.bounds[1]}]: **${outcome.difficulty.status}** — ${outcome.difficulty.detail}`,
    ...(outcome.accuracy === null ? [] : [`- Responses matching the item's answer: ${percent(outcome.accuracy)}`]),
    '',
    '| answer | count | responses | item\'s answer |',
    '| --- | --- | --- | --- |',
    ...outcome.groups.map(
      (group) =>
        `| ${tableCell(inlineCode(group.answer))} | ${group.count} | ${group.members.map((member) => `#${member + 1}`).join(' ')} | ${group.matchesReference === null ? '' : group.matchesReference ? '✓' : '✗'} |`,
    ),
    ...(outcome.responses.some((response) => response.answer === null)
      ? [`| (no answer) | ${outcome.responses.filter((response) => response.answer === null).length} | ${outcome.responses.flatMap((response, i) => (response.answer === null ? [`#${i + 1}`] : [])).join(' ')} | |`]
      : []),
    '',
    '## Responses',
  ];
  outcome.responses.forEach((response, i) => {
    const answer = response.answer === null ? 'no answer' : `answer ${inlineCode(response.answer)}`;
    const flags = [response.inMajority ? 'majority' : null, response.matchesReference === true ? '✓' : response.matchesReference === false ? '✗' : null]
      .filter(Boolean)
      .join(', ');
    lines.push('', `### #${i + 1}: ${answer}${flags ? ` (${flags})` : ''} · ${response.tokens} tokens, ${response.finish_reason}`, '', fenced(response.text));
  });
  return lines.join('\n') + '\n';
}

function longestRun(text: string, char: string): number {
  let longest = 0;
  let current = 0;
  for (const c of text) {
    current = c === char ? current + 1 : 0;
    longest = Math.max(longest, current);
  }
  return longest;
}

function fenced(text: string): string {
  const fence = '`'.repeat(Math.max(3, longestRun(text, '`') + 1));
  return `${fence}text\n${text}\n${fence}`;
}

function inlineCode(text: string): string {
  const flat = text.replace(/\s+/g, ' ');
  const ticks = '`'.repeat(longestRun(flat, '`') + 1);
  const pad = flat.startsWith('`') || flat.endsWith('`') ? ' ' : '';
  return `${ticks}${pad}${flat}${pad}${ticks}`;
}

function tableCell(text: string): string {
  return text.replace(/\|/g, '\\|');
}
