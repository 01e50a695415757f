// The ONNX backend on a model the real worker exports (the arithmetic world's base checkpoint, whatever its
// weights): greedy outputs identical to the PyTorch worker's, sampled outputs distributed like the worker's,
// Transformers.js's own generate() reading the export, and every way a model folder, a device or a request
// can be wrong. Needs /usr/bin/python3 with PyTorch for the export; onnxruntime-node runs in this process.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { OnnxBackend, OnnxBackendError, type OnnxBackendOptions } from '../../src/engine/backends/onnx';
import { WorkerClient } from '../../src/engine/worker';
import type { SampleParams, SampleRequest, SampleResult } from '../../src/protocol/worker';

const PYTHON = '/usr/bin/python3';
const ROOT = resolve(__dirname, '../..');
const BASE_MODEL = join(ROOT, 'examples', 'arithmetic', 'base');
const torchProbe = spawnSync(PYTHON, ['-c', 'import torch'], { encoding: 'utf8' });
const torchMissing =
  torchProbe.status !== 0
    ? `PyTorch is not importable by ${PYTHON} (Debian: apt install python3-torch): ` +
      `${(torchProbe.stderr ?? String(torchProbe.error)).trim().split('\n').pop()}`
    : false;

const PROMPTS = [
  'Omar has 12 balloons. Omar loses 9, gives away 2, gets 10, loses 6. How many?',
  'Leo has 11 lemons. Leo doubles them, triples them. How many?',
  'Amy has 13 buttons. Amy gets 9, sells 8, triples them, sells 15. How many?',
  'Tom has 7 pencils. He gets 17 and doubles them. How many pencils are left?',
  'What is 2+2?',
  '12+30=',
  'Ravi has 17 rocks. He gives away 4, buys 2, sells 13 and sells 1. How many now?',
  'x',
];

const scratch = mkdtempSync(join(tmpdir(), 'serl-onnx-test-'));
const modelDir = join(scratch, 'export');
const opened: OnnxBackend[] = [];
let worker: WorkerClient | undefined;

async function open(options: Partial<OnnxBackendOptions> = {}): Promise<OnnxBackend> {
  const backend = await OnnxBackend.open({ modelDir, threads: 1, ...options });
  opened.push(backend);
  return backend;
}

async function rejection(promise: Promise<unknown>): Promise<Error> {
  const error = await promise.then(
    () => assert.fail('expected a rejection'),
    (reason: unknown) => reason,
  );
  assert.ok(error instanceof OnnxBackendError, `not an OnnxBackendError: ${String(error)}`);
  return error;
}

/** Per sample: what both backends must agree on (not tokens_per_s, not sample ids). */
function outcomes(result: SampleResult) {
  return result.results.map((entry) => ({
    id: entry.id,
    prompt_tokens: entry.prompt_tokens,
    samples: entry.samples.map(({ text, tokens, finish_reason }) => ({ text, tokens, finish_reason })),
  }));
}

describe('the ONNX backend on an exported tiny model', { skip: torchMissing }, () => {
  before(async () => {
    worker = await WorkerClient.start({ python: PYTHON, env: { SERL_WORKER_THREADS: '1', OMP_NUM_THREADS: '1' } });
    await worker.initialize({ model: { kind: 'tiny', path: BASE_MODEL }, device: 'cpu', seed: 3, optimizer: { lr: 1e-3 } });
    const exported = await worker.exportOnnx({ dir: modelDir });
    assert.deepEqual(exported.files.sort(), ['config.json', 'generation_config.json', 'onnx/model.onnx', 'tokenizer.json', 'tokenizer_config.json']);
  });

  after(async () => {
    await Promise.all(opened.map((backend) => backend.close()));
    await worker?.dispose();
    rmSync(scratch, { recursive: true, force: true });
  });

  it('greedy samples are identical to the PyTorch worker’s (stop strings, presence penalty, token limits)', async () => {
    const requests: SampleRequest[] = PROMPTS.map((prompt, i) => ({
      id: `p${i}`,
      prompt,
      temperature: 0,
      max_tokens: 24 + 8 * (i % 4),
      ...(i % 3 === 1 ? { stop: ['=', ';'] } : {}),
      ...(i % 3 === 2 ? { presence_penalty: 0.8 } : {}),
    }));
    const expected = outcomes(await worker!.sample({ requests }));
    const backend = await open();
    assert.deepEqual(outcomes(await backend.sample({ requests })), expected);
    // Batch composition changes only padding, which the model does not see.
    const smallBatches = await open({ maxBatch: 3 });
    assert.deepEqual(outcomes(await smallBatches.sample({ requests })), expected);
    const reasons = new Set(expected.flatMap((entry) => entry.samples.map((sample) => sample.finish_reason)));
    assert.ok(reasons.size >= 2, `the prompts exercise one finish reason only: ${[...reasons].join(', ')}`);
  });

  it('sampled first tokens are distributed like the worker’s, and a seed reproduces a call', async () => {
    const FIRST_TOKEN_SAMPLES = 2000;
    const backend = await open();
    // The next token of a self-instruction list is a new problem's first letter (a name): spread out even at
    // T=0.7/top-p 0.9, whereas after a problem's text the base model puts ~92% on the response's leading space.
    const listPrompt = 'Write new arithmetic word problems.\n\n1. Ben has 8 toys. Ben doubles them, finds 9, sells 6. How many?\n2. ';
    const request = (temperature: number, top_p: number): SampleParams => ({
      seed: 9,
      requests: [{ id: 'q', prompt: listPrompt, n: FIRST_TOKEN_SAMPLES, temperature, top_p, max_tokens: 1 }],
    });
    for (const [temperature, top_p] of [
      [1, 1],
      [0.7, 0.9],
    ] as const) {
      const counts = async (result: SampleResult) => {
        const tally = new Map<string, number>();
        for (const sample of result.results[0]!.samples) tally.set(sample.text, (tally.get(sample.text) ?? 0) + 1 / FIRST_TOKEN_SAMPLES);
        return tally;
      };
      const onnx = await counts(await backend.sample(request(temperature, top_p)));
      const torch = await counts(await worker!.sample(request(temperature, top_p)));
      const keys = new Set([...onnx.keys(), ...torch.keys()]);
      const distance = [...keys].reduce((sum, key) => sum + Math.abs((onnx.get(key) ?? 0) - (torch.get(key) ?? 0)), 0) / 2;
      // The total variation two samples of one distribution show by chance depends on how spread out it is (a
      // base that writes more names spreads more): expected |p̂ − q̂| per outcome is sqrt(2/π) × sqrt(2p(1−p)/n),
      // with p the pooled estimate. Twice that sum leaves chance far behind and still catches a wrong
      // temperature or top-p, which move the distribution by much more.
      const chance = [...keys].reduce((sum, key) => {
        const p = ((onnx.get(key) ?? 0) + (torch.get(key) ?? 0)) / 2;
        return sum + Math.sqrt(2 / Math.PI) * Math.sqrt((2 * p * (1 - p)) / FIRST_TOKEN_SAMPLES);
      }, 0) / 2;
      assert.ok(distance < 2 * chance, `total variation ${distance.toFixed(3)} at T=${temperature}, top_p=${top_p}; chance level ${chance.toFixed(3)}`);
      assert.ok(onnx.size > 1, 'sampling at T > 0 gave one outcome only');
    }
    const again = await backend.sample(request(1, 1));
    assert.deepEqual(outcomes(again), outcomes(await backend.sample(request(1, 1))));
    assert.notDeepEqual(outcomes(again), outcomes(await backend.sample({ ...request(1, 1), seed: 10 })));
  });

  it('Transformers.js’s own generate() runs the export and agrees on greedy text', async () => {
    const { AutoModelForCausalLM, AutoTokenizer } = await import('@huggingface/transformers');
    const model = await AutoModelForCausalLM.from_pretrained(modelDir, { local_files_only: true, dtype: 'fp32', device: 'cpu' });
    const tokenizer = await AutoTokenizer.from_pretrained(modelDir, { local_files_only: true });
    const backend = await open();
    try {
      for (const prompt of PROMPTS.slice(0, 3)) {
        const inputs = tokenizer(prompt);
        const output = (await model.generate({ ...inputs, max_new_tokens: 40, do_sample: false })) as { tolist(): bigint[][] };
        const generated = output.tolist()[0]!.slice(inputs.input_ids.dims[1]).map(Number);
        const ours = await backend.sample({ requests: [{ id: 0, prompt, temperature: 0, max_tokens: 40 }] });
        assert.equal(tokenizer.decode(generated, { skip_special_tokens: true }), ours.results[0]!.samples[0]!.text);
      }
    } finally {
      await model.dispose();
    }
  });

  it('reports tokens, prompt tokens and throughput, n samples per request, in request order', async () => {
    const backend = await open();
    const result = await backend.sample({
      requests: [
        { id: 'a', prompt: 'abc', n: 3, max_tokens: 5 },
        { id: 7, prompt: PROMPTS[1]!, n: 2, max_tokens: 4, temperature: 0.5 },
      ],
    });
    assert.deepEqual(result.results.map((entry) => [entry.id, entry.prompt_tokens, entry.samples.length]), [
      ['a', 3, 3],
      [7, PROMPTS[1]!.length, 2],
    ]);
    for (const sample of result.results.flatMap((entry) => entry.samples)) {
      assert.equal(sample.sample_id, null);
      assert.ok(sample.tokens >= 1 && sample.tokens <= 5);
    }
    assert.ok(result.tokens_per_s > 0);
  });

  it('a response stops at the end of the context, and finished rows in a long batch stay in range', async () => {
    const backend = await open();
    const long = 'Tom has 7 pencils. '.repeat(Math.ceil(backend.maxContext / 19)).slice(0, backend.maxContext - 7);
    // The long prompt has room for 7 tokens; the short one keeps the batch going for 60 steps.
    const result = await backend.sample({
      requests: [
        { id: 'long', prompt: long, temperature: 0, max_tokens: 100 },
        { id: 'short', prompt: 'x', temperature: 0, max_tokens: 60, presence_penalty: 5 },
      ],
    });
    const [longSample] = result.results[0]!.samples;
    assert.ok(longSample!.tokens <= 7, JSON.stringify(longSample));
    if (longSample!.finish_reason === 'length') assert.equal(longSample!.tokens, 7);
  });

  it('names the field of a bad request and keeps the backend usable', async () => {
    const backend = await open();
    const sample = (params: unknown) => rejection(backend.sample(params as SampleParams));
    assert.match((await sample({ requests: [{ id: 1, prompt: 'a', max_tokens: 0 }] })).message, /requests\[0\]\.max_tokens/);
    assert.match((await sample({ requests: [{ id: 1, prompt: 'a', max_tokens: 2 }], keep: true })).message, /^keep: .*worker/);
    assert.match(
      (await sample({ requests: [{ id: 1, prompt: 'ok' }, { id: 2, prompt: 'naïve', max_tokens: 2 }].map((r) => ({ max_tokens: 2, ...r })) })).message,
      /requests\[1\]\.prompt: character "ï" \(U\+00EF\) at index 2 is not in the vocabulary/,
    );
    assert.match(
      (await sample({ requests: [{ id: 1, prompt: 'a'.repeat(backend.maxContext), max_tokens: 2 }] })).message,
      new RegExp(`requests\\[0\\]\\.prompt: is ${backend.maxContext} tokens: no room for a response in the context of ${backend.maxContext}`),
    );
    assert.match(
      (await sample({ requests: [{ id: 1, messages: [{ role: 'user', content: 'hi' }], max_tokens: 2 }] })).message,
      /requests\[0\]\.messages: the model has no chat template/,
    );
    const fine = await backend.sample({ requests: [{ id: 1, prompt: 'a', max_tokens: 2 }] });
    assert.equal(fine.results.length, 1);
  });

  it('stops at an abort, and refuses to sample once closed (close is idempotent)', async () => {
    const backend = await open();
    const controller = new AbortController();
    controller.abort(new Error('stopped by the test'));
    const error = await backend.sample({ requests: [{ id: 1, prompt: 'a', max_tokens: 50 }] }, { signal: controller.signal }).then(
      () => assert.fail('expected a rejection'),
      (reason: unknown) => reason as Error,
    );
    assert.equal(error.message, 'stopped by the test');
    await backend.close();
    await backend.close();
    assert.match((await rejection(backend.sample({ requests: [{ id: 1, prompt: 'a', max_tokens: 2 }] }))).message, /closed/);
  });

  it('a missing or broken model file is an error naming its path', async () => {
    for (const file of ['config.json', 'tokenizer.json', join('onnx', 'model.onnx')]) {
      const broken = join(scratch, `missing-${file.replace(/\W/g, '-')}`);
      cpSync(modelDir, broken, { recursive: true });
      rmSync(join(broken, file));
      const error = await rejection(OnnxBackend.open({ modelDir: broken }));
      assert.ok(error.message.includes(join(broken, file)), error.message);
    }
    assert.match((await rejection(OnnxBackend.open({ modelDir: join(scratch, 'nowhere') }))).message, /nowhere does not exist/);
    const badJson = join(scratch, 'bad-json');
    cpSync(modelDir, badJson, { recursive: true });
    writeFileSync(join(badJson, 'config.json'), '{"model_type": "gpt2",');
    assert.ok((await rejection(OnnxBackend.open({ modelDir: badJson }))).message.startsWith(join(badJson, 'config.json')));
    const badGraph = join(scratch, 'bad-graph');
    cpSync(modelDir, badGraph, { recursive: true });
    writeFileSync(join(badGraph, 'onnx', 'model.onnx'), 'not a model');
    assert.ok((await rejection(OnnxBackend.open({ modelDir: badGraph }))).message.includes(join(badGraph, 'onnx', 'model.onnx')));
  });

  const ortBin = join(dirname(require.resolve('onnxruntime-node')), '..', 'bin');
  const cudaInstalled = readdirSync(ortBin, { recursive: true, encoding: 'utf8' }).some((name) => name.includes('providers_cuda'));
  it(
    'CUDA without its libraries: a clear error, or the CPU when the fallback is allowed',
    { skip: cudaInstalled ? "onnxruntime-node's CUDA libraries are installed here" : false },
    async () => {
      const error = await rejection(OnnxBackend.open({ modelDir, device: 'cuda' }));
      assert.match(error.message, /CUDA execution provider is not available/);
      assert.match(error.message, /ONNXRUNTIME_NODE_INSTALL=cuda12 npm rebuild onnxruntime-node/);
      assert.match(error.message, /device "cpu", or allow the CPU fallback/);
      const lines: string[] = [];
      const backend = await open({ device: 'cuda', allowCpuFallback: true, log: (line) => lines.push(line) });
      assert.equal(backend.device, 'cpu');
      assert.ok(lines.some((line) => /CUDA execution provider is not available.*Falling back to the CPU/.test(line)), lines.join('\n'));
      const result = await backend.sample({ requests: [{ id: 1, prompt: 'a', max_tokens: 2 }] });
      assert.equal(result.results.length, 1);
    },
  );

  it('never reaches the network: a model id instead of a folder is a missing folder', async () => {
    assert.ok(!existsSync('gpt2'));
    assert.match((await rejection(OnnxBackend.open({ modelDir: 'gpt2' }))).message, /gpt2 does not exist/);
  });
});
