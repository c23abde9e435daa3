import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { tidyTagBody } from './tidy-tag-body.js';

describe('tidyTagBody', () => {
  it('trims a one-line body', () => {
    expect(tidyTagBody('  Amy Smart film debut \n')).toBe('Amy Smart film debut');
  });

  it('dedents indented code instead of breaking its first line', () => {
    const body = '\n    for i in range(2):\n        print(i)\n\n    print("done")\n  ';
    expect(tidyTagBody(body)).toBe('for i in range(2):\n    print(i)\n\nprint("done")');
  });

  it('unwraps one Markdown fence', () => {
    expect(tidyTagBody('\n```python\nprint(1)\n```\n')).toBe('print(1)');
    expect(tidyTagBody('```\n  x = 1\n  y = 2\n```')).toBe('x = 1\ny = 2');
    expect(tidyTagBody('print("```")')).toBe('print("```")');
  });

  it('is idempotent and never adds text (property)', () => {
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom(' ', '\t', '\n', 'a', '`', 'p', '(', ')') }), (body) => {
        const once = tidyTagBody(body);
        expect(tidyTagBody(once)).toBe(once);
        expect(once.length).toBeLessThanOrEqual(body.length);
      }),
      { numRuns: 1000 },
    );
  });
});
