/**
 * Deterministic JSON for cache keys: object keys sorted, `undefined` properties left out (as `JSON.stringify`
 * does), `toJSON` honoured. Returns `undefined` for values with no faithful JSON form (cycles, bigint, functions,
 * symbols, NaN or infinite numbers, Maps, Sets, typed arrays), so callers can bypass the cache instead of
 * colliding two different inputs on one key.
 */
export function canonicalJson(value: unknown): string | undefined {
  const seen = new Set<object>();
  const write = (current: unknown): string | undefined => {
    switch (typeof current) {
      case 'string':
        return JSON.stringify(current);
      case 'boolean':
        return current ? 'true' : 'false';
      case 'number':
        return Number.isFinite(current) ? JSON.stringify(current) : undefined;
      case 'object': {
        if (current === null) return 'null';
        if (seen.has(current)) return undefined;
        if (current instanceof Map || current instanceof Set || ArrayBuffer.isView(current)) return undefined;
        seen.add(current);
        let text: string | undefined;
        const withToJson = current as { toJSON?: unknown };
        if (typeof withToJson.toJSON === 'function') {
          text = write((withToJson.toJSON as () => unknown).call(current));
          if (text === undefined) return undefined;
        } else if (Array.isArray(current)) {
          const parts: string[] = [];
          for (const item of current) {
            // JSON writes holes and undefined array items as null.
            const part = item === undefined ? 'null' : write(item);
            if (part === undefined) return undefined;
            parts.push(part);
          }
          text = `[${parts.join(',')}]`;
        } else {
          const parts: string[] = [];
          for (const key of Object.keys(current).sort()) {
            const item = (current as Record<string, unknown>)[key];
            if (item === undefined) continue;
            const part = write(item);
            if (part === undefined) return undefined;
            parts.push(`${JSON.stringify(key)}:${part}`);
          }
          text = `{${parts.join(',')}}`;
        }
        seen.delete(current);
        return text;
      }
      default:
        return undefined;
    }
  };
  return write(value);
}
