import type { FinishReason, Segment, ToolCallParse, ToolCallRecord, Trajectory } from '@arpo/core';
import type { TrajectoryCallBudget } from './call-budget.js';
import { GrowableBuffer } from './growable-buffer.js';

/** Entropy statistic of one model turn, as the active sampler mode defines it. */
export interface TurnRecord {
  /** Response range of the turn. */
  start: number;
  end: number;
  entropy: number;
  /** True when the turn came right after a tool result. */
  afterToolResult: boolean;
}

/** A trajectory while it is being generated: growable per-token buffers plus bookkeeping for forks. */
export class TrajectoryState {
  readonly tokens: GrowableBuffer<Int32Array>;
  readonly logprobs: GrowableBuffer<Float32Array>;
  readonly entropies: GrowableBuffer<Float32Array>;
  readonly lossMask: GrowableBuffer<Uint8Array>;
  segments: Segment[] = [];
  turns: TurnRecord[] = [];
  toolCalls = 0;
  finished = false;
  finishReason: FinishReason = 'length';
  /** Id of the tree node this trajectory is currently writing into (always a leaf). */
  leafNodeId = 0;
  /** The entropy baseline branching compares against (per mode). */
  initialEntropy: number | undefined;
  /** Response position this trajectory was forked at, if it is a branch (fork points are decided once). */
  forkedAt: number | undefined;
  /** Index of the trajectory this one was forked from. */
  parentIndex: number | undefined;
  /** The protocol's call budget for this trajectory, when the protocol offers one. */
  callBudget: TrajectoryCallBudget | undefined;
  /**
   * Calls the budget admitted, with the response position their results end at: a branch replays the ones in
   * its prefix into a fresh budget, so shared calls count against every trajectory that contains them.
   */
  admittedCalls: { end: number; call: ToolCallParse }[] = [];

  constructor(
    /** Index in its group, in creation order. */
    readonly index: number,
    readonly id: string,
    readonly promptId: string,
    readonly promptTokenIds: Int32Array,
    buffers?: {
      tokens: GrowableBuffer<Int32Array>;
      logprobs: GrowableBuffer<Float32Array>;
      entropies: GrowableBuffer<Float32Array>;
      lossMask: GrowableBuffer<Uint8Array>;
    },
  ) {
    this.tokens = buffers?.tokens ?? new GrowableBuffer(Int32Array);
    this.logprobs = buffers?.logprobs ?? new GrowableBuffer(Float32Array);
    this.entropies = buffers?.entropies ?? new GrowableBuffer(Float32Array);
    this.lossMask = buffers?.lossMask ?? new GrowableBuffer(Uint8Array);
  }

  get responseLength(): number {
    return this.tokens.length;
  }

  /** Prompt plus response so far: what the policy continues. */
  context(): Int32Array {
    const context = new Int32Array(this.promptTokenIds.length + this.tokens.length);
    context.set(this.promptTokenIds);
    context.set(this.tokens.view(), this.promptTokenIds.length);
    return context;
  }

  appendModelTurn(turn: {
    tokenIds: Int32Array;
    logprobs: Float32Array;
    entropies: Float32Array;
    finishReason: FinishReason;
    stopString?: string;
    latencyMs: number;
  }): void {
    const start = this.tokens.length;
    this.tokens.append(turn.tokenIds);
    this.logprobs.append(turn.logprobs);
    this.entropies.append(turn.entropies);
    this.lossMask.fill(1, turn.tokenIds.length);
    const segment: Segment = {
      kind: 'model',
      start,
      end: this.tokens.length,
      finishReason: turn.finishReason,
      latencyMs: turn.latencyMs,
    };
    if (turn.stopString !== undefined) segment.stopString = turn.stopString;
    this.segments.push(segment);
  }

  /** Appends environment tokens (tool results, a forced EOS): loss mask 0, logprob and entropy 0. */
  appendEnvironmentTokens(tokenIds: ArrayLike<number>, calls: ToolCallRecord[]): void {
    const start = this.tokens.length;
    this.tokens.append(tokenIds);
    this.logprobs.fill(0, tokenIds.length);
    this.entropies.fill(0, tokenIds.length);
    this.lossMask.fill(0, tokenIds.length);
    this.segments.push({ kind: 'tool', start, end: this.tokens.length, calls });
  }

  /** Cuts the response to `length` tokens (segments clipped), for the max response length. */
  truncate(length: number): void {
    this.tokens.truncate(length);
    this.logprobs.truncate(length);
    this.entropies.truncate(length);
    this.lossMask.truncate(length);
    this.segments = this.segments
      .filter((segment) => segment.start < length || (segment.start === length && segment.end === length))
      .map((segment) => (segment.end > length ? { ...segment, end: length } : segment));
    this.turns = this.turns.filter((turn) => turn.start < length);
  }

  finish(reason: FinishReason): void {
    this.finished = true;
    this.finishReason = reason;
  }

  /** A new trajectory sharing this one's first `at` response tokens (a segment boundary). */
  fork(options: { index: number; id: string; at: number }): TrajectoryState {
    const child = new TrajectoryState(options.index, options.id, this.promptId, this.promptTokenIds, {
      tokens: this.tokens.clone(options.at),
      logprobs: this.logprobs.clone(options.at),
      entropies: this.entropies.clone(options.at),
      lossMask: this.lossMask.clone(options.at),
    });
    child.segments = this.segments
      .filter((segment) => segment.end <= options.at)
      .map((segment) => ({ ...segment }));
    child.turns = this.turns.filter((turn) => turn.end <= options.at);
    child.toolCalls = child.segments.reduce(
      (count, segment) => count + (segment.kind === 'tool' ? segment.calls.length : 0),
      0,
    );
    child.admittedCalls = this.admittedCalls.filter((admitted) => admitted.end <= options.at);
    child.initialEntropy = this.initialEntropy;
    child.forkedAt = options.at;
    child.parentIndex = this.index;
    return child;
  }

  toTrajectory(metrics: Record<string, number>): Trajectory {
    return {
      id: this.id,
      promptId: this.promptId,
      promptTokenIds: this.promptTokenIds,
      responseTokenIds: this.tokens.copy(),
      logprobs: this.logprobs.copy(),
      entropies: this.entropies.copy(),
      lossMask: this.lossMask.copy(),
      segments: this.segments,
      finishReason: this.finishReason,
      metrics: { toolCalls: this.toolCalls, turns: this.turns.length, ...metrics },
    };
  }
}
