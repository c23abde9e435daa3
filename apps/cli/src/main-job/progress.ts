/** A live progress line on a terminal, one line per update elsewhere (logs, CI, pipes). */
export interface ProgressReporter {
  update(completed: number, detail: string): void;
  done(): void;
}

function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  const whole = Math.round(seconds);
  return whole >= 60 ? `${Math.floor(whole / 60)}m${String(whole % 60).padStart(2, '0')}s` : `${whole}s`;
}

export function createProgressReporter(options: {
  label: string;
  total: number;
  write: (text: string) => void;
  /** Redraw one line in place (a TTY) instead of printing a line per update. */
  live: boolean;
  width?: number;
}): ProgressReporter {
  const started = performance.now();
  const width = options.width ?? 24;
  let first: number | undefined;
  let drawn = false;
  return {
    update(completed, detail) {
      const elapsed = (performance.now() - started) / 1000;
      first ??= completed - 1;
      const rate = elapsed / Math.max(1, completed - first);
      const eta = formatDuration(rate * (options.total - completed));
      const counter = `${options.label} ${completed}/${options.total}`;
      if (!options.live) {
        options.write(`  ${counter}: ${detail}\n`);
        return;
      }
      const filled = Math.round((completed / Math.max(1, options.total)) * width);
      const bar = `${'█'.repeat(filled)}${'░'.repeat(width - filled)}`;
      options.write(`\r\x1b[2K${bar} ${counter} ETA ${eta} | ${detail}`);
      drawn = true;
    },
    done() {
      if (drawn) options.write('\n');
      drawn = false;
    },
  };
}
