// The near-duplicate join split into shares (worker threads in the server): merged shares must answer
// exactly what one join answers, and the worker-thread runner must return that answer.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { nearJoinRunner } from '../../language-server/nearJoin';
import { createRng, type Rng } from '../../src/core/random';
import { mergeNearestEarlier, nearestEarlierAbove, rougeL } from '../../src/core/rouge';

const WORDS = 'apples pears Ava Ben has buys gives more how many are left the a of each 3 7 12'.split(' ');

/** Short texts over a small vocabulary (many pairs above any threshold) and edits of earlier texts. */
function texts(rng: Rng, count: number): string[] {
  const made: string[] = [];
  for (let k = 0; k < count; k++) {
    if (made.length > 0 && rng.next() < 0.4) {
      const words = rng.pick(made).split(' ');
      words[rng.int(words.length)] = rng.pick(WORDS);
      made.push(words.join(' '));
    } else {
      made.push(Array.from({ length: 1 + rng.int(14) }, () => rng.pick(WORDS)).join(' '));
    }
  }
  return made;
}

test('merged shares of a join answer exactly what the whole join answers, which is the brute-force answer', () => {
  const rng = createRng(31);
  for (let round = 0; round < 12; round++) {
    const list = texts(rng, 150);
    const threshold = rng.pick([0, 0.3, 0.5, 0.7, 0.9]);
    const whole = nearestEarlierAbove(list, threshold);
    // Brute force: rougeL of each text against every earlier one, best score, ties to the earliest.
    const brute = list.map((text, i) => {
      let best: { ref: number; score: number } | null = null;
      for (let j = 0; j < i; j++) {
        const score = rougeL(text, list[j]!);
        if (score > threshold && (best === null || score > best.score)) best = { ref: j, score };
      }
      return best;
    });
    assert.deepEqual(whole, brute, `round ${round}, threshold ${threshold}`);
    for (const parts of [2, 3]) {
      const shares = Array.from({ length: parts }, (_, part) => nearestEarlierAbove(list, threshold, { part, parts }));
      assert.deepEqual(mergeNearestEarlier(shares), whole, `round ${round}, threshold ${threshold}, ${parts} shares`);
    }
  }
});

const JOIN_WORKER = path.resolve(__dirname, '../../dist/nearJoinWorker.js');

test('the worker-thread runner returns the join of its texts, and an aborted or failed join rejects', async (t) => {
  if (!existsSync(JOIN_WORKER)) return t.skip(`${JOIN_WORKER} is not built (npm run build)`);
  const list = texts(createRng(5), 400);
  const run = nearJoinRunner({ workerPath: JOIN_WORKER, parts: 2 });
  assert.deepEqual(await run(list, 0.7, new AbortController().signal), nearestEarlierAbove(list, 0.7));
  // Joins without a plan (the first worker answers whole, the others with nothing), three threads.
  const three = nearJoinRunner({ workerPath: JOIN_WORKER, parts: 3 });
  for (const [threshold, subset] of [[-0.5, list.slice(0, 60)], [1, list], [0.7, list.slice(0, 1)], [0.5, list]] as const) {
    assert.deepEqual(await three(subset, threshold, new AbortController().signal), nearestEarlierAbove(subset, threshold), `threshold ${threshold}, ${subset.length} texts`);
  }
  // The first worker fails: the others, waiting for its plan, are stopped and the join rejects with its error.
  await assert.rejects(three(list, Number.NaN, new AbortController().signal), /NaN/);
  // Threads are kept between joins (the loop above reused them); after a failure or an abort new ones start,
  // and two joins at once each get their own.
  const [a, b] = await Promise.all([three(list, 0.7, new AbortController().signal), three(list.slice(100), 0.6, new AbortController().signal)]);
  assert.deepEqual(a, nearestEarlierAbove(list, 0.7));
  assert.deepEqual(b, nearestEarlierAbove(list.slice(100), 0.6));
  assert.deepEqual(await run(list, 0.8, new AbortController().signal), nearestEarlierAbove(list, 0.8));
  const aborted = new AbortController();
  const pending = run(list, 0.7, aborted.signal);
  aborted.abort();
  await assert.rejects(pending, /aborted/);
  // Threads started before the first join (as the server starts them) answer it; idle, they do not keep
  // this process alive (the test file would not end).
  const prestarted = nearJoinRunner({ workerPath: JOIN_WORKER, parts: 2, prestart: true });
  await new Promise((resolve) => setTimeout(resolve, 50));
  assert.deepEqual(await prestarted(list, 0.7, new AbortController().signal), nearestEarlierAbove(list, 0.7));
  // Prestarted threads whose script fails to load: the process goes on, and a join rejects with the failure.
  const broken = nearJoinRunner({ workerPath: path.join(path.dirname(JOIN_WORKER), 'no-such-worker.js'), parts: 2, prestart: true });
  await new Promise((resolve) => setTimeout(resolve, 300));
  await assert.rejects(broken(list, 0.7, new AbortController().signal), /no-such-worker|Cannot find module/);
});
