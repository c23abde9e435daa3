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

const nucleusBuckets = 2048;
/** Width of a nucleus bucket in nats of −log(weight); the last bucket takes everything below e^-41. */
const nucleusBucketWidth = 0.02;

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
  /** Nucleus search: bucket of each token by −log weight, and mass / count per bucket. */
  private readonly buckets: Uint16Array;
  private readonly bucketMass = new Float64Array(nucleusBuckets);
  private readonly bucketCount = new Int32Array(nucleusBuckets);

  constructor(options: { vocabularySize: number }) {
    if (!Number.isInteger(options.vocabularySize) || options.vocabularySize <= 0) {
      throw new InvalidArgumentError({
        argument: 'vocabularySize',
        message: `must be a positive integer, got ${options.vocabularySize}`,
      });
    }
    this.vocabularySize = options.vocabularySize;
    this.weights = new Float64Array(options.vocabularySize);
    this.candidates = new Int32Array(Math.min(64, options.vocabularySize));
    this.buckets = new Uint16Array(options.vocabularySize);
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
          (logits[offset + (tokenIds[rank] as number)] as number) * inverseTemperature -
          scaledMaximum -
          logSum;
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
    const sampled = this.sample(
      logits,
      offset,
      { temperature: 0, topK: 0, topP: 1, topLogprobs: 0 },
      undefined,
      {
        inverseTemperature: temperature > 0 ? 1 / temperature : 1,
        tokenId,
      },
    );
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
    if (topK === 0) return this.drawNucleus(topP, random, sum);
    // Top-k (then top-p inside it): the k best candidates in descending order from a bounded heap.
    if (this.candidates.length < topK) this.candidates = new Int32Array(topK);
    const candidates = this.candidates;
    const selected = selectTopIndices(logits, offset, vocabularySize, topK, candidates);
    let mass = 0;
    for (let rank = 0; rank < selected; rank++) mass += weights[candidates[rank] as number] as number;
    let kept = selected;
    let keptMass = mass;
    if (topP < 1) {
      const threshold = topP * mass;
      let cumulative = 0;
      for (let rank = 0; rank < selected; rank++) {
        cumulative += weights[candidates[rank] as number] as number;
        kept = rank + 1;
        keptMass = cumulative;
        if (cumulative >= threshold) break;
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

  /**
   * Top-p without top-k, in three linear passes and no full sort: bucket tokens by −log(weight), find the bucket
   * where the cumulative mass crosses `topP`, sort only that bucket to place the exact cut (order: weight
   * descending, then id), then draw among the kept tokens in id order.
   */
  private drawNucleus(topP: number, random: Random, sum: number): number {
    const vocabularySize = this.vocabularySize;
    const weights = this.weights;
    const buckets = this.buckets;
    const bucketMass = this.bucketMass;
    const bucketCount = this.bucketCount;
    bucketMass.fill(0);
    bucketCount.fill(0);
    const last = nucleusBuckets - 1;
    for (let index = 0; index < vocabularySize; index++) {
      const weight = weights[index] as number;
      let bucket = last;
      if (weight > 0) {
        const position = -Math.log(weight) / nucleusBucketWidth;
        if (position < last) bucket = position | 0;
      }
      buckets[index] = bucket;
      bucketMass[bucket] = (bucketMass[bucket] as number) + weight;
      bucketCount[bucket] = (bucketCount[bucket] as number) + 1;
    }
    const threshold = topP * sum;
    let above = 0;
    let boundary = 0;
    while (boundary < last && above + (bucketMass[boundary] as number) < threshold) {
      above += bucketMass[boundary] as number;
      boundary++;
    }
    const count = bucketCount[boundary] as number;
    if (this.candidates.length < count) this.candidates = new Int32Array(count);
    const members = this.candidates.subarray(0, count);
    let filled = 0;
    for (let index = 0; index < vocabularySize && filled < count; index++) {
      if (buckets[index] === boundary) members[filled++] = index;
    }
    members.sort((left, right) => (weights[right] as number) - (weights[left] as number) || left - right);
    let keptMass = above;
    let cutRank = count - 1;
    for (let rank = 0; rank < count; rank++) {
      keptMass += weights[members[rank] as number] as number;
      if (keptMass >= threshold) {
        cutRank = rank;
        break;
      }
    }
    const cutIndex = members[cutRank] as number;
    const cutWeight = weights[cutIndex] as number;
    const target = random.next() * keptMass;
    let cumulative = 0;
    let lastKept = cutIndex;
    for (let index = 0; index < vocabularySize; index++) {
      const bucket = buckets[index] as number;
      if (bucket > boundary) continue;
      const weight = weights[index] as number;
      if (bucket === boundary && (weight < cutWeight || (weight === cutWeight && index > cutIndex))) continue;
      cumulative += weight;
      lastKept = index;
      if (cumulative > target) return index;
    }
    return lastKept;
  }
}
