// Hover, completion of field names and document symbols for seed files.
import { findNodeAtOffset, getLocation, parseTree, type Node as JsonNode } from 'jsonc-parser';
import { CompletionItemKind, MarkupKind, SymbolKind, type CompletionItem, type DocumentSymbol, type Hover, type Position } from 'vscode-languageserver/node';
import { answerKey, answersEquivalent, extractAnswer } from '../src/core/answers';
import { INSTRUCTION_FIELDS, JSON_PARSE_OPTIONS, KNOWN_SEED_FIELDS, seedAnswer, tooDeepAt, type SeedRecord } from '../src/core/seeds';
import { normalizeWhitespace } from '../src/core/selfInstruct';
import { shiftRange, type SeedDocument, type SeedEntry } from './seedDocument';
import type { SeedWorkspace } from './workspace';

const FIELD_DOCS: Record<(typeof KNOWN_SEED_FIELDS)[number], string> = {
  problem: 'The instruction (problem statement). The first of "problem", "question", "instruction" holding text is used.',
  question: 'The instruction, when the item has no "problem".',
  instruction: 'The instruction, when the item has neither "problem" nor "question".',
  answer: 'The reference answer (string or number); used by ground-truth runs and checked against the solution.',
  solution: 'A worked solution; its final answer (\\boxed{…}) must be equivalent to "answer".',
  id: 'An identifier (string or number), shown as the item\'s symbol name.',
};

function escapeMarkdown(text: string): string {
  return text.replace(/[\\`*_{}[\]()#+\-.!|<>]/g, '\\$&');
}

function code(text: string): string {
  const clipped = text.length > 200 ? `${text.slice(0, 200)}…` : text;
  const fence = clipped.includes('`') ? '``' : '`';
  return `${fence} ${clipped.replace(/\s+/g, ' ')} ${fence}`;
}

function where(other: SeedEntry, of: SeedEntry): string {
  const line = other.instructionRange().start.line + 1;
  return other.doc === of.doc ? `line ${line}` : `${escapeMarkdown(other.doc.name)}:${line}`;
}

/** The instruction with whitespace collapsed, as the rule filters and the duplicate key see it; null without one. */
function normalizedInstruction(item: SeedRecord): string | null {
  return item.instruction === null ? null : normalizeWhitespace(item.instruction);
}

export function seedHover(workspace: SeedWorkspace, doc: SeedDocument, position: Position): Hover | null {
  const entry = doc.entryAt(position.line);
  const item = entry?.record() ?? null;
  if (entry === null || item === null) return null;
  const normalized = normalizedInstruction(item);
  const lines: string[] = [];
  if (normalized !== null) {
    const words = normalized === '' ? 0 : normalized.split(' ').length;
    lines.push(`**Seed item** · ${words} word${words === 1 ? '' : 's'} (SeRL keeps 4–150)`);
  } else {
    lines.push('**Seed item** · no instruction');
  }
  const answer = seedAnswer(item.value);
  const solution = item.value.solution;
  const extracted = typeof solution === 'string' ? extractAnswer(solution) : null;
  if (answer !== null) lines.push(`- answer: ${code(answer)}`);
  if (typeof solution === 'string') {
    if (extracted === null) lines.push('- solution: no final answer can be extracted');
    else {
      const agrees = answer === null ? '' : answerKey(answer) === answerKey(extracted) || answersEquivalent(answer, extracted) ? ' (equivalent to the answer)' : ' (**not** equivalent to the answer)';
      lines.push(`- solution's final answer: ${code(extracted)}${agrees}`);
    }
  }
  const first = workspace.tracker.firstOccurrence(entry);
  if (first !== null) lines.push(`- exact duplicate of ${where(first, entry)}`);
  else if (normalized !== null) {
    const nearest = workspace.tracker.nearestNeighbour(entry);
    if (nearest === null) lines.push('- nearest neighbour: none (no other seed item shares a word)');
    else if (nearest === 'pending') lines.push('- nearest neighbour: the near-duplicate search is still running');
    else {
      const flag = nearest.score > workspace.threshold ? ` — above the near-duplicate threshold ${workspace.threshold}` : '';
      lines.push(`- nearest neighbour: ${where(nearest.other, entry)}, ROUGE-L ${nearest.score.toFixed(3)}${flag}`);
    }
  }
  return { contents: { kind: MarkupKind.Markdown, value: lines.join('\n') }, range: shiftRange(item.range, entry.shift) };
}

/** The innermost object around `offset` of a JSON tree. */
function objectAround(root: JsonNode | undefined, offset: number): JsonNode | undefined {
  let node = root === undefined ? undefined : findNodeAtOffset(root, offset, true);
  while (node !== undefined && node.type !== 'object') node = node.parent;
  return node;
}

/**
 * Field names for a key position of an item object: the known fields it lacks. In JSONL the item is the
 * line's top-level object; in a .json file, an element of the item array.
 */
export function seedCompletions(doc: SeedDocument, position: Position): CompletionItem[] {
  let text: string;
  let offset: number;
  let line = 0;
  if (doc.format === 'jsonl') {
    text = doc.entries[position.line]?.text ?? '';
    offset = Math.min(position.character, text.length);
    line = position.line;
  } else {
    text = doc.text;
    offset = doc.offsetAt(position);
  }
  if (tooDeepAt(text) >= 0) return [];
  const location = getLocation(text, offset);
  if (!location.isAtPropertyKey) return [];
  const depth = doc.format === 'jsonl' ? 1 : location.path[0] === 'items' || location.path[0] === 'data' ? 3 : 2;
  if (location.path.length !== depth) return [];
  const tree = parseTree(text, [], JSON_PARSE_OPTIONS);
  const object = objectAround(tree, offset);
  const present = new Set((object?.children ?? []).map((property) => property.children?.[0]?.value as string));
  // Replace the key being typed (quotes included) when there is one; else insert a quoted key and a colon.
  const at = tree === undefined ? undefined : findNodeAtOffset(tree, offset, true);
  const key = at?.type === 'string' && at.parent?.type === 'property' && at.parent.children?.[0] === at ? at : undefined;
  if (key !== undefined) present.delete(key.value as string);
  const toPosition = (at: number): Position => (doc.format === 'jsonl' ? { line, character: at } : doc.positionAt(at));
  const hasInstruction = INSTRUCTION_FIELDS.some((field) => present.has(field));
  return KNOWN_SEED_FIELDS.filter((field) => !present.has(field) && !(hasInstruction && (INSTRUCTION_FIELDS as readonly string[]).includes(field))).map(
    (field, rank): CompletionItem => {
      const range = key === undefined ? { start: position, end: position } : { start: toPosition(key.offset), end: toPosition(key.offset + key.length) };
      return {
        label: field,
        kind: CompletionItemKind.Property,
        detail: 'seed item field',
        documentation: FIELD_DOCS[field],
        sortText: String(rank).padStart(2, '0'),
        filterText: `"${field}"`,
        textEdit: { range, newText: key === undefined ? `"${field}": ` : `"${field}"` },
      };
    },
  );
}

const SYMBOL_WORDS = 8;

function symbolName(item: SeedRecord): string {
  const words = normalizedInstruction(item)?.split(' ') ?? [];
  const firstWords = words.length === 0 ? '(no instruction)' : words.slice(0, SYMBOL_WORDS).join(' ') + (words.length > SYMBOL_WORDS ? ' …' : '');
  const id = item.value.id;
  return typeof id === 'string' || typeof id === 'number' ? `${id}: ${firstWords}` : firstWords;
}

export function seedSymbols(doc: SeedDocument): DocumentSymbol[] {
  return doc.entries.flatMap((entry): DocumentSymbol[] => {
    const item = entry.record();
    if (item === null) return [];
    const range = shiftRange(item.range, entry.shift);
    const selectionRange = entry.instructionRange(item);
    return [{ name: symbolName(item), detail: `line ${range.start.line + 1}`, kind: SymbolKind.Object, range, selectionRange }];
  });
}
