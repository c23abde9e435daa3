import { InvalidArgumentError, type Random } from '@arpo/core';
import { selectTopIndices } from './top-selection.js';

/** Sampling settings of one row, already validated and defaulted (see `resolveSamplingOptions`). */
export interface RowSamplingSettings {
  /** 0 = greedy. */
  temperature: number;
  /** 0 = off. */
  topK: number;
  /** 1 = off. */
  topP: number;
  /** How many top alternatives to report; 0 = none. */
  topLogprobs: number;
}

/** What sampling one row produced. */
export interface SampledToken {
  tokenId: number;
  /** Log-probability of `tokenId` under the temperature-scaled, untruncated distribution. */
  logprob: number;
  /** Entropy (nats) of the temperature-scaled, untruncated distribution. */
  entropy: number;
  /** Present when `topLogprobs > 0`: the most likely ids (descending) and their logprobs (same distribution). */
  top?: { tokenIds: Int32Array; logprobs: Float32Array };
}

const firstNucleusCandidates = 64;

/**
 * Samples next tokens from rows of logits and measures them exactly.
 *
 * Statistics are computed over the full vocabulary of the temperature-scaled distribution `softmax(z / T)` with a
 * numerically stable log-sum-exp in float64: `logprob = z_k/T − logsumexp(z/T)` and
 * `entropy = logsumexp(z/T) − Σ p_i z_i/T`. They ignore top-k/top-p truncation (the contract of
 * `GeneratedSequence.logprobs`): truncation only restricts which token is drawn. With `temperature` 0 (greedy)
 * the statistics are those of the untempered distribution (T = 1).
 *
 * One sampler per vocabulary size; it owns reusable buffers, so sampling a token allocates nothing per vocabulary
 * entry. Not safe to share between concurrent loops.
 */
export class LogitsSampler {
  readonly vocabularySize: number;
  /** exp(z_i/T − max): unnormalised probabilities of the current row. */
  private readonly weights: Float64Array;
  private candidates: Int32Array;

  constructor(options: { vocabularySize: number }) {
    if (!Number.isInteger(options.vocabularySize) || options.vocabularySize <= 0) {
      throw new InvalidArgumentError({
        argument: 'vocabularySize',
        message: `must be a positive integer, got ${options.vocabularySize}`,
      });
    }
    this.vocabularySize = options.vocabularySize;
    this.weights = new Float64Array(options.vocabularySize);
    this.candidates = new Int32Array(Math.min(firstNucleusCandidates, options.vocabularySize));
  }

  /**
   * Samples one token from `logits[offset, offset + vocabularySize)`. `random` may be omitted for greedy rows.
   * Throws `InvalidArgumentError` when the row has no finite logit.
   */
  sample(
    logits: Float32Array,
    offset: number,
    settings: RowSamplingSettings,
    random: Random | undefined,
    scoring?: { inverseTemperature: number; tokenId: number },
  ): SampledToken {
    const vocabularySize = this.vocabularySize;
    const weights = this.weights;
    const greedy = settings.temperature === 0;
    const inverseTemperature = scoring?.inverseTemperature ?? (greedy ? 1 : 1 / settings.temperature);

    let maximum = Number.NEGATIVE_INFINITY;
    let argmax = -1;
    for (let index = 0; index < vocabularySize; index++) {
      const value = logits[offset + index] as number;
      if (value > maximum) {
        maximum = value;
        argmax = index;
      }
    }
    if (argmax < 0 || maximum === Number.POSITIVE_INFINITY) {
      throw new InvalidArgumentError({
        argument: 'logits',
        message: `row at offset ${offset} has no finite maximum (all -Infinity/NaN, or +Infinity)`,
      });
    }
    const scaledMaximum = maximum * inverseTemperature;
    let sum = 0;
    let weightedShift = 0;
    for (let index = 0; index < vocabularySize; index++) {
      const shifted = (logits[offset + index] as number) * inverseTemperature - scaledMaximum;
      // -Infinity (masked) and NaN logits carry no mass; 0 · -Infinity would poison the entropy sum.
      if (!(shifted > Number.NEGATIVE_INFINITY)) {
        weights[index] = 0;
        continue;
      }
      const weight = Math.exp(shifted);
      weights[index] = weight;
      sum += weight;
      weightedShift += weight * shifted;
    }
    const logSum = Math.log(sum);
    const entropy = Math.max(0, logSum - weightedShift / sum);

    let tokenId: number;
    if (scoring !== undefined) tokenId = scoring.tokenId;
    else if (greedy) tokenId = argmax;
    else {
      if (random === undefined) {
        throw new InvalidArgumentError({ argument: 'random', message: 'required when temperature > 0' });
      }
      tokenId = this.draw(logits, offset, settings, random, sum);
    }
    const logprob = (logits[offset + tokenId] as number) * inverseTemperature - scaledMaximum - logSum;
    const sampled: SampledToken = { tokenId, logprob, entropy };
    if (settings.topLogprobs > 0) {
      const count = Math.min(settings.topLogprobs, vocabularySize);
      const tokenIds = new Int32Array(count);
      selectTopIndices(logits, offset, vocabularySize, count, tokenIds);
      const logprobs = new Float32Array(count);
      for (let rank = 0; rank < count; rank++) {
        logprobs[rank] =
          (logits[offset + (tokenIds[rank] as number)] as number) * inverseTemperature - scaledMaximum - logSum;
      }
      sampled.top = { tokenIds, logprobs };
    }
    return sampled;
  }

  /**
   * Logprob of `tokenId` and the entropy of `softmax(logits_row / temperature)` (temperature 0 is treated as 1),
   * without sampling: what `scoreTokens` reports.
   */
  measure(
    logits: Float32Array,
    offset: number,
    tokenId: number,
    temperature: number,
  ): { logprob: number; entropy: number } {
    const sampled = this.sample(logits, offset, { temperature: 0, topK: 0, topP: 1, topLogprobs: 0 }, undefined, {
      inverseTemperature: temperature > 0 ? 1 / temperature : 1,
      tokenId,
    });
    return { logprob: sampled.logprob, entropy: sampled.entropy };
  }

  private draw(
    logits: Float32Array,
    offset: number,
    settings: RowSamplingSettings,
    random: Random,
    sum: number,
  ): number {
    const vocabularySize = this.vocabularySize;
    const weights = this.weights;
    const topK = settings.topK > 0 && settings.topK < vocabularySize ? settings.topK : 0;
    const topP = settings.topP;
    if (topK === 0 && topP >= 1) {
      // Inverse CDF over the whole vocabulary.
      const target = random.next() * sum;
      let cumulative = 0;
      let last = 0;
      for (let index = 0; index < vocabularySize; index++) {
        const weight = weights[index] as number;
        if (weight === 0) continue;
        cumulative += weight;
        last = index;
        if (cumulative > target) return index;
      }
      return last;
    }
    // Truncated: take the best candidates in descending order; for top-p without top-k, widen the candidate set
    // until it holds the nucleus (usually the first 64 do), so the whole vocabulary is rarely sorted.
    let candidateCount = topK > 0 ? topK : Math.min(firstNucleusCandidates, vocabularySize);
    for (;;) {
      if (this.candidates.length < candidateCount) this.candidates = new Int32Array(candidateCount);
      const candidates = this.candidates;
      const selected = selectTopIndices(logits, offset, vocabularySize, candidateCount, candidates);
      let mass = 0;
      if (topK > 0) for (let rank = 0; rank < selected; rank++) mass += weights[candidates[rank] as number] as number;
      else mass = sum;
      let kept = selected;
      let keptMass = mass;
      if (topP < 1) {
        const threshold = topP * mass;
        let cumulative = 0;
        kept = -1;
        for (let rank = 0; rank < selected; rank++) {
          cumulative += weights[candidates[rank] as number] as number;
          if (cumulative >= threshold) {
            kept = rank + 1;
            keptMass = cumulative;
            break;
          }
        }
        if (kept < 0) {
          if (topK === 0 && candidateCount < vocabularySize) {
            candidateCount = Math.min(vocabularySize, candidateCount * 8);
            continue;
          }
          // Rounding left the threshold just out of reach: keep everything selected.
          kept = selected;
          keptMass = cumulative;
        }
      }
      const target = random.next() * keptMass;
      let cumulative = 0;
      for (let rank = 0; rank < kept; rank++) {
        cumulative += weights[candidates[rank] as number] as number;
        if (cumulative > target) return candidates[rank] as number;
      }
      return candidates[kept - 1] as number;
    }
  }
}
