// Final answers of model responses, and when two answers agree: the reward signal of SeRL's majority vote.
//
// Extraction, in order: the last `\boxed{…}`/`\fbox{…}` (as the MATH graders do), an "answer is …" /
// "answer: …" cue, the whole response when it is itself a bare answer (short, hardly any prose: so a
// gold label such as "1/2" or "x = 11" extracts to itself), and finally the last number.
//
// Equivalence parses each answer into a small structure (numbers as exact rationals, tuples and
// intervals, sets and lists, assignments, equations, text) after normalising the LaTeX surface
// (`\dfrac`, `\left(`, `\text{}`, `\!`, units, `\$`, `^\circ`, `%` …). The structure's canonical string
// is `answerKey`: cheap, no CAS, and equal keys imply equivalent answers. Only leaves whose keys
// differ go to the Compute Engine, which evaluates them numerically (at fixed sample points when they
// have free variables); parses are cached.
//
// Rules worth knowing (each has tests):
// - Numbers compare exactly as rationals ("1,000" = 1000 = "1000.0", "0.5" = "1/2" = "\frac12"; but
//   1000000 ≠ 1000001). When either side is written as a decimal or is a formula the CAS evaluates,
//   values agree within relative 1e-6 ("0.3333333" = "1/3", "1.414" ≠ "\sqrt2").
// - Formulas with variables are equal when their values agree at two fixed sample points per
//   variable ("(x+1)^2" = "x^2+2x+1", "\tan x" = "\sin x/\cos x", "2x" ≠ "2y").
// - Thousands vs decimal comma: "d,ddd(,ddd)*" with a first group of 1–3 digits not starting with 0 is
//   a thousands separator ("1,000" = 1000, "1,000.5"); any other single comma between digits with no
//   space is a decimal comma ("0,5" = 0.5, "3,14", "1,5" = 1.5). A list needs a space or brackets:
//   "1, 5" and "(1,5)" are lists.
// - Percent and degree signs are units and are dropped, as the MATH graders do: "50\%" = "50" = 50.
//   "0.5" is NOT equal to "50%": accepting both would make equivalence depend on which spelling
//   happened to be compared first (50 = 50% = 0.5 but 50 ≠ 0.5).
// - Units and currency words after a quantity are dropped ("5 cm", "\$5", "5\text{ dollars}" = 5),
//   except a.m./p.m.
// - `x = 11` = `11`: a single variable on the left names the value. Hence `x = 11` = `y = 11` too.
//   Several assignments (`x=1, y=2`) compare as a mapping, in any order; they are not a tuple.
// - A bare comma list ("1, 2") is an unordered collection, like a set `\{1,2\}`; a bracketed one is
//   ordered and keeps its brackets: (1,2) ≠ [1,2] ≠ [1,2). `a \pm b` is the set {a+b, a-b}.
// - Multiple choice: "(B)", "B", "\text{(B)}" and "(B) 12" are the choice b. Text is compared case-,
//   space- and LaTeX-wrapper-insensitively; lowercasing applies to variables too ("2Y" = "2y").
// - A mixed number `2\frac{1}{2}` is 5/2. `\emptyset` is `\{\}`. Unicode −, ×, π, √, ∞, ≤ … read as LaTeX.
// - The CAS never sees input it could hang on or that changes its state (sums, big factorials, `:=`,
//   unknown functions); such leaves compare by key only.

import type { ComputeEngine as Engine } from '@cortex-js/compute-engine';

// ---------------------------------------------------------------------------------------------------
// Extraction

const BOXED_COMMANDS = ['\\boxed', '\\fbox'];
/** How far after an "answer is" cue the answer is looked for. */
const CUE_WINDOW = 400;
/** A whole response longer than this is never taken as a bare answer. */
const BARE_MAX_LENGTH = 100;
const BARE_MAX_WORDS = 3;
/** Words that mark a sentence rather than an answer such as "21 dogs" or "\text{Evelyn}". */
const PROSE_WORDS = new Set([
  'is', 'are', 'was', 'were', 'be', 'the', 'so', 'we', 'it', 'its', 'answer', 'therefore', 'thus', 'hence',
  'then', 'get', 'got', 'gives', 'equals', 'think', 'result', 'final', 'that', 'this', 'there', 'which',
  'because', 'since', 'let', 'find', 'solve', 'have', 'has', 'need', 'not',
]);

/** The final answer of a model response (or of a bare answer), or null when there is none. Never throws. */
export function extractAnswer(response: string): string | null {
  return boxedAnswer(response) ?? cuedAnswer(response) ?? bareAnswer(response) ?? lastNumber(response);
}

function boxedAnswer(text: string): string | null {
  const starts: number[] = [];
  for (const command of BOXED_COMMANDS) {
    for (let at = text.indexOf(command); at !== -1; at = text.indexOf(command, at + command.length)) {
      const after = at + command.length;
      if (!isAsciiLetter(text.charCodeAt(after))) starts.push(after);
    }
  }
  if (starts.length === 0) return null;
  starts.sort((a, b) => a - b);
  const argumentStarts = starts.map((start) => skipSpaces(text, start));
  const braceOpens = new Set(argumentStarts.filter((at) => text[at] === '{'));
  const firstOpen = argumentStarts.find((at) => text[at] === '{');
  const closes = firstOpen === undefined ? new Map<number, number>() : matchBraces(text, firstOpen, braceOpens);
  for (let k = starts.length - 1; k >= 0; k--) {
    const at = argumentStarts[k]!;
    if (text[at] === '{') {
      const close = closes.get(at);
      const content = close === undefined ? '' : text.slice(at + 1, close).trim();
      if (content !== '') return content;
    } else if (at > starts[k]!) {
      // `\boxed 5`: the argument runs to the next space or math delimiter.
      const token = /^[^\s$]+/.exec(text.slice(at, at + BARE_MAX_LENGTH))?.[0];
      if (token) return token;
    }
  }
  return null;
}

/**
 * Closing positions of the braces opened at `wanted`, in one pass from `from` (linear even for
 * thousands of unbalanced `\boxed{`). Escaped braces `\{ \}` do not count.
 */
function matchBraces(text: string, from: number, wanted?: ReadonlySet<number>): Map<number, number> {
  const closes = new Map<number, number>();
  const open: number[] = [];
  for (let at = from; at < text.length; at++) {
    const char = text.charCodeAt(at);
    if (char !== 123 /* { */ && char !== 125 /* } */) continue;
    if (at > 0 && text.charCodeAt(at - 1) === 92 /* \ */) continue;
    if (char === 123) open.push(at);
    else if (open.length > 0) {
      const start = open.pop()!;
      if (wanted === undefined || wanted.has(start)) closes.set(start, at);
    }
  }
  return closes;
}

/** "The answer is", "Final Answer:", "**Answer:**", "answer =", and GSM8K's "#### 42". */
const ANSWER_CUE = /\banswer\b\s*(?:\*\*\s*)?(?:is\b|:|=)|####/gi;

function cuedAnswer(text: string): string | null {
  let cueEnd = -1;
  for (const match of text.matchAll(ANSWER_CUE)) cueEnd = match.index + match[0].length;
  if (cueEnd === -1) return null;
  // Leading spaces, newlines, bold markers and colons ("is:", "**Answer:** 5") come before the answer.
  const rest = text.slice(cueEnd, cueEnd + CUE_WINDOW).replace(/^[\s*:]+/, '');
  const candidate = (delimitedMath(rest) ?? rest.split('\n', 1)[0]!.split(/\.(?=\s|$)/, 1)[0]!).replace(/[\s*.]+$/, '').trim();
  if (candidate === '') return null;
  return isBareAnswer(candidate) ? candidate : lastNumber(candidate);
}

const MATH_DELIMITERS: readonly (readonly [string, string])[] = [
  ['$$', '$$'],
  ['$', '$'],
  ['\\(', '\\)'],
  ['\\[', '\\]'],
];

/** The content of the math span that `text` starts with, if it starts with one. */
function delimitedMath(text: string): string | null {
  for (const [open, close] of MATH_DELIMITERS) {
    if (!text.startsWith(open)) continue;
    const end = text.indexOf(close, open.length);
    return end === -1 ? null : text.slice(open.length, end).trim();
  }
  return null;
}

function bareAnswer(text: string): string | null {
  const trimmed = text.trim();
  // A response with a broken \boxed{ is not an answer in itself.
  if (trimmed.length > BARE_MAX_LENGTH || BOXED_COMMANDS.some((command) => trimmed.includes(command))) return null;
  const unwrapped = unwrapMath(trimmed).replace(/\.+$/, '').trim();
  return unwrapped !== '' && isBareAnswer(unwrapped) ? unwrapped : null;
}

/** `$…$` (or `$$…$$`, `\(…\)`, `\[…\]`) around the whole text → its content. */
function unwrapMath(text: string): string {
  for (const [open, close] of MATH_DELIMITERS) {
    if (text.length >= open.length + close.length && text.startsWith(open) && text.indexOf(close, open.length) === text.length - close.length) {
      return text.slice(open.length, text.length - close.length).trim();
    }
  }
  return text;
}

/** An answer rather than a sentence: one line, at most a few words of prose, none of them sentence words. */
function isBareAnswer(text: string): boolean {
  if (text.length > BARE_MAX_LENGTH || text.includes('\n')) return false;
  const words = text.match(/(?<![\\a-zA-Z])[a-zA-Z]{2,}/g) ?? [];
  return words.length <= BARE_MAX_WORDS && words.every((word) => !PROSE_WORDS.has(word.toLowerCase()));
}

// A minus sign counts only where it cannot be a binary minus ("3-5" ends in 5, "x=-5" in -5).
const NUMBER = /(?:(?<![\w)\]}])-)?(?:\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?(?:\/\d+)?|\.\d+)/g;

/** The last number of `text`: searched in growing windows from the end, so long texts cost little. */
function lastNumber(text: string): string | null {
  for (let size = 4096; ; size *= 8) {
    const start = Math.max(0, text.length - size);
    let last: RegExpMatchArray | undefined;
    for (const match of text.slice(start).matchAll(NUMBER)) last = match;
    // A match at the window's start may be the tail of a longer number: widen the window.
    if (last && (last.index! > 0 || start === 0)) return last[0];
    if (start === 0) return null;
  }
}

function skipSpaces(text: string, at: number): number {
  while (at < text.length && /\s/.test(text[at]!)) at++;
  return at;
}

function isAsciiLetter(code: number): boolean {
  return (code >= 65 && code <= 90) || (code >= 97 && code <= 122);
}

// ---------------------------------------------------------------------------------------------------
// Normalisation of the LaTeX surface

/** Longer answers are compared as whitespace-free lowercase text only: no structure, no CAS. */
const MAX_STRUCTURED_LENGTH = 2000;
const MAX_NESTING = 24;

const UNICODE_REPLACEMENTS: Readonly<Record<string, string>> = {
  '\u2212': '-', '\u2013': '-', '\u00d7': '\\times ', '\u00f7': '\\div ', '\u00b7': '\\cdot ', '\u03c0': '\\pi ',
  '\u221a': '\\sqrt ', '\u221e': '\\infty ', '\u2264': '\\leq ', '\u2265': '\\geq ', '\u2260': '\\neq ', '\u00a0': ' ',
  '\u20ac': '', '\u00a3': '', '\u00a5': '', '\u20b9': '',
};
const UNICODE_PATTERN = new RegExp(`[${Object.keys(UNICODE_REPLACEMENTS).join('')}]`, 'g');

/**
 * Replacement of every control word or symbol that the comparison does not care about or spells two
 * ways. `\inf` (infimum) is read as ∞, the way models write it in intervals.
 */
const COMMAND_REPLACEMENTS: Readonly<Record<string, string>> = {
  '\\!': '', '\\,': '', '\\;': ' ', '\\:': ' ', '\\>': ' ', '\\ ': ' ', '\\$': '', '\\%': '',
  '\\(': '', '\\)': '', '\\[': '', '\\]': '',
  '\\left': '', '\\right': '', '\\big': '', '\\Big': '', '\\bigg': '', '\\Bigg': '', '\\bigl': '', '\\bigr': '',
  '\\Bigl': '', '\\Bigr': '', '\\biggl': '', '\\biggr': '', '\\Biggl': '', '\\Biggr': '',
  '\\displaystyle': '', '\\textstyle': '', '\\scriptstyle': '', '\\quad': ' ', '\\qquad': ' ', '\\limits': '',
  '\\dfrac': '\\frac', '\\tfrac': '\\frac', '\\cfrac': '\\frac', '\\dbinom': '\\binom', '\\tbinom': '\\binom',
  '\\le': '\\leq', '\\leqslant': '\\leq', '\\ge': '\\geq', '\\geqslant': '\\geq', '\\ne': '\\neq',
  '\\lt': '<', '\\gt': '>', '\\lbrace': '\\{', '\\rbrace': '\\}', '\\infin': '\\infty', '\\inf': '\\infty',
  '\\degree': '', '\\circ': '', '\\percent': '', '\\emptyset': '\\{\\}', '\\varnothing': '\\{\\}',
};

const TEXT_WRAPPERS = new Set([
  'text', 'textbf', 'textit', 'textrm', 'texttt', 'textsf', 'textnormal', 'textup', 'mathrm', 'mathbf', 'mathit',
  'mathsf', 'mathtt', 'mathnormal', 'mbox', 'hbox', 'boldsymbol', 'bm', 'emph', 'operatorname',
]);

const FUNCTION_NAMES = 'arcsin|arccos|arctan|sinh|cosh|tanh|sin|cos|tan|cot|sec|csc|log|ln|exp';
const BARE_FUNCTION = new RegExp(`(?<![\\\\a-zA-Z])(${FUNCTION_NAMES}|sqrt|pi)(?![a-zA-Z])`, 'g');
const BRACED_SINGLE_CHARACTER = new RegExp(`(\\^|_|\\\\(?:${FUNCTION_NAMES})\\s*)\\{\\s*([a-zA-Z0-9])\\s*\\}`, 'g');

/**
 * The answer's LaTeX with one spelling per construct: delimiters, spacing, sizing and font commands
 * gone, `\text{}` wrappers unwrapped, degree and percent signs dropped, `\frac12` braced, bare
 * function names made commands, letters lowercased (not command names), single spaces.
 */
function normalizeLatex(answer: string): string {
  let text = answer.replace(UNICODE_PATTERN, (char) => UNICODE_REPLACEMENTS[char]!);
  text = text
    .replace(/\\(?:left|right)\s*\./g, '')
    .replace(/\^\s*\{\s*\\circ\s*\}|\^\s*\\circ|°/g, '')
    .replace(/\{,\}/g, ',')
    .replace(/<=/g, '\\leq ')
    .replace(/>=/g, '\\geq ')
    .replace(/!=/g, '\\neq ')
    .replace(/==/g, '=');
  text = text.replace(/\\[a-zA-Z]+|\\[^a-zA-Z]/g, (command) => COMMAND_REPLACEMENTS[command] ?? command);
  text = text.replace(/\$/g, '').replace(/%/g, '');
  text = unwrapTextCommands(text);
  text = text.replace(BARE_FUNCTION, '\\$1').replace(/(?<![\\a-zA-Z])(?:infinity|inf)(?![a-zA-Z])/gi, '\\infty');
  text = braceShorthandArguments(text);
  // One spelling for single-character exponents, subscripts and function arguments: x^{2} → x^2, \sin{x} → \sin x.
  text = text.replace(BRACED_SINGLE_CHARACTER, (_, before: string, char: string) =>
    /[a-z]$/.test(before) ? `${before.trimEnd()} ${char}` : `${before}${char}`,
  );
  text = text.replace(/\\[a-zA-Z]+|[A-Z]+/g, (token) => (token.startsWith('\\') ? token : token.toLowerCase()));
  return text
    .replace(/\s+/g, ' ')
    .replace(/ (?=[\^_])/g, '')
    .trim()
    .replace(/\.+$/, '')
    .trim();
}

/** `\text{ cm}` → ` cm `: wrapper and its closing brace become spaces, which keep words apart. */
function unwrapTextCommands(text: string): string {
  const contentStarts = new Map<number, number>();
  const closes = new Set<number>();
  let braces: Map<number, number> | undefined;
  for (const match of text.matchAll(/\\([a-zA-Z]+)\s*\{/g)) {
    if (!TEXT_WRAPPERS.has(match[1]!)) continue;
    braces ??= matchBraces(text, 0);
    const open = match.index + match[0].length - 1;
    const close = braces.get(open);
    if (close === undefined) continue;
    contentStarts.set(match.index, open + 1);
    closes.add(close);
  }
  if (contentStarts.size === 0) return text;
  let out = '';
  for (let at = 0; at < text.length; ) {
    const contentStart = contentStarts.get(at);
    if (contentStart !== undefined) {
      out += ' ';
      at = contentStart;
    } else {
      out += closes.has(at) ? ' ' : text[at];
      at++;
    }
  }
  return out;
}

const SHORTHAND_ARGUMENT_COUNT: Readonly<Record<string, number>> = { frac: 2, binom: 2, sqrt: 1 };

/** `\frac12` → `\frac{1}{2}`, `\sqrt2` → `\sqrt{2}`, `\frac1{x}` → `\frac{1}{x}`: one spelling for the key. */
function braceShorthandArguments(text: string): string {
  if (!/\\(?:frac|binom|sqrt)(?![a-zA-Z])/.test(text)) return text;
  const closes = matchBraces(text, 0);
  const openAt = new Set<number>();
  const closeAfter = new Set<number>();
  for (const match of text.matchAll(/\\(frac|binom|sqrt)(?![a-zA-Z])/g)) {
    let at = match.index + match[0].length;
    if (match[1] === 'sqrt') {
      at = skipSpaces(text, at);
      if (text[at] === '[') {
        const end = text.indexOf(']', at);
        if (end === -1) continue;
        at = end + 1;
      }
    }
    for (let argument = 0; argument < SHORTHAND_ARGUMENT_COUNT[match[1]!]!; argument++) {
      at = skipSpaces(text, at);
      if (at >= text.length) break;
      if (text[at] === '{') {
        const close = closes.get(at);
        if (close === undefined) break;
        at = close + 1;
        continue;
      }
      const command = /^\\[a-zA-Z]+/.exec(text.slice(at, at + 40))?.[0];
      const length = command?.length ?? (/[a-zA-Z0-9]/.test(text[at]!) ? 1 : 0);
      if (length === 0) break;
      openAt.add(at);
      closeAfter.add(at + length - 1);
      at += length;
    }
  }
  if (openAt.size === 0) return text;
  let out = '';
  for (let at = 0; at < text.length; at++) {
    if (openAt.has(at)) out += '{';
    out += text[at];
    if (closeAfter.has(at)) out += '}';
  }
  return out;
}

/** The key spelling of normalised LaTeX: no spaces, except one that keeps `\pi r` from becoming `\pir`. */
function compact(latex: string): string {
  return latex.replace(/ +/g, (space, at: number) =>
    /\\[a-zA-Z]+$/.test(latex.slice(Math.max(0, at - 40), at)) && isAsciiLetter(latex.charCodeAt(at + space.length)) ? ' ' : '',
  );
}

// ---------------------------------------------------------------------------------------------------
// Structure

interface Rational {
  num: bigint;
  den: bigint;
}

type AnswerNode =
  /** `decimal`: written with a decimal point (or comma), so float tolerance applies. */
  | { kind: 'number'; key: string; value: Rational; decimal: boolean }
  /** Ordered: tuples, intervals, vectors, matrix rows; `open`/`close` are part of the identity. */
  | { kind: 'sequence'; key: string; open: string; close: string; items: AnswerNode[] }
  /** Unordered: sets, bare lists and ± pairs; or the parts of a union of intervals. */
  | { kind: 'collection'; key: string; union: boolean; items: AnswerNode[] }
  | { kind: 'assignments'; key: string; names: string[]; values: AnswerNode[] }
  | { kind: 'equation'; key: string; left: AnswerNode; right: AnswerNode }
  | { kind: 'text'; key: string }
  /** A formula for the Compute Engine; `latex` is its normalised (spaced) source. */
  | { kind: 'expression'; key: string; latex: string };

const OPENERS = '([{';
const CLOSERS = ')]}';

function parseAnswer(answer: string): AnswerNode {
  if (answer.length > MAX_STRUCTURED_LENGTH) return { kind: 'text', key: answer.replace(/\s+/g, '').toLowerCase() };
  // Most answers are plain integers or decimals: no LaTeX to normalise.
  if (/^\s*[+-]?\d+(?:\.\d+)?\s*$/.test(answer)) {
    const number = parseNumber(answer.trim());
    if (number) return number;
  }
  const normalized = normalizeLatex(answer);
  // "(B) 12" names choice B; "(a) + (b)" is a sum.
  const choice = /^\(([a-e])\)(?: [^-+*/=^]|$)/.exec(normalized);
  return parseNode(choice ? choice[1]! : normalized, 0);
}

function parseNode(text: string, depth: number): AnswerNode {
  const source = text.trim();
  const number = parseNumber(source);
  if (number) return number;
  if (depth >= MAX_NESTING) return leaf(source);

  const items = splitTopLevel(source);
  if (items.length > 1) return listNode(items, depth);

  const chain = splitTopLevel(source, '=');
  if (chain.length > 1) {
    if (chain.every((side) => side.trim() !== '') && isVariable(chain[0]!)) return parseNode(chain[chain.length - 1]!, depth + 1);
    if (chain.length === 2) return equationNode(parseNode(chain[0]!, depth + 1), parseNode(chain[1]!, depth + 1));
    return leaf(source);
  }

  const plusMinus = splitTopLevel(source, '\\pm');
  if (plusMinus.length === 2) {
    const [before, after] = plusMinus as [string, string];
    return collectionNode([parseNode(`${before}+${after}`, depth + 1), parseNode(`${before}-${after}`, depth + 1)]);
  }

  const union = splitTopLevel(source, '\\cup');
  if (union.length > 1) return collectionNode(union.map((part) => parseNode(part, depth + 1)), true);

  const matrix = /^\\begin\{([pbvBV]?matrix)\}(.*)\\end\{\1\}$/s.exec(source);
  if (matrix) {
    const rows = splitTopLevel(matrix[2]!, '\\\\').filter((row) => row.trim() !== '');
    const parsedRows = rows.map((row) => sequenceNode('[', ']', splitTopLevel(row, '&').map((cell) => parseNode(cell, depth + 2))));
    return sequenceNode('matrix[', ']', parsedRows);
  }

  if (source.startsWith('\\{') && source.endsWith('\\}') && closingOf(source, 0) === source.length - 1) {
    const inner = source.slice(2, -2);
    return collectionNode(splitTopLevel(inner).filter((item) => item.trim() !== '').map((item) => parseNode(item, depth + 1)));
  }
  if (!OPENERS.includes(source[0] ?? '') || closingOf(source, 0) !== source.length - 1) return leaf(source);
  const open = source[0]!;
  const close = source[source.length - 1]!;
  const inner = source.slice(1, -1);
  // LaTeX braces only group; so do parentheses around a single item. "[5]" stays a one-element list.
  if (open === '{' || close === '}') return parseNode(inner, depth + 1);
  const parts = splitTopLevel(inner);
  if (parts.length > 1) return sequenceNode(open, close, parts.map((part) => parseNode(part, depth + 1)));
  if (open === '(' && close === ')') return parseNode(inner, depth + 1);
  return inner.trim() === '' ? leaf(source) : sequenceNode(open, close, [parseNode(inner, depth + 1)]);
}

function listNode(items: string[], depth: number): AnswerNode {
  const nonEmpty = items.map((item) => item.trim()).filter((item) => item !== '');
  const assignments = nonEmpty.map((item) => {
    const sides = splitTopLevel(item, '=');
    return sides.length === 2 && isVariable(sides[0]!) && sides[1]!.trim() !== '' ? { name: compact(sides[0]!.trim()), value: sides[1]! } : null;
  });
  if (assignments.every((assignment) => assignment !== null)) {
    const pairs = assignments.map(({ name, value }) => ({ name, value: parseNode(value, depth + 1) }));
    // "x = 1, x = 2" lists the values of one unknown; "x = 1, y = 2" assigns several.
    if (pairs.every((pair) => pair.name === pairs[0]!.name)) return collectionNode(pairs.map((pair) => pair.value));
    pairs.sort((a, b) => compareStrings(a.name, b.name));
    const key = `{${pairs.map((pair) => `${pair.name}=${pair.value.key}`).join(',')}}`;
    return { kind: 'assignments', key, names: pairs.map((pair) => pair.name), values: pairs.map((pair) => pair.value) };
  }
  return collectionNode(nonEmpty.map((item) => parseNode(item, depth + 1)));
}

const GREEK_VARIABLES =
  'alpha|beta|gamma|delta|epsilon|varepsilon|zeta|eta|theta|vartheta|iota|kappa|lambda|mu|nu|xi|rho|sigma|tau|phi|varphi|chi|psi|omega';
const VARIABLE = new RegExp(`^(?:[a-z]{1,3}|\\\\(?:${GREEK_VARIABLES}))(?:_\\{?[a-z0-9]+\\}?)?'*(?:\\([a-z]\\))?$`);

/** A name that an answer like "x = 11" or "f(x) = 2x" assigns to. */
function isVariable(text: string): boolean {
  return VARIABLE.test(compact(text.trim()));
}

function sequenceNode(open: string, close: string, items: AnswerNode[]): AnswerNode {
  return { kind: 'sequence', key: `${open}${items.map((item) => item.key).join(',')}${close}`, open, close, items };
}

function collectionNode(items: AnswerNode[], union = false): AnswerNode {
  const keys = items.map((item) => item.key).sort(compareStrings);
  return { kind: 'collection', key: union ? keys.join('\\cup') : `{${keys.join(',')}}`, union, items };
}

function equationNode(left: AnswerNode, right: AnswerNode): AnswerNode {
  // a = b and b = a are the same equation.
  const [first, second] = [left.key, right.key].sort(compareStrings);
  return { kind: 'equation', key: `${first}=${second}`, left, right };
}

function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * `text` split where it is not inside brackets: at list separators (`,` `;` " or " " and ") by
 * default, else at `separator`. A comma between digit groups ("1,000") separates only when the
 * text does not also separate with ", ", so "1,000, 2,000" keeps its thousands.
 */
function splitTopLevel(text: string, separator?: string): string[] {
  const protectThousands = separator === undefined && text.includes(', ');
  const separatorIsCommand = separator !== undefined && /^\\[a-zA-Z]+$/.test(separator);
  const parts: string[] = [];
  let depth = 0;
  let start = 0;
  for (let at = 0; at < text.length; at++) {
    const char = text[at]!;
    if (OPENERS.includes(char) || (char === '\\' && text.startsWith('\\begin{', at))) depth++;
    else if (CLOSERS.includes(char) || (char === '\\' && text.startsWith('\\end{', at))) depth = Math.max(0, depth - 1);
    if (depth !== 0) continue;
    let length = 0;
    if (separator === undefined) {
      if (char === ';' || (char === ',' && !(protectThousands && isThousandsComma(text, at)))) length = 1;
      else if (text.startsWith(' or ', at)) length = 4;
      else if (text.startsWith(' and ', at)) length = 5;
    } else if (text.startsWith(separator, at)) {
      // `\pm` must not match the start of `\pmod`, nor `=` the end of `<=`.
      const partOfLonger = separatorIsCommand ? isAsciiLetter(text.charCodeAt(at + separator.length)) : separator === '=' && /[<>!:]/.test(text[at - 1] ?? '');
      if (!partOfLonger) length = separator.length;
    }
    if (length > 0) {
      parts.push(text.slice(start, at));
      start = at + length;
      at = start - 1;
    }
  }
  parts.push(text.slice(start));
  return parts;
}

function isThousandsComma(text: string, at: number): boolean {
  return /\d/.test(text[at - 1] ?? '') && /^\d{3}(?!\d)/.test(text.slice(at + 1, at + 5));
}

/** Position of the bracket closing the one at `open` (any of ([{ closes with any of )]}), or -1. */
function closingOf(text: string, open: number): number {
  let depth = 0;
  for (let at = open; at < text.length; at++) {
    if (OPENERS.includes(text[at]!)) depth++;
    else if (CLOSERS.includes(text[at]!) && --depth === 0) return at;
  }
  return -1;
}

const MAX_NUMBER_DIGITS = 60;
const THOUSANDS = /^([+-]?)([1-9]\d{0,2}(?:,\d{3})+)(?:\.(\d+))?$/;
const DECIMAL = /^([+-]?)(\d*)(?:\.(\d*))?$/;
const DECIMAL_COMMA = /^([+-]?)(\d+),(\d+)$/;
const FRACTION = /^([+-]?)(\d+)\/(\d+)$/;
const LATEX_FRACTION = /^([+-]?)\\frac\{([+-]?)(\d+)\}\{([+-]?)(\d+)\}$/;
const MIXED_NUMBER = /^([+-]?)(\d+)\\frac\{(\d+)\}\{(\d+)\}$/;

function parseNumber(text: string): AnswerNode | null {
  // "1, 2" is a list, not the decimal 1,2.
  if (/\s,|,\s/.test(text)) return null;
  const source = compact(text);
  if (source === '' || !/\d/.test(source) || source.replace(/\D/g, '').length > MAX_NUMBER_DIGITS) return null;
  let match = THOUSANDS.exec(source);
  if (match) return decimalNumber(match[1]!, match[2]!.replace(/,/g, ''), match[3] ?? '');
  if ((match = DECIMAL.exec(source)) && (match[2] !== '' || (match[3] ?? '') !== '')) {
    return decimalNumber(match[1]!, match[2]!, match[3] ?? '', match[3] !== undefined);
  }
  if ((match = DECIMAL_COMMA.exec(source))) return decimalNumber(match[1]!, match[2]!, match[3]!, true);
  if ((match = FRACTION.exec(source))) return rationalNumber(match[1] === '-', BigInt(match[2]!), BigInt(match[3]!));
  if ((match = LATEX_FRACTION.exec(source))) {
    const minusSigns = [match[1], match[2], match[4]].filter((signText) => signText === '-').length;
    return rationalNumber(minusSigns % 2 === 1, BigInt(match[3]!), BigInt(match[5]!));
  }
  if ((match = MIXED_NUMBER.exec(source))) {
    const den = BigInt(match[4]!);
    return rationalNumber(match[1] === '-', BigInt(match[2]!) * den + BigInt(match[3]!), den);
  }
  return null;
}

function decimalNumber(signText: string, whole: string, fraction: string, decimal = fraction !== ''): AnswerNode {
  return rationalNumber(signText === '-', BigInt(`${whole}${fraction}` || '0'), 10n ** BigInt(fraction.length), decimal)!;
}

/** The number ±num/den in lowest terms, or null for a zero denominator. */
function rationalNumber(negative: boolean, num: bigint, den: bigint, decimal = false): AnswerNode | null {
  if (den === 0n) return null;
  const divisor = gcd(num, den);
  const value = { num: (negative ? -num : num) / divisor, den: den / divisor };
  const key = value.den === 1n ? `${value.num}` : `${value.num}/${value.den}`;
  return { kind: 'number', key, value, decimal };
}

function gcd(a: bigint, b: bigint): bigint {
  while (b !== 0n) [a, b] = [b, a % b];
  return a === 0n ? 1n : a;
}

const UNIT_EXCEPTIONS = new Set(['am', 'pm', 'a.m', 'p.m', 'a.m.', 'p.m.', 'or', 'and', 'to']);
const TRAILING_WORD = /^(.*\S) ([a-z]+(?:\.[a-z]+)*\.?(?:\^\{?\d\}?)?)$/s;
const ATTACHED_UNIT = /(\d)(?:cm|mm|km|kg|mg|ml|ft|yd|yds|lbs|lb|oz|mph|kph|hrs|hr|sec|secs|mins|min|cents)(?:\^\{?\d\}?)?$/;

/** A leaf: units after a quantity dropped; words make text, the rest is a formula for the CAS. */
function leaf(text: string): AnswerNode {
  let source = text.trim();
  for (let match = TRAILING_WORD.exec(source); match; match = TRAILING_WORD.exec(source)) {
    const word = match[2]!.replace(/\^.*$/, '');
    if (UNIT_EXCEPTIONS.has(word) || word.replace(/\./g, '').length < 2 || !/\d/.test(match[1]!)) break;
    source = match[1]!.trim();
  }
  source = source.replace(ATTACHED_UNIT, '$1');
  const number = parseNumber(source);
  if (number) return number;
  const key = compact(source);
  // A run of three letters outside a command is a word ("odd", "Monday"), not a product of variables.
  return /(?<![\\a-z])[a-z]{3,}/.test(source) ? { kind: 'text', key } : { kind: 'expression', key, latex: source };
}

// ---------------------------------------------------------------------------------------------------
// Keys and equivalence

/**
 * Caches at most 2 × capacity entries in two generations: new entries go to the young one, which becomes
 * the old one when full (the previous old one is dropped); a hit in the old one moves the entry back. A hit
 * in the young one costs a single lookup, where an exact LRU reorders the map on every hit.
 */
class BoundedCache<K, V> {
  private young = new Map<K, V>();
  private old = new Map<K, V>();
  constructor(private readonly capacity: number) {}

  get(key: K): V | undefined {
    const value = this.young.get(key);
    if (value !== undefined) return value;
    const aged = this.old.get(key);
    if (aged !== undefined) this.set(key, aged);
    return aged;
  }

  set(key: K, value: V): void {
    if (this.young.size >= this.capacity) {
      this.old = this.young;
      this.young = new Map();
    }
    this.young.set(key, value);
  }
}

// A seed file's distinct answers (a 100k-line file: ~10k) should fit, or every item parses its answers again.
const CACHE_CAPACITY = 16384;
const parsedAnswers = new BoundedCache<string, AnswerNode>(CACHE_CAPACITY);

function answerNode(answer: string): AnswerNode {
  let node = parsedAnswers.get(answer);
  if (node === undefined) {
    node = parseAnswer(answer);
    parsedAnswers.set(answer, node);
  }
  return node;
}

/** Cheap canonical key of an extracted answer (no CAS): equal keys ⇒ equivalent answers. */
export function answerKey(answer: string): string {
  return answerNode(answer).key;
}

/** Whether two extracted answers are mathematically the same answer (see the rules at the top of this file). */
export function answersEquivalent(a: string, b: string): boolean {
  return nodesEquivalent(answerNode(a), answerNode(b));
}

function nodesEquivalent(a: AnswerNode, b: AnswerNode): boolean {
  if (a.key === b.key) return true;
  switch (a.kind) {
    case 'sequence':
      return b.kind === 'sequence' && a.open === b.open && a.close === b.close && itemsEquivalent(a.items, b.items);
    case 'collection':
      return b.kind === 'collection' && a.union === b.union && sameMembers(a.items, b.items);
    case 'assignments':
      return b.kind === 'assignments' && a.names.join() === b.names.join() && itemsEquivalent(a.values, b.values);
    case 'equation':
      return (
        b.kind === 'equation' &&
        ((nodesEquivalent(a.left, b.left) && nodesEquivalent(a.right, b.right)) ||
          (nodesEquivalent(a.left, b.right) && nodesEquivalent(a.right, b.left)))
      );
    case 'text':
      return false;
    case 'number':
      if (b.kind === 'number') return (a.decimal || b.decimal) && valuesClose(rationalValue(a.value), rationalValue(b.value));
      return b.kind === 'expression' && signaturesMatch(numberSignature(a.value), expressionSignature(b.latex));
    case 'expression':
      if (b.kind === 'number') return signaturesMatch(expressionSignature(a.latex), numberSignature(b.value));
      return b.kind === 'expression' && signaturesMatch(expressionSignature(a.latex), expressionSignature(b.latex));
  }
}

function itemsEquivalent(a: readonly AnswerNode[], b: readonly AnswerNode[]): boolean {
  return a.length === b.length && a.every((item, index) => nodesEquivalent(item, b[index]!));
}

/** Unordered comparison: every item of `a` pairs with a distinct equivalent item of `b` (greedy, small lists). */
function sameMembers(a: readonly AnswerNode[], b: readonly AnswerNode[]): boolean {
  if (a.length !== b.length) return false;
  const unmatched = [...b];
  for (const item of a) {
    const exact = unmatched.findIndex((candidate) => candidate.key === item.key);
    const index = exact !== -1 ? exact : unmatched.findIndex((candidate) => nodesEquivalent(item, candidate));
    if (index === -1) return false;
    unmatched.splice(index, 1);
  }
  return true;
}

// ---------------------------------------------------------------------------------------------------
// Numeric comparison through the Compute Engine

const RELATIVE_TOLERANCE = 1e-6;

interface ComplexValue {
  re: number;
  im: number;
}

/**
 * An expression's values at the sample points (every variable gets a fixed value per point, the same
 * for every expression): equal signatures mean equal functions, whatever variables are written.
 */
type Signature = ComplexValue[];

function rationalValue({ num, den }: Rational): ComplexValue {
  return { re: Number(num) / Number(den), im: 0 };
}

function numberSignature(value: Rational): Signature {
  return Array<ComplexValue>(SAMPLE_POINTS).fill(rationalValue(value));
}

function valuesClose(a: ComplexValue, b: ComplexValue): boolean {
  const difference = Math.hypot(a.re - b.re, a.im - b.im);
  return difference <= RELATIVE_TOLERANCE * Math.max(Math.hypot(a.re, a.im), Math.hypot(b.re, b.im));
}

function signaturesMatch(a: Signature | null, b: Signature | null): boolean {
  return a !== null && b !== null && a.every((value, index) => valuesClose(value, b[index]!));
}

const SAMPLE_POINTS = 2;
const MAX_UNKNOWNS = 8;
const MAX_CAS_LENGTH = 300;
const MAX_CAS_DIGITS = 30;
const MAX_COMBINATORIAL_ARGUMENT = 1000;
/**
 * Never evaluated: constructs the CAS would loop over (sums, big factorials even while parsing) or
 * that change its state (`:=`).
 */
const CAS_UNSAFE = /\\(?:sum|prod|int|iint|iiint|oint|lim|coloneq|coloneqq|def|newcommand|renewcommand|operatorname|mathop)(?![a-zA-Z])|:=|\d{4,}\s*!/;

/** Function heads (canonical MathJSON) that evaluate quickly to numbers. */
const SAFE_HEADS = new Set([
  'Add', 'Subtract', 'Negate', 'Multiply', 'Divide', 'Rational', 'Power', 'Sqrt', 'Root', 'Square', 'Complex', 'Abs',
  'Exp', 'Ln', 'Log', 'Lg', 'Lb', 'Sin', 'Cos', 'Tan', 'Cot', 'Sec', 'Csc', 'Arcsin', 'Arccos', 'Arctan', 'Arccot',
  'Arcsec', 'Arccsc', 'Sinh', 'Cosh', 'Tanh', 'Coth', 'Sech', 'Csch', 'Arsinh', 'Arcosh', 'Artanh', 'Floor',
  'Ceil', 'Round', 'Max', 'Min', 'Sign', 'Delimiter', 'Factorial', 'Factorial2', 'Binomial', 'Gamma', 'Half',
]);
const COMBINATORIAL_HEADS = new Set(['Factorial', 'Factorial2', 'Binomial', 'Gamma']);

const signatures = new BoundedCache<string, Signature | 'none'>(CACHE_CAPACITY);

function expressionSignature(latex: string): Signature | null {
  const cached = signatures.get(latex);
  if (cached !== undefined) return cached === 'none' ? null : cached;
  const signature = computeSignature(latex);
  signatures.set(latex, signature ?? 'none');
  return signature;
}

let engine: Engine | undefined;

function computeEngine(): Engine {
  if (engine === undefined) {
    // Loaded on first use: the engine costs ~0.3 s to load and most answers never need it.
    const { ComputeEngine } = require('@cortex-js/compute-engine') as typeof import('@cortex-js/compute-engine');
    engine = new ComputeEngine();
    engine.precision = 'machine';
  }
  return engine;
}

function computeSignature(latex: string): Signature | null {
  if (latex.length > MAX_CAS_LENGTH || CAS_UNSAFE.test(latex) || maxNesting(latex) > MAX_NESTING) return null;
  if ((latex.match(/\d+/g) ?? []).some((digits) => digits.length > MAX_CAS_DIGITS)) return null;
  const ce = computeEngine();
  // A scope per answer: symbols the parse declares (f in "f(x)") and the sample values assigned to
  // its variables do not leak into later answers.
  ce.pushScope();
  try {
    const expression = ce.parse(latex);
    if (!expression.isValid || !isSafeMathJson(expression.json)) return null;
    const unknowns = expression.unknowns;
    if (unknowns.length > MAX_UNKNOWNS) return null;
    const values: ComplexValue[] = [];
    for (let point = 0; point < SAMPLE_POINTS; point++) {
      // A constant has the same value at every point: evaluate it once.
      if (unknowns.length === 0 && point > 0) {
        values.push(values[0]!);
        continue;
      }
      // Assigning in the answer's own scope is about twice as fast as expression.subs().
      for (const name of unknowns) ce.assign(name, sampleValue(name, point));
      const value = expression.N();
      if (!Number.isFinite(value.re) || !Number.isFinite(value.im)) return null;
      values.push({ re: value.re, im: value.im });
    }
    return values;
  } catch {
    // The engine throws on some hostile input (stack overflow on deep nesting): not comparable.
    return null;
  } finally {
    ce.popScope();
  }
}

function maxNesting(latex: string): number {
  let depth = 0;
  let deepest = 0;
  for (const char of latex) {
    if (OPENERS.includes(char)) deepest = Math.max(deepest, ++depth);
    else if (CLOSERS.includes(char)) depth--;
  }
  return deepest;
}

function isSafeMathJson(json: unknown): boolean {
  if (typeof json === 'number') return true;
  if (typeof json === 'string') return !json.startsWith("'");
  if (Array.isArray(json)) {
    const [head, ...args] = json as unknown[];
    if (typeof head !== 'string' || !SAFE_HEADS.has(head)) return false;
    if (COMBINATORIAL_HEADS.has(head) && !args.every((arg) => typeof arg === 'string' || (typeof arg === 'number' && Math.abs(arg) <= MAX_COMBINATORIAL_ARGUMENT))) {
      return false;
    }
    return args.every(isSafeMathJson);
  }
  if (typeof json === 'object' && json !== null) {
    if ('num' in json) return true;
    if ('sym' in json) return true;
    if ('fn' in json) return isSafeMathJson((json as { fn: unknown }).fn);
  }
  return false;
}

/** A fixed pseudo-random value per variable name and sample point in [0.6, 2.4): the same for every expression. */
function sampleValue(name: string, point: number): number {
  let hash = 2166136261 ^ point;
  for (let at = 0; at < name.length; at++) hash = Math.imul(hash ^ name.charCodeAt(at), 16777619);
  hash = Math.imul(hash ^ (hash >>> 15), 2246822507);
  return 0.6 + ((hash >>> 0) / 2 ** 32) * 1.8;
}
