// A worker thread running one share of a near-duplicate join (see nearJoin.ts), so that the server's
// request loop never waits for it and the shares use every core.
import { parentPort, workerData } from 'node:worker_threads';
import { nearestEarlierAbove, type JoinShare } from '../src/core/rouge';

export interface NearJoinWorkerData extends JoinShare {
  texts: string[];
  threshold: number;
}

/** The share's answer as typed arrays (transferred, not copied): ref −1 where a text has no match. */
export interface NearJoinWorkerResult {
  refs: Int32Array;
  scores: Float64Array;
}

const { texts, threshold, part, parts } = workerData as NearJoinWorkerData;
const matches = nearestEarlierAbove(texts, threshold, { part, parts });
const refs = new Int32Array(matches.length).fill(-1);
const scores = new Float64Array(matches.length);
matches.forEach((match, i) => {
  if (match === null) return;
  refs[i] = match.ref;
  scores[i] = match.score;
});
const result: NearJoinWorkerResult = { refs, scores };
parentPort!.postMessage(result, [refs.buffer, scores.buffer]);
