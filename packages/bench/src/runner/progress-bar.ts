/** A writable stream, optionally a terminal. */
export interface ProgressStream {
  write(text: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

function formatDuration(milliseconds: number): string {
  if (!Number.isFinite(milliseconds)) return '?';
  const seconds = Math.round(milliseconds / 1000);
  if (seconds < 60) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes}m${String(seconds % 60).padStart(2, '0')}s`;
  return `${Math.floor(minutes / 60)}h${String(minutes % 60).padStart(2, '0')}m`;
}

/**
 * Progress of an evaluation. On a terminal it redraws one line (`\r`) with a bar, the count, the running
 * accuracy and the ETA; on a pipe or file it writes a plain line at every 10% (and at the end), so logs stay short.
 */
export class ProgressBar {
  private done = 0;
  private correct = 0;
  private readonly started = performance.now();
  private lastDecile = -1;

  constructor(
    private readonly stream: ProgressStream,
    private readonly total: number,
    private readonly label = 'eval',
    initial = 0,
  ) {
    this.done = initial;
  }

  /** Records finished samples and redraws. */
  tick(options: { correct: boolean }): void {
    this.done += 1;
    if (options.correct) this.correct += 1;
    this.render();
  }

  private line(): string {
    const fraction = this.total === 0 ? 1 : this.done / this.total;
    const elapsed = performance.now() - this.started;
    const eta = fraction === 0 ? Number.NaN : (elapsed / fraction) * (1 - fraction);
    return `${this.label} ${this.done}/${this.total} (${Math.round(fraction * 100)}%) correct ${this.correct} eta ${formatDuration(eta)}`;
  }

  render(): void {
    if (this.stream.isTTY === true) {
      const width = 24;
      const fraction = this.total === 0 ? 1 : this.done / this.total;
      const filled = Math.round(fraction * width);
      const text = `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${this.line()}`;
      this.stream.write(`\r${text.slice(0, (this.stream.columns ?? 120) - 1)}\u001b[K`);
      return;
    }
    const decile = this.total === 0 ? 10 : Math.floor((this.done / this.total) * 10);
    if (decile !== this.lastDecile) {
      this.lastDecile = decile;
      this.stream.write(`${this.line()}\n`);
    }
  }

  /** Ends the bar (a final newline on terminals). */
  finish(): void {
    if (this.stream.isTTY === true) this.stream.write('\n');
  }
}
