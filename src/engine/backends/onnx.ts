// The ONNX Runtime policy backend: samples from a local model folder (the worker's `export_onnx` layout,
// which is optimum's: config.json, tokenizer.json, tokenizer_config.json, onnx/model.onnx with a KV cache)
// through onnxruntime-node, without Python.
//
// Transformers.js does the parts it does well: the tokenizer (and chat templates), loading the session on
// the requested execution provider, and the forward with its KV cache (names and shapes from the session's
// metadata). The decoding loop is ours, not Transformers.js's `generate()`: a sample request mixes
// temperatures, top-p, presence penalties, stop strings and token limits per sequence in one batch,
// reproducibility needs a per-call seeded generator (generate() draws from a process-global one), and a
// sequence that finishes should leave the batch (generate() keeps feeding it, and its positions then run
// past the context). Token choice follows the worker's sampling.py (see onnx/decoding.ts).
import { randomInt } from 'node:crypto';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createRng, type Rng } from '../../core/random';
import { parseWith, type SampleParams, type SampleRequest, type SampleResult, SampleParamsSchema } from '../../protocol/worker';
import type { SamplingBackend } from '../backend';
import { chooseToken, type Finished, finishRow, type RowSettings } from './onnx/decoding';

type Transformers = typeof import('@huggingface/transformers');
type CausalLM = Awaited<ReturnType<Transformers['AutoModelForCausalLM']['from_pretrained']>>;
type Tokenizer = Awaited<ReturnType<Transformers['AutoTokenizer']['from_pretrained']>>;
type Tensor = InstanceType<Transformers['Tensor']>;

export interface OnnxBackendOptions {
  /** The model folder: config.json, tokenizer.json, tokenizer_config.json, onnx/model.onnx. */
  modelDir: string;
  /** Execution provider; default cpu. */
  device?: 'cpu' | 'cuda';
  /** With device cuda: load on the CPU (and say so through `log`) when CUDA cannot be used. */
  allowCpuFallback?: boolean;
  log?: (line: string) => void;
  /** Sequences decoded together in one batch (the worker's max_batch_sequences); default 64. */
  maxBatch?: number;
  /** CPU threads for one forward (onnxruntime's intra-op threads); default: onnxruntime's choice. */
  threads?: number;
}

/** A model folder, device or request the backend cannot use; the message names the file or field. */
export class OnnxBackendError extends Error {
  override name = 'OnnxBackendError';
}

const ONNX_MODEL_FILE = join('onnx', 'model.onnx');
const REQUIRED_FILES = ['config.json', 'tokenizer.json', 'tokenizer_config.json', ONNX_MODEL_FILE];
const DEFAULT_MAX_BATCH = 64;

let transformersModule: Promise<Transformers> | undefined;

/** Transformers.js, loaded on first use (it is large) and set up never to reach the network. */
function loadTransformers(): Promise<Transformers> {
  transformersModule ??= import('@huggingface/transformers').then((transformers) => {
    const { env } = transformers;
    env.allowRemoteModels = false;
    env.allowLocalModels = true;
    // Reading a local folder needs no cache, and the cache would be written inside node_modules.
    env.useFSCache = false;
    env.useBrowserCache = false;
    env.logLevel = transformers.LogLevel.ERROR;
    return transformers;
  });
  return transformersModule;
}

/** What onnxruntime-node says when the CUDA execution provider cannot be used on this machine. */
function isCudaUnavailable(error: unknown): boolean {
  return /cuda|providers_shared|unsupported device/i.test(String(error instanceof Error ? error.message : error));
}

function readJsonObject(path: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new OnnxBackendError(`${path}: ${error instanceof Error ? error.message : String(error)}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new OnnxBackendError(`${path}: not a JSON object`);
  }
  return value as Record<string, unknown>;
}

/** The context length a config declares (the names Hugging Face configs use for it), else undefined. */
function contextOf(config: Record<string, unknown>): number | undefined {
  for (const key of ['max_position_embeddings', 'n_positions', 'n_ctx', 'max_sequence_length']) {
    const value = config[key];
    if (Number.isSafeInteger(value) && (value as number) > 0) return value as number;
  }
  return undefined;
}

function tokenIds(value: unknown): number[] {
  const ids = Array.isArray(value) ? value : [value];
  return ids.filter((id): id is number => Number.isSafeInteger(id) && id >= 0);
}

interface Row extends RowSettings {
  promptIds: number[];
  /** Tokens this row may generate: max_tokens, or less where the context ends first. */
  limit: number;
  stop: string[];
}

export class OnnxBackend implements SamplingBackend {
  readonly kind = 'onnx';
  private closed = false;
  /** sample() calls run one after another: they share the session and the CPU. */
  private queue: Promise<unknown> = Promise.resolve();
  /** The generator for calls without a seed; a call with a seed gets its own. */
  private readonly rng: Rng = createRng(randomInt(2 ** 47));

  private constructor(
    private readonly transformers: Transformers,
    private readonly model: CausalLM,
    private readonly tokenizer: Tokenizer,
    /** Where the model runs: "cpu" or "cuda". */
    readonly device: 'cpu' | 'cuda',
    /** Prompt + response tokens the model can attend to. */
    readonly maxContext: number,
    private readonly eosIds: ReadonlySet<number>,
    private readonly padId: number,
    /** For a character-level vocabulary (the tiny model's): its characters, to name one a prompt uses that it lacks. */
    private readonly characters: ReadonlySet<string> | null,
    private readonly maxBatch: number,
    readonly modelDir: string,
  ) {}

  static async open(options: OnnxBackendOptions): Promise<OnnxBackend> {
    const modelDir = resolve(options.modelDir);
    const log = options.log ?? (() => {});
    if (!existsSync(modelDir)) throw new OnnxBackendError(`ONNX model folder ${modelDir} does not exist`);
    for (const file of REQUIRED_FILES) {
      const path = join(modelDir, file);
      if (!existsSync(path)) throw new OnnxBackendError(`ONNX model folder ${modelDir}: missing ${path}`);
    }
    const maxBatch = options.maxBatch ?? DEFAULT_MAX_BATCH;
    if (!Number.isSafeInteger(maxBatch) || maxBatch < 1) throw new OnnxBackendError(`maxBatch: ${maxBatch} is not a positive integer`);
    const config = readJsonObject(join(modelDir, 'config.json'));
    if (typeof config.model_type !== 'string') {
      throw new OnnxBackendError(`${join(modelDir, 'config.json')}: model_type: a string is required`);
    }

    const transformers = await loadTransformers();
    const loadOptions = { local_files_only: true } as const;
    let tokenizer: Tokenizer;
    try {
      tokenizer = await transformers.AutoTokenizer.from_pretrained(modelDir, loadOptions);
    } catch (error) {
      throw new OnnxBackendError(`loading the tokenizer of ${modelDir}: ${error instanceof Error ? error.message : String(error)}`);
    }

    const loadModel = (device: 'cpu' | 'cuda') =>
      transformers.AutoModelForCausalLM.from_pretrained(modelDir, {
        ...loadOptions,
        dtype: 'fp32',
        device,
        ...(options.threads === undefined
          ? {}
          : { session_options: { intraOpNumThreads: options.threads, interOpNumThreads: 1 } }),
      });
    let device = options.device ?? 'cpu';
    let model: CausalLM;
    const started = performance.now();
    try {
      model = await loadModel(device);
    } catch (error) {
      if (device !== 'cuda' || !isCudaUnavailable(error)) {
        throw new OnnxBackendError(`loading ${join(modelDir, ONNX_MODEL_FILE)}: ${error instanceof Error ? error.message : String(error)}`);
      }
      const problem = cudaUnavailableMessage(error);
      if (!options.allowCpuFallback) throw new OnnxBackendError(`${problem} Use device "cpu", or allow the CPU fallback.`);
      log(`${problem} Falling back to the CPU, as allowed.`);
      device = 'cpu';
      model = await loadModel(device);
    }

    const maxContext = contextOf(config) ?? (Number.isSafeInteger(tokenizer.model_max_length) ? tokenizer.model_max_length : undefined);
    if (maxContext === undefined) {
      await model.dispose();
      throw new OnnxBackendError(`${join(modelDir, 'config.json')}: no context length (max_position_embeddings or n_positions)`);
    }
    const generation = existsSync(join(modelDir, 'generation_config.json'))
      ? readJsonObject(join(modelDir, 'generation_config.json'))
      : {};
    const eosIds = new Set(tokenIds(generation.eos_token_id ?? config.eos_token_id ?? tokenizer.eos_token_id));
    if (eosIds.size === 0) {
      await model.dispose();
      throw new OnnxBackendError(`${join(modelDir, 'config.json')}: eos_token_id: no end-of-sequence token`);
    }
    const padId = tokenIds(generation.pad_token_id ?? config.pad_token_id ?? tokenizer.pad_token_id)[0] ?? Math.min(...eosIds);
    log(
      `loaded ${modelDir} (${config.model_type}, context ${maxContext}) on ${device} in ` +
        `${((performance.now() - started) / 1000).toFixed(1)} s`,
    );
    return new OnnxBackend(
      transformers,
      model,
      tokenizer,
      device,
      maxContext,
      eosIds,
      padId,
      characterVocabulary(tokenizer),
      maxBatch,
      modelDir,
    );
  }

  sample(params: SampleParams, options: { signal?: AbortSignal } = {}): Promise<SampleResult> {
    const run = this.queue.then(() => this.sampleNow(params, options.signal));
    this.queue = run.catch(() => {});
    return run;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.queue;
    await this.model.dispose();
  }

  private async sampleNow(input: SampleParams, signal: AbortSignal | undefined): Promise<SampleResult> {
    if (this.closed) throw new OnnxBackendError('the ONNX backend is closed');
    const parsed = parseWith(SampleParamsSchema, input);
    if (!parsed.ok) throw new OnnxBackendError(`sample params: ${parsed.problems.join('; ')}`);
    const params = parsed.value;
    if (params.keep) throw new OnnxBackendError('keep: the ONNX backend only samples; keeping samples for training needs the worker');

    const rows: Row[] = [];
    const promptTokens = params.requests.map((request, index) => {
      const promptIds = this.encode(request, `requests[${index}]`);
      const settings: Omit<Row, 'promptIds' | 'stop'> = {
        temperature: request.temperature ?? 1,
        topP: request.top_p ?? 1,
        presencePenalty: request.presence_penalty ?? 0,
        limit: Math.min(request.max_tokens, this.maxContext - promptIds.length),
      };
      for (let k = 0; k < (request.n ?? 1); k++) rows.push({ ...settings, promptIds, stop: request.stop ?? [] });
      return promptIds.length;
    });

    const rng = params.seed === undefined ? this.rng : createRng(params.seed);
    const started = performance.now();
    const finished: { finished: Finished; tokens: number }[] = [];
    for (let start = 0; start < rows.length; start += this.maxBatch) {
      finished.push(...(await this.decodeBatch(rows.slice(start, start + this.maxBatch), rng, signal)));
    }
    const seconds = (performance.now() - started) / 1000;

    let position = 0;
    const results = params.requests.map((request, index) => ({
      id: request.id,
      prompt_tokens: promptTokens[index]!,
      samples: Array.from({ length: request.n ?? 1 }, () => {
        const { finished: done, tokens } = finished[position++]!;
        return { sample_id: null, text: done.text, tokens, finish_reason: done.finishReason };
      }),
    }));
    const generated = finished.reduce((sum, row) => sum + row.tokens, 0);
    return { results, tokens_per_s: seconds > 0 ? generated / seconds : 0 };
  }

  /** A request's prompt tokens, or an error naming `path` (e.g. "requests[3]") and the field. */
  private encode(request: SampleRequest, path: string): number[] {
    let ids: number[];
    if (request.messages !== undefined) {
      if (!this.tokenizer.chat_template) {
        throw new OnnxBackendError(`${path}.messages: the model has no chat template: send a prompt string`);
      }
      ids = this.tokenizer.apply_chat_template(request.messages, {
        add_generation_prompt: true,
        tokenize: true,
        return_tensor: false,
        return_dict: false,
      });
    } else {
      const prompt = request.prompt!;
      if (this.characters !== null) {
        let index = 0;
        for (const character of prompt) {
          if (!this.characters.has(character)) {
            const code = character.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0');
            throw new OnnxBackendError(
              `${path}.prompt: character ${JSON.stringify(character)} (U+${code}) at index ${index} is not in the vocabulary`,
            );
          }
          index += character.length;
        }
      }
      ids = this.tokenizer.encode(prompt);
    }
    const field = request.messages !== undefined ? 'messages' : 'prompt';
    if (ids.length === 0) throw new OnnxBackendError(`${path}.${field}: encodes to no tokens`);
    if (ids.length >= this.maxContext) {
      throw new OnnxBackendError(
        `${path}.${field}: is ${ids.length} tokens: no room for a response in the context of ${this.maxContext}`,
      );
    }
    return ids;
  }

  /**
   * Decodes one batch to the end; rows come back in order. Left padding puts every row's next token last.
   */
  private async decodeBatch(
    rows: Row[],
    rng: Rng,
    signal: AbortSignal | undefined,
  ): Promise<{ finished: Finished; tokens: number }[]> {
    const { Tensor, DynamicCache } = this.transformers;
    // One prefill line per distinct prompt: the n samples of a request start from the same cache.
    const promptLine = new Map<string, number>();
    const prompts: number[][] = [];
    /** For each row, the line of the feed (and then of the cache) whose outputs are its own. */
    let source = rows.map((row) => {
      const key = row.promptIds.join(',');
      if (!promptLine.has(key)) promptLine.set(key, prompts.push(row.promptIds) - 1);
      return promptLine.get(key)!;
    });
    let columns = Math.max(...prompts.map((ids) => ids.length));
    const inputIds = new BigInt64Array(prompts.length * columns).fill(BigInt(this.padId));
    let mask = new BigInt64Array(prompts.length * columns);
    const positions = new BigInt64Array(prompts.length * columns);
    prompts.forEach((ids, line) => {
      const offset = line * columns + columns - ids.length;
      ids.forEach((id, i) => {
        inputIds[offset + i] = BigInt(id);
        mask[offset + i] = 1n;
        positions[offset + i] = BigInt(i);
      });
    });
    let feed: Record<string, Tensor> = {
      input_ids: new Tensor('int64', inputIds, [prompts.length, columns]),
      attention_mask: new Tensor('int64', mask, [prompts.length, columns]),
      position_ids: new Tensor('int64', positions, [prompts.length, columns]),
    };

    const responses: number[][] = rows.map(() => []);
    const seen = rows.map(() => new Set<number>());
    const done: (Finished | null)[] = rows.map(() => null);
    // Transformers.js refuses an empty id list, which a response that ends at its first token (EOS) is.
    const decode = (ids: readonly number[]) => (ids.length === 0 ? '' : this.tokenizer.decode(ids as number[], { skip_special_tokens: true }));
    /** The rows in the batch, in order; `source[i]` is the feed line of row `batch[i]`. */
    let batch = rows.map((_, r) => r);
    let past: InstanceType<Transformers['DynamicCache']> | undefined;
    for (let step = 0; ; step++) {
      signal?.throwIfAborted();
      const outputs = (await this.model.forward({ ...feed, past_key_values: past })) as Record<string, Tensor>;
      const logits = outputs.logits!;
      const [lineCount, length, vocab] = logits.dims as [number, number, number];
      const scores = logits.data as Float32Array;

      batch.forEach((r, i) => {
        if (done[r] !== null) return;
        const offset = (source[i]! * length + length - 1) * vocab;
        const token = chooseToken(scores.subarray(offset, offset + vocab), rows[r]!, seen[r]!, rng);
        responses[r]!.push(token);
        seen[r]!.add(token);
        done[r] = finishRow(responses[r]!, this.eosIds, rows[r]!.stop, rows[r]!.limit, decode);
      });
      const going = batch.flatMap((r, i) => (done[r] === null ? [i] : []));
      if (going.length === 0) break;

      // Finished rows leave the batch once they are a quarter of it: dropping their cache lines costs a
      // copy of the cache, feeding them costs compute. Until then they are fed padding, their outputs unread.
      const kept = (batch.length - going.length) * 4 >= batch.length ? going : batch.map((_, i) => i);
      const lines = kept.map((i) => source[i]!);
      const cache = presentAsPast(outputs);
      const unchanged = lines.length === lineCount && lines.every((line, i) => line === i);
      past = new DynamicCache(unchanged ? cache : keepLines(cache, lines, Tensor));
      const grown = new BigInt64Array(lines.length * (columns + 1));
      lines.forEach((line, i) => {
        grown.set(mask.subarray(line * columns, (line + 1) * columns), i * (columns + 1));
        grown[i * (columns + 1) + columns] = 1n;
      });
      mask = grown;
      columns += 1;
      batch = kept.map((i) => batch[i]!);
      source = batch.map((_, i) => i);
      const fed = (r: number) => (done[r] === null ? responses[r]![step]! : this.padId);
      feed = {
        input_ids: new Tensor('int64', BigInt64Array.from(batch, (r) => BigInt(fed(r))), [batch.length, 1]),
        attention_mask: new Tensor('int64', mask, [batch.length, columns]),
        // Every row is fed its response's token `step` now; positions count real tokens only, and the
        // clamp keeps a finished row's (ignored) position inside the context.
        position_ids: new Tensor(
          'int64',
          BigInt64Array.from(batch, (r) => BigInt(Math.min(rows[r]!.promptIds.length + step, this.maxContext - 1))),
          [batch.length, 1],
        ),
      };
    }
    return done.map((row, r) => ({ finished: row!, tokens: responses[r]!.length }));
  }
}

/** The cache with `lines` (batch rows), in order, along dim 0: drops finished rows, repeats a shared prompt's. */
function keepLines(
  cache: Record<string, Tensor>,
  lines: readonly number[],
  TensorClass: Transformers['Tensor'],
): Record<string, Tensor> {
  const kept: Record<string, Tensor> = {};
  for (const [name, tensor] of Object.entries(cache)) {
    const [, ...rest] = tensor.dims as number[];
    const size = rest.reduce((a, b) => a * b, 1);
    const data = tensor.data as Float32Array;
    const out = new (data.constructor as Float32ArrayConstructor)(lines.length * size);
    lines.forEach((line, i) => out.set(data.subarray(line * size, (line + 1) * size), i * size));
    kept[name] = new TensorClass(tensor.type, out, [lines.length, ...rest]);
  }
  return kept;
}

/** The forward's `present.*` outputs under the names the next forward takes them (`past_key_values.*`). */
function presentAsPast(outputs: Record<string, Tensor>): Record<string, Tensor> {
  const past: Record<string, Tensor> = {};
  for (const [name, tensor] of Object.entries(outputs)) {
    if (name.startsWith('present')) past[name.replace(/^present/, 'past_key_values')] = tensor;
  }
  return past;
}

/** The characters of a character-level vocabulary (every regular token one character), else null. */
function characterVocabulary(tokenizer: Tokenizer): Set<string> | null {
  const special = new Set(tokenizer.all_special_tokens);
  const characters = new Set<string>();
  for (const token of tokenizer.get_vocab().keys()) {
    if (special.has(token)) continue;
    if ([...token].length !== 1) return null;
    characters.add(token);
  }
  return characters.size > 0 ? characters : null;
}

function cudaUnavailableMessage(error: unknown): string {
  const detail = error instanceof Error ? error.message : String(error);
  const bin = join(require.resolve('onnxruntime-node'), '..', '..', 'bin');
  const hasCuda =
    existsSync(bin) && readdirSync(bin, { recursive: true, encoding: 'utf8' }).some((name) => name.includes('providers_cuda'));
  const fix = hasCuda
    ? 'the CUDA 12 runtime and cuDNN 9 libraries must be on the library path (LD_LIBRARY_PATH)'
    : 'onnxruntime-node was installed without its CUDA libraries; add them with ' +
      '`ONNXRUNTIME_NODE_INSTALL=cuda12 npm rebuild onnxruntime-node` (Linux x64; CUDA 12 and cuDNN 9 needed)';
  return `the CUDA execution provider is not available (${detail.trim()}): ${fix}.`;
}
