import { InvalidArgumentError } from '@arpo/core';

/** One sample's vote: its normalised answer (undefined when nothing could be extracted) and its correctness. */
export interface MajorityVote {
  /** Canonical answer key; samples with equal keys vote together. `undefined` abstains. */
  answer: string | undefined;
  correct: boolean;
}

/** The winning answer of one item. */
export interface MajorityOutcome {
  /** The most frequent answer, or undefined when every sample abstained. */
  answer: string | undefined;
  /** Number of votes it got. */
  votes: number;
  /** Whether the winning answer is correct (false when every sample abstained). */
  correct: boolean;
}

/**
 * Majority vote over one item's samples. Samples without an answer abstain. Ties go to the answer whose first
 * vote came earliest (deterministic, and independent of how answers happen to sort). The winner is correct when
 * any of its voters was scored correct (all voters share the same key, so they normally agree).
 */
export function majorityVote(votes: readonly MajorityVote[]): MajorityOutcome {
  const counts = new Map<string, { votes: number; correct: boolean }>();
  for (const vote of votes) {
    if (vote.answer === undefined) continue;
    const entry = counts.get(vote.answer);
    if (entry === undefined) counts.set(vote.answer, { votes: 1, correct: vote.correct });
    else {
      entry.votes += 1;
      entry.correct ||= vote.correct;
    }
  }
  let best: MajorityOutcome = { answer: undefined, votes: 0, correct: false };
  // Map iteration follows insertion order, i.e. first-vote order, so `>` keeps the earliest on ties.
  for (const [answer, entry] of counts) {
    if (entry.votes > best.votes) best = { answer, votes: entry.votes, correct: entry.correct };
  }
  return best;
}

/** maj@n: the fraction of items whose majority-voted answer is correct. */
export function majorityAtN(votesPerItem: readonly (readonly MajorityVote[])[]): number {
  if (votesPerItem.length === 0) {
    throw new InvalidArgumentError({ argument: 'votesPerItem', message: 'needs at least one item' });
  }
  let correct = 0;
  for (const votes of votesPerItem) if (majorityVote(votes).correct) correct += 1;
  return correct / votesPerItem.length;
}
