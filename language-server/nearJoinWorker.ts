// A worker thread running shares of near-duplicate joins (see nearJoin.ts), so that the server's request
// loop never waits for them and the shares use every core. The thread lives on between joins (its code stays
// compiled). In each join the share of part 0 gets the texts and prepares the join for all (tokens,
// elements, lists: most of a share's work when each did it alone), posts that plan in SharedArrayBuffers,
// and the other shares read the same memory.
import { parentPort } from 'node:worker_threads';
import { joinShare, nearestEarlierAbove, prepareJoin, unpackTexts, type JoinPlan, type JoinShare, type NearDuplicateMatch, type PackedTexts } from '../src/core/rouge';

/** A share of one join; part 0's job carries the texts, the others wait for its plan. */
export interface NearJoinJob extends JoinShare {
  kind: 'job';
  threshold: number;
  texts?: PackedTexts;
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

let waiting: NearJoinJob | null = null;
parentPort!.on('message', (message: NearJoinJob | NearJoinPlanMessage) => {
  if (message.kind === 'plan') {
    const { part, parts } = waiting!;
    waiting = null;
    answer(message.plan === null ? new Array<null>(message.count).fill(null) : joinShare(message.plan, { part, parts }));
    return;
  }
  const { texts, threshold, part, parts } = message;
  if (texts === undefined) {
    waiting = message;
    return;
  }
  const plan = prepareJoin(texts, threshold, { shared: true });
  const planMessage: NearJoinPlanMessage = { kind: 'plan', plan, count: texts.offsets.length - 1 };
  parentPort!.postMessage(planMessage);
  // Without a plan every share would compute the same whole answer: part 0 gives it, the others nothing.
  answer(plan === null ? nearestEarlierAbove(unpackTexts(texts), threshold) : joinShare(plan, { part, parts }));
});
