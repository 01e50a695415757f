// SeRL's self-reward: a majority vote over the n responses sampled for one instruction.
//
// Answers are grouped by their cheap canonical key first (answers.ts), so equal spellings never reach
// the CAS; then whole key groups are merged when their representatives are equivalent, which costs
// one comparison per pair of distinct keys rather than per pair of responses.
//
// Tie-break: among groups of equal size, the one whose first member comes earliest wins (and is
// listed first). Responses without an extractable answer belong to no group, never form the
// majority and get reward 0, but still count in n.
import { answerKey, answersEquivalent, extractAnswer } from './answers';

export interface VoteGroup {
  /** The representative's extracted answer: the text of the group's earliest member. */
  answer: string;
  count: number;
  /** Indices of the responses in this group, ascending. */
  members: number[];
}

export interface VoteResult {
  /** The majority group's answer; null when no response has an extractable answer. */
  majority: string | null;
  /** Majority group size / number of responses (0 when there is no majority). */
  agreement: number;
  /** 1 for each response in the majority group, else 0. */
  rewards: (0 | 1)[];
  /** Largest first; ties in order of first appearance. */
  groups: VoteGroup[];
  /** Each response's extracted answer (null when none). */
  answers: (string | null)[];
}

export function majorityVote(responses: string[]): VoteResult {
  return voteOnAnswers(responses.map(extractAnswer));
}

/** The vote's majority is equivalent to the known answer (no majority: not). */
export function majorityMatches(vote: VoteResult, answer: string): boolean {
  return vote.majority !== null && answersEquivalent(vote.majority, answer);
}

interface AnswerGroup {
  answer: string;
  members: number[];
}

/** The vote over answers already extracted (null: the response had none). */
export function voteOnAnswers(answers: (string | null)[]): VoteResult {
  const keyGroups = new Map<string, AnswerGroup>();
  answers.forEach((answer, index) => {
    if (answer === null) return;
    const key = answerKey(answer);
    const group = keyGroups.get(key);
    if (group) group.members.push(index);
    else keyGroups.set(key, { answer, members: [index] });
  });

  // Key groups arrive in order of first appearance, so each class's representative is its earliest member.
  const classes: AnswerGroup[] = [];
  for (const group of keyGroups.values()) {
    const target = classes.find((candidate) => answersEquivalent(candidate.answer, group.answer));
    if (target) target.members.push(...group.members);
    else classes.push(group);
  }
  const groups: VoteGroup[] = classes.map(({ answer, members }) => ({ answer, count: members.length, members: members.sort((a, b) => a - b) }));
  // Array.prototype.sort is stable: equal counts keep first-appearance order.
  groups.sort((a, b) => b.count - a.count);

  const majority = groups[0];
  const rewards = answers.map((): 0 | 1 => 0);
  for (const index of majority?.members ?? []) rewards[index] = 1;
  return {
    majority: majority?.answer ?? null,
    agreement: majority ? majority.count / answers.length : 0,
    rewards,
    groups,
    answers,
  };
}
