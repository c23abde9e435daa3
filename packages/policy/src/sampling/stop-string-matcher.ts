/** Where a stop string was found in the decoded continuation. */
export interface StopMatch {
  stopString: string;
  /** Index just past the stop string in the accumulated text. */
  end: number;
}

/**
 * Finds stop strings in text that arrives in pieces (one decoded token at a time), including stop strings that
 * span several tokens. Only the tail that could complete a match is searched on each push, so the cost per
 * token is O(piece + longest stop string). When several stop strings complete, the one ending first wins
 * (ties: the longer, then the earlier listed).
 */
export class StopStringMatcher {
  private readonly stops: readonly string[];
  private readonly longest: number;
  private text = '';

  constructor(stops: readonly string[]) {
    this.stops = stops.filter((stop) => stop.length > 0);
    this.longest = this.stops.reduce((length, stop) => Math.max(length, stop.length), 0);
  }

  /** All text pushed so far. */
  get accumulatedText(): string {
    return this.text;
  }

  /** Appends decoded text; returns the first stop string it completes, if any. */
  push(piece: string): StopMatch | undefined {
    if (piece.length === 0) return undefined;
    const searchFrom = Math.max(0, this.text.length - this.longest + 1);
    this.text += piece;
    let best: StopMatch | undefined;
    for (const stop of this.stops) {
      const found = this.text.indexOf(stop, searchFrom);
      if (found < 0) continue;
      const end = found + stop.length;
      if (
        best === undefined ||
        end < best.end ||
        (end === best.end && stop.length > best.stopString.length)
      ) {
        best = { stopString: stop, end };
      }
    }
    return best;
  }
}
