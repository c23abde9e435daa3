import type { TensorValue } from '@arpo/tensor';

/** A protobuf reader over the few ONNX fields needed: ModelProto.graph → GraphProto.initializer → TensorProto. */
class ProtoReader {
  offset = 0;
  constructor(
    readonly bytes: Uint8Array,
    private readonly end = bytes.length,
  ) {}

  get done(): boolean {
    return this.offset >= this.end;
  }

  varint(): number {
    let result = 0;
    let shift = 0;
    for (;;) {
      const byte = this.bytes[this.offset++] as number;
      result += (byte & 0x7f) * 2 ** shift;
      if (byte < 0x80) return result;
      shift += 7;
    }
  }

  /** Field number, wire type. */
  tag(): [number, number] {
    const tag = this.varint();
    return [Math.floor(tag / 8), tag & 7];
  }

  slice(): { start: number; end: number } {
    const length = this.varint();
    const start = this.offset;
    this.offset += length;
    return { start, end: start + length };
  }

  skip(wireType: number): void {
    if (wireType === 0) this.varint();
    else if (wireType === 1) this.offset += 8;
    else if (wireType === 2) this.slice();
    else if (wireType === 5) this.offset += 4;
    else throw new Error(`unsupported protobuf wire type ${wireType} at byte ${this.offset}`);
  }
}

const floatType = 1;

function readTensor(
  bytes: Uint8Array,
  start: number,
  end: number,
): { name: string; value: TensorValue | undefined } {
  const reader = new ProtoReader(bytes, end);
  reader.offset = start;
  const dims: number[] = [];
  let name = '';
  let dataType = 0;
  let raw: { start: number; end: number } | undefined;
  while (!reader.done) {
    const [field, wireType] = reader.tag();
    if (field === 1 && wireType === 0) dims.push(reader.varint());
    else if (field === 1 && wireType === 2) {
      const packed = reader.slice();
      const inner = new ProtoReader(bytes, packed.end);
      inner.offset = packed.start;
      while (!inner.done) dims.push(inner.varint());
    } else if (field === 2 && wireType === 0) dataType = reader.varint();
    else if (field === 8 && wireType === 2) {
      const text = reader.slice();
      name = new TextDecoder().decode(bytes.subarray(text.start, text.end));
    } else if (field === 9 && wireType === 2) raw = reader.slice();
    else reader.skip(wireType);
  }
  // Graph constants (int64 shapes, ...) are initializers too; weights are float32 raw data.
  if (dataType !== floatType || raw === undefined) return { name, value: undefined };
  // Copy: raw data need not be 4-byte aligned inside the file buffer.
  const data = new Float32Array(bytes.slice(raw.start, raw.end).buffer);
  return { name, value: { data, shape: dims } };
}

/** The float32 initializers (baked weights) of an ONNX model file, by name. */
export function readOnnxInitializers(bytes: Uint8Array): Map<string, TensorValue> {
  const initializers = new Map<string, TensorValue>();
  const model = new ProtoReader(bytes);
  while (!model.done) {
    const [field, wireType] = model.tag();
    if (field !== 7 || wireType !== 2) {
      model.skip(wireType);
      continue;
    }
    const graph = model.slice();
    const reader = new ProtoReader(bytes, graph.end);
    reader.offset = graph.start;
    while (!reader.done) {
      const [graphField, graphWire] = reader.tag();
      if (graphField === 5 && graphWire === 2) {
        const tensor = reader.slice();
        const { name, value } = readTensor(bytes, tensor.start, tensor.end);
        if (value !== undefined) initializers.set(name, value);
      } else reader.skip(graphWire);
    }
  }
  return initializers;
}
