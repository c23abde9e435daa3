import { describe, expect, it, vi } from 'vitest';
import { ArpoError } from './arpo-error.js';
import { ContextLengthError } from './context-length-error.js';
import { InvalidArgumentError } from './invalid-argument-error.js';
import { TimeoutError } from './timeout-error.js';
import { UnknownEntryError } from './unknown-entry-error.js';
import { formatPath, ValidationError } from './validation-error.js';

describe('ArpoError', () => {
  it('is recognised by marker, not by prototype, so duplicate installs agree', async () => {
    vi.resetModules();
    // A query string makes vite load a second, independent instance of the module (a "duplicate install").
    const specifier = './validation-error.js?second-copy';
    const copy = (await import(/* @vite-ignore */ specifier)) as typeof import('./validation-error.js');
    expect(copy.ValidationError).not.toBe(ValidationError);
    const foreign = new copy.ValidationError({
      subject: 'config',
      issues: [{ path: ['a'], message: 'bad' }],
    });
    expect(foreign instanceof ValidationError).toBe(false);
    expect(ValidationError.isInstance(foreign)).toBe(true);
    expect(ArpoError.isInstance(foreign)).toBe(true);
  });

  it('keeps subclasses apart', () => {
    const timeout = new TimeoutError({ operation: 'python', timeoutMs: 100 });
    expect(TimeoutError.isInstance(timeout)).toBe(true);
    expect(ValidationError.isInstance(timeout)).toBe(false);
    expect(ArpoError.isInstance(new Error('plain'))).toBe(false);
    expect(ArpoError.isInstance(null)).toBe(false);
    expect(ArpoError.isInstance({ code: 'timeout' })).toBe(false);
  });

  it('has stable names, codes, retryability and cause', () => {
    const cause = new Error('socket hang up');
    const timeout = new TimeoutError({ operation: 'search', timeoutMs: 50, cause });
    expect(timeout).toMatchObject({ name: 'ArpoTimeoutError', code: 'timeout', isRetryable: true, cause });
    expect(timeout.message).toBe('search timed out after 50 ms');
    const argument = new InvalidArgumentError({ argument: 'rewards', message: 'empty group' });
    expect(argument).toMatchObject({
      name: 'ArpoInvalidArgumentError',
      code: 'invalid-argument',
      isRetryable: false,
    });
    const context = new ContextLengthError({ promptTokens: 600, contextLength: 512 });
    expect(context.code).toBe('context-length-exceeded');
    expect(JSON.parse(JSON.stringify(context))).toEqual({
      name: 'ArpoContextLengthError',
      code: 'context-length-exceeded',
      message: 'Prompt of 600 tokens does not fit the context of 512 tokens',
      isRetryable: false,
    });
    const named = new ContextLengthError({ promptTokens: 600, contextLength: 512, source: 'requests[2]' });
    expect(named.source).toBe('requests[2]');
    expect(named.message).toBe('Prompt of 600 tokens in requests[2] does not fit the context of 512 tokens');
  });

  it('lists known entries for an unknown name', () => {
    const error = new UnknownEntryError({
      kind: 'advantage estimator',
      entry: 'gpro',
      knownEntries: ['grpo', 'rloo'],
    });
    expect(error.message).toBe("Unknown advantage estimator 'gpro'. Known: grpo, rloo");
  });

  it('names the offending field and the source', () => {
    const error = new ValidationError({
      subject: 'config',
      source: 'runs/a.json',
      issues: [{ path: ['rollout', 'branches', 2, 'alpha'], message: 'must be ≤ 1' }],
    });
    expect(error.field).toBe('rollout.branches[2].alpha');
    expect(error.message).toBe('Invalid config in runs/a.json: rollout.branches[2].alpha: must be ≤ 1');
    expect(formatPath([])).toBe('(root)');
  });
});
