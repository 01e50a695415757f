// A SamplingBackend over an OpenAI-compatible HTTP server (vLLM, SGLang, llama.cpp, Ollama, OpenAI):
// one POST per sample request, `n` choices each, through Node's built-in fetch.
//
// Endpoints: a `messages` request goes to /chat/completions; a `prompt` request goes to /completions, or
// (api "chat") to /chat/completions as one user message, for servers and models with a chat endpoint only.
// `baseUrl` is everything before those paths, "/v1" included, as in OPENAI_BASE_URL.
//
// Failures: 429, 5xx and dropped or refused connections are retried with exponential backoff and jitter,
// waiting what Retry-After / retry-after-ms say when the server says it; other statuses, bad JSON and wrong
// shapes fail at once. A request that exceeds the timeout is not retried: re-sending a slow generation only
// doubles the server's load. When one request of a `sample` call fails, the others are aborted.
//
// The API key goes only into the Authorization header: every message this module produces (errors, logs)
// passes through `redact`, so a server that echoes the key back does not put it into a run's files.
import { performance } from 'node:perf_hooks';
import { z } from 'zod';
import { describeIssues } from '../../core/schema';
import type { SamplingBackend } from '../backend';
import type { ChatMessage, Sample, SampleParams, SampleRequest, SampleResult } from '../../protocol/worker';

export type OpenAIApi = 'completions' | 'chat';

export interface OpenAIBackendOptions {
  /** e.g. "http://127.0.0.1:8000/v1". */
  baseUrl: string;
  model: string;
  /** Sent as "Authorization: Bearer …" when set; never written anywhere else. */
  apiKey?: string;
  /** Where prompt-form requests go (messages always go to /chat/completions). Default "completions". */
  api?: OpenAIApi;
  /** Requests in flight at once, over all `sample` calls. Default 8. */
  concurrency?: number;
  /** Per HTTP request, headers and body. Default 600 000 ms. */
  timeoutMs?: number;
  /** Retries after the first attempt. Default 4. */
  maxRetries?: number;
  /** First backoff delay; doubles per retry. Default 500 ms. */
  retryBaseMs?: number;
  /** Longest wait between attempts, Retry-After included. Default 60 000 ms. */
  maxRetryDelayMs?: number;
  log?: (level: 'debug' | 'info' | 'warning' | 'error', message: string) => void;
  /** Each retry as it is scheduled (after `log`), e.g. for progress displays. */
  onRetry?: (retry: RetryInfo) => void;
}

export interface RetryInfo {
  /** The request's `id`. */
  requestId: SampleRequest['id'];
  /** 1 for the first retry. */
  attempt: number;
  delayMs: number;
  /** "HTTP 429", "connection reset (ECONNRESET)", … */
  reason: string;
  /** True when delayMs came from the server (Retry-After / retry-after-ms). */
  fromServer: boolean;
}

/** How the sample token counts of the last `sample` call were obtained. */
export type TokenCountSource = 'usage' | 'usage-apportioned' | 'estimated';

/** Characters per token when the server reports no usage: the usual rule of thumb for English and code. */
export const ESTIMATED_CHARS_PER_TOKEN = 4;
/** Longest piece of a server's answer quoted in an error. */
const QUOTED_CHARS = 300;

export class OpenAIRequestError extends Error {
  constructor(
    message: string,
    /** HTTP status when there was a response. */
    readonly status: number | null,
    /** Worth another attempt (429, 5xx, dropped connection). */
    readonly retryable: boolean,
    readonly retryAfterMs: number | null = null,
  ) {
    super(message);
    this.name = 'OpenAIRequestError';
  }
}

// Answers are checked for what the mapping relies on; extra fields (logprobs, system_fingerprint, …) pass.
const FinishReasonSchema = z.string().nullable().optional();
const UsageSchema = z
  .object({ prompt_tokens: z.int().min(0).optional(), completion_tokens: z.int().min(0).optional() })
  .nullable()
  .optional();
const CompletionResponseSchema = z.object({
  choices: z.array(
    z.object({
      index: z.int().min(0),
      text: z.string(),
      finish_reason: FinishReasonSchema,
      /** vLLM: the stop string or token that ended the text; null at end of sequence. */
      stop_reason: z.union([z.string(), z.number()]).nullable().optional(),
    }),
  ),
  usage: UsageSchema,
});
const ChatResponseSchema = z.object({
  choices: z.array(
    z.object({
      index: z.int().min(0),
      message: z.object({ content: z.string().nullable() }),
      finish_reason: FinishReasonSchema,
      stop_reason: z.union([z.string(), z.number()]).nullable().optional(),
    }),
  ),
  usage: UsageSchema,
});
type Choice = { index: number; text: string; finish_reason?: string | null; stop_reason?: string | number | null };

interface Answer {
  samples: Omit<Sample, 'tokens'>[];
  /** Per-choice token counts, when derivable from usage. */
  completionTokens: number | null;
  promptTokens: number | null;
}

export class OpenAIBackend implements SamplingBackend {
  readonly kind = 'openai';
  private readonly api: OpenAIApi;
  private readonly concurrency: number;
  private readonly timeoutMs: number;
  private readonly maxRetries: number;
  private readonly retryBaseMs: number;
  private readonly maxRetryDelayMs: number;
  private readonly baseUrl: string;
  private inFlight = 0;
  private readonly waiting: (() => void)[] = [];
  /** Aborted by close(): ends every request of every call. */
  private readonly closing = new AbortController();
  private closed = false;
  private lastTokenSource: TokenCountSource | null = null;
  private announcedTokenSource: TokenCountSource | null = null;

  constructor(private readonly options: OpenAIBackendOptions) {
    let url: URL;
    try {
      url = new URL(options.baseUrl);
    } catch {
      throw new Error(`OpenAI-compatible backend: base URL ${JSON.stringify(options.baseUrl)} is not a URL (e.g. http://127.0.0.1:8000/v1)`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new Error(`OpenAI-compatible backend: base URL ${url.origin}: only http and https are supported`);
    }
    if (url.username || url.password) {
      throw new Error('OpenAI-compatible backend: the base URL holds credentials; give the API key through the environment instead');
    }
    if (!options.model) throw new Error('OpenAI-compatible backend: no model name');
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.api = options.api ?? 'completions';
    this.concurrency = positive(options.concurrency ?? 8, 'concurrency');
    this.timeoutMs = positive(options.timeoutMs ?? 600_000, 'timeoutMs');
    this.maxRetries = Math.max(0, Math.floor(options.maxRetries ?? 4));
    this.retryBaseMs = Math.max(0, options.retryBaseMs ?? 500);
    this.maxRetryDelayMs = Math.max(0, options.maxRetryDelayMs ?? 60_000);
  }

  /** Where the token counts of the last call came from (null before the first). */
  get tokenCountSource(): TokenCountSource | null {
    return this.lastTokenSource;
  }

  async sample(params: SampleParams, options: { signal?: AbortSignal } = {}): Promise<SampleResult> {
    if (this.closed) throw new Error('OpenAI-compatible backend: sample after close');
    if (params.keep) throw new Error('OpenAI-compatible backend: cannot keep samples for training (keep: true); training needs the worker');
    const call = new AbortController();
    const abortCall = () => call.abort();
    options.signal?.addEventListener('abort', abortCall);
    this.closing.signal.addEventListener('abort', abortCall);
    if (options.signal?.aborted || this.closing.signal.aborted) call.abort();
    const started = performance.now();
    try {
      const answers = await Promise.all(
        params.requests.map((request, index) =>
          this.withSlot(call.signal, () => this.answer(request, params.seed === undefined ? undefined : params.seed + index, call.signal)).catch(
            (error: unknown) => {
              call.abort();
              throw error;
            },
          ),
        ),
      );
      const results = answers.map((answer, i) => this.toResult(params.requests[i], answer));
      const seconds = (performance.now() - started) / 1000;
      const tokens = results.reduce((sum, result) => sum + result.samples.reduce((total, sample) => total + sample.tokens, 0), 0);
      return { results, tokens_per_s: seconds > 0 ? tokens / seconds : 0 };
    } catch (error) {
      // The first failure is the one to report; the aborts it caused in the other requests are noise.
      throw this.cancelled(options.signal) ?? error;
    } finally {
      options.signal?.removeEventListener('abort', abortCall);
      this.closing.signal.removeEventListener('abort', abortCall);
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.closing.abort();
  }

  // -------------------------------------------------------------------------------------------------------

  private cancelled(signal: AbortSignal | undefined): Error | null {
    if (this.closing.signal.aborted) return abortError('OpenAI-compatible backend: closed while sampling');
    if (signal?.aborted) return abortError('OpenAI-compatible backend: sampling cancelled');
    return null;
  }

  private async withSlot<T>(signal: AbortSignal, work: () => Promise<T>): Promise<T> {
    while (this.inFlight >= this.concurrency) {
      await new Promise<void>((resolveSlot, rejectSlot) => {
        const onAbort = () => {
          const at = this.waiting.indexOf(wake);
          if (at >= 0) this.waiting.splice(at, 1);
          rejectSlot(abortError('OpenAI-compatible backend: sampling cancelled'));
        };
        const wake = () => {
          signal.removeEventListener('abort', onAbort);
          resolveSlot();
        };
        if (signal.aborted) return onAbort();
        signal.addEventListener('abort', onAbort, { once: true });
        this.waiting.push(wake);
      });
    }
    this.inFlight++;
    try {
      return await work();
    } finally {
      this.inFlight--;
      this.waiting.shift()?.();
    }
  }

  /** One request with its retries. */
  private async answer(request: SampleRequest, seed: number | undefined, signal: AbortSignal): Promise<Answer> {
    const { url, body } = this.buildRequest(request, seed);
    const place = `POST ${url} (request ${JSON.stringify(request.id)}, model ${this.options.model})`;
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.attempt(url, body, request, signal);
      } catch (error) {
        if (signal.aborted) throw abortError(`${place}: cancelled`);
        const failure = error instanceof OpenAIRequestError ? error : new OpenAIRequestError(String(error), null, false);
        const tries = `${attempt + 1} attempt${attempt === 0 ? '' : 's'}`;
        if (!failure.retryable) throw new OpenAIRequestError(this.redact(`${place}: ${failure.message}`), failure.status, false);
        if (attempt >= this.maxRetries) {
          throw new OpenAIRequestError(this.redact(`${place}: ${failure.message} (gave up after ${tries})`), failure.status, true);
        }
        const fromServer = failure.retryAfterMs !== null;
        const backoff = Math.min(this.maxRetryDelayMs, this.retryBaseMs * 2 ** attempt);
        // Jitter in [backoff/2, backoff) spreads the retries of many concurrent requests.
        const delayMs = fromServer ? Math.min(this.maxRetryDelayMs, failure.retryAfterMs!) : backoff / 2 + Math.random() * (backoff / 2);
        const reason = failure.status === null ? failure.message : `HTTP ${failure.status}`;
        this.options.log?.('warning', this.redact(`${place}: ${reason}; retry ${attempt + 1}/${this.maxRetries} in ${Math.round(delayMs)} ms`));
        this.options.onRetry?.({ requestId: request.id, attempt: attempt + 1, delayMs, reason: this.redact(reason), fromServer });
        await sleep(delayMs, signal);
        if (signal.aborted) throw abortError(`${place}: cancelled`);
      }
    }
  }

  private buildRequest(request: SampleRequest, seed: number | undefined): { url: string; body: Record<string, unknown> } {
    const sampling = {
      model: this.options.model,
      n: request.n ?? 1,
      max_tokens: request.max_tokens,
      ...(request.temperature === undefined ? {} : { temperature: request.temperature }),
      ...(request.top_p === undefined ? {} : { top_p: request.top_p }),
      ...(request.stop === undefined ? {} : { stop: request.stop }),
      ...(request.presence_penalty === undefined ? {} : { presence_penalty: request.presence_penalty }),
      ...(seed === undefined ? {} : { seed }),
    };
    const messages: ChatMessage[] | undefined =
      request.messages ?? (this.api === 'chat' ? [{ role: 'user', content: request.prompt! }] : undefined);
    if (messages) return { url: `${this.baseUrl}/chat/completions`, body: { ...sampling, messages } };
    return { url: `${this.baseUrl}/completions`, body: { ...sampling, prompt: request.prompt } };
  }

  private async attempt(url: string, body: Record<string, unknown>, request: SampleRequest, outer: AbortSignal): Promise<Answer> {
    const controller = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, this.timeoutMs);
    const forward = () => controller.abort();
    outer.addEventListener('abort', forward);
    try {
      let response: Response;
      let text: string;
      try {
        response = await fetch(url, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            accept: 'application/json',
            ...(this.options.apiKey ? { authorization: `Bearer ${this.options.apiKey}` } : {}),
          },
          body: JSON.stringify(body),
          signal: controller.signal,
        });
        text = await response.text();
      } catch (error) {
        if (timedOut) throw new OpenAIRequestError(`no complete answer within the timeout (${this.timeoutMs} ms)`, null, false);
        if (outer.aborted) throw error;
        throw connectionFailure(error);
      }
      if (!response.ok) {
        const retryable = response.status === 429 || response.status >= 500;
        const retryAfterMs = retryable ? parseRetryAfter(response.headers) : null;
        throw new OpenAIRequestError(`HTTP ${response.status}${serverMessage(text)}`, response.status, retryable, retryAfterMs);
      }
      return this.parseAnswer(text, request, 'messages' in body);
    } finally {
      clearTimeout(timer);
      outer.removeEventListener('abort', forward);
    }
  }

  private parseAnswer(text: string, request: SampleRequest, chat: boolean): Answer {
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      throw new OpenAIRequestError(`the answer is not JSON: ${quote(text)}`, null, false);
    }
    if (typeof value === 'object' && value !== null && 'error' in value && !('choices' in value)) {
      throw new OpenAIRequestError(`the server answered an error${serverMessage(text)}`, null, false);
    }
    let choices: Choice[];
    let usage: z.infer<typeof UsageSchema>;
    if (chat) {
      const parsed = ChatResponseSchema.safeParse(value);
      if (!parsed.success) throw new OpenAIRequestError(`unexpected chat completion: ${describeIssues(parsed.error).join('; ')}`, null, false);
      choices = parsed.data.choices.map((choice) => ({ ...choice, text: choice.message.content ?? '' }));
      usage = parsed.data.usage;
    } else {
      const parsed = CompletionResponseSchema.safeParse(value);
      if (!parsed.success) throw new OpenAIRequestError(`unexpected completion: ${describeIssues(parsed.error).join('; ')}`, null, false);
      choices = parsed.data.choices;
      usage = parsed.data.usage;
    }
    const n = request.n ?? 1;
    const byIndex = new Map(choices.map((choice) => [choice.index, choice]));
    const missing = Array.from({ length: n }, (_, i) => i).filter((i) => !byIndex.has(i));
    if (missing.length > 0 || byIndex.size !== choices.length) {
      const hint = choices.length < n ? ' (some servers, e.g. Ollama, ignore n; use n: 1 or another server)' : '';
      throw new OpenAIRequestError(
        `${choices.length} choices with indices [${choices.map((choice) => choice.index).join(', ')}] where n=${n} (indices 0..${n - 1}) were asked for${hint}`,
        null,
        false,
      );
    }
    return {
      samples: Array.from({ length: n }, (_, i) => {
        const choice = byIndex.get(i)!;
        return { sample_id: null, text: choice.text, finish_reason: finishReason(choice) };
      }),
      completionTokens: usage?.completion_tokens ?? null,
      promptTokens: usage?.prompt_tokens ?? null,
    };
  }

  private toResult(request: SampleRequest, answer: Answer): SampleResult['results'][number] {
    const texts = answer.samples.map((sample) => sample.text);
    let tokens: number[];
    let source: TokenCountSource;
    if (answer.completionTokens !== null) {
      tokens = apportion(answer.completionTokens, texts.map((text) => text.length));
      source = texts.length === 1 ? 'usage' : 'usage-apportioned';
    } else {
      tokens = texts.map(estimateTokens);
      source = 'estimated';
    }
    this.noteTokenSource(source);
    const promptText = request.prompt ?? request.messages!.map((message) => message.content).join('\n');
    return {
      id: request.id,
      prompt_tokens: answer.promptTokens ?? estimateTokens(promptText),
      samples: answer.samples.map((sample, i) => ({ ...sample, tokens: tokens[i] })),
    };
  }

  private noteTokenSource(source: TokenCountSource): void {
    this.lastTokenSource = source;
    if (this.announcedTokenSource === source) return;
    this.announcedTokenSource = source;
    const how: Record<TokenCountSource, string> = {
      usage: "token counts from the server's usage",
      'usage-apportioned': "token counts from the server's usage, split across the n choices in proportion to their length",
      estimated: `token counts estimated at ${ESTIMATED_CHARS_PER_TOKEN} characters per token: the server reports no usage`,
    };
    this.options.log?.('info', `OpenAI-compatible backend: ${how[source]}`);
  }

  private redact(text: string): string {
    const key = this.options.apiKey;
    return key ? text.split(key).join('***') : text;
  }
}

/** OpenAI's finish reasons → ours: "length" is a cut-off; everything else ended the text on its own. */
function finishReason(choice: Choice): Sample['finish_reason'] {
  if (choice.finish_reason === 'length') return 'length';
  // vLLM tells a stop string (stop_reason set) from the end of sequence (stop_reason null).
  if (choice.finish_reason === 'stop' && choice.stop_reason === null) return 'eos';
  return 'stop';
}

/** Splits `total` over items in proportion to `weights` (largest remainder), so the parts sum to `total`. */
export function apportion(total: number, weights: readonly number[]): number[] {
  if (weights.length === 0) return [];
  const sum = weights.reduce((a, b) => a + b, 0);
  const shares = weights.map((weight) => (sum === 0 ? total / weights.length : (total * weight) / sum));
  const parts = shares.map(Math.floor);
  let left = total - parts.reduce((a, b) => a + b, 0);
  const order = shares.map((share, i) => ({ i, rest: share - Math.floor(share) })).sort((a, b) => b.rest - a.rest || a.i - b.i);
  for (const { i } of order) {
    if (left <= 0) break;
    parts[i] += 1;
    left -= 1;
  }
  return parts;
}

export function estimateTokens(text: string): number {
  return Math.ceil(text.length / ESTIMATED_CHARS_PER_TOKEN);
}

/** Retry-After (seconds or an HTTP date) or OpenAI's retry-after-ms, in ms; null when absent or unreadable. */
export function parseRetryAfter(headers: Headers, now: number = Date.now()): number | null {
  const ms = headers.get('retry-after-ms');
  if (ms !== null && /^\d+(\.\d+)?$/.test(ms.trim())) return Number(ms);
  const value = headers.get('retry-after')?.trim();
  if (!value) return null;
  if (/^\d+(\.\d+)?$/.test(value)) return Number(value) * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? null : Math.max(0, date - now);
}

/** fetch's TypeError → what happened on the socket (retryable), or a request fetch refused to send (not). */
function connectionFailure(error: unknown): OpenAIRequestError {
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  if (cause === undefined) return new OpenAIRequestError(`the request could not be sent: ${(error as Error).message}`, null, false);
  const code = cause?.code;
  const what =
    code === 'ECONNRESET' || code === 'UND_ERR_SOCKET'
      ? 'the connection was dropped'
      : code === 'ECONNREFUSED'
        ? 'the connection was refused (is the server running?)'
        : 'the request failed';
  const detail = [code, cause?.message ?? (error as Error).message].filter(Boolean).join(': ');
  return new OpenAIRequestError(`${what} (${detail})`, null, true);
}

/** ": <the server's error message>" from an OpenAI-style error body, else a quote of the body. */
function serverMessage(text: string): string {
  if (text.trim() === '') return '';
  try {
    const value = JSON.parse(text) as { error?: { message?: unknown } | string; message?: unknown; detail?: unknown };
    const message =
      typeof value.error === 'object' && typeof value.error?.message === 'string'
        ? value.error.message
        : typeof value.error === 'string'
          ? value.error
          : typeof value.message === 'string'
            ? value.message
            : typeof value.detail === 'string'
              ? value.detail
              : null;
    if (message !== null) return `: ${quote(message)}`;
  } catch {
    // Not JSON: quoted as is below.
  }
  return `: ${quote(text)}`;
}

function quote(text: string): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > QUOTED_CHARS ? `${JSON.stringify(flat.slice(0, QUOTED_CHARS))}…` : JSON.stringify(flat);
}

function abortError(message: string): Error {
  const error = new Error(message);
  error.name = 'AbortError';
  return error;
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolveSleep) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolveSleep();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}

function positive(value: number, name: string): number {
  if (!(value > 0)) throw new Error(`OpenAI-compatible backend: ${name} must be positive, got ${value}`);
  return value;
}
