/**
 * One dimension of a symbolic shape: a number when known when the graph is built, or a name ('batch', 'seq')
 * bound to a number when the graph runs. Equal names mean equal sizes.
 */
export type Dim = number | string;
export type Shape = readonly Dim[];

export function formatShape(shape: Shape): string {
  return `[${shape.join(', ')}]`;
}

export function isStaticShape(shape: Shape): shape is readonly number[] {
  return shape.every((dim) => typeof dim === 'number');
}

/** Number of elements of a static shape. */
export function shapeSize(shape: readonly number[]): number {
  let size = 1;
  for (const dim of shape) size *= dim;
  return size;
}

/** Normalises a possibly negative axis; undefined when out of range. */
export function normalizeAxis(axis: number, rank: number): number | undefined {
  const normalized = axis < 0 ? axis + rank : axis;
  return Number.isInteger(normalized) && normalized >= 0 && normalized < rank ? normalized : undefined;
}

/**
 * Numpy-style broadcast of two dims. A named dim against a number other than 1 is taken to equal that
 * number; two different names cannot be proven compatible and yield undefined.
 */
export function broadcastDim(left: Dim, right: Dim): Dim | undefined {
  if (left === right) return left;
  if (left === 1) return right;
  if (right === 1) return left;
  if (typeof left === 'number' && typeof right === 'number') return undefined;
  if (typeof left === 'number') return left;
  if (typeof right === 'number') return right;
  // Derived names ('batch*seq') are not canonical, so two of them cannot be told apart: trust the graph.
  if (isDerivedDim(left)) return right;
  if (isDerivedDim(right)) return left;
  return undefined;
}

/** A name computed from other dims ('past+seq', 'batch*seq'), as opposed to one a user declared. */
export function isDerivedDim(dim: Dim): boolean {
  return typeof dim === 'string' && /[*+/[\]-]/.test(dim);
}

/** Whether two dims can be equal at run time. */
export function dimsCompatible(left: Dim, right: Dim): boolean {
  if (left === right || isDerivedDim(left) || isDerivedDim(right)) return true;
  // A name against a number may hold; two numbers or two declared names must be equal.
  return typeof left !== typeof right;
}

/** The dim a reshape infers (-1): input dims left after cancelling the target's other dims. */
export function inferredReshapeDim(input: Shape, others: Shape): Dim {
  if (isStaticShape(input) && isStaticShape(others)) return shapeSize(input) / Math.max(1, shapeSize(others));
  const remaining: Dim[] = [...input];
  let divisor = 1;
  for (const dim of others) {
    const index = remaining.indexOf(dim);
    if (index >= 0) remaining.splice(index, 1);
    else if (typeof dim === 'number') divisor *= dim;
    else return `${multiplyDims(input)}/${multiplyDims(others)}`;
  }
  if (divisor !== 1) {
    const known = remaining.filter((dim): dim is number => typeof dim === 'number');
    const knownProduct = known.reduce((a, b) => a * b, 1);
    if (knownProduct % divisor !== 0) return `${multiplyDims(remaining)}/${divisor}`;
    const symbols = remaining.filter((dim) => typeof dim === 'string');
    return multiplyDims([knownProduct / divisor, ...symbols]);
  }
  return multiplyDims(remaining);
}

/** Broadcast result of several shapes, or undefined when they are incompatible. */
export function broadcastShapes(shapes: readonly Shape[]): Shape | undefined {
  const rank = Math.max(0, ...shapes.map((shape) => shape.length));
  const result: Dim[] = [];
  for (let axis = 0; axis < rank; axis++) {
    let dim: Dim = 1;
    for (const shape of shapes) {
      const offset = axis - (rank - shape.length);
      if (offset < 0) continue;
      const next = broadcastDim(dim, shape[offset]!);
      if (next === undefined) return undefined;
      dim = next;
    }
    result.push(dim);
  }
  return result;
}

/** Product of dims: a number when all are known, otherwise a name like 'batch*seq'. */
export function multiplyDims(dims: readonly Dim[]): Dim {
  let known = 1;
  const names: string[] = [];
  for (const dim of dims) {
    if (typeof dim === 'number') known *= dim;
    else names.push(dim);
  }
  if (names.length === 0) return known;
  if (known === 0) return 0;
  const symbolic = names.join('*');
  return known === 1 ? symbolic : `${known}*${symbolic}`;
}

/** Sum of dims: a number when all are known, otherwise a name like 'past+seq'. */
export function addDims(dims: readonly Dim[]): Dim {
  let known = 0;
  const names: string[] = [];
  for (const dim of dims) {
    if (typeof dim === 'number') known += dim;
    else names.push(dim);
  }
  if (names.length === 0) return known;
  const symbolic = names.join('+');
  return known === 0 ? symbolic : `${symbolic}+${known}`;
}
