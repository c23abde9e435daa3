/**
 * Indices of the `count` largest values of `values[offset, offset + length)`, written to `output` in descending
 * order (ties: lower index first). A bounded min-heap: O(length · log count), no allocation.
 * Returns how many indices were written (`min(count, length)`).
 */
export function selectTopIndices(
  values: Float32Array,
  offset: number,
  length: number,
  count: number,
  output: Int32Array,
): number {
  const size = Math.min(count, length, output.length);
  if (size <= 0) return 0;
  // Min-heap in output[0, size): the root is the worst kept candidate.
  let filled = 0;
  for (let index = 0; index < length; index++) {
    const value = values[offset + index] as number;
    if (Number.isNaN(value)) continue; // NaN never wins
    if (filled < size) {
      output[filled] = index;
      siftUp(values, offset, output, filled);
      filled++;
    } else if (
      isBetter(value, index, values[offset + (output[0] as number)] as number, output[0] as number)
    ) {
      output[0] = index;
      siftDown(values, offset, output, 0, filled);
    }
  }
  // Heap sort: repeatedly move the worst to the end, which leaves the array in descending order.
  for (let end = filled - 1; end > 0; end--) {
    const worst = output[0] as number;
    output[0] = output[end] as number;
    output[end] = worst;
    siftDown(values, offset, output, 0, end);
  }
  return filled;
}

function isBetter(value: number, index: number, otherValue: number, otherIndex: number): boolean {
  return value > otherValue || (value === otherValue && index < otherIndex);
}

function siftUp(values: Float32Array, offset: number, heap: Int32Array, position: number): void {
  let child = position;
  const item = heap[child] as number;
  const itemValue = values[offset + item] as number;
  while (child > 0) {
    const parent = (child - 1) >> 1;
    const parentItem = heap[parent] as number;
    // Min-heap on "goodness": a parent must be worse than (or equal to) its children.
    if (!isBetter(values[offset + parentItem] as number, parentItem, itemValue, item)) break;
    heap[child] = parentItem;
    child = parent;
  }
  heap[child] = item;
}

function siftDown(
  values: Float32Array,
  offset: number,
  heap: Int32Array,
  position: number,
  size: number,
): void {
  let parent = position;
  const item = heap[parent] as number;
  const itemValue = values[offset + item] as number;
  for (;;) {
    let worst = parent;
    let worstItem = item;
    let worstValue = itemValue;
    const left = 2 * parent + 1;
    if (left >= size) break;
    const leftItem = heap[left] as number;
    const leftValue = values[offset + leftItem] as number;
    if (isBetter(worstValue, worstItem, leftValue, leftItem)) {
      worst = left;
      worstItem = leftItem;
      worstValue = leftValue;
    }
    const right = left + 1;
    if (right < size) {
      const rightItem = heap[right] as number;
      const rightValue = values[offset + rightItem] as number;
      if (isBetter(worstValue, worstItem, rightValue, rightItem)) {
        worst = right;
        worstItem = rightItem;
      }
    }
    if (worst === parent) break;
    heap[parent] = worstItem;
    parent = worst;
  }
  heap[parent] = item;
}
