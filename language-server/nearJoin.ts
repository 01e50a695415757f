// Near-duplicate joins in worker threads: the join of a large workspace takes seconds to minutes, so the
// server publishes every other finding first and keeps answering requests while the join runs, split over
// the cores (each worker scores a disjoint share of the pairs; see JoinShare in src/core/rouge.ts).
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { mergeNearestEarlier, type NearDuplicateMatch } from '../src/core/rouge';
import type { NearJoinWorkerData, NearJoinWorkerResult } from './nearJoinWorker';
import type { NearJoinRunner } from './workspace';

export interface NearJoinRunnerOptions {
  /** The built worker script (default: nearJoinWorker.js beside this bundle, i.e. dist/). */
  workerPath?: string;
  /** Worker threads per join (default: the available cores, at most 4). */
  parts?: number;
}

/**
 * The texts arrive as a structured clone, all new objects: with the default young generation a worker spends
 * much of its time copying them between scavenges (100k-text join: 2 threads 2.7 s -> 1.8 s wall).
 */
const WORKER_YOUNG_GENERATION_MB = 64;

function runShare(workerPath: string, data: NearJoinWorkerData, signal: AbortSignal): Promise<(NearDuplicateMatch<number> | null)[]> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(workerPath, { workerData: data, resourceLimits: { maxYoungGenerationSizeMb: WORKER_YOUNG_GENERATION_MB } });
    let settled = false;
    const finish = (outcome: () => void) => {
      if (settled) return;
      settled = true;
      signal.removeEventListener('abort', abort);
      outcome();
    };
    const abort = () => {
      finish(() => reject(new Error('near-duplicate join aborted')));
      void worker.terminate();
    };
    signal.addEventListener('abort', abort);
    worker.once('message', ({ refs, scores }: NearJoinWorkerResult) => {
      finish(() => resolve(Array.from(refs, (ref, i) => (ref < 0 ? null : { ref, score: scores[i]! }))));
    });
    worker.once('error', (error) => finish(() => reject(error)));
    worker.once('exit', (code) => finish(() => reject(new Error(`near-duplicate join worker exited with code ${code} before answering`))));
    if (signal.aborted) abort();
  });
}

export function nearJoinRunner(options: NearJoinRunnerOptions = {}): NearJoinRunner {
  const workerPath = options.workerPath ?? path.join(__dirname, 'nearJoinWorker.js');
  const parts = Math.max(1, options.parts ?? Math.min(4, availableParallelism()));
  return async (texts, threshold, signal) => {
    const textList = [...texts];
    const shares = await Promise.all(Array.from({ length: parts }, (_, part) => runShare(workerPath, { texts: textList, threshold, part, parts }, signal)));
    return mergeNearestEarlier(shares);
  };
}
