// The run configs "SeRL: New Run Config" writes: one per mode, short (every key left out takes SeRL's
// default from core/config.ts), with the keys a user adjusts first spelled out.
import type { RunConfigInput } from '../core/config';

export const RUN_CONFIG_TEMPLATES = [
  {
    mode: 'serl',
    label: 'SeRL: self-instruction + majority-vote rewards',
    detail: 'The policy writes new problems from the seeds, rewards its answers by majority vote and trains on the useful ones. Seeds need no answers.',
  },
  {
    mode: 'majority',
    label: 'Majority-vote RL on the seeds',
    detail: 'No self-instruction: RL on the seed problems with majority-vote rewards (a SeRL baseline). Seeds need no answers.',
  },
  {
    mode: 'ground-truth',
    label: 'RL with ground-truth labels',
    detail: "RL on the seed problems rewarded against their answers (a SeRL baseline). Needs seeds with an \"answer\".",
  },
] as const;

export type TemplateMode = (typeof RUN_CONFIG_TEMPLATES)[number]['mode'];

/** The config file's text; `seeds` is relative to the config file's folder, with '/' separators. */
export function runConfigTemplate(mode: TemplateMode, seeds: string): string {
  const config: RunConfigInput = {
    mode,
    algorithm: 'reinforce++',
    seeds,
    model: { kind: 'hf', path: 'meta-llama/Llama-3.2-3B-Instruct', dtype: 'auto' },
    device: 'auto',
    ...(mode === 'serl' ? { instructions_num_per_iteration: 2000, iterations: 1 } : { max_steps: 100 }),
    n_samples_per_prompt: 16,
    rollout_batch_size: 16,
    filters: { reward_difficulty_bounds: [0.2, 0.8] },
    optimizer: { lr: 5e-7 },
    curation: { mode: 'auto' },
    checkpoint_every: 50,
  };
  return `${JSON.stringify(config, null, 2)}\n`;
}

/** Run configs are named serl.config.json or <name>.serl.json (the names the JSON schema is bound to). */
export function isRunConfigName(path: string): boolean {
  return /(^|[/\\])(serl\.config\.json|[^/\\]+\.serl\.json)$/.test(path);
}
