// Diagnostics for seed files: everything `serl validate` and the language server report, computed from
// parsed files (seeds.ts) with the answer, rule-filter and ROUGE-L logic of the other core modules.
import { answerKey, answersEquivalent, extractAnswer } from './answers';
import { nearestEarlierAbove } from './rouge';
import { applyRuleFilters, normalizeWhitespace, type RuleRejectReason } from './selfInstruct';
import { KNOWN_SEED_FIELDS, seedAnswer, type ParsedSeedFile, type Range, type SeedProblemCode, type SeedRecord, type Severity } from './seeds';

export type DiagnosticCode =
  | SeedProblemCode
  | 'unknown-field'
  | 'missing-answer'
  | 'answer-not-extractable'
  | 'answer-mismatch'
  | `rule-${RuleRejectReason}`
  | 'duplicate'
  | 'near-duplicate';

export interface DiagnosticCodeInfo {
  severity: Severity;
  description: string;
}

/** Every diagnostic code, its severity and what it means. The codes are a stable contract. */
export const DIAGNOSTIC_CODES: { readonly [Code in DiagnosticCode]: DiagnosticCodeInfo } = {
  'json-syntax': { severity: 'error', description: 'The line (JSONL) or file (JSON) is not valid JSON; the range is the exact offending text.' },
  'not-an-array': { severity: 'error', description: 'A .json seed file does not hold an array of items (or an object with an "items" or "data" array).' },
  'not-an-object': { severity: 'error', description: 'A seed item is not a JSON object.' },
  'missing-instruction': { severity: 'error', description: 'No "problem", "question" or "instruction" field holds text.' },
  'wrong-type': { severity: 'error', description: 'A known field has the wrong type (instruction fields and "solution": string; "answer" and "id": string or number).' },
  'unknown-field': { severity: 'hint', description: 'A field name is a near-misspelling of a known field (e.g. "problm" for "problem"); other extra fields are fine.' },
  'missing-answer': { severity: 'error', description: 'The item has no "answer" although the file declares answers (at least half of its items have one).' },
  'answer-not-extractable': { severity: 'warning', description: 'No final answer can be extracted from the "solution" (\\boxed{}, "the answer is …", or a last number).' },
  'answer-mismatch': { severity: 'warning', description: 'The "answer" is not equivalent to the final answer of the "solution".' },
  'rule-too-short': { severity: 'warning', description: "SeRL's rule filter would drop this instruction: 3 words or fewer." },
  'rule-too-long': { severity: 'warning', description: "SeRL's rule filter would drop this instruction: more than 150 words." },
  'rule-blocked-keyword': { severity: 'warning', description: "SeRL's rule filter would drop this instruction: it names an image, graph, picture, file, map, drawing, plot or \"go to\"." },
  'rule-write-a-program': { severity: 'warning', description: "SeRL's rule filter would drop this instruction: it starts with \"Write a program\"." },
  'rule-bad-first-character': { severity: 'warning', description: "SeRL's rule filter would drop this instruction: it starts with punctuation (TeX's $ and \\ included) or a non-ASCII character." },
  duplicate: { severity: 'warning', description: 'The instruction repeats an earlier one (same text up to whitespace and case); the message names the first.' },
  'near-duplicate': { severity: 'information', description: 'The instruction has ROUGE-L F1 above the threshold (default 0.7) with an earlier one; the message names it and the score.' },
};

export interface RelatedInformation {
  /** The other file, when it is not the diagnostic's own. */
  file?: string;
  range: Range;
  message: string;
}

export interface Diagnostic {
  /** 0-based lines and UTF-16 characters, end exclusive (LSP). */
  range: Range;
  severity: Severity;
  code: DiagnosticCode;
  message: string;
  related?: RelatedInformation[];
}

export interface SeedFileInput extends ParsedSeedFile {
  /** How messages and related information name the file (a path or a URI). */
  file: string;
}

export interface ValidateOptions {
  /** ROUGE-L F1 above which two instructions are near duplicates (SeRL's similarity filter: 0.7). */
  nearDuplicateThreshold?: number;
}

export const DEFAULT_NEAR_DUPLICATE_THRESHOLD = 0.7;

/**
 * Instructions longer than this are left out of the near-duplicate search (exact duplicates are still
 * found): ROUGE-L's LCS costs the product of the lengths, so two similar megabyte-long lines would take
 * minutes, and any instruction this long already fails SeRL's 150-word rule filter.
 */
export const NEAR_DUPLICATE_MAX_CHARS = 20_000;

/** A file "declares answers" when at least this share of its items has an answer. */
export const DECLARED_ANSWER_SHARE = 0.5;

function diagnostic(code: DiagnosticCode, range: Range, message: string, related?: RelatedInformation[]): Diagnostic {
  const result: Diagnostic = { range, severity: DIAGNOSTIC_CODES[code].severity, code, message };
  if (related !== undefined) result.related = related;
  return result;
}

export function hasAnswer(item: SeedRecord): boolean {
  return seedAnswer(item.value) !== null;
}

/**
 * Whether a file declares answers: at least DECLARED_ANSWER_SHARE of its items have a non-blank
 * "answer". In such a file an item without one is an error (the ground-truth runs need every label);
 * in a file where answers are the exception, their absence is normal.
 */
export function declaresAnswers(items: readonly SeedRecord[]): boolean {
  return declared(answeredCount(items), items.length);
}

function answeredCount(items: readonly SeedRecord[]): number {
  return items.reduce((count, item) => count + (hasAnswer(item) ? 1 : 0), 0);
}

/** Whether a file with `answered` of `total` items answered declares answers (see declaresAnswers). */
export function declared(answered: number, total: number): boolean {
  return answered > 0 && answered >= DECLARED_ANSWER_SHARE * total;
}

/** The error on an item without "answer" in a file that declares answers. */
export function missingAnswerDiagnostic(itemRange: Range, answered: number, total: number): Diagnostic {
  return diagnostic('missing-answer', itemRange, `missing "answer": ${answered} of ${total} items in this file have one`);
}

export interface ItemCheck {
  /** Field names, answer against solution, rule filters: what depends on the item alone. */
  diagnostics: Diagnostic[];
  /** The instruction with whitespace collapsed (null without one), from the rule filters' pass. */
  normalized: string | null;
}

/** The checks of one item that depend on nothing else, so an editor can cache them per item. */
export function checkSeedItem(item: SeedRecord): ItemCheck {
  const diagnostics: Diagnostic[] = [];
  checkFieldNames(item, diagnostics);
  checkAnswer(item, diagnostics);
  return { diagnostics, normalized: checkRules(item, diagnostics) };
}

/**
 * Validates seed files together: each file's parse problems and item checks, plus exact and near
 * duplicates within and across the files (an item is reported against the first earlier item it
 * repeats, in the order the files are given). Returns one sorted diagnostic list per input file.
 */
export function validateSeeds(files: readonly SeedFileInput[], options: ValidateOptions = {}): Diagnostic[][] {
  const threshold = options.nearDuplicateThreshold ?? DEFAULT_NEAR_DUPLICATE_THRESHOLD;
  if (!(threshold >= 0 && threshold <= 1)) throw new RangeError(`nearDuplicateThreshold must be within [0, 1], got ${threshold}`);

  const results: FileResult[] = files.map((file) => {
    const diagnostics = file.problems.map((problem) => diagnostic(problem.code, problem.range, problem.message));
    const answered = answeredCount(file.items);
    const answersDeclared = declared(answered, file.items.length);
    const normalized = file.items.map((item) => {
      if (answersDeclared && !hasAnswer(item)) diagnostics.push(missingAnswerDiagnostic(item.range, answered, file.items.length));
      const checked = checkSeedItem(item);
      diagnostics.push(...checked.diagnostics);
      return checked.normalized;
    });
    return { diagnostics, normalized };
  });
  findDuplicates(files, results, threshold);
  return results.map(({ diagnostics }) => diagnostics.sort(byPosition));
}

interface FileResult {
  diagnostics: Diagnostic[];
  /** Per item: its instruction with whitespace collapsed (null without one), from the rule filters' pass. */
  normalized: (string | null)[];
}

export function byPosition(a: Diagnostic, b: Diagnostic): number {
  return a.range.start.line - b.range.start.line || a.range.start.character - b.range.start.character;
}

// ---------------------------------------------------------------------------------------------------
// Field names: only near-misspellings of known fields are flagged; datasets carry many legitimate
// extra fields (level, subject, unique_id, idx, type, source, …) that must stay quiet.

// "id" is left out: every short name (idx, ix, …) is within one edit of it.
const MISSPELLABLE_FIELDS = KNOWN_SEED_FIELDS.filter((field) => field !== 'id');
const KNOWN_FIELD_SET: ReadonlySet<string> = new Set(KNOWN_SEED_FIELDS);
const suggestionCache = new Map<string, string | null>();

/** Optimal-string-alignment distance (Levenshtein plus adjacent transpositions). */
function editDistance(a: string, b: string): number {
  const rows = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(rows[i - 1]![j]! + 1, rows[i]![j - 1]! + 1, rows[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) best = Math.min(best, rows[i - 2]![j - 2]! + 1);
      rows[i]![j] = best;
    }
  }
  return rows[a.length]![b.length]!;
}

/** The known field an unknown name probably misspells: one edit for short names, two for long ones. */
export function suggestFieldName(name: string): string | null {
  const cached = suggestionCache.get(name);
  if (cached !== undefined) return cached;
  let suggestion: string | null = null;
  const lower = name.toLowerCase();
  if (!KNOWN_FIELD_SET.has(name) && name.length >= 3) {
    let bestDistance = Infinity;
    for (const field of MISSPELLABLE_FIELDS) {
      const distance = editDistance(lower, field);
      if (distance <= (field.length > 6 ? 2 : 1) && distance < bestDistance) {
        bestDistance = distance;
        suggestion = field;
      }
    }
  }
  suggestionCache.set(name, suggestion);
  return suggestion;
}

function checkFieldNames(item: SeedRecord, diagnostics: Diagnostic[]): void {
  for (const name of Object.keys(item.value)) {
    const suggestion = suggestFieldName(name);
    if (suggestion === null) continue;
    const caseOnly = suggestion === name.toLowerCase() ? ' (field names are case-sensitive)' : '';
    const range = item.fields().get(name)?.key ?? item.range;
    diagnostics.push(diagnostic('unknown-field', range, `unknown field "${name}": did you mean "${suggestion}"?${caseOnly}`));
  }
}

// ---------------------------------------------------------------------------------------------------
// Answers and solutions.

function checkAnswer(item: SeedRecord, diagnostics: Diagnostic[]): void {
  const { solution } = item.value;
  if (typeof solution !== 'string' || solution.trim() === '') return;
  const extracted = extractAnswer(solution);
  if (extracted === null) {
    const message = 'no final answer found in "solution" (expected \\boxed{…}, "the answer is …" or a final number)';
    diagnostics.push(diagnostic('answer-not-extractable', item.rangeOf('solution'), message));
    return;
  }
  const answerText = seedAnswer(item.value);
  if (answerText === null) return;
  // The cheap canonical key settles most items; the symbolic comparison runs only when keys differ.
  if (answerKey(answerText) === answerKey(extracted) || answersEquivalent(answerText, extracted)) return;
  diagnostics.push(
    diagnostic('answer-mismatch', item.rangeOf('answer'), `"answer" ${JSON.stringify(answerText)} is not equivalent to the solution's final answer ${JSON.stringify(extracted)}`, [
      { range: item.rangeOf('solution'), message: `final answer of the solution: ${extracted}` },
    ]),
  );
}

// ---------------------------------------------------------------------------------------------------
// SeRL's rule filters, as warnings: a seed is not a generated item, but one that fails the rules is
// also a poor few-shot exemplar.

/** Returns the whitespace-normalised instruction (the rule filters compute it anyway), or null. */
function checkRules(item: SeedRecord, diagnostics: Diagnostic[]): string | null {
  if (item.instruction === null || item.instructionField === null) return null;
  const verdict = applyRuleFilters(item.instruction);
  if (verdict.ok) return verdict.text;
  const message = `SeRL's rule filter would drop this instruction: ${verdict.detail}`;
  diagnostics.push(diagnostic(`rule-${verdict.reason}`, item.rangeOf(item.instructionField), message));
  return normalizeWhitespace(item.instruction);
}

// ---------------------------------------------------------------------------------------------------
// Duplicates.

interface ItemRef {
  fileIndex: number;
  item: SeedRecord;
}

/** Where the instruction text is; messages name its line (the item's own line in JSONL). */
export function instructionRange(item: SeedRecord): Range {
  return item.instructionField === null ? item.range : item.rangeOf(item.instructionField);
}

/** Two decimals, or as many more as it takes not to print a score above the threshold as equal to it. */
function formatScore(score: number, threshold: number): string {
  let digits = 2;
  while (digits < 6 && Number(score.toFixed(digits)) <= threshold) digits++;
  return score.toFixed(digits);
}

/** The other item of a duplicate pair: its instruction range and, when in another file, that file. */
export interface OtherItem {
  range: Range;
  /** Where related information points (a path or URI); absent for the diagnostic's own file. */
  file?: string;
  /** How messages name that file (default: `file`). */
  fileName?: string;
}

function otherItemWords(other: OtherItem): string {
  return `line ${other.range.start.line + 1}${other.file === undefined ? '' : ` of ${other.fileName ?? other.file}`}`;
}

function relatedTo(other: OtherItem, message: string): RelatedInformation[] {
  const related: RelatedInformation = { range: other.range, message };
  if (other.file !== undefined) related.file = other.file;
  return [related];
}

/** `duplicate` on the instruction at `range`, naming the first occurrence. */
export function duplicateDiagnostic(range: Range, original: OtherItem): Diagnostic {
  return diagnostic('duplicate', range, `duplicate of ${otherItemWords(original)}`, relatedTo(original, 'first occurrence'));
}

/** `near-duplicate` on the instruction at `range`, naming the similar earlier item and the score. */
export function nearDuplicateDiagnostic(range: Range, other: OtherItem, score: number, threshold: number): Diagnostic {
  const shown = formatScore(score, threshold);
  return diagnostic('near-duplicate', range, `near duplicate of ${otherItemWords(other)} (ROUGE-L ${shown})`, relatedTo(other, `similar instruction (ROUGE-L ${shown})`));
}

/** Items with equal keys are exact duplicates: the whitespace-normalised instruction, lowercased. */
export function duplicateKey(normalizedInstruction: string): string {
  return normalizedInstruction.toLowerCase();
}

function findDuplicates(files: readonly SeedFileInput[], results: FileResult[], threshold: number): void {
  const firstByText = new Map<string, ItemRef>();
  const otherItem = (other: ItemRef, fileIndex: number): OtherItem => {
    const range = instructionRange(other.item);
    return other.fileIndex === fileIndex ? { range } : { range, file: files[other.fileIndex]!.file };
  };

  // Exact duplicates first; the items that are not one are searched for near duplicates among each other,
  // each against the earlier ones (all known up front, so as one join rather than item by item).
  const distinct: ItemRef[] = [];
  const distinctTexts: string[] = [];
  files.forEach((file, fileIndex) => {
    const { diagnostics, normalized } = results[fileIndex]!;
    file.items.forEach((item, itemIndex) => {
      const text = normalized[itemIndex];
      if (item.instruction === null || text === null) return;
      const ref: ItemRef = { fileIndex, item };
      const key = duplicateKey(text);
      const original = firstByText.get(key);
      if (original !== undefined) {
        diagnostics.push(duplicateDiagnostic(instructionRange(item), otherItem(original, fileIndex)));
        return;
      }
      firstByText.set(key, ref);
      if (item.instruction.length > NEAR_DUPLICATE_MAX_CHARS) return;
      distinct.push(ref);
      distinctTexts.push(item.instruction);
    });
  });

  // No score exceeds 1, so at threshold 1 there is nothing to search.
  if (threshold >= 1) return;
  nearestEarlierAbove(distinctTexts, threshold).forEach((nearest, index) => {
    if (nearest === null) return;
    const { fileIndex, item } = distinct[index]!;
    const diagnostic = nearDuplicateDiagnostic(instructionRange(item), otherItem(distinct[nearest.ref]!, fileIndex), nearest.score, threshold);
    results[fileIndex]!.diagnostics.push(diagnostic);
  });
}
