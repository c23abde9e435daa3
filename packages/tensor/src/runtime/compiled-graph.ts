import * as ort from 'onnxruntime-node';
import { GraphExecutionError } from '../errors/graph-execution-error.js';
import { MissingInputError } from '../errors/missing-input-error.js';
import { TensorDtypeError } from '../errors/tensor-dtype-error.js';
import { TensorShapeError } from '../errors/tensor-shape-error.js';
import { type DataType, dataTypeOfArray, type TensorArray } from '../graph/dtype.js';
import type { Graph, SymbolicTensor } from '../graph/graph.js';
import { formatShape, isDerivedDim, type Shape } from '../graph/shape.js';
import { serializeGraph } from '../onnx/serialize.js';

/** A concrete tensor fed to or returned by a compiled graph. */
export interface TensorValue {
  readonly data: TensorArray;
  readonly shape: readonly number[];
}

export interface CompileOptions {
  /** Graph outputs by name. Only the nodes these need are compiled. */
  outputs: Readonly<Record<string, SymbolicTensor>>;
  /** onnxruntime intra-op threads (default 2). */
  threads?: number;
  /**
   * Let idle onnxruntime worker threads spin for work (default true: lowest latency on an idle machine).
   * Turn off when the cores are shared with other busy processes.
   */
  spinning?: boolean;
  /**
   * Compile one session per binding of the named dims (written as fixed sizes, so onnxruntime can plan
   * memory and fold shape computations) instead of one session for all shapes. Default false.
   */
  specializeShapes?: boolean;
  /**
   * Parameter values baked into the model as initializers (see `serializeGraph`): they are no longer inputs,
   * so `run` needs no feeds for them and onnxruntime keeps them in its own memory.
   */
  initializers?: ReadonlyMap<string, TensorValue>;
}

export interface GraphInputSpec {
  readonly name: string;
  readonly dtype: DataType;
  readonly shape: Shape;
}

/**
 * A graph compiled for onnxruntime. Parameters are ordinary inputs, so one session serves every training
 * step; sessions are created lazily and cached (per shape binding with `specializeShapes`).
 */
export class CompiledGraph {
  readonly name: string;
  readonly inputs: readonly GraphInputSpec[];
  readonly outputNames: readonly string[];
  private readonly sessions = new Map<string, Promise<ort.InferenceSession>>();

  private constructor(
    private readonly graph: Graph,
    private readonly options: CompileOptions,
    inputs: readonly SymbolicTensor[],
    private readonly unspecializedBytes: Uint8Array | undefined,
  ) {
    this.name = graph.name;
    this.inputs = inputs.map(({ name, dtype, shape }) => ({ name, dtype, shape }));
    this.outputNames = Object.keys(options.outputs);
  }

  /** Serializes the graph and (unless shapes are specialised) creates its session. */
  static async create(graph: Graph, options: CompileOptions): Promise<CompiledGraph> {
    const serialized = serializeGraph(graph, {
      outputs: options.outputs,
      ...(options.initializers === undefined ? {} : { initializers: options.initializers }),
    });
    const compiled = new CompiledGraph(
      graph,
      options,
      serialized.inputs,
      options.specializeShapes ? undefined : serialized.bytes,
    );
    if (!options.specializeShapes) await compiled.sessionFor({});
    return compiled;
  }

  /**
   * Runs the graph. Feeds are checked against the declared dtypes and shapes first. `options.outputs` may
   * hold preallocated arrays (of the right size) that onnxruntime writes into instead of allocating new ones,
   * which keeps large gradient outputs from churning the heap at every step.
   */
  async run(
    feeds: Readonly<Record<string, TensorValue>>,
    options: { outputs?: Readonly<Record<string, TensorValue>> } = {},
  ): Promise<Record<string, TensorValue>> {
    const bindings = this.checkFeeds(feeds);
    const session = await this.sessionFor(this.options.specializeShapes ? bindings : {});
    const ortFeeds: Record<string, ort.Tensor> = {};
    for (const input of this.inputs) {
      const value = feeds[input.name]!;
      ortFeeds[input.name] = new ort.Tensor(
        input.dtype,
        value.data as ort.Tensor.DataType,
        value.shape as number[],
      );
    }
    let fetches: Record<string, ort.Tensor | null> | undefined;
    if (options.outputs) {
      fetches = {};
      for (const name of this.outputNames) {
        const preallocated = options.outputs[name];
        fetches[name] = preallocated
          ? new ort.Tensor(
              this.options.outputs[name]!.dtype,
              preallocated.data as ort.Tensor.DataType,
              preallocated.shape as number[],
            )
          : null;
      }
    }
    let results: ort.InferenceSession.ReturnType;
    try {
      results = fetches ? await session.run(ortFeeds, fetches) : await session.run(ortFeeds);
    } catch (error) {
      throw new GraphExecutionError({ graph: this.name, stage: 'run', cause: error });
    }
    const outputs: Record<string, TensorValue> = {};
    for (const name of this.outputNames) {
      const preallocated = options.outputs?.[name];
      const tensor = results[name]!;
      outputs[name] = preallocated ?? { data: tensor.data as TensorArray, shape: tensor.dims };
    }
    return outputs;
  }

  /** Releases every cached session. */
  async dispose(): Promise<void> {
    const sessions = [...this.sessions.values()];
    this.sessions.clear();
    for (const session of sessions) await (await session).release();
  }

  private checkFeeds(feeds: Readonly<Record<string, TensorValue>>): Record<string, number> {
    const bindings: Record<string, number> = {};
    for (const input of this.inputs) {
      const value = feeds[input.name];
      const where = `input '${input.name}' of graph '${this.name}'`;
      if (!value) {
        throw new MissingInputError({
          graph: this.name,
          input: input.name,
          expected: `${input.dtype}${formatShape(input.shape)}`,
        });
      }
      const actual = dataTypeOfArray(value.data);
      if (actual !== input.dtype && !(actual === 'uint8' && input.dtype === 'bool')) {
        throw new TensorDtypeError({ op: where, detail: `expected ${input.dtype}`, dtypes: [actual] });
      }
      const mismatch = (detail: string) =>
        new TensorShapeError({ op: where, detail, shapes: [value.shape, input.shape] });
      if (value.shape.length !== input.shape.length) throw mismatch(`expected rank ${input.shape.length}`);
      let size = 1;
      value.shape.forEach((dim, axis) => {
        size *= dim;
        const declared = input.shape[axis]!;
        if (typeof declared === 'number') {
          if (declared !== dim) throw mismatch(`axis ${axis} must be ${declared}`);
        } else if (!isDerivedDim(declared)) {
          const bound = bindings[declared];
          if (bound !== undefined && bound !== dim)
            throw mismatch(`'${declared}' is ${bound} elsewhere, ${dim} here`);
          bindings[declared] = dim;
        }
      });
      if (value.data.length !== size) throw mismatch(`${value.data.length} values do not fill the shape`);
    }
    return bindings;
  }

  private sessionFor(bindings: Record<string, number>): Promise<ort.InferenceSession> {
    const key = JSON.stringify(Object.entries(bindings).sort(([a], [b]) => a.localeCompare(b)));
    let session = this.sessions.get(key);
    if (!session) {
      const bytes =
        this.unspecializedBytes ??
        serializeGraph(this.graph, {
          outputs: this.options.outputs,
          bindings,
          ...(this.options.initializers === undefined ? {} : { initializers: this.options.initializers }),
        }).bytes;
      session = ort.InferenceSession.create(bytes, {
        intraOpNumThreads: this.options.threads ?? 2,
        interOpNumThreads: 1,
        graphOptimizationLevel: 'all',
        executionMode: 'sequential',
        logSeverityLevel: 3,
        extra: { session: { intra_op: { allow_spinning: this.options.spinning === false ? '0' : '1' } } },
      }).catch((error: unknown) => {
        this.sessions.delete(key);
        throw new GraphExecutionError({ graph: this.name, stage: 'load', cause: error });
      });
      this.sessions.set(key, session);
    }
    return session;
  }
}
