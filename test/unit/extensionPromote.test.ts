// "Promote Accepted Items to Seeds" (src/engine/promoteSeeds.ts) on a run written by the real run store:
// accepted items with their answers go into JSONL and JSON seed files, duplicates and vetoed items do not,
// and the result passes the seed validator.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parseRunConfig } from '../../src/core/config';
import type { RunPool } from '../../src/core/pool';
import { parseSeedText } from '../../src/core/seeds';
import { promoteAcceptedItems } from '../../src/engine/promoteSeeds';
import { appendDecision, createRun, replayRun, RunWriter } from '../../src/engine/runStore';

const root = mkdtempSync(join(tmpdir(), 'serl-promote-'));
after(() => rmSync(root, { recursive: true, force: true }));

let pool: RunPool;
let runId: string;

before(async () => {
  const parsed = parseRunConfig({ seeds: join(root, 'seeds.jsonl') }, 'test');
  assert.ok(parsed.ok);
  const paths = await createRun(root, parsed.config);
  runId = paths.runId;
  const writer = await RunWriter.open(root, runId);
  writer.startSession();
  const items: [string, string, string | null][] = [
    ['a', 'Tom has 3 apples and buys 4 more. How many apples now?', '7'],
    ['b', 'Ann has 10 pens and gives away 5. How many pens are left?', '5'],
    ['c', 'Sam reads 2 books a week for 3 weeks. How many books?', null],
    ['d', 'Vetoed: draw a map of the apples please now.', '1'],
    ['e', 'lucy  owned 4 apples. How many does she have?', '4'],
    ['f', 'Never accepted: how many pears are in 2 boxes of 6?', '12'],
  ];
  for (const [id, text, majority] of items) {
    writer.emit({ type: 'item-generated', item_id: id, step: 1, text, origin: { kind: 'self-instruct', prompt_id: 'p', sources: [] } });
    writer.emit({
      type: 'item-voted',
      item_id: id,
      step: 1,
      reward_source: 'majority',
      majority,
      agreement: 0.5,
      groups: majority === null ? [] : [{ answer: majority, count: 1, members: [0] }],
      responses: [{ text: 'x', answer: majority, reward: majority === null ? 0 : 1, tokens: 1, finish_reason: 'stop' }],
      difficulty: { status: 'kept', detail: '' },
    });
  }
  await writer.close();
  for (const id of ['a', 'b', 'c', 'd', 'e']) await appendDecision(paths, { type: 'accept', item_id: id });
  await appendDecision(paths, { type: 'relabel', item_id: 'b', answer: '6' });
  await appendDecision(paths, { type: 'veto', item_id: 'd' });
  pool = (await replayRun(paths)).pool;
});

describe('promoteAcceptedItems', () => {
  it('appends accepted items with their answers to a JSONL file that declares answers, skipping duplicates', async () => {
    const file = join(root, 'answered.seed.jsonl');
    writeFileSync(file, '{"id":"seed-1","problem":"Lucy owned 4 apples.   How many does she have?","answer":"4"}');
    const result = await promoteAcceptedItems(pool, runId, file);
    assert.deepEqual(result, { file, added: ['a', 'b'], duplicates: ['e'], withoutAnswer: ['c'] });
    const lines = readFileSync(file, 'utf8').split('\n');
    assert.equal(lines.at(-1), '', 'the file ends with a newline');
    assert.deepEqual(lines.slice(1, -1).map((line) => JSON.parse(line)), [
      { id: `${runId}/a`, problem: 'Tom has 3 apples and buys 4 more. How many apples now?', answer: '7' },
      { id: `${runId}/b`, problem: 'Ann has 10 pens and gives away 5. How many pens are left?', answer: '6' },
    ]);
    assert.deepEqual(parseSeedText(readFileSync(file, 'utf8'), 'jsonl').problems, []);

    const again = await promoteAcceptedItems(pool, runId, file);
    assert.deepEqual(again.added, [], 'promoting twice adds nothing');
    assert.deepEqual(again.duplicates, ['a', 'b', 'e']);
  });

  it('keeps items without an answer in a file without answers, using its field name', async () => {
    const file = join(root, 'questions.seed.jsonl');
    writeFileSync(file, '{"question":"What is one plus one, written out?"}\n');
    const result = await promoteAcceptedItems(pool, runId, file);
    assert.deepEqual(result.added, ['a', 'b', 'c', 'e']);
    const added = readFileSync(file, 'utf8').trim().split('\n').slice(1).map((line) => JSON.parse(line) as Record<string, string>);
    assert.deepEqual(added[2], { id: `${runId}/c`, question: 'Sam reads 2 books a week for 3 weeks. How many books?' });
    assert.ok(added.every((item) => 'question' in item && !('problem' in item)));
  });

  it('inserts into the array of a .json seed file, keeping its formatting', async () => {
    const file = join(root, 'seeds.json');
    const original = '{\n    "items": [\n        {"problem": "A first seed problem with words.", "answer": "1"}\n    ],\n    "note": "kept"\n}\n';
    writeFileSync(file, original);
    const result = await promoteAcceptedItems(pool, runId, file);
    assert.deepEqual(result.added, ['a', 'b', 'e']);
    const text = readFileSync(file, 'utf8');
    assert.ok(text.startsWith('{\n    "items": [\n        {"problem": "A first seed problem with words.", "answer": "1"},'));
    const document = JSON.parse(text) as { items: { problem: string }[]; note: string };
    assert.equal(document.note, 'kept');
    assert.deepEqual(document.items.map((item) => item.problem.split(' ')[0]), ['A', 'Tom', 'Ann', 'lucy']);
    assert.deepEqual(parseSeedText(text, 'json').problems, []);
  });

  it('creates a new file, and refuses a .json file that is not a seed array', async () => {
    const fresh = join(root, 'new.seed.jsonl');
    assert.deepEqual((await promoteAcceptedItems(pool, runId, fresh)).added, ['a', 'b', 'c', 'e']);
    const broken = join(root, 'broken.json');
    writeFileSync(broken, '{"rows": 3}');
    await assert.rejects(promoteAcceptedItems(pool, runId, broken), /broken\.json:1:1: .*fix the file before adding items to it/);
    assert.equal(readFileSync(broken, 'utf8'), '{"rows": 3}');
  });
});
