// The run config: one zod schema with SeRL's defaults (its training scripts and OpenRLHF's flags), from
// which the JSON Schema for editors is generated. Keys are snake_case and, where OpenRLHF/SeRL has a flag
// for the same thing, spelled like the flag (n_samples_per_prompt, init_kl_coef, …) so users recognise
// them. Unknown keys are errors: a misspelt hyper-parameter silently ignored would be the worst outcome.
// Relative paths in the config are resolved by the caller against the config file's folder.
import { z } from 'zod';
import { ADVANTAGE_ESTIMATORS } from './advantages';
import { DEFAULT_DIFFICULTY_BOUNDS, DEFAULT_ROUGE_THRESHOLD } from './filters';
import { formatIssuePath } from './schema';
import {
  DEFAULT_EXEMPLAR_COUNT,
  DEFAULT_MAX_GENERATED_EXEMPLARS,
  DEFAULT_RULE_FILTER_OPTIONS,
  SERL_QUESTION_GENERATION_PROMPT,
} from './selfInstruct';

const positiveInt = () => z.number().int().positive();
const probability = () => z.number().min(0).max(1);
const temperature = () => z.number().min(0);
const topP = () => z.number().gt(0).max(1);

/** A group object whose absence means all its defaults (and whose JSON Schema default shows them). */
function group<Shape extends z.ZodRawShape>(shape: Shape, description: string) {
  const schema = z.strictObject(shape);
  // Every field of a group has a default, so parsing {} yields the complete (never undefined) group.
  type Complete = z.core.util.NoUndefined<z.output<typeof schema>>;
  return schema.default(() => schema.parse({}) as Complete).describe(description);
}

const DtypeSchema = z
  .enum(['auto', 'bfloat16', 'float16', 'float32'])
  .default('auto')
  .describe("Weights' dtype. 'auto': bfloat16 on GPUs that support it, else float32 (SeRL trains in bf16).");

const LoraSchema = z
  .strictObject({
    r: positiveInt().default(16).describe('LoRA rank.'),
    alpha: z.number().positive().default(16).describe('LoRA alpha (OpenRLHF --lora_alpha, default 16).'),
    // The worker always runs the model in eval mode (sampling and its log-probs must agree), so dropout would never apply.
    dropout: z.literal(0, { error: 'must be 0: the worker runs the model without dropout' }).default(0).describe('LoRA dropout: 0 only (OpenRLHF --lora_dropout, default 0).'),
    target_modules: z
      .union([z.literal('all-linear'), z.array(z.string().min(1)).min(1)])
      .default('all-linear')
      .describe("Modules to adapt: 'all-linear' or a list of module names (OpenRLHF --target_modules)."),
  })
  .describe('Train LoRA adapters (peft) instead of all weights. Absent: full fine-tuning, as in SeRL.');

const ModelSchema = z
  .discriminatedUnion('kind', [
    z.strictObject({
      kind: z.literal('hf').describe('A Hugging Face transformers causal LM.'),
      path: z.string().min(1).describe('Hugging Face model id or local directory (SeRL: Llama-3.2-3B-Instruct).'),
      dtype: DtypeSchema,
      lora: LoraSchema.optional(),
    }),
    z.strictObject({
      kind: z.literal('tiny').describe('The built-in tiny GPT (pure PyTorch), for the arithmetic world and tests.'),
      path: z.string().min(1).optional().describe('Checkpoint directory to start from. Absent: freshly initialised.'),
      dtype: DtypeSchema,
    }),
  ])
  .default({ kind: 'hf', path: 'meta-llama/Llama-3.2-3B-Instruct', dtype: 'auto' })
  .describe('The policy model (the reference model for the KL penalty is its initial copy).');

const BackendSchema = z
  .discriminatedUnion('kind', [
    z.strictObject({
      kind: z.literal('worker').describe('The Python PyTorch worker with `model` (the only backend that trains).'),
    }),
    z.strictObject({
      kind: z.literal('onnx').describe('ONNX Runtime in the controller process (no Python): curation and the playground.'),
      path: z
        .string()
        .min(1)
        .describe('Model folder (config.json, tokenizer files, onnx/*.onnx, as export_onnx writes it), relative to this file.'),
      device: z.enum(['cpu', 'cuda']).default('cpu').describe("Execution provider. 'cuda' needs the CUDA libraries."),
      allow_cpu_fallback: z
        .boolean()
        .default(false)
        .describe("With device 'cuda': run on the CPU (with a warning) when CUDA is unavailable, instead of failing."),
    }),
    z.strictObject({
      kind: z.literal('openai').describe('An OpenAI-compatible server (vLLM, SGLang, llama.cpp, Ollama): curation and the playground.'),
      base_url: z
        .url({ protocol: /^https?$/ })
        .refine((url) => !/^https?:\/\/[^/]*@/.test(url), 'must not hold credentials: give the key in the environment (api_key_env)')
        .optional()
        .describe('Server URL up to and including /v1, e.g. http://127.0.0.1:8000/v1. Absent: $OPENAI_BASE_URL.'),
      model: z.string().min(1).describe('Model name the server serves (its --served-model-name).'),
      api: z
        .enum(['completions', 'chat'])
        .default('completions')
        .describe(
          "'completions': plain prompts to /v1/completions; 'chat': every prompt through the model's chat template " +
            '(/v1/chat/completions), self-instruction prompts as system + user messages.',
        ),
      api_key_env: z
        .string()
        .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be an environment variable name')
        .default('OPENAI_API_KEY')
        .describe('Environment variable holding the API key (the key itself never goes into a config or run file).'),
      concurrency: positiveInt().default(8).describe('HTTP requests in flight at once.'),
      timeout_s: z.number().positive().default(600).describe('Per-request timeout in seconds (a timed-out request fails, unretried).'),
      max_retries: z
        .number()
        .int()
        .min(0)
        .default(4)
        .describe('Retries on 429, 5xx and dropped connections, with exponential backoff and jitter (Retry-After honoured).'),
    }),
  ])
  .default({ kind: 'worker' })
  .describe(
    "What samples: 'worker' (training and curation), 'onnx' or 'openai' (curation-only runs, serl curate, and the playground).",
  );

const PromptTemplateSchema = z
  .strictObject({
    system: z
      .string()
      .default(SERL_QUESTION_GENERATION_PROMPT.system)
      .describe('System message: who the model is and what to produce.'),
    user: z
      .string()
      .default(SERL_QUESTION_GENERATION_PROMPT.user)
      .describe('User text placed before the numbered list of exemplars.'),
  })
  .default(() => ({ ...SERL_QUESTION_GENERATION_PROMPT }))
  .describe("Question-generation prompt. Default: SeRL's prompts/question_generation.json.");

const SelfInstructionSchema = group(
  {
    exemplars: positiveInt()
      .default(DEFAULT_EXEMPLAR_COUNT)
      .describe('Exemplars in each few-shot prompt (SeRL --few_shot_generation 8).'),
    max_generated_exemplars: z
      .number()
      .int()
      .min(0)
      .default(DEFAULT_MAX_GENERATED_EXEMPLARS)
      .describe('At most this many exemplars come from earlier kept generations; the rest are seeds (SeRL: 2).'),
    batch_size: positiveInt()
      .default(4)
      .describe('Few-shot prompts per generation round (SeRL --few_shot_generation_batch_size 4).'),
    temperature: temperature().default(0.8).describe('Sampling temperature for new instructions (SeRL: 0.8).'),
    top_p: topP().default(0.95).describe('Nucleus sampling for new instructions (SeRL: 0.95).'),
    presence_penalty: z
      .number()
      .min(-2)
      .max(2)
      .default(2)
      .describe('Presence penalty for new instructions, where the backend has one (SeRL: 2, via vLLM).'),
    max_tokens: positiveInt().default(1024).describe('Token limit of one generation (SeRL: 1024).'),
    prompt: PromptTemplateSchema,
  },
  'Self-instruction: how new instructions are generated (SeRL mode only).',
);

const FiltersSchema = group(
  {
    rouge_threshold: probability()
      .default(DEFAULT_ROUGE_THRESHOLD)
      .describe('Drop a new instruction whose ROUGE-L F1 against a seed or accepted item exceeds this (SeRL: 0.7).'),
    reward_difficulty_bounds: z
      .tuple([probability(), probability()])
      .default([...DEFAULT_DIFFICULTY_BOUNDS])
      .describe(
        'Keep an instruction only if its majority-vote agreement lies in [low, high] ' +
          '(SeRL --reward_difficulty_bounds 0.2 0.8).',
      ),
    min_words: z
      .number()
      .int()
      .min(0)
      .default(DEFAULT_RULE_FILTER_OPTIONS.minWords)
      .describe('Drop instructions with fewer words (self-instruct drops 3 words or fewer: 4).'),
    max_words: positiveInt()
      .default(DEFAULT_RULE_FILTER_OPTIONS.maxWords)
      .describe('Drop instructions with more words (self-instruct: 150).'),
  },
  'Filters between generation and training.',
);

const OptimizerSchema = group(
  {
    lr: z
      .number()
      .positive()
      .default(5e-7)
      .describe('Actor learning rate (SeRL --actor_learning_rate 5e-7 for 3B–8B models).'),
    adam_betas: z
      .tuple([z.number().min(0).lt(1), z.number().min(0).lt(1)])
      .default([0.9, 0.95])
      .describe('Adam betas (OpenRLHF --adam_betas 0.9 0.95).'),
    weight_decay: z.number().min(0).default(0).describe('Weight decay (OpenRLHF --l2 0).'),
    max_norm: z.number().positive().default(1).describe('Gradient clipping norm (OpenRLHF --max_norm 1.0).'),
    lr_warmup_ratio: probability()
      .default(0.03)
      .describe('Share of the steps spent warming up the learning rate (OpenRLHF: 0.03).'),
    lr_scheduler: z
      .enum(['cosine_with_min_lr', 'constant_with_warmup'])
      .default('cosine_with_min_lr')
      .describe("Learning-rate schedule after warm-up. 'cosine_with_min_lr' (OpenRLHF): cosine decay to 0.1 × lr."),
  },
  'Optimizer (Adam) of the policy.',
);

const LossSchema = group(
  {
    kind: z
      .enum(['ppo-clip', 'policy-gradient'])
      .default('ppo-clip')
      .describe(
        "'ppo-clip': clipped importance-ratio surrogate (OpenRLHF's policy loss); " +
          "'policy-gradient': −advantage · log-prob.",
      ),
    clip_eps: z.number().positive().default(0.2).describe('PPO clip range (OpenRLHF --eps_clip 0.2).'),
    init_kl_coef: z
      .number()
      .min(0)
      .default(1e-4)
      .describe('KL penalty coefficient to the reference policy (SeRL: 1e-4; 0 disables the reference).'),
    kl_estimator: z
      .enum(['k1', 'k2', 'k3'])
      .default('k1')
      .describe("KL estimator. SeRL: 'k1' as a reward penalty for REINFORCE++, 'k3' as a loss term for GRPO."),
    use_kl_loss: z
      .boolean()
      .default(false)
      .describe('Apply KL as a loss term (GRPO style, SeRL with --use_kl_loss) instead of a per-token reward penalty.'),
  },
  'Policy loss and KL penalty, applied by the training worker.',
);

const CurationSchema = group(
  {
    mode: z
      .enum(['auto', 'review'])
      .default('auto')
      .describe(
        "'auto': kept items train at once (a veto removes an item from later reuse); " +
          "'review': kept items wait until accepted.",
      ),
  },
  'Human in the loop.',
);

const EvalSchema = group(
  {
    dataset: z
      .string()
      .min(1)
      .optional()
      .describe('Labelled JSONL to evaluate on (SeRL: MATH-500). Absent: no evaluation.'),
    every: positiveInt().default(1).describe('Evaluate every this many steps (SeRL --eval_steps 1).'),
    n_samples_per_prompt: positiveInt().default(1).describe('Samples per evaluation problem (SeRL: 1).'),
    temperature: temperature().default(0).describe('Evaluation temperature (SeRL: 0, greedy).'),
  },
  'Evaluation during training.',
);

const MonitorSchema = group(
  {
    probe_size: z
      .number()
      .int()
      .min(0)
      .default(16)
      .describe(
        'SeRL mode: labelled seeds held as a probe the collapse monitor votes on (never trained, never in the pool); ' +
          'chosen once per run in a seeded order among seeds with an "answer". 0: no probe.',
      ),
    probe_every: positiveInt().default(2).describe('Vote on the probe every this many steps (and at the last step).'),
    probe_samples: z
      .number()
      .int()
      .min(2, { error: 'a majority vote needs at least 2 responses' })
      .optional()
      .describe('Responses per probe item, sampled like the rollouts. Absent: n_samples_per_prompt.'),
  },
  'Collapse monitor: a labelled probe that shows whether the majority drifts away from the truth.',
);

export const RunConfigSchema = z
  .strictObject({
    $schema: z.string().optional().describe('JSON Schema of this file, for editors; ignored by the run.'),
    mode: z
      .enum(['serl', 'majority', 'ground-truth'])
      .default('serl')
      .describe(
        "'serl': self-instruction + majority-vote rewards; 'majority': majority-vote RL on the seeds only; " +
          "'ground-truth': RL on the seeds' answers.",
      ),
    algorithm: z
      .enum(ADVANTAGE_ESTIMATORS)
      .default('reinforce++')
      .describe("Advantage estimator: 'reinforce++' (SeRL's recommendation), 'grpo' or 'rloo'."),
    seeds: z
      .string()
      .min(1)
      .default('seeds.seed.jsonl')
      .describe('Seed file (JSONL or JSON), relative to this config file.'),
    seed: z.number().int().min(0).default(42).describe('Random seed of the run (OpenRLHF --seed 42).'),
    device: z
      .enum(['auto', 'cuda', 'cpu'])
      .default('auto')
      .describe("Where the worker runs the model. 'auto': CUDA when available."),
    model: ModelSchema,
    backend: BackendSchema,
    instructions_num_per_iteration: positiveInt()
      .default(2000)
      .describe('New instructions generated per iteration (SeRL --instructions_num_per_iteration 2000).'),
    iterations: positiveInt().default(1).describe('Self-instruction iterations to run.'),
    max_steps: positiveInt()
      .optional()
      .describe('Stop after this many RL steps. Absent: when the iterations are done.'),
    n_samples_per_prompt: positiveInt()
      .default(16)
      .describe('Responses sampled per instruction for the majority vote (SeRL: 16).'),
    rollout_batch_size: positiveInt()
      .default(16)
      .describe('Kept instructions per RL step (SeRL --rollout_batch_size 16).'),
    train_batch_size: positiveInt().default(16).describe('Responses per optimizer step (SeRL --train_batch_size 16).'),
    micro_train_batch_size: positiveInt()
      .default(1)
      .describe('Responses per forward/backward pass; gradients accumulate up to train_batch_size (SeRL: 1).'),
    max_epochs: positiveInt().default(1).describe('Passes over each step\'s responses (SeRL --max_epochs 1).'),
    prompt_max_len: positiveInt().default(1024).describe('Prompt token limit (SeRL: 1024).'),
    generate_max_len: positiveInt().default(1024).describe('Response token limit (SeRL: 1024).'),
    temperature: temperature()
      .default(1)
      .describe('Rollout sampling temperature (SeRL leaves OpenRLHF\'s default, 1.0).'),
    top_p: topP().default(1).describe('Rollout nucleus sampling (OpenRLHF default 1.0).'),
    self_instruction: SelfInstructionSchema,
    filters: FiltersSchema,
    optimizer: OptimizerSchema,
    loss: LossSchema,
    curation: CurationSchema,
    checkpoint_every: positiveInt()
      .default(50)
      .describe('Save a checkpoint every this many steps (SeRL --save_steps 50).'),
    eval: EvalSchema,
    monitor: MonitorSchema,
  })
  .superRefine((config, context) => {
    const problem = (path: (string | number)[], message: string) => context.addIssue({ code: 'custom', path, message });
    const { self_instruction: selfInstruction, filters } = config;
    if (selfInstruction.max_generated_exemplars > selfInstruction.exemplars) {
      const limit = `must not exceed exemplars (${selfInstruction.exemplars})`;
      problem(['self_instruction', 'max_generated_exemplars'], limit);
    }
    const [low, high] = filters.reward_difficulty_bounds;
    if (low > high) problem(['filters', 'reward_difficulty_bounds'], `low bound ${low} is above high bound ${high}`);
    if (filters.min_words > filters.max_words) {
      problem(['filters', 'min_words'], `must not exceed max_words (${filters.max_words})`);
    }
    if (config.train_batch_size % config.micro_train_batch_size !== 0) {
      problem(['micro_train_batch_size'], `must divide train_batch_size (${config.train_batch_size})`);
    }
    if (config.n_samples_per_prompt < 2 && config.algorithm !== 'reinforce++') {
      problem(['n_samples_per_prompt'], `${config.algorithm} compares responses within a group: needs at least 2`);
    } else if (config.n_samples_per_prompt < 2 && config.mode !== 'ground-truth') {
      problem(['n_samples_per_prompt'], 'a majority vote needs at least 2 responses');
    }
  })
  .describe('SeRL Studio run config. Defaults follow SeRL\'s training scripts (Llama-3.2-3B, REINFORCE++).');

export type RunConfig = z.output<typeof RunConfigSchema>;
/** What a config file may contain: every field optional where it has a default. */
export type RunConfigInput = z.input<typeof RunConfigSchema>;

export interface ConfigError {
  /** Dotted field path, e.g. "optimizer.lr" or "filters.reward_difficulty_bounds[1]"; "(root)" for the whole. */
  path: string;
  /** "<source>: <path>: <what is wrong>". */
  message: string;
}

export type ParseRunConfigResult = { ok: true; config: RunConfig } | { ok: false; errors: ConfigError[] };

/** Validates a parsed config file's contents; `source` (e.g. the file name) starts every message. */
export function parseRunConfig(value: unknown, source: string): ParseRunConfigResult {
  const result = RunConfigSchema.safeParse(value, {
    error: (issue) => (issue.code === 'invalid_type' && issue.input === undefined ? 'required' : undefined),
  });
  if (result.success) return { ok: true, config: result.data };
  const errors = result.error.issues.flatMap((issue): ConfigError[] => {
    if (issue.code === 'unrecognized_keys') {
      return issue.keys.map((key) => {
        const path = formatIssuePath([...issue.path, key]);
        const suggestion = closestKey(key, knownKeys(issue.path));
        const hint = suggestion ? ` (did you mean '${suggestion}'?)` : '';
        return { path, message: `${source}: ${path}: unknown key${hint}` };
      });
    }
    const path = formatIssuePath(issue.path);
    return [{ path, message: `${source}: ${path}: ${issue.message}` }];
  });
  return { ok: false, errors };
}

/** The config with every default. */
export function defaultRunConfig(): RunConfig {
  return RunConfigSchema.parse({});
}

/** JSON Schema (draft-07, which VS Code's jsonValidation supports best) of a config file. */
export function runConfigJsonSchema(): Record<string, unknown> {
  return {
    ...z.toJSONSchema(RunConfigSchema, { target: 'draft-07', io: 'input' }),
    title: 'SeRL Studio run config',
  };
}

/** The keys the schema allows at an object path (following defaults, optionals and the model's variants). */
function knownKeys(path: readonly PropertyKey[]): string[] {
  let schemas: z.core.$ZodType[] = [RunConfigSchema];
  for (const part of path) {
    schemas = schemas
      .flatMap(objectShapes)
      .flatMap((shape) => (typeof part === 'string' && shape[part] ? [shape[part]] : []));
  }
  return [...new Set(schemas.flatMap(objectShapes).flatMap((shape) => Object.keys(shape)))];
}

function objectShapes(schema: z.core.$ZodType): Record<string, z.core.$ZodType>[] {
  const def = schema._zod.def;
  switch (def.type) {
    case 'object':
      return [(def as z.core.$ZodObjectDef).shape];
    case 'default':
    case 'optional':
    case 'pipe':
      return objectShapes('innerType' in def ? (def.innerType as z.core.$ZodType) : (def as z.core.$ZodPipeDef).in);
    case 'union':
      return (def as z.core.$ZodUnionDef).options.flatMap(objectShapes);
    default:
      return [];
  }
}

/** The known key a misspelt one most likely meant: within edit distance 2, or containing it ("betas"). */
function closestKey(key: string, candidates: string[]): string | null {
  const lower = key.toLowerCase();
  let best: string | null = null;
  let bestDistance = 3;
  for (const candidate of candidates) {
    const contains = lower.length >= 3 && candidate.toLowerCase().includes(lower);
    const distance = contains ? 2 : editDistance(lower, candidate.toLowerCase());
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1);
      current[j] = Math.min(previous[j] + 1, current[j - 1] + 1, substitution);
    }
    previous = current;
  }
  return previous[b.length];
}
