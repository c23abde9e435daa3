import { describe, expect, it } from 'vitest';
import { createProgressReporter } from './progress.js';

describe('createProgressReporter', () => {
  it('prints one line per update when not live', () => {
    const lines: string[] = [];
    const progress = createProgressReporter({
      label: 'step',
      total: 3,
      write: (text) => lines.push(text),
      live: false,
    });
    progress.update(1, 'reward 0.5');
    progress.update(2, 'reward 0.6');
    progress.done();
    expect(lines).toEqual(['  step 1/3: reward 0.5\n', '  step 2/3: reward 0.6\n']);
  });

  it('redraws one line on a terminal and ends it when done', () => {
    const writes: string[] = [];
    const progress = createProgressReporter({
      label: 'step',
      total: 4,
      write: (text) => writes.push(text),
      live: true,
      width: 8,
    });
    progress.update(2, 'reward 0.5');
    progress.done();
    const clearLine = '\r\u001b[2K';
    expect(writes[0]?.startsWith(clearLine)).toBe(true);
    expect(writes[0]?.slice(clearLine.length)).toMatch(/^████░░░░ step 2\/4 ETA \S+ \| reward 0\.5$/);
    expect(writes[1]).toBe('\n');
  });
});
