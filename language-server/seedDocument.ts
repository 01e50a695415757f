// The document model: a seed file as a list of entries (one per JSONL line, one per item of a .json file),
// each holding what depends on its own text alone — the parse, the item checks, the duplicate key — so an
// edit re-parses only the lines it touched. Cross-item findings (duplicates, missing answers) live in
// duplicates.ts and are added when a document's diagnostics are assembled.
import { TextDocument, type TextDocumentContentChangeEvent } from 'vscode-languageserver-textdocument';
import { parseSeedJson, parseSeedLine, type Range, type SeedFormat, type SeedProblem, type SeedRecord } from '../src/core/seeds';
import { byPosition, checkSeedItem, duplicateKey, hasAnswer, instructionRange, type Diagnostic } from '../src/core/validate';
import type { DuplicateGroup, NearLink } from './duplicates';

/** What an entry knows of its item without holding the parsed value (see SeedEntry). */
export interface EntrySummary {
  /** Parse problems and the item's own checks, sorted, at the entry's parse line. */
  readonly local: readonly Diagnostic[];
  readonly isItem: boolean;
  readonly answered: boolean;
  /** The instruction text (null without one). */
  readonly instruction: string | null;
  /** The exact-duplicate key (null without an instruction). */
  readonly key: string | null;
}

/**
 * One item (or, in JSONL, one line, blank and broken ones included). A JSONL entry keeps only what every
 * publication and the duplicate state read; providers that need the item re-parse the line (`record()`):
 * a 100k-line file's parsed values, kept, would survive every young-generation collection of the open and
 * double its cost.
 */
export class SeedEntry {
  /** The line (JSONL) or the item's position in the array (JSON); kept current as lines move. */
  index: number;
  /** Duplicate state, owned by DuplicateTracker (nearOf is made on the first link: most entries have none). */
  distinct = false;
  handle = -1;
  group: DuplicateGroup | null = null;
  near: NearLink | null = null;
  nearOf: Set<SeedEntry> | null = null;
  readonly local: readonly Diagnostic[];
  /** Whether the entry is an item (a JSON object), and whether that item has an answer. */
  readonly isItem: boolean;
  readonly answered: boolean;
  /** The item's instruction text, for the near-duplicate search (null without one). */
  readonly instruction: string | null;
  /** The exact-duplicate key: the lower-cased, whitespace-normalised instruction (null without one). */
  readonly key: string | null;
  /** Ranges at `parsedAt`, computed on first use (by findings on the entry, document symbols). */
  private itemRangeAtParse: Range | null = null;
  private instructionRangeAtParse: Range | null = null;

  constructor(
    readonly doc: SeedDocument,
    /** The line text (JSONL) or '' (JSON, where the document is parsed whole). */
    readonly text: string,
    /** The line number `local` and `record()` are computed at: ranges shift by index − parsedAt. */
    readonly parsedAt: number,
    summary: EntrySummary,
    /** The item of a .json document, kept (its document is parsed whole on every change anyway); null in JSONL. */
    private readonly keptRecord: SeedRecord | null = null,
  ) {
    this.index = parsedAt;
    this.local = summary.local;
    this.isItem = summary.isItem;
    this.answered = summary.answered;
    this.instruction = summary.instruction;
    this.key = summary.key;
  }

  /** Lines to add to ranges computed at parse time. */
  get shift(): number {
    return this.index - this.parsedAt;
  }

  /** The item, with ranges at line `parsedAt` (JSONL: parsed again from the line on every call), or null. */
  record(): SeedRecord | null {
    if (this.keptRecord !== null || !this.isItem) return this.keptRecord;
    return parseSeedLine(this.text, this.parsedAt).item;
  }

  /** The item's range at its current line (the entry must be an item). */
  itemRange(): Range {
    this.itemRangeAtParse ??= this.record()!.range;
    return shiftRange(this.itemRangeAtParse, this.shift);
  }

  /**
   * The instruction's range at its current line (the item's range without one; the entry must be an item).
   * Cached: duplicate findings and document symbols ask on every request, and locating a field parses the line's tree.
   * @param item the entry's record, when the caller has it at hand
   */
  instructionRange(item?: SeedRecord): Range {
    this.instructionRangeAtParse ??= instructionRange(item ?? this.record()!);
    return shiftRange(this.instructionRangeAtParse, this.shift);
  }
}

const NO_DIAGNOSTICS: readonly Diagnostic[] = Object.freeze([]);
const NO_PROBLEMS: readonly SeedProblem[] = Object.freeze([]);

function problemDiagnostic(problem: SeedProblem): Diagnostic {
  return { range: problem.range, severity: problem.severity, code: problem.code, message: problem.message };
}

/** Parse problems and an item's own checks, sorted. */
function localDiagnostics(problems: readonly SeedProblem[], own: Diagnostic[]): readonly Diagnostic[] {
  // Most lines have no finding: they share one empty list.
  if (problems.length === 0) return own.length === 0 ? NO_DIAGNOSTICS : own.sort(byPosition);
  return problems.map(problemDiagnostic).concat(own).sort(byPosition);
}

/**
 * `text` as a slice of `line` when the line holds it verbatim (no escapes): V8 then keeps a small reference
 * into the line, which the document keeps anyway, rather than the parser's copy.
 */
function sliceOf(line: string, text: string): string {
  const at = line.indexOf(text);
  return at < 0 ? text : line.slice(at, at + text.length);
}

/** What an entry keeps of a parsed line (JSONL) or item (JSON, `line` ''). */
function summarize(item: SeedRecord | null, problems: readonly SeedProblem[], line: string): EntrySummary {
  if (item === null) return { local: localDiagnostics(problems, []), isItem: false, answered: false, instruction: null, key: null };
  const checked = checkSeedItem(item);
  const key = checked.normalized === null ? null : duplicateKey(checked.normalized);
  const instruction = item.instruction === null ? null : sliceOf(line, item.instruction);
  return { local: localDiagnostics(problems, checked.diagnostics), isItem: true, answered: hasAnswer(item), instruction, key };
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
    return (
      this.entries.find((entry) => {
        const { range } = entry.record()!;
        return range.start.line <= line && line <= range.end.line;
      }) ?? null
    );
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
    return new SeedEntry(this, text, line, summarize(item, problems, text));
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
    this.entries = parsed.items.map((item, index) => new SeedEntry(this, '', index, summarize(item, NO_PROBLEMS, ''), item));
  }
}
