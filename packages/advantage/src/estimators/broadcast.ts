/** One scalar advantage copied to every response token and multiplied by the mask (verl's `unsqueeze * mask`). */
export function broadcastToTokens(value: number, mask: Uint8Array): Float32Array {
  const result = new Float32Array(mask.length);
  for (let position = 0; position < result.length; position++) result[position] = value * (mask[position] as number);
  return result;
}
