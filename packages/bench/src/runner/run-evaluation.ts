import {
  type ChatMessage,
  InvalidArgumentError,
  type Policy,
  type Tool,
  type ToolCallProtocol,
  type Trajectory,
} from '@arpo/core';
import { type AgentLoopSettings, promptFromTask, RolloutEngine, type SamplerStrategy } from '@arpo/rollout';
import { builtInSystemPrompt } from '@arpo/tasks';
import type { BenchmarkItem } from '../datasets/benchmark-item.js';
import type { DatasetRecordError } from '../datasets/dataset-record-error.js';
import { type LoadBenchmarkOptions, loadBenchmark } from '../datasets/load-benchmark.js';
import type { SampleToolCall } from '../metrics/tool-usage.js';
import { createDefaultScorer } from '../scorers/rule-scorers.js';
import type { Scorer } from '../scorers/scorer.js';
import { ProgressBar, type ProgressStream } from './progress-bar.js';
import { ResultsWriter, readResultsFile, sampleKey } from './results-file.js';
import { ResultsMismatchError } from './results-mismatch-error.js';
import { buildRunHeader, checkRunHeader, itemFingerprint, type RunHeader } from './run-header.js';
import type { SampleRecord, TranscriptSegment } from './sample-record.js';
import { type EvaluationRunSummary, summarizeResults } from './summarize-results.js';

/** Agent-loop settings of an evaluation (the rollout engine's, minus nothing; `seed` defaults to 0). */
export type EvaluationSettings = Omit<AgentLoopSettings, 'seed'> & { seed?: number };

export interface RunEvaluationOptions {
  policy: Policy;
  tools?: readonly Tool[];
  protocol: ToolCallProtocol;
  /** Items to evaluate, or where to load them from (see `loadBenchmark`). */
  dataset: readonly BenchmarkItem[] | LoadBenchmarkOptions;
  /** Default: `createDefaultScorer()` (math equivalence / GSM8K numeric / SQuAD exact match by item kind). */
  scorer?: Scorer;
  /** Samples per item (n, for pass@k and maj@n). Default 1. */
  samples?: number;
  /** Temperature, token limits, tool-call limit, seed, ... of the agent loop. */
  settings?: EvaluationSettings;
  /** Rollouts in flight at once (parallel `generate` calls; what a remote server sees). Default 4. */
  concurrency?: number;
  /** Samples per rollout, generated together in one batched `generate` per turn (in-process policies). Default 1. */
  batchSize?: number;
  /** JSONL results file: finished samples are appended and flushed one by one; a re-run skips them. */
  resultsPath?: string;
  /** Flush every record to disk (`datasync`). Default true. */
  flush?: boolean;
  /**
   * The results file starts with a run header (seed, sample-defining settings, scorer, tools, dataset
   * fingerprint) and every record carries its item's fingerprint. When a re-run differs (another seed or
   * temperature, a changed item, a file without a header): `stop` (default) throws `ResultsMismatchError`
   * naming what differs; `restart` discards the file's samples and starts over.
   */
  onResultsMismatch?: 'stop' | 'restart';
  /**
   * Bad dataset records or results lines. `skip` leaves them out (and reruns a bad results line's sample).
   * `stop` (default) throws the `DatasetRecordError` naming file, line and field; for a bad dataset record the
   * items before it are evaluated and written first, so no finished result is lost.
   */
  onInvalid?: 'skip' | 'stop';
  /**
   * When a rollout fails (the policy throws, a server is down): `stop` (default) lets running rollouts finish and
   * be written, then throws; `skip` records the failure and continues (the sample reruns next time).
   */
  onSampleError?: 'skip' | 'stop';
  /** Messages of an item; default `item.prompt` or [system prompt, question]. */
  buildPrompt?: (item: BenchmarkItem) => ChatMessage[];
  /**
   * System prompt for items without their own prompt. Default: the ARPO tag instructions plus the protocol's tool
   * description; `null` for none.
   */
  systemPrompt?: string | null;
  /** Keep per-segment transcripts in the records. Default true. */
  transcripts?: boolean;
  /** Where the progress bar goes (a terminal gets a redrawn bar). Default none. */
  progress?: ProgressStream;
  /** Confidence level and resamples of the summary's bootstrap intervals. */
  confidence?: number;
  resamples?: number;
  signal?: AbortSignal;
}

export interface EvaluationResult {
  summary: EvaluationRunSummary;
  /** Every finished sample of the evaluated items, resumed and new, in item then sample order. */
  records: SampleRecord[];
  resumedSamples: number;
  newSamples: number;
  /** Bad dataset records and results lines that were skipped. */
  invalid: DatasetRecordError[];
  /** Rollouts that failed with `onSampleError: 'skip'`. */
  failed: { itemId: string; sampleIndex: number; message: string }[];
  aborted: boolean;
}

const evaluationStrategy: SamplerStrategy = {
  branches: false,
  turnEntropy: () => 0,
};

interface PendingSample {
  item: BenchmarkItem;
  sampleIndex: number;
}

function toolSpecsOf(tools: readonly Tool[]) {
  return tools.map((tool) => ({
    name: tool.name,
    description: tool.description,
    inputSchema: tool.inputSchema,
  }));
}

function positiveInteger(value: number, argument: string): number {
  if (!Number.isInteger(value) || value < 1) {
    throw new InvalidArgumentError({ argument, message: `must be a positive integer, got ${value}` });
  }
  return value;
}

/**
 * Evaluates a policy with tools over a dataset through the rollout engine's multi-turn agent loop: n samples
 * per item, `concurrency` rollouts of `batchSize` samples in flight, each finished sample scored, appended to the
 * results file and flushed before the next. Sample i of item x always uses the sampling seeds derived from
 * (seed, x, i), so a resumed run produces what an uninterrupted one would have.
 */
export async function runEvaluation(options: RunEvaluationOptions): Promise<EvaluationResult> {
  const samples = positiveInteger(options.samples ?? 1, 'samples');
  const concurrency = positiveInteger(options.concurrency ?? 4, 'concurrency');
  const batchSize = positiveInteger(options.batchSize ?? 1, 'batchSize');
  const onInvalid = options.onInvalid ?? 'stop';
  const onSampleError = options.onSampleError ?? 'stop';
  const tools = options.tools ?? [];
  const scorer = options.scorer ?? createDefaultScorer();
  const settings: AgentLoopSettings = { ...options.settings, seed: options.settings?.seed ?? 0 };
  const seed = settings.seed;

  // Dataset: with `stop`, evaluate the items before the first bad record, then throw it.
  let items: readonly BenchmarkItem[];
  const invalid: DatasetRecordError[] = [];
  let stopError: DatasetRecordError | undefined;
  if (Array.isArray(options.dataset)) items = options.dataset as readonly BenchmarkItem[];
  else {
    const loaded = await loadBenchmark({ ...(options.dataset as LoadBenchmarkOptions), onInvalid: 'skip' });
    items = loaded.items;
    if (loaded.invalid.length > 0) {
      if (onInvalid === 'skip') invalid.push(...loaded.invalid);
      else {
        const first = loaded.invalid[0] as DatasetRecordError;
        stopError = first;
        items = items.filter((item) => item.location.record < first.record);
      }
    }
  }

  const systemPrompt =
    options.systemPrompt === undefined
      ? [builtInSystemPrompt, options.protocol.describeTools?.(toolSpecsOf(tools))]
          .filter(Boolean)
          .join('\n\n')
      : options.systemPrompt;
  const buildPrompt =
    options.buildPrompt ??
    ((item: BenchmarkItem): ChatMessage[] =>
      item.prompt ?? [
        ...(systemPrompt === null || systemPrompt === ''
          ? []
          : [{ role: 'system' as const, content: systemPrompt }]),
        { role: 'user', content: item.question },
      ]);
  const prompts = new Map(items.map((item) => [item.id, buildPrompt(item)]));
  const fingerprints = new Map(
    items.map((item) => [item.id, itemFingerprint(item, prompts.get(item.id) as ChatMessage[])]),
  );
  const header = buildRunHeader({
    seed,
    settings,
    scorer: scorer.name,
    tools: tools.map((tool) => tool.name),
    itemFingerprints: [...fingerprints.values()],
  });

  // Resume: finished samples of the results file are kept and skipped, if the file is from this same run.
  const finished = new Map<string, SampleRecord>();
  let writeHeader = options.resultsPath !== undefined;
  let restart = false;
  if (options.resultsPath !== undefined) {
    const file = options.resultsPath;
    const previous = await readResultsFile(file);
    try {
      if (previous.header !== undefined) {
        writeHeader = false;
        checkRunHeader({
          file,
          previous: previous.header,
          current: header,
          records: previous.records,
          fingerprints,
        });
      } else if (previous.records.length + previous.invalid.length > 0) {
        throw new ResultsMismatchError({
          file,
          field: 'header',
          previous: 'missing (a file written before run headers, or not a results file)',
          current: JSON.stringify({ seed: header.seed, settings: header.settings }),
        });
      }
    } catch (error) {
      if (!ResultsMismatchError.isInstance(error) || options.onResultsMismatch !== 'restart') throw error;
      restart = true;
      writeHeader = true;
    }
    if (!restart) {
      if (previous.invalid.length > 0) {
        if (onInvalid === 'stop') throw previous.invalid[0];
        invalid.push(...previous.invalid);
      }
      for (const record of previous.records)
        finished.set(sampleKey(record.itemId, record.sampleIndex), record);
    }
  }
  const pending: PendingSample[] = [];
  let resumedSamples = 0;
  for (const item of items) {
    for (let sampleIndex = 0; sampleIndex < samples; sampleIndex++) {
      if (finished.has(sampleKey(item.id, sampleIndex))) resumedSamples += 1;
      else pending.push({ item, sampleIndex });
    }
  }

  const writer =
    options.resultsPath === undefined
      ? undefined
      : await ResultsWriter.open(options.resultsPath, { flush: options.flush ?? true, restart });
  if (writeHeader) await writer?.append(header as RunHeader);
  const progress =
    options.progress === undefined
      ? undefined
      : new ProgressBar(options.progress, items.length * samples, 'eval', resumedSamples);
  progress?.render();
  const failed: EvaluationResult['failed'] = [];
  const created: SampleRecord[] = [];
  let failure: unknown;
  const tokenizer = options.policy.tokenizer;

  async function runBatch(batch: readonly PendingSample[]): Promise<void> {
    const started = performance.now();
    const engine = new RolloutEngine(
      { policy: options.policy, tools, protocol: options.protocol, signal: options.signal },
      settings,
      evaluationStrategy,
    );
    for (const { item, sampleIndex } of batch) {
      const prompt = promptFromTask(
        {
          id: item.id,
          prompt: prompts.get(item.id) as ChatMessage[],
          references: item.references,
          tools: tools.map((tool) => tool.name),
        },
        tokenizer,
      );
      // One group per sample: its seeds depend on (item, sample), never on what else shares the batch.
      engine.addGroup({ ...prompt, promptId: sampleKey(item.id, sampleIndex) }, { initial: 1, budget: 1 });
    }
    const groups = await engine.run();
    for (let index = 0; index < batch.length; index++) {
      const { item, sampleIndex } = batch[index] as PendingSample;
      const trajectory = groups[index]?.trajectories[0];
      if (trajectory === undefined || trajectory.finishReason === 'abort') continue;
      const response = tokenizer.decode(trajectory.responseTokenIds, { skipSpecialTokens: true });
      const score = await scorer.score({ item, response, signal: options.signal });
      const record = buildRecord({
        item,
        sampleIndex,
        seed,
        trajectory,
        response,
        score,
        latencyMs: performance.now() - started,
        batchSize: batch.length,
        itemFingerprint: fingerprints.get(item.id) as string,
        transcript:
          options.transcripts === false
            ? undefined
            : transcriptOf(trajectory, tokenizer.decode.bind(tokenizer)),
      });
      await writer?.append(record);
      created.push(record);
      finished.set(sampleKey(item.id, sampleIndex), record);
      progress?.tick({ correct: record.correct });
    }
  }

  let next = 0;
  const stopped = () => failure !== undefined || options.signal?.aborted === true;
  async function worker(): Promise<void> {
    while (!stopped() && next < pending.length) {
      const batch = pending.slice(next, next + batchSize);
      next += batch.length;
      try {
        await runBatch(batch);
      } catch (error) {
        if (options.signal?.aborted === true) return;
        if (onSampleError === 'stop') {
          failure ??= error;
          return;
        }
        const message = error instanceof Error ? error.message : String(error);
        for (const { item, sampleIndex } of batch) failed.push({ itemId: item.id, sampleIndex, message });
      }
    }
  }
  try {
    await Promise.all(Array.from({ length: Math.min(concurrency, Math.max(pending.length, 1)) }, worker));
  } finally {
    progress?.finish();
    await writer?.close();
  }
  if (failure !== undefined) throw failure;
  if (stopError !== undefined) throw stopError;

  const records: SampleRecord[] = [];
  for (const item of items) {
    for (let sampleIndex = 0; sampleIndex < samples; sampleIndex++) {
      const record = finished.get(sampleKey(item.id, sampleIndex));
      if (record !== undefined) records.push(record);
    }
  }
  return {
    summary: summarizeResults(records, {
      samplesPerItem: samples,
      seed,
      confidence: options.confidence,
      resamples: options.resamples,
    }),
    records,
    resumedSamples,
    newSamples: created.length,
    invalid,
    failed,
    aborted: options.signal?.aborted === true,
  };
}

function toolCallsOf(trajectory: Trajectory): { executed: SampleToolCall[]; refused: number } {
  const executed: SampleToolCall[] = [];
  let refused = 0;
  for (const segment of trajectory.segments) {
    if (segment.kind !== 'tool') continue;
    for (const call of segment.calls) {
      if (call.error?.code === 'call-limit') {
        refused += 1;
        continue;
      }
      const entry: SampleToolCall = {
        tool: call.toolName,
        ok: call.error === undefined,
        latencyMs: call.latencyMs,
      };
      if (call.error !== undefined) entry.errorCode = call.error.code;
      executed.push(entry);
    }
  }
  return { executed, refused };
}

function transcriptOf(
  trajectory: Trajectory,
  decode: (tokenIds: ArrayLike<number>, options?: { skipSpecialTokens?: boolean }) => string,
): TranscriptSegment[] {
  return trajectory.segments.map((segment) => {
    const text = decode(trajectory.responseTokenIds.subarray(segment.start, segment.end));
    if (segment.kind === 'model') return { kind: 'model', text, finishReason: segment.finishReason };
    return {
      kind: 'tool',
      text,
      calls: segment.calls.map((call) => {
        const entry: NonNullable<TranscriptSegment['calls']>[number] = {
          tool: call.toolName,
          input: call.input,
          ok: call.error === undefined,
          latencyMs: call.latencyMs,
        };
        if (call.error !== undefined) entry.errorCode = call.error.code;
        return entry;
      }),
    };
  });
}

function buildRecord(input: {
  item: BenchmarkItem;
  sampleIndex: number;
  seed: number;
  trajectory: Trajectory;
  response: string;
  score: Awaited<ReturnType<Scorer['score']>>;
  latencyMs: number;
  batchSize: number;
  itemFingerprint: string;
  transcript: TranscriptSegment[] | undefined;
}): SampleRecord {
  const { item, trajectory, score } = input;
  let model = 0;
  for (const value of trajectory.lossMask) model += value;
  const { executed, refused } = toolCallsOf(trajectory);
  const record: SampleRecord = {
    type: 'sample',
    itemId: item.id,
    sampleIndex: input.sampleIndex,
    dataSource: item.dataSource,
    seed: input.seed,
    correct: score.correct,
    score: score.score,
    extracted: score.extracted ?? null,
    extraction: score.extraction,
    answerKey: score.answerKey ?? null,
    method: score.method,
    references: item.references,
    finishReason: trajectory.finishReason,
    toolCalls: executed,
    refusedToolCalls: refused,
    tokens: {
      prompt: trajectory.promptTokenIds.length,
      response: trajectory.responseTokenIds.length,
      model,
      tool: trajectory.responseTokenIds.length - model,
    },
    latencyMs: input.latencyMs,
    batchSize: input.batchSize,
    itemFingerprint: input.itemFingerprint,
    response: input.response,
    finishedAt: new Date().toISOString(),
  };
  if (input.transcript !== undefined) record.transcript = input.transcript;
  if (score.details !== undefined) record.details = score.details;
  return record;
}
