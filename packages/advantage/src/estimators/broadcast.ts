/** One scalar advantage copied to every response token and multiplied by the mask (verl's `unsqueeze * mask`). */
export function broadcastToTokens(value: number, mask: Uint8Array): Float32Array {
  const result = new Float32Array(mask.length);
  // Masked positions stay +0 (value · 0 would give -0 for negative values).
  for (let position = 0; position < result.length; position++)
    if (mask[position] !== 0) result[position] = value;
  return result;
}
