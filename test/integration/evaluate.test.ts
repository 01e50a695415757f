// Evaluation of the committed arithmetic base model through the real worker, and the warm-up script that
// trains it, run end to end for a couple of steps. Both need /usr/bin/python3 with PyTorch.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { answersEquivalent } from '../../src/core/answers';
import { evaluatePolicy, parseLabelledItems, parseLabelledProblems, readLabelledProblems } from '../../src/engine/evaluate';
import { WorkerClient } from '../../src/engine/worker';
import { learningRate, parseWarmupExamples, runWarmup, type WarmupOptions } from '../../examples/arithmetic/warmup';

const PYTHON = '/usr/bin/python3';
const WORLD = join(__dirname, '..', '..', 'examples', 'arithmetic');
const BASE = join(WORLD, 'base');

const torchProbe = spawnSync(PYTHON, ['-c', 'import torch'], { encoding: 'utf8' });
const torchMissing =
  torchProbe.status !== 0
    ? `PyTorch is not importable by ${PYTHON} (Debian: apt install python3-torch): ` +
      `${(torchProbe.stderr ?? String(torchProbe.error)).trim().split('\n').pop()}`
    : undefined;

const started: WorkerClient[] = [];
const scratch = mkdtempSync(join(tmpdir(), 'serl-evaluate-test-'));

after(async () => {
  await Promise.all(started.map((worker) => worker.dispose()));
  for (const worker of started) {
    assert.throws(() => process.kill(worker.pid!, 0), `worker pid ${worker.pid} still running`);
  }
  rmSync(scratch, { recursive: true, force: true });
});

describe('labelled sets', () => {
  it('reads test.jsonl and validation.jsonl: 500 problems each with ids, texts and answers', async () => {
    for (const file of ['test.jsonl', 'validation.jsonl']) {
      const problems = await readLabelledProblems(join(WORLD, file));
      assert.equal(problems.length, 500);
      assert.deepEqual(Object.keys(problems[0]!), ['id', 'problem', 'answer']);
    }
  });

  it('reads seed-format sets with the one seed parser: ids, lines, optional answers', () => {
    const text = ['{"id":"a","problem":"Ann has 2 eggs. How many?","answer":"2"}', '', '{"question":"Bo has 3 eggs. How many?","answer":3}', '{"instruction":"Cy has 4 eggs."}'].join('\n');
    assert.deepEqual(parseLabelledItems(text, 'set.jsonl'), [
      { id: 'a', line: 1, problem: 'Ann has 2 eggs. How many?', answer: '2' },
      { id: 'line 3', line: 3, problem: 'Bo has 3 eggs. How many?', answer: '3' },
      { id: 'line 4', line: 4, problem: 'Cy has 4 eggs.', answer: null },
    ]);
  });

  it('names every bad line and refuses the set rather than scoring a part of it', () => {
    const text = ['{"id":"a","problem":"Ann has 2 eggs. How many?","answer":"2"}', 'not json', '{"id":"c","answer":"4"}'].join('\n');
    assert.throws(
      () => parseLabelledProblems(text, 'set.jsonl'),
      (error: Error) => {
        assert.match(error.message, /^set\.jsonl:2:1: /);
        assert.match(error.message, /\nset\.jsonl:3:1: /);
        return true;
      },
    );
    const unanswered = ['{"problem":"Ann has 2 eggs. How many?","answer":"2"}', '{"problem":"Bo has 3 eggs. How many?"}'].join('\n');
    assert.throws(() => parseLabelledProblems(unanswered, 'set.jsonl'), { message: 'set.jsonl:2: answer: required to score the item' });
    assert.throws(() => parseLabelledProblems('\n', 'empty.jsonl'), /empty\.jsonl: no items/);
  });

  it('parses the warm-up data and names a bad line', () => {
    const examples = parseWarmupExamples(readFileSync(join(WORLD, 'warmup.jsonl'), 'utf8'), 'warmup.jsonl');
    assert.equal(examples.length, 4000);
    assert.throws(
      () => parseWarmupExamples('{"id":"x","kind":"solve","prompt":"p"}\n', 'w.jsonl'),
      /w\.jsonl:1: completion: /,
    );
  });

  it('warms the learning rate up, then decays it to a tenth', () => {
    assert.ok(learningRate(0, 100, 1e-3) < learningRate(4, 100, 1e-3));
    assert.equal(learningRate(4, 100, 1e-3), 1e-3);
    assert.ok(Math.abs(learningRate(99, 100, 1e-3) - 1e-4) < 1e-6);
    assert.ok(learningRate(50, 100, 1e-3) < learningRate(20, 100, 1e-3));
  });
});

describe('evaluating the committed base model with the real worker', { skip: torchMissing }, () => {
  it('scores a slice of test.jsonl sanely, with deterministic greedy decoding and seeded sampling', async () => {
    const worker = await WorkerClient.start({ python: PYTHON, env: { SERL_WORKER_THREADS: '1', OMP_NUM_THREADS: '1' } });
    started.push(worker);
    const info = await worker.initialize({ model: { kind: 'tiny', path: BASE }, device: 'cpu', seed: 0, optimizer: { lr: 1e-4 } });
    assert.equal(info.max_context, 320);

    const problems = (await readLabelledProblems(join(WORLD, 'test.jsonl'))).slice(0, 32);
    const progress: [number, number][] = [];
    const options = { samples: 4, seed: 5, sequencesPerCall: 64, onProgress: (done: number, total: number) => progress.push([done, total]) };
    const first = await evaluatePolicy(worker, problems, options);
    assert.equal(first.n, 32);
    assert.equal(first.k, 4);
    assert.deepEqual(progress.at(-1), [32 * 5, 32 * 5]);

    // The verdicts agree with the labels and the figures with the verdicts.
    for (const [index, item] of first.items.entries()) {
      assert.equal(item.id, problems[index]!.id);
      assert.equal(item.samples.length, 4);
      for (const verdict of [item.greedy, ...item.samples]) {
        assert.equal(verdict.correct, verdict.answer !== null && answersEquivalent(verdict.answer, item.label));
        assert.ok(!verdict.text.includes('\n'), 'the stop string ends every response');
      }
      assert.equal(item.majority_correct, item.majority !== null && answersEquivalent(item.majority, item.label));
    }
    const share = (count: number, of: number) => count / of;
    assert.equal(first.greedy_pass1, share(first.items.filter((item) => item.greedy.correct).length, 32));
    assert.equal(first.sampled_pass1, share(first.items.flatMap((item) => item.samples).filter((s) => s.correct).length, 128));
    assert.equal(first.maj_at_k, share(first.items.filter((item) => item.majority_correct).length, 32));

    // The warm-up taught the format: greedy responses end the sequence and carry an answer.
    // (No accuracy floor here: accuracy is the benchmark's to measure; see examples/arithmetic/README.md.)
    const ended = first.items.filter((item) => item.greedy.finish_reason === 'eos').length;
    const answered = first.items.filter((item) => item.greedy.answer !== null).length;
    assert.ok(ended >= 29 && answered >= 29, `of 32 greedy responses ${ended} ended, ${answered} have an answer`);
    for (const figure of [first.greedy_pass1, first.sampled_pass1, first.maj_at_k, first.mean_agreement]) {
      assert.ok(figure >= 0 && figure <= 1, `${figure}`);
    }

    const again = await evaluatePolicy(worker, problems, { samples: 4, seed: 5, sequencesPerCall: 64 });
    assert.deepEqual(again.items.map((item) => item.greedy.text), first.items.map((item) => item.greedy.text));
    assert.deepEqual(again, first);

    // The seed reaches the sampler: another seed gives other samples (few problems keep this cheap).
    const few = problems.slice(0, 4);
    const sampledTexts = async (seed: number) =>
      (await evaluatePolicy(worker, few, { samples: 4, seed })).items.map((item) => item.samples.map((sample) => sample.text));
    assert.deepEqual(await sampledTexts(5), await sampledTexts(5));
    assert.notDeepEqual(await sampledTexts(6), await sampledTexts(5));
  });
});

describe('the warm-up script', { skip: torchMissing }, () => {
  const options = (out: string, validate: number): WarmupOptions => ({
    out,
    data: join(WORLD, 'warmup.jsonl'),
    steps: 2,
    batch: 4,
    lr: 1e-3,
    seed: 3,
    python: PYTHON,
    threads: 1,
    validate,
  });

  it('trains a few steps into a weights-only model directory that the worker loads, reproducibly', async () => {
    const logs: string[] = [];
    const first = await runWarmup(options(join(scratch, 'base-a'), 2), (line) => logs.push(line));
    assert.equal(first.steps, 2);
    assert.ok(Number.isFinite(first.finalLoss) && first.finalLoss > 0);
    assert.equal(first.validation?.n, 2);
    assert.ok(logs.some((line) => /^step 2\/2 {2}loss \d/.test(line)), logs.join('\n'));
    assert.deepEqual(readdirSync(join(scratch, 'base-a')).sort(), ['config.json', 'model.pt', 'tokenizer.json', 'warmup.json']);
    const manifest = JSON.parse(readFileSync(join(scratch, 'base-a', 'warmup.json'), 'utf8')) as Record<string, unknown>;
    assert.equal(manifest.steps, 2);
    assert.equal(manifest.seed, 3);
    // No staging directory is left beside the output.
    assert.deepEqual(readdirSync(scratch).filter((name) => name.startsWith('.')), []);

    await runWarmup(options(join(scratch, 'base-b'), 0), () => {});
    assert.ok(
      readFileSync(join(scratch, 'base-a', 'model.pt')).equals(readFileSync(join(scratch, 'base-b', 'model.pt'))),
      'the same options give the same weights',
    );

    const worker = await WorkerClient.start({ python: PYTHON, env: { SERL_WORKER_THREADS: '1' } });
    started.push(worker);
    const info = await worker.initialize({
      model: { kind: 'tiny', path: join(scratch, 'base-a') },
      device: 'cpu',
      seed: 0,
      optimizer: { lr: 1e-4 },
    });
    assert.equal(info.max_context, 320);
    assert.ok(!existsSync(join(scratch, 'base-a', 'trainer_state.pt')));
  });
});
