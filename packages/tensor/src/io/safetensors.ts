import { randomBytes } from 'node:crypto';
import { open, readFile, rename, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import { SafetensorsFormatError } from '../errors/safetensors-format-error.js';
import type { DataType, TensorArray } from '../graph/dtype.js';
import type { TensorValue } from '../runtime/compiled-graph.js';

/** Tensors by name plus string metadata (`__metadata__`), as stored in a .safetensors file. */
export interface SafetensorsContent {
  tensors: Map<string, TensorValue>;
  metadata: Record<string, string>;
}

const codes: Record<DataType, string> = {
  float32: 'F32',
  float64: 'F64',
  int32: 'I32',
  int64: 'I64',
  uint8: 'U8',
  bool: 'BOOL',
};

const elementSizes: Record<string, number> = {
  F32: 4,
  F64: 8,
  I32: 4,
  I64: 8,
  U8: 1,
  BOOL: 1,
  F16: 2,
  BF16: 2,
};

function dtypeOf(data: TensorArray): DataType {
  if (data instanceof Float32Array) return 'float32';
  if (data instanceof Float64Array) return 'float64';
  if (data instanceof Int32Array) return 'int32';
  if (data instanceof BigInt64Array) return 'int64';
  return 'uint8';
}

/** Encodes tensors to safetensors bytes (little-endian, header padded to 8 bytes). */
export function encodeSafetensors(
  tensors: ReadonlyMap<string, TensorValue>,
  metadata: Record<string, string> = {},
): Uint8Array {
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length > 0) header.__metadata__ = metadata;
  let offset = 0;
  const entries = [...tensors.entries()];
  for (const [name, tensor] of entries) {
    const size = tensor.shape.reduce((a, b) => a * b, 1);
    if (size !== tensor.data.length) {
      throw new SafetensorsFormatError({
        path: name,
        detail: `shape [${tensor.shape.join(', ')}] does not hold ${tensor.data.length} values`,
      });
    }
    header[name] = {
      dtype: codes[dtypeOf(tensor.data)],
      shape: tensor.shape,
      data_offsets: [offset, offset + tensor.data.byteLength],
    };
    offset += tensor.data.byteLength;
  }
  let headerText = JSON.stringify(header);
  headerText += ' '.repeat((8 - ((Buffer.byteLength(headerText) + 8) % 8)) % 8);
  const headerBytes = Buffer.from(headerText, 'utf8');
  const bytes = new Uint8Array(8 + headerBytes.length + offset);
  new DataView(bytes.buffer).setBigUint64(0, BigInt(headerBytes.length), true);
  bytes.set(headerBytes, 8);
  let position = 8 + headerBytes.length;
  for (const [, tensor] of entries) {
    bytes.set(new Uint8Array(tensor.data.buffer, tensor.data.byteOffset, tensor.data.byteLength), position);
    position += tensor.data.byteLength;
  }
  return bytes;
}

function halfToFloat(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const fraction = bits & 0x3ff;
  if (exponent === 0) return sign * 2 ** -14 * (fraction / 1024);
  if (exponent === 0x1f) return fraction ? Number.NaN : sign * Number.POSITIVE_INFINITY;
  return sign * 2 ** (exponent - 15) * (1 + fraction / 1024);
}

/** Decodes safetensors bytes. F16 and BF16 tensors are widened to float32. */
export function decodeSafetensors(bytes: Uint8Array, source = 'safetensors'): SafetensorsContent {
  const fail = (detail: string): never => {
    throw new SafetensorsFormatError({ path: source, detail });
  };
  if (bytes.length < 8) fail('shorter than the 8-byte header length');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = Number(view.getBigUint64(0, true));
  if (8 + headerLength > bytes.length) fail(`header length ${headerLength} exceeds the file`);
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(Buffer.from(bytes.subarray(8, 8 + headerLength)).toString('utf8')) as Record<
      string,
      unknown
    >;
  } catch (error) {
    throw new SafetensorsFormatError({ path: source, detail: 'header is not JSON', cause: error });
  }
  const dataStart = 8 + headerLength;
  const tensors = new Map<string, TensorValue>();
  let metadata: Record<string, string> = {};
  for (const [name, entry] of Object.entries(header)) {
    if (name === '__metadata__') {
      metadata = entry as Record<string, string>;
      continue;
    }
    const {
      dtype,
      shape,
      data_offsets: offsets,
    } = entry as { dtype: string; shape: number[]; data_offsets: [number, number] };
    if (!Array.isArray(shape) || !Array.isArray(offsets) || offsets.length !== 2)
      fail(`tensor '${name}' has a malformed entry`);
    const [begin, end] = offsets;
    if (begin < 0 || end < begin || dataStart + end > bytes.length)
      fail(`tensor '${name}' lies outside the file`);
    // A copy, aligned at 0: Buffer#slice (readFile returns a Buffer) would be a view into a shared pool.
    const raw = Uint8Array.prototype.slice.call(bytes, dataStart + begin, dataStart + end);
    const size = shape.reduce((a, b) => a * b, 1);
    const elementBytes = elementSizes[dtype];
    if (elementBytes === undefined) return fail(`tensor '${name}' has unsupported dtype ${dtype}`);
    if (raw.byteLength !== size * elementBytes) {
      fail(`tensor '${name}': ${raw.byteLength} bytes do not match shape [${shape.join(', ')}] of ${dtype}`);
    }
    let data: TensorArray;
    switch (dtype) {
      case 'F32':
        data = new Float32Array(raw.buffer, 0, size);
        break;
      case 'F64':
        data = new Float64Array(raw.buffer, 0, size);
        break;
      case 'I32':
        data = new Int32Array(raw.buffer, 0, size);
        break;
      case 'I64':
        data = new BigInt64Array(raw.buffer, 0, size);
        break;
      case 'U8':
      case 'BOOL':
        data = raw;
        break;
      case 'F16':
      case 'BF16': {
        const halves = new Uint16Array(raw.buffer, 0, size);
        const widened = new Float32Array(size);
        const bits = new Uint32Array(widened.buffer);
        for (let index = 0; index < size; index++) {
          if (dtype === 'BF16') bits[index] = halves[index]! << 16;
          else widened[index] = halfToFloat(halves[index]!);
        }
        data = widened;
        break;
      }
      default:
        return fail(`tensor '${name}' has unsupported dtype ${dtype}`);
    }
    tensors.set(name, { data, shape });
  }
  return { tensors, metadata };
}

/**
 * Writes tensors to `path` atomically: the bytes go to a temporary file in the same directory, are flushed
 * to disk, and the file is renamed over `path`, so readers never see a half-written checkpoint; the directory
 * is then flushed too, so the rename itself survives a crash.
 */
export async function writeSafetensors(
  path: string,
  tensors: ReadonlyMap<string, TensorValue>,
  metadata: Record<string, string> = {},
): Promise<void> {
  const bytes = encodeSafetensors(tensors, metadata);
  const temporary = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    const handle = await open(temporary, 'w');
    try {
      await handle.writeFile(bytes);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temporary, path);
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
  await syncDirectory(dirname(path));
}

/** Flushes a directory entry (the rename above), so a crash right after the write keeps the new file. */
async function syncDirectory(directory: string): Promise<void> {
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    handle = await open(directory, 'r');
  } catch (error) {
    // Windows cannot open a directory for reading; there the rename is all the platform offers.
    if (isUnsupported(error)) return;
    throw error;
  }
  try {
    await handle.sync();
  } catch (error) {
    if (!isUnsupported(error)) throw error;
  } finally {
    await handle.close();
  }
}

function isUnsupported(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === 'EISDIR' || code === 'EPERM' || code === 'EINVAL' || code === 'ENOTSUP';
}

export async function readSafetensors(path: string): Promise<SafetensorsContent> {
  return decodeSafetensors(await readFile(path), path);
}
