// Seed items (the few hundred instructions SeRL starts from): their schema, and JSONL / JSON parsing that
// reports every problem with an exact range and keeps going. Positions are 0-based lines and UTF-16
// characters, as in LSP; a BOM at the start of the file is not part of the text (as in VS Code).
import { parseTree, type Node as JsonNode, type ParseError } from 'jsonc-parser';
import { z } from 'zod';

export type Severity = 'error' | 'warning' | 'information' | 'hint';

export interface Position {
  line: number;
  character: number;
}

export interface Range {
  start: Position;
  end: Position;
}

/** Problems the parser itself finds; validate.ts adds the rest of the diagnostic codes. */
export type SeedProblemCode = 'json-syntax' | 'not-an-array' | 'not-an-object' | 'missing-instruction' | 'wrong-type';

export interface SeedProblem {
  range: Range;
  severity: Severity;
  code: SeedProblemCode;
  message: string;
}

/**
 * Fields that may hold the instruction text, in priority order: the first one holding a string with
 * non-whitespace text wins. `problem` first because MATH-style sets (our main input) use it.
 */
export const INSTRUCTION_FIELDS = ['problem', 'question', 'instruction'] as const;
export type InstructionField = (typeof INSTRUCTION_FIELDS)[number];

/** Every field the schema gives a meaning to; any other field is kept untouched. */
export const KNOWN_SEED_FIELDS = [...INSTRUCTION_FIELDS, 'answer', 'solution', 'id'] as const;

// What each known field must hold, for messages. JSON null counts as "absent" for every field.
const EXPECTED_TYPE: Record<(typeof KNOWN_SEED_FIELDS)[number], string> = {
  problem: 'a string',
  question: 'a string',
  instruction: 'a string',
  answer: 'a string or a number',
  solution: 'a string',
  id: 'a string or a number',
};

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function hasText(value: unknown): value is string {
  return typeof value === 'string' && value.trim() !== '';
}

/** The field whose text is the item's instruction (see INSTRUCTION_FIELDS), or null. */
export function seedInstructionField(value: unknown): InstructionField | null {
  if (!isPlainObject(value)) return null;
  for (const field of INSTRUCTION_FIELDS) {
    if (hasText(value[field])) return field;
  }
  return null;
}

/** The instruction text of a seed item (the first of problem/question/instruction holding text), or null. */
export function seedInstruction(value: unknown): string | null {
  const field = seedInstructionField(value);
  return field === null ? null : ((value as Record<string, unknown>)[field] as string);
}

export const seedItemSchema = z
  .looseObject({
    problem: z.string().nullish(),
    question: z.string().nullish(),
    instruction: z.string().nullish(),
    answer: z.union([z.string(), z.number()]).nullish(),
    solution: z.string().nullish(),
    id: z.union([z.string(), z.number()]).nullish(),
  })
  .superRefine(
    (item, context) => {
      // An instruction field of the wrong type already has its own error.
      const mistyped = INSTRUCTION_FIELDS.some((field) => item[field] != null && typeof item[field] !== 'string');
      if (!mistyped && seedInstructionField(item) === null) {
        context.addIssue({ code: 'custom', message: 'no instruction text' });
      }
    },
    // zod skips refinements once a check failed; a missing instruction is worth reporting beside a mistyped "answer".
    { when: (payload) => isPlainObject(payload.value) },
  );

export type SeedItem = z.output<typeof seedItemSchema>;

/**
 * Exactly the values seedItemSchema accepts, decided without zod's per-item cost (its object walk and
 * copy, the unions): a 100k-line file is almost all valid lines. The schema stays the one source of truth
 * for what is wrong with a rejected value; this only answers "valid?" for the common case, and a test
 * checks it against the schema. Why it is the same set: a loose object takes any extra key; each known
 * field is nullish (absent, undefined or null) or of its type — a string, or for "answer"/"id" a string
 * or a finite number (z.number() rejects NaN and ±Infinity) — and the refinement (run only when every
 * field passed, so no instruction field is mistyped) asks for an instruction field holding text.
 */
export function isValidSeedItem(value: unknown): value is SeedItem {
  if (!isPlainObject(value)) return false;
  const { problem, question, instruction, answer, solution, id } = value;
  return (
    nullishOr(problem, isString) &&
    nullishOr(question, isString) &&
    nullishOr(instruction, isString) &&
    nullishOr(answer, isStringOrFiniteNumber) &&
    nullishOr(solution, isString) &&
    nullishOr(id, isStringOrFiniteNumber) &&
    seedInstructionField(value) !== null
  );
}

function nullishOr(value: unknown, check: (value: unknown) => boolean): boolean {
  return value === undefined || value === null || check(value);
}

function isString(value: unknown): boolean {
  return typeof value === 'string';
}

function isStringOrFiniteNumber(value: unknown): boolean {
  return typeof value === 'string' || (typeof value === 'number' && Number.isFinite(value));
}

/** The text of an item's `answer` (numbers as JSON wrote them), or null when absent, blank or mistyped. */
export function seedAnswer(item: { readonly answer?: unknown }): string | null {
  if (typeof item.answer === 'number') return String(item.answer);
  return hasText(item.answer) ? item.answer : null;
}

export interface FieldRange {
  /** The property name, quotes included. */
  key: Range;
  value: Range;
}

/** One JSON object of a seed file, valid or not against the schema. */
export interface SeedRecord {
  /** 0-based line the item starts on. */
  readonly line: number;
  readonly value: Readonly<Record<string, unknown>>;
  /** The schema-checked item; null when the schema rejected it (the problems say why). */
  readonly seed: SeedItem | null;
  readonly instructionField: InstructionField | null;
  readonly instruction: string | null;
  /** The whole JSON object. */
  readonly range: Range;
  /** Ranges of the object's own properties (the last one wins for a repeated name, as in JSON.parse). */
  fields(): ReadonlyMap<string, FieldRange>;
  /** The field's value range when the field exists, else the item's range. */
  rangeOf(field: string): Range;
}

export interface ParsedSeedFile {
  items: SeedRecord[];
  problems: SeedProblem[];
}

export type SeedFormat = 'jsonl' | 'json';

/** `.json` files hold one JSON document; everything else (`.jsonl`, `.ndjson`, …) is one item per line. */
export function seedFormatForPath(path: string): SeedFormat {
  return /\.json$/i.test(path) ? 'json' : 'jsonl';
}

function jsonTypeName(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  return `a ${typeof value}`;
}

/** A parsed JSON value with its ranges: the schema check and the records share the lazy range logic. */
abstract class LocatedValue {
  private cachedRange: Range | undefined;
  private cachedFields: ReadonlyMap<string, FieldRange> | undefined;

  get range(): Range {
    return (this.cachedRange ??= this.computeRange());
  }

  fields(): ReadonlyMap<string, FieldRange> {
    return (this.cachedFields ??= this.computeFields());
  }

  rangeOf(field: string): Range {
    return this.fields().get(field)?.value ?? this.range;
  }

  protected abstract computeRange(): Range;
  protected abstract computeFields(): ReadonlyMap<string, FieldRange>;
}

// Classes rather than closures per item: a 100k-line file makes 100k of these.
class ParsedRecord implements SeedRecord {
  readonly instructionField: InstructionField | null;
  readonly instruction: string | null;

  constructor(
    readonly line: number,
    readonly value: Readonly<Record<string, unknown>>,
    readonly seed: SeedItem | null,
    private readonly located: LocatedValue,
  ) {
    this.instructionField = seedInstructionField(value);
    this.instruction = this.instructionField === null ? null : (value[this.instructionField] as string);
  }

  get range(): Range {
    return this.located.range;
  }

  fields(): ReadonlyMap<string, FieldRange> {
    return this.located.fields();
  }

  rangeOf(field: string): Range {
    return this.located.rangeOf(field);
  }
}

interface SchemaVerdict {
  seed: SeedItem | null;
  problems: SeedProblem[];
}

/** Checks one parsed JSON value against the schema; `at` locates the value and its fields (lazily). */
function checkSchema(value: unknown, at: LocatedValue): SchemaVerdict {
  // The schema only checks (no defaults or transforms): the valid value is its own typed view, and
  // keeping it rather than zod's copy halves what a large file retains.
  if (isValidSeedItem(value)) return { seed: value, problems: [] };
  const result = seedItemSchema.safeParse(value);
  if (result.success) return { seed: value as SeedItem, problems: [] };
  if (!isPlainObject(value)) {
    const message = `a seed item must be a JSON object, got ${jsonTypeName(value)}`;
    return { seed: null, problems: [{ range: at.range, severity: 'error', code: 'not-an-object', message }] };
  }
  const problems: SeedProblem[] = [];
  for (const issue of result.error.issues) {
    const field = issue.path[0];
    if (issue.code === 'custom') {
      problems.push(missingInstruction(value, at));
    } else if (typeof field === 'string' && field in EXPECTED_TYPE) {
      const expected = EXPECTED_TYPE[field as keyof typeof EXPECTED_TYPE];
      problems.push({
        range: at.rangeOf(field),
        severity: 'error',
        code: 'wrong-type',
        message: `"${field}" must be ${expected}, got ${jsonTypeName(value[field])}`,
      });
    }
  }
  return { seed: null, problems };
}

function missingInstruction(value: Record<string, unknown>, at: LocatedValue): SeedProblem {
  const blank = INSTRUCTION_FIELDS.find((field) => typeof value[field] === 'string');
  if (blank !== undefined) {
    return { range: at.rangeOf(blank), severity: 'error', code: 'missing-instruction', message: `"${blank}" is empty: the instruction needs text` };
  }
  return {
    range: at.range,
    severity: 'error',
    code: 'missing-instruction',
    message: 'no instruction: expected a "problem", "question" or "instruction" field holding text',
  };
}

// ---------------------------------------------------------------------------------------------------
// Syntax errors: JSON.parse says only that a line is bad; jsonc-parser says where and why.

// jsonc-parser's ParseErrorCode values (a const enum, which isolated modules cannot import).
const enum JsonError {
  InvalidSymbol = 1,
  InvalidNumberFormat = 2,
  PropertyNameExpected = 3,
  ValueExpected = 4,
  ColonExpected = 5,
  CommaExpected = 6,
  CloseBraceExpected = 7,
  CloseBracketExpected = 8,
  EndOfFileExpected = 9,
  InvalidCommentToken = 10,
  UnexpectedEndOfComment = 11,
  UnexpectedEndOfString = 12,
  UnexpectedEndOfNumber = 13,
  InvalidUnicode = 14,
  InvalidEscapeCharacter = 15,
  InvalidCharacter = 16,
}

/**
 * Nesting deeper than this is reported, not analysed: jsonc-parser recurses once per level and would
 * overflow the stack on a line of ten thousand '['. No real seed item comes near it.
 */
export const MAX_JSON_DEPTH = 512;

/** The offset of the bracket that nests deeper than MAX_JSON_DEPTH (strings skipped), or −1. */
export function tooDeepAt(text: string): number {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const char = text.charCodeAt(i);
    if (inString) {
      if (char === 92 /* \ */) i++;
      else if (char === 34 /* " */) inString = false;
    } else if (char === 34) {
      inString = true;
    } else if (char === 91 /* [ */ || char === 123 /* { */) {
      if (++depth > MAX_JSON_DEPTH) return i;
    } else if (char === 93 /* ] */ || char === 125 /* } */) {
      depth--;
    }
  }
  return -1;
}

function tooDeepProblem(range: Range): SeedProblem {
  return { range, severity: 'error', code: 'json-syntax', message: `nested more than ${MAX_JSON_DEPTH} levels deep: not analysed` };
}

/** jsonc-parser options for strict JSON. */
export const JSON_PARSE_OPTIONS = { disallowComments: true, allowTrailingComma: false, allowEmptyContent: false };

interface LocatedSyntaxError {
  offset: number;
  length: number;
  message: string;
}

function previousNonSpace(text: string, offset: number): string {
  for (let i = offset - 1; i >= 0; i--) {
    if (!' \t\r\n'.includes(text[i]!)) return text[i]!;
  }
  return '';
}

/** Narrows a string token's error to the first match of `pattern` in it (the whole token when none). */
function narrow(text: string, error: ParseError, pattern: RegExp, message: (found: string) => string): LocatedSyntaxError {
  const match = pattern.exec(text.slice(error.offset, error.offset + error.length));
  if (match === null) return { offset: error.offset, length: error.length, message: message(text.slice(error.offset, error.offset + error.length)) };
  return { offset: error.offset + match.index, length: match[0].length, message: message(match[0]) };
}

/** A human message for a jsonc-parser error, narrowed to the exact character where the token allows. */
function describeSyntaxError(text: string, error: ParseError, unit: 'line' | 'file'): LocatedSyntaxError {
  const { offset, length } = error;
  const code = error.error as number;
  const token = text.slice(offset, offset + length);
  const atEnd = text.slice(offset).trim() === '';
  switch (code) {
    case JsonError.InvalidSymbol:
      if (token.startsWith("'")) return { offset, length, message: 'strings and property names must use double quotes' };
      if (/^(NaN|-?Infinity|undefined)$/.test(token)) return { offset, length, message: `${token} is not a JSON value` };
      return { offset, length, message: `unexpected ${JSON.stringify(token)}` };
    case JsonError.InvalidNumberFormat:
    case JsonError.UnexpectedEndOfNumber:
      return { offset, length, message: `invalid number ${JSON.stringify(token)}` };
    case JsonError.PropertyNameExpected:
    case JsonError.ValueExpected:
      if ((text[offset] === '}' || text[offset] === ']') && previousNonSpace(text, offset) === ',') {
        return { offset: text.lastIndexOf(',', offset), length: 1, message: 'trailing comma is not allowed in JSON' };
      }
      if (atEnd) return { offset, length, message: `unexpected end of ${unit}: the JSON value is incomplete` };
      return code === JsonError.ValueExpected
        ? { offset, length, message: 'expected a value' }
        : { offset, length, message: 'expected a property name in double quotes' };
    case JsonError.ColonExpected:
      return { offset, length, message: "expected ':' after the property name" };
    case JsonError.CommaExpected:
      return { offset, length, message: "expected ',' before this" };
    case JsonError.CloseBraceExpected:
      return { offset, length, message: atEnd ? `unexpected end of ${unit}: missing '}'` : "expected ',' or '}'" };
    case JsonError.CloseBracketExpected:
      return { offset, length, message: atEnd ? `unexpected end of ${unit}: missing ']'` : "expected ',' or ']'" };
    case JsonError.EndOfFileExpected:
      return { offset, length, message: unit === 'line' ? 'unexpected text after the JSON value (JSONL holds one item per line)' : 'unexpected text after the JSON value' };
    case JsonError.InvalidCommentToken:
      return { offset, length, message: 'comments are not allowed in JSON' };
    case JsonError.UnexpectedEndOfComment:
      return { offset, length, message: 'unterminated comment' };
    case JsonError.UnexpectedEndOfString:
      return { offset, length, message: 'unterminated string' };
    case JsonError.InvalidUnicode:
      return narrow(text, error, /\\u(?![0-9a-fA-F]{4})/, () => 'invalid \\u escape: expected 4 hex digits');
    case JsonError.InvalidEscapeCharacter:
      return narrow(text, error, /\\[^"\\/bfnrtu]/, (found) => `invalid escape ${found}`);
    case JsonError.InvalidCharacter:
      return narrow(text, error, /[\u0000-\u001f]/, () => 'control character in a string: write it as an escape such as \\t');
    default:
      return { offset, length, message: 'invalid JSON' };
  }
}

// ---------------------------------------------------------------------------------------------------
// JSONL: one item per line.

export interface SeedLineResult {
  item: SeedRecord | null;
  problems: SeedProblem[];
}

const BLANK_LINE: SeedLineResult = { item: null, problems: [] };

function isJsonSpace(char: string | undefined): boolean {
  return char === ' ' || char === '\t' || char === '\r' || char === '\n';
}

function lineRange(line: number, start: number, end: number): Range {
  return { start: { line, character: start }, end: { line, character: end } };
}

/** Top-level property ranges of an object node; `rangeAt` turns offsets into a range. */
function propertyRanges(node: JsonNode | undefined, rangeAt: (offset: number, length: number) => Range): ReadonlyMap<string, FieldRange> {
  const fields = new Map<string, FieldRange>();
  for (const property of node?.type === 'object' ? (node.children ?? []) : []) {
    const [key, value] = property.children ?? [];
    if (key === undefined || value === undefined) continue;
    fields.set(key.value as string, { key: rangeAt(key.offset, key.length), value: rangeAt(value.offset, value.length) });
  }
  return fields;
}

/** A value on one JSONL line; ranges are computed from the line's text only when asked for. */
class LineValue extends LocatedValue {
  constructor(
    private readonly text: string,
    private readonly line: number,
  ) {
    super();
  }

  protected computeRange(): Range {
    let start = 0;
    let end = this.text.length;
    while (isJsonSpace(this.text[start])) start++;
    while (end > start && isJsonSpace(this.text[end - 1])) end--;
    return lineRange(this.line, start, end);
  }

  protected computeFields(): ReadonlyMap<string, FieldRange> {
    // Too deep to locate fields: ranges fall back to the whole item.
    if (tooDeepAt(this.text) >= 0) return new Map();
    return propertyRanges(parseTree(this.text, undefined, JSON_PARSE_OPTIONS), (offset, length) => lineRange(this.line, offset, offset + length));
  }
}

/**
 * Parses one line of a JSONL seed file. A pure function of the line's text and 0-based number, so an
 * editor can re-parse only the lines that changed. `text` excludes the line break (a trailing '\r' is
 * dropped); a BOM at the start of line 0 is skipped. Blank lines give neither item nor problem.
 */
export function parseSeedLine(text: string, line: number): SeedLineResult {
  if (text.endsWith('\r')) text = text.slice(0, -1);
  if (line === 0 && text.startsWith('\uFEFF')) text = text.slice(1);
  // Before JSON.parse, which would throw on it (a thrown error costs far more than the check).
  if (text.trim() === '') return BLANK_LINE;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (parseError) {
    return { item: null, problems: [lineSyntaxProblem(text, line, parseError as Error)] };
  }
  const located = new LineValue(text, line);
  const { seed, problems } = checkSchema(value, located);
  if (!isPlainObject(value)) return { item: null, problems };
  return { item: new ParsedRecord(line, value, seed, located), problems };
}

function lineSyntaxProblem(text: string, line: number, parseError: Error): SeedProblem {
  const deep = tooDeepAt(text);
  if (deep >= 0) return tooDeepProblem(lineRange(line, deep, deep + 1));
  const errors: ParseError[] = [];
  parseTree(text, errors, JSON_PARSE_OPTIONS);
  const first = errors[0];
  if (first === undefined) {
    // jsonc-parser accepted what JSON.parse refused: fall back to the engine's own words.
    return { range: lineRange(line, 0, text.length), severity: 'error', code: 'json-syntax', message: parseError.message };
  }
  const { offset, length, message } = describeSyntaxError(text, first, 'line');
  return { range: lineRange(line, offset, offset + length), severity: 'error', code: 'json-syntax', message };
}

function addLine(parsed: ParsedSeedFile, { item, problems }: SeedLineResult): void {
  if (item !== null) parsed.items.push(item);
  for (const problem of problems) parsed.problems.push(problem);
}

/** Line breaks as LSP and node's readline count them: \r\n, \n or a lone \r. */
const LINE_BREAK = /\r\n|\n|\r/;

/** Parses a whole JSONL text (for a streamed file use parseSeedLines). */
export function parseSeedJsonl(text: string): ParsedSeedFile {
  const parsed: ParsedSeedFile = { items: [], problems: [] };
  text.split(LINE_BREAK).forEach((lineText, line) => addLine(parsed, parseSeedLine(lineText, line)));
  return parsed;
}

/** Parses a stream of JSONL lines (e.g. node's readline interface) without holding the file as one string. */
export async function parseSeedLines(lines: AsyncIterable<string> | Iterable<string>): Promise<ParsedSeedFile> {
  const parsed: ParsedSeedFile = { items: [], problems: [] };
  let line = 0;
  for await (const lineText of lines) addLine(parsed, parseSeedLine(lineText, line++));
  return parsed;
}

// ---------------------------------------------------------------------------------------------------
// JSON: one document holding an array of items, or an object with an "items" or "data" array.

/** Converts offsets of a text to positions (0-based line and character). */
function positionsOf(text: string): (offset: number) => Position {
  const lineStarts = [0];
  for (let i = 0; i < text.length; i++) {
    const char = text.charCodeAt(i);
    if (char === 13 /* \r */) {
      if (text.charCodeAt(i + 1) === 10) i++;
      lineStarts.push(i + 1);
    } else if (char === 10 /* \n */) {
      lineStarts.push(i + 1);
    }
  }
  return (offset) => {
    let low = 0;
    let high = lineStarts.length - 1;
    while (low < high) {
      const middle = (low + high + 1) >> 1;
      if (lineStarts[middle]! <= offset) low = middle;
      else high = middle - 1;
    }
    return { line: low, character: offset - lineStarts[low]! };
  };
}

const ITEM_ARRAY_KEYS = ['items', 'data'];

function itemArray(root: JsonNode | undefined): JsonNode | undefined {
  if (root?.type === 'array') return root;
  if (root?.type !== 'object') return undefined;
  for (const key of ITEM_ARRAY_KEYS) {
    const property = root.children?.find((child) => child.children?.[0]?.value === key);
    const value = property?.children?.[1];
    if (value?.type === 'array') return value;
  }
  return undefined;
}

/** A value inside a JSON document, located by its jsonc-parser node. */
class NodeValue extends LocatedValue {
  constructor(
    private readonly node: JsonNode,
    private readonly rangeAt: (offset: number, length: number) => Range,
  ) {
    super();
  }

  protected computeRange(): Range {
    return this.rangeAt(this.node.offset, this.node.length);
  }

  protected computeFields(): ReadonlyMap<string, FieldRange> {
    return propertyRanges(this.node, this.rangeAt);
  }
}

/**
 * The `json-syntax` problems of a whole JSON document from jsonc-parser's errors (strict JSON options:
 * JSON_PARSE_OPTIONS), at most one per line: later errors on a line are usually consequences of the first.
 */
export function jsonSyntaxProblems(text: string, errors: readonly ParseError[], rangeAt: (offset: number, length: number) => Range): SeedProblem[] {
  const problems: SeedProblem[] = [];
  const linesWithError = new Set<number>();
  for (const error of errors) {
    const described = describeSyntaxError(text, error, 'file');
    const range = rangeAt(described.offset, described.length);
    if (linesWithError.has(range.start.line)) continue;
    linesWithError.add(range.start.line);
    problems.push({ range, severity: 'error', code: 'json-syntax', message: described.message });
  }
  return problems;
}

/** Parses a whole `.json` seed file. An element holding a syntax error is skipped (the error covers it). */
export function parseSeedJson(text: string): ParsedSeedFile {
  const bomLength = text.startsWith('\uFEFF') ? 1 : 0;
  const body = text.slice(bomLength);
  const positionAt = positionsOf(body);
  const rangeAt = (offset: number, length: number): Range => ({ start: positionAt(offset), end: positionAt(offset + length) });
  const parsed: ParsedSeedFile = { items: [], problems: [] };
  const deep = tooDeepAt(body);
  if (deep >= 0) {
    parsed.problems.push(tooDeepProblem(rangeAt(deep, 1)));
    return parsed;
  }

  const errors: ParseError[] = [];
  const root = parseTree(body, errors, JSON_PARSE_OPTIONS);
  parsed.problems.push(...jsonSyntaxProblems(body, errors, rangeAt));

  const array = itemArray(root);
  if (array === undefined) {
    if (root !== undefined) {
      parsed.problems.push({
        range: rangeAt(root.offset, root.length),
        severity: 'error',
        code: 'not-an-array',
        message:
          'a .json seed file must hold an array of items (or an object with an "items" or "data" array); ' +
          'name a file with one item per line .jsonl',
      });
    }
    return parsed;
  }

  for (const element of array.children ?? []) {
    let value: unknown;
    try {
      // The element's own text: exact JSON.parse semantics, and an element holding a syntax error fails here.
      value = JSON.parse(body.slice(element.offset, element.offset + element.length));
    } catch {
      continue;
    }
    const located = new NodeValue(element, rangeAt);
    const { seed, problems } = checkSchema(value, located);
    parsed.problems.push(...problems);
    if (!isPlainObject(value)) continue;
    parsed.items.push(new ParsedRecord(positionAt(element.offset).line, value, seed, located));
  }
  return parsed;
}

/** Parses a seed file's whole text in the given format. */
export function parseSeedText(text: string, format: SeedFormat): ParsedSeedFile {
  return format === 'json' ? parseSeedJson(text) : parseSeedJsonl(text);
}
