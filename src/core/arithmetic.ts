// The arithmetic world: a toy reasoning domain in which a tiny character-level model can learn SeRL
// end to end on a CPU. A problem is one short word problem (a starting count, then 2–4 events that add,
// remove or multiply, then a question); its chain of thought applies the events in order, one compact
// equation each, then the answer behind GSM8K's cue: "Ann has 12 eggs. Ann buys 7, sells 5, doubles them.
// How many?" → "12+7=19;19-5=14;14*2=28 #### 28".
//
// Why the grammar looks like this:
// - A 3-layer character GPT must learn the language and 2-digit arithmetic in minutes on one CPU core,
//   so the language is small: one opening, eight operation phrases, one tense, one question, problems of
//   at most 80 characters. (A first version with ~24 phrasings in two tenses and 110-character problems
//   left the model at 2% after a 28-minute warm-up: it spent its capacity on words.)
// - SeRL's similarity filter drops a new problem whose ROUGE-L F1 against any of ~500 seeds exceeds
//   0.7, and ROUGE tokens are [a-z0-9]+ runs, so "+" and "-" vanish. Few words are shared by every
//   problem (has, how, many): the name stands where a pronoun would, events are joined by commas only,
//   and the question is short, so names, objects, numbers and phrases make problems differ in words.
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
  /** The chain of thought, ending in `#### answer`. */
  solution: string;
  steps: Step[];
}

/** `{slot}` marks a value in a template (see SLOT_PATTERNS). */
export interface OperationPhrase {
  operation: Operation;
  template: string;
  /** A multiplier the words fix ("doubles them"); absent when the phrase holds `{n}`. */
  factor?: number;
}

const FEMALE_NAMES = ['Ann', 'Mia', 'Zoe', 'Eva', 'Lily', 'Rosa', 'Nina', 'Kate', 'Emma', 'Ivy', 'Lucy', 'Sara', 'Amy', 'Jill', 'Tess'];
const MALE_NAMES = ['Tom', 'Sam', 'Ben', 'Leo', 'Max', 'Jack', 'Omar', 'Eli', 'Luke', 'Ravi', 'Hugo', 'Finn', 'Noah', 'Dan', 'Raj'];
const OBJECTS = [
  'apples', 'pears', 'plums', 'eggs', 'cookies', 'cards', 'stamps', 'marbles', 'shells', 'coins',
  'beads', 'pencils', 'books', 'stickers', 'candles', 'buttons', 'balloons', 'lemons', 'rocks', 'toys',
];

const OPENING = '{name} has {n} {object}.';

const OPERATION_PHRASES: readonly OperationPhrase[] = [
  { operation: '+', template: 'buys {n}' },
  { operation: '+', template: 'finds {n}' },
  { operation: '+', template: 'gets {n}' },
  { operation: '-', template: 'sells {n}' },
  { operation: '-', template: 'loses {n}' },
  { operation: '-', template: 'gives away {n}' },
  { operation: '*', template: 'doubles them', factor: 2 },
  { operation: '*', template: 'triples them', factor: 3 },
];

/** Between two clauses of the event sentence. */
const JOINER = ', ';

const QUESTION = 'How many?';

/** The world's vocabulary and templates, for tests and documentation. */
export const ARITHMETIC_GRAMMAR = {
  femaleNames: FEMALE_NAMES,
  maleNames: MALE_NAMES,
  objects: OBJECTS,
  opening: OPENING,
  operationPhrases: OPERATION_PHRASES,
  joiner: JOINER,
  question: QUESTION,
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
  /** No count, intermediate or final, exceeds this (keeps the arithmetic to a tiny model's reach). */
  maxValue: number;
  /** Longer problems are drawn again: the model's context holds the problem and its solution. */
  maxChars: number;
}

export const DEFAULT_GENERATE_OPTIONS: GenerateOptions = {
  minSteps: 2,
  maxSteps: 4,
  maxStart: 20,
  maxOperand: 9,
  maxValue: 40,
  maxChars: 80,
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
  const { minSteps, maxSteps, maxStart, maxOperand, maxValue } = options;
  if (minSteps < 1 || maxSteps < minSteps) throw new RangeError(`steps must satisfy 1 ≤ minSteps ≤ maxSteps, got ${minSteps}..${maxSteps}`);
  if (maxStart < 2 || maxStart > maxValue) throw new RangeError(`maxStart must be in [2, maxValue=${maxValue}], got ${maxStart}`);
  if (maxOperand < 1) throw new RangeError(`maxOperand must be at least 1, got ${maxOperand}`);
}

const FACTORS = OPERATION_PHRASES.flatMap((phrase) => (phrase.factor === undefined ? [] : [phrase.factor]));

function drawSteps(rng: Rng, options: GenerateOptions): Step[] {
  const count = options.minSteps + rng.int(options.maxSteps - options.minSteps + 1);
  let value = 2 + rng.int(options.maxStart - 1);
  const steps: Step[] = [];
  for (let i = 0; i < count; i++) {
    const factors = FACTORS.filter((factor) => value * factor <= options.maxValue);
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
  const name = rng.pick(rng.int(2) === 0 ? FEMALE_NAMES : MALE_NAMES);
  const slots = { name, object: rng.pick(OBJECTS), n: String(steps[0]!.left) };
  const clauses = steps.map((step) => {
    const phrases = OPERATION_PHRASES.filter(
      (phrase) => phrase.operation === step.operation && (phrase.factor === undefined || phrase.factor === step.right),
    );
    return fill(rng.pick(phrases).template, { n: String(step.right) });
  });
  return `${fill(OPENING, slots)} ${name} ${clauses.join(JOINER)}. ${QUESTION}`;
}

function fill(template: string, slots: Readonly<Record<string, string>>): string {
  return template.replace(/\{(\w+)\}/g, (_, slot: string) => {
    const value = slots[slot];
    if (value === undefined) throw new Error(`template "${template}" needs a value for {${slot}}`);
    return value;
  });
}

/** The chain of thought of `steps`: "12+7=19;19-5=14;14*2=28 #### 28". */
export function formatSolution(steps: readonly Step[]): string {
  if (steps.length === 0) throw new RangeError('a solution needs at least one step');
  const equations = steps.map((step) => `${step.left}${step.operation}${step.right}=${step.result}`);
  return `${equations.join(';')} #### ${steps[steps.length - 1]!.result}`;
}

// ---------------------------------------------------------------------------------------------------
// Parsing problems back: ground truth for problems a model wrote

// The world writes counts below 100; a model's numbers of up to 3 digits are still read.
const SLOT_PATTERNS: Readonly<Record<string, string>> = {
  name: '(?<name>[A-Z][a-z]+)',
  object: '(?<object>[a-z]+)',
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

const OPENING_PATTERN = templatePattern(OPENING);
const CLAUSE_PATTERNS = OPERATION_PHRASES.map((phrase) => ({ phrase, pattern: templatePattern(phrase.template) }));
const EVENT_SENTENCE = /^(?<subject>[A-Za-z]+) (?<body>.+)\.$/;

export interface SolvedProblem {
  answer: string;
  steps: Step[];
}

/**
 * The ground truth of a problem written in the arithmetic world's grammar (any mix of its phrases, any
 * names, the events in one sentence or several), or null when the text does not follow it, an event
 * refers to someone else, or a count would go negative (or beyond exact integers). Whitespace is
 * normalised first.
 */
export function solveProblem(text: string): SolvedProblem | null {
  const sentences = text.replace(/\s+/g, ' ').trim().split(/(?<=[.?]) /);
  if (sentences.length < 3) return null;
  const opening = OPENING_PATTERN.exec(sentences[0]!)?.groups;
  if (opening === undefined || sentences[sentences.length - 1] !== QUESTION) return null;
  const { name, n } = opening as { name: string; n: string };

  const steps: Step[] = [];
  let value = Number(n);
  for (const sentence of sentences.slice(1, -1)) {
    const event = EVENT_SENTENCE.exec(sentence)?.groups;
    if (event === undefined) return null;
    if (event.subject !== name) return null;
    for (const clause of event.body!.split(JOINER)) {
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
  /**
   * Further labelled warm-up problems (same slip share), drawn after every other set so that their number
   * changes no other file: a later warm-up stage trains on fresh problems instead of repeating the first
   * 3,000, which a fourth stage on them overfitted (training loss 0.12 → 0.06, greedy pass@1 down 2 points).
   */
  moreWarmup: number;
  /** List-continuation examples of the warm-up (exemplars from the seeds, targets from the warm-up problems). */
  listExamples: number;
  /** List examples hold 1 to this many exemplars, so the model continues lists of any length up to it. */
  maxExemplars: number;
  /** Held-out problems for evaluation. */
  test: number;
  /** Held-out problems for choosing settings (warm-up, loop), so that test.jsonl is only ever measured. */
  validation: number;
  generate: GenerateOptions;
}

export const DEFAULT_ARITHMETIC_DATA_OPTIONS: ArithmeticDataOptions = {
  seed: 20250526,
  seeds: 500,
  warmup: 3000,
  slipShare: 0.3,
  moreWarmup: 0,
  listExamples: 1000,
  maxExemplars: 2,
  test: 500,
  validation: 500,
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
  validation: LabelledRecord[];
}

/**
 * The world's seed, warm-up, test and validation sets. Problem texts are distinct across all four sets. Separate
 * random streams draw the problems, the slips and the list examples, so changing the slip share or the
 * number of list examples leaves every problem text as it was.
 */
export function buildArithmeticData(options: ArithmeticDataOptions = DEFAULT_ARITHMETIC_DATA_OPTIONS): ArithmeticData {
  const { seeds: seedCount, warmup: warmupCount, test: testCount, validation: validationCount, slipShare, listExamples, maxExemplars, moreWarmup } = options;
  const counts = { seeds: seedCount, warmup: warmupCount, test: testCount, validation: validationCount, listExamples, maxExemplars, moreWarmup };
  for (const [key, value] of Object.entries(counts)) {
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
  // Drawn after the others: their sizes change no other set.
  const validationProblems = draw(validationCount);
  const moreWarmupProblems = draw(moreWarmup);

  /** Solve examples of `problems`, round(slipShare × count) of them with a slip, chosen and made by `slipRng`. */
  const solveRecords = (problems: ArithmeticProblem[], slipRng: Rng, firstNumber: number): SolveRecord[] => {
    const slipped = new Set(slipRng.sample(range(0, problems.length - 1), Math.round(slipShare * problems.length)));
    return problems.map((problem, index): SolveRecord => {
      const solution = slipped.has(index) ? withSlip(problem.steps, slipRng).solution : problem.solution;
      return {
        id: `warmup-${firstNumber + index}`,
        kind: 'solve',
        ...formatSolveExample(problem.problem, solution),
        answer: problem.answer,
        slipped: slipped.has(index),
      };
    });
  };
  const firstSolveRecords = solveRecords(warmupProblems, createRng(options.seed + 1), 1);
  const moreSolveRecords = solveRecords(moreWarmupProblems, createRng(options.seed + 3), warmupCount + 1);

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
    warmup: [...firstSolveRecords, ...moreSolveRecords, ...listRecords],
    test: testProblems.map(labelled('test')),
    validation: validationProblems.map(labelled('validation')),
  };
}

/** One JSON object per line, each line ending in "\n". */
export function toJsonl(records: readonly object[]): string {
  return records.map((record) => JSON.stringify(record) + '\n').join('');
}
