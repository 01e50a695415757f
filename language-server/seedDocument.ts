// The document model: a seed file as a list of entries (one per JSONL line, one per item of a .json file),
// each holding what depends on its own text alone — the parse, the item checks, the duplicate key — so an
// edit re-parses only the lines it touched. Cross-item findings (duplicates, missing answers) live in
// duplicates.ts and are added when a document's diagnostics are assembled.
import { TextDocument, type TextDocumentContentChangeEvent } from 'vscode-languageserver-textdocument';
import { parseSeedJson, parseSeedLine, type Range, type SeedFormat, type SeedProblem, type SeedRecord } from '../src/core/seeds';
import { byPosition, checkSeedItem, duplicateKey, hasAnswer, type Diagnostic } from '../src/core/validate';
import type { DuplicateGroup, NearLink } from './duplicates';

/** One item (or, in JSONL, one line, blank and broken ones included). */
export class SeedEntry {
  /** The line (JSONL) or the item's position in the array (JSON); kept current as lines move. */
  index: number;
  /** Duplicate state, owned by DuplicateTracker (nearOf is made on the first link: most entries have none). */
  distinct = false;
  handle = -1;
  group: DuplicateGroup | null = null;
  near: NearLink | null = null;
  nearOf: Set<SeedEntry> | null = null;

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

const NO_DIAGNOSTICS: readonly Diagnostic[] = Object.freeze([]);

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

/**
 * A seed document. JSONL is held as its lines only: an edit splices the lines it touches, so its cost does
 * not grow with the file (a whole-text buffer would copy megabytes per keystroke). A .json document is one
 * JSON value, held as text and parsed whole on each change.
 */
export class SeedDocument {
  entries: SeedEntry[] = [];
  /** Problems of a .json document that belong to no item (syntax, not an array, items that are no objects). */
  documentProblems: Diagnostic[] = [];
  /** The text of a .json document (null for JSONL, whose text is its entries' lines). */
  private jsonDocument: TextDocument | null = null;

  constructor(
    readonly uri: string,
    readonly format: SeedFormat,
    /** How messages in other files name this one (a workspace-relative path). */
    readonly name: string,
    text: string,
    /** The client's version while the client has the document open; null for a file read from disk. */
    public version: number | null,
  ) {
    this.setText(text);
  }

  /** The text, JSONL lines joined with \n. */
  get text(): string {
    return this.jsonDocument?.getText() ?? this.entries.map((entry) => entry.text).join('\n');
  }

  get lineCount(): number {
    return this.jsonDocument?.lineCount ?? this.entries.length;
  }

  /** Offsets of a .json document's text (JSONL documents are addressed by line and character only). */
  offsetAt(position: { line: number; character: number }): number {
    return this.json().offsetAt(position);
  }

  positionAt(offset: number): { line: number; character: number } {
    return this.json().positionAt(offset);
  }

  private json(): TextDocument {
    if (this.jsonDocument === null) throw new Error(`${this.uri} is JSONL: it has lines, not offsets`);
    return this.jsonDocument;
  }

  /** The entry whose item covers `line`, or null. */
  entryAt(line: number): SeedEntry | null {
    if (this.format === 'jsonl') return this.entries[line] ?? null;
    return this.entries.find((entry) => entry.item !== null && entry.item.range.start.line <= line && line <= entry.item.range.end.line) ?? null;
  }

  /** Applies the client's changes in order; JSONL re-parses only the lines they touch. */
  applyChanges(changes: readonly TextDocumentContentChangeEvent[], version: number | null): EntryChanges {
    this.version = version;
    if (this.jsonDocument !== null) {
      this.jsonDocument = TextDocument.update(this.jsonDocument, [...changes], version ?? 0);
      return this.replaceAllEntries();
    }
    const removed = new Set<SeedEntry>();
    const added = new Set<SeedEntry>();
    let moved = false;
    const record = (result: EntryChanges) => {
      // An entry made by an earlier change of the batch and replaced by a later one was never seen.
      result.removed.forEach((entry) => (added.delete(entry) ? undefined : removed.add(entry)));
      result.added.forEach((entry) => added.add(entry));
      moved ||= result.moved;
    };
    for (const change of changes) {
      if (!('range' in change)) {
        record(this.replaceText(change.text, version));
        continue;
      }
      const { start, end } = change.range;
      const last = this.entries.length - 1;
      const first = Math.max(0, Math.min(start.line, last));
      const final = Math.max(first, Math.min(end.line, last));
      const head = this.entries[first]!.text.slice(0, start.line > last ? undefined : start.character);
      const tail = end.line > last ? '' : this.entries[final]!.text.slice(end.character);
      const lines = (head + change.text + tail).split(LINE_BREAK);
      record(this.spliceLines(first, final - first + 1, lines));
    }
    return { removed: [...removed], added: [...added], moved };
  }

  /** Replaces the whole text (a reload from disk, a full sync); JSONL keeps the entries of unchanged lines. */
  replaceText(text: string, version: number | null): EntryChanges {
    this.version = version;
    if (this.jsonDocument !== null) {
      this.jsonDocument = TextDocument.create(this.uri, this.format, version ?? 0, text);
      return this.replaceAllEntries();
    }
    const oldLines = this.entries.map((entry) => entry.text);
    const newLines = text.split(LINE_BREAK);
    let prefix = 0;
    while (prefix < oldLines.length && prefix < newLines.length && oldLines[prefix] === newLines[prefix]) prefix++;
    let suffix = 0;
    while (suffix < oldLines.length - prefix && suffix < newLines.length - prefix && oldLines[oldLines.length - 1 - suffix] === newLines[newLines.length - 1 - suffix]) suffix++;
    return this.spliceLines(prefix, oldLines.length - prefix - suffix, newLines.slice(prefix, newLines.length - suffix));
  }

  /** Replaces `oldCount` entries at `first` with entries parsed from `texts`. */
  private spliceLines(first: number, oldCount: number, texts: readonly string[]): EntryChanges {
    const made = texts.map((text, k) => this.parseLine(first + k, text));
    const gone = this.entries.slice(first, first + oldCount);
    // Rebuilt rather than spliced: a paste of a few hundred thousand lines as splice arguments overflows the stack.
    this.entries = this.entries.slice(0, first).concat(made, this.entries.slice(first + oldCount));
    const moved = texts.length !== oldCount;
    if (moved) for (let line = first + texts.length; line < this.entries.length; line++) this.entries[line]!.index = line;
    return { removed: gone, added: made, moved };
  }

  private parseLine(line: number, text: string): SeedEntry {
    const { item, problems } = parseSeedLine(text, line);
    const checked = itemDiagnostics(item);
    // Most lines have no finding: they share one empty list rather than allocating three.
    const local = problems.length === 0 ? (checked.diagnostics.length === 0 ? NO_DIAGNOSTICS : checked.diagnostics.sort(byPosition)) : problems.map(problemDiagnostic).concat(checked.diagnostics).sort(byPosition);
    return new SeedEntry(this, text, line, item, local, checked.normalized);
  }

  private setText(text: string): void {
    if (this.format === 'jsonl') {
      this.entries = text.split(LINE_BREAK).map((line, index) => this.parseLine(index, line));
      return;
    }
    this.jsonDocument = TextDocument.create(this.uri, this.format, this.version ?? 0, text);
    this.reparseJson();
  }

  private replaceAllEntries(): EntryChanges {
    const removed = this.entries;
    this.reparseJson();
    return { removed, added: this.entries, moved: true };
  }

  private reparseJson(): void {
    const parsed = parseSeedJson(this.json().getText());
    this.documentProblems = parsed.problems.map(problemDiagnostic);
    this.entries = parsed.items.map((item, index) => {
      const checked = itemDiagnostics(item);
      return new SeedEntry(this, '', index, item, checked.diagnostics, checked.normalized);
    });
  }
}
