// Near-duplicate joins in worker threads: the join of a large workspace takes seconds to minutes, so the
// server publishes every other finding first and keeps answering requests while the join runs, split over
// the cores (each worker scores a disjoint share of the pairs; see JoinShare in src/core/rouge.ts), all
// reading one plan of the join that the first worker prepares (see nearJoinWorker.ts).
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { mergeNearestEarlier, type NearDuplicateMatch } from '../src/core/rouge';
import type { NearJoinAnswerMessage, NearJoinPlanMessage, NearJoinWorkerData } from './nearJoinWorker';
import type { NearJoinRunner } from './workspace';

export interface NearJoinRunnerOptions {
  /** The built worker script (default: nearJoinWorker.js beside this bundle, i.e. dist/). */
  workerPath?: string;
  /** Worker threads per join (default: the available cores, at most 4). */
  parts?: number;
}

/**
 * Part 0 receives the texts as a structured clone, all new objects: with the default young generation that
 * worker spends much of its time copying them between scavenges (100k-text join: 2 threads 2.7 s -> 1.8 s wall).
 */
const WORKER_YOUNG_GENERATION_MB = 64;

interface RunningShare {
  worker: Worker;
  answer: Promise<(NearDuplicateMatch<number> | null)[]>;
}

/** Starts one share's worker; `onPlan` gets part 0's plan message, to pass on to the other parts. */
function startShare(workerPath: string, data: NearJoinWorkerData, signal: AbortSignal, onPlan: (message: NearJoinPlanMessage) => void = () => {}): RunningShare {
  const worker = new Worker(workerPath, { workerData: data, resourceLimits: { maxYoungGenerationSizeMb: WORKER_YOUNG_GENERATION_MB } });
  const answer = new Promise<(NearDuplicateMatch<number> | null)[]>((resolve, reject) => {
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
    worker.on('message', (message: NearJoinPlanMessage | NearJoinAnswerMessage) => {
      if (message.kind === 'plan') return onPlan(message);
      const { refs, scores } = message;
      finish(() => resolve(Array.from(refs, (ref, i) => (ref < 0 ? null : { ref, score: scores[i]! }))));
    });
    worker.once('error', (error) => finish(() => reject(error)));
    worker.once('exit', (code) => finish(() => reject(new Error(`near-duplicate join worker exited with code ${code} before answering`))));
    if (signal.aborted) abort();
  });
  return { worker, answer };
}

export function nearJoinRunner(options: NearJoinRunnerOptions = {}): NearJoinRunner {
  const workerPath = options.workerPath ?? path.join(__dirname, 'nearJoinWorker.js');
  const parts = Math.max(1, options.parts ?? Math.min(4, availableParallelism()));
  return async (texts, threshold, signal) => {
    // One failed share stops the others (they would wait for a plan that never comes).
    const stop = new AbortController();
    const stopAll = () => stop.abort();
    signal.addEventListener('abort', stopAll);
    if (signal.aborted) stop.abort();
    const others = Array.from({ length: parts - 1 }, (_, i) => startShare(workerPath, { threshold, part: i + 1, parts }, stop.signal));
    const first = startShare(workerPath, { texts: [...texts], threshold, part: 0, parts }, stop.signal, (plan) => {
      for (const share of others) share.worker.postMessage(plan);
    });
    try {
      return mergeNearestEarlier(await Promise.all([first, ...others].map((share) => share.answer)));
    } finally {
      stop.abort();
      signal.removeEventListener('abort', stopAll);
    }
  };
}
