import type { Tensor } from '@huggingface/transformers';

type TensorConstructor = new (type: string, data: unknown, dims: number[]) => Tensor;

/** Typed arrays a KV tensor can hold on the CPU (float32, float16 as Uint16Array/Float16Array, ...). */
interface CopyableArray {
  length: number;
  subarray(begin: number, end: number): CopyableArray;
  set(source: CopyableArray, offset: number): void;
}

/**
 * The past keys/values of a batch of sequences that share one length: `past_key_values.{i}.key|value` tensors of
 * shape [batch, heads, length, headSize]. Immutable: every operation copies into new tensors.
 */
export class KeyValueCache {
  readonly tensors: Readonly<Record<string, Tensor>>;
  readonly batch: number;
  readonly length: number;
  private readonly TensorClass: TensorConstructor;

  constructor(tensors: Record<string, Tensor>, TensorClass: TensorConstructor) {
    this.tensors = tensors;
    this.TensorClass = TensorClass;
    const first = Object.values(tensors)[0];
    this.batch = first?.dims[0] ?? 0;
    this.length = first?.dims[2] ?? 0;
  }

  /** Converts a forward pass's `present.*` outputs into the next step's `past_key_values.*` inputs. */
  static fromPresent(outputs: Record<string, Tensor>, TensorClass: TensorConstructor): KeyValueCache {
    const tensors: Record<string, Tensor> = {};
    for (const name in outputs) {
      if (name.startsWith('present.'))
        tensors[`past_key_values.${name.slice('present.'.length)}`] = outputs[name] as Tensor;
    }
    return new KeyValueCache(tensors, TensorClass);
  }

  /** Rows `rows` of the batch (repeats allowed), first `length` positions. */
  select(rows: readonly number[], length: number = this.length): KeyValueCache {
    if (length > this.length) throw new RangeError(`cannot extend a cache of ${this.length} to ${length}`);
    const tensors: Record<string, Tensor> = {};
    for (const name in this.tensors) {
      const tensor = this.tensors[name] as Tensor;
      const [, heads = 0, , headSize = 0] = tensor.dims as number[];
      const source = tensor.data as unknown as CopyableArray & {
        constructor: new (length: number) => CopyableArray;
      };
      const rowStride = heads * this.length * headSize;
      const block = length * headSize;
      const target = new source.constructor(rows.length * heads * block);
      for (let row = 0; row < rows.length; row++) {
        for (let head = 0; head < heads; head++) {
          const from = (rows[row] as number) * rowStride + head * this.length * headSize;
          target.set(source.subarray(from, from + block), (row * heads + head) * block);
        }
      }
      tensors[name] = new this.TensorClass(tensor.type, target, [rows.length, heads, length, headSize]);
    }
    return new KeyValueCache(tensors, this.TensorClass);
  }

  /** Bytes held, for cache budgeting. */
  get byteLength(): number {
    let total = 0;
    for (const name in this.tensors)
      total += ((this.tensors[name] as Tensor).data as unknown as ArrayBufferView).byteLength;
    return total;
  }
}
