// The run config's backend section and the factory's choices that need no process or server: defaults,
// strictness, where paths and keys come from, and what a run's summary and descriptions reveal.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { defaultRunConfig, parseRunConfig, runConfigJsonSchema, type RunConfig } from '../../src/core/config';
import { describeBackend, openBackend } from '../../src/engine/backends';
import { OpenAIBackend } from '../../src/engine/backends/openai';
import { loadRunConfigFile } from '../../src/engine/controller';
import { summarizeRunConfig } from '../../src/protocol/events';

const scratch = mkdtempSync(join(tmpdir(), 'serl-backends-test-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

function parse(backend: unknown): ReturnType<typeof parseRunConfig> {
  return parseRunConfig({ backend }, 'serl.config.json');
}

describe('the backend section of the run config', () => {
  it('defaults to the worker, and fills the defaults of each kind', () => {
    assert.deepEqual(defaultRunConfig().backend, { kind: 'worker' });
    const onnx = parse({ kind: 'onnx', path: 'model' });
    assert.ok(onnx.ok);
    assert.deepEqual(onnx.config.backend, { kind: 'onnx', path: 'model', device: 'cpu', allow_cpu_fallback: false });
    const openai = parse({ kind: 'openai', model: 'qwen' });
    assert.ok(openai.ok);
    assert.deepEqual(openai.config.backend, {
      kind: 'openai',
      model: 'qwen',
      api: 'completions',
      api_key_env: 'OPENAI_API_KEY',
      concurrency: 8,
      timeout_s: 600,
      max_retries: 4,
    });
  });

  it('names the field of a bad backend', () => {
    const cases: [unknown, RegExp][] = [
      [{ kind: 'vllm' }, /serl\.config\.json: backend\.kind: /],
      [{ kind: 'openai' }, /backend\.model: required/],
      [{ kind: 'openai', model: 'm', base_url: 'ftp://host/v1' }, /backend\.base_url: /],
      [{ kind: 'openai', model: 'm', base_url: 'http://me:sk-123@host/v1' }, /backend\.base_url: must not hold credentials/],
      [{ kind: 'openai', model: 'm', api_key_env: 'MY KEY' }, /backend\.api_key_env: must be an environment variable name/],
      [{ kind: 'openai', model: 'm', api_key: 'sk-123' }, /backend\.api_key: unknown key/],
      [{ kind: 'onnx', path: 'm', device: 'gpu' }, /backend\.device: /],
      [{ kind: 'worker', path: 'm' }, /backend\.path: unknown key/],
    ];
    for (const [backend, message] of cases) {
      const parsed = parse(backend);
      assert.ok(!parsed.ok, JSON.stringify(backend));
      assert.match(parsed.errors.map((error) => error.message).join('\n'), message);
    }
  });

  it('is in the JSON schema for editors', () => {
    const schema = runConfigJsonSchema() as { properties: Record<string, { default?: unknown }> };
    assert.deepEqual(schema.properties.backend.default, { kind: 'worker' });
  });

  it('resolves an onnx model folder against the config file, like the seeds', async () => {
    const file = join(scratch, 'onnx.serl.json');
    writeFileSync(file, JSON.stringify({ seeds: 's.jsonl', backend: { kind: 'onnx', path: 'models/tiny' } }));
    const config = await loadRunConfigFile(file);
    assert.equal(config.backend.kind === 'onnx' && config.backend.path, join(scratch, 'models/tiny'));
  });
});

describe('what a run reveals of its backend', () => {
  const withBackend = (backend: RunConfig['backend']): RunConfig => ({ ...defaultRunConfig(), backend });
  const openai: RunConfig['backend'] = { kind: 'openai', model: 'qwen', base_url: 'http://h:8000/v1', api: 'chat', api_key_env: 'K', concurrency: 2, timeout_s: 5, max_retries: 0 };

  it('summarises the backend kind and model in run-started, and marks curation-only runs', () => {
    assert.deepEqual(summarizeRunConfig(withBackend(openai), { curationOnly: true }).backend, { kind: 'openai', model: 'qwen' });
    assert.equal(summarizeRunConfig(withBackend(openai), { curationOnly: true }).curation_only, true);
    assert.equal(summarizeRunConfig(defaultRunConfig()).curation_only, undefined);
    assert.deepEqual(summarizeRunConfig(defaultRunConfig()).backend, { kind: 'worker' });
  });

  it('describes backends for logs without any key', () => {
    assert.equal(describeBackend(withBackend(openai)), 'openai: model qwen at http://h:8000/v1');
    assert.equal(describeBackend(withBackend({ kind: 'onnx', path: '/m', device: 'cuda', allow_cpu_fallback: true })), 'onnx: /m (cuda)');
    assert.match(describeBackend(defaultRunConfig()), /^worker: hf model meta-llama\/Llama-3\.2-3B-Instruct$/);
  });

  it('opens the OpenAI backend from the config and the environment, chat prompts with api "chat"', async () => {
    const opened = await openBackend(withBackend({ ...openai, base_url: undefined }), { env: { OPENAI_BASE_URL: 'http://127.0.0.1:9/v1', K: 'sk-env' } });
    try {
      assert.ok(opened.backend instanceof OpenAIBackend);
      assert.equal(opened.chatPrompts, true);
      assert.equal(opened.description, 'openai: model qwen at http://127.0.0.1:9/v1');
      assert.ok(!opened.description.includes('sk-env'));
    } finally {
      await opened.backend.close();
    }
    await assert.rejects(openBackend(withBackend({ ...openai, base_url: undefined }), { env: {} }), /backend\.base_url: not set and OPENAI_BASE_URL is not in the environment/);
  });
});
