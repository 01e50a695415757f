// "Promote Accepted Items to Seeds": the items a person accepted in a run, each with its answer (the latest
// relabel, else the majority answer), appended to a seed file, so the next run starts from them.
//
// Nothing already in the file is added again: an item whose instruction equals a seed's up to whitespace
// and case (the validator's `duplicate`) is skipped, as is a repeat among the accepted items. In a file that
// declares answers (core/validate.ts), an item without one would be an error and is left out. New items use
// the file's instruction field name ("problem" unless its first item uses another) and an id
// "<run-id>/<item-id>" that says where they came from. JSONL files are appended to; a .json file is edited
// in place, keeping its formatting.
import { readFile, appendFile, writeFile } from 'node:fs/promises';
import { findNodeAtLocation, parseTree } from 'jsonc-parser';
import type { RunPool } from '../core/pool';
import { parseSeedText, seedFormatForPath, type InstructionField } from '../core/seeds';
import { normalizeWhitespace } from '../core/selfInstruct';
import { declaresAnswers } from '../core/validate';

export interface PromotionResult {
  file: string;
  /** Item ids appended, in run order. */
  added: string[];
  /** Accepted items whose instruction the file already had. */
  duplicates: string[];
  /** Accepted items without an answer, left out of a file that declares answers. */
  withoutAnswer: string[];
}

export async function promoteAcceptedItems(pool: RunPool, runId: string, seedFile: string): Promise<PromotionResult> {
  let text: string;
  try {
    text = await readFile(seedFile, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw new Error(`${seedFile}: cannot read: ${(error as Error).message}`);
    text = '';
  }
  const format = seedFormatForPath(seedFile);
  const parsed = parseSeedText(text, format);
  const fatal = parsed.problems.find((problem) => problem.code === 'not-an-array' || (format === 'json' && problem.code === 'json-syntax'));
  if (fatal && text.trim() !== '') {
    const { line, character } = fatal.range.start;
    throw new Error(`${seedFile}:${line + 1}:${character + 1}: ${fatal.message}; fix the file before adding items to it`);
  }
  const seen = new Set(parsed.items.flatMap((item) => (item.instruction === null ? [] : [duplicateKey(item.instruction)])));
  const answersRequired = declaresAnswers(parsed.items);
  const field: InstructionField = parsed.items.find((item) => item.instructionField !== null)?.instructionField ?? 'problem';

  const result: PromotionResult = { file: seedFile, added: [], duplicates: [], withoutAnswer: [] };
  const newItems: Record<string, string>[] = [];
  for (const item of pool.acceptedItems()) {
    const key = duplicateKey(item.text);
    const answer = item.label?.answer ?? item.vote?.majority ?? null;
    if (seen.has(key)) {
      result.duplicates.push(item.item_id);
    } else if (answer === null && answersRequired) {
      result.withoutAnswer.push(item.item_id);
    } else {
      seen.add(key);
      result.added.push(item.item_id);
      newItems.push({ id: `${runId}/${item.item_id}`, [field]: item.text, ...(answer === null ? {} : { answer }) });
    }
  }
  if (newItems.length === 0) return result;

  if (format === 'jsonl') {
    const separator = text === '' || text.endsWith('\n') ? '' : '\n';
    await appendFile(seedFile, separator + newItems.map((item) => `${JSON.stringify(item)}\n`).join(''));
  } else {
    await writeFile(seedFile, insertIntoJsonArray(text, newItems));
  }
  return result;
}

function duplicateKey(instruction: string): string {
  return normalizeWhitespace(instruction).toLowerCase();
}

/**
 * Appends to the array a .json seed file holds (top level, or its "items" or "data" field), one item per
 * line after the last one, with its indentation; the rest of the file is left byte for byte.
 */
function insertIntoJsonArray(text: string, items: readonly object[]): string {
  if (text.trim() === '') return `${JSON.stringify(items, null, 2)}\n`;
  const tree = parseTree(text);
  const array = tree && (tree.type === 'array' ? tree : (findNodeAtLocation(tree, ['items']) ?? findNodeAtLocation(tree, ['data'])));
  if (!array || array.type !== 'array') throw new Error('no seed array (checked before)');
  const last = array.children?.at(-1);
  if (!last) {
    const replacement = JSON.stringify(items, null, 2);
    return text.slice(0, array.offset) + replacement + text.slice(array.offset + array.length);
  }
  const lineStart = text.lastIndexOf('\n', last.offset) + 1;
  const before = text.slice(lineStart, last.offset);
  const separator = /^[ \t]*$/.test(before) ? `\n${before}` : ' ';
  const end = last.offset + last.length;
  return text.slice(0, end) + items.map((item) => `,${separator}${JSON.stringify(item)}`).join('') + text.slice(end);
}
