// SQuAD answer normalisation and token F1, as in the official SQuAD v1.1 evaluation script and the ARPO reward.

const asciiPunctuation = new Set('!"#$%&\'()*+,-./:;<=>?@[\\]^_`{|}~');

/** Lower-case, drop ASCII punctuation, drop the articles a/an/the, collapse whitespace. */
export function normalizeAnswer(text: string): string {
  let withoutPunctuation = '';
  for (const character of text.toLowerCase()) {
    if (!asciiPunctuation.has(character)) withoutPunctuation += character;
  }
  return withoutPunctuation
    .replace(/\b(a|an|the)\b/g, ' ')
    .split(/\s+/)
    .filter((token) => token !== '')
    .join(' ');
}

/** Exact match after normalisation. */
export function exactMatch(prediction: string, reference: string): boolean {
  return normalizeAnswer(prediction) === normalizeAnswer(reference);
}

const specialAnswers = new Set(['yes', 'no', 'noanswer']);

/**
 * Token-level F1 between normalised prediction and reference. As in the HotpotQA evaluation: when either side
 * normalises to yes / no / noanswer and the two differ, the score is 0.
 */
export function tokenF1(prediction: string, reference: string): number {
  const normalizedPrediction = normalizeAnswer(prediction);
  const normalizedReference = normalizeAnswer(reference);
  if (
    (specialAnswers.has(normalizedPrediction) || specialAnswers.has(normalizedReference)) &&
    normalizedPrediction !== normalizedReference
  ) {
    return 0;
  }
  const predictionTokens = normalizedPrediction === '' ? [] : normalizedPrediction.split(' ');
  const referenceTokens = normalizedReference === '' ? [] : normalizedReference.split(' ');
  if (predictionTokens.length === 0 || referenceTokens.length === 0) return 0;
  const counts = new Map<string, number>();
  for (const token of referenceTokens) counts.set(token, (counts.get(token) ?? 0) + 1);
  let common = 0;
  for (const token of predictionTokens) {
    const remaining = counts.get(token) ?? 0;
    if (remaining > 0) {
      common += 1;
      counts.set(token, remaining - 1);
    }
  }
  if (common === 0) return 0;
  const precision = common / predictionTokens.length;
  const recall = common / referenceTokens.length;
  return (2 * precision * recall) / (precision + recall);
}

/** The best score of `prediction` against any of the accepted references (aliases). */
export function bestOver(references: readonly string[], score: (reference: string) => number): number {
  let best = 0;
  for (const reference of references) best = Math.max(best, score(reference));
  return best;
}
