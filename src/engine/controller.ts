// The SeRL loop (DESIGN.md "What SeRL does"): the controller makes every algorithm decision and asks the
// Python worker only for model operations (sample, train_step, save/load). One RL step:
//
//   serl mode          few-shot prompts from the seeds and earlier kept items (run RNG) → continuations →
//                      parsed items → rule filters → similarity filter (seeds, vetoed items, this batch),
//                      in rounds of self_instruction.batch_size prompts until rollout_batch_size candidates
//                      (at most SELF_INSTRUCT_ROUNDS_FACTOR × the rounds that would suffice; a short batch is
//                      logged and trained as is)
//   majority /         rollout_batch_size distinct seeds drawn uniformly with the run RNG (ground-truth: among
//   ground-truth       seeds that have an answer)
//   then               n responses per instruction (kept by the worker for training) → answers → majority
//                      vote → rewards (majority membership; equivalence with the answer in ground-truth mode
//                      or for a relabelled item) → difficulty band on the mean reward → advantages over the
//                      trained groups → train_step in chunks of train_batch_size for max_epochs → release
//                      → (serl mode, every monitor.probe_every steps) a vote on the collapse monitor's probe
//                      of labelled seeds, which trains nothing (probe.ts).
//
// Human decisions are polled at the start of a step and again just before training: a veto takes an item
// out of this step's training, out of the few-shot pool and into the similarity filter's vetoed set; a
// relabel arriving before training re-scores the item against the human answer. Review mode: kept items
// wait; accepted ones train in a later step, re-sampled then (the worker's kept samples are released at
// the end of every step, so nothing is held across steps or across a restart), and a step with nothing
// accepted waits, polling, while items are queued.
//
// Durability: every step ends with a worker checkpoint and a `checkpoint` event carrying the RNG state, so
// that after kill -9 at most the step in progress is redone (issue 3); checkpoints at multiples of
// `checkpoint_every` and the latest one are retained, the others deleted once superseded. Decisions live in
// decisions.jsonl, which only the user side writes, so none can be lost here.
import { mkdir, rm, readFile, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { computeAdvantages } from '../core/advantages';
import { answersEquivalent, extractAnswer } from '../core/answers';
import { parseRunConfig, type RunConfig } from '../core/config';
import { difficultyFilter, SimilarityFilter, type DifficultyVerdict } from '../core/filters';
import type { PoolItem, ResumePoint } from '../core/pool';
import { createRng, restoreRng, type Rng } from '../core/random';
import { applyRuleFilters, buildFewShotPrompt, normalizeWhitespace, parseContinuation } from '../core/selfInstruct';
import { majorityMatches, voteOnAnswers, type VoteResult } from '../core/vote';
import {
  itemIdFor,
  type FinishStatus,
  type ItemOrigin,
  type ItemRef,
  type Neighbour,
  type RewardSource,
  type StepMetrics,
} from '../protocol/events';
import type { Sample, SampleRequest, TrainStepResult } from '../protocol/worker';
import { WorkerErrorCodes } from '../protocol/worker';
import type { SamplingBackend } from './backend';
import { openBackend, startPolicyWorker, workerBackend } from './backends';
import { readLabelledItems } from './evaluate';
import { CollapseMonitor } from './monitor';
import { checkProbeSlice, chooseProbeSlice, probeDue, scoreProbe } from './probe';
import { createRun, RunWriter } from './runStore';
import { learningRate } from './schedule';
import { type WorkerClient, WorkerError } from './worker';

/** Self-instruction gives up on filling a batch after this many times the rounds that would suffice. */
export const SELF_INSTRUCT_ROUNDS_FACTOR = 4;
/** How often review mode polls decisions.jsonl while it waits for an accept. */
export const REVIEW_POLL_MS = 500;

// ---------------------------------------------------------------------------------------------------------
// Inputs: the config file and the seed and evaluation sets

/**
 * Reads and validates a run config file and makes its paths absolute: `seeds`, `eval.dataset` and a tiny
 * model's `path` resolve against the config file's folder; an hf model's `path` does too when it names an
 * existing folder there (else it is a Hugging Face model id).
 */
export async function loadRunConfigFile(file: string): Promise<RunConfig> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new Error(`${file}: cannot read the config: ${(error as Error).message}`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new Error(`${file}: invalid JSON: ${(error as Error).message}`);
  }
  const parsed = parseRunConfig(value, file);
  if (!parsed.ok) throw new Error(parsed.errors.map((error) => error.message).join('\n'));
  const config = parsed.config;
  const base = dirname(resolve(file));
  const model = { ...config.model };
  if (model.path !== undefined) {
    const local = resolve(base, model.path);
    if (model.kind === 'tiny' || isAbsolute(model.path) || model.path.startsWith('.') || existsSync(local)) model.path = local;
  }
  return {
    ...config,
    seeds: resolve(base, config.seeds),
    model,
    backend: config.backend.kind === 'onnx' ? { ...config.backend, path: resolve(base, config.backend.path) } : config.backend,
    eval: { ...config.eval, ...(config.eval.dataset === undefined ? {} : { dataset: resolve(base, config.eval.dataset) }) },
  };
}

export interface LabelledSet {
  file: string;
  texts: string[];
  /** Each item's answer, null when it has none. */
  answers: (string | null)[];
}

/** Reads a seed-format file (JSONL or JSON) with evaluate.ts's one reader; any error in it is fatal, named "file:line:column: …". */
export async function loadLabelledSet(file: string): Promise<LabelledSet> {
  const items = await readLabelledItems(file);
  return { file, texts: items.map((item) => item.problem), answers: items.map((item) => item.answer) };
}

/** RL steps of the run: max_steps, else the iterations' worth of instructions in batches of rollout_batch_size. */
export function plannedSteps(config: RunConfig, seedCount: number): number {
  if (config.max_steps !== undefined) return config.max_steps;
  const perIteration = config.mode === 'serl' ? config.instructions_num_per_iteration : seedCount;
  return config.iterations * Math.max(1, Math.ceil(perIteration / config.rollout_batch_size));
}

// ---------------------------------------------------------------------------------------------------------
// Scoring one instruction's responses

export interface Scored {
  vote: VoteResult;
  rewards: number[];
  source: RewardSource;
  /** Mean reward: the majority agreement, or the accuracy against a reference. */
  meanReward: number;
  difficulty: DifficultyVerdict;
}

/**
 * The self-reward of an instruction's responses: majority membership, or (with `reference`) equivalence of
 * each response's answer with it. The difficulty band applies to the mean reward.
 */
export function scoreResponses(
  responses: readonly string[],
  reference: { answer: string; source: 'ground-truth' | 'relabel' } | null,
  bounds: readonly [number, number],
): Scored {
  const vote = voteOnAnswers(responses.map(extractAnswer));
  const rewards: number[] = reference
    ? vote.answers.map((answer) => (answer !== null && answersEquivalent(answer, reference.answer) ? 1 : 0))
    : [...vote.rewards];
  const meanReward = rewards.length === 0 ? 0 : rewards.reduce((sum, reward) => sum + reward, 0) / rewards.length;
  return { vote, rewards, source: reference?.source ?? 'majority', meanReward, difficulty: difficultyFilter(meanReward, bounds) };
}

/** Every response gave the same (extractable) answer: the vote cannot tell them apart. */
export function isUnanimous(vote: VoteResult): boolean {
  return vote.groups.length === 1 && vote.groups[0].count === vote.answers.length;
}

// ---------------------------------------------------------------------------------------------------------
// Running

export interface TrainListener {
  /** The run is open (locked, replayed, run-started written). */
  opened?(info: { runId: string; dir: string; resumedFrom: ResumePoint | null; totalSteps: number; problems: string[] }): void;
  /** What the loop does now, e.g. "step 3: rollouts". */
  phase?(step: number, text: string): void;
  stepDone?(metrics: StepMetrics, totalSteps: number): void;
  /** Worker logs, warnings of the loop. */
  log?(level: 'debug' | 'info' | 'warning' | 'error', message: string): void;
}

export interface TrainOptions {
  /** The folder whose .serl/runs holds the runs. */
  workspace: string;
  /** A new run from a config file, or an existing run to resume. */
  start: { configFile: string } | { resume: string };
  /** The worker's Python interpreter (needs PyTorch). */
  python?: string;
  /** Extra environment of the worker (e.g. SERL_WORKER_THREADS). */
  workerEnv?: NodeJS.ProcessEnv;
  /** Where a curation run's OpenAI backend reads its API key and OPENAI_BASE_URL. Default: process.env. */
  env?: NodeJS.ProcessEnv;
  /** Aborting stops the run at the next step boundary (the step in progress is abandoned). */
  signal?: AbortSignal;
  listener?: TrainListener;
}

export interface TrainOutcome {
  runId: string;
  status: FinishStatus;
  /** Steps completed on the run's timeline. */
  steps: number;
  detail?: string;
}

/**
 * A training run updates the policy (the worker); a curation-only run stops before the RL update, with any
 * backend, and writes the same events otherwise (no item-trained, step metrics without loss).
 */
export type RunPurpose = 'train' | 'curate';

/** Runs (or resumes) a training run to its end, a stop request or a failure; always releases the worker and the lock. */
export function train(options: TrainOptions): Promise<TrainOutcome> {
  return runLoop(options, 'train');
}

/** The SeRL loop for either purpose; a run is resumed only for the purpose it was started with. */
export async function runLoop(options: TrainOptions, purpose: RunPurpose): Promise<TrainOutcome> {
  let runId: string;
  if ('configFile' in options.start) {
    const config = await loadRunConfigFile(options.start.configFile);
    if (purpose === 'train' && config.backend.kind !== 'worker') {
      throw new Error(`${options.start.configFile}: backend.kind: '${config.backend.kind}' cannot train (only the worker can); curate with serl curate, or set backend.kind to 'worker'`);
    }
    // Fail before creating a run when the seed set is unusable.
    await loadLabelledSet(config.seeds);
    runId = (await createRun(options.workspace, config)).runId;
  } else {
    runId = options.start.resume;
  }
  const stop = new AbortController();
  const abort = () => stop.abort();
  options.signal?.addEventListener('abort', abort);
  if (options.signal?.aborted) stop.abort();
  const writer = await RunWriter.open(options.workspace, runId, {
    onLockCompromised: (error) => {
      options.listener?.log?.('error', `lost the run lock: ${error.message}`);
      stop.abort();
    },
  });
  try {
    const startedAs = writer.pool.sessions.at(-1)?.config.curation_only === true ? 'curate' : 'train';
    if (writer.pool.sessions.length > 0 && startedAs !== purpose) {
      throw new Error(`run ${runId} is a ${startedAs === 'curate' ? 'curation-only' : 'training'} run: resume it with serl ${startedAs} --resume ${runId}`);
    }
    return await new Controller(writer, options, stop.signal, purpose).run();
  } finally {
    options.signal?.removeEventListener('abort', abort);
    await writer.close();
  }
}

/** Thrown at a step boundary once a stop was requested. */
class StopRequested extends Error {}

interface Candidate {
  itemId: string;
  text: string;
  origin: ItemOrigin;
  nearest: Neighbour | null;
}

interface VotedItem {
  itemId: string;
  samples: Sample[];
  scored: Scored;
}

/** One step's counters, for step-metrics. */
class StepTally {
  generated = 0;
  voted = 0;
  unanimous = 0;
  labelled = 0;
  labelMatches = 0;
  agreementSum = 0;
  responseTokens = 0;
  responses = 0;
  sampledTokens = 0;
  samplingSeconds = 0;
  filtered: StepMetrics['filtered_by_reason'] = {};

  countFiltered(reason: keyof StepMetrics['filtered_by_reason']): void {
    this.filtered[reason] = (this.filtered[reason] ?? 0) + 1;
  }
}

class Controller {
  private readonly config: RunConfig;
  private readonly listener: TrainListener;
  /** What samples: the worker in training runs, the configured backend in curation-only runs. */
  private backend: SamplingBackend | null = null;
  /** Self-instruction prompts as chat messages (see OpenedBackend.chatPrompts). */
  private chatPrompts = false;
  /** The training worker; null in curation-only runs. */
  private worker: WorkerClient | null = null;
  private rng!: Rng;
  private session = 0;
  private step = 0;
  private totalSteps = 0;
  private seeds!: LabelledSet;
  private evalSet: LabelledSet | null = null;
  private similarity!: SimilarityFilter<ItemRef>;
  private readonly vetoedInFilter = new Set<string>();
  private readonly monitor: CollapseMonitor;
  /** The collapse monitor's labelled probe (probe.ts); null when the run has none. */
  private probe: { texts: string[]; answers: string[] } | null = null;
  private warnedLongFewShot = false;
  /** Sample ids the worker keeps for this step; released when the step ends, however it ends. */
  private heldSamples: string[] = [];

  constructor(
    private readonly writer: RunWriter,
    private readonly options: TrainOptions,
    private readonly stopSignal: AbortSignal,
    private readonly purpose: RunPurpose,
  ) {
    this.config = writer.config;
    this.listener = options.listener ?? {};
    this.monitor = new CollapseMonitor({ curationOnly: purpose === 'curate' });
  }

  async run(): Promise<TrainOutcome> {
    const resume = this.writer.startSession({ curationOnly: this.purpose === 'curate' });
    this.step = resume?.step ?? 0;
    this.session = resume?.session ?? 0;
    try {
      await this.prepare(resume);
      while (this.step < this.totalSteps) {
        this.checkStop();
        await this.runStep(this.step + 1);
        this.step += 1;
      }
      return this.finish('completed');
    } catch (error) {
      if (error instanceof StopRequested || this.stopSignal.aborted) {
        return this.finish('stopped', `stopped by request during step ${this.step + 1}; resume with serl ${this.purpose} --resume ${this.writer.paths.runId}`);
      }
      const message = describeFailure(error);
      this.writer.emit({
        type: 'error',
        message,
        ...(error instanceof Error && error.stack ? { detail: error.stack } : {}),
        step: this.step + 1,
        fatal: true,
      });
      return this.finish('failed', message);
    } finally {
      await this.releaseHeld().catch(() => {});
      await this.backend?.close();
    }
  }

  private async finish(status: FinishStatus, detail?: string): Promise<TrainOutcome> {
    this.writer.emit({ type: 'run-finished', status, ...(detail === undefined ? {} : { detail }) });
    await this.writer.sync();
    return { runId: this.writer.paths.runId, status, steps: this.step, ...(detail === undefined ? {} : { detail }) };
  }

  private async prepare(resume: ResumePoint | null): Promise<void> {
    const config = this.config;
    this.seeds = await loadLabelledSet(config.seeds);
    if (config.mode === 'ground-truth' && !this.seeds.answers.some((answer) => answer !== null)) {
      throw new Error(`${config.seeds}: ground-truth mode needs seeds with an "answer"; none has one`);
    }
    if (config.eval.dataset !== undefined) {
      this.evalSet = await loadLabelledSet(config.eval.dataset);
      const missing = this.evalSet.answers.findIndex((answer) => answer === null);
      if (missing >= 0) throw new Error(`${config.eval.dataset}: item ${missing + 1} has no "answer" to evaluate against`);
    }
    this.totalSteps = plannedSteps(config, this.seeds.texts.length);
    this.similarity = new SimilarityFilter<ItemRef>(config.filters.rouge_threshold);
    this.seeds.texts.forEach((text, index) => this.similarity.addSeed(text, { kind: 'seed', index }));
    this.syncVetoes();
    this.probe = this.fixProbe();
    for (const metrics of [...this.writer.pool.steps.values()].sort((a, b) => a.step - b.step)) this.monitor.observe(metrics);
    this.listener.opened?.({
      runId: this.writer.paths.runId,
      dir: this.writer.paths.dir,
      resumedFrom: resume,
      totalSteps: this.totalSteps,
      problems: this.writer.problems,
    });

    const backendOptions = {
      python: this.options.python,
      workerEnv: this.options.workerEnv,
      env: this.options.env,
      log: (level: 'debug' | 'info' | 'warning' | 'error', message: string) => this.listener.log?.(level, message),
    };
    if (this.purpose === 'curate') {
      this.listener.phase?.(this.step + 1, `starting the ${config.backend.kind} backend`);
      const opened = await openBackend(config, backendOptions);
      this.backend = opened.backend;
      this.chatPrompts = opened.chatPrompts;
      this.listener.log?.('info', `sampling with ${opened.description}`);
    } else {
      this.listener.phase?.(this.step + 1, 'starting the worker');
      this.worker = await startPolicyWorker(config, { ...backendOptions, training: true });
      this.backend = workerBackend(this.worker);
      this.chatPrompts = config.model.kind === 'hf';
    }

    const checkpoint = resume?.checkpoint ?? null;
    if (checkpoint) {
      // A curation run's checkpoint is its RNG state alone: the model never changes.
      if (this.worker) await this.worker.load({ dir: join(this.writer.paths.dir, checkpoint.dir) });
      if (!checkpoint.rng) throw new Error(`checkpoint of step ${checkpoint.step} has no RNG state: cannot resume exactly`);
      this.rng = restoreRng(checkpoint.rng);
    } else {
      this.rng = createRng(config.seed);
    }
  }

  // -------------------------------------------------------------------------------------------------------
  // One step

  private async runStep(step: number): Promise<void> {
    const started = performance.now();
    const tally = new StepTally();
    await this.pollDecisions();

    this.listener.phase?.(step, this.config.mode === 'serl' ? 'self-instruction' : 'drawing seeds');
    const candidates = this.config.mode === 'serl' ? await this.selfInstruct(step, tally) : this.drawSeeds(step, tally);
    this.checkStop();

    this.listener.phase?.(step, 'rollouts');
    const voted = await this.rollout(step, candidates, tally);
    this.checkStop();

    await this.pollDecisions();
    // A curation-only run ends the step here: kept items wait in the pool (and serve as exemplars).
    const toTrain =
      this.purpose === 'curate'
        ? []
        : this.config.curation.mode === 'review'
          ? await this.acceptedForTraining(step, tally)
          : voted.filter((item) => item.scored.difficulty.status === 'kept' && !this.isVetoed(item.itemId)).map((item) => this.rescoreIfRelabelled(item));
    this.checkStop();

    if (this.purpose === 'train') this.listener.phase?.(step, 'training');
    const training = await this.trainOn(step, toTrain);
    await this.releaseHeld();

    const trainedRewards = toTrain.flatMap((item) => item.scored.rewards);
    const metrics: Omit<StepMetrics, 'v' | 'ts' | 'type'> = {
      step,
      generated: tally.generated,
      voted: tally.voted,
      kept: voted.filter((item) => item.scored.difficulty.status === 'kept').length,
      trained: toTrain.length,
      filtered_by_reason: tally.filtered,
      reward_mean: mean(trainedRewards),
      agreement_mean: tally.voted === 0 ? null : tally.agreementSum / tally.voted,
      loss: training.loss,
      kl: training.kl,
      entropy: training.entropy,
      grad_norm: training.grad_norm,
      lr: training.lr,
      response_length: tally.responses === 0 ? null : tally.responseTokens / tally.responses,
      tokens_per_s: tally.samplingSeconds > 0 ? tally.sampledTokens / tally.samplingSeconds : null,
      step_seconds: 0,
      all_equal_share: tally.voted === 0 ? null : tally.unanimous / tally.voted,
      label_accuracy: tally.labelled === 0 ? null : tally.labelMatches / tally.labelled,
      ...(await this.runProbe(step)),
    };
    const evaluation = await this.evaluate(step);
    metrics.step_seconds = (performance.now() - started) / 1000;
    const event = this.writer.emit({ type: 'step-metrics', ...metrics, ...(evaluation ? { eval: evaluation } : {}) });
    for (const alert of this.monitor.observe(metrics)) {
      this.writer.emit({ type: 'alert', ...alert });
      this.listener.log?.('warning', `step ${step}: ${alert.kind}: ${alert.detail}`);
    }
    await this.writer.sync();
    await this.checkpoint(step);
    if (event.value.type === 'step-metrics') this.listener.stepDone?.(event.value, this.totalSteps);
  }

  /** SeRL's self-instruction: numbered-list continuations until the batch has rollout_batch_size candidates. */
  private async selfInstruct(step: number, tally: StepTally): Promise<Candidate[]> {
    const settings = this.config.self_instruction;
    const target = this.config.rollout_batch_size;
    const exemplarItems = this.writer.pool.fewShotItems();
    const exemplarTexts = exemplarItems.map((item) => item.text);
    const ruleOptions = { minWords: this.config.filters.min_words, maxWords: this.config.filters.max_words };
    const maxRounds = Math.ceil(target / settings.batch_size) * SELF_INSTRUCT_ROUNDS_FACTOR;
    const candidates: Candidate[] = [];
    this.similarity.newBatch();
    let index = 0;
    for (let round = 0; round < maxRounds && candidates.length < target; round++) {
      const prompts = Array.from({ length: settings.batch_size }, () =>
        buildFewShotPrompt(this.seeds.texts, exemplarTexts, this.rng, {
          exemplars: settings.exemplars,
          maxGenerated: settings.max_generated_exemplars,
          template: settings.prompt,
        }),
      );
      const requests: SampleRequest[] = prompts.map((prompt, k) => ({
        id: k,
        ...(this.chatPrompts ? { messages: prompt.messages } : { prompt: prompt.text }),
        n: 1,
        temperature: settings.temperature,
        top_p: settings.top_p,
        presence_penalty: settings.presence_penalty,
        max_tokens: settings.max_tokens,
      }));
      const results = await this.sample(requests, false, tally);
      this.checkStop();
      prompts.forEach((prompt, k) => {
        const result = results[k];
        if (result.prompt_tokens > this.config.prompt_max_len && !this.warnedLongFewShot) {
          this.warnedLongFewShot = true;
          this.listener.log?.('warning', `step ${step}: a few-shot prompt has ${result.prompt_tokens} tokens, over prompt_max_len ${this.config.prompt_max_len}: use fewer or shorter exemplars (warned once)`);
        }
        const sample = result.samples[0];
        const parsed = parseContinuation(sample.text, { firstNumber: prompt.nextNumber, truncated: sample.finish_reason === 'length' });
        const origin: ItemOrigin = {
          kind: 'self-instruct',
          prompt_id: promptIdFor(this.session, step, round, k),
          sources: prompt.exemplars.map((exemplar): ItemRef =>
            exemplar.source === 'seed' ? { kind: 'seed', index: exemplar.index } : { kind: 'item', item_id: exemplarItems[exemplar.index].item_id },
          ),
        };
        for (const parsedItem of parsed.items) {
          if (candidates.length >= target) return;
          const itemId = itemIdFor(this.session, step, index++);
          const text = normalizeWhitespace(parsedItem.text);
          this.writer.emit({ type: 'item-generated', item_id: itemId, step, text, origin });
          tally.generated += 1;
          const rules = applyRuleFilters(text, ruleOptions);
          if (!rules.ok) {
            this.writer.emit({ type: 'item-filtered', item_id: itemId, reason: rules.reason, detail: rules.detail });
            tally.countFiltered(rules.reason);
            continue;
          }
          const similar = this.similarity.checkAndAccept(rules.text, { kind: 'item', item_id: itemId });
          if (!similar.ok) {
            this.writer.emit({ type: 'item-filtered', item_id: itemId, reason: similar.reason, detail: similar.detail, nearest: similar.nearest });
            tally.countFiltered(similar.reason);
            continue;
          }
          candidates.push({ itemId, text: rules.text, origin, nearest: similar.nearest });
        }
      });
    }
    if (candidates.length < target) {
      this.listener.log?.('warning', `step ${step}: self-instruction produced ${candidates.length} of ${target} candidates in ${maxRounds} rounds; training on what passed`);
    }
    return candidates;
  }

  /** Seed-only modes: rollout_batch_size distinct seeds (with an answer, in ground-truth mode). */
  private drawSeeds(step: number, tally: StepTally): Candidate[] {
    const eligible = this.seeds.texts
      .map((_, index) => index)
      .filter((index) => this.config.mode !== 'ground-truth' || this.seeds.answers[index] !== null);
    const drawn = this.rng.sample(eligible, Math.min(this.config.rollout_batch_size, eligible.length));
    return drawn.map((seedIndex, index) => {
      const itemId = itemIdFor(this.session, step, index);
      const answer = this.seeds.answers[seedIndex];
      const origin: ItemOrigin = { kind: 'seed', seed_index: seedIndex, ...(answer === null ? {} : { answer }) };
      const text = this.seeds.texts[seedIndex];
      this.writer.emit({ type: 'item-generated', item_id: itemId, step, text, origin });
      tally.generated += 1;
      return { itemId, text, origin, nearest: null };
    });
  }

  /** n responses per candidate, kept by the worker; the vote and the difficulty verdict of each. */
  private async rollout(step: number, candidates: Candidate[], tally: StepTally): Promise<VotedItem[]> {
    if (candidates.length === 0) return [];
    const results = await this.sample(
      candidates.map((candidate, i) => this.rolloutRequest(i, candidate.text)),
      this.purpose === 'train',
      tally,
    );
    const voted: VotedItem[] = [];
    candidates.forEach((candidate, i) => {
      const result = results[i];
      if (result.prompt_tokens > this.config.prompt_max_len) {
        const detail = `prompt of ${result.prompt_tokens} tokens exceeds prompt_max_len (${this.config.prompt_max_len})`;
        this.writer.emit({ type: 'item-filtered', item_id: candidate.itemId, reason: 'too-long', detail });
        tally.countFiltered('too-long');
        return;
      }
      const scored = this.score(candidate.itemId, candidate.origin, result.samples);
      this.emitVote(step, candidate.itemId, result.samples, scored, candidate.nearest, tally);
      if (scored.difficulty.status !== 'kept') tally.countFiltered(scored.difficulty.status);
      voted.push({ itemId: candidate.itemId, samples: result.samples, scored });
    });
    return voted;
  }

  private rolloutRequest(id: number, text: string, n = this.config.n_samples_per_prompt): SampleRequest {
    // SeRL feeds the bare instruction (its scripts leave --apply_chat_template off), for chat models too.
    return {
      id,
      prompt: text,
      n,
      temperature: this.config.temperature,
      top_p: this.config.top_p,
      max_tokens: this.config.generate_max_len,
    };
  }

  /** Reward of an item's responses: the relabel if any, the seed answer in ground-truth mode, else the majority. */
  private score(itemId: string, origin: ItemOrigin, samples: Sample[]): Scored {
    const label = this.labelOf(itemId, origin);
    const reference =
      label !== null
        ? { answer: label, source: 'relabel' as const }
        : this.config.mode === 'ground-truth' && origin.kind === 'seed' && origin.answer !== undefined
          ? { answer: origin.answer, source: 'ground-truth' as const }
          : null;
    return scoreResponses(
      samples.map((sample) => sample.text),
      reference,
      this.config.filters.reward_difficulty_bounds,
    );
  }

  /** A human answer for the item, or for the same seed drawn in an earlier step (the latest relabel wins). */
  private labelOf(itemId: string, origin: ItemOrigin): string | null {
    const own = this.writer.pool.items.get(itemId)?.label;
    if (own) return own.answer;
    if (origin.kind !== 'seed') return null;
    const sameSeed = this.writer.pool
      .relabelledItems()
      .filter((item) => item.origin.kind === 'seed' && item.origin.seed_index === origin.seed_index)
      .sort((a, b) => (a.label!.ts < b.label!.ts ? -1 : 1));
    return sameSeed.at(-1)?.label?.answer ?? null;
  }

  private emitVote(step: number, itemId: string, samples: Sample[], scored: Scored, nearest: Neighbour | null, tally: StepTally): void {
    const { vote } = scored;
    this.writer.emit({
      type: 'item-voted',
      item_id: itemId,
      step,
      reward_source: scored.source,
      majority: vote.majority,
      agreement: vote.agreement,
      groups: vote.groups,
      responses: samples.map((sample, i) => ({
        text: sample.text,
        answer: vote.answers[i],
        reward: scored.rewards[i],
        tokens: sample.tokens,
        finish_reason: sample.finish_reason,
      })),
      difficulty: scored.difficulty,
      ...(nearest ? { nearest } : {}),
    });
    tally.voted += 1;
    tally.agreementSum += vote.agreement;
    if (isUnanimous(vote)) tally.unanimous += 1;
    tally.responses += samples.length;
    tally.responseTokens += samples.reduce((sum, sample) => sum + sample.tokens, 0);
    const item = this.writer.pool.items.get(itemId);
    const known = item?.label?.answer ?? (item?.origin.kind === 'seed' ? item.origin.answer : undefined);
    if (known !== undefined) {
      tally.labelled += 1;
      if (majorityMatches(vote, known)) tally.labelMatches += 1;
    }
  }

  /** A relabel that arrived after the vote: the item trains on the human answer instead. */
  private rescoreIfRelabelled(item: VotedItem): VotedItem {
    const poolItem = this.writer.pool.items.get(item.itemId);
    if (!poolItem?.label || item.scored.source === 'relabel') return item;
    return { ...item, scored: this.score(item.itemId, poolItem.origin, item.samples) };
  }

  /**
   * Review mode: items accepted and not yet trained (oldest first, at most rollout_batch_size), re-sampled
   * now. While none is accepted and some wait for review, polls decisions until one is.
   */
  private async acceptedForTraining(step: number, tally: StepTally): Promise<VotedItem[]> {
    let accepted = this.acceptedUntrained();
    while (accepted.length === 0 && this.writer.pool.reviewQueue().length > 0) {
      this.listener.phase?.(step, `waiting for review: ${this.writer.pool.reviewQueue().length} kept items to accept or veto`);
      await delay(REVIEW_POLL_MS, this.stopSignal);
      this.checkStop();
      await this.pollDecisions();
      accepted = this.acceptedUntrained();
    }
    const chosen = accepted.slice(0, this.config.rollout_batch_size);
    if (chosen.length === 0) return [];
    const results = await this.sample(
      chosen.map((item, i) => this.rolloutRequest(i, item.text)),
      true,
      tally,
    );
    return chosen.map((item, i) => {
      const samples = results[i].samples;
      const scored = this.score(item.item_id, item.origin, samples);
      // The person's accept overrides the band: the verdict is recorded, the item trains regardless.
      this.emitVote(step, item.item_id, samples, scored, item.vote?.nearest ?? null, tally);
      return { itemId: item.item_id, samples, scored };
    });
  }

  private acceptedUntrained(): PoolItem[] {
    return this.writer.pool
      .liveItems()
      .filter((item) => item.review?.decision === 'accepted' && item.vote !== null && item.filtered === null && item.trained === null);
  }

  /** Advantages over the trained groups, then train_step on shuffled chunks of train_batch_size, max_epochs times. */
  private async trainOn(step: number, items: VotedItem[]): Promise<Pick<StepMetrics, 'loss' | 'kl' | 'entropy' | 'grad_norm' | 'lr'>> {
    const none = { loss: null, kl: null, entropy: null, grad_norm: null, lr: null };
    if (items.length === 0) return none;
    const config = this.config;
    const advantages = computeAdvantages(
      config.algorithm,
      items.map((item) => item.scored.rewards),
      { tokenCounts: items.map((item) => item.samples.map((sample) => sample.tokens)) },
    );
    const entries = items.flatMap((item, g) => item.samples.map((sample, i) => ({ sample_id: sample.sample_id!, advantage: advantages[g][i] })));
    const lr = learningRate(config.optimizer, step, this.totalSteps);
    const results: TrainStepResult[] = [];
    for (let epoch = 0; epoch < config.max_epochs; epoch++) {
      const order = this.rng.shuffle(entries);
      for (let start = 0; start < order.length; start += config.train_batch_size) {
        this.checkStop();
        const batch = order.slice(start, start + config.train_batch_size);
        try {
          results.push(
            await this.worker!.trainStep({
              batch,
              loss: {
                kind: config.loss.kind,
                clip_eps: config.loss.clip_eps,
                kl_coef: config.loss.init_kl_coef,
                kl_estimator: config.loss.kl_estimator,
                kl_mode: config.loss.use_kl_loss ? 'loss' : 'reward',
              },
              micro_batch: config.micro_train_batch_size,
              max_grad_norm: config.optimizer.max_norm,
              lr,
            }),
          );
        } catch (error) {
          // A non-finite loss skips that optimizer step (the worker changed nothing); the run goes on.
          if (!(error instanceof WorkerError && error.details.code === WorkerErrorCodes.NonFiniteLoss)) throw error;
          this.writer.emit({ type: 'error', message: error.message, step, fatal: false });
          this.listener.log?.('warning', `step ${step}: ${error.message}`);
        }
      }
    }
    for (const item of items) {
      this.writer.emit({ type: 'item-trained', item_id: item.itemId, step, reward_source: item.scored.source, rewards: item.scored.rewards });
    }
    if (results.length === 0) return { ...none, lr };
    const weighted = (pick: (result: TrainStepResult) => number | null): number | null => {
      const usable = results.filter((result) => pick(result) !== null);
      const weight = usable.reduce((sum, result) => sum + Math.max(result.tokens, 1), 0);
      if (usable.length === 0) return null;
      return usable.reduce((sum, result) => sum + pick(result)! * Math.max(result.tokens, 1), 0) / weight;
    };
    return {
      loss: weighted((result) => result.loss),
      kl: weighted((result) => result.kl),
      entropy: weighted((result) => result.entropy),
      grad_norm: weighted((result) => result.grad_norm),
      lr,
    };
  }

  /**
   * The probe slice (SeRL training runs with monitor.probe_size > 0 and labelled seeds): the one an earlier
   * session recorded, else chosen now and recorded before the first step. Seed modes train on labelled
   * seeds already (label_accuracy) and a curation run's model never changes: no probe there.
   */
  private fixProbe(): Controller['probe'] {
    const { config, seeds } = this;
    if (this.purpose !== 'train' || config.mode !== 'serl' || config.monitor.probe_size === 0) return null;
    let seedIndices = this.writer.pool.probeSlice?.seed_indices;
    if (seedIndices) {
      const problem = checkProbeSlice(seedIndices, seeds.answers, config.seeds);
      if (problem) throw new Error(problem);
    } else {
      seedIndices = chooseProbeSlice(seeds.answers, config.monitor.probe_size, config.seed);
      if (seedIndices.length === 0) {
        this.listener.log?.('info', `${config.seeds}: no seed has an "answer": the collapse monitor runs without its labelled probe`);
        return null;
      }
      this.writer.emit({ type: 'probe-slice', seed_indices: seedIndices });
    }
    return { texts: seedIndices.map((index) => seeds.texts[index]), answers: seedIndices.map((index) => seeds.answers[index]!) };
  }

  /** Votes on the probe slice when due; it trains nothing and leaves the training's sampling stream as it was. */
  private async runProbe(step: number): Promise<Pick<StepMetrics, 'probe_accuracy' | 'probe_agreement'>> {
    const probe = this.probe;
    if (!probe || !this.worker || !probeDue(step, this.config.monitor.probe_every, this.totalSteps)) return { probe_accuracy: null, probe_agreement: null };
    this.listener.phase?.(step, `probing ${probe.texts.length} labelled seeds`);
    const n = this.config.monitor.probe_samples ?? this.config.n_samples_per_prompt;
    const results = await this.worker.sample({
      requests: probe.texts.map((text, id) => this.rolloutRequest(id, text, n)),
      keep: false,
      // Its own generator (like evaluation, offset from evaluation's seed so the two readings' noise is independent).
      seed: this.config.seed + step + 1_000_003,
    });
    return scoreProbe(results.results.map((result) => result.samples.map((sample) => sample.text)), probe.answers);
  }

  /** Pass@1 on the evaluation set every eval.every steps (and at the last step). */
  private async evaluate(step: number): Promise<StepMetrics['eval'] | null> {
    const set = this.evalSet;
    const settings = this.config.eval;
    // A curation run's model never changes: there is no progress to evaluate.
    if (!set || !this.worker || (step % settings.every !== 0 && step !== this.totalSteps)) return null;
    this.listener.phase?.(step, `evaluating on ${set.texts.length} problems`);
    const results = await this.worker!.sample({
      requests: set.texts.map((text, id) => ({
        id,
        prompt: text,
        n: settings.n_samples_per_prompt,
        temperature: settings.temperature,
        top_p: settings.temperature === 0 ? 1 : this.config.top_p,
        max_tokens: this.config.generate_max_len,
      })),
      keep: false,
      // Its own generator: evaluating leaves the training's sampling stream as it was.
      seed: this.config.seed + step,
    });
    let correct = 0;
    results.results.forEach((result, i) => {
      for (const sample of result.samples) {
        const answer = extractAnswer(sample.text);
        if (answer !== null && answersEquivalent(answer, set.answers[i]!)) correct += 1;
      }
    });
    return {
      dataset: set.file,
      problems: set.texts.length,
      samples_per_problem: settings.n_samples_per_prompt,
      accuracy: correct / (set.texts.length * settings.n_samples_per_prompt),
    };
  }

  /** Saves the worker and the RNG; keeps the checkpoints at multiples of checkpoint_every and the latest. */
  private async checkpoint(step: number): Promise<void> {
    this.listener.phase?.(step, 'checkpoint');
    const previous = this.writer.pool.lastCheckpoint;
    const dir = `checkpoints/step-${String(step).padStart(6, '0')}`;
    if (this.worker) {
      await this.worker.save({ dir: join(this.writer.paths.dir, dir) });
    } else {
      // Nothing to save but the RNG, which the event carries; the folder says so to whoever looks in it.
      await mkdir(join(this.writer.paths.dir, dir), { recursive: true });
      const note = { curation_only: true, step, detail: 'no model state: a curation-only run resumes from the RNG state in the checkpoint event' };
      await writeFile(join(this.writer.paths.dir, dir, 'curation.json'), `${JSON.stringify(note, null, 2)}\n`);
    }
    this.writer.emit({ type: 'checkpoint', step, dir, rng: this.rng.state() });
    await this.writer.sync();
    if (previous && previous.step % this.config.checkpoint_every !== 0 && previous.dir !== dir) {
      await rm(join(this.writer.paths.dir, previous.dir), { recursive: true, force: true });
    }
  }

  // -------------------------------------------------------------------------------------------------------
  // Plumbing

  private async sample(requests: SampleRequest[], keep: boolean, tally: StepTally) {
    const started = performance.now();
    const result = await this.backend!.sample({ requests, keep }, { signal: this.stopSignal });
    tally.samplingSeconds += (performance.now() - started) / 1000;
    for (const entry of result.results) {
      for (const sample of entry.samples) {
        tally.sampledTokens += sample.tokens;
        if (keep && sample.sample_id !== null) this.heldSamples.push(sample.sample_id);
      }
    }
    return result.results;
  }

  private async releaseHeld(): Promise<void> {
    if (this.heldSamples.length === 0 || !this.worker) return;
    const ids = this.heldSamples;
    this.heldSamples = [];
    await this.worker.release({ sample_ids: ids });
  }

  private async pollDecisions(): Promise<void> {
    const batch = await this.writer.pollDecisions();
    for (const problem of batch.problems) this.listener.log?.('warning', `decisions: ${problem.message}`);
    this.syncVetoes();
  }

  /** Adds newly vetoed items to the similarity filter's vetoed set (an undone veto stays there: the filter cannot forget). */
  private syncVetoes(): void {
    for (const item of this.writer.pool.vetoedItems()) {
      if (this.vetoedInFilter.has(item.item_id)) continue;
      this.vetoedInFilter.add(item.item_id);
      this.similarity.addVetoed(item.text, { kind: 'item', item_id: item.item_id });
    }
  }

  private isVetoed(itemId: string): boolean {
    return this.writer.pool.items.get(itemId)?.review?.decision === 'vetoed';
  }

  private checkStop(): void {
    if (this.stopSignal.aborted) throw new StopRequested();
  }
}

/** Ids of few-shot prompts, unique in the run like item ids: "s<step>-p<round>.<k>" (+ "-r<session>"). */
function promptIdFor(session: number, step: number, round: number, k: number): string {
  return `s${step}-p${round}.${k}${session > 0 ? `-r${session}` : ''}`;
}

function mean(values: readonly number[]): number | null {
  return values.length === 0 ? null : values.reduce((sum, value) => sum + value, 0) / values.length;
}

function delay(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolveDelay) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolveDelay();
    }
    signal.addEventListener('abort', done);
  });
}

function describeFailure(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
