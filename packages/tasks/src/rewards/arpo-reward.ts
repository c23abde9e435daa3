import type { Reward, RewardFunction, RewardInput } from '@arpo/core';
import { extractFinalAnswer } from '../answers/boxed.js';
import { bestOver, exactMatch, tokenF1 } from '../answers/squad-normalize.js';
import { checkArpoFormat } from './arpo-format.js';

/** A reward function that scores synchronously (all built-in rewards do). */
export interface SyncRewardFunction extends RewardFunction {
  compute(input: RewardInput): Reward;
}

export interface ArpoRewardOptions {
  /** Reward for any format or tag-order error. Default -1. */
  formatPenalty?: number;
  /** Bonus when both search and python were used. Default 0.1. */
  multiToolBonus?: number;
  /**
   * When the bonus applies: `correct` (the answer matches a reference exactly after normalisation; the
   * issue's and paper's wording, the default) or `f1-positive` (any token overlap).
   */
  multiToolBonusWhen?: 'correct' | 'f1-positive';
  /** The tool tags the format check knows. Default ['search', 'python']. */
  tools?: readonly string[];
}

/**
 * The reference ARPO reward: -1 on any format or tag-order error; otherwise token F1 (SQuAD normalisation)
 * of the boxed answer against the best-matching reference, plus 0.1 when the answer is right and both the
 * search and the python tool were used.
 */
export function createArpoReward(options: ArpoRewardOptions = {}): SyncRewardFunction {
  const formatPenalty = options.formatPenalty ?? -1;
  const bonus = options.multiToolBonus ?? 0.1;
  const bonusWhen = options.multiToolBonusWhen ?? 'correct';
  const tools = options.tools ?? ['search', 'python'];
  return {
    name: 'arpo',
    compute({ task, responseText }: RewardInput): Reward {
      const format = checkArpoFormat(responseText, tools);
      if (!format.valid)
        return { total: formatPenalty, components: { format: formatPenalty, f1: 0, bonus: 0 } };
      const answer = extractFinalAnswer(responseText) ?? '';
      const f1 = bestOver(task.references, (reference) => tokenF1(answer, reference));
      const correct = bestOver(task.references, (reference) => (exactMatch(answer, reference) ? 1 : 0)) === 1;
      const usedBoth = responseText.includes('</search>') && responseText.includes('</python>');
      const earned = usedBoth && (bonusWhen === 'correct' ? correct : f1 > 0) ? bonus : 0;
      return { total: f1 + earned, components: { format: 0, f1, bonus: earned, correct: correct ? 1 : 0 } };
    },
  };
}

/** 1 when the final boxed answer matches a reference exactly after SQuAD normalisation, else 0. */
export function createExactMatchReward(): SyncRewardFunction {
  return {
    name: 'exact-match',
    compute({ task, responseText }: RewardInput): Reward {
      const answer = extractFinalAnswer(responseText);
      const correct =
        answer !== undefined && task.references.some((reference) => exactMatch(answer, reference)) ? 1 : 0;
      return { total: correct, components: { correct } };
    },
  };
}
