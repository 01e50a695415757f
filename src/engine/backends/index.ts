// The run config's `backend` section → a SamplingBackend, for curation-only runs and the playground, and
// the policy worker that training (and a worker-backed curation run) uses. The ONNX backend is imported on
// first use, so that a command that never samples with ONNX never loads onnxruntime.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { RunConfig } from '../../core/config';
import type { SamplingBackend } from '../backend';
import { WorkerClient } from '../worker';
import { OpenAIBackend } from './openai';

export type BackendLogLevel = 'debug' | 'info' | 'warning' | 'error';

export interface BackendOptions {
  /** The worker's Python interpreter (needs PyTorch). */
  python?: string;
  /** Extra environment of the worker (e.g. SERL_WORKER_THREADS). */
  workerEnv?: NodeJS.ProcessEnv;
  /** Where the OpenAI backend reads its API key (`api_key_env`) and OPENAI_BASE_URL. Default: process.env. */
  env?: NodeJS.ProcessEnv;
  /** The OpenAI backend's key, taking precedence over the environment (the extension's secret storage). */
  apiKey?: string;
  log?: (level: BackendLogLevel, message: string) => void;
}

export interface OpenedBackend {
  backend: SamplingBackend;
  /**
   * Whether self-instruction prompts go as chat messages (the model's chat template) rather than as one
   * plain text: Hugging Face models in the worker, the OpenAI backend with api "chat", ONNX models whose
   * tokenizer has a chat template.
   */
  chatPrompts: boolean;
  /** For logs: "openai: model m at http://…/v1". Never holds a key. */
  description: string;
}

/** Opens the configured backend; with kind "worker", starts and initialises the worker (no training reference). */
export async function openBackend(config: RunConfig, options: BackendOptions = {}): Promise<OpenedBackend> {
  const backend = config.backend;
  switch (backend.kind) {
    case 'worker': {
      const worker = await startPolicyWorker(config, { ...options, training: false });
      return { backend: workerBackend(worker), chatPrompts: config.model.kind === 'hf', description: describeBackend(config) };
    }
    case 'openai': {
      const env = options.env ?? process.env;
      const baseUrl = backend.base_url ?? env.OPENAI_BASE_URL;
      if (!baseUrl) throw new Error('backend.base_url: not set and OPENAI_BASE_URL is not in the environment (e.g. http://127.0.0.1:8000/v1)');
      const apiKey = options.apiKey ?? env[backend.api_key_env];
      const opened = new OpenAIBackend({
        baseUrl,
        model: backend.model,
        api: backend.api,
        ...(apiKey ? { apiKey } : {}),
        concurrency: backend.concurrency,
        timeoutMs: backend.timeout_s * 1000,
        maxRetries: backend.max_retries,
        ...(options.log ? { log: options.log } : {}),
      });
      return { backend: opened, chatPrompts: backend.api === 'chat', description: `openai: model ${backend.model} at ${baseUrl}` };
    }
    case 'onnx': {
      const { OnnxBackend } = await import('./onnx');
      const opened = await OnnxBackend.open({
        modelDir: backend.path,
        device: backend.device,
        allowCpuFallback: backend.allow_cpu_fallback,
        ...(options.log ? { log: (line: string) => options.log!('info', `onnx: ${line}`) } : {}),
      });
      return { backend: opened, chatPrompts: await hasChatTemplate(backend.path), description: describeBackend(config) };
    }
  }
}

/** "worker: tiny model /path", "onnx: /path (cpu)", "openai: model m at URL" (the key is never part of it). */
export function describeBackend(config: RunConfig): string {
  const backend = config.backend;
  switch (backend.kind) {
    case 'worker':
      return `worker: ${config.model.kind} model${config.model.path === undefined ? ' (fresh)' : ` ${config.model.path}`}`;
    case 'onnx':
      return `onnx: ${backend.path} (${backend.device})`;
    case 'openai':
      return `openai: model ${backend.model} at ${backend.base_url ?? '$OPENAI_BASE_URL'}`;
  }
}

/**
 * Starts the Python worker with the config's model. `training` adds the frozen reference copy that the
 * KL penalty needs; sampling alone does not.
 */
export async function startPolicyWorker(config: RunConfig, options: BackendOptions & { training: boolean }): Promise<WorkerClient> {
  const worker = await WorkerClient.start({
    python: options.python,
    env: options.workerEnv,
    onLog: (entry) => options.log?.(entry.level, `worker: ${entry.message}`),
    onStderr: (line) => options.log?.('debug', `worker stderr: ${line}`),
  });
  const model = config.model;
  try {
    await worker.initialize({
      model:
        model.kind === 'hf'
          ? { kind: 'hf', path: model.path, dtype: model.dtype, ...(model.lora ? { lora: model.lora } : {}) }
          : { kind: 'tiny', dtype: model.dtype, ...(model.path === undefined ? {} : { path: model.path }) },
      device: config.device,
      seed: config.seed,
      optimizer: { lr: config.optimizer.lr, betas: config.optimizer.adam_betas, weight_decay: config.optimizer.weight_decay },
      reference: options.training && config.loss.init_kl_coef > 0,
    });
  } catch (error) {
    await worker.dispose();
    throw error;
  }
  return worker;
}

/** The worker as a SamplingBackend: closing it ends the process. */
export function workerBackend(worker: WorkerClient): SamplingBackend {
  return {
    kind: 'worker',
    sample: (params) => worker.sample(params),
    close: () => worker.dispose(),
  };
}

/** Whether the model folder's tokenizer_config.json defines a chat template. */
async function hasChatTemplate(modelDir: string): Promise<boolean> {
  let text: string;
  try {
    text = await readFile(join(modelDir, 'tokenizer_config.json'), 'utf8');
  } catch {
    return false;
  }
  try {
    const value = JSON.parse(text) as { chat_template?: unknown };
    return typeof value.chat_template === 'string' || Array.isArray(value.chat_template);
  } catch {
    return false;
  }
}
