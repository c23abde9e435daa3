import { InvalidArgumentError, type Tokenizer, type TrainingDatum, type Trajectory } from '@arpo/core';

/** A prompt and a response with per-token data, before the Tinker shift. */
export interface TokenSequence {
  promptTokenIds: ArrayLike<number>;
  responseTokenIds: ArrayLike<number>;
  /** Per response token: 1 = trained on, 0 = not (tool output). */
  lossMask: ArrayLike<number>;
  /** Per response token: sampling logprobs. */
  logprobs?: ArrayLike<number>;
  /** Per response token: advantages. */
  advantages?: ArrayLike<number>;
}

/**
 * Builds a `TrainingDatum` in the remote-training alignment: full = prompt + response, input = full[0:-1],
 * target = full[1:]; per-token arrays are shifted the same way, so position i (predicting full[i+1]) carries the
 * data of that target token. Prompt targets get weight 0.
 */
export function sequenceToDatum(sequence: TokenSequence): TrainingDatum {
  const promptLength = sequence.promptTokenIds.length;
  const responseLength = sequence.responseTokenIds.length;
  if (promptLength === 0) throw new InvalidArgumentError({ argument: 'promptTokenIds', message: 'is empty' });
  for (const [name, values] of [
    ['lossMask', sequence.lossMask],
    ['logprobs', sequence.logprobs],
    ['advantages', sequence.advantages],
  ] as const) {
    if (values !== undefined && values.length !== responseLength) {
      throw new InvalidArgumentError({
        argument: name,
        message: `has ${values.length} entries for ${responseLength} response tokens`,
      });
    }
  }
  const total = promptLength + responseLength;
  const full = new Int32Array(total);
  full.set(Array.from(sequence.promptTokenIds));
  full.set(Array.from(sequence.responseTokenIds), promptLength);
  const length = total - 1;
  const shifted = (values: ArrayLike<number>) => {
    const out = new Float32Array(length);
    // Target index i is full index i + 1; response token r is full index promptLength + r.
    for (let response = 0; response < responseLength; response++)
      out[promptLength - 1 + response] = values[response] as number;
    return out;
  };
  const datum: TrainingDatum = {
    inputTokenIds: full.slice(0, length),
    targetTokenIds: full.slice(1),
    weights: shifted(sequence.lossMask),
  };
  if (sequence.logprobs !== undefined) datum.logprobs = shifted(sequence.logprobs);
  if (sequence.advantages !== undefined) datum.advantages = shifted(sequence.advantages);
  return datum;
}

/** The datum of a rollout trajectory with its per-token advantages. */
export function trajectoryToDatum(
  trajectory: Trajectory,
  advantages: Float32Array,
  lossMask: Uint8Array = trajectory.lossMask,
): TrainingDatum {
  return sequenceToDatum({
    promptTokenIds: trajectory.promptTokenIds,
    responseTokenIds: trajectory.responseTokenIds,
    lossMask,
    logprobs: trajectory.logprobs,
    advantages,
  });
}

/** Turns of a demonstration: model text (trained on) and tool output (not). */
export interface DemonstrationTurns {
  prompt: Int32Array;
  turns: readonly { role: 'model' | 'tool'; text: string }[];
}

/**
 * Tokenizes a demonstration the way rollouts produce text: each turn on its own, model turns with mask 1, tool
 * turns with mask 0, and EOS (mask 1) at the end so the model learns to stop.
 */
export function demonstrationToSequence(
  demonstration: DemonstrationTurns,
  tokenizer: Tokenizer,
): TokenSequence {
  const tokens: number[] = [];
  const mask: number[] = [];
  for (const turn of demonstration.turns) {
    const ids = tokenizer.encode(turn.text);
    for (const id of ids) {
      tokens.push(id);
      mask.push(turn.role === 'model' ? 1 : 0);
    }
  }
  tokens.push(tokenizer.specialTokens.eos);
  mask.push(1);
  return { promptTokenIds: demonstration.prompt, responseTokenIds: tokens, lossMask: mask };
}
