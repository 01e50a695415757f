// For the dashboard's tests: runs written the way the controller writes them (RunWriter), with a seed file.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { defaultRunConfig } from '../../src/core/config';
import { createRun, RunWriter } from '../../src/engine/runStore';

export const SEED_TEXTS = [
  'What is the sum of 12 and 30?',
  'A train travels 60 miles in 1.5 hours. What is its average speed in miles per hour?',
  'How many positive divisors does 36 have?',
];

/** A new run in `workspace` whose config points at a seed file holding SEED_TEXTS. */
export async function createTestRun(workspace: string, runId: string, options: { review?: boolean } = {}): Promise<RunWriter> {
  const config = defaultRunConfig();
  mkdirSync(workspace, { recursive: true });
  const seeds = join(workspace, 'seeds.seed.jsonl');
  writeFileSync(seeds, SEED_TEXTS.map((problem, i) => JSON.stringify({ problem, answer: String(i) })).join('\n') + '\n');
  config.seeds = seeds;
  if (options.review) config.curation.mode = 'review';
  await createRun(workspace, config, runId);
  const writer = await RunWriter.open(workspace, runId);
  writer.startSession();
  return writer;
}

/** Emits an item that goes through the vote with `answers` as its responses' extracted answers. */
export function emitVotedItem(
  writer: RunWriter,
  itemId: string,
  step: number,
  text: string,
  answers: (string | null)[],
  options: { status?: 'kept' | 'too-easy' | 'too-hard'; responseText?: (i: number) => string; nearestSeed?: { index: number; score: number } } = {},
): void {
  writer.emit({
    type: 'item-generated',
    item_id: itemId,
    step,
    text,
    origin: { kind: 'self-instruct', prompt_id: `p${step}`, sources: [{ kind: 'seed', index: 0 }, { kind: 'seed', index: 2 }] },
  });
  const groups = new Map<string, number[]>();
  answers.forEach((answer, i) => {
    if (answer !== null) groups.set(answer, [...(groups.get(answer) ?? []), i]);
  });
  const ordered = [...groups.entries()].sort((a, b) => b[1].length - a[1].length);
  const majority = ordered[0]?.[0] ?? null;
  const agreement = majority === null ? 0 : ordered[0][1].length / answers.length;
  writer.emit({
    type: 'item-voted',
    item_id: itemId,
    step,
    reward_source: 'majority',
    majority,
    agreement,
    groups: ordered.map(([answer, members]) => ({ answer, count: members.length, members })),
    responses: answers.map((answer, i) => ({
      text: options.responseText?.(i) ?? `Response ${i}: the answer is \\boxed{${answer ?? '?'}}`,
      answer,
      reward: answer !== null && answer === majority ? 1 : 0,
      tokens: 10 + i,
      finish_reason: 'stop' as const,
    })),
    difficulty: { status: options.status ?? 'kept', detail: `agreement ${agreement.toFixed(2)}` },
    ...(options.nearestSeed ? { nearest: { pool: 'seed' as const, ref: { kind: 'seed' as const, index: options.nearestSeed.index }, score: options.nearestSeed.score } } : {}),
  });
}

/** Emits an item the rule filter dropped. */
export function emitRejectedItem(writer: RunWriter, itemId: string, step: number, text: string): void {
  writer.emit({
    type: 'item-generated',
    item_id: itemId,
    step,
    text,
    origin: { kind: 'self-instruct', prompt_id: `p${step}`, sources: [{ kind: 'seed', index: 1 }] },
  });
  writer.emit({ type: 'item-filtered', item_id: itemId, reason: 'too-short', detail: 'at most 3 words' });
}
