// The dashboard's messages, host ↔ webview, defined once. Both sides validate every message they receive
// with `parseHostMessage` / `parseWebviewMessage` (a webview is a separate page: a stale bundle, a bug or a
// hostile script in it must not reach the run's files unchecked). Errors name the field path.
//
// The host sends the pool as rows (`pool-rows`: upserts and removals), in chunks while loading and as
// deltas afterwards, never the whole pool per event. The webview never writes files: decisions go to
// the host, which appends them through the run feed.
//
// This module is bundled into the webview: it imports only zod and I/O-free core modules.
import { z } from 'zod';
import { FILTER_REASONS } from '../core/filters';
import type { ParseResult } from './events';
import { describeIssues } from '../core/schema';

const nonNegativeInt = () => z.int().min(0);
const share = () => z.number().min(0).max(1);
const metric = () => z.number().nullable();
const ItemIdSchema = z.string().min(1);
const RunIdSchema = z.string().min(1);
const RequestIdSchema = nonNegativeInt();

// ---------------------------------------------------------------------------------------------------------
// Pool rows

/**
 * Where an item stands in the pipeline: core/pool.ts's itemStage with 'filtered' split into the two kinds
 * of rejection before the vote (rule filters; similarity: duplicate or similar to a vetoed item).
 */
export const POOL_STAGES = ['candidate', 'rule-rejected', 'duplicate', 'too-easy', 'too-hard', 'kept', 'trained'] as const;
export type PoolStage = (typeof POOL_STAGES)[number];

/** The human side: vetoed or accepted, or (review mode, kept, undecided) awaiting review. */
export const REVIEW_STATES = ['awaiting-review', 'accepted', 'vetoed'] as const;
export type ReviewState = (typeof REVIEW_STATES)[number];

/** What the pool's status filter offers: a row matches its stage or its review state. */
export const STATUS_FILTERS = [...POOL_STAGES, ...REVIEW_STATES] as const;
export type StatusFilter = (typeof STATUS_FILTERS)[number];

export const STATUS_LABELS: Record<StatusFilter, string> = {
  candidate: 'awaiting vote',
  'rule-rejected': 'rule-rejected',
  duplicate: 'duplicate',
  'too-easy': 'too easy',
  'too-hard': 'too hard',
  kept: 'kept',
  trained: 'trained',
  'awaiting-review': 'awaiting review',
  accepted: 'accepted',
  vetoed: 'vetoed',
};

export const PoolRowSchema = z.object({
  id: ItemIdSchema,
  /** Position in generation order, unique within a run (the default sort). */
  seq: nonNegativeInt(),
  step: z.int().positive(),
  text: z.string(),
  stage: z.enum(POOL_STAGES),
  review: z.enum(REVIEW_STATES).nullable(),
  /** Why the item left the pipeline (rule, similarity or difficulty); null when it did not. */
  reason: z.enum(FILTER_REASONS).nullable(),
  /** The filter's or the difficulty verdict's explanation; a veto's reason when it has one. */
  detail: z.string(),
  agreement: share().nullable(),
  majority: z.string().nullable(),
  /** A human answer (relabel): the item's reward is ground truth against it. */
  label: z.string().nullable(),
});
export type PoolRow = z.infer<typeof PoolRowSchema>;

// ---------------------------------------------------------------------------------------------------------
// Runs, metrics, item detail

export const RunChoiceSchema = z.object({
  runId: RunIdSchema,
  /** runStore's RunStatus (running, completed, …), shown as is. */
  status: z.string(),
  step: nonNegativeInt().nullable(),
  rewardMean: metric(),
});
export type RunChoice = z.infer<typeof RunChoiceSchema>;

export const RunHeaderSchema = z.object({
  mode: z.string(),
  algorithm: z.string(),
  curation: z.enum(['auto', 'review']),
  samplesPerPrompt: z.int().positive(),
  difficultyBounds: z.tuple([share(), share()]),
  /** Steps completed on the live timeline. */
  step: nonNegativeInt(),
  /** Planned steps when the config caps them. */
  maxSteps: z.int().positive().nullable(),
  /** The last session's end; null while it runs (or when it was killed). */
  finished: z.object({ status: z.string(), detail: z.string().nullable() }).nullable(),
});
export type RunHeader = z.infer<typeof RunHeaderSchema>;

/** One completed step, as the charts plot it. */
export const StepPointSchema = z.object({
  step: z.int().positive(),
  generated: nonNegativeInt(),
  kept: nonNegativeInt(),
  trained: nonNegativeInt(),
  filteredByReason: z.partialRecord(z.enum(FILTER_REASONS), nonNegativeInt()),
  rewardMean: metric(),
  agreementMean: metric(),
  loss: metric(),
  kl: metric(),
  entropy: metric(),
  responseLength: metric(),
  tokensPerS: metric(),
  allEqualShare: metric(),
  labelAccuracy: metric(),
  /** The collapse monitor's labelled probe (SeRL mode), on the steps it ran. */
  probeAccuracy: metric(),
  probeAgreement: metric(),
  evalAccuracy: metric(),
});
export type StepPoint = z.infer<typeof StepPointSchema>;

export const AlertPointSchema = z.object({ step: nonNegativeInt(), kind: z.string(), detail: z.string() });
export type AlertPoint = z.infer<typeof AlertPointSchema>;

/** A seed (by index in the run's seed file) or a generated item, with its text when it could be found. */
export const TextRefSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('seed'), index: nonNegativeInt(), text: z.string().nullable() }),
  z.object({ kind: z.literal('item'), itemId: ItemIdSchema, text: z.string().nullable() }),
]);
export type TextRef = z.infer<typeof TextRefSchema>;

const DetailResponseSchema = z.object({
  text: z.string(),
  answer: z.string().nullable(),
  /** The majority-vote reward (1: in the majority group). */
  reward: share(),
  /** The reward the RL update used, when the item trained (ground truth after a relabel). */
  trainedReward: share().nullable(),
  tokens: nonNegativeInt(),
  finishReason: z.string(),
});

export const ItemDetailSchema = z.object({
  row: PoolRowSchema,
  origin: z.discriminatedUnion('kind', [
    z.object({ kind: z.literal('self-instruct'), promptId: z.string(), sources: z.array(TextRefSchema) }),
    z.object({ kind: z.literal('seed'), seed: TextRefSchema, answer: z.string().nullable() }),
  ]),
  vote: z
    .object({
      step: z.int().positive(),
      rewardSource: z.string(),
      majority: z.string().nullable(),
      agreement: share(),
      difficulty: z.object({ status: z.string(), detail: z.string() }),
      /** Largest first; members index `responses`. Responses without an answer are in no group. */
      groups: z.array(z.object({ answer: z.string(), count: z.int().positive(), members: z.array(nonNegativeInt()) })),
      responses: z.array(DetailResponseSchema),
    })
    .nullable(),
  /** The nearest seed by ROUGE-L F1: the one the similarity filter recorded, else computed for this view. */
  nearestSeed: z.object({ seed: TextRefSchema, score: share(), recorded: z.boolean() }).nullable(),
  /** The filter's nearest text when it was not a seed: an item accepted in the batch, or a vetoed one. */
  nearestItem: z.object({ pool: z.enum(['accepted', 'vetoed']), item: TextRefSchema, score: share() }).nullable(),
  trained: z.object({ step: z.int().positive(), rewardSource: z.string() }).nullable(),
  review: z.object({ decision: z.enum(['accepted', 'vetoed']), reason: z.string().nullable(), ts: z.string() }).nullable(),
  label: z.object({ answer: z.string(), ts: z.string() }).nullable(),
  /** What could not be shown and why ("file:line: …"). */
  problems: z.array(z.string()),
});
export type ItemDetail = z.infer<typeof ItemDetailSchema>;

// ---------------------------------------------------------------------------------------------------------
// Host → webview

const HOST_MESSAGE_SCHEMAS = {
  /** The workspace's runs and the one shown (null: none). */
  runs: z.object({ type: z.literal('runs'), runs: z.array(RunChoiceSchema), selected: RunIdSchema.nullable() }),
  /** Drop every row and metric: the run changed, or its logs were replaced. Rows follow in `pool-rows`. */
  'pool-reset': z.object({ type: z.literal('pool-reset'), runId: RunIdSchema }),
  'run-header': z.object({ type: z.literal('run-header'), runId: RunIdSchema, header: RunHeaderSchema.nullable() }),
  /** Rows to insert or replace (by id) and ids that left the pool (superseded by a resume). */
  'pool-rows': z.object({
    type: z.literal('pool-rows'),
    runId: RunIdSchema,
    upserts: z.array(PoolRowSchema),
    removed: z.array(ItemIdSchema),
    /** Live items in the run after this message (the webview shows progress while chunks arrive). */
    total: nonNegativeInt(),
  }),
  /** Step metrics and alerts: added or replaced by step; `replace` drops earlier ones first. */
  metrics: z.object({
    type: z.literal('metrics'),
    runId: RunIdSchema,
    replace: z.boolean(),
    steps: z.array(StepPointSchema),
    alerts: z.array(AlertPointSchema),
  }),
  'item-detail': z.object({
    type: z.literal('item-detail'),
    runId: RunIdSchema,
    requestId: RequestIdSchema,
    itemId: ItemIdSchema,
    detail: ItemDetailSchema.nullable(),
    error: z.string().nullable(),
  }),
  /** Bad log lines and inconsistencies of the shown run ("file:line: …"), appended. */
  problems: z.object({ type: z.literal('problems'), runId: RunIdSchema, messages: z.array(z.string()) }),
  /** How a `decide`/`relabel` request ended. */
  'decision-result': z.object({
    type: z.literal('decision-result'),
    requestId: RequestIdSchema,
    written: nonNegativeInt(),
    /** The user declined the confirmation or the prompt. */
    cancelled: z.boolean(),
    errors: z.array(z.string()),
  }),
} as const;

export type HostMessageType = keyof typeof HOST_MESSAGE_SCHEMAS;
export type HostMessageOf<Type extends HostMessageType> = z.infer<(typeof HOST_MESSAGE_SCHEMAS)[Type]>;
export type HostMessage = { [Type in HostMessageType]: HostMessageOf<Type> }[HostMessageType];

// ---------------------------------------------------------------------------------------------------------
// Webview → host

export const DECISION_ACTIONS = ['accept', 'veto'] as const;
export type DecisionAction = (typeof DECISION_ACTIONS)[number];

const WEBVIEW_MESSAGE_SCHEMAS = {
  /** The page (re)loaded: send everything for `runId` (its saved state), or for the default run. */
  ready: z.object({ type: z.literal('ready'), runId: RunIdSchema.nullable() }),
  'select-run': z.object({ type: z.literal('select-run'), runId: RunIdSchema }),
  'open-item': z.object({ type: z.literal('open-item'), runId: RunIdSchema, itemId: ItemIdSchema, requestId: RequestIdSchema }),
  /** Accept or veto items; more than one (a bulk action over a filter) asks the user to confirm first. */
  decide: z.object({
    type: z.literal('decide'),
    runId: RunIdSchema,
    requestId: RequestIdSchema,
    action: z.enum(DECISION_ACTIONS),
    itemIds: z.array(ItemIdSchema).min(1),
    /** What the webview showed, for the confirmation ("status: kept, search: …"). */
    scope: z.string().max(500),
  }),
  /** Ask the user for the item's answer (the host prompts), then append a relabel. */
  relabel: z.object({ type: z.literal('relabel'), runId: RunIdSchema, requestId: RequestIdSchema, itemId: ItemIdSchema }),
  /** Opens the dashboard in an editor tab (from the sidebar view). */
  'open-panel': z.object({ type: z.literal('open-panel'), runId: RunIdSchema.nullable() }),
  /** Something went wrong in the page (e.g. a host message it rejected): the host logs it. */
  'webview-error': z.object({ type: z.literal('webview-error'), message: z.string().max(10_000) }),
} as const;

export type WebviewMessageType = keyof typeof WEBVIEW_MESSAGE_SCHEMAS;
export type WebviewMessageOf<Type extends WebviewMessageType> = z.infer<(typeof WEBVIEW_MESSAGE_SCHEMAS)[Type]>;
export type WebviewMessage = { [Type in WebviewMessageType]: WebviewMessageOf<Type> }[WebviewMessageType];

// ---------------------------------------------------------------------------------------------------------
// Parsing

/** Validates a message the webview received. Errors read "pool-rows: upserts[3].stage: …". */
export function parseHostMessage(value: unknown): ParseResult<HostMessage> {
  return parseMessage(value, HOST_MESSAGE_SCHEMAS) as ParseResult<HostMessage>;
}

/** Validates a message the host received from the webview. */
export function parseWebviewMessage(value: unknown): ParseResult<WebviewMessage> {
  return parseMessage(value, WEBVIEW_MESSAGE_SCHEMAS) as ParseResult<WebviewMessage>;
}

function parseMessage(value: unknown, schemas: Record<string, z.ZodType>): ParseResult<unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return { ok: false, error: 'not an object' };
  const type = (value as Record<string, unknown>).type;
  const schema = typeof type === 'string' && Object.hasOwn(schemas, type) ? schemas[type] : undefined;
  if (!schema) {
    return { ok: false, error: `unknown message type ${JSON.stringify(type)} (known: ${Object.keys(schemas).join(', ')})` };
  }
  const parsed = schema.safeParse(value);
  if (parsed.success) return { ok: true, value: parsed.data };
  return { ok: false, error: `${String(type)}: ${describeIssues(parsed.error).join('; ')}` };
}
