import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createRng } from '../../src/core/random';
import { majorityVote, voteOnAnswers } from '../../src/core/vote';

/** A chain-of-thought style response ending in a boxed answer. */
function boxed(answer: string): string {
  return `Let us work through the problem step by step. After simplifying we get $\\boxed{${answer}}$.`;
}

const UNANSWERED = 'I am not sure how to approach this problem, so I will stop here.';

describe('majorityVote', () => {
  it('gives every response reward 1 when all agree', () => {
    const result = majorityVote([boxed('5'), boxed('5'), boxed('5'), boxed('5')]);
    assert.equal(result.majority, '5');
    assert.equal(result.agreement, 1);
    assert.deepEqual(result.rewards, [1, 1, 1, 1]);
    assert.deepEqual(result.groups, [{ answer: '5', count: 4, members: [0, 1, 2, 3] }]);
    assert.deepEqual(result.answers, ['5', '5', '5', '5']);
  });

  it('groups surface variants of one number, keeping the earliest spelling as the answer', () => {
    const result = majorityVote([boxed('\\frac{1}{2}'), boxed('0.5'), boxed('3'), boxed('1/2'), boxed('\\dfrac12'), boxed('3')]);
    assert.equal(result.majority, '\\frac{1}{2}');
    assert.equal(result.agreement, 4 / 6);
    assert.deepEqual(result.rewards, [1, 1, 0, 1, 1, 0]);
    assert.deepEqual(result.groups, [
      { answer: '\\frac{1}{2}', count: 4, members: [0, 1, 3, 4] },
      { answer: '3', count: 2, members: [2, 5] },
    ]);
  });

  it('merges key groups that only the CAS finds equivalent', () => {
    const result = majorityVote([boxed('\\sqrt{8}'), boxed('2\\sqrt{2}'), boxed('3'), boxed('3'), boxed('\\frac{4}{\\sqrt{2}}')]);
    assert.equal(result.majority, '\\sqrt{8}');
    assert.deepEqual(result.groups, [
      { answer: '\\sqrt{8}', count: 3, members: [0, 1, 4] },
      { answer: '3', count: 2, members: [2, 3] },
    ]);
    assert.deepEqual(result.rewards, [1, 1, 0, 0, 1]);
  });

  it('breaks a tie in favour of the group whose first member comes first', () => {
    const ab = majorityVote([boxed('7'), boxed('8'), boxed('8'), boxed('7')]);
    assert.equal(ab.majority, '7');
    assert.deepEqual(ab.rewards, [1, 0, 0, 1]);
    assert.deepEqual(ab.groups.map((group) => group.answer), ['7', '8']);

    const ba = majorityVote([boxed('8'), boxed('7'), boxed('7'), boxed('8')]);
    assert.equal(ba.majority, '8');
    assert.deepEqual(ba.rewards, [1, 0, 0, 1]);
  });

  it('sorts groups by size, then by first appearance', () => {
    const answers = ['1', '2', '3', '2', '4', '3', '3', '5', '4'];
    const result = majorityVote(answers.map(boxed));
    assert.deepEqual(
      result.groups.map((group) => [group.answer, group.count, group.members]),
      [
        ['3', 3, [2, 5, 6]],
        ['2', 2, [1, 3]],
        ['4', 2, [4, 8]],
        ['1', 1, [0]],
        ['5', 1, [7]],
      ],
    );
  });

  it('never lets unanswered responses form the majority, but counts them in n', () => {
    const result = majorityVote([UNANSWERED, UNANSWERED, UNANSWERED, boxed('42')]);
    assert.equal(result.majority, '42');
    assert.equal(result.agreement, 0.25);
    assert.deepEqual(result.rewards, [0, 0, 0, 1]);
    assert.deepEqual(result.groups, [{ answer: '42', count: 1, members: [3] }]);
    assert.deepEqual(result.answers, [null, null, null, '42']);
  });

  it('has no majority when no response has an answer', () => {
    const result = majorityVote([UNANSWERED, '', 'no idea at all, we cannot tell here']);
    assert.equal(result.majority, null);
    assert.equal(result.agreement, 0);
    assert.deepEqual(result.rewards, [0, 0, 0]);
    assert.deepEqual(result.groups, []);
  });

  it('handles an empty list of responses', () => {
    assert.deepEqual(majorityVote([]), { majority: null, agreement: 0, rewards: [], groups: [], answers: [] });
  });

  it('keeps ordered pairs apart from intervals and reversed pairs', () => {
    const result = majorityVote([boxed('(1,2)'), boxed('[1,2]'), boxed('(1, 2)'), boxed('(2,1)'), boxed('\\left(1,2\\right)')]);
    assert.deepEqual(
      result.groups.map((group) => [group.answer, group.members]),
      [
        ['(1,2)', [0, 2, 4]],
        ['[1,2]', [1]],
        ['(2,1)', [3]],
      ],
    );
  });

  it('votes on the answers of realistic responses: boxed, cued and last-number', () => {
    const responses = [
      boxed('\\frac{3}{4}'),
      'The area is three quarters of the square, so the answer is 0.75.',
      'We find $x = \\frac34$.\n\nFinal Answer: The final answer is $\\frac{3}{4}$. I hope it is correct.',
      boxed('\\frac{4}{3}'),
      'Adding everything up, the total comes to 1.25 once we subtract what is left over from 2.',
      boxed('75\\%'),
      UNANSWERED,
      boxed('\\dfrac{3}{4}'),
    ];
    const result = majorityVote(responses);
    assert.deepEqual(result.answers, ['\\frac{3}{4}', '0.75', '\\frac{3}{4}', '\\frac{4}{3}', '2', '75\\%', null, '\\dfrac{3}{4}']);
    assert.equal(result.majority, '\\frac{3}{4}');
    assert.equal(result.agreement, 4 / 8);
    assert.deepEqual(result.rewards, [1, 1, 1, 0, 0, 0, 0, 1]);
  });

  it('runs a 16-response group with 4 distinct answers', () => {
    const answers = ['12', '12', '\\frac{24}{2}', '15', '12.0', '15', '9', '12', '15', '3\\cdot 4', '9', '15', '12', '15', '1', '12'];
    const result = majorityVote(answers.map(boxed));
    assert.equal(result.majority, '12');
    assert.equal(result.agreement, 8 / 16);
    assert.deepEqual(result.groups.map((group) => group.count), [8, 5, 2, 1]);
    assert.deepEqual(result.rewards, [1, 1, 1, 0, 1, 0, 0, 1, 0, 1, 0, 0, 1, 0, 0, 1]);
  });
});

describe('voteOnAnswers', () => {
  it('votes on answers extracted beforehand, null meaning none', () => {
    const result = voteOnAnswers(['x = 2', null, '2', 'y=2', '3', null]);
    assert.equal(result.majority, 'x = 2');
    assert.equal(result.agreement, 3 / 6);
    assert.deepEqual(result.rewards, [1, 0, 1, 1, 0, 0]);
  });

  it('keeps its invariants on random groups: agreement = mean reward, members partition the answered responses', () => {
    const rng = createRng(20250527);
    const pool = ['1', '2', '0.5', '\\frac12', '\\sqrt{4}', '(1,2)', '[1,2]', 'x', null];
    for (let trial = 0; trial < 200; trial++) {
      const answers = Array.from({ length: 1 + rng.int(16) }, () => pool[rng.int(pool.length)]!);
      const result = voteOnAnswers(answers);
      const meanReward = result.rewards.reduce<number>((sum, reward) => sum + reward, 0) / answers.length;
      assert.equal(result.agreement, meanReward);
      const members = result.groups.flatMap((group) => group.members).sort((a, b) => a - b);
      const answered = answers.flatMap((answer, index) => (answer === null ? [] : [index]));
      assert.deepEqual(members, answered);
      for (const group of result.groups) {
        assert.equal(group.count, group.members.length);
        assert.equal(group.answer, answers[group.members[0]!]);
      }
      for (let g = 1; g < result.groups.length; g++) {
        const [previous, current] = [result.groups[g - 1]!, result.groups[g]!];
        assert.ok(previous.count > current.count || (previous.count === current.count && previous.members[0]! < current.members[0]!));
      }
      assert.equal(result.majority, result.groups[0]?.answer ?? null);
    }
  });
});
