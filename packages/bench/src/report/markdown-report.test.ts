import { describe, expect, it } from 'vitest';
import { hostileText, sampleReport } from '../../test/report-support/sample-report.js';
import { escapeMarkdown, renderMarkdownReport } from './markdown-report.js';

describe('renderMarkdownReport', () => {
  const markdown = renderMarkdownReport(sampleReport());
  const lines = markdown.split('\n');

  it('has a results row per algorithm with mean ± CI, pass@k, tool calls, tokens and time', () => {
    const header = lines.find((line) => line.startsWith('| Algorithm | Accuracy'));
    expect(header).toBe(
      '| Algorithm | Accuracy (mean ± 95% CI) | pass@1 | pass@2 | pass@4 | pass@8 | Tool calls / sample | Tokens / sample | Wall time (all seeds) |',
    );
    // arpo: accuracy 0.575 with [0.525, 0.635] → ± 5.5 points; pass@1 interval [0.475, 0.675] → ± 10.0.
    expect(lines).toContain(
      '| **arpo** | 57.5% ± 5.5 | 57.5% ± 10.0 | 63.5% | 69.5% | 75.5% | 1.50 | 104 | 7 min 21 s |',
    );
    expect(lines).toContain(
      '| **grpo** | 47.5% ± 5.5 | 47.5% ± 10.0 | 53.5% | 59.5% | 65.5% | 1.10 | 96 | 6 min 01 s |',
    );
  });

  it('reports per-seed accuracy and training totals', () => {
    expect(lines).toContain('| dapo | 51.5% | 52.5% | 53.5% |');
    const dapoTraining = lines.find((line) => line.startsWith('| dapo | 3 | 34 |'));
    expect(dapoTraining).toContain('| 1,088 |');
  });

  it('escapes text so it cannot add markup or break tables', () => {
    expect(markdown).not.toContain('<b>');
    expect(markdown).not.toContain('<script>');
    expect(markdown).toContain('\\<b\\>comparison\\</b\\>');
    expect(escapeMarkdown('a | b\nc')).toBe('a \\| b c');
    // The command sits in a fenced block, verbatim.
    expect(markdown).toContain(`\`\`\`sh\n${hostileText.command}\n\`\`\``);
  });
});
