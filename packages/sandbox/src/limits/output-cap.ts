/** The marker appended where output was cut. It names the cap so the model can tell truncation from output. */
export function truncationMarker(stream: string, limit: number): string {
  return `[${stream} truncated: more than ${limit} characters]`;
}

/**
 * Collects text up to `limit` UTF-16 code units. Past the cap it keeps nothing more and remembers it overflowed;
 * used for subprocess pipes and console shims, where output arrives in chunks.
 */
export class OutputCap {
  private readonly parts: string[] = [];
  private size = 0;
  /** Whether more output arrived than the cap allows. */
  overflowed = false;

  constructor(readonly limit: number) {}

  /** Appends `text`; returns false once the cap is exceeded. */
  append(text: string): boolean {
    if (this.overflowed) return false;
    const room = this.limit - this.size;
    if (text.length <= room) {
      this.parts.push(text);
      this.size += text.length;
      return true;
    }
    if (room > 0) this.parts.push(text.slice(0, room));
    this.size = this.limit;
    this.overflowed = true;
    return false;
  }

  get text(): string {
    return this.parts.join('');
  }
}
