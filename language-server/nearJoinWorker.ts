// A worker thread running one share of a near-duplicate join (see nearJoin.ts), so that the server's
// request loop never waits for it and the shares use every core. The share of part 0 gets the texts and
// prepares the join for all (tokens, elements, lists: most of a share's work when each did it alone), posts
// that plan in SharedArrayBuffers, and the other shares read the same memory.
import { parentPort, workerData } from 'node:worker_threads';
import { joinShare, nearestEarlierAbove, prepareJoin, type JoinPlan, type JoinShare, type NearDuplicateMatch } from '../src/core/rouge';

export interface NearJoinWorkerData extends JoinShare {
  threshold: number;
  /** Given to part 0 only; the other parts wait for its plan. */
  texts?: string[];
}

/** From part 0 to the others (through the main thread): null when nearestEarlierAbove answers without a plan. */
export interface NearJoinPlanMessage {
  kind: 'plan';
  plan: JoinPlan | null;
  count: number;
}

/** The share's answer as typed arrays (transferred, not copied): ref −1 where a text has no match. */
export interface NearJoinAnswerMessage {
  kind: 'answer';
  refs: Int32Array;
  scores: Float64Array;
}

function answer(matches: readonly (NearDuplicateMatch<number> | null)[]): void {
  const refs = new Int32Array(matches.length).fill(-1);
  const scores = new Float64Array(matches.length);
  matches.forEach((match, i) => {
    if (match === null) return;
    refs[i] = match.ref;
    scores[i] = match.score;
  });
  const message: NearJoinAnswerMessage = { kind: 'answer', refs, scores };
  parentPort!.postMessage(message, [refs.buffer, scores.buffer]);
}

const { texts, threshold, part, parts } = workerData as NearJoinWorkerData;
if (texts !== undefined) {
  const plan = prepareJoin(texts, threshold, { shared: true });
  const message: NearJoinPlanMessage = { kind: 'plan', plan, count: texts.length };
  parentPort!.postMessage(message);
  // Without a plan every share would compute the same whole answer: part 0 gives it, the others nothing.
  answer(plan === null ? nearestEarlierAbove(texts, threshold) : joinShare(plan, { part, parts }));
} else {
  parentPort!.once('message', ({ plan, count }: NearJoinPlanMessage) => {
    answer(plan === null ? new Array<null>(count).fill(null) : joinShare(plan, { part, parts }));
  });
}
