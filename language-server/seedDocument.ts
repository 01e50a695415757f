// The document model: a seed file as a list of entries (one per JSONL line, one per item of a .json file),
// each holding what depends on its own text alone — the parse, the item checks, the duplicate key — so an
// edit re-parses only the lines it touched. Cross-item findings (duplicates, missing answers) live in
// duplicates.ts and are added when a document's diagnostics are assembled.
import { TextDocument, type TextDocumentContentChangeEvent } from 'vscode-languageserver-textdocument';
import { parseSeedJson, parseSeedLine, type Range, type SeedFormat, type SeedProblem, type SeedRecord } from '../src/core/seeds';
import { byPosition, checkSeedItem, duplicateKey, hasAnswer, type Diagnostic } from '../src/core/validate';
import type { NearLink } from './duplicates';

/** One item (or, in JSONL, one line, blank and broken ones included). */
export class SeedEntry {
  /** The line (JSONL) or the item's position in the array (JSON); kept current as lines move. */
  index: number;
  /** Duplicate state, owned by DuplicateTracker. */
  distinct = false;
  handle = -1;
  near: NearLink | null = null;
  readonly nearOf = new Set<SeedEntry>();

  constructor(
    readonly doc: SeedDocument,
    /** The line text (JSONL) or '' (JSON, where the document is parsed whole). */
    readonly text: string,
    /** The line number `item` and `local` were computed at: ranges shift by index − parsedAt. */
    readonly parsedAt: number,
    readonly item: SeedRecord | null,
    /** Parse problems and the item's own checks, sorted, at line `parsedAt`. */
    readonly local: readonly Diagnostic[],
    /** Whitespace-normalised instruction, or null without one. */
    readonly normalized: string | null,
  ) {
    this.index = parsedAt;
    this.key = normalized === null ? null : duplicateKey(normalized);
    this.answered = item !== null && hasAnswer(item);
  }

  /** The exact-duplicate key (null without an instruction), and whether the item has an answer: cached, as every publication reads them for every entry. */
  readonly key: string | null;
  readonly answered: boolean;

  /** Lines to add to ranges computed at parse time. */
  get shift(): number {
    return this.index - this.parsedAt;
  }
}

function problemDiagnostic(problem: SeedProblem): Diagnostic {
  return { range: problem.range, severity: problem.severity, code: problem.code, message: problem.message };
}

function itemDiagnostics(item: SeedRecord | null): { diagnostics: Diagnostic[]; normalized: string | null } {
  return item === null ? { diagnostics: [], normalized: null } : checkSeedItem(item);
}

export function shiftRange(range: Range, lines: number): Range {
  if (lines === 0) return range;
  return { start: { line: range.start.line + lines, character: range.start.character }, end: { line: range.end.line + lines, character: range.end.character } };
}

/** A cached diagnostic moved down by `lines` (its related information is on the same item). */
export function shiftDiagnostic(diagnostic: Diagnostic, lines: number): Diagnostic {
  if (lines === 0) return diagnostic;
  const shifted: Diagnostic = { ...diagnostic, range: shiftRange(diagnostic.range, lines) };
  if (diagnostic.related !== undefined) {
    shifted.related = diagnostic.related.map((related) => (related.file === undefined ? { ...related, range: shiftRange(related.range, lines) } : related));
  }
  return shifted;
}

/** What an edit did to a document's entries. */
export interface EntryChanges {
  removed: SeedEntry[];
  added: SeedEntry[];
  /** Whether entries after the edit moved (messages elsewhere naming their lines must be refreshed). */
  moved: boolean;
}

const LINE_BREAK = /\r\n|\n|\r/;

export class SeedDocument {
  entries: SeedEntry[] = [];
  /** Problems of a .json document that belong to no item (syntax, not an array, items that are no objects). */
  documentProblems: Diagnostic[] = [];
  private textDocument: TextDocument;

  constructor(
    readonly uri: string,
    readonly format: SeedFormat,
    /** How messages in other files name this one (a workspace-relative path). */
    readonly name: string,
    text: string,
    /** The client's version while the client has the document open; null for a file read from disk. */
    public version: number | null,
  ) {
    this.textDocument = TextDocument.create(uri, format, version ?? 0, text);
    this.reparseAll();
  }

  get text(): string {
    return this.textDocument.getText();
  }

  get lineCount(): number {
    return this.textDocument.lineCount;
  }

  offsetAt(position: { line: number; character: number }): number {
    return this.textDocument.offsetAt(position);
  }

  positionAt(offset: number): { line: number; character: number } {
    return this.textDocument.positionAt(offset);
  }

  /** The entry whose item covers `line`, or null. */
  entryAt(line: number): SeedEntry | null {
    if (this.format === 'jsonl') return this.entries[line] ?? null;
    return this.entries.find((entry) => entry.item !== null && entry.item.range.start.line <= line && line <= entry.item.range.end.line) ?? null;
  }

  /** Applies the client's changes in order; JSONL re-parses only the lines they touch. */
  applyChanges(changes: readonly TextDocumentContentChangeEvent[], version: number | null): EntryChanges {
    this.version = version;
    if (this.format === 'json') {
      this.textDocument = TextDocument.update(this.textDocument, [...changes], version ?? 0);
      return this.replaceAllEntries();
    }
    const removed = new Set<SeedEntry>();
    const added = new Set<SeedEntry>();
    let moved = false;
    for (const change of changes) {
      if (!('range' in change)) {
        const result = this.replaceText(change.text, version);
        result.removed.forEach((entry) => (added.delete(entry) ? undefined : removed.add(entry)));
        result.added.forEach((entry) => added.add(entry));
        moved ||= result.moved;
        continue;
      }
      const oldLineCount = this.textDocument.lineCount;
      const first = Math.min(change.range.start.line, oldLineCount - 1);
      const last = Math.min(change.range.end.line, oldLineCount - 1);
      this.textDocument = TextDocument.update(this.textDocument, [change], version ?? 0);
      const newCount = last - first + 1 + (this.textDocument.lineCount - oldLineCount);
      const { gone, made } = this.spliceLines(first, last - first + 1, newCount);
      gone.forEach((entry) => (added.delete(entry) ? undefined : removed.add(entry)));
      made.forEach((entry) => added.add(entry));
      moved ||= newCount !== last - first + 1;
    }
    return { removed: [...removed], added: [...added], moved };
  }

  /** Replaces the whole text (a reload from disk, a full sync); JSONL keeps the entries of unchanged lines. */
  replaceText(text: string, version: number | null): EntryChanges {
    this.version = version;
    const oldLines = this.entries.map((entry) => entry.text);
    this.textDocument = TextDocument.create(this.uri, this.format, version ?? 0, text);
    if (this.format === 'json') return this.replaceAllEntries();
    const newLines = text.split(LINE_BREAK);
    let prefix = 0;
    while (prefix < oldLines.length && prefix < newLines.length && oldLines[prefix] === newLines[prefix]) prefix++;
    let suffix = 0;
    while (suffix < oldLines.length - prefix && suffix < newLines.length - prefix && oldLines[oldLines.length - 1 - suffix] === newLines[newLines.length - 1 - suffix]) suffix++;
    const removedCount = oldLines.length - prefix - suffix;
    const addedCount = newLines.length - prefix - suffix;
    const { gone, made } = this.spliceLines(prefix, removedCount, addedCount, newLines.slice(prefix, prefix + addedCount));
    return { removed: gone, added: made, moved: removedCount !== addedCount };
  }

  /** Replaces `oldCount` entries at `first` with `newCount` entries parsed from the current text (or `texts`). */
  private spliceLines(first: number, oldCount: number, newCount: number, texts?: string[]): { gone: SeedEntry[]; made: SeedEntry[] } {
    const made: SeedEntry[] = [];
    for (let k = 0; k < newCount; k++) made.push(this.parseLine(first + k, texts?.[k] ?? this.lineText(first + k)));
    const gone = this.entries.splice(first, oldCount, ...made);
    if (newCount !== oldCount) for (let line = first + newCount; line < this.entries.length; line++) this.entries[line]!.index = line;
    return { gone, made };
  }

  private lineText(line: number): string {
    const start = this.textDocument.offsetAt({ line, character: 0 });
    const end = line + 1 < this.textDocument.lineCount ? this.textDocument.offsetAt({ line: line + 1, character: 0 }) : this.textDocument.getText().length;
    const text = this.textDocument.getText().slice(start, end);
    return text.replace(/(\r\n|\n|\r)$/, '');
  }

  private parseLine(line: number, text: string): SeedEntry {
    const { item, problems } = parseSeedLine(text, line);
    const checked = itemDiagnostics(item);
    const local = problems.map(problemDiagnostic).concat(checked.diagnostics).sort(byPosition);
    return new SeedEntry(this, text, line, item, local, checked.normalized);
  }

  private replaceAllEntries(): EntryChanges {
    const removed = this.entries;
    this.reparseAll();
    return { removed, added: this.entries, moved: true };
  }

  private reparseAll(): void {
    const text = this.textDocument.getText();
    if (this.format === 'jsonl') {
      this.entries = text.split(LINE_BREAK).map((line, index) => this.parseLine(index, line));
      return;
    }
    const parsed = parseSeedJson(text);
    this.documentProblems = parsed.problems.map(problemDiagnostic);
    this.entries = parsed.items.map((item, index) => {
      const checked = itemDiagnostics(item);
      return new SeedEntry(this, '', index, item, checked.diagnostics, checked.normalized);
    });
  }
}
