// Near-duplicate joins in worker threads: the join of a large workspace takes seconds to minutes, so the
// server publishes every other finding first and keeps answering requests while the join runs, split over
// the cores (each worker scores a disjoint share of the pairs; see JoinShare in src/core/rouge.ts), all
// reading one plan of the join that the first worker prepares (see nearJoinWorker.ts).
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { mergeNearestEarlier, packTexts, type NearDuplicateMatch } from '../src/core/rouge';
import type { NearJoinAnswerMessage, NearJoinJob, NearJoinPlanMessage } from './nearJoinWorker';
import type { NearJoinRunner } from './workspace';

export interface NearJoinRunnerOptions {
  /** The built worker script (default: nearJoinWorker.js beside this bundle, i.e. dist/). */
  workerPath?: string;
  /** Worker threads per join (default: the available cores, at most 4). */
  parts?: number;
  /**
   * Starts the threads now, idle, rather than with the first join (two threads take ~0.25 s to start, which
   * the first join would wait for): the server starts its runner when it starts.
   */
  prestart?: boolean;
}

/** Posts one share's job to `worker`; `onPlan` gets part 0's plan message, to pass on to the other parts. */
function runShare(worker: Worker, job: NearJoinJob, signal: AbortSignal, onPlan: (message: NearJoinPlanMessage) => void = () => {}): Promise<(NearDuplicateMatch<number> | null)[]> {
  return new Promise((resolve, reject) => {
    const finish = (outcome: () => void) => {
      signal.removeEventListener('abort', abort);
      worker.off('message', onMessage).off('error', onError).off('exit', onExit);
      outcome();
    };
    const abort = () => finish(() => reject(new Error('near-duplicate join aborted')));
    const onMessage = (message: NearJoinPlanMessage | NearJoinAnswerMessage) => {
      if (message.kind === 'plan') return onPlan(message);
      const { refs, scores } = message;
      finish(() => resolve(Array.from(refs, (ref, i) => (ref < 0 ? null : { ref, score: scores[i]! }))));
    };
    const onError = (error: Error) => finish(() => reject(error));
    const onExit = (code: number) => finish(() => reject(new Error(`near-duplicate join worker exited with code ${code} before answering`)));
    if (signal.aborted) return abort();
    signal.addEventListener('abort', abort);
    worker.on('message', onMessage).on('error', onError).on('exit', onExit);
    worker.postMessage(job);
  });
}

/**
 * Runs joins in `parts` worker threads kept between joins: two fresh threads take ~0.25 s to start and run
 * their first join's code cold. Idle threads do not keep the process alive; an aborted or
 * failed join terminates its threads (a share cannot be interrupted otherwise), and the next join starts
 * new ones. A join called while another runs gets threads of its own.
 */
export function nearJoinRunner(options: NearJoinRunnerOptions = {}): NearJoinRunner {
  const workerPath = options.workerPath ?? path.join(__dirname, 'nearJoinWorker.js');
  const parts = Math.max(1, options.parts ?? Math.min(4, availableParallelism()));
  let idle: Worker[] | null = null;
  const start = (): Worker[] => {
    // The worker is one bundle: the parent's loader flags (tsx in tests and benchmarks) would only slow its start (~0.5 s).
    const workers = Array.from({ length: parts }, () => new Worker(workerPath, { execArgv: [] }));
    // A thread that dies while idle takes its set with it: the next join would wait for it forever. Its error
    // (a prestarted thread that fails to load its script) needs a listener, or it would end the process; the
    // exit that follows is what counts, and the next join starts new threads and reports their failure.
    for (const worker of workers) {
      worker.on('error', () => {});
      worker.once('exit', () => {
        if (idle !== workers) return;
        idle = null;
        for (const other of workers) void other.terminate();
      });
      worker.unref();
    }
    return workers;
  };
  if (options.prestart) idle = start();
  return async (texts, threshold, signal) => {
    const workers = idle ?? start();
    idle = null;
    for (const worker of workers) worker.ref();
    // One failed share stops the others (they would wait for a plan that never comes).
    const stop = new AbortController();
    const stopAll = () => stop.abort();
    signal.addEventListener('abort', stopAll);
    if (signal.aborted) stop.abort();
    const [first, ...others] = workers;
    try {
      const shares = await Promise.all([
        runShare(first!, { kind: 'job', texts: packTexts(texts), threshold, part: 0, parts }, stop.signal, (plan) => {
          for (const worker of others) worker.postMessage(plan);
        }),
        ...others.map((worker, i) => runShare(worker, { kind: 'job', threshold, part: i + 1, parts }, stop.signal)),
      ]);
      if (idle === null) {
        for (const worker of workers) worker.unref();
        idle = workers;
      } else {
        for (const worker of workers) void worker.terminate();
      }
      return mergeNearestEarlier(shares);
    } catch (error) {
      stop.abort();
      for (const worker of workers) void worker.terminate();
      throw error;
    } finally {
      signal.removeEventListener('abort', stopAll);
    }
  };
}
