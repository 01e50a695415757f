// Run events and human decisions, defined once: the records of a run's two append-only logs.
//
// events.jsonl is written only by the run's controller; decisions.jsonl only by the user side (extension,
// CLI). Together they are the run's source of truth: the pool of items, each item's verdicts and the
// metrics can all be rebuilt from them (src/core/pool.ts folds them), so nothing a dashboard shows lives
// only in memory. Every record carries the format version `v` and an ISO timestamp `ts`.
//
// Readers validate every line with `parseRunEvent` / `parseDecision`. Objects strip unknown keys rather
// than refusing them, so a later v1 writer may add optional fields without breaking older readers; a
// change that older readers would misread bumps `v`.
import { z } from 'zod';
import { RunConfigSchema, type RunConfig } from '../core/config';
import { DIFFICULTY_REJECT_REASONS, FILTER_REASONS, SIMILARITY_REJECT_REASONS } from '../core/filters';
import { describeIssues } from '../core/schema';
import { RULE_REJECT_REASONS } from '../core/selfInstruct';
import { FINISH_REASONS } from './worker';

export const RUN_LOG_VERSION = 1;

const nonNegativeInt = () => z.int().min(0);
const positiveInt = () => z.int().positive();
const share = () => z.number().min(0).max(1);
/** A measurement that may be missing, e.g. the loss of a step that trained nothing. */
const metric = () => z.number().nullable();
const ItemIdSchema = z.string().min(1);

const envelope = {
  v: z.literal(RUN_LOG_VERSION),
  ts: z.iso.datetime({ offset: true }),
};

/**
 * Item ids are opaque to readers but must be unique within a run. This is the controller's scheme:
 * "s<step>-<index>", with "-r<session>" after a resume so that redone work never reuses an id that a
 * decision may already point at.
 */
export function itemIdFor(session: number, step: number, index: number): string {
  return `s${step}-${index}${session > 0 ? `-r${session}` : ''}`;
}

// ---------------------------------------------------------------------------------------------------------
// Shared parts

/** A few-shot exemplar or a similarity neighbour: a seed (by index in the seed file) or a generated item. */
export const ItemRefSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('seed'), index: nonNegativeInt() }),
  z.object({ kind: z.literal('item'), item_id: ItemIdSchema }),
]);
export type ItemRef = z.infer<typeof ItemRefSchema>;

/** Where an item came from. */
export const ItemOriginSchema = z.discriminatedUnion('kind', [
  z.object({
    kind: z.literal('self-instruct'),
    /** Items parsed from one few-shot prompt's continuation share its id. */
    prompt_id: z.string().min(1),
    /** The prompt's exemplars, in prompt order (SeRL: up to 2 generated items, the rest seeds). */
    sources: z.array(ItemRefSchema),
  }),
  z.object({
    /** A seed instruction used as is ('majority' and 'ground-truth' modes). */
    kind: z.literal('seed'),
    seed_index: nonNegativeInt(),
    /** The seed's reference answer, when it has one. */
    answer: z.string().optional(),
  }),
]);
export type ItemOrigin = z.infer<typeof ItemOriginSchema>;

/** The closest text the similarity filter found (see SimilarityFilter in src/core/filters.ts). */
export const NeighbourSchema = z.object({
  pool: z.enum(['seed', 'accepted', 'vetoed']),
  ref: ItemRefSchema,
  /** ROUGE-L F1. */
  score: share(),
});
export type Neighbour = z.infer<typeof NeighbourSchema>;

/** Rejections before the vote (rule and similarity filters); the vote's own verdict is in `item-voted`. */
export const ITEM_FILTER_REASONS = [...RULE_REJECT_REASONS, ...SIMILARITY_REJECT_REASONS] as const;
export type ItemFilterReason = (typeof ITEM_FILTER_REASONS)[number];

export const DIFFICULTY_STATUSES = ['kept', ...DIFFICULTY_REJECT_REASONS] as const;

export const REWARD_SOURCES = ['majority', 'ground-truth', 'relabel'] as const;
export type RewardSource = (typeof REWARD_SOURCES)[number];

const VoteGroupSchema = z.object({
  answer: z.string(),
  count: positiveInt(),
  /** Indices into `responses`, ascending. */
  members: z.array(nonNegativeInt()).min(1),
});

const ResponseSchema = z.object({
  text: z.string(),
  /** The extracted final answer; null when the response has none. */
  answer: z.string().nullable(),
  reward: share(),
  tokens: nonNegativeInt(),
  finish_reason: z.enum(FINISH_REASONS),
});
export type ItemResponse = z.infer<typeof ResponseSchema>;

// ---------------------------------------------------------------------------------------------------------
// Run events (events.jsonl)

const RunStartedSchema = z.object({
  ...envelope,
  type: z.literal('run-started'),
  run_id: z.string().min(1),
  pid: positiveInt(),
  hostname: z.string(),
  config: z.object({
    mode: RunConfigSchema.shape.mode.unwrap(),
    algorithm: RunConfigSchema.shape.algorithm.unwrap(),
    model: z.object({ kind: z.enum(['hf', 'tiny']), path: z.string().optional() }),
    seeds: z.string(),
    seed: nonNegativeInt(),
    n_samples_per_prompt: positiveInt(),
    rollout_batch_size: positiveInt(),
    curation: z.enum(['auto', 'review']),
    reward_difficulty_bounds: z.tuple([share(), share()]),
    iterations: positiveInt(),
    instructions_num_per_iteration: positiveInt(),
    max_steps: positiveInt().optional(),
    /** True for a curation-only run (serl curate): no RL update, no item-trained. Absent: training. */
    curation_only: z.boolean().optional(),
    /** What sampled (absent in logs older than the backends: the worker). */
    backend: z
      .object({ kind: z.enum(['worker', 'onnx', 'openai']), model: z.string().optional(), path: z.string().optional() })
      .optional(),
  }),
  /**
   * Present when this session continues an earlier one: steps 1..step are kept, and everything the
   * earlier sessions logged for later steps is superseded (redone). checkpoint_dir null: from the start.
   */
  resumed_from: z.object({ step: nonNegativeInt(), checkpoint_dir: z.string().min(1).nullable() }).optional(),
});
export type RunConfigSummary = z.infer<typeof RunStartedSchema>['config'];

const ItemGeneratedSchema = z.object({
  ...envelope,
  type: z.literal('item-generated'),
  item_id: ItemIdSchema,
  /** The RL step this item was produced for. */
  step: positiveInt(),
  text: z.string(),
  origin: ItemOriginSchema,
});

const ItemFilteredSchema = z.object({
  ...envelope,
  type: z.literal('item-filtered'),
  item_id: ItemIdSchema,
  reason: z.enum(ITEM_FILTER_REASONS),
  detail: z.string(),
  nearest: NeighbourSchema.optional(),
});

/**
 * The majority vote on an item's n responses and the difficulty verdict, in one line so that no item is
 * ever voted without a verdict. Responses are kept in full (the dashboard's item detail shows them): up to
 * 16 × 1024 tokens, tens of kB per line. Readers that build the pool keep only the line's location and
 * re-read it on demand. A later `item-voted` for the same item (re-sampled) replaces the earlier one.
 */
const ItemVotedSchema = z
  .object({
    ...envelope,
    type: z.literal('item-voted'),
    item_id: ItemIdSchema,
    step: positiveInt(),
    reward_source: z.enum(REWARD_SOURCES),
    /** The majority group's answer; null when no response had an extractable answer. */
    majority: z.string().nullable(),
    agreement: share(),
    /** Largest first (vote.ts's order). */
    groups: z.array(VoteGroupSchema),
    responses: z.array(ResponseSchema).min(1),
    difficulty: z.object({ status: z.enum(DIFFICULTY_STATUSES), detail: z.string() }),
    /** The closest seed or accepted item the similarity filter found (the item passed it). */
    nearest: NeighbourSchema.optional(),
  })
  .superRefine((event, context) => {
    event.groups.forEach((group, g) => {
      if (group.count !== group.members.length) {
        context.addIssue({ code: 'custom', path: ['groups', g, 'count'], message: `is ${group.count} but the group has ${group.members.length} members` });
      }
      group.members.forEach((member, m) => {
        if (member >= event.responses.length) {
          context.addIssue({ code: 'custom', path: ['groups', g, 'members', m], message: `response ${member} does not exist (${event.responses.length} responses)` });
        }
      });
    });
  });

/** The item's responses went into the RL update of `step`, with these rewards (one per response). */
const ItemTrainedSchema = z.object({
  ...envelope,
  type: z.literal('item-trained'),
  item_id: ItemIdSchema,
  step: positiveInt(),
  reward_source: z.enum(REWARD_SOURCES),
  rewards: z.array(share()),
});

export const EvalResultSchema = z.object({
  dataset: z.string(),
  problems: positiveInt(),
  samples_per_problem: positiveInt(),
  /** Mean correctness over every sample of every problem (pass@1). */
  accuracy: share(),
});

/** Written once per completed step: a step is done, for resume, when its metrics are in the log. */
const StepMetricsSchema = z.object({
  ...envelope,
  type: z.literal('step-metrics'),
  step: positiveInt(),
  generated: nonNegativeInt(),
  voted: nonNegativeInt(),
  kept: nonNegativeInt(),
  trained: nonNegativeInt(),
  /** Items rejected this step, by reason (difficulty reasons included); absent reasons: none. */
  filtered_by_reason: z.partialRecord(z.enum(FILTER_REASONS), nonNegativeInt()),
  /** Mean reward over the trained responses. */
  reward_mean: metric(),
  /** Mean majority-vote agreement over the voted items. */
  agreement_mean: metric(),
  loss: metric(),
  kl: metric(),
  entropy: metric(),
  grad_norm: metric(),
  lr: metric(),
  /** Mean response length in tokens. */
  response_length: metric(),
  tokens_per_s: metric(),
  step_seconds: z.number().min(0),
  /** Collapse monitor: share of voted items whose responses all gave the same answer. */
  all_equal_share: metric(),
  /** Collapse monitor: how often the majority matched the reference, on items that have one. */
  label_accuracy: metric(),
  /**
   * Collapse monitor, SeRL mode: on the run's probe slice (`probe-slice`), the share of items whose majority
   * matched the seed answer, and the mean majority agreement. Null on steps without a probe; absent in logs
   * older than the probe.
   */
  probe_accuracy: metric().optional(),
  probe_agreement: metric().optional(),
  eval: EvalResultSchema.optional(),
});

export const ALERT_KINDS = ['collapse', 'no-kept-items'] as const;

const AlertSchema = z.object({
  ...envelope,
  type: z.literal('alert'),
  step: nonNegativeInt(),
  kind: z.enum(ALERT_KINDS),
  detail: z.string(),
  /** The readings that raised it, e.g. { all_equal_share: 0.9, entropy: 0.02 }. */
  metrics: z.record(z.string(), z.number()),
});

/** A checkpoint fully written (the event follows the save): a run can resume from it. */
const CheckpointSchema = z.object({
  ...envelope,
  type: z.literal('checkpoint'),
  /** Steps completed in the saved state. */
  step: positiveInt(),
  /** Relative to the run directory, with '/' separators, e.g. "checkpoints/step-000050". */
  dir: z.string().min(1),
  /** The controller's RNG state (src/core/random.ts), so a resumed run draws the same exemplars. */
  rng: z.tuple([z.int().min(0), z.int().min(0), z.int().min(0), z.int().min(0)]).optional(),
});

/**
 * The labelled seeds the collapse monitor votes on (config `monitor`), fixed once per run before its first
 * step: a resumed run reads them here instead of choosing again. They never train and never enter the pool.
 */
const ProbeSliceSchema = z.object({
  ...envelope,
  type: z.literal('probe-slice'),
  /** Indices into the seed file, in probe order. */
  seed_indices: z.array(nonNegativeInt()).min(1),
});

const ErrorSchema = z.object({
  ...envelope,
  type: z.literal('error'),
  message: z.string(),
  detail: z.string().optional(),
  step: nonNegativeInt().optional(),
  /** True when the run stops because of it. */
  fatal: z.boolean(),
});

export const FINISH_STATUSES = ['completed', 'stopped', 'failed'] as const;
export type FinishStatus = (typeof FINISH_STATUSES)[number];

const RunFinishedSchema = z.object({
  ...envelope,
  type: z.literal('run-finished'),
  status: z.enum(FINISH_STATUSES),
  detail: z.string().optional(),
});

const RUN_EVENT_SCHEMAS = {
  'run-started': RunStartedSchema,
  'item-generated': ItemGeneratedSchema,
  'item-filtered': ItemFilteredSchema,
  'item-voted': ItemVotedSchema,
  'item-trained': ItemTrainedSchema,
  'step-metrics': StepMetricsSchema,
  alert: AlertSchema,
  checkpoint: CheckpointSchema,
  'probe-slice': ProbeSliceSchema,
  error: ErrorSchema,
  'run-finished': RunFinishedSchema,
} as const;

export type RunEventType = keyof typeof RUN_EVENT_SCHEMAS;
export const RUN_EVENT_TYPES = Object.keys(RUN_EVENT_SCHEMAS) as RunEventType[];
export type RunEventOf<Type extends RunEventType> = z.infer<(typeof RUN_EVENT_SCHEMAS)[Type]>;
export type RunEvent = { [Type in RunEventType]: RunEventOf<Type> }[RunEventType];

export type RunStarted = RunEventOf<'run-started'>;
export type ItemGenerated = RunEventOf<'item-generated'>;
export type ItemFiltered = RunEventOf<'item-filtered'>;
export type ItemVoted = RunEventOf<'item-voted'>;
export type ItemTrained = RunEventOf<'item-trained'>;
export type StepMetrics = RunEventOf<'step-metrics'>;
export type Alert = RunEventOf<'alert'>;
export type Checkpoint = RunEventOf<'checkpoint'>;
export type ProbeSlice = RunEventOf<'probe-slice'>;
export type RunError = RunEventOf<'error'>;
export type RunFinished = RunEventOf<'run-finished'>;

/** What the controller hands the run store: an event without `v` and `ts`, which the store adds. */
export type RunEventInput = DistributiveOmit<RunEvent, 'v' | 'ts'>;

// ---------------------------------------------------------------------------------------------------------
// Decisions (decisions.jsonl)

const decisionBase = {
  ...envelope,
  /** A UUID: a decision counts once even if a line is repeated. */
  decision_id: z.uuid(),
  item_id: ItemIdSchema,
};

const DECISION_SCHEMAS = {
  /** Review mode: the item may train. Undoes an earlier veto. */
  accept: z.object({ ...decisionBase, type: z.literal('accept') }),
  /** The item leaves the few-shot pool and training; similar new candidates are filtered. Undoes an accept. */
  veto: z.object({ ...decisionBase, type: z.literal('veto'), reason: z.string().optional() }),
  /** A human answer: the item's reward becomes ground truth against it. The latest relabel wins. */
  relabel: z.object({ ...decisionBase, type: z.literal('relabel'), answer: z.string().trim().min(1) }),
} as const;

export type DecisionType = keyof typeof DECISION_SCHEMAS;
export const DECISION_TYPES = Object.keys(DECISION_SCHEMAS) as DecisionType[];
export type DecisionOf<Type extends DecisionType> = z.infer<(typeof DECISION_SCHEMAS)[Type]>;
export type Decision = { [Type in DecisionType]: DecisionOf<Type> }[DecisionType];

/** What the user side hands the run store: a decision without `v`, `ts` and `decision_id`. */
export type DecisionInput = DistributiveOmit<Decision, 'v' | 'ts' | 'decision_id'>;

/** Omit applied to each member of a union, so the result stays a discriminated union. */
type DistributiveOmit<T, Keys extends PropertyKey> = T extends unknown ? Omit<T, Keys> : never;

// ---------------------------------------------------------------------------------------------------------
// Records as read back

/** Where a record lies in its log: 1-based line number, byte offset of the line, byte length without '\n'. */
export interface LogLocation {
  file: string;
  line: number;
  offset: number;
  length: number;
}

export interface LogRecord<T> {
  value: T;
  location: LogLocation;
}

/** "file:line", the way every problem in a log is named. */
export function formatLogLocation(location: Pick<LogLocation, 'file' | 'line'>): string {
  return `${location.file}:${location.line}`;
}

// ---------------------------------------------------------------------------------------------------------
// Parsing

export type ParseResult<T> = { ok: true; value: T } | { ok: false; error: string };

/** Validates one parsed line of events.jsonl. Errors read "item-voted: groups[0].count: …". */
export function parseRunEvent(value: unknown): ParseResult<RunEvent> {
  return parseRecord(value, RUN_EVENT_SCHEMAS, 'event') as ParseResult<RunEvent>;
}

/** Validates one parsed line of decisions.jsonl. */
export function parseDecision(value: unknown): ParseResult<Decision> {
  return parseRecord(value, DECISION_SCHEMAS, 'decision') as ParseResult<Decision>;
}

function parseRecord(value: unknown, schemas: Record<string, z.ZodType>, noun: string): ParseResult<unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { ok: false, error: `not a JSON object` };
  }
  const record = value as Record<string, unknown>;
  if (record.v !== RUN_LOG_VERSION) {
    const found = record.v === undefined ? 'no format version "v"' : `format version v=${JSON.stringify(record.v)}`;
    return { ok: false, error: `${found}; this SeRL Studio reads v=${RUN_LOG_VERSION}` };
  }
  const type = record.type;
  const schema = typeof type === 'string' && Object.hasOwn(schemas, type) ? schemas[type] : undefined;
  if (!schema) {
    const known = Object.keys(schemas).join(', ');
    return { ok: false, error: `unknown ${noun} type ${JSON.stringify(type)} (known: ${known})` };
  }
  const parsed = schema.safeParse(value);
  if (parsed.success) return { ok: true, value: parsed.data };
  return { ok: false, error: `${String(type)}: ${describeIssues(parsed.error).join('; ')}` };
}

/** The part of a resolved config that `run-started` records (config.json holds all of it). */
export function summarizeRunConfig(config: RunConfig, options: { curationOnly?: boolean } = {}): RunConfigSummary {
  const backend = config.backend;
  return {
    mode: config.mode,
    algorithm: config.algorithm,
    model: { kind: config.model.kind, ...(config.model.path === undefined ? {} : { path: config.model.path }) },
    seeds: config.seeds,
    seed: config.seed,
    n_samples_per_prompt: config.n_samples_per_prompt,
    rollout_batch_size: config.rollout_batch_size,
    curation: config.curation.mode,
    reward_difficulty_bounds: config.filters.reward_difficulty_bounds,
    iterations: config.iterations,
    instructions_num_per_iteration: config.instructions_num_per_iteration,
    ...(config.max_steps === undefined ? {} : { max_steps: config.max_steps }),
    ...(options.curationOnly ? { curation_only: true } : {}),
    backend: {
      kind: backend.kind,
      ...(backend.kind === 'openai' ? { model: backend.model } : {}),
      ...(backend.kind === 'onnx' ? { path: backend.path } : {}),
    },
  };
}

/** Stamps an event with the format version and the time. */
export function stampRunEvent(event: RunEventInput, now: Date = new Date()): RunEvent {
  return { v: RUN_LOG_VERSION, ts: now.toISOString(), ...event } as RunEvent;
}
