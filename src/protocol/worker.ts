// The training worker's protocol, defined once for the TypeScript side: zod schemas (and the types inferred
// from them) for every method's params and result and for the worker's notifications, plus the typed
// vscode-jsonrpc message types. trainer/PROTOCOL.md is the contract with the Python side; change both together.
//
// Params schemas are strict (the worker refuses unknown keys too), so a mistake in the controller fails
// here, naming the field, before anything is sent. Result schemas check everything the controller relies on
// and ignore extra fields, so a newer worker that adds a field keeps working. No defaults are filled in
// here: an absent optional field means the worker's default, documented in PROTOCOL.md.
import { type Message, NotificationType, ParameterStructures, RequestType, RequestType0 } from 'vscode-jsonrpc';
import { z } from 'zod';
import { describeIssues } from '../core/schema';

// ---------------------------------------------------------------------------------------------------------
// JSON-RPC envelope: what one line of the worker's stdout may hold.

const JsonRpcIdSchema = z.union([z.string(), z.int()]);

/** A response; `id` is null only in the worker's reply to a line it could not parse. */
const JsonRpcResponseSchema = z
  .object({
    jsonrpc: z.literal('2.0'),
    id: JsonRpcIdSchema.nullable(),
    result: z.unknown().optional(),
    error: z.object({ code: z.int(), message: z.string(), data: z.unknown().optional() }).optional(),
  })
  .refine((response) => (response.result === undefined) !== (response.error === undefined), {
    message: 'a response holds exactly one of result and error',
  });

const JsonRpcNotificationSchema = z.object({
  jsonrpc: z.literal('2.0'),
  method: z.string(),
  params: z.union([z.record(z.string(), z.unknown()), z.array(z.unknown())]).optional(),
});

/**
 * Checks that a parsed line is a message the controller accepts from the worker: a response or a
 * notification. The worker never sends requests (PROTOCOL.md), so a message with both `method` and `id`
 * is refused rather than answered.
 */
export function parseWorkerMessage(value: unknown): { ok: true; message: Message } | { ok: false; problem: string } {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { ok: false, problem: 'not a JSON object' };
  }
  const isNotification = 'method' in value;
  if (isNotification && 'id' in value) return { ok: false, problem: 'a request (the worker must not send requests)' };
  const parsed = parseWith<Message>(isNotification ? JsonRpcNotificationSchema : JsonRpcResponseSchema, value);
  if (!parsed.ok) {
    const kind = isNotification ? 'notification' : 'response';
    return { ok: false, problem: `not a JSON-RPC 2.0 ${kind}: ${parsed.problems.join('; ')}` };
  }
  return { ok: true, message: parsed.value };
}

// ---------------------------------------------------------------------------------------------------------
// Error codes of the worker's JSON-RPC errors.

export const WorkerErrorCodes = {
  ParseError: -32700,
  InvalidRequest: -32600,
  MethodNotFound: -32601,
  InvalidParams: -32602,
  InternalError: -32603,
  OutOfMemory: -32001,
  NotInitialized: -32002,
  UnknownSample: -32003,
  NonFiniteLoss: -32004,
  AlreadyInitialized: -32005,
} as const;

/** "invalid params", "out of memory", … for a code, for error messages; undefined for codes we do not know. */
export function workerErrorCodeName(code: number): string | undefined {
  const entry = Object.entries(WorkerErrorCodes).find(([, value]) => value === code);
  return entry?.[0].replace(/(?<=[a-z])(?=[A-Z])/g, ' ').toLowerCase();
}

// ---------------------------------------------------------------------------------------------------------
// Shared pieces.

const nonNegativeInt = () => z.int().min(0);
const positiveInt = () => z.int().positive();
const DtypeSchema = z.enum(['auto', 'bfloat16', 'float16', 'float32']);
const DeviceSchema = z.enum(['auto', 'cuda', 'cpu']);
const ChatMessageSchema = z.strictObject({
  role: z.enum(['system', 'user', 'assistant']),
  content: z.string(),
});
export type ChatMessage = z.infer<typeof ChatMessageSchema>;

/** Exactly one of `prompt` and `messages`, as the worker requires. */
function onePromptForm(value: { prompt?: string | undefined; messages?: unknown }): boolean {
  return (value.prompt === undefined) !== (value.messages === undefined);
}
const ONE_PROMPT_FORM = { message: 'exactly one of prompt and messages is required' } as const;

const maxGradNorm = () => z.number().positive().nullable().optional();

// ---------------------------------------------------------------------------------------------------------
// initialize

const LoraSchema = z.strictObject({
  r: positiveInt(),
  alpha: z.number().positive(),
  dropout: z.number().min(0).lt(1),
  target_modules: z.union([z.literal('all-linear'), z.array(z.string().min(1)).min(1)]),
});

const TinyArchitectureSchema = z.strictObject({
  n_layer: positiveInt().optional(),
  n_head: positiveInt().optional(),
  n_embd: positiveInt().optional(),
  block_size: positiveInt().optional(),
  vocab: z.string().min(1).optional(),
});

const ModelSpecSchema = z.discriminatedUnion('kind', [
  z.strictObject({
    kind: z.literal('tiny'),
    path: z.string().min(1).optional(),
    dtype: DtypeSchema.optional(),
    config: TinyArchitectureSchema.optional(),
  }),
  z.strictObject({
    kind: z.literal('hf'),
    path: z.string().min(1),
    dtype: DtypeSchema.optional(),
    lora: LoraSchema.optional(),
  }),
]);
export type ModelSpec = z.infer<typeof ModelSpecSchema>;

export const InitializeParamsSchema = z.strictObject({
  model: ModelSpecSchema,
  device: DeviceSchema.optional(),
  seed: nonNegativeInt(),
  optimizer: z.strictObject({
    lr: z.number().positive(),
    betas: z.tuple([z.number().min(0).lt(1), z.number().min(0).lt(1)]).optional(),
    weight_decay: z.number().min(0).optional(),
    eps: z.number().positive().optional(),
  }),
  /** Keep a frozen copy of the initial model for the KL penalty. */
  reference: z.boolean().optional(),
  /** Sequences decoded together in one batch. */
  max_batch_sequences: positiveInt().optional(),
});
export type InitializeParams = z.infer<typeof InitializeParamsSchema>;

export const InitializeResultSchema = z.object({
  /** "cpu" or e.g. "cuda:0 (NVIDIA H100 80GB HBM3)". */
  device: z.string().min(1),
  /** The compute dtype actually used. */
  dtype: z.string().min(1),
  params: nonNegativeInt(),
  trainable_params: nonNegativeInt(),
  /** Prompt + response tokens the model can attend to. */
  max_context: positiveInt(),
  /** The end-of-sequence token's text. */
  eos: z.string(),
});
export type InitializeResult = z.infer<typeof InitializeResultSchema>;

// ---------------------------------------------------------------------------------------------------------
// sample

const SampleRequestSchema = z
  .strictObject({
    /** The controller's handle, echoed back. */
    id: JsonRpcIdSchema,
    prompt: z.string().optional(),
    messages: z.array(ChatMessageSchema).min(1).optional(),
    n: positiveInt().optional(),
    /** 0 = greedy. */
    temperature: z.number().min(0).optional(),
    top_p: z.number().gt(0).max(1).optional(),
    max_tokens: positiveInt(),
    stop: z.array(z.string().min(1)).max(8).optional(),
    presence_penalty: z.number().optional(),
  })
  .refine(onePromptForm, ONE_PROMPT_FORM);
export type SampleRequest = z.infer<typeof SampleRequestSchema>;

export const SampleParamsSchema = z.strictObject({
  requests: z.array(SampleRequestSchema),
  /** Cache token ids and old log-probs of every sample for train_step. */
  keep: z.boolean().optional(),
  /** Sample from a generator seeded with this (reproducible on its own); absent: the worker's generator. */
  seed: nonNegativeInt().optional(),
});
export type SampleParams = z.infer<typeof SampleParamsSchema>;

export const FINISH_REASONS = ['stop', 'eos', 'length'] as const;

const SampleSchema = z.object({
  /** "s<k>" with keep, else null. */
  sample_id: z.string().min(1).nullable(),
  /** The response, without the stop string and without eos. */
  text: z.string(),
  /** Response tokens generated, including the eos or the stop string's tokens. */
  tokens: nonNegativeInt(),
  finish_reason: z.enum(FINISH_REASONS),
});
export type Sample = z.infer<typeof SampleSchema>;

export const SampleResultSchema = z.object({
  results: z.array(
    z.object({
      id: JsonRpcIdSchema,
      prompt_tokens: nonNegativeInt(),
      samples: z.array(SampleSchema),
    }),
  ),
  tokens_per_s: z.number().min(0),
});
export type SampleResult = z.infer<typeof SampleResultSchema>;

/**
 * What the schema cannot see: the results answer the requests one to one, in order, with n samples each,
 * and with `keep` every sample has an id to train on. Returns "results[i]…: problem" lines; empty = fine.
 */
export function sampleResultMismatches(params: SampleParams, result: SampleResult): string[] {
  const problems: string[] = [];
  if (result.results.length !== params.requests.length) {
    problems.push(`results: ${result.results.length} results for ${params.requests.length} requests`);
    return problems;
  }
  result.results.forEach((entry, i) => {
    const request = params.requests[i]!;
    if (entry.id !== request.id) {
      problems.push(`results[${i}].id: ${JSON.stringify(entry.id)} where the request had ${JSON.stringify(request.id)}`);
    }
    const expected = request.n ?? 1;
    if (entry.samples.length !== expected) {
      problems.push(`results[${i}].samples: ${entry.samples.length} samples where ${expected} were asked for`);
    }
    if (params.keep) {
      entry.samples.forEach((sample, j) => {
        if (sample.sample_id === null) problems.push(`results[${i}].samples[${j}].sample_id: null although keep was set`);
      });
    }
  });
  return problems;
}

// ---------------------------------------------------------------------------------------------------------
// train_step

export const TrainStepParamsSchema = z.strictObject({
  /** Kept samples and their advantages; each sample_id at most once. */
  batch: z
    .array(z.strictObject({ sample_id: z.string().min(1), advantage: z.number() }))
    .min(1)
    .refine((batch) => new Set(batch.map((entry) => entry.sample_id)).size === batch.length, {
      message: 'a sample_id appears more than once',
    }),
  loss: z.strictObject({
    kind: z.enum(['ppo-clip', 'policy-gradient']),
    clip_eps: z.number().positive().optional(),
    /** > 0 needs initialize's reference. */
    kl_coef: z.number().min(0).optional(),
    kl_estimator: z.enum(['k1', 'k2', 'k3']).optional(),
    /** "loss": a loss term (GRPO style); "reward": a per-token reward penalty (Reinforce++ style). */
    kl_mode: z.enum(['loss', 'reward']).optional(),
  }),
  /** Sequences per forward/backward; gradients accumulate over the batch. */
  micro_batch: positiveInt(),
  /** Absent or null: no clipping (grad_norm is still reported). */
  max_grad_norm: maxGradNorm(),
  /** Sets the learning rate from this step on (the controller's schedule). */
  lr: z.number().positive().optional(),
});
export type TrainStepParams = z.infer<typeof TrainStepParamsSchema>;

export const TrainStepResultSchema = z.object({
  /** The optimised objective, token mean (policy term + KL term). */
  loss: z.number(),
  pg_loss: z.number(),
  /** Mean per-token KL estimate to the reference; null without a reference. */
  kl: z.number().nullable(),
  /** Mean per-token entropy of the policy (nats). */
  entropy: z.number().min(0),
  /** Total L2 norm before clipping. */
  grad_norm: z.number().min(0),
  tokens: nonNegativeInt(),
  clip_fraction: z.number().min(0).max(1),
  /** Optimizer steps taken so far (train_step and train_sft). */
  step: nonNegativeInt(),
  lr: z.number().min(0),
});
export type TrainStepResult = z.infer<typeof TrainStepResultSchema>;

// ---------------------------------------------------------------------------------------------------------
// train_sft

export const TrainSftParamsSchema = z.strictObject({
  examples: z
    .array(
      z
        .strictObject({
          prompt: z.string().optional(),
          messages: z.array(ChatMessageSchema).min(1).optional(),
          completion: z.string(),
        })
        .refine(onePromptForm, ONE_PROMPT_FORM),
    )
    .min(1),
  micro_batch: positiveInt(),
  max_grad_norm: maxGradNorm(),
  lr: z.number().positive().optional(),
  /** Train the model to end after the completion (worker default: true). */
  add_eos: z.boolean().optional(),
});
export type TrainSftParams = z.infer<typeof TrainSftParamsSchema>;

export const TrainSftResultSchema = z.object({
  /** Mean negative log-likelihood per completion token. */
  loss: z.number().min(0),
  grad_norm: z.number().min(0),
  tokens: nonNegativeInt(),
  step: nonNegativeInt(),
  lr: z.number().min(0),
});
export type TrainSftResult = z.infer<typeof TrainSftResultSchema>;

// ---------------------------------------------------------------------------------------------------------
// release, save, load, export_onnx, shutdown

export const ReleaseParamsSchema = z.strictObject({ sample_ids: z.array(z.string().min(1)) });
export type ReleaseParams = z.infer<typeof ReleaseParamsSchema>;
export const ReleaseResultSchema = z.object({
  /** Samples dropped by this call (unknown ids are ignored). */
  released: nonNegativeInt(),
  /** Samples still kept. */
  kept: nonNegativeInt(),
});
export type ReleaseResult = z.infer<typeof ReleaseResultSchema>;

/** A directory on the worker's machine; a relative one resolves against the worker's working directory. */
export const DirParamsSchema = z.strictObject({ dir: z.string().min(1) });
export type DirParams = z.infer<typeof DirParamsSchema>;

export const CheckpointResultSchema = z.object({ dir: z.string().min(1), step: nonNegativeInt() });
export type CheckpointResult = z.infer<typeof CheckpointResultSchema>;

export const ExportOnnxResultSchema = z.object({ dir: z.string().min(1), files: z.array(z.string().min(1)) });
export type ExportOnnxResult = z.infer<typeof ExportOnnxResultSchema>;

export const ShutdownResultSchema = z.null();

// ---------------------------------------------------------------------------------------------------------
// The methods: name, params and result schemas, and the typed vscode-jsonrpc request.

/** A method with params (always sent by name, as one JSON object). */
export interface WorkerMethod<Params, Result> {
  readonly method: string;
  readonly params: z.ZodType<Params>;
  readonly result: z.ZodType<Result>;
  readonly type: RequestType<Params, Result, unknown>;
}

function method<Params, Result>(
  name: string,
  params: z.ZodType<Params>,
  result: z.ZodType<Result>,
): WorkerMethod<Params, Result> {
  return { method: name, params, result, type: new RequestType(name, ParameterStructures.byName) };
}

export const WorkerMethods = {
  initialize: method('initialize', InitializeParamsSchema, InitializeResultSchema),
  sample: method('sample', SampleParamsSchema, SampleResultSchema),
  trainStep: method('train_step', TrainStepParamsSchema, TrainStepResultSchema),
  trainSft: method('train_sft', TrainSftParamsSchema, TrainSftResultSchema),
  release: method('release', ReleaseParamsSchema, ReleaseResultSchema),
  save: method('save', DirParamsSchema, CheckpointResultSchema),
  load: method('load', DirParamsSchema, CheckpointResultSchema),
  exportOnnx: method('export_onnx', DirParamsSchema, ExportOnnxResultSchema),
} as const;

/** `shutdown` takes no params at all (not even `{}`): the worker replies null, then exits 0. */
export const ShutdownRequest = new RequestType0<null, unknown>('shutdown');

// ---------------------------------------------------------------------------------------------------------
// Notifications (worker → controller).

export const ProgressParamsSchema = z.object({
  /** The method this progress belongs to, e.g. "sample". */
  method: z.string().min(1),
  /** Sequences (sample) or micro-batches (train_step, train_sft) done so far. */
  done: nonNegativeInt(),
  total: nonNegativeInt(),
});
export type ProgressParams = z.infer<typeof ProgressParamsSchema>;
export const ProgressNotification = new NotificationType<ProgressParams>('progress', ParameterStructures.byName);

export const LOG_LEVELS = ['debug', 'info', 'warning', 'error'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
export const LogParamsSchema = z.object({ level: z.enum(LOG_LEVELS), message: z.string() });
export type LogParams = z.infer<typeof LogParamsSchema>;
export const LogNotification = new NotificationType<LogParams>('log', ParameterStructures.byName);

// ---------------------------------------------------------------------------------------------------------
// Validation helpers: every problem as "field: what is wrong".

/** Parses `value`; the error lists each problem with its field path, e.g. "results[0].samples[1].tokens: …". */
export function parseWith<T>(
  schema: z.ZodType<T>,
  value: unknown,
): { ok: true; value: T } | { ok: false; problems: string[] } {
  const parsed = schema.safeParse(value);
  if (parsed.success) return { ok: true, value: parsed.data };
  return { ok: false, problems: describeIssues(parsed.error) };
}
