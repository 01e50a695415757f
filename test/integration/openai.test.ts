// OpenAIBackend against a real HTTP server on 127.0.0.1 (test/integration/openaiServer.ts): both endpoints,
// n > 1, stop strings, finish reasons and token counts, retries (429 with Retry-After, 500s until the retries
// run out, a dropped connection), the per-request timeout, cancellation, the concurrency limit, bad answers,
// and that the API key never appears in an error or a log line.
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { OpenAIBackend, type OpenAIBackendOptions, type RetryInfo } from '../../src/engine/backends/openai';
import type { SampleRequest } from '../../src/protocol/worker';
import { chatBody, completionBody, sendJson, TestOpenAIServer } from './openaiServer';

const KEY = 'sk-test-4f9c2b7e1d0a';

let server: TestOpenAIServer;
const opened: OpenAIBackend[] = [];
let logs: string[] = [];
let retries: RetryInfo[] = [];

before(async () => {
  server = await TestOpenAIServer.start();
});
after(async () => {
  await Promise.all(opened.map((backend) => backend.close()));
  await server.close();
});
beforeEach(() => {
  server.requests.length = 0;
  server.maxActive = 0;
  logs = [];
  retries = [];
});

function backend(options: Partial<OpenAIBackendOptions> = {}): OpenAIBackend {
  const created = new OpenAIBackend({
    baseUrl: server.baseUrl,
    model: 'test-model',
    apiKey: KEY,
    retryBaseMs: 10,
    log: (level, message) => logs.push(`${level}: ${message}`),
    onRetry: (retry) => retries.push(retry),
    ...options,
  });
  opened.push(created);
  return created;
}

const request = (overrides: Partial<SampleRequest> = {}): SampleRequest => ({ id: 0, prompt: 'What is 2+2?', n: 1, max_tokens: 16, ...overrides });

describe('OpenAIBackend: answers', () => {
  it('samples n completions from /v1/completions with every sampling parameter, mapping finish reasons and usage', async () => {
    server.handler = (_, response) =>
      sendJson(
        response,
        200,
        completionBody(
          [
            { text: ' 4, so \\boxed{4}', finish_reason: 'stop', stop_reason: '\n\n' },
            { text: ' The answer is 4', finish_reason: 'stop', stop_reason: null },
            { text: ' Let me think about this for a long time', finish_reason: 'length' },
          ],
          { prompt_tokens: 7, completion_tokens: 24 },
        ),
      );
    const result = await backend().sample({
      requests: [request({ id: 'q1', n: 3, temperature: 0.8, top_p: 0.95, stop: ['\n\n'], presence_penalty: 1.5, max_tokens: 32 })],
    });
    assert.equal(server.requests.length, 1);
    const sent = server.requests[0];
    assert.equal(sent.method, 'POST');
    assert.equal(sent.path, '/v1/completions');
    assert.equal(sent.headers.authorization, `Bearer ${KEY}`);
    assert.deepEqual(sent.body, {
      model: 'test-model',
      prompt: 'What is 2+2?',
      n: 3,
      max_tokens: 32,
      temperature: 0.8,
      top_p: 0.95,
      stop: ['\n\n'],
      presence_penalty: 1.5,
    });
    assert.equal(result.results.length, 1);
    const [entry] = result.results;
    assert.equal(entry.id, 'q1');
    assert.equal(entry.prompt_tokens, 7);
    assert.deepEqual(
      entry.samples.map((sample) => [sample.text, sample.finish_reason, sample.sample_id]),
      [
        [' 4, so \\boxed{4}', 'stop', null],
        [' The answer is 4', 'eos', null],
        [' Let me think about this for a long time', 'length', null],
      ],
    );
    // usage counts all n choices together: split in proportion to length, summing to the reported total.
    assert.equal(entry.samples.reduce((sum, sample) => sum + sample.tokens, 0), 24);
    assert.ok(entry.samples[2].tokens > entry.samples[1].tokens);
    assert.ok(result.tokens_per_s > 0);
  });

  it('answers several requests one to one and in order, whatever order the server finishes them in', async () => {
    server.handler = async (sent, response) => {
      const prompt = String(sent.body.prompt);
      // The first prompt is answered last.
      await new Promise((resolveDelay) => setTimeout(resolveDelay, prompt === 'first' ? 60 : 5));
      sendJson(response, 200, completionBody([`answer to ${prompt}`]));
    };
    const result = await backend().sample({
      requests: [request({ id: 1, prompt: 'first' }), request({ id: 2, prompt: 'second' }), request({ id: 3, prompt: 'third' })],
    });
    assert.deepEqual(
      result.results.map((entry) => [entry.id, entry.samples[0].text]),
      [
        [1, 'answer to first'],
        [2, 'answer to second'],
        [3, 'answer to third'],
      ],
    );
  });

  it('sends messages to /v1/chat/completions, and prompts too with api "chat"', async () => {
    server.handler = (sent, response) => {
      const messages = sent.body.messages as { content: string }[];
      sendJson(response, 200, chatBody([`echo: ${messages.at(-1)!.content}`, { text: 'cut', finish_reason: 'length' }]));
    };
    const messages = [
      { role: 'system' as const, content: 'You are a teacher.' },
      { role: 'user' as const, content: 'Write a problem.' },
    ];
    const chat = await backend({ api: 'completions' }).sample({ requests: [{ id: 0, messages, n: 2, max_tokens: 8 }] });
    assert.equal(server.requests[0].path, '/v1/chat/completions');
    assert.deepEqual(server.requests[0].body.messages, messages);
    assert.deepEqual(
      chat.results[0].samples.map((sample) => [sample.text, sample.finish_reason]),
      [
        ['echo: Write a problem.', 'stop'],
        ['cut', 'length'],
      ],
    );
    const prompted = await backend({ api: 'chat' }).sample({ requests: [request({ n: 2 })] });
    assert.equal(server.requests[1].path, '/v1/chat/completions');
    assert.deepEqual(server.requests[1].body.messages, [{ role: 'user', content: 'What is 2+2?' }]);
    assert.equal(prompted.results[0].samples[0].text, 'echo: What is 2+2?');
  });

  it('estimates token counts when the server reports no usage, and says so once', async () => {
    server.handler = (_, response) => sendJson(response, 200, completionBody(['12345678', 'abcd'], null));
    const client = backend();
    const result = await client.sample({ requests: [request({ n: 2, prompt: 'a prompt of 23 letters.' })] });
    assert.deepEqual(
      result.results[0].samples.map((sample) => sample.tokens),
      [2, 1],
    );
    assert.equal(result.results[0].prompt_tokens, 6);
    assert.equal(client.tokenCountSource, 'estimated');
    await client.sample({ requests: [request({ n: 2 })] });
    assert.equal(logs.filter((line) => line.includes('estimated at 4 characters per token')).length, 1, logs.join('\n'));
  });

  it('refuses keep: only the worker keeps samples for training', async () => {
    await assert.rejects(backend().sample({ requests: [request()], keep: true }), /cannot keep samples for training/);
    assert.equal(server.requests.length, 0);
  });
});

describe('OpenAIBackend: bad answers', () => {
  it('names the request when the answer is not JSON', async () => {
    server.handler = (_, response) => {
      response.writeHead(200, { 'content-type': 'text/html' });
      response.end('<html>502 Bad Gateway from the proxy</html>');
    };
    await assert.rejects(backend().sample({ requests: [request({ id: 'q7' })] }), (error: Error) => {
      assert.match(error.message, /POST http:\/\/127\.0\.0\.1:\d+\/v1\/completions \(request "q7", model test-model\): the answer is not JSON: "<html>502 Bad Gateway/);
      return true;
    });
    assert.equal(server.requests.length, 1, 'not retried');
  });

  it('names the field when the answer has the wrong shape', async () => {
    server.handler = (_, response) => sendJson(response, 200, { choices: [{ index: 0, text: 42 }] });
    await assert.rejects(backend().sample({ requests: [request({ id: 3 })] }), /request 3, model test-model\): unexpected completion: choices\[0\]\.text: /);
  });

  it('reports an error object answered with status 200', async () => {
    server.handler = (_, response) => sendJson(response, 200, { error: { message: 'prompt is too long', type: 'BadRequestError' } });
    await assert.rejects(backend().sample({ requests: [request({ id: 4 })] }), /request 4, model test-model\): the server answered an error: "prompt is too long"/);
  });

  it('does not retry a request fetch refuses to send, and keeps the key out of the message', async () => {
    await assert.rejects(backend({ apiKey: `${KEY}\nline-two` }).sample({ requests: [request()] }), (error: Error) => {
      assert.match(error.message, /the request could not be sent: /);
      assert.ok(!error.message.includes(KEY));
      return true;
    });
    assert.equal(server.requests.length, 0);
    assert.equal(retries.length, 0);
  });

  it('fails when the server answers fewer choices than n', async () => {
    server.handler = (_, response) => sendJson(response, 200, completionBody(['only one']));
    await assert.rejects(backend().sample({ requests: [request({ n: 4 })] }), /1 choices with indices \[0\] where n=4 \(indices 0\.\.3\) were asked for \(some servers, e\.g\. Ollama, ignore n/);
  });

  it('fails at once on a 4xx other than 429, quoting the server', async () => {
    server.handler = (_, response) => sendJson(response, 404, { error: { message: 'The model `nope` does not exist.' } });
    await assert.rejects(backend({ model: 'nope' }).sample({ requests: [request()] }), /model nope\): HTTP 404: "The model `nope` does not exist\."/);
    assert.equal(server.requests.length, 1);
  });
});

describe('OpenAIBackend: retries, timeouts, cancellation', () => {
  it('retries a 429 after the Retry-After the server asks for, then succeeds', async () => {
    let calls = 0;
    server.handler = (_, response) => {
      calls++;
      if (calls === 1) sendJson(response, 429, { error: { message: 'rate limited' } }, { 'retry-after': '1' });
      else if (calls === 2) sendJson(response, 429, { error: { message: 'rate limited' } }, { 'retry-after-ms': '120' });
      else sendJson(response, 200, completionBody(['4']));
    };
    const result = await backend().sample({ requests: [request({ id: 'r' })] });
    assert.equal(result.results[0].samples[0].text, '4');
    assert.equal(server.requests.length, 3);
    assert.deepEqual(
      retries.map(({ requestId, attempt, delayMs, reason, fromServer }) => ({ requestId, attempt, delayMs, reason, fromServer })),
      [
        { requestId: 'r', attempt: 1, delayMs: 1000, reason: 'HTTP 429', fromServer: true },
        { requestId: 'r', attempt: 2, delayMs: 120, reason: 'HTTP 429', fromServer: true },
      ],
    );
  });

  it('backs off exponentially with jitter on 500s and gives up after max_retries', async () => {
    server.handler = (_, response) => sendJson(response, 500, { error: { message: 'CUDA out of memory' } });
    await assert.rejects(backend({ maxRetries: 3, retryBaseMs: 20 }).sample({ requests: [request({ id: 9 })] }), (error: Error) => {
      assert.match(error.message, /request 9, model test-model\): HTTP 500: "CUDA out of memory" \(gave up after 4 attempts\)/);
      return true;
    });
    assert.equal(server.requests.length, 4);
    assert.deepEqual(
      retries.map((retry) => retry.attempt),
      [1, 2, 3],
    );
    retries.forEach((retry, i) => {
      const backoff = 20 * 2 ** i;
      assert.ok(retry.delayMs >= backoff / 2 && retry.delayMs < backoff, `retry ${i + 1}: ${retry.delayMs} ms outside [${backoff / 2}, ${backoff})`);
      assert.equal(retry.fromServer, false);
    });
  });

  it('retries when the connection is dropped mid-answer, and reports a connection that keeps dropping', async () => {
    let calls = 0;
    server.handler = (_, response, raw) => {
      calls++;
      if (calls === 1) {
        // Headers and half a body, then the socket dies.
        response.writeHead(200, { 'content-type': 'application/json', 'content-length': '500' });
        response.write('{"choices": [{"index": 0, "te');
        setTimeout(() => raw.socket.destroy(), 20);
      } else {
        sendJson(response, 200, completionBody(['recovered']));
      }
    };
    const result = await backend().sample({ requests: [request()] });
    assert.equal(result.results[0].samples[0].text, 'recovered');
    assert.equal(server.requests.length, 2);
    assert.match(retries[0].reason, /connection was dropped/);

    server.handler = (_, _response, raw) => {
      raw.socket.destroy();
    };
    await assert.rejects(backend({ maxRetries: 1 }).sample({ requests: [request()] }), /the connection was dropped .*\(gave up after 2 attempts\)/);
  });

  it('fails a request that exceeds the timeout, without retrying it', async () => {
    server.handler = (_, response) => {
      // Headers at once, the body never: the timeout covers reading the answer too.
      response.writeHead(200, { 'content-type': 'application/json' });
      response.write('{"choices": [');
    };
    await assert.rejects(backend({ timeoutMs: 400 }).sample({ requests: [request({ id: 'slow' })] }), /request "slow", model test-model\): no complete answer within the timeout \(400 ms\)/);
    assert.deepEqual(retries, [], 'not retried');
  });

  it('cancels in-flight and queued requests when the signal aborts, closing the connections', async () => {
    const closed: string[] = [];
    server.handler = (sent, response) => {
      response.once('close', () => closed.push(String(sent.body.prompt)));
      // Never answers.
    };
    const controller = new AbortController();
    const sampling = backend({ concurrency: 2 }).sample(
      { requests: ['a', 'b', 'c', 'd'].map((prompt, id) => request({ id, prompt })) },
      { signal: controller.signal },
    );
    while (server.requests.length < 2) await new Promise((resolveWait) => setTimeout(resolveWait, 5));
    controller.abort();
    await assert.rejects(sampling, (error: Error) => {
      assert.equal(error.name, 'AbortError');
      assert.match(error.message, /sampling cancelled/);
      return true;
    });
    while (closed.length < 2) await new Promise((resolveWait) => setTimeout(resolveWait, 5));
    assert.deepEqual(closed.sort(), ['a', 'b']);
    assert.equal(server.requests.length, 2, 'the queued requests were never sent');
  });

  it('stops everything on close, and refuses to sample afterwards', async () => {
    server.handler = () => {};
    const client = backend();
    const sampling = client.sample({ requests: [request()] });
    while (server.requests.length < 1) await new Promise((resolveWait) => setTimeout(resolveWait, 5));
    await client.close();
    await client.close();
    await assert.rejects(sampling, /closed while sampling/);
    await assert.rejects(client.sample({ requests: [request()] }), /sample after close/);
  });

  it('keeps at most `concurrency` requests in flight', async () => {
    // Each answer waits until 3 requests are in flight (or the last one has arrived): the limit is reached
    // every round whatever the machine's load, and a fourth request in flight would be seen.
    server.handler = async (sent, response) => {
      while (server.active < 3 && server.requests.length < 10) await new Promise((resolveDelay) => setTimeout(resolveDelay, 2));
      sendJson(response, 200, completionBody([`ok ${String(sent.body.prompt)}`]));
    };
    const result = await backend({ concurrency: 3 }).sample({ requests: Array.from({ length: 10 }, (_, id) => request({ id, prompt: `p${id}` })) });
    assert.equal(result.results.length, 10);
    assert.equal(server.maxActive, 3);
  });
});

describe('OpenAIBackend: the API key', () => {
  it('never puts the key into errors or logs, even when the server echoes it', async () => {
    server.handler = (sent, response) => {
      const echoed = String(sent.headers.authorization);
      if (sent.body.prompt === 'retry') sendJson(response, 503, { error: { message: `overloaded; your header was ${echoed}` } });
      else sendJson(response, 401, { error: { message: `Incorrect API key provided: ${echoed}` } });
    };
    const failures: string[] = [];
    for (const prompt of ['unauthorised', 'retry']) {
      await backend({ maxRetries: 1 }).sample({ requests: [request({ prompt })] }).catch((error: Error) => failures.push(`${error.message}\n${error.stack}`));
    }
    assert.equal(failures.length, 2);
    assert.match(failures[0], /HTTP 401: "Incorrect API key provided: Bearer \*\*\*"/);
    assert.match(failures[1], /HTTP 503: "overloaded; your header was Bearer \*\*\*" \(gave up after 2 attempts\)/);
    assert.ok(logs.length > 0);
    for (const text of [...failures, ...logs, ...retries.map((retry) => retry.reason)]) assert.ok(!text.includes(KEY), `the key leaked: ${text}`);
  });

  it('sends no Authorization header without a key', async () => {
    server.handler = (_, response) => sendJson(response, 200, completionBody(['ok']));
    await backend({ apiKey: undefined }).sample({ requests: [request()] });
    assert.equal(server.requests[0].headers.authorization, undefined);
  });

  it('refuses a base URL that holds credentials', () => {
    assert.throws(() => new OpenAIBackend({ baseUrl: `http://user:${KEY}@127.0.0.1:1/v1`, model: 'm' }), (error: Error) => {
      assert.match(error.message, /holds credentials/);
      assert.ok(!error.message.includes(KEY));
      return true;
    });
  });
});
