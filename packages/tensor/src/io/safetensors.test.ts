import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SafetensorsFormatError } from '../errors/safetensors-format-error.js';
import { decodeSafetensors, encodeSafetensors, readSafetensors, writeSafetensors } from './safetensors.js';

let directory: string;
beforeEach(async () => {
  directory = await mkdtemp(join(tmpdir(), 'arpo-safetensors-'));
});
afterEach(async () => {
  await rm(directory, { recursive: true, force: true });
});

describe('safetensors', () => {
  it('round-trips tensors of every dtype with metadata, atomically', async () => {
    const tensors = new Map([
      ['weight', { data: Float32Array.from([1.5, -2, 3, 4, 5, 6]), shape: [2, 3] }],
      ['double', { data: Float64Array.from([Math.PI]), shape: [1] }],
      ['ids', { data: Int32Array.from([7, -8]), shape: [2] }],
      ['big', { data: BigInt64Array.from([1n << 40n]), shape: [] }],
      ['bytes', { data: Uint8Array.from([1, 2, 3]), shape: [3] }],
    ]);
    const path = join(directory, 'model.safetensors');
    await writeSafetensors(path, tensors, { step: '12' });
    expect(await readdir(directory)).toEqual(['model.safetensors']);
    const { tensors: loaded, metadata } = await readSafetensors(path);
    expect(metadata).toEqual({ step: '12' });
    for (const [name, tensor] of tensors) {
      expect(loaded.get(name)!.shape).toEqual(tensor.shape);
      expect(Array.from(loaded.get(name)!.data as ArrayLike<number>)).toEqual(
        Array.from(tensor.data as ArrayLike<number>),
      );
    }
    expect(loaded.get('double')!.data).toBeInstanceOf(Float64Array);
  });

  it('writes the documented layout: u64 header length, JSON header, 8-byte aligned data', async () => {
    const bytes = encodeSafetensors(new Map([['a', { data: Float32Array.from([1, 2]), shape: [2] }]]));
    const headerLength = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    expect((8 + headerLength) % 8).toBe(0);
    const header = JSON.parse(Buffer.from(bytes.subarray(8, 8 + headerLength)).toString('utf8'));
    expect(header).toEqual({ a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } });
    expect(Array.from(new Float32Array(bytes.slice(8 + headerLength).buffer))).toEqual([1, 2]);
  });

  it('widens F16 and BF16 to float32', () => {
    const header = JSON.stringify({
      h: { dtype: 'F16', shape: [2], data_offsets: [0, 4] },
      b: { dtype: 'BF16', shape: [1], data_offsets: [4, 6] },
    });
    const padded = header + ' '.repeat((8 - ((header.length + 8) % 8)) % 8);
    const bytes = new Uint8Array(8 + padded.length + 6);
    new DataView(bytes.buffer).setBigUint64(0, BigInt(padded.length), true);
    bytes.set(Buffer.from(padded), 8);
    const data = new DataView(bytes.buffer, 8 + padded.length);
    data.setUint16(0, 0x3c00, true); // 1.0 in half precision
    data.setUint16(2, 0xc000, true); // -2.0
    data.setUint16(4, 0x4049, true); // ~3.14 in bfloat16
    const { tensors } = decodeSafetensors(bytes);
    expect(Array.from(tensors.get('h')!.data as Float32Array)).toEqual([1, -2]);
    expect((tensors.get('b')!.data as Float32Array)[0]).toBeCloseTo(3.140625, 6);
  });

  it('rejects malformed files with a typed error naming the file', async () => {
    const path = join(directory, 'broken.safetensors');
    await writeFile(path, Buffer.from([200, 0, 0, 0, 0, 0, 0, 0, 123]));
    const error = await readSafetensors(path).catch((caught: unknown) => caught);
    expect(SafetensorsFormatError.isInstance(error)).toBe(true);
    expect((error as Error).message).toContain(`${path}: header length 200 exceeds the file`);
    const bytes = encodeSafetensors(new Map([['a', { data: Float32Array.from([1, 2]), shape: [2] }]]));
    await writeFile(path, bytes.subarray(0, bytes.length - 4));
    await expect(readSafetensors(path)).rejects.toThrow(/tensor 'a' lies outside the file/);
    expect(await readFile(path)).toHaveLength(bytes.length - 4);
  });
});
