import { ArpoError } from '@arpo/core';

const name = 'ArpoGraphExecutionError';
const marker = `arpo.error.${name}`;
const symbol = Symbol.for(marker);

/** onnxruntime failed to load or run a compiled graph (the cause holds onnxruntime's message). */
export class GraphExecutionError extends ArpoError {
  private readonly [symbol] = true;

  readonly graph: string;

  constructor(options: { graph: string; stage: 'load' | 'run'; cause: unknown }) {
    const detail = options.cause instanceof Error ? options.cause.message : String(options.cause);
    super({
      name,
      code: 'graph-execution-failed',
      message: `Graph '${options.graph}' failed to ${options.stage}: ${detail}`,
      cause: options.cause,
    });
    this.graph = options.graph;
  }

  static override isInstance(error: unknown): error is GraphExecutionError {
    return ArpoError.hasMarker(error, marker);
  }
}
