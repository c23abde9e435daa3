import {
  deriveSeed,
  type EventSink,
  type FinishReason,
  type ForkInfo,
  type GeneratedSequence,
  type GenerationRequest,
  independentTree,
  parse,
  type RolloutGroup,
  silentEventSink,
  type Tool,
  type ToolCallParse,
  type ToolCallRecord,
  type ToolErrorInfo,
  type ToolSpec,
} from '@arpo/core';
import { TreeBuilder } from '../tree/tree-builder.js';
import { callBudgetFactory, type TrajectoryCallBudget } from './call-budget.js';
import {
  type AgentLoopSettings,
  agentLoopSettingsSchema,
  type RolloutEnvironment,
  type RolloutPrompt,
} from './rollout-options.js';
import { executeToolCall, mapWithConcurrency } from './run-tool-calls.js';
import { TrajectoryState } from './trajectory-state.js';

/** Everything the engine tracks for one prompt. */
export interface GroupState {
  prompt: RolloutPrompt;
  states: TrajectoryState[];
  tree: TreeBuilder;
  computedTokens: number;
  reusedTokens: number;
  toolCalls: number;
  /** Sampling rounds in which this group generated anything. */
  rounds: number;
  /** Trajectories this group may hold at most. */
  budget: number;
}

/** The hooks a sampler plugs into the shared agent loop. */
export interface SamplerStrategy {
  /** Top logprobs to request per position (reference-mode entropy needs the top 10). */
  readonly topLogprobs?: number;
  /** The entropy statistic of one generated model turn. */
  turnEntropy(sequence: GeneratedSequence, vocabularySize: number): number;
  /** Called after every generation round with the trajectories that generated a turn. */
  afterTurns?(engine: RolloutEngine, group: GroupState, generated: readonly TrajectoryState[]): void;
  /** Called after tool results were appended, with the trajectories that received one. */
  afterToolResults?(engine: RolloutEngine, group: GroupState, withResults: readonly TrajectoryState[]): void;
  /** Called at the end of each round: may start fresh trajectories for groups with spare budget. */
  refill?(engine: RolloutEngine, group: GroupState): void;
  /** Whether to record a real tree (false: the independent tree is built at the end). */
  readonly branches: boolean;
}

/**
 * The multi-turn agent loop, batched across every trajectory of every prompt: generate until a tool stop
 * string, EOS or the length limit; run the calls concurrently; append each result as a separately tokenized
 * span with loss mask 0; repeat. Samplers customise it through a `SamplerStrategy`.
 */
export class RolloutEngine {
  readonly settings: Required<Omit<AgentLoopSettings, 'maxTurnTokens' | 'topP' | 'topK'>> &
    Pick<AgentLoopSettings, 'maxTurnTokens' | 'topP' | 'topK'>;
  readonly groups: GroupState[] = [];
  private readonly events: EventSink;
  private readonly toolsByName: Map<string, Tool>;
  private readonly toolSpecs: ToolSpec[];
  private readonly createCallBudget: (() => TrajectoryCallBudget) | undefined;
  /** Set in the last allowed round: a trajectory started or forked then could never generate. */
  private growthClosed = false;

  constructor(
    readonly environment: RolloutEnvironment,
    settings: AgentLoopSettings,
    readonly strategy: SamplerStrategy,
  ) {
    const parsed = parse(agentLoopSettingsSchema, settings);
    this.settings = {
      temperature: 1,
      maxResponseTokens: 1024,
      maxToolCalls: 3,
      onToolLimit: 'eos',
      toolTimeoutMs: 30_000,
      toolConcurrency: 16,
      maxRounds: 64,
      ...parsed,
    };
    this.events = environment.events ?? silentEventSink;
    this.toolsByName = new Map(environment.tools.map((tool) => [tool.name, tool]));
    this.toolSpecs = environment.tools.map((tool) => ({
      name: tool.name,
      description: tool.description,
      inputSchema: tool.inputSchema,
    }));
    this.createCallBudget = callBudgetFactory(environment.protocol);
  }

  addGroup(prompt: RolloutPrompt, options: { initial: number; budget: number }): GroupState {
    const group: GroupState = {
      prompt,
      states: [],
      tree: new TreeBuilder(prompt.promptId),
      computedTokens: 0,
      reusedTokens: 0,
      toolCalls: 0,
      rounds: 0,
      budget: options.budget,
    };
    this.groups.push(group);
    for (let index = 0; index < options.initial; index++) this.startTrajectory(group);
    return group;
  }

  /** Starts a fresh trajectory from the prompt, if the budget and the remaining rounds allow. */
  startTrajectory(group: GroupState): TrajectoryState | undefined {
    if (group.states.length >= group.budget || this.growthClosed) return undefined;
    const index = group.states.length;
    const state = new TrajectoryState(
      index,
      `${group.prompt.promptId}#${index}`,
      group.prompt.promptId,
      group.prompt.promptTokenIds,
    );
    state.callBudget = this.createCallBudget?.();
    group.states.push(state);
    group.tree.start(state);
    return state;
  }

  /**
   * Forks up to `count` branches from `parent` at response position `at` (none in the last allowed round);
   * returns the branches created.
   */
  fork(
    group: GroupState,
    parent: TrajectoryState,
    options: { at: number; count: number; info: Omit<ForkInfo, 'branches'> },
  ) {
    const count = this.growthClosed ? 0 : Math.min(options.count, group.budget - group.states.length);
    const branches: TrajectoryState[] = [];
    for (let offset = 0; offset < count; offset++) {
      const index = group.states.length;
      const branch = parent.fork({ index, id: `${group.prompt.promptId}#${index}`, at: options.at });
      branch.callBudget = this.createCallBudget?.();
      // The prefix's calls count against the branch too.
      for (const { call } of branch.admittedCalls) branch.callBudget?.admit(call);
      group.states.push(branch);
      branches.push(branch);
    }
    if (branches.length > 0) {
      group.tree.fork(parent, branches, options.at, { ...options.info, branches: branches.length });
      this.events.emit({
        type: 'branch-fork',
        promptId: group.prompt.promptId,
        trajectoryId: parent.id,
        entropyDelta: options.info.entropyDelta,
        branches: branches.length,
      });
    }
    return branches;
  }

  private active(): { group: GroupState; state: TrajectoryState }[] {
    const active: { group: GroupState; state: TrajectoryState }[] = [];
    for (const group of this.groups)
      for (const state of group.states) if (!state.finished) active.push({ group, state });
    return active;
  }

  /** Runs rounds until every trajectory has finished (or the round limit), then builds the groups. */
  async run(): Promise<RolloutGroup[]> {
    let round = 0;
    for (; round < this.settings.maxRounds; round++) {
      if (this.environment.signal?.aborted) break;
      this.growthClosed = round === this.settings.maxRounds - 1;
      const active = this.active();
      if (active.length === 0) {
        for (const group of this.groups) this.strategy.refill?.(this, group);
        if (this.active().length === 0) break;
        continue;
      }
      await this.round(active);
      for (const group of this.groups) this.strategy.refill?.(this, group);
    }
    const stopReason: FinishReason = this.environment.signal?.aborted ? 'abort' : 'length';
    for (const { state } of this.active()) state.finish(stopReason);
    return this.groups.map((group) => this.buildGroup(group, round));
  }

  private async round(active: { group: GroupState; state: TrajectoryState }[]): Promise<void> {
    const { policy } = this.environment;
    const requests: GenerationRequest[] = [];
    const requesting: { group: GroupState; state: TrajectoryState }[] = [];
    for (const entry of active) {
      const { state } = entry;
      const remaining = this.settings.maxResponseTokens - state.responseLength;
      const contextRoom = policy.contextLength - state.promptTokenIds.length - state.responseLength;
      const maxTokens = Math.min(this.settings.maxTurnTokens ?? remaining, remaining, contextRoom);
      if (maxTokens <= 0) {
        state.finish('length');
        continue;
      }
      const sampling: GenerationRequest['sampling'] = {
        maxTokens,
        temperature: this.settings.temperature,
        stop: this.environment.protocol.stopStrings,
        seed: deriveSeed(this.settings.seed, `${state.promptId}/${state.index}/${state.turns.length}`),
      };
      if (this.settings.topP !== undefined) sampling.topP = this.settings.topP;
      if (this.settings.topK !== undefined) sampling.topK = this.settings.topK;
      if (this.strategy.topLogprobs !== undefined) sampling.topLogprobs = this.strategy.topLogprobs;
      requests.push({ promptTokenIds: state.context(), sampling });
      requesting.push(entry);
    }
    if (requests.length === 0) return;
    const started = performance.now();
    const results = await policy.generate(requests, { signal: this.environment.signal });
    const latencyMs = performance.now() - started;

    const generatedByGroup = new Map<GroupState, TrajectoryState[]>();
    const pendingCalls: { group: GroupState; state: TrajectoryState; calls: ToolCallParse[] }[] = [];
    results.forEach((result, position) => {
      const { group, state } = requesting[position] as { group: GroupState; state: TrajectoryState };
      const sequence = result.sequences[0];
      if (sequence === undefined) return;
      group.computedTokens += result.usage.computedPromptTokens + result.usage.completionTokens;
      group.reusedTokens += result.usage.reusedPromptTokens;
      const afterToolResult = state.segments.at(-1)?.kind === 'tool';
      const start = state.responseLength;
      state.appendModelTurn({
        tokenIds: sequence.tokenIds,
        logprobs: sequence.logprobs,
        entropies: sequence.entropies,
        finishReason: sequence.finishReason,
        stopString: sequence.stopString,
        latencyMs,
      });
      state.turns.push({
        start,
        end: state.responseLength,
        entropy: this.strategy.turnEntropy(sequence, policy.vocabularySize),
        afterToolResult,
      });
      const list = generatedByGroup.get(group) ?? [];
      list.push(state);
      generatedByGroup.set(group, list);
      if (sequence.finishReason === 'stop') {
        const calls = this.environment.protocol.parse(sequence.text, {
          tools: this.toolSpecs,
          stopString: sequence.stopString,
        });
        if (calls.length === 0) state.finish('stop');
        else pendingCalls.push({ group, state, calls });
      } else {
        state.finish(sequence.finishReason);
      }
      if (!state.finished && state.responseLength >= this.settings.maxResponseTokens) {
        state.finish('length');
      }
    });
    for (const [group, generated] of generatedByGroup) {
      group.rounds += 1;
      this.strategy.afterTurns?.(this, group, generated);
    }
    await this.runCalls(pendingCalls.filter(({ state }) => !state.finished));
  }

  private async runCalls(pending: { group: GroupState; state: TrajectoryState; calls: ToolCallParse[] }[]) {
    const tokenizer = this.environment.policy.tokenizer;
    const jobs: { entry: (typeof pending)[number]; call: ToolCallParse }[] = [];
    for (const entry of pending) {
      const { state, calls } = entry;
      const refusal = this.refusal(state, calls);
      if (refusal !== undefined) {
        // As the reference: a turn over the limit runs none of its calls and ends the trajectory.
        const refused: ToolCallRecord[] = calls.map((call) => ({
          toolName: call.toolName ?? '(unknown)',
          input: call.kind === 'call' ? call.input : call.raw,
          output: '',
          error: refusal,
          latencyMs: 0,
        }));
        const eos = this.settings.onToolLimit === 'eos' ? [tokenizer.specialTokens.eos] : [];
        state.appendEnvironmentTokens(eos, refused);
        state.finish('tool-limit');
        continue;
      }
      for (const call of calls) jobs.push({ entry, call });
    }
    const executed = await mapWithConcurrency(
      jobs,
      this.settings.toolConcurrency,
      async ({ entry, call }) => {
        this.events.emit({
          type: 'tool-call',
          trajectoryId: entry.state.id,
          toolName: call.toolName ?? '(unknown)',
        });
        const result = await executeToolCall({
          call,
          tools: this.toolsByName,
          timeoutMs: this.settings.toolTimeoutMs,
          signal: this.environment.signal,
        });
        const event: Parameters<EventSink['emit']>[0] = {
          type: 'tool-result',
          trajectoryId: entry.state.id,
          toolName: result.record.toolName,
          ok: result.result.ok,
          latencyMs: result.record.latencyMs,
        };
        if (!result.result.ok) event.errorCode = result.result.error.code;
        this.events.emit(event);
        return { entry, result };
      },
    );
    const resultsByEntry = new Map<(typeof pending)[number], (typeof executed)[number]['result'][]>();
    for (const job of executed) {
      const list = resultsByEntry.get(job.entry) ?? [];
      list.push(job.result);
      resultsByEntry.set(job.entry, list);
    }
    const withResults = new Map<GroupState, TrajectoryState[]>();
    for (const entry of pending) {
      if (entry.state.finished) continue;
      const mine = resultsByEntry.get(entry) ?? [];
      const text = this.environment.protocol.formatResults(
        mine.map(({ call, result }) => ({ call, result })),
      );
      entry.state.appendEnvironmentTokens(
        tokenizer.encode(text),
        mine.map((job) => job.record),
      );
      entry.state.toolCalls += mine.length;
      entry.group.toolCalls += mine.length;
      const end = entry.state.responseLength;
      for (const { call } of mine) entry.state.admittedCalls.push({ end, call });
      // A long tool result may overflow the response budget or the model's context: cut it there.
      const limit = Math.min(
        this.settings.maxResponseTokens,
        this.environment.policy.contextLength - entry.state.promptTokenIds.length,
      );
      if (entry.state.responseLength >= limit) {
        entry.state.truncate(limit);
        entry.state.finish('length');
        continue;
      }
      const list = withResults.get(entry.group) ?? [];
      list.push(entry.state);
      withResults.set(entry.group, list);
    }
    for (const [group, states] of withResults) this.strategy.afterToolResults?.(this, group, states);
  }

  /**
   * Why a turn's calls may not run: the loop's own `maxToolCalls`, then the protocol's budget (per-tool and
   * total limits), which records the calls it admits. `undefined` when they may run.
   */
  private refusal(state: TrajectoryState, calls: readonly ToolCallParse[]): ToolErrorInfo | undefined {
    if (state.toolCalls + calls.length > this.settings.maxToolCalls) {
      return { code: 'call-limit', message: `more than ${this.settings.maxToolCalls} tool calls` };
    }
    for (const call of calls) {
      const error = state.callBudget?.admit(call);
      if (error !== undefined) return error;
    }
    return undefined;
  }

  private buildGroup(group: GroupState, rounds: number): RolloutGroup {
    const trajectories = group.states.map((state) =>
      state.toTrajectory(
        state.parentIndex === undefined
          ? {}
          : { parentIndex: state.parentIndex, forkedAt: state.forkedAt ?? 0 },
      ),
    );
    const tree = this.strategy.branches
      ? group.tree.finish(group.states)
      : independentTree(group.prompt.promptId, trajectories);
    return {
      promptId: group.prompt.promptId,
      trajectories,
      tree,
      statistics: {
        computedTokens: group.computedTokens,
        reusedTokens: group.reusedTokens,
        toolCalls: group.toolCalls,
        rounds: Math.min(group.rounds, rounds),
      },
    };
  }
}
