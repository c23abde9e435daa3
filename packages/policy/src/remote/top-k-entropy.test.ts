import { describe, expect, it } from 'vitest';
import { topKEntropy } from './top-k-entropy.js';

function entropyOf(probabilities: readonly number[]): number {
  return probabilities.reduce(
    (sum, probability) => (probability > 0 ? sum - probability * Math.log(probability) : sum),
    0,
  );
}

/** A full distribution over 259 tokens: three likely tokens, one very unlikely token, a uniform rest. */
function knownDistribution() {
  const vocabularySize = 259;
  const probabilities = new Array<number>(vocabularySize);
  probabilities[0] = 0.3;
  probabilities[1] = 0.2;
  probabilities[2] = 0.1;
  probabilities[3] = 1e-6; // what vLLM adds when the sampled token is outside the top k
  const rest = (1 - 0.6 - 1e-6) / (vocabularySize - 4);
  for (let index = 4; index < vocabularySize; index++) probabilities[index] = rest;
  return { vocabularySize, probabilities, truth: entropyOf(probabilities) };
}

describe('topKEntropy', () => {
  it('brackets the true entropy with vLLM-style k+1 entries (top k plus the sampled token)', () => {
    const { vocabularySize, probabilities, truth } = knownDistribution();
    const entries = [0, 1, 2, 3].map((index) => Math.log(probabilities[index] as number));
    const { estimate, upperBound } = topKEntropy(entries, { vocabularySize, topK: 3 });
    expect(estimate).toBeLessThanOrEqual(truth);
    expect(upperBound).toBeGreaterThanOrEqual(truth - 1e-9);
    expect(estimate).toBeGreaterThan(0);
    // Treating the sampled token as a top-k entry (the old behaviour) bounds the tail by its tiny probability,
    // and the "lower bound" overshoots the truth by more than a nat.
    const wrong = topKEntropy(entries, { vocabularySize });
    expect(wrong.estimate).toBeGreaterThan(truth + 1);
  });

  it('brackets the true entropy from exactly k entries, in any order, and is exact when nothing is unseen', () => {
    const { vocabularySize, probabilities, truth } = knownDistribution();
    const entries = [2, 0, 1].map((index) => Math.log(probabilities[index] as number));
    const { estimate, upperBound } = topKEntropy(entries, { vocabularySize, topK: 3 });
    expect(estimate).toBeLessThanOrEqual(truth);
    expect(upperBound).toBeGreaterThanOrEqual(truth - 1e-9);
    // A uniform tail is the most spread tail there is: the upper bound is then the truth itself (up to the
    // one unlikely token, which it spreads too).
    expect(upperBound - truth).toBeLessThan(5e-3);

    const small = [0.5, 0.25, 0.25];
    const all = topKEntropy(small.map(Math.log), { vocabularySize: 3 });
    expect(all.estimate).toBeCloseTo(entropyOf(small), 12);
    expect(all.upperBound).toBeCloseTo(entropyOf(small), 12);
  });

  it('gives [0, log V] when the server sent no alternatives, and ignores -Infinity entries', () => {
    expect(topKEntropy([], { vocabularySize: 100 })).toEqual({ estimate: 0, upperBound: Math.log(100) });
    const withMissing = topKEntropy([Math.log(0.5), Number.NEGATIVE_INFINITY], {
      vocabularySize: 10,
      topK: 2,
    });
    const plain = topKEntropy([Math.log(0.5)], { vocabularySize: 10, topK: 1 });
    expect(withMissing.estimate).toBeCloseTo(plain.estimate, 12);
  });
});
