// The ONNX backend's per-token choices against exact distributions: greedy, presence penalty, temperature,
// top-p (the worker's rule: the smallest set of most likely tokens reaching top_p), and when a row is done.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createRng } from '../../src/core/random';
import { chooseToken, finishRow, type RowSettings } from '../../src/engine/backends/onnx/decoding';

const GREEDY: RowSettings = { temperature: 0, topP: 1, presencePenalty: 0 };
const NONE = new Set<number>();

/** Sampled frequency of each token over `draws` choices. */
function frequencies(logits: number[], settings: RowSettings, draws: number, seen = NONE): number[] {
  const rng = createRng(11);
  const counts = logits.map(() => 0);
  const input = Float32Array.from(logits);
  for (let i = 0; i < draws; i++) counts[chooseToken(input, settings, seen, rng)]!++;
  return counts.map((count) => count / draws);
}

function softmax(logits: number[], temperature: number): number[] {
  const top = Math.max(...logits);
  const weights = logits.map((value) => Math.exp((value - top) / temperature));
  const total = weights.reduce((a, b) => a + b, 0);
  return weights.map((weight) => weight / total);
}

function assertClose(actual: number[], expected: number[], tolerance: number): void {
  actual.forEach((value, i) => assert.ok(Math.abs(value - expected[i]!) <= tolerance, `token ${i}: ${value} vs ${expected[i]}`));
}

describe('chooseToken', () => {
  it('greedy takes the first maximum and uses no randomness', () => {
    const rng = createRng(1);
    const before = rng.state();
    assert.equal(chooseToken(Float32Array.from([0.5, 2, 2, -1]), GREEDY, NONE, rng), 1);
    assert.deepEqual(rng.state(), before);
  });

  it('the presence penalty subtracts once from every token already in the response', () => {
    const logits = Float32Array.from([3, 2.5, 0]);
    const penalised = { ...GREEDY, presencePenalty: 1 };
    assert.equal(chooseToken(logits, penalised, new Set([0]), createRng(1)), 1);
    assert.equal(chooseToken(logits, penalised, new Set([0, 1]), createRng(1)), 0);
    assert.equal(chooseToken(logits, GREEDY, new Set([0]), createRng(1)), 0);
    // A negative penalty favours repeats.
    assert.equal(chooseToken(logits, { ...GREEDY, presencePenalty: -1 }, new Set([1]), createRng(1)), 1);
  });

  it('samples softmax(logits / temperature)', () => {
    const logits = [1, 0.2, -0.5, 2, 0];
    for (const temperature of [1, 0.5, 2]) {
      assertClose(frequencies(logits, { temperature, topP: 1, presencePenalty: 0 }, 40_000), softmax(logits, temperature), 0.012);
    }
  });

  it('top-p keeps the smallest set of most likely tokens whose mass reaches top_p, renormalised', () => {
    const logits = [0.5, 0.3, 0.15, 0.05].map(Math.log);
    // 0.5 + 0.3 reaches 0.8: tokens 2 and 3 are out.
    assertClose(frequencies(logits, { temperature: 1, topP: 0.8, presencePenalty: 0 }, 40_000), [0.625, 0.375, 0, 0], 0.012);
    // 0.81 needs the third token too.
    assertClose(frequencies(logits, { temperature: 1, topP: 0.81, presencePenalty: 0 }, 40_000), [0.5 / 0.95, 0.3 / 0.95, 0.15 / 0.95, 0], 0.012);
    // The most likely token is always kept.
    assert.deepEqual(frequencies(logits, { temperature: 1, topP: 0.1, presencePenalty: 0 }, 500), [1, 0, 0, 0]);
  });

  it('equal seeds give equal choices', () => {
    const logits = Float32Array.from([0, 0, 0, 0, 0, 0]);
    const settings = { temperature: 1, topP: 1, presencePenalty: 0 };
    const draw = (seed: number) => {
      const rng = createRng(seed);
      return Array.from({ length: 50 }, () => chooseToken(logits, settings, NONE, rng));
    };
    assert.deepEqual(draw(5), draw(5));
    assert.notDeepEqual(draw(5), draw(6));
  });
});

describe('finishRow', () => {
  const chars = 'abc;= #';
  const decode = (ids: readonly number[]) => ids.map((id) => chars[id] ?? '').join('');
  const EOS = new Set([9]);
  const ids = (text: string) => [...text].map((ch) => chars.indexOf(ch));

  it('ends at the eos token, without it', () => {
    assert.deepEqual(finishRow([...ids('ab'), 9], EOS, [], 10, decode), { text: 'ab', finishReason: 'eos' });
  });

  it('ends at the earliest stop string, cutting it and what follows', () => {
    assert.equal(finishRow(ids('ab;'), EOS, ['=', 'c'], 10, decode), null);
    assert.deepEqual(finishRow(ids('ab;c=a'), EOS, ['=', 'b;'], 10, decode), { text: 'a', finishReason: 'stop' });
    // A stop string completed by several tokens.
    assert.deepEqual(finishRow(ids('a #'), EOS, [' #'], 10, decode), { text: 'a', finishReason: 'stop' });
  });

  it('ends at the token limit; eos wins over the limit', () => {
    assert.equal(finishRow(ids('abc'), EOS, [], 4, decode), null);
    assert.deepEqual(finishRow(ids('abca'), EOS, [], 4, decode), { text: 'abca', finishReason: 'length' });
    assert.deepEqual(finishRow([...ids('abc'), 9], EOS, [], 4, decode), { text: 'abc', finishReason: 'eos' });
  });
});
