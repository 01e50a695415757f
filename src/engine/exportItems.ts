// What `serl export` writes: a run's curated instructions with their answers, in the formats other trainers
// read. The selection is the run's curated set: live (not superseded) items that passed the difficulty
// band (or trained), not vetoed; in review mode only those a person accepted. The answer is the latest
// relabel when there is one, else the majority answer; items with neither are left out.
//
// Formats, one JSON object per line:
// - jsonl: SeRL Studio's own, everything known about the item:
//   {item_id, instruction, answer, answer_source: "relabel"|"majority", agreement, step, origin}
// - openrlhf: the prompt dataset SeRL's OpenRLHF scripts read, {"problem", "answer"}; train with
//   `--prompt_data FILE --input_key problem --label_key answer` (SeRL's train_*_template.sh).
// - trl: TRL's conversational prompt-only format, {"prompt": [{"role": "user", "content"}], "answer"};
//   GRPOTrainer passes extra columns such as "answer" to the reward functions.
import type { RunPool, PoolItem } from '../core/pool';
import { itemStage } from '../core/pool';

export const EXPORT_FORMATS = ['jsonl', 'openrlhf', 'trl'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

export interface CuratedItem {
  item_id: string;
  instruction: string;
  answer: string;
  answer_source: 'relabel' | 'majority';
  agreement: number;
  step: number;
  origin: 'self-instruct' | 'seed';
}

export interface CuratedSelection {
  items: CuratedItem[];
  /** Curated items without an answer to export (no relabel, no response had an answer). */
  withoutAnswer: string[];
}

export function curatedItems(pool: RunPool, curation: 'auto' | 'review'): CuratedSelection {
  const items: CuratedItem[] = [];
  const withoutAnswer: string[] = [];
  for (const item of pool.liveItems()) {
    if (!isCurated(item, curation)) continue;
    const answer = item.label?.answer ?? item.vote?.majority ?? null;
    if (answer === null || !item.vote) {
      withoutAnswer.push(item.item_id);
      continue;
    }
    items.push({
      item_id: item.item_id,
      instruction: item.text,
      answer,
      answer_source: item.label ? 'relabel' : 'majority',
      agreement: item.vote.agreement,
      step: item.step,
      origin: item.origin.kind,
    });
  }
  return { items, withoutAnswer };
}

function isCurated(item: PoolItem, curation: 'auto' | 'review'): boolean {
  const stage = itemStage(item);
  if (stage !== 'kept' && stage !== 'trained') return false;
  if (curation === 'review') return item.review?.decision === 'accepted';
  return item.review?.decision !== 'vetoed';
}

/** One output line (without the newline) for an item in `format`. */
export function formatCuratedItem(item: CuratedItem, format: ExportFormat): string {
  switch (format) {
    case 'jsonl':
      return JSON.stringify(item);
    case 'openrlhf':
      return JSON.stringify({ problem: item.instruction, answer: item.answer });
    case 'trl':
      return JSON.stringify({ prompt: [{ role: 'user', content: item.instruction }], answer: item.answer });
  }
}
