/** Element types the graph builder supports (ONNX names in parentheses): float32 (FLOAT), float64 (DOUBLE), ... */
export type DataType = 'float32' | 'float64' | 'int32' | 'int64' | 'bool' | 'uint8';

/** The typed array that holds a tensor of each data type at run time. */
export interface TypedArrayOf {
  float32: Float32Array;
  float64: Float64Array;
  int32: Int32Array;
  int64: BigInt64Array;
  bool: Uint8Array;
  uint8: Uint8Array;
}

export type TensorArray = TypedArrayOf[DataType];

/** ONNX `TensorProto.DataType` codes. */
export const onnxDataTypeCode: Readonly<Record<DataType, number>> = {
  float32: 1,
  uint8: 2,
  int32: 6,
  int64: 7,
  bool: 9,
  float64: 11,
};

export const dataTypeByteSize: Readonly<Record<DataType, number>> = {
  float32: 4,
  float64: 8,
  int32: 4,
  int64: 8,
  bool: 1,
  uint8: 1,
};

export function isFloatType(dtype: DataType): boolean {
  return dtype === 'float32' || dtype === 'float64';
}

/** The data type of a typed array as onnxruntime reports it, mapped to ours. */
export function dataTypeOfArray(array: TensorArray): DataType {
  if (array instanceof Float32Array) return 'float32';
  if (array instanceof Float64Array) return 'float64';
  if (array instanceof Int32Array) return 'int32';
  if (array instanceof BigInt64Array) return 'int64';
  return 'uint8';
}

/** onnxruntime-common's type names for our data types. */
export const ortTypeName: Readonly<
  Record<DataType, 'float32' | 'float64' | 'int32' | 'int64' | 'bool' | 'uint8'>
> = {
  float32: 'float32',
  float64: 'float64',
  int32: 'int32',
  int64: 'int64',
  bool: 'bool',
  uint8: 'uint8',
};

export function createTypedArray<T extends DataType>(dtype: T, length: number): TypedArrayOf[T] {
  switch (dtype) {
    case 'float32':
      return new Float32Array(length) as TypedArrayOf[T];
    case 'float64':
      return new Float64Array(length) as TypedArrayOf[T];
    case 'int32':
      return new Int32Array(length) as TypedArrayOf[T];
    case 'int64':
      return new BigInt64Array(length) as TypedArrayOf[T];
    default:
      return new Uint8Array(length) as TypedArrayOf[T];
  }
}
