import {
  AbortedError,
  createRandom,
  type GeneratedSequence,
  type GeneratedTokenEvent,
  type GenerationFinishReason,
  InvalidArgumentError,
  type Random,
} from '@arpo/core';
import { IncrementalDecoder } from './incremental-decoder.js';
import { LogitsSampler } from './logits-sampler.js';
import type { ResolvedSamplingOptions } from './sampling-settings.js';
import { StopStringMatcher } from './stop-string-matcher.js';

/** One continuation the loop produces. */
export interface LoopSequence {
  sampling: ResolvedSamplingOptions;
  /** Seed of this continuation's generator (the runtime derives it: request seed, `deriveSeed` for n > 1, ...). */
  seed: number;
  /**
   * Room left in the context after the prompt. The sequence ends with `length` when it is reached, even before
   * `sampling.maxTokens`. Default: unlimited.
   */
  contextRemaining?: number;
}

/** One decode step: the tokens just sampled by the sequences still running. */
export interface DecodeStepInput {
  /** Indices (into `sequences`) of the sequences still generating, ascending. Shrinks as sequences finish. */
  rows: Int32Array;
  /** The token each of those sequences sampled last, aligned with `rows`. */
  tokenIds: Int32Array;
}

export interface GenerationLoopOptions {
  sequences: readonly LoopSequence[];
  /** Width of one logits row (the model's vocabulary, possibly padded beyond the tokenizer's). */
  vocabularySize: number;
  /** Next-token logits after each sequence's prompt: `sequences.length` rows. */
  initialLogits: Float32Array;
  /**
   * Runs the model one token further for the given rows (append to their KV caches) and returns their next-token
   * logits, one row per entry of `input.rows`. The whole runtime-specific part of generation.
   */
  step: (input: DecodeStepInput) => Promise<Float32Array>;
  /** Decodes token ids to text, dropping special tokens (used for stop strings and `text`). */
  decode: (tokenIds: ArrayLike<number>) => string;
  /** Tokens that end a sequence with `eos` (kept in `tokenIds`, dropped from `text`). */
  eosTokenIds: readonly number[];
  signal?: AbortSignal;
  /** Called once per sequence when it finishes, before the next step (runtimes snapshot caches here). */
  onSequenceFinished?: (index: number, sequence: GeneratedSequence) => void | Promise<void>;
  /** Reuse a sampler (and its buffers) across calls. */
  sampler?: LogitsSampler;
  /**
   * `GenerateOptions.onToken`: called for each sampled token, in order, before the next `step`; a returned
   * promise is awaited; a throw (or rejection) ends the loop with that error before the next `step`.
   */
  onToken?: (event: GeneratedTokenEvent) => void | Promise<void>;
  /**
   * Which request and continuation each sequence is, for `onToken` events. Default: request 0, continuation
   * `index` (one request with `n` continuations).
   */
  owners?: readonly { requestIndex: number; sequenceIndex: number }[];
}

interface SequenceState {
  tokenIds: Int32Array;
  logprobs: Float32Array;
  entropies: Float32Array;
  top: { tokenIds: Int32Array; logprobs: Float32Array }[] | undefined;
  length: number;
  limit: number;
  random: Random | undefined;
  decoder: IncrementalDecoder | undefined;
  matcher: StopStringMatcher | undefined;
  finishReason: GenerationFinishReason | undefined;
  stopString: string | undefined;
}

/**
 * The batched sampling loop shared by every runtime: given next-token logits for each sequence, samples a token
 * per sequence (temperature / top-k / top-p, per-sequence seeded generator), records its logprob, the exact
 * entropy and optional top logprobs, ends sequences on EOS, stop strings (kept in the output), max tokens or the
 * context, and asks `step` for the next logits of the sequences still running.
 *
 * Cancellation: an already-aborted `signal` rejects with `AbortedError`; an abort during generation ends the
 * running sequences with finish reason `abort` and returns what was generated. `onToken` sees every token as it
 * is sampled; tokens of a sequence that has finished are never sampled, so never reported.
 */
export async function runGenerationLoop(options: GenerationLoopOptions): Promise<GeneratedSequence[]> {
  const { sequences, vocabularySize } = options;
  if (options.signal?.aborted)
    throw new AbortedError({ operation: 'generate', cause: options.signal.reason });
  if (options.initialLogits.length !== sequences.length * vocabularySize) {
    throw new InvalidArgumentError({
      argument: 'initialLogits',
      message: `expected ${sequences.length} rows of ${vocabularySize}, got ${options.initialLogits.length} values`,
    });
  }
  const sampler =
    options.sampler !== undefined && options.sampler.vocabularySize === vocabularySize
      ? options.sampler
      : new LogitsSampler({ vocabularySize });
  const eos = new Set(options.eosTokenIds);
  const onToken = options.onToken;
  const states: SequenceState[] = sequences.map((sequence) => {
    const limit = Math.max(0, Math.min(sequence.sampling.maxTokens, sequence.contextRemaining ?? Infinity));
    const hasStops = sequence.sampling.stop.length > 0;
    return {
      tokenIds: new Int32Array(limit),
      logprobs: new Float32Array(limit),
      entropies: new Float32Array(limit),
      top: sequence.sampling.topLogprobs > 0 ? [] : undefined,
      length: 0,
      limit,
      random: sequence.sampling.temperature > 0 ? createRandom({ seed: sequence.seed }) : undefined,
      decoder: hasStops ? new IncrementalDecoder(options.decode) : undefined,
      matcher: hasStops ? new StopStringMatcher(sequence.sampling.stop) : undefined,
      finishReason: limit === 0 ? 'length' : undefined,
      stopString: undefined,
    };
  });
  const results: (GeneratedSequence | undefined)[] = new Array(sequences.length);
  const finish = async (index: number) => {
    const state = states[index] as SequenceState;
    const tokenIds = state.tokenIds.slice(0, state.length);
    const sequence: GeneratedSequence = {
      tokenIds,
      logprobs: state.logprobs.slice(0, state.length),
      entropies: state.entropies.slice(0, state.length),
      finishReason: state.finishReason ?? 'length',
      text: options.decode(tokenIds),
    };
    if (state.stopString !== undefined) sequence.stopString = state.stopString;
    if (state.top !== undefined) sequence.topLogprobs = state.top;
    results[index] = sequence;
    await options.onSequenceFinished?.(index, sequence);
  };

  let rows = new Int32Array(sequences.length);
  for (let index = 0; index < sequences.length; index++) rows[index] = index;
  for (let index = 0; index < sequences.length; index++) {
    if ((states[index] as SequenceState).finishReason !== undefined) await finish(index);
  }
  rows = rows.filter((index) => (states[index] as SequenceState).finishReason === undefined);
  let logits = options.initialLogits;
  // Initial logits have one row per sequence; step logits one row per running sequence.
  let logitsPerSequence = true;

  while (rows.length > 0) {
    const sampledTokens = new Int32Array(rows.length);
    for (let position = 0; position < rows.length; position++) {
      const index = rows[position] as number;
      const state = states[index] as SequenceState;
      const sampling = (sequences[index] as LoopSequence).sampling;
      const logitRow = logitsPerSequence ? index : position;
      const sampled = sampler.sample(logits, logitRow * vocabularySize, sampling, state.random);
      const tokenId = sampled.tokenId;
      sampledTokens[position] = tokenId;
      state.tokenIds[state.length] = tokenId;
      state.logprobs[state.length] = sampled.logprob;
      state.entropies[state.length] = sampled.entropy;
      if (state.top !== undefined && sampled.top !== undefined) state.top.push(sampled.top);
      state.length++;
      if (eos.has(tokenId)) state.finishReason = 'eos';
      else if (state.matcher !== undefined && state.decoder !== undefined) {
        const match = state.matcher.push(state.decoder.push(tokenId));
        if (match !== undefined) {
          state.finishReason = 'stop';
          state.stopString = match.stopString;
        }
      }
      if (state.finishReason === undefined && state.length >= state.limit) state.finishReason = 'length';
      if (onToken !== undefined) {
        const owner = options.owners?.[index];
        const event: GeneratedTokenEvent = {
          requestIndex: owner?.requestIndex ?? 0,
          sequenceIndex: owner?.sequenceIndex ?? index,
          position: state.length - 1,
          tokenId,
          // Read back from the float32 arrays, so the event holds exactly what the result will.
          logprob: state.logprobs[state.length - 1] as number,
          entropy: state.entropies[state.length - 1] as number,
        };
        if (sampled.top !== undefined && state.top !== undefined) event.topLogprobs = sampled.top;
        const pending = onToken(event);
        // Only promises are awaited: a synchronous callback costs no extra microtask per token.
        if (pending !== undefined) await pending;
      }
    }
    const aborted = options.signal?.aborted === true;
    const nextRows: number[] = [];
    const nextTokens: number[] = [];
    for (let position = 0; position < rows.length; position++) {
      const index = rows[position] as number;
      const state = states[index] as SequenceState;
      if (state.finishReason === undefined && aborted) state.finishReason = 'abort';
      if (state.finishReason !== undefined) await finish(index);
      else {
        nextRows.push(index);
        nextTokens.push(sampledTokens[position] as number);
      }
    }
    rows = Int32Array.from(nextRows);
    if (rows.length === 0) break;
    logits = await options.step({ rows, tokenIds: Int32Array.from(nextTokens) });
    if (logits.length !== rows.length * vocabularySize) {
      throw new InvalidArgumentError({
        argument: 'step',
        message: `returned ${logits.length} logits for ${rows.length} rows of ${vocabularySize}`,
      });
    }
    logitsPerSequence = false;
  }
  return results as GeneratedSequence[];
}
