import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  ADVANTAGE_ESTIMATORS,
  computeAdvantages,
  grpoAdvantages,
  reinforcePlusPlusAdvantages,
  rlooAdvantages,
} from '../../src/core/advantages';

const SQRT3 = Math.sqrt(3);

function assertClose(actual: number[][], expected: number[][], tolerance = 1e-9): void {
  assert.equal(actual.length, expected.length, 'group count');
  actual.forEach((group, g) => {
    assert.equal(group.length, expected[g]!.length, `group ${g} length`);
    group.forEach((value, i) => {
      const want = expected[g]![i]!;
      assert.ok(Math.abs(value - want) <= tolerance, `[${g}][${i}]: ${value} is not ${want}`);
    });
  });
}

describe('reinforcePlusPlusAdvantages', () => {
  it('whitens the rewards over the whole batch, across groups', () => {
    // Rewards 1,0,0,1,1,1,1,1: mean 0.75, population variance 0.1875, std sqrt(3)/4.
    assertClose(
      reinforcePlusPlusAdvantages([
        [1, 0, 0, 1],
        [1, 1, 1, 1],
      ]),
      [
        [1 / SQRT3, -SQRT3, -SQRT3, 1 / SQRT3],
        [1 / SQRT3, 1 / SQRT3, 1 / SQRT3, 1 / SQRT3],
      ],
    );
  });

  it('gives an all-equal group a non-zero advantage when the rest of the batch differs (unlike GRPO)', () => {
    const [, allCorrect] = reinforcePlusPlusAdvantages([
      [0, 0],
      [1, 1],
    ]);
    assert.deepEqual(allCorrect, [1, 1]);
  });

  it('weighs responses by token count when given, as OpenRLHF does over tokens', () => {
    // Weights of reward 1: 2+2+1+1+1+1 = 8, of reward 0: 2; mean 0.8, variance 0.16, std 0.4.
    assertClose(
      reinforcePlusPlusAdvantages(
        [
          [1, 0, 0, 1],
          [1, 1, 1, 1],
        ],
        {
          tokenCounts: [
            [2, 1, 1, 2],
            [1, 1, 1, 1],
          ],
        },
      ),
      [
        [0.5, -2, -2, 0.5],
        [0.5, 0.5, 0.5, 0.5],
      ],
    );
  });

  it('returns zeros for a batch of equal rewards and for a single response (variance floored at 1e-8)', () => {
    assert.deepEqual(reinforcePlusPlusAdvantages([[1, 1], [1]]), [[0, 0], [0]]);
    assert.deepEqual(reinforcePlusPlusAdvantages([[0.3]]), [[0]]);
  });

  it('floors the variance at 1e-8, so tiny reward differences are not blown up', () => {
    const [[high, low]] = reinforcePlusPlusAdvantages([[1e-6, 0]]) as [[number, number]];
    // Variance 2.5e-13 < 1e-8: divided by 1e-4 instead of the std 5e-7.
    assert.ok(Math.abs(high - 5e-3) < 1e-12 && Math.abs(low + 5e-3) < 1e-12, `${high}, ${low}`);
  });

  it('has mean 0 and unit variance for any non-constant batch', () => {
    const groups = [
      [0.1, 0.9, 0.4],
      [1, 0],
      [0.25, 0.5, 0.75, 1],
    ];
    const flat = reinforcePlusPlusAdvantages(groups).flat();
    const mean = flat.reduce((a, b) => a + b, 0) / flat.length;
    const variance = flat.reduce((a, b) => a + (b - mean) ** 2, 0) / flat.length;
    assert.ok(Math.abs(mean) < 1e-12);
    assert.ok(Math.abs(variance - 1) < 1e-12);
  });

  it('keeps the input shape and leaves the input untouched', () => {
    const groups = [[1, 0, 1], [], [0]];
    const copy = structuredClone(groups);
    const result = reinforcePlusPlusAdvantages(groups);
    assert.deepEqual(result.map((g) => g.length), [3, 0, 1]);
    assert.deepEqual(groups, copy);
    assert.deepEqual(reinforcePlusPlusAdvantages([]), []);
  });
});

describe('grpoAdvantages', () => {
  it('standardises within each group with the sample standard deviation', () => {
    // [1,0,0,0]: mean 0.25, sample variance 0.25, std 0.5. [1,1,0,0]: mean 0.5, std 1/sqrt(3).
    assertClose(
      grpoAdvantages([
        [1, 0, 0, 0],
        [1, 1, 0, 0],
      ]),
      [
        [1.5, -0.5, -0.5, -0.5],
        [SQRT3 / 2, SQRT3 / 2, -SQRT3 / 2, -SQRT3 / 2],
      ],
      1e-8,
    );
  });

  it('gives 0 to every response of an all-equal group and of a single-response group', () => {
    assert.deepEqual(grpoAdvantages([[1, 1, 1], [0, 0], [1]]), [[0, 0, 0], [0, 0], [0]]);
  });

  it('does not depend on the other groups or on a constant shift of the rewards', () => {
    const alone = grpoAdvantages([[0.2, 0.7, 0.4]]);
    const together = grpoAdvantages([[0.2, 0.7, 0.4], [5, 9]]);
    const shifted = grpoAdvantages([[10.2, 10.7, 10.4]]);
    assertClose([together[0]!], alone, 1e-12);
    assertClose(shifted, alone, 1e-7);
  });
});

describe('rlooAdvantages', () => {
  it('subtracts the mean of the other responses, then whitens over the batch', () => {
    // Shaped: 1 - 0 = 1 and 0 - 1/3 = -1/3 three times; mean 0, population variance 1/3.
    assertClose(rlooAdvantages([[1, 0, 0, 0]]), [[SQRT3, -1 / SQRT3, -1 / SQRT3, -1 / SQRT3]]);
  });

  it('uses a leave-one-out baseline per group, so group offsets do not leak across groups', () => {
    // Both groups shape to [0.5, -0.5] (n/(n-1) * (r - group mean) = 2 * ±0.25).
    assertClose(
      rlooAdvantages([
        [0.75, 0.25],
        [10.75, 10.25],
      ]),
      [
        [1, -1],
        [1, -1],
      ],
    );
  });

  it('equals REINFORCE++ on a single group, since the shaped rewards are n/(n-1)·(r − mean)', () => {
    const group = [[0.9, 0.1, 0.5, 0.3, 0.7]];
    assertClose(rlooAdvantages(group), reinforcePlusPlusAdvantages(group), 1e-12);
  });

  it('gives 0 to a single-response group and to all-equal groups', () => {
    assert.deepEqual(rlooAdvantages([[1], [1, 1]]), [[0], [0, 0]]);
  });

  it('weighs the whitening by token counts when given', () => {
    // Shaped [1, -1] and [0, 0]; weights 3,1,2,2: mean (3 - 1)/8 = 0.25.
    const result = rlooAdvantages(
      [
        [1, 0],
        [1, 1],
      ],
      {
        tokenCounts: [
          [3, 1],
          [2, 2],
        ],
      },
    );
    const variance = (3 * 0.75 ** 2 + 1 * 1.25 ** 2 + 4 * 0.25 ** 2) / 8;
    const scale = 1 / Math.sqrt(variance);
    assertClose(result, [
      [0.75 * scale, -1.25 * scale],
      [-0.25 * scale, -0.25 * scale],
    ]);
  });
});

describe('computeAdvantages', () => {
  it('dispatches every estimator to its function', () => {
    const groups = [
      [1, 0, 1, 1],
      [0, 0, 1, 0],
    ];
    assert.deepEqual(computeAdvantages('reinforce++', groups), reinforcePlusPlusAdvantages(groups));
    assert.deepEqual(computeAdvantages('grpo', groups), grpoAdvantages(groups));
    assert.deepEqual(computeAdvantages('rloo', groups), rlooAdvantages(groups));
    assert.deepEqual([...ADVANTAGE_ESTIMATORS], ['reinforce++', 'grpo', 'rloo']);
  });

  it('rejects rewards that are not finite numbers, naming the position', () => {
    for (const estimator of ADVANTAGE_ESTIMATORS) {
      assert.throws(() => computeAdvantages(estimator, [[1, 0], [Number.NaN]]), /reward \[1\]\[0\]/);
      assert.throws(() => computeAdvantages(estimator, [[Infinity]]), /reward \[0\]\[0\]/);
    }
  });

  it('rejects token counts of the wrong shape or value', () => {
    const groups = [[1, 0], [1]];
    assert.throws(() => reinforcePlusPlusAdvantages(groups, { tokenCounts: [[1, 1]] }), /1 groups, rewards have 2/);
    assert.throws(() => reinforcePlusPlusAdvantages(groups, { tokenCounts: [[1], [1]] }), /tokenCounts\[0\] has 1 entries/);
    assert.throws(() => rlooAdvantages(groups, { tokenCounts: [[1, -2], [1]] }), /tokenCounts\[0\]\[1\]/);
    assert.throws(() => rlooAdvantages(groups, { tokenCounts: [[1, 1.5], [1]] }), /non-negative integer/);
  });

  it('returns zeros when every response has zero tokens', () => {
    assert.deepEqual(reinforcePlusPlusAdvantages([[1, 0]], { tokenCounts: [[0, 0]] }), [[0, 0]]);
  });
});
