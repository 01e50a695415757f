// Writes the arithmetic world's data files, deterministically: the same options give the same bytes.
// Usage: node --import tsx examples/arithmetic/generate.ts [--out DIR] [--slip-share X] [--max-exemplars K]
//   [--more-warmup N]
// (defaults: this folder, 0.3, 2, 0). The files in this folder are the output of the defaults; a unit test
// regenerates them and compares byte for byte. --more-warmup adds N fresh labelled problems to warmup.jsonl
// (and changes no other file): make-base.sh's last stage trains on them.
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { ARITHMETIC_PROMPT_TEMPLATE, buildArithmeticData, DEFAULT_ARITHMETIC_DATA_OPTIONS, toJsonl } from '../../src/core/arithmetic';
import { parseRunConfig, type RunConfigInput } from '../../src/core/config';

const ArgsSchema = z.strictObject({
  out: z.string().min(1).default(__dirname),
  'slip-share': z.coerce.number().min(0).max(1).default(DEFAULT_ARITHMETIC_DATA_OPTIONS.slipShare),
  'max-exemplars': z.coerce.number().int().min(1).default(DEFAULT_ARITHMETIC_DATA_OPTIONS.maxExemplars),
  'more-warmup': z.coerce.number().int().min(0).default(DEFAULT_ARITHMETIC_DATA_OPTIONS.moreWarmup),
});

/**
 * The run config of the world (settings chosen on validation.jsonl; README.md has the table of what was
 * tried). The self-instruction prompt must fit the tiny model's context with room for one new problem:
 * 2 exemplars of ≤ 80 characters under the short template take ≤ 210 characters, the new item ≤ 82.
 */
function runConfig(maxExemplars: number): RunConfigInput {
  return {
    $schema: '../../dist/serl-config.schema.json',
    mode: 'serl',
    algorithm: 'reinforce++',
    seeds: 'seeds.seed.jsonl',
    model: { kind: 'tiny', path: 'base', dtype: 'float32' },
    device: 'auto',
    max_steps: 20,
    n_samples_per_prompt: 16,
    rollout_batch_size: 16,
    train_batch_size: 64,
    micro_train_batch_size: 32,
    prompt_max_len: 256,
    // The longest chain of thought (4 steps, a slip) is under 50 characters.
    generate_max_len: 56,
    self_instruction: {
      exemplars: maxExemplars,
      max_generated_exemplars: Math.min(1, maxExemplars - 1),
      batch_size: 16,
      // A presence penalty acts on characters here: it would forbid reusing any letter already written.
      presence_penalty: 0,
      // One problem (≤ 80 characters), its line break and the end of the sequence.
      max_tokens: 90,
      prompt: ARITHMETIC_PROMPT_TEMPLATE,
    },
    // Chosen on validation (examples/arithmetic/README.md): with the three-stage base, whose majority was
    // right on only two thirds of the problems it wrote above 0.5 agreement and a third below, the band kept
    // the first kind; with the four-stage base it still beats SeRL's 0.2–0.8 (+19.7/+17.7 vs +15.1 points),
    // and over 20 steps at lr 3e-4 it held greedy pass@1 (−1.5) where the run without it lost 11 points (over
    // 40 steps at 3e-4 a banded run collapsed too: the lr, not the band, is what keeps this config safe).
    filters: { reward_difficulty_bounds: [0.5, 0.9] },
    optimizer: { lr: 1e-4, lr_warmup_ratio: 0, lr_scheduler: 'constant_with_warmup' },
    checkpoint_every: 10,
  };
}

function main(): void {
  const { values } = parseArgs({
    options: { out: { type: 'string' }, 'slip-share': { type: 'string' }, 'max-exemplars': { type: 'string' }, 'more-warmup': { type: 'string' } },
    strict: true,
  });
  const parsedArgs = ArgsSchema.safeParse(values);
  if (!parsedArgs.success) {
    const problems = parsedArgs.error.issues.map((issue) => `--${issue.path.join('.')}: ${issue.message}`);
    throw new Error(`${problems.join('; ')}`);
  }
  const args = parsedArgs.data;

  const config = runConfig(args['max-exemplars']);
  const checked = parseRunConfig(config, 'serl.config.json');
  if (!checked.ok) throw new Error(checked.errors.map((error) => error.message).join('\n'));

  const data = buildArithmeticData({
    ...DEFAULT_ARITHMETIC_DATA_OPTIONS,
    slipShare: args['slip-share'],
    maxExemplars: args['max-exemplars'],
    moreWarmup: args['more-warmup'],
  });
  mkdirSync(args.out, { recursive: true });
  const files: [string, string][] = [
    ['seeds.seed.jsonl', toJsonl(data.seeds)],
    ['warmup.jsonl', toJsonl(data.warmup)],
    ['test.jsonl', toJsonl(data.test)],
    ['validation.jsonl', toJsonl(data.validation)],
    ['serl.config.json', JSON.stringify(config, null, 2) + '\n'],
  ];
  for (const [name, text] of files) writeFileSync(path.join(args.out, name), text);
  const slipped = data.warmup.filter((record) => record.kind === 'solve' && record.slipped).length;
  process.stdout.write(
    `wrote ${files.map(([name]) => name).join(', ')} to ${args.out}: ${data.seeds.length} seeds, ` +
      `${data.warmup.length} warm-up examples (${slipped} slipped solutions), ${data.test.length} test and ` +
      `${data.validation.length} validation problems\n`,
  );
}

try {
  main();
} catch (error) {
  // Bad options and an invalid config are the user's to fix: their message is enough, a stack is noise.
  process.stderr.write(`generate.ts: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
}
