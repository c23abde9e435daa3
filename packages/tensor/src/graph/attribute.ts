import type { DataType, TensorArray } from './dtype.js';

/** An ONNX node attribute, typed the way the protobuf needs it (ints and floats are distinct there). */
export type AttributeValue =
  | { readonly type: 'int'; readonly value: number }
  | { readonly type: 'float'; readonly value: number }
  | { readonly type: 'ints'; readonly value: readonly number[] }
  | { readonly type: 'floats'; readonly value: readonly number[] }
  | { readonly type: 'string'; readonly value: string }
  | { readonly type: 'tensor'; readonly value: { readonly dtype: DataType; readonly data: TensorArray } };

export type Attributes = Readonly<Record<string, AttributeValue>>;

export const intAttribute = (value: number): AttributeValue => ({ type: 'int', value });
export const floatAttribute = (value: number): AttributeValue => ({ type: 'float', value });
export const intsAttribute = (value: readonly number[]): AttributeValue => ({ type: 'ints', value });
export const stringAttribute = (value: string): AttributeValue => ({ type: 'string', value });

/** Reads an int attribute with a default. */
export function readInt(attributes: Attributes, name: string, fallback: number): number {
  const attribute = attributes[name];
  return attribute && (attribute.type === 'int' || attribute.type === 'float') ? attribute.value : fallback;
}

export function readFloat(attributes: Attributes, name: string, fallback: number): number {
  return readInt(attributes, name, fallback);
}

export function readInts(attributes: Attributes, name: string): readonly number[] | undefined {
  const attribute = attributes[name];
  return attribute && (attribute.type === 'ints' || attribute.type === 'floats')
    ? attribute.value
    : undefined;
}

export function readString(attributes: Attributes, name: string, fallback: string): string {
  const attribute = attributes[name];
  return attribute && attribute.type === 'string' ? attribute.value : fallback;
}
