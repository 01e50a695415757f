// SeRL's self-instruction step: the few-shot prompt that asks the policy for new problems, the parser
// that reads numbered problems back out of its continuation, and the rule filters of self-instruct
// (Wang et al., 2022, yizhongw/self-instruct `bootstrap_instructions.py`), which SeRL reuses.
import type { Rng } from './random';

/** System and user text of the question-generation prompt. */
export interface PromptTemplate {
  system: string;
  user: string;
}

/** SeRL's `prompts/question_generation.json`, embedded because the repository does not ship SeRL's data. */
export const SERL_QUESTION_GENERATION_PROMPT: PromptTemplate = {
  system:
    'Please act as a professional math teacher.\n' +
    'Your goal is to create high quality math word problems to help students learn math.\n' +
    'You only need to create the new question. Please DO NOT solve it.',
  user: 'Come up with a series of questions:\n',
};

export const DEFAULT_EXEMPLAR_COUNT = 8;
export const DEFAULT_MAX_GENERATED_EXEMPLARS = 2;

export interface ChatMessage {
  role: 'system' | 'user';
  content: string;
}

/** Where an exemplar came from: `index` is its position in the seeds or generated list passed in. */
export interface ExemplarRef {
  source: 'seed' | 'generated';
  index: number;
}

export interface Exemplar extends ExemplarRef {
  /** The text as written in the prompt (whitespace collapsed, trailing colons removed). */
  text: string;
}

export interface FewShotPrompt {
  /** Chat form: the system message, then the user message ending in the open item `9.`. */
  messages: [ChatMessage, ChatMessage];
  /** Plain form for base models: system + "\n\n" + user text + numbered list, ending in `9.`. */
  text: string;
  /** The exemplars in prompt order (item 1 first). */
  exemplars: Exemplar[];
  /** The number the model is asked to continue (exemplars + 1). */
  nextNumber: number;
}

export interface FewShotOptions {
  /** Items in the list (SeRL: `--few_shot_generation 8`). */
  exemplars?: number;
  /** At most this many come from earlier kept generations (self-instruct/SeRL: 2); the rest are seeds. */
  maxGenerated?: number;
  template?: PromptTemplate;
}

/**
 * Builds one question-generation prompt as SeRL does: up to `maxGenerated` exemplars drawn from the
 * instructions generated and kept earlier (only as many as exist), the rest drawn from the seeds, all
 * without replacement, then shuffled. With fewer seeds than needed, every seed is used and the list
 * is shorter (self-instruct would fail instead).
 */
export function buildFewShotPrompt(
  seeds: readonly string[],
  generated: readonly string[],
  rng: Rng,
  options: FewShotOptions = {},
): FewShotPrompt {
  const total = options.exemplars ?? DEFAULT_EXEMPLAR_COUNT;
  const maxGenerated = options.maxGenerated ?? Math.min(DEFAULT_MAX_GENERATED_EXEMPLARS, total);
  const template = options.template ?? SERL_QUESTION_GENERATION_PROMPT;
  if (!Number.isInteger(total) || total < 1) throw new RangeError(`exemplars must be a positive integer, got ${total}`);
  if (!Number.isInteger(maxGenerated) || maxGenerated < 0 || maxGenerated > total) {
    throw new RangeError(`maxGenerated must be an integer in [0, ${total}], got ${maxGenerated}`);
  }

  const generatedCount = Math.min(maxGenerated, generated.length);
  const seedCount = Math.min(total - generatedCount, seeds.length);
  if (generatedCount + seedCount === 0) throw new RangeError('no exemplars: the seed and generated lists are empty');

  const picked: ExemplarRef[] = [
    ...rng.sample(indices(generated.length), generatedCount).map((index) => ({ source: 'generated' as const, index })),
    ...rng.sample(indices(seeds.length), seedCount).map((index) => ({ source: 'seed' as const, index })),
  ];
  const exemplars = rng.shuffle(picked).map((ref) => ({
    ...ref,
    text: exemplarText((ref.source === 'seed' ? seeds : generated)[ref.index]),
  }));

  const nextNumber = exemplars.length + 1;
  const list = exemplars.map((exemplar, i) => `${i + 1}. ${exemplar.text}\n`).join('') + `${nextNumber}.`;
  const user = template.user + list;
  return {
    messages: [
      { role: 'system', content: template.system },
      { role: 'user', content: user },
    ],
    text: `${template.system}\n\n${user}`,
    exemplars,
    nextNumber,
  };
}

function indices(length: number): number[] {
  return Array.from({ length }, (_, i) => i);
}

/** One list item per line: self-instruct collapses whitespace and drops trailing colons. */
function exemplarText(text: string): string {
  return normalizeWhitespace(text).replace(/:+$/, '');
}

export interface ParsedItem {
  /** The list number the item was written under (9, 10, …). */
  number: number;
  /** The item text, trimmed; lines of a multi-line item are kept joined by "\n". */
  text: string;
}

export interface ParsedContinuation {
  /** Complete items in order. */
  items: ParsedItem[];
  /** The last item when the continuation was cut off by the token limit inside it; never an item. */
  truncatedItem: ParsedItem | null;
  /** Text after the list ended (a number out of sequence, or prose after a blank line); '' when none. */
  ignoredTail: string;
}

export interface ParseOptions {
  /** The number the prompt left open (`FewShotPrompt.nextNumber`). */
  firstNumber: number;
  /** The generation stopped at its token limit (finish_reason "length"), so the last item may be cut. */
  truncated: boolean;
}

// "10." or "10 ." (self-instruct splits on `\n\d+\s?\. `); the dot must be followed by whitespace or
// the end of the line so a line starting with a decimal such as "10.5 kg" is not taken for an item.
const ITEM_MARKER = /^[ \t]*(\d+)[ \t]?\.(?=\s|$)[ \t]*/;

/**
 * Splits the model's continuation of a numbered list into items. The continuation starts inside item
 * `firstNumber` (a restated leading "9." is tolerated, as chat models often write one); each later
 * item must start a line with the next consecutive number. The list ends at a number out of sequence,
 * or at a blank line that is not followed by the next number. Lines without a number continue the
 * current item. Empty items are skipped. With `truncated`, only an item the cut-off fell inside is
 * dropped (self-instruct discarded the whole response; the items before the cut are complete).
 */
export function parseContinuation(continuation: string, options: ParseOptions): ParsedContinuation {
  const lines = continuation.replace(/\r\n?/g, '\n').split('\n');
  const items: ParsedItem[] = [];
  let number = options.firstNumber;
  let current: string[] = [];
  const finishItem = () => {
    const text = current.join('\n').trim();
    if (text !== '') items.push({ number, text });
    current = [];
  };
  const isMarkerOf = (line: string | undefined, expected: number) => {
    const marker = line === undefined ? null : ITEM_MARKER.exec(line);
    return marker !== null && Number(marker[1]) === expected ? marker[0].length : -1;
  };

  let index = 0;
  while (index < lines.length && lines[index].trim() === '') index++;
  const restatedMarker = isMarkerOf(lines[index], number);
  if (restatedMarker >= 0 || index === 0) {
    // The first line continues the open "9." (or restates it), whatever else it looks like.
    current.push(lines[index].slice(Math.max(restatedMarker, 0)));
    index++;
  }

  let listEnd = lines.length;
  for (; index < lines.length; index++) {
    const line = lines[index];
    if (line.trim() === '') {
      // A blank line ends the list unless the next non-blank line is the next item.
      let next = index + 1;
      while (next < lines.length && lines[next].trim() === '') next++;
      if (next < lines.length && isMarkerOf(lines[next], number + 1) < 0) {
        listEnd = index;
        break;
      }
      index = next - 1;
      continue;
    }
    if (ITEM_MARKER.test(line)) {
      const markerLength = isMarkerOf(line, number + 1);
      if (markerLength < 0) {
        listEnd = index;
        break;
      }
      finishItem();
      number++;
      current.push(line.slice(markerLength));
      continue;
    }
    current.push(line);
  }

  const ignoredTail = lines.slice(listEnd).join('\n').trim();
  // Cut off inside the last item: the limit struck before the model ended the item's line.
  const lastText = current.join('\n').trim();
  if (listEnd === lines.length && options.truncated && lastText !== '' && !/\n\s*$/.test(continuation)) {
    return { items, truncatedItem: { number, text: lastText }, ignoredTail };
  }
  finishItem();
  return { items, truncatedItem: null, ignoredTail };
}

/** Collapses every run of whitespace to one space and trims, as self-instruct does before filtering. */
export function normalizeWhitespace(text: string): string {
  return isNormalized(text) ? text : text.replace(/\s+/g, ' ').trim();
}

/** Whether JS's `\s` class (WhiteSpace and LineTerminator) holds the UTF-16 code unit. */
function isJsSpace(code: number): boolean {
  if (code <= 0x20) return code === 0x20 || (code >= 0x09 && code <= 0x0d);
  if (code < 0xa0) return false;
  return (
    code === 0xa0 || code === 0x1680 || (code >= 0x2000 && code <= 0x200a) || code === 0x2028 || code === 0x2029 ||
    code === 0x202f || code === 0x205f || code === 0x3000 || code === 0xfeff
  );
}

/** True when normalizeWhitespace would return the text unchanged: only single plain spaces, none at either end. */
function isNormalized(text: string): boolean {
  let previousSpace = true; // a space at the start needs trimming
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code === 0x20) {
      if (previousSpace) return false;
      previousSpace = true;
    } else if (isJsSpace(code)) {
      return false;
    } else {
      previousSpace = false;
    }
  }
  return !previousSpace || text.length === 0;
}

/** Words of a whitespace-normalised text (single spaces, no space at either end): `text.split(' ').length`, 0 for ''. */
function wordCount(normalized: string): number {
  if (normalized === '') return 0;
  let words = 1;
  for (let i = normalized.indexOf(' '); i >= 0; i = normalized.indexOf(' ', i + 1)) words++;
  return words;
}

/** Every rule-filter rejection code, for schemas and UI lists. */
export const RULE_REJECT_REASONS = [
  'too-short',
  'too-long',
  'blocked-keyword',
  'write-a-program',
  'bad-first-character',
] as const;
export type RuleRejectReason = (typeof RULE_REJECT_REASONS)[number];
export type RuleVerdict = { ok: true; text: string } | { ok: false; reason: RuleRejectReason; detail: string };

export interface RuleFilterOptions {
  /** Fewer words than this are rejected (self-instruct: `<= 3` words dropped, so 4). */
  minWords: number;
  /** More words than this are rejected (self-instruct: 150). */
  maxWords: number;
}

export const DEFAULT_RULE_FILTER_OPTIONS: RuleFilterOptions = { minWords: 4, maxWords: 150 };

/** self-instruct's list, verbatim: tasks a text-only model cannot do. Matched as whole words. */
export const BLOCKED_KEYWORDS: readonly string[] = [
  'image',
  'images',
  'graph',
  'graphs',
  'picture',
  'pictures',
  'file',
  'files',
  'map',
  'maps',
  'draw',
  'plot',
  'go to',
];

// Python's `\b` under re.IGNORECASE on str is Unicode-aware; JS `\b` is ASCII-only, so the word
// boundary is spelled out with Unicode letters and digits to match self-instruct on accented text.
const KEYWORD_PATTERNS = BLOCKED_KEYWORDS.map(
  (keyword) => new RegExp(`(?<![\\p{L}\\p{N}_])${keyword}(?![\\p{L}\\p{N}_])`, 'iu'),
);
// Every pattern above needs its keyword somewhere in the text (same flags, so the same case folding): one
// pass of this alternation rules out the common text that holds none, before the patterns run one by one.
const ANY_KEYWORD = new RegExp(BLOCKED_KEYWORDS.join('|'), 'iu');

// Python's string.punctuation: note it includes `$` and `\`, so items opening with TeX are rejected too.
const ASCII_PUNCTUATION = new Set('!"#$%&\'()*+,-./:;<=>?@[\\]^_`{|}~');

/**
 * SeRL's rule filters on one generated instruction, in self-instruct's order: length in words,
 * blocked keywords, "Write a program" (case-insensitive), first character punctuation or non-ASCII.
 * The text is whitespace-normalised first; the accepted text is the normalised one.
 */
export function applyRuleFilters(text: string, options: RuleFilterOptions = DEFAULT_RULE_FILTER_OPTIONS): RuleVerdict {
  const normalized = normalizeWhitespace(text);
  const words = wordCount(normalized);
  if (words === 0 || words < options.minWords) {
    return { ok: false, reason: 'too-short', detail: `${plural(words, 'word')} (minimum ${options.minWords})` };
  }
  if (words > options.maxWords) {
    return { ok: false, reason: 'too-long', detail: `${plural(words, 'word')} (maximum ${options.maxWords})` };
  }
  if (ANY_KEYWORD.test(normalized)) {
    for (const pattern of KEYWORD_PATTERNS) {
      const match = pattern.exec(normalized);
      if (match) return { ok: false, reason: 'blocked-keyword', detail: `contains '${match[0]}'` };
    }
  }
  if (normalized.toLowerCase().startsWith('write a program')) {
    return { ok: false, reason: 'write-a-program', detail: `starts with '${normalized.slice(0, 15)}'` };
  }
  const first = String.fromCodePoint(normalized.codePointAt(0) as number);
  if (ASCII_PUNCTUATION.has(first)) {
    return { ok: false, reason: 'bad-first-character', detail: `starts with punctuation '${first}'` };
  }
  if (first.codePointAt(0)! > 0x7f) {
    const code = first.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0');
    return { ok: false, reason: 'bad-first-character', detail: `starts with non-ASCII character '${first}' (U+${code})` };
  }
  return { ok: true, text: normalized };
}

function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}
