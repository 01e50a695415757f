// The one interface every policy backend implements for rollouts and evaluation: the Python worker
// (src/engine/worker.ts, which also trains), the ONNX Runtime backend and the OpenAI-compatible backend
// (issue 6). Curation-only runs and the playground need only this; training needs the worker itself.
import type { SampleParams, SampleResult } from '../protocol/worker.js';

export interface SamplingBackend {
  /** Which backend, for logs and events ("worker", "onnx", "openai"). */
  readonly kind: string;
  /**
   * Answers `params.requests` one to one and in order, with `n` samples each (see
   * sampleResultMismatches). `keep` is only meaningful for the worker; other backends reject it.
   */
  sample(params: SampleParams, options?: { signal?: AbortSignal }): Promise<SampleResult>;
  /** Releases processes, sessions and sockets; idempotent. */
  close(): Promise<void>;
}
