import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { defaultRunConfig, parseRunConfig, runConfigJsonSchema, type RunConfig } from '../../src/core/config';
import { SERL_QUESTION_GENERATION_PROMPT } from '../../src/core/selfInstruct';

function parsed(value: unknown): RunConfig {
  const result = parseRunConfig(value, 'test.json');
  if (!result.ok) assert.fail(result.errors.map((e) => e.message).join('\n'));
  return result.config;
}

function errorsOf(value: unknown, source = 'serl.config.json'): { path: string; message: string }[] {
  const result = parseRunConfig(value, source);
  assert.equal(result.ok, false, 'expected the config to be rejected');
  return result.ok ? [] : result.errors;
}

describe('defaultRunConfig', () => {
  it("carries SeRL's reference hyper-parameters", () => {
    const config = defaultRunConfig();
    assert.equal(config.mode, 'serl');
    assert.equal(config.algorithm, 'reinforce++');
    assert.equal(config.n_samples_per_prompt, 16);
    assert.equal(config.rollout_batch_size, 16);
    assert.equal(config.train_batch_size, 16);
    assert.equal(config.prompt_max_len, 1024);
    assert.equal(config.generate_max_len, 1024);
    assert.equal(config.instructions_num_per_iteration, 2000);
    assert.equal(config.optimizer.lr, 5e-7);
    assert.equal(config.loss.init_kl_coef, 1e-4);
    assert.equal(config.loss.clip_eps, 0.2);
    assert.equal(config.loss.kl_estimator, 'k1');
    assert.deepEqual(config.filters, {
      rouge_threshold: 0.7,
      reward_difficulty_bounds: [0.2, 0.8],
      min_words: 4,
      max_words: 150,
    });
    assert.deepEqual(config.self_instruction, {
      exemplars: 8,
      max_generated_exemplars: 2,
      batch_size: 4,
      temperature: 0.8,
      top_p: 0.95,
      presence_penalty: 2,
      max_tokens: 1024,
      prompt: SERL_QUESTION_GENERATION_PROMPT,
    });
    assert.deepEqual(config.model, { kind: 'hf', path: 'meta-llama/Llama-3.2-3B-Instruct', dtype: 'auto' });
    assert.equal(config.curation.mode, 'auto');
    assert.equal(config.max_steps, undefined);
    assert.equal(config.eval.dataset, undefined);
  });

  it('equals parsing an empty object, and each call returns a fresh object', () => {
    const a = defaultRunConfig();
    assert.deepEqual(a, parsed({}));
    a.filters.reward_difficulty_bounds[0] = 0.5;
    a.self_instruction.prompt.system = 'changed';
    a.model.dtype = 'float16';
    assert.deepEqual(defaultRunConfig().filters.reward_difficulty_bounds, [0.2, 0.8]);
    assert.equal(defaultRunConfig().self_instruction.prompt.system, SERL_QUESTION_GENERATION_PROMPT.system);
    assert.equal(defaultRunConfig().model.dtype, 'auto');
  });
});

describe('parseRunConfig: partial configs', () => {
  it('merges top-level values with the defaults', () => {
    const config = parsed({ algorithm: 'grpo', n_samples_per_prompt: 8, seeds: 'data/math.seed.jsonl' });
    assert.equal(config.algorithm, 'grpo');
    assert.equal(config.n_samples_per_prompt, 8);
    assert.equal(config.seeds, 'data/math.seed.jsonl');
    assert.equal(config.rollout_batch_size, 16);
    assert.deepEqual(config.optimizer, defaultRunConfig().optimizer);
  });

  it('merges nested groups field by field', () => {
    const config = parsed({ optimizer: { lr: 1e-6 }, self_instruction: { prompt: { system: 'Be a physics teacher.' } } });
    assert.equal(config.optimizer.lr, 1e-6);
    assert.deepEqual(config.optimizer.adam_betas, [0.9, 0.95]);
    assert.equal(config.self_instruction.prompt.system, 'Be a physics teacher.');
    assert.equal(config.self_instruction.prompt.user, SERL_QUESTION_GENERATION_PROMPT.user);
    assert.equal(config.self_instruction.exemplars, 8);
  });

  it('takes a tiny model without a path and an hf model with LoRA defaults', () => {
    assert.deepEqual(parsed({ model: { kind: 'tiny' } }).model, { kind: 'tiny', dtype: 'auto' });
    const hf = parsed({ model: { kind: 'hf', path: 'Qwen/Qwen2.5-0.5B', lora: { r: 8 } } }).model;
    assert.deepEqual(hf, {
      kind: 'hf',
      path: 'Qwen/Qwen2.5-0.5B',
      dtype: 'auto',
      lora: { r: 8, alpha: 16, dropout: 0, target_modules: 'all-linear' },
    });
    const modules = parsed({ model: { kind: 'hf', path: 'm', lora: { target_modules: ['q_proj', 'v_proj'] } } }).model;
    assert.deepEqual(modules.kind === 'hf' && modules.lora?.target_modules, ['q_proj', 'v_proj']);
  });

  it('accepts a $schema key for editors, the seed-only modes and review curation', () => {
    const config = parsed({ $schema: './dist/serl-config.schema.json', mode: 'ground-truth', curation: { mode: 'review' } });
    assert.equal(config.mode, 'ground-truth');
    assert.equal(config.curation.mode, 'review');
    assert.equal(parsed({ mode: 'majority' }).mode, 'majority');
  });

  it('accepts values at the edges of their ranges', () => {
    const config = parsed({
      filters: { rouge_threshold: 1, reward_difficulty_bounds: [0, 1], min_words: 0 },
      loss: { init_kl_coef: 0 },
      temperature: 0,
      top_p: 1,
      self_instruction: { max_generated_exemplars: 8 },
      algorithm: 'reinforce++',
      mode: 'ground-truth',
      n_samples_per_prompt: 1,
    });
    assert.deepEqual(config.filters.reward_difficulty_bounds, [0, 1]);
    assert.equal(config.n_samples_per_prompt, 1);
  });
});

describe('parseRunConfig: errors name the source and the path', () => {
  const cases: [string, unknown, string, RegExp][] = [
    ['wrong type at the top', { n_samples_per_prompt: '16' }, 'n_samples_per_prompt', /expected number/],
    ['non-integer count', { rollout_batch_size: 2.5 }, 'rollout_batch_size', /int/i],
    ['zero count', { train_batch_size: 0 }, 'train_batch_size', />0/],
    ['unknown enum value', { algorithm: 'ppo' }, 'algorithm', /"reinforce\+\+"\|"grpo"\|"rloo"/],
    ['nested wrong type', { optimizer: { lr: '5e-7' } }, 'optimizer.lr', /expected number/],
    ['negative learning rate', { optimizer: { lr: -1 } }, 'optimizer.lr', />0/],
    ['probability above 1', { filters: { rouge_threshold: 1.5 } }, 'filters.rouge_threshold', /<=1/],
    ['tuple item out of range', { filters: { reward_difficulty_bounds: [0.2, 2] } }, 'filters.reward_difficulty_bounds[1]', /<=1/],
    ['tuple of the wrong length', { filters: { reward_difficulty_bounds: [0.2] } }, 'filters.reward_difficulty_bounds', /2 items/],
    ['top_p of 0', { self_instruction: { top_p: 0 } }, 'self_instruction.top_p', />0/],
    ['missing model path', { model: { kind: 'hf' } }, 'model.path', /required/],
    ['unknown model kind', { model: { kind: 'gguf', path: 'x' } }, 'model.kind', /'hf' \| 'tiny'/],
    ['LoRA on the tiny model', { model: { kind: 'tiny', lora: { r: 4 } } }, 'model.lora', /unknown key/],
    ['LoRA dropout the worker would never apply', { model: { kind: 'hf', path: 'm', lora: { dropout: 0.05 } } }, 'model.lora.dropout', /must be 0/],
    ['empty LoRA module list', { model: { kind: 'hf', path: 'm', lora: { target_modules: [] } } }, 'model.lora.target_modules', />=1 items/],
    ['null value', { seeds: null }, 'seeds', /received null/],
    ['not an object', [1, 2], '(root)', /expected object/],
    ['exemplar counts that cannot fit', { self_instruction: { exemplars: 4, max_generated_exemplars: 5 } }, 'self_instruction.max_generated_exemplars', /must not exceed exemplars \(4\)/],
    ['inverted difficulty bounds', { filters: { reward_difficulty_bounds: [0.8, 0.2] } }, 'filters.reward_difficulty_bounds', /low bound 0.8 is above high bound 0.2/],
    ['min words above max words', { filters: { min_words: 200 } }, 'filters.min_words', /must not exceed max_words \(150\)/],
    ['micro batch not dividing the batch', { train_batch_size: 16, micro_train_batch_size: 3 }, 'micro_train_batch_size', /must divide train_batch_size \(16\)/],
    ['GRPO with one sample', { algorithm: 'grpo', n_samples_per_prompt: 1 }, 'n_samples_per_prompt', /grpo compares responses/],
    ['majority vote with one sample', { n_samples_per_prompt: 1 }, 'n_samples_per_prompt', /majority vote needs at least 2/],
  ];
  for (const [name, value, expectedPath, pattern] of cases) {
    it(name, () => {
      const errors = errorsOf(value);
      const error = errors.find((e) => e.path === expectedPath);
      assert.ok(error, `no error at ${expectedPath}; got ${JSON.stringify(errors)}`);
      assert.ok(error.message.startsWith(`serl.config.json: ${expectedPath}: `), error.message);
      assert.match(error.message, pattern);
    });
  }

  it('reports every problem, not just the first', () => {
    const errors = errorsOf({ seed: -1, device: 'tpu', loss: { kl_estimator: 'k4' } });
    assert.deepEqual(errors.map((e) => e.path).sort(), ['device', 'loss.kl_estimator', 'seed']);
  });

  it('uses the given source in every message', () => {
    const errors = errorsOf({ seed: 'x', optimizer: { lr: 0 } }, '/home/me/project/serl.config.json');
    for (const error of errors) assert.ok(error.message.startsWith('/home/me/project/serl.config.json: '), error.message);
  });
});

describe('parseRunConfig: unknown keys', () => {
  it('rejects a misspelt key and suggests the intended one', () => {
    assert.deepEqual(errorsOf({ temprature: 0.7 }), [
      { path: 'temprature', message: "serl.config.json: temprature: unknown key (did you mean 'temperature'?)" },
    ]);
  });

  it('names unknown keys in nested groups, inside the model variant and in the prompt', () => {
    const errors = errorsOf({
      optimizer: { betas: [0.9, 0.99] },
      model: { kind: 'tiny', dtyp: 'float32' },
      self_instruction: { prompt: { sytem: 'x' } },
      loss: { kl_coef: 0.1 },
    });
    const byPath = Object.fromEntries(errors.map((e) => [e.path, e.message]));
    assert.match(byPath['optimizer.betas']!, /unknown key \(did you mean 'adam_betas'\?\)/);
    assert.match(byPath['model.dtyp']!, /unknown key \(did you mean 'dtype'\?\)/);
    assert.match(byPath['self_instruction.prompt.sytem']!, /unknown key \(did you mean 'system'\?\)/);
    assert.match(byPath['loss.kl_coef']!, /unknown key \(did you mean 'init_kl_coef'\?\)/);
  });

  it('gives one error per unknown key and no suggestion when nothing is close', () => {
    const errors = errorsOf({ wandb_project: 'x', colour: 'blue' });
    assert.deepEqual(
      errors.map((e) => e.message).sort(),
      ['serl.config.json: colour: unknown key', 'serl.config.json: wandb_project: unknown key'],
    );
  });
});

// A validator for exactly the JSON Schema keywords the generated schema uses. Any other keyword fails the
// test, so a schema change cannot slip past by using something this checker would ignore.
const KNOWN_KEYWORDS = new Set([
  '$schema', 'title', 'description', 'default', 'type', 'properties', 'required', 'additionalProperties',
  'enum', 'const', 'items', 'additionalItems', 'minItems', 'maxItems', 'minimum', 'maximum',
  'exclusiveMinimum', 'exclusiveMaximum', 'minLength', 'oneOf', 'anyOf',
]);

type Schema = Record<string, unknown>;

function validate(schema: Schema, value: unknown, at = '$'): string[] {
  for (const keyword of Object.keys(schema)) assert.ok(KNOWN_KEYWORDS.has(keyword), `unsupported keyword ${keyword} at ${at}`);
  const problems: string[] = [];
  const type = schema.type as string | undefined;
  if (type && !hasType(value, type)) return [`${at}: expected ${type}`];
  if ('const' in schema && value !== schema.const) problems.push(`${at}: expected ${JSON.stringify(schema.const)}`);
  if (schema.enum && !(schema.enum as unknown[]).includes(value)) problems.push(`${at}: not in enum`);
  if (typeof value === 'number') {
    if (typeof schema.minimum === 'number' && value < schema.minimum) problems.push(`${at}: below minimum`);
    if (typeof schema.maximum === 'number' && value > schema.maximum) problems.push(`${at}: above maximum`);
    if (typeof schema.exclusiveMinimum === 'number' && value <= schema.exclusiveMinimum) {
      problems.push(`${at}: not above exclusiveMinimum`);
    }
    if (typeof schema.exclusiveMaximum === 'number' && value >= schema.exclusiveMaximum) {
      problems.push(`${at}: not below exclusiveMaximum`);
    }
  }
  if (typeof value === 'string' && typeof schema.minLength === 'number' && value.length < schema.minLength) {
    problems.push(`${at}: shorter than minLength`);
  }
  if (Array.isArray(value)) {
    if (typeof schema.minItems === 'number' && value.length < schema.minItems) problems.push(`${at}: too few items`);
    if (typeof schema.maxItems === 'number' && value.length > schema.maxItems) problems.push(`${at}: too many items`);
    if (Array.isArray(schema.items)) {
      schema.items.forEach((item, i) => i < value.length && problems.push(...validate(item as Schema, value[i], `${at}[${i}]`)));
      if (schema.additionalItems === false && value.length > schema.items.length) problems.push(`${at}: additional items`);
    } else if (schema.items) {
      value.forEach((item, i) => problems.push(...validate(schema.items as Schema, item, `${at}[${i}]`)));
    }
  }
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    const record = value as Record<string, unknown>;
    const properties = (schema.properties ?? {}) as Record<string, Schema>;
    for (const key of (schema.required ?? []) as string[]) if (!(key in record)) problems.push(`${at}.${key}: required`);
    for (const [key, child] of Object.entries(record)) {
      if (properties[key]) problems.push(...validate(properties[key], child, `${at}.${key}`));
      else if (schema.additionalProperties === false) problems.push(`${at}.${key}: additional property`);
    }
  }
  if (schema.oneOf) {
    const matching = (schema.oneOf as Schema[]).filter((option) => validate(option, value, at).length === 0).length;
    if (matching !== 1) problems.push(`${at}: matches ${matching} oneOf options`);
  }
  if (schema.anyOf && !(schema.anyOf as Schema[]).some((option) => validate(option, value, at).length === 0)) {
    problems.push(`${at}: matches no anyOf option`);
  }
  return problems;
}

function hasType(value: unknown, type: string): boolean {
  switch (type) {
    case 'object':
      return value !== null && typeof value === 'object' && !Array.isArray(value);
    case 'array':
      return Array.isArray(value);
    case 'integer':
      return Number.isInteger(value);
    default:
      return typeof value === type;
  }
}

function* propertySchemas(schema: Schema, at = '$'): Generator<[string, Schema]> {
  for (const [key, child] of Object.entries((schema.properties ?? {}) as Record<string, Schema>)) {
    yield [`${at}.${key}`, child];
    yield* propertySchemas(child, `${at}.${key}`);
  }
  for (const option of [...((schema.oneOf ?? []) as Schema[]), ...((schema.anyOf ?? []) as Schema[])]) {
    yield* propertySchemas(option, at);
  }
}

describe('runConfigJsonSchema', () => {
  const schema = runConfigJsonSchema();

  it('is draft-07 and titled', () => {
    assert.equal(schema.$schema, 'http://json-schema.org/draft-07/schema#');
    assert.equal(schema.title, 'SeRL Studio run config');
    assert.equal(schema.additionalProperties, false);
  });

  it('accepts the defaults, an empty config and a typical partial config', () => {
    assert.deepEqual(validate(schema, JSON.parse(JSON.stringify(defaultRunConfig()))), []);
    assert.deepEqual(validate(schema, {}), []);
    assert.deepEqual(
      validate(schema, {
        $schema: './serl-config.schema.json',
        algorithm: 'grpo',
        model: { kind: 'hf', path: 'Qwen/Qwen2.5-1.5B', lora: { r: 8, target_modules: ['q_proj'] } },
        filters: { reward_difficulty_bounds: [0.1, 0.9] },
      }),
      [],
    );
  });

  it('rejects what the zod schema rejects: unknown keys, bad enums, bad types, missing model path', () => {
    assert.deepEqual(validate(schema, { temprature: 1 }), ['$.temprature: additional property']);
    assert.deepEqual(validate(schema, { algorithm: 'ppo' }), ['$.algorithm: not in enum']);
    assert.deepEqual(validate(schema, { optimizer: { lr: '1e-6' } }), ['$.optimizer.lr: expected number']);
    assert.deepEqual(validate(schema, { filters: { reward_difficulty_bounds: [0.1, 0.9, 1] } }), [
      '$.filters.reward_difficulty_bounds: too many items',
      '$.filters.reward_difficulty_bounds: additional items',
    ]);
    assert.deepEqual(validate(schema, { model: { kind: 'hf' } }), ['$.model: matches 0 oneOf options']);
    for (const bad of [{ temprature: 1 }, { algorithm: 'ppo' }, { model: { kind: 'hf' } }]) {
      assert.equal(parseRunConfig(bad, 'x').ok, false);
    }
  });

  it('describes every property, so editors can show a hover for each', () => {
    const undescribed = [...propertySchemas(schema)].filter(([, child]) => typeof child.description !== 'string');
    assert.deepEqual(undescribed.map(([at]) => at), []);
  });

  it('shows the full defaults of each group', () => {
    const properties = schema.properties as Record<string, Schema>;
    assert.deepEqual(properties.optimizer!.default, defaultRunConfig().optimizer);
    assert.deepEqual(properties.self_instruction!.default, defaultRunConfig().self_instruction);
    assert.deepEqual(properties.n_samples_per_prompt!.default, 16);
  });
});
