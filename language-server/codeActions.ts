// Quick fixes for seed-file findings, "fix all of this kind", whitespace normalisation, and source.fixAll.
import { CodeActionKind, CodeActionTriggerKind, type CodeAction, type CodeActionParams, type Diagnostic as LspDiagnostic, type TextEdit } from 'vscode-languageserver/node';
import { extractAnswer } from '../src/core/answers';
import { seedAnswer, type Range, type SeedRecord } from '../src/core/seeds';
import { normalizeWhitespace } from '../src/core/selfInstruct';
import { suggestFieldName, type DiagnosticCode } from '../src/core/validate';
import { shiftRange, type SeedDocument, type SeedEntry } from './seedDocument';
import type { SeedWorkspace } from './workspace';

export const FIX_ALL_KIND = `${CodeActionKind.SourceFixAll}.serl`;

function rangesEqual(a: Range, b: Range): boolean {
  return a.start.line === b.start.line && a.start.character === b.start.character && a.end.line === b.end.line && a.end.character === b.end.character;
}

/** A JSONL line deleted with its line break (for the last line, the break before it). */
function lineDeletion(doc: SeedDocument, line: number): TextEdit {
  if (line + 1 < doc.lineCount) return { range: { start: { line, character: 0 }, end: { line: line + 1, character: 0 } }, newText: '' };
  const end = { line, character: doc.entries[line]!.text.length };
  const start = line === 0 ? { line: 0, character: 0 } : { line: line - 1, character: doc.entries[line - 1]!.text.length };
  return { range: { start, end }, newText: '' };
}

/** An edit of a field's value (JSON-encoded), at the entry's current line; `item` is the entry's record. */
function valueEdit(entry: SeedEntry, item: SeedRecord, field: string, value: string): TextEdit {
  return { range: shiftRange(item.rangeOf(field), entry.shift), newText: JSON.stringify(value) };
}

/** Misspelt field renames of an entry: [key range, suggestion], skipping those whose target already exists. */
function fieldRenames(entry: SeedEntry): TextEdit[] {
  // A field with a suggestion always has its unknown-field finding: the others need not be parsed again.
  const item = entry.local.some((diagnostic) => diagnostic.code === 'unknown-field') ? entry.record() : null;
  if (item === null) return [];
  const edits: TextEdit[] = [];
  for (const [name, range] of item.fields()) {
    const suggestion = suggestFieldName(name);
    if (suggestion === null || suggestion in item.value) continue;
    edits.push({ range: shiftRange(range.key, entry.shift), newText: JSON.stringify(suggestion) });
  }
  return edits;
}

/** Whether `offset` of `text` is inside $…$ math (an odd number of unescaped dollars before it). */
function insideMath(text: string, offset: number): boolean {
  let dollars = 0;
  for (let i = 0; i < offset; i++) if (text[i] === '$' && text[i - 1] !== '\\') dollars++;
  return dollars % 2 === 1;
}

/**
 * The solution with its bare final answer wrapped in \boxed{}: the last standalone occurrence of the
 * item's "answer" (else of the answer extracted from the solution); null when the solution has a \boxed{}
 * already or the answer does not occur in it.
 */
export function wrapFinalAnswer(solution: string, answer: string | null): string | null {
  if (/\\(boxed|fbox)(?![A-Za-z])/.test(solution)) return null;
  const target = (answer ?? extractAnswer(solution))?.trim();
  if (!target) return null;
  for (let at = solution.lastIndexOf(target); at >= 0; at = at === 0 ? -1 : solution.lastIndexOf(target, at - 1)) {
    const before = solution[at - 1] ?? ' ';
    const after = solution[at + target.length] ?? ' ';
    if (/[A-Za-z0-9.]/.test(before) || /[A-Za-z0-9]/.test(after)) continue;
    const boxed = insideMath(solution, at) ? `\\boxed{${target}}` : `$\\boxed{${target}}$`;
    return solution.slice(0, at) + boxed + solution.slice(at + target.length);
  }
  return null;
}

function wrapEdit(entry: SeedEntry): TextEdit | null {
  const item = entry.record();
  const solution = item?.value.solution;
  if (item === null || typeof solution !== 'string') return null;
  const wrapped = wrapFinalAnswer(solution, seedAnswer(item.value));
  return wrapped === null ? null : valueEdit(entry, item, 'solution', wrapped);
}

function whitespaceEdit(entry: SeedEntry): TextEdit | null {
  if (entry.instruction === null) return null;
  const normalized = normalizeWhitespace(entry.instruction);
  if (normalized === entry.instruction) return null;
  const item = entry.record()!;
  return valueEdit(entry, item, item.instructionField!, normalized);
}

function action(title: string, kind: string, uri: string, edits: TextEdit[], diagnostics?: LspDiagnostic[], preferred = false): CodeAction {
  const result: CodeAction = { title, kind, edit: { changes: { [uri]: edits } } };
  if (diagnostics !== undefined) result.diagnostics = diagnostics;
  if (preferred) result.isPreferred = true;
  return result;
}

/** The entries of `doc` that are exact duplicates (JSONL: their lines can be removed). */
function duplicateEntries(workspace: SeedWorkspace, doc: SeedDocument): SeedEntry[] {
  return doc.entries.filter((entry) => workspace.tracker.firstOccurrence(entry) !== null);
}

function fixOne(doc: SeedDocument, diagnostic: LspDiagnostic): CodeAction | null {
  const entry = doc.entryAt(diagnostic.range.start.line);
  if (entry === null || !entry.isItem) return null;
  switch (diagnostic.code as DiagnosticCode) {
    case 'duplicate':
    case 'near-duplicate': {
      if (doc.format !== 'jsonl') return null;
      const what = diagnostic.code === 'duplicate' ? 'duplicate' : 'near-duplicate';
      return action(`Remove this ${what} line`, CodeActionKind.QuickFix, doc.uri, [lineDeletion(doc, entry.index)], [diagnostic], diagnostic.code === 'duplicate');
    }
    case 'unknown-field': {
      const edit = fieldRenames(entry).find((candidate) => rangesEqual(candidate.range, diagnostic.range));
      if (edit === undefined) return null;
      return action(`Rename the field to ${edit.newText}`, CodeActionKind.QuickFix, doc.uri, [edit], [diagnostic], true);
    }
    case 'answer-not-extractable':
    case 'answer-mismatch': {
      const edit = wrapEdit(entry);
      if (edit === null) return null;
      return action('Wrap the final answer in \\boxed{} in the solution', CodeActionKind.QuickFix, doc.uri, [edit], [diagnostic], true);
    }
    default:
      return null;
  }
}

/** "Fix all of this kind" for a code, when the document has more than one such finding to fix. */
function fixAllOfKind(workspace: SeedWorkspace, doc: SeedDocument, code: DiagnosticCode): CodeAction | null {
  let edits: TextEdit[];
  let title: string;
  switch (code) {
    case 'duplicate':
      if (doc.format !== 'jsonl') return null;
      edits = duplicateEntries(workspace, doc).map((entry) => lineDeletion(doc, entry.index));
      title = `Remove all ${edits.length} duplicate lines (keep each first occurrence)`;
      break;
    case 'unknown-field':
      edits = doc.entries.flatMap(fieldRenames);
      title = `Rename all ${edits.length} misspelled fields`;
      break;
    case 'answer-not-extractable':
    case 'answer-mismatch':
      edits = doc.entries.flatMap((entry) => wrapEdit(entry) ?? []);
      title = `Wrap the final answer in \\boxed{} in all ${edits.length} solutions that lack one`;
      break;
    default:
      return null;
  }
  return edits.length > 1 ? action(title, CodeActionKind.QuickFix, doc.uri, mergeLineDeletions(edits)) : null;
}

/** Deletions of adjacent lines touch at line starts; LSP allows that, but the last line's may overlap its neighbour's. */
function mergeLineDeletions(edits: TextEdit[]): TextEdit[] {
  return edits.filter((edit, k) => k === 0 || !rangesOverlap(edits[k - 1]!.range, edit.range));
}

function rangesOverlap(a: Range, b: Range): boolean {
  const before = (p: Range['start'], q: Range['start']) => p.line < q.line || (p.line === q.line && p.character < q.character);
  return before(b.start, a.end) && before(a.start, b.end);
}

/** Safe fixes for the whole document: misspelt field names, whitespace in instructions, \boxed{} answers. */
function fixAllEdits(doc: SeedDocument): TextEdit[] {
  return doc.entries.flatMap((entry) => {
    const edits = fieldRenames(entry);
    const whitespace = whitespaceEdit(entry);
    if (whitespace !== null) edits.push(whitespace);
    const wrap = wrapEdit(entry);
    if (wrap !== null) edits.push(wrap);
    return edits;
  });
}

function wanted(only: readonly string[] | undefined, kind: string): boolean {
  return only === undefined || only.some((prefix) => kind === prefix || kind.startsWith(`${prefix}.`));
}

export function seedCodeActions(workspace: SeedWorkspace, doc: SeedDocument, params: CodeActionParams): CodeAction[] {
  const only = params.context.only;
  // Asked automatically (the light bulb, as the cursor moves), the whole-document source actions are left
  // out: editors do not show them there, and on a large file they cost a scan and megabytes per request.
  const automatic = params.context.triggerKind === CodeActionTriggerKind.Automatic && only === undefined;
  const actions: CodeAction[] = [];
  if (wanted(only, CodeActionKind.QuickFix)) {
    const kinds = new Set<DiagnosticCode>();
    for (const diagnostic of params.context.diagnostics) {
      if (diagnostic.source !== 'serl') continue;
      const fix = fixOne(doc, diagnostic);
      if (fix !== null) actions.push(fix);
      kinds.add(diagnostic.code as DiagnosticCode);
    }
    for (const code of kinds) {
      const all = fixAllOfKind(workspace, doc, code);
      if (all !== null) actions.push(all);
    }
  }
  if (wanted(only, CodeActionKind.RefactorRewrite)) {
    const entry = doc.entryAt(params.range.start.line);
    const edit = entry === null ? null : whitespaceEdit(entry);
    if (edit !== null) actions.push(action('Normalise whitespace in the instruction', CodeActionKind.RefactorRewrite, doc.uri, [edit]));
  }
  if (automatic) return actions;
  if (wanted(only, CodeActionKind.Source)) {
    const whitespace = doc.entries.flatMap((entry) => whitespaceEdit(entry) ?? []);
    if (whitespace.length > 0) actions.push(action(`Normalise whitespace in all ${whitespace.length} instructions`, CodeActionKind.Source, doc.uri, whitespace));
  }
  if (wanted(only, FIX_ALL_KIND)) {
    const edits = fixAllEdits(doc);
    if (edits.length > 0) actions.push(action('Fix all safe seed-file problems (field names, whitespace, \\boxed{} answers)', FIX_ALL_KIND, doc.uri, edits));
  }
  return actions;
}

