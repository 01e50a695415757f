// Evaluation of a policy on a labelled set through a sampling backend (the training worker): greedy
// pass@1, sampled pass@1 (the mean over k samples at temperature 1) and maj@k (the majority vote over
// those k samples against the label). Answers are extracted, compared and voted on by src/core only.
//
// The prompt is the problem text itself with "\n" as the stop string: the arithmetic world's solve format
// (examples/arithmetic/README.md), in which responses start with a space and hold no newline.
import { readFile } from 'node:fs/promises';
import { answersEquivalent, extractAnswer } from '../core/answers';
import { parseSeedText, seedAnswer, seedFormatForPath } from '../core/seeds';
import { majorityMatches, majorityVote } from '../core/vote';
import type { Sample, SampleParams, SampleResult } from '../protocol/worker';

// ---------------------------------------------------------------------------------------------------------
// Labelled sets: the one reader of seed-format files (seeds, evaluation sets), built on src/core/seeds

/** One item of a seed-format file (JSON or JSONL): `problem`/`question`/`instruction` and an optional `answer`. */
export interface LabelledItem {
  /** The item's `id`, else "line N" (1-based). */
  id: string;
  /** 1-based line the item starts on. */
  line: number;
  problem: string;
  /** Null when the item has none. */
  answer: string | null;
}

/** Errors past this many are summarised, not listed. */
const MAX_LISTED_ERRORS = 10;

/**
 * Parses a seed-format file's text (JSONL, or JSON when `source` ends in .json). Any error in it is fatal,
 * every one named "source:line:column: …": a run or a score over a silently shortened set would not be
 * comparable with any other.
 */
export function parseLabelledItems(text: string, source: string): LabelledItem[] {
  const parsed = parseSeedText(text, seedFormatForPath(source));
  const errors = parsed.problems.filter((problem) => problem.severity === 'error');
  if (errors.length > 0) {
    const shown = errors.slice(0, MAX_LISTED_ERRORS).map((problem) => {
      const { line, character } = problem.range.start;
      return `${source}:${line + 1}:${character + 1}: ${problem.message}`;
    });
    const more = errors.length > shown.length ? [`… and ${errors.length - shown.length} more (serl validate ${source})`] : [];
    throw new Error([...shown, ...more].join('\n'));
  }
  if (parsed.items.length === 0) throw new Error(`${source}: no items`);
  return parsed.items.map((record) => ({
    id: record.seed!.id === undefined || record.seed!.id === null ? `line ${record.line + 1}` : String(record.seed!.id),
    line: record.line + 1,
    problem: record.instruction!,
    answer: seedAnswer(record.seed!),
  }));
}

export async function readLabelledItems(file: string): Promise<LabelledItem[]> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new Error(`${file}: cannot read: ${(error as Error).message}`);
  }
  return parseLabelledItems(text, file);
}

/** A problem to score: its answer is required. */
export interface LabelledProblem {
  id: string;
  problem: string;
  answer: string;
}

/** Like parseLabelledItems, and every item must carry an answer (each one without is named). */
export function parseLabelledProblems(text: string, source: string): LabelledProblem[] {
  return requireAnswers(parseLabelledItems(text, source), source);
}

export async function readLabelledProblems(file: string): Promise<LabelledProblem[]> {
  return requireAnswers(await readLabelledItems(file), file);
}

function requireAnswers(items: LabelledItem[], source: string): LabelledProblem[] {
  const unanswered = items.filter((item) => item.answer === null);
  if (unanswered.length > 0) {
    const shown = unanswered.slice(0, MAX_LISTED_ERRORS).map((item) => `${source}:${item.line}: answer: required to score the item`);
    if (unanswered.length > shown.length) shown.push(`… and ${unanswered.length - shown.length} more without an answer`);
    throw new Error(shown.join('\n'));
  }
  return items.map(({ id, problem, answer }) => ({ id, problem, answer: answer! }));
}

// ---------------------------------------------------------------------------------------------------------
// Evaluation

/** What evaluation needs of a policy backend: the worker's `sample` (WorkerClient satisfies it). */
export interface Sampler {
  sample(params: SampleParams): Promise<SampleResult>;
}

export interface EvaluationOptions {
  /** Samples per problem for sampled pass@1 and the majority vote (k). Default 16. */
  samples?: number;
  /** Temperature of those samples. Default 1. */
  temperature?: number;
  /** Response token limit. Default 80: the arithmetic world's longest chain of thought is under 60 characters. */
  maxTokens?: number;
  /** Sequences asked for in one `sample` call (the worker batches them further). Default 256. */
  sequencesPerCall?: number;
  /** Seed of the sampled pass; call i samples with seed + i, so the figures do not depend on the worker's state. */
  seed?: number;
  /** Called after each `sample` call with the sequences done so far and in all. */
  onProgress?: (done: number, total: number) => void;
}

export interface ResponseVerdict {
  text: string;
  finish_reason: Sample['finish_reason'];
  /** The extracted final answer; null when the response has none. */
  answer: string | null;
  correct: boolean;
}

export interface ProblemEvaluation {
  id: string;
  label: string;
  greedy: ResponseVerdict;
  /** The k sampled responses' verdicts, in sampling order. */
  samples: ResponseVerdict[];
  /** The majority group's answer over the k samples; null when none has an answer. */
  majority: string | null;
  majority_correct: boolean;
  /** Majority group size / k. */
  agreement: number;
}

export interface Evaluation {
  /** Problems evaluated. */
  n: number;
  /** Samples per problem behind sampled_pass1 and maj_at_k. */
  k: number;
  temperature: number;
  /** Share of problems whose greedy (temperature 0) response is right. */
  greedy_pass1: number;
  /** Share of right responses among all n × k samples (the mean per-problem pass@1). */
  sampled_pass1: number;
  /** Share of problems whose majority answer over the k samples is right (maj@16 by default). */
  maj_at_k: number;
  /** Mean majority agreement: how often a sample agrees with its problem's majority. */
  mean_agreement: number;
  items: ProblemEvaluation[];
}

const DEFAULTS = { samples: 16, temperature: 1, maxTokens: 80, sequencesPerCall: 256, seed: 0 };
const STOP = ['\n'];

/** Greedy pass@1, sampled pass@1 and maj@k of the policy behind `sampler` on `problems`. */
export async function evaluatePolicy(
  sampler: Sampler,
  problems: readonly LabelledProblem[],
  options: EvaluationOptions = {},
): Promise<Evaluation> {
  const settings = { ...DEFAULTS, ...withoutUndefined(options) };
  const { samples: k, temperature, maxTokens, sequencesPerCall, seed } = settings;
  for (const [name, value] of Object.entries({ samples: k, maxTokens, sequencesPerCall })) {
    if (!Number.isSafeInteger(value) || value < 1) throw new RangeError(`evaluation option ${name} must be an integer ≥ 1, got ${value}`);
  }
  if (!(temperature > 0)) throw new RangeError(`evaluation option temperature must be > 0 (greedy is always measured), got ${temperature}`);
  if (problems.length === 0) throw new RangeError('nothing to evaluate: the problem list is empty');

  const total = problems.length * (1 + k);
  let done = 0;
  const run = async (n: number, sampleTemperature: number, callSeed: (call: number) => number | undefined) => {
    const responses: Sample[][] = [];
    const perCall = Math.max(1, Math.floor(sequencesPerCall / n));
    for (let start = 0, call = 0; start < problems.length; start += perCall, call++) {
      const chunk = problems.slice(start, start + perCall);
      const seedOfCall = callSeed(call);
      const result = await sampler.sample({
        requests: chunk.map((problem, i) => ({
          id: start + i,
          prompt: problem.problem,
          n,
          temperature: sampleTemperature,
          max_tokens: maxTokens,
          stop: STOP,
        })),
        ...(seedOfCall === undefined ? {} : { seed: seedOfCall }),
      });
      for (const entry of result.results) responses.push(entry.samples);
      done += chunk.length * n;
      settings.onProgress?.(done, total);
    }
    return responses;
  };

  // Greedy decoding draws no random numbers, so it needs no seed.
  const greedyResponses = await run(1, 0, () => undefined);
  const sampledResponses = await run(k, temperature, (call) => seed + call);

  const items = problems.map((problem, index): ProblemEvaluation => {
    const verdict = ({ text, finish_reason }: Sample, answer: string | null): ResponseVerdict => ({
      text,
      finish_reason,
      answer,
      correct: answer !== null && answersEquivalent(answer, problem.answer),
    });
    const greedy = greedyResponses[index]![0]!;
    const sampled = sampledResponses[index]!;
    const vote = majorityVote(sampled.map((sample) => sample.text));
    return {
      id: problem.id,
      label: problem.answer,
      greedy: verdict(greedy, extractAnswer(greedy.text)),
      samples: sampled.map((sample, j) => verdict(sample, vote.answers[j] ?? null)),
      majority: vote.majority,
      majority_correct: majorityMatches(vote, problem.answer),
      agreement: vote.agreement,
    };
  });

  const mean = (values: number[]) => values.reduce((sum, value) => sum + value, 0) / values.length;
  return {
    n: items.length,
    k,
    temperature,
    greedy_pass1: mean(items.map((item) => (item.greedy.correct ? 1 : 0))),
    sampled_pass1: mean(items.map((item) => item.samples.filter((sample) => sample.correct).length / k)),
    maj_at_k: mean(items.map((item) => (item.majority_correct ? 1 : 0))),
    mean_agreement: mean(items.map((item) => item.agreement)),
    items,
  };
}

function withoutUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, entry]) => entry !== undefined)) as Partial<T>;
}
