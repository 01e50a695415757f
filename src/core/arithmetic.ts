// The arithmetic world: a toy reasoning domain in which a tiny character-level model can learn SeRL
// end to end on a CPU. A problem is a short word problem (a starting count, then 2–4 events that add,
// remove or multiply, then a question); its chain of thought applies the events in order, one short
// equation each: "12+7=19; 19-5=14; 14*3=42. \boxed{42}".
//
// Why the grammar looks like this:
// - SeRL's similarity filter drops a new problem whose ROUGE-L F1 against any of ~500 seeds exceeds
//   0.7, and ROUGE tokens are [a-z0-9]+ runs, so "+" and "-" vanish and a bare "12 + 34 - 5" is a near
//   duplicate of any other expression. Names, objects, containers, days, two tenses and several verbs
//   per operation make problems differ in words, not only in numbers.
// - Every phrase maps to exactly one operation, wherever it appears, so `solveProblem` can compute the
//   ground truth of any problem a model writes in this grammar (in any combination of its phrases)
//   without trusting the model: benchmarks score self-generated problems with it.
// - Majority voting carries information only when a model's errors are random, so the warm-up data
//   contains solutions with one random digit slip (`withSlip`) rather than systematic mistakes.
import { buildFewShotPrompt, type PromptTemplate } from './selfInstruct';
import { createRng, type Rng } from './random';

export type Operation = '+' | '-' | '*';

/** One equation of a chain of thought: `left operation right = result`. */
export interface Step {
  left: number;
  operation: Operation;
  right: number;
  result: number;
}

export interface ArithmeticProblem {
  /** The instruction text. */
  problem: string;
  /** The final count, as a decimal string. */
  answer: string;
  /** The chain of thought, ending in `\boxed{answer}`. */
  solution: string;
  steps: Step[];
}

export type Tense = 'present' | 'past';

/** A sentence or clause template in both tenses; `{slot}` marks a value (see SLOT_PATTERNS). */
export interface TensedTemplate {
  present: string;
  past: string;
}

export interface OperationPhrase extends TensedTemplate {
  operation: Operation;
  /** A multiplier the words fix ("doubles them"); absent when the phrase holds `{n}`. */
  factor?: number;
}

const FEMALE_NAMES = [
  'Ann', 'Mia', 'Zoe', 'Eva', 'Lily', 'Rosa', 'Nina', 'Kate', 'Emma', 'Ivy',
  'Lucy', 'Sara', 'Amy', 'Jill', 'Tess', 'Maya', 'Ella', 'Ruby', 'Jade', 'Nora',
];
const MALE_NAMES = [
  'Tom', 'Sam', 'Ben', 'Leo', 'Max', 'Jack', 'Omar', 'Eli', 'Luke', 'Ravi',
  'Hugo', 'Finn', 'Noah', 'Owen', 'Carl', 'Ian', 'Dan', 'Theo', 'Raj', 'Adam',
];
const OBJECTS = [
  'apples', 'pears', 'plums', 'eggs', 'cookies', 'muffins', 'cards', 'stamps', 'marbles', 'shells',
  'coins', 'beads', 'pencils', 'books', 'stickers', 'candles', 'buttons', 'balloons', 'lemons', 'peaches',
  'rocks', 'toys', 'socks', 'ribbons', 'cupcakes', 'crayons', 'nuts', 'seeds', 'bottles', 'tickets',
];
const CONTAINERS = ['box', 'bag', 'basket', 'jar', 'drawer', 'tin', 'crate', 'bucket'];
const DAYS = ['Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday', 'Sunday'];

const OPENINGS: readonly TensedTemplate[] = [
  { present: '{name} has {n} {object}.', past: '{name} had {n} {object}.' },
  { present: '{name} starts with {n} {object}.', past: '{name} started with {n} {object}.' },
  { present: '{name} owns {n} {object}.', past: '{name} owned {n} {object}.' },
  { present: 'On {day} {name} has {n} {object}.', past: 'On {day} {name} had {n} {object}.' },
  { present: "{name}'s {container} holds {n} {object}.", past: "{name}'s {container} held {n} {object}." },
  { present: 'At first {name} has {n} {object}.', past: 'At first {name} had {n} {object}.' },
];

const OPERATION_PHRASES: readonly OperationPhrase[] = [
  { operation: '+', present: 'buys {n} more', past: 'bought {n} more' },
  { operation: '+', present: 'finds {n} more', past: 'found {n} more' },
  { operation: '+', present: 'gets {n} more', past: 'got {n} more' },
  { operation: '+', present: 'wins {n}', past: 'won {n}' },
  { operation: '+', present: 'receives {n}', past: 'received {n}' },
  { operation: '+', present: 'collects {n} more', past: 'collected {n} more' },
  { operation: '+', present: 'is given {n}', past: 'was given {n}' },
  { operation: '+', present: 'picks up {n}', past: 'picked up {n}' },
  { operation: '+', present: 'makes {n} more', past: 'made {n} more' },
  { operation: '+', present: 'gets {n} from {friend}', past: 'got {n} from {friend}' },
  { operation: '-', present: 'sells {n}', past: 'sold {n}' },
  { operation: '-', present: 'loses {n}', past: 'lost {n}' },
  { operation: '-', present: 'gives away {n}', past: 'gave away {n}' },
  { operation: '-', present: 'uses {n}', past: 'used {n}' },
  { operation: '-', present: 'donates {n}', past: 'donated {n}' },
  { operation: '-', present: 'drops {n}', past: 'dropped {n}' },
  { operation: '-', present: 'trades away {n}', past: 'traded away {n}' },
  { operation: '-', present: 'throws out {n}', past: 'threw out {n}' },
  { operation: '-', present: 'gives {n} to {friend}', past: 'gave {n} to {friend}' },
  { operation: '*', present: 'doubles them', past: 'doubled them', factor: 2 },
  { operation: '*', present: 'triples them', past: 'tripled them', factor: 3 },
  { operation: '*', present: 'multiplies them by {n}', past: 'multiplied them by {n}' },
  { operation: '*', present: 'gets {n} times as many', past: 'got {n} times as many' },
  { operation: '*', present: 'turns each into {n}', past: 'turned each into {n}' },
];

/** Words that may open an event sentence; the pronoun after them is lowercase. */
const STARTERS = ['Then', 'Next', 'Later', 'After that'];

/** Between two clauses of one event sentence. Longer joiners first: the parser splits on them in this order. */
const JOINERS = [', then ', ' and then ', ', ', ' and '];

const QUESTIONS: readonly TensedTemplate[] = [
  { present: 'How many {object} are left?', past: 'How many {object} were left?' },
  { present: 'How many does {pronoun} have now?', past: 'How many did {pronoun} have then?' },
  { present: 'How many {object} does {name} have?', past: 'How many {object} did {name} have?' },
  { present: 'How many does {pronoun} end up with?', past: 'How many did {pronoun} end up with?' },
  { present: 'How many now?', past: 'How many at the end?' },
  { present: 'What is the total now?', past: 'What was the total then?' },
  { present: 'Find the final count.', past: 'Find the count at the end.' },
];

/** The world's vocabulary and templates, for tests and documentation. */
export const ARITHMETIC_GRAMMAR = {
  femaleNames: FEMALE_NAMES,
  maleNames: MALE_NAMES,
  objects: OBJECTS,
  containers: CONTAINERS,
  days: DAYS,
  openings: OPENINGS,
  operationPhrases: OPERATION_PHRASES,
  starters: STARTERS,
  joiners: JOINERS,
  questions: QUESTIONS,
} as const;

// ---------------------------------------------------------------------------------------------------
// Generation

export interface GenerateOptions {
  /** Operations per problem, at least (the chain of thought has one equation per operation). */
  minSteps: number;
  maxSteps: number;
  /** The starting count is drawn from [2, maxStart]. */
  maxStart: number;
  /** Added and removed amounts are drawn from [1, maxOperand]. */
  maxOperand: number;
  /** Multipliers are drawn from [2, maxFactor]. */
  maxFactor: number;
  /** No count, intermediate or final, exceeds this (keeps the arithmetic to a tiny model's reach). */
  maxValue: number;
  /** Longer problems are drawn again: the model's context holds the problem and its solution. */
  maxChars: number;
}

export const DEFAULT_GENERATE_OPTIONS: GenerateOptions = {
  minSteps: 2,
  maxSteps: 4,
  maxStart: 20,
  maxOperand: 20,
  maxFactor: 4,
  maxValue: 99,
  maxChars: 110,
};

/**
 * Wordings tried per drawn computation before the numbers are drawn again: re-wording first keeps
 * long (4-step) computations from being filtered out by maxChars.
 */
const WORDINGS_PER_DRAW = 20;
/** Computations drawn before generation gives up on maxChars. */
const MAX_DRAWS = 100;

/** A new random problem with its ground-truth solution. Counts stay between 1 and maxValue. */
export function generateProblem(rng: Rng, options: Partial<GenerateOptions> = {}): ArithmeticProblem {
  const settings = { ...DEFAULT_GENERATE_OPTIONS, ...options };
  checkGenerateOptions(settings);
  for (let draw = 0; draw < MAX_DRAWS; draw++) {
    const steps = drawSteps(rng, settings);
    for (let wording = 0; wording < WORDINGS_PER_DRAW; wording++) {
      const problem = renderProblem(rng, steps);
      if (problem.length <= settings.maxChars) {
        const answer = String(steps[steps.length - 1]!.result);
        return { problem, answer, solution: formatSolution(steps), steps };
      }
    }
  }
  throw new RangeError(`no problem of at most ${settings.maxChars} characters in ${MAX_DRAWS} draws: raise maxChars`);
}

function checkGenerateOptions(options: GenerateOptions): void {
  for (const [key, value] of Object.entries(options)) {
    if (!Number.isSafeInteger(value)) throw new RangeError(`generate option ${key} must be an integer, got ${value}`);
  }
  const { minSteps, maxSteps, maxStart, maxOperand, maxFactor, maxValue } = options;
  if (minSteps < 1 || maxSteps < minSteps) throw new RangeError(`steps must satisfy 1 ≤ minSteps ≤ maxSteps, got ${minSteps}..${maxSteps}`);
  if (maxStart < 2 || maxStart > maxValue) throw new RangeError(`maxStart must be in [2, maxValue=${maxValue}], got ${maxStart}`);
  if (maxOperand < 1) throw new RangeError(`maxOperand must be at least 1, got ${maxOperand}`);
  if (maxFactor < 2) throw new RangeError(`maxFactor must be at least 2, got ${maxFactor}`);
}

function drawSteps(rng: Rng, options: GenerateOptions): Step[] {
  const count = options.minSteps + rng.int(options.maxSteps - options.minSteps + 1);
  let value = 2 + rng.int(options.maxStart - 1);
  const steps: Step[] = [];
  for (let i = 0; i < count; i++) {
    const factors = range(2, options.maxFactor).filter((factor) => value * factor <= options.maxValue);
    const feasible: Operation[] = [];
    if (value < options.maxValue) feasible.push('+');
    if (value >= 2) feasible.push('-');
    if (factors.length > 0) feasible.push('*');
    const operation = rng.pick(feasible);
    let right: number;
    if (operation === '+') right = 1 + rng.int(Math.min(options.maxOperand, options.maxValue - value));
    // Removing fewer than all keeps every count positive, so each later event still makes sense.
    else if (operation === '-') right = 1 + rng.int(Math.min(options.maxOperand, value - 1));
    else right = rng.pick(factors);
    const step = { left: value, operation, right, result: apply(value, operation, right) };
    steps.push(step);
    value = step.result;
  }
  return steps;
}

function range(from: number, to: number): number[] {
  return Array.from({ length: Math.max(0, to - from + 1) }, (_, i) => from + i);
}

function apply(left: number, operation: Operation, right: number): number {
  if (operation === '+') return left + right;
  if (operation === '-') return left - right;
  return left * right;
}

function renderProblem(rng: Rng, steps: readonly Step[]): string {
  const tense: Tense = rng.int(2) === 0 ? 'present' : 'past';
  const female = rng.int(2) === 0;
  const name = rng.pick(female ? FEMALE_NAMES : MALE_NAMES);
  const slots: Record<string, string> = {
    name,
    pronoun: female ? 'she' : 'he',
    object: rng.pick(OBJECTS),
    container: rng.pick(CONTAINERS),
    day: rng.pick(DAYS),
    n: String(steps[0]!.left),
  };
  const sentences = [fill(rng.pick(OPENINGS)[tense], slots)];

  const clauses = steps.map((step) => {
    const phrases = OPERATION_PHRASES.filter(
      (phrase) => phrase.operation === step.operation && (phrase.factor === undefined || phrase.factor === step.right),
    );
    const friend = rng.pick([...FEMALE_NAMES, ...MALE_NAMES].filter((other) => other !== name));
    return fill(rng.pick(phrases)[tense], { n: String(step.right), friend });
  });
  // The events fill one or two sentences, split at a random point between clauses.
  const sentenceCount = 1 + rng.int(Math.min(2, clauses.length));
  const cuts = rng.sample(range(1, clauses.length - 1), sentenceCount - 1).sort((a, b) => a - b);
  const bounds = [0, ...cuts, clauses.length];
  for (let s = 0; s < sentenceCount; s++) {
    const group = clauses.slice(bounds[s], bounds[s + 1]);
    // A second sentence opens with a starter ("Then …") half the time, the first a quarter of the time.
    const starter = rng.int(s === 0 ? 4 : 2) === 0 ? rng.pick(STARTERS) : '';
    const usesName = rng.int(4) === 0;
    const subject = usesName ? name : starter === '' ? capitalize(slots.pronoun!) : slots.pronoun!;
    let body = group[0]!;
    for (const clause of group.slice(1)) body += rng.pick(JOINERS) + clause;
    sentences.push(`${starter === '' ? '' : starter + ' '}${subject} ${body}.`);
  }

  sentences.push(fill(rng.pick(QUESTIONS)[tense], slots));
  return sentences.join(' ');
}

function fill(template: string, slots: Readonly<Record<string, string>>): string {
  return template.replace(/\{(\w+)\}/g, (_, slot: string) => {
    const value = slots[slot];
    if (value === undefined) throw new Error(`template "${template}" needs a value for {${slot}}`);
    return value;
  });
}

function capitalize(word: string): string {
  return word.charAt(0).toUpperCase() + word.slice(1);
}

/** The chain of thought of `steps`: "12+7=19; 19-5=14; 14*3=42. \boxed{42}". */
export function formatSolution(steps: readonly Step[]): string {
  if (steps.length === 0) throw new RangeError('a solution needs at least one step');
  const equations = steps.map((step) => `${step.left}${step.operation}${step.right}=${step.result}`);
  return `${equations.join('; ')}. \\boxed{${steps[steps.length - 1]!.result}}`;
}

// ---------------------------------------------------------------------------------------------------
// Parsing problems back: ground truth for problems a model wrote

// The world writes counts below 100; a model's numbers of up to 3 digits are still read.
const SLOT_PATTERNS: Readonly<Record<string, string>> = {
  name: '(?<name>[A-Z][a-z]+)',
  friend: '[A-Z][a-z]+',
  pronoun: '(?<pronoun>she|he)',
  object: '(?<object>[a-z]+)',
  container: '[a-z]+',
  day: `(?:${DAYS.join('|')})`,
  n: '(?<n>0|[1-9]\\d{0,2})',
};
/** A model may write more events than the world's 4; beyond this the text is not a problem of the world. */
const MAX_PARSED_STEPS = 6;

function templatePattern(template: string): RegExp {
  const source = template
    .split(/(\{\w+\})/)
    .map((part) => {
      const slot = /^\{(\w+)\}$/.exec(part)?.[1];
      return slot === undefined ? part.replace(/[.*+?^$()[\]|\\]/g, '\\$&') : SLOT_PATTERNS[slot]!;
    })
    .join('');
  return new RegExp(`^${source}$`);
}

const bothTenses = (template: TensedTemplate) => [template.present, template.past].map(templatePattern);
const OPENING_PATTERNS = OPENINGS.flatMap(bothTenses);
const QUESTION_PATTERNS = QUESTIONS.flatMap(bothTenses);
const CLAUSE_PATTERNS = OPERATION_PHRASES.flatMap((phrase) => bothTenses(phrase).map((pattern) => ({ phrase, pattern })));
const EVENT_SENTENCE = new RegExp(
  `^(?:(?<starter>${STARTERS.join('|')}) )?` +
    '(?<subject>[A-Za-z]+) (?<body>.+)\\.$',
);
const JOINER_SPLIT = new RegExp(JOINERS.map((joiner) => joiner.replace(/[.*+?^$()[\]|\\]/g, '\\$&')).join('|'));

export interface SolvedProblem {
  answer: string;
  steps: Step[];
}

/**
 * The ground truth of a problem written in the arithmetic world's grammar (any mix of its phrases and
 * tenses, any names), or null when the text does not follow it, an event refers to someone else, the
 * question asks about other objects, or a count would go negative (or beyond exact integers).
 * Whitespace is normalised first.
 */
export function solveProblem(text: string): SolvedProblem | null {
  const sentences = text.replace(/\s+/g, ' ').trim().split(/(?<=[.?]) /);
  if (sentences.length < 3) return null;
  const opening = matchAny(OPENING_PATTERNS, sentences[0]!);
  const question = matchAny(QUESTION_PATTERNS, sentences[sentences.length - 1]!);
  if (opening === null || question === null) return null;
  const { name, object, n } = opening as { name: string; object: string; n: string };
  if ((question.object !== undefined && question.object !== object) || (question.name !== undefined && question.name !== name)) {
    return null;
  }

  const steps: Step[] = [];
  let value = Number(n);
  for (const sentence of sentences.slice(1, -1)) {
    const event = EVENT_SENTENCE.exec(sentence)?.groups;
    if (event === undefined) return null;
    const pronouns = event.starter === undefined ? ['She', 'He'] : ['she', 'he'];
    if (event.subject !== name && !pronouns.includes(event.subject!)) return null;
    for (const clause of event.body!.split(JOINER_SPLIT)) {
      const parsed = parseClause(clause);
      if (parsed === null || steps.length === MAX_PARSED_STEPS) return null;
      const result = apply(value, parsed.operation, parsed.right);
      if (result < 0 || !Number.isSafeInteger(result)) return null;
      steps.push({ left: value, operation: parsed.operation, right: parsed.right, result });
      value = result;
    }
  }
  return steps.length === 0 ? null : { answer: String(value), steps };
}

function matchAny(patterns: readonly RegExp[], sentence: string): Record<string, string | undefined> | null {
  for (const pattern of patterns) {
    const match = pattern.exec(sentence);
    if (match) return match.groups ?? {};
  }
  return null;
}

function parseClause(clause: string): { operation: Operation; right: number } | null {
  for (const { phrase, pattern } of CLAUSE_PATTERNS) {
    const match = pattern.exec(clause);
    if (match) return { operation: phrase.operation, right: phrase.factor ?? Number(match.groups!.n) };
  }
  return null;
}

// ---------------------------------------------------------------------------------------------------
// Slips: the warm-up's noise model

export interface Slip {
  /** Index of the step whose result was miscomputed. */
  step: number;
  /** Position of the changed digit in that result's decimal string. */
  position: number;
  from: string;
  to: string;
}

export interface SlippedSolution {
  /** The steps as computed after the slip: later steps start from the wrong value and are right from there. */
  steps: Step[];
  solution: string;
  answer: string;
  slip: Slip;
}

/**
 * A chain of thought with one random digit slip: one digit of one step's result is replaced by another
 * (never a leading zero), and every later step computes correctly from the wrong value, as a person who
 * slipped once would. Chosen uniformly among the slips that keep every later count non-negative (a
 * slip in the last step always qualifies, so one exists).
 */
export function withSlip(steps: readonly Step[], rng: Rng): SlippedSolution {
  if (steps.length === 0) throw new RangeError('a solution needs at least one step');
  const candidates: { slip: Slip; steps: Step[] }[] = [];
  steps.forEach((step, index) => {
    const digits = String(step.result);
    for (let position = 0; position < digits.length; position++) {
      for (let digit = 0; digit <= 9; digit++) {
        const to = String(digit);
        if (to === digits[position] || (position === 0 && digit === 0 && digits.length > 1)) continue;
        const slipped = propagate(steps, index, Number(digits.slice(0, position) + to + digits.slice(position + 1)));
        if (slipped !== null) candidates.push({ slip: { step: index, position, from: digits[position]!, to }, steps: slipped });
      }
    }
  });
  const chosen = rng.pick(candidates);
  const answer = String(chosen.steps[chosen.steps.length - 1]!.result);
  return { steps: chosen.steps, solution: formatSolution(chosen.steps), answer, slip: chosen.slip };
}

function propagate(steps: readonly Step[], index: number, wrongResult: number): Step[] | null {
  const slipped = steps.slice(0, index);
  slipped.push({ ...steps[index]!, result: wrongResult });
  let value = wrongResult;
  for (const step of steps.slice(index + 1)) {
    const result = apply(value, step.operation, step.right);
    if (result < 0) return null;
    slipped.push({ left: value, operation: step.operation, right: step.right, result });
    value = result;
  }
  return slipped;
}

// ---------------------------------------------------------------------------------------------------
// Training texts for the supervised warm-up

/** One supervised example: the model is trained on `completion` after `prompt` (then end of sequence). */
export interface SftExample {
  prompt: string;
  completion: string;
}

/**
 * A solving example. The prompt is the problem text exactly as the loop sends an instruction to the
 * tiny model (it has no chat template); the response opens with a space so the model can tell where
 * the problem ended, and has no newline, so "\n" may serve as a stop string.
 */
export function formatSolveExample(problem: string, solution: string): SftExample {
  return { prompt: problem, completion: ` ${solution}` };
}

/**
 * The question-generation prompt of the arithmetic world: SeRL's system text alone (~200 characters)
 * leaves no room for exemplars in a 256-character context, so the world uses one short line.
 */
export const ARITHMETIC_PROMPT_TEMPLATE: PromptTemplate = { system: 'Write new arithmetic word problems.', user: '' };

export interface ListExampleOptions {
  /** Exemplars in the list before the one the model writes. */
  exemplars: number;
  template: PromptTemplate;
}

/**
 * A list-continuation example: the few-shot prompt SeRL's self-instruction step builds (plain form, as
 * `buildFewShotPrompt` writes it for a base model) from `exemplarPool`, completed with `target` as the
 * next item and a line break, after which the model learns to end the sequence.
 */
export function formatListExample(exemplarPool: readonly string[], target: string, rng: Rng, options: ListExampleOptions): SftExample {
  const prompt = buildFewShotPrompt(exemplarPool, [], rng, { exemplars: options.exemplars, template: options.template });
  return { prompt: prompt.text, completion: ` ${target}\n` };
}

// ---------------------------------------------------------------------------------------------------
// The world's data files

export interface ArithmeticDataOptions {
  /** Seed of the generator: equal options give byte-identical files. */
  seed: number;
  /** Seed problems (unlabelled use by SeRL; their answers serve the ground-truth baseline). */
  seeds: number;
  /** Labelled problems of the supervised warm-up. */
  warmup: number;
  /** Share of warm-up solutions that carry one digit slip (exactly round(share × warmup) of them). */
  slipShare: number;
  /** List-continuation examples of the warm-up (exemplars from the seeds, targets from the warm-up problems). */
  listExamples: number;
  /** List examples hold 1 to this many exemplars, so the model continues lists of any length up to it. */
  maxExemplars: number;
  /** Held-out problems for evaluation. */
  test: number;
  generate: GenerateOptions;
}

export const DEFAULT_ARITHMETIC_DATA_OPTIONS: ArithmeticDataOptions = {
  seed: 20250526,
  seeds: 500,
  warmup: 3000,
  slipShare: 0.3,
  listExamples: 1000,
  maxExemplars: 3,
  test: 500,
  generate: DEFAULT_GENERATE_OPTIONS,
};

export interface LabelledRecord {
  id: string;
  problem: string;
  answer: string;
  solution: string;
}

/** A solving example; its prompt is the problem text. */
export interface SolveRecord extends SftExample {
  id: string;
  kind: 'solve';
  /** The true answer, also when the completion carries a slip. */
  answer: string;
  slipped: boolean;
}

export interface ListRecord extends SftExample {
  id: string;
  kind: 'list';
}

export type WarmupRecord = SolveRecord | ListRecord;

export interface ArithmeticData {
  seeds: LabelledRecord[];
  warmup: WarmupRecord[];
  test: LabelledRecord[];
}

/**
 * The world's seed, warm-up and test sets. Problem texts are distinct across all three sets. Separate
 * random streams draw the problems, the slips and the list examples, so changing the slip share or the
 * number of list examples leaves every problem text as it was.
 */
export function buildArithmeticData(options: ArithmeticDataOptions = DEFAULT_ARITHMETIC_DATA_OPTIONS): ArithmeticData {
  const { seeds: seedCount, warmup: warmupCount, test: testCount, slipShare, listExamples, maxExemplars } = options;
  for (const [key, value] of Object.entries({ seeds: seedCount, warmup: warmupCount, test: testCount, listExamples, maxExemplars })) {
    if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`${key} must be a non-negative integer, got ${value}`);
  }
  if (!(slipShare >= 0 && slipShare <= 1)) throw new RangeError(`slipShare must be in [0, 1], got ${slipShare}`);
  if (listExamples > 0 && (maxExemplars < 1 || seedCount < maxExemplars || warmupCount === 0)) {
    throw new RangeError('list examples need maxExemplars ≥ 1, at least that many seeds, and warm-up problems as targets');
  }

  const problemRng = createRng(options.seed);
  const seen = new Set<string>();
  const draw = (count: number): ArithmeticProblem[] => {
    const problems: ArithmeticProblem[] = [];
    while (problems.length < count) {
      const problem = generateProblem(problemRng, options.generate);
      if (seen.has(problem.problem)) continue;
      seen.add(problem.problem);
      problems.push(problem);
    }
    return problems;
  };
  const labelled = (prefix: string) => (problem: ArithmeticProblem, index: number): LabelledRecord => ({
    id: `${prefix}-${index + 1}`,
    problem: problem.problem,
    answer: problem.answer,
    solution: problem.solution,
  });
  const seedProblems = draw(seedCount);
  const warmupProblems = draw(warmupCount);
  const testProblems = draw(testCount);

  const slipRng = createRng(options.seed + 1);
  const slipped = new Set(slipRng.sample(range(0, warmupCount - 1), Math.round(slipShare * warmupCount)));
  const solveRecords = warmupProblems.map((problem, index): SolveRecord => {
    const solution = slipped.has(index) ? withSlip(problem.steps, slipRng).solution : problem.solution;
    return {
      id: `warmup-${index + 1}`,
      kind: 'solve',
      ...formatSolveExample(problem.problem, solution),
      answer: problem.answer,
      slipped: slipped.has(index),
    };
  });

  const listRng = createRng(options.seed + 2);
  const seedTexts = seedProblems.map((problem) => problem.problem);
  const listRecords = range(1, listExamples).map((number): ListRecord => {
    const target = listRng.pick(warmupProblems).problem;
    const exemplars = 1 + listRng.int(maxExemplars);
    return {
      id: `list-${number}`,
      kind: 'list',
      ...formatListExample(seedTexts, target, listRng, { exemplars, template: ARITHMETIC_PROMPT_TEMPLATE }),
    };
  });

  return {
    seeds: seedProblems.map(labelled('seed')),
    warmup: [...solveRecords, ...listRecords],
    test: testProblems.map(labelled('test')),
  };
}

/** One JSON object per line, each line ending in "\n". */
export function toJsonl(records: readonly object[]): string {
  return records.map((record) => JSON.stringify(record) + '\n').join('');
}
