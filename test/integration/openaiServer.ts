// A real HTTP server on 127.0.0.1 for the OpenAI backend's tests: it records every request and answers
// through a handler the test sets (canned text, rules, errors, stalls, dropped sockets). Not a *.test.ts
// file: loaded only by the tests that import it.
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RecordedRequest {
  method: string;
  /** e.g. "/v1/completions". */
  path: string;
  headers: IncomingHttpHeaders;
  body: Record<string, unknown>;
}

export type Handler = (request: RecordedRequest, response: ServerResponse, raw: IncomingMessage) => void | Promise<void>;

export class TestOpenAIServer {
  readonly requests: RecordedRequest[] = [];
  /** Requests being answered right now, and the most at once. */
  active = 0;
  maxActive = 0;

  private constructor(
    private readonly server: Server,
    public handler: Handler,
  ) {}

  static async start(handler: Handler = () => {}): Promise<TestOpenAIServer> {
    const server = createServer();
    const instance = new TestOpenAIServer(server, handler);
    server.on('request', (raw, response) => void instance.receive(raw, response));
    await new Promise<void>((resolveListen) => server.listen(0, '127.0.0.1', resolveListen));
    return instance;
  }

  get origin(): string {
    const { port } = this.server.address() as AddressInfo;
    return `http://127.0.0.1:${port}`;
  }

  /** What OPENAI_BASE_URL would hold. */
  get baseUrl(): string {
    return `${this.origin}/v1`;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolveClose) => this.server.close(() => resolveClose()));
  }

  private async receive(raw: IncomingMessage, response: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of raw) chunks.push(chunk as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    let body: Record<string, unknown> = {};
    try {
      body = text === '' ? {} : (JSON.parse(text) as Record<string, unknown>);
    } catch {
      sendJson(response, 400, { error: { message: 'request body is not JSON' } });
      return;
    }
    const request: RecordedRequest = { method: raw.method ?? '', path: raw.url ?? '', headers: raw.headers, body };
    this.requests.push(request);
    this.active++;
    this.maxActive = Math.max(this.maxActive, this.active);
    // Counted out when the handler has answered (before the client can see it) or the connection closes.
    let counted = true;
    const done = () => {
      if (counted) this.active--;
      counted = false;
    };
    response.once('close', done);
    try {
      await this.handler(request, response, raw);
    } catch (error) {
      if (!response.headersSent) sendJson(response, 500, { error: { message: `test handler failed: ${(error as Error).message}` } });
    }
    if (response.writableEnded) done();
  }
}

export function sendJson(response: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  response.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
  response.end(text);
}

export interface CannedChoice {
  text: string;
  finish_reason?: string | null;
  stop_reason?: string | number | null;
}

/** A /v1/completions answer; usage counts 1 token per word unless `usage` is given (null: none). */
export function completionBody(choices: (string | CannedChoice)[], usage?: { prompt_tokens: number; completion_tokens: number } | null): unknown {
  const full = choices.map((choice) => (typeof choice === 'string' ? { text: choice } : choice));
  return {
    id: 'cmpl-test',
    object: 'text_completion',
    model: 'test-model',
    choices: full.map((choice, index) => ({ index, text: choice.text, finish_reason: choice.finish_reason ?? 'stop', ...stopReason(choice), logprobs: null })),
    ...usageField(full.map((choice) => choice.text), usage),
  };
}

/** A /v1/chat/completions answer. */
export function chatBody(choices: (string | CannedChoice)[], usage?: { prompt_tokens: number; completion_tokens: number } | null): unknown {
  const full = choices.map((choice) => (typeof choice === 'string' ? { text: choice } : choice));
  return {
    id: 'chatcmpl-test',
    object: 'chat.completion',
    model: 'test-model',
    choices: full.map((choice, index) => ({
      index,
      message: { role: 'assistant', content: choice.text },
      finish_reason: choice.finish_reason ?? 'stop',
      ...stopReason(choice),
    })),
    ...usageField(full.map((choice) => choice.text), usage),
  };
}

function stopReason(choice: CannedChoice): Record<string, unknown> {
  return choice.stop_reason === undefined ? {} : { stop_reason: choice.stop_reason };
}

function usageField(texts: string[], usage: { prompt_tokens: number; completion_tokens: number } | null | undefined): Record<string, unknown> {
  if (usage === null) return {};
  const completion = texts.reduce((sum, text) => sum + text.split(/\s+/).filter(Boolean).length, 0);
  const value = usage ?? { prompt_tokens: 5, completion_tokens: completion };
  return { usage: { ...value, total_tokens: value.prompt_tokens + value.completion_tokens } };
}
