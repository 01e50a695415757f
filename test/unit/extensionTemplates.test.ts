// The run configs "SeRL: New Run Config" writes are valid configs of the mode asked for, and run configs
// are recognised by name.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseRunConfig, RunConfigSchema } from '../../src/core/config';
import { isRunConfigName, RUN_CONFIG_TEMPLATES, runConfigTemplate } from '../../src/engine/runConfigTemplate';

describe('runConfigTemplate', () => {
  for (const { mode } of RUN_CONFIG_TEMPLATES) {
    it(`writes a valid ${mode} config`, () => {
      const text = runConfigTemplate(mode, 'data/seeds.seed.jsonl');
      assert.ok(text.endsWith('}\n'));
      const parsed = parseRunConfig(JSON.parse(text), 'template');
      assert.ok(parsed.ok, parsed.ok ? '' : parsed.errors.map((error) => error.message).join('\n'));
      assert.equal(parsed.config.mode, mode);
      assert.equal(parsed.config.seeds, 'data/seeds.seed.jsonl');
      assert.equal(parsed.config.n_samples_per_prompt, 16);
    });
  }

  it('covers every mode of the config schema', () => {
    assert.deepEqual(RUN_CONFIG_TEMPLATES.map((template) => template.mode).sort(), [...RunConfigSchema.shape.mode.unwrap().options].sort());
  });
});

describe('isRunConfigName', () => {
  it('accepts serl.config.json and *.serl.json only', () => {
    for (const path of ['/w/serl.config.json', 'serl.config.json', '/w/a/grpo.serl.json', 'C:\\w\\x.serl.json']) assert.ok(isRunConfigName(path), path);
    for (const path of ['/w/my-serl.config.json', '/w/.serl.json', '/w/serl.json', '/w/x.serl.json.bak', '/w/seeds.seed.jsonl']) assert.ok(!isRunConfigName(path), path);
  });
});
