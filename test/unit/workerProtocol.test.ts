// The worker protocol's TypeScript side without a process: the line framing (as a vscode-jsonrpc
// MessageReader/MessageWriter pair over in-memory streams) and the schemas that check what crosses it.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PassThrough } from 'node:stream';
import { createMessageConnection, type Message, ResponseError } from 'vscode-jsonrpc/node';
import { LineMessageReader, LineMessageWriter } from '../../src/engine/worker';
import {
  InitializeParamsSchema,
  parseWith,
  parseWorkerMessage,
  SampleParamsSchema,
  sampleResultMismatches,
  SampleResultSchema,
  TrainStepParamsSchema,
  TrainStepResultSchema,
  workerErrorCodeName,
  WorkerMethods,
  type SampleParams,
  type SampleResult,
} from '../../src/protocol/worker';

/** A reader over a fresh stream, collecting what it delivers and reports. */
function readLines() {
  const stream = new PassThrough();
  const reader = new LineMessageReader(stream, 'test stream');
  const messages: Message[] = [];
  const errors: string[] = [];
  let closed = false;
  reader.onError((error) => errors.push(error.message));
  reader.onClose(() => (closed = true));
  reader.listen((message) => messages.push(message));
  return {
    stream,
    messages,
    errors,
    isClosed: () => closed,
    /** Lets the stream's queued 'data'/'end' events run. */
    settle: () => new Promise((resolve) => setImmediate(resolve)),
  };
}

const notification = (n: number) => ({ jsonrpc: '2.0', method: 'progress', params: { method: 'sample', done: n, total: 9 } });
const response = (id: number, result: unknown) => ({ jsonrpc: '2.0', id, result });

describe('LineMessageReader', () => {
  it('joins a message that arrives in pieces, including a UTF-8 character split between chunks', async () => {
    const lines = readLines();
    const bytes = Buffer.from(JSON.stringify(response(1, { text: 'x = ½ · π ✓' })) + '\n', 'utf8');
    const split = bytes.indexOf(Buffer.from('½')) + 1; // inside the two-byte '½'
    lines.stream.write(bytes.subarray(0, 5));
    lines.stream.write(bytes.subarray(5, split));
    await lines.settle();
    assert.equal(lines.messages.length, 0);
    lines.stream.write(bytes.subarray(split));
    await lines.settle();
    assert.deepEqual(lines.messages, [response(1, { text: 'x = ½ · π ✓' })]);
    assert.deepEqual(lines.errors, []);
  });

  it('splits several messages out of one chunk, in order, with CRLF line ends and blank lines', async () => {
    const lines = readLines();
    lines.stream.write(
      `${JSON.stringify(notification(1))}\r\n\n${JSON.stringify(notification(2))}\n   \n${JSON.stringify(response(7, null))}\n`,
    );
    await lines.settle();
    assert.deepEqual(lines.messages, [notification(1), notification(2), response(7, null)]);
    assert.deepEqual(lines.errors, []);
  });

  it('reports an invalid JSON line with its line number and keeps the messages around it', async () => {
    const lines = readLines();
    lines.stream.write(`${JSON.stringify(notification(1))}\nTraceback (most recent call last):\n`);
    lines.stream.write(`${JSON.stringify(notification(2))}\n`);
    await lines.settle();
    assert.deepEqual(lines.messages, [notification(1), notification(2)]);
    assert.equal(lines.errors.length, 1);
    assert.match(lines.errors[0]!, /^test stream line 2: not JSON \(.+\): "Traceback \(most recent call last\):"$/);
  });

  it('refuses JSON that is not a message the worker may send, naming the problem', async () => {
    const lines = readLines();
    const bad = [
      [1, 2],
      { jsonrpc: '1.0', id: 1, result: 3 },
      { jsonrpc: '2.0', id: 1 },
      { jsonrpc: '2.0', id: 1, result: 1, error: { code: 1, message: 'both' } },
      { jsonrpc: '2.0', id: 4, method: 'initialize', params: {} },
      { jsonrpc: '2.0', method: 'log', params: 'text' },
    ];
    lines.stream.write(bad.map((value) => JSON.stringify(value) + '\n').join(''));
    await lines.settle();
    assert.deepEqual(lines.messages, []);
    assert.equal(lines.errors.length, bad.length);
    assert.match(lines.errors[0]!, /line 1: not a JSON object/);
    assert.match(lines.errors[1]!, /line 2: not a JSON-RPC 2\.0 response: jsonrpc: /);
    assert.match(lines.errors[2]!, /line 3: .*exactly one of result and error/);
    assert.match(lines.errors[3]!, /line 4: .*exactly one of result and error/);
    assert.match(lines.errors[4]!, /line 5: a request \(the worker must not send requests\)/);
    assert.match(lines.errors[5]!, /line 6: not a JSON-RPC 2\.0 notification: params: /);
  });

  it('quotes a long bad line shortened', async () => {
    const lines = readLines();
    lines.stream.write('x'.repeat(5000) + '\n');
    await lines.settle();
    assert.equal(lines.errors.length, 1);
    assert.ok(lines.errors[0]!.length < 400, lines.errors[0]);
    assert.match(lines.errors[0]!, /x…"$/);
  });

  it('reports output that ends inside a message, then closes', async () => {
    const lines = readLines();
    lines.stream.end(`${JSON.stringify(notification(1))}\n{"jsonrpc": "2.0", "id": 3, "res`);
    await lines.settle();
    assert.deepEqual(lines.messages, [notification(1)]);
    assert.deepEqual(lines.errors, [
      'test stream line 2: the output ended inside a message (no newline): "{\\"jsonrpc\\": \\"2.0\\", \\"id\\": 3, \\"res"',
    ]);
    assert.ok(lines.isClosed());
  });

  it('reads a large message that arrives in many small chunks', async () => {
    const lines = readLines();
    const big = response(2, { text: 'a\nb'.repeat(100_000) });
    const text = JSON.stringify(big) + '\n';
    for (let start = 0; start < text.length; start += 4096) lines.stream.write(text.slice(start, start + 4096));
    await lines.settle();
    assert.deepEqual(lines.messages, [big]);
  });
});

describe('LineMessageWriter', () => {
  it('writes each message as one line, with newlines inside strings escaped', async () => {
    const stream = new PassThrough();
    const writer = new LineMessageWriter(stream);
    const first = { jsonrpc: '2.0', id: 1, method: 'sample', params: { requests: [{ id: 'a', prompt: '1.\n2.', max_tokens: 4 }] } };
    const second = { jsonrpc: '2.0', method: 'note' };
    await writer.write(first as Message);
    await writer.write(second as Message);
    const lines = String(stream.read()).split('\n');
    assert.deepEqual(lines.slice(0, -1).map((line) => JSON.parse(line)), [first, second]);
    assert.equal(lines.at(-1), '');
  });

  it('rejects a write to a closed stream and reports it instead of crashing', async () => {
    const stream = new PassThrough();
    const writer = new LineMessageWriter(stream);
    const reported: string[] = [];
    writer.onError(([error]) => reported.push(error.message));
    stream.destroy();
    await assert.rejects(writer.write({ jsonrpc: '2.0' }), /destroyed/);
    assert.equal(reported.length, 1);
  });
});

describe('vscode-jsonrpc over the line framing', () => {
  it('answers typed requests from responses split across chunks and arriving out of order', async () => {
    const toWorker = new PassThrough();
    const fromWorker = new PassThrough();
    const connection = createMessageConnection(new LineMessageReader(fromWorker, 'worker stdout'), new LineMessageWriter(toWorker));
    connection.listen();
    try {
      const release = connection.sendRequest(WorkerMethods.release.type, { sample_ids: ['s1'] });
      const save = connection.sendRequest(WorkerMethods.save.type, { dir: '/tmp/ckpt' });
      await new Promise((resolve) => setImmediate(resolve));
      const sent = String(toWorker.read()).trim().split('\n').map((line) => JSON.parse(line));
      assert.deepEqual(
        sent.map((message) => [message.method, message.params]),
        [
          ['release', { sample_ids: ['s1'] }],
          ['save', { dir: '/tmp/ckpt' }],
        ],
      );
      const replies = `${JSON.stringify(response(sent[1].id, { dir: '/tmp/ckpt', step: 3 }))}\n${JSON.stringify({
        jsonrpc: '2.0',
        id: sent[0].id,
        error: { code: -32003, message: 'unknown sample_id s1', data: { path: 'sample_ids[0]', sample_id: 's1' } },
      })}\n`;
      fromWorker.write(replies.slice(0, 17));
      fromWorker.write(replies.slice(17));
      assert.deepEqual(await save, { dir: '/tmp/ckpt', step: 3 });
      const error = await release.then(
        () => assert.fail('release should fail'),
        (reason: unknown) => reason,
      );
      assert.ok(error instanceof ResponseError);
      assert.equal(error.code, -32003);
      assert.deepEqual(error.data, { path: 'sample_ids[0]', sample_id: 's1' });
    } finally {
      connection.dispose();
    }
  });
});

describe('worker protocol schemas', () => {
  const sampleParams: SampleParams = {
    requests: [
      { id: 'q1', prompt: '1+1=', n: 2, max_tokens: 8 },
      { id: 7, prompt: '2+2=', max_tokens: 8 },
    ],
    keep: true,
  };
  const sampleResult = (): SampleResult => ({
    results: [
      {
        id: 'q1',
        prompt_tokens: 4,
        samples: [
          { sample_id: 's1', text: '2', tokens: 2, finish_reason: 'eos' },
          { sample_id: 's2', text: '3', tokens: 2, finish_reason: 'eos' },
        ],
      },
      { id: 7, prompt_tokens: 4, samples: [{ sample_id: 's3', text: '4', tokens: 8, finish_reason: 'length' }] },
    ],
    tokens_per_s: 120.5,
  });

  it('accepts a well-formed sample result and finds nothing amiss', () => {
    const parsed = parseWith(SampleResultSchema, sampleResult());
    assert.ok(parsed.ok);
    assert.deepEqual(sampleResultMismatches(sampleParams, parsed.value), []);
  });

  it('names the field of a bad result', () => {
    const bad = sampleResult() as unknown as { results: { samples: Record<string, unknown>[] }[] };
    bad.results[1]!.samples[0]!.tokens = 'eight';
    bad.results[0]!.samples[1]!.finish_reason = 'timeout';
    const parsed = parseWith(SampleResultSchema, bad);
    assert.ok(!parsed.ok);
    assert.equal(parsed.problems.length, 2);
    assert.ok(parsed.problems.some((problem) => problem.startsWith('results[1].samples[0].tokens: ')));
    assert.ok(parsed.problems.some((problem) => problem.startsWith('results[0].samples[1].finish_reason: ')));
  });

  it('finds results that do not answer the requests: ids, sample counts, missing sample ids with keep', () => {
    const result = sampleResult();
    result.results[1]!.id = 8;
    result.results[0]!.samples.pop();
    result.results[1]!.samples[0]!.sample_id = null;
    assert.deepEqual(sampleResultMismatches(sampleParams, result), [
      'results[0].samples: 1 samples where 2 were asked for',
      'results[1].id: 8 where the request had 7',
      'results[1].samples[0].sample_id: null although keep was set',
    ]);
    assert.deepEqual(sampleResultMismatches(sampleParams, { ...result, results: result.results.slice(1) }), [
      'results: 1 results for 2 requests',
    ]);
  });

  it('checks the controller\'s params before they are sent', () => {
    const problemsOf = (schema: Parameters<typeof parseWith>[0], value: unknown) => {
      const parsed = parseWith(schema, value);
      return parsed.ok ? [] : parsed.problems;
    };
    const trainStep = (batch: { sample_id: string; advantage: number }[], extra: object = {}) =>
      problemsOf(TrainStepParamsSchema, { batch, loss: { kind: 'ppo-clip' }, micro_batch: 1, ...extra });
    // JSON would turn NaN into null; the schema stops it here.
    assert.match(trainStep([{ sample_id: 's1', advantage: Number.NaN }])[0]!, /^batch\[0\]\.advantage: /);
    assert.deepEqual(
      trainStep([
        { sample_id: 's1', advantage: 1 },
        { sample_id: 's1', advantage: -1 },
      ]),
      ['batch: a sample_id appears more than once'],
    );
    assert.match(trainStep([{ sample_id: 's1', advantage: 1 }], { kl: 0.1 })[0]!, /unrecognized key.*"kl"/i);

    const sample = (request: object) => problemsOf(SampleParamsSchema, { requests: [{ id: 1, max_tokens: 2, ...request }] });
    assert.deepEqual(sample({ prompt: 'a', messages: [{ role: 'user', content: 'a' }] }), [
      'requests[0]: exactly one of prompt and messages is required',
    ]);
    assert.match(sample({ prompt: 'a', stop: [''] })[0]!, /^requests\[0\]\.stop\[0\]: /);

    const initialize = (model: object) => problemsOf(InitializeParamsSchema, { model, seed: 0, optimizer: { lr: 1e-3 } });
    assert.match(initialize({ kind: 'tiny', lora: { r: 8 } })[0]!, /^model: .*lora/);
    assert.deepEqual(initialize({ kind: 'tiny', config: { n_layer: 2 } }), []);
    assert.deepEqual(initialize({ kind: 'hf', path: 'gpt2', lora: { r: 8, alpha: 16, dropout: 0, target_modules: 'all-linear' } }), []);
  });

  it('accepts a train_step result with kl null (no reference) and refuses a negative entropy', () => {
    const result = { loss: 0.1, pg_loss: 0.1, kl: null, entropy: 1.2, grad_norm: 0.5, tokens: 40, clip_fraction: 0, step: 1, lr: 1e-3 };
    assert.ok(parseWith(TrainStepResultSchema, result).ok);
    const parsed = parseWith(TrainStepResultSchema, { ...result, entropy: -1 });
    assert.ok(!parsed.ok);
    assert.match(parsed.problems[0]!, /^entropy: /);
  });

  it('checks messages read from the worker', () => {
    assert.deepEqual(parseWorkerMessage(notification(3)), { ok: true, message: notification(3) });
    assert.deepEqual(parseWorkerMessage({ jsonrpc: '2.0', id: null, error: { code: -32700, message: 'parse error' } }), {
      ok: true,
      message: { jsonrpc: '2.0', id: null, error: { code: -32700, message: 'parse error' } },
    });
    const refused = parseWorkerMessage({ jsonrpc: '2.0', id: 'x', result: 1, extra: true, error: { code: 1, message: 'm' } });
    assert.equal(refused.ok, false);
  });

  it('names the worker\'s error codes', () => {
    assert.equal(workerErrorCodeName(-32003), 'unknown sample');
    assert.equal(workerErrorCodeName(-32602), 'invalid params');
    assert.equal(workerErrorCodeName(-32001), 'out of memory');
    assert.equal(workerErrorCodeName(-1), undefined);
  });
});
