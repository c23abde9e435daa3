import { describe, expect, it, vi } from 'vitest';
import { InvalidArgumentError } from '../errors/invalid-argument-error.js';
import { UnknownEntryError } from '../errors/unknown-entry-error.js';
import { getRegistry } from './registry.js';

describe('getRegistry', () => {
  it('registers, looks up and lists entries', () => {
    const registry = getRegistry<number>('test number');
    registry.register('two', 2);
    registry.register('one', 1);
    expect(registry.get('two')).toBe(2);
    expect(registry.has('one')).toBe(true);
    expect(registry.names()).toEqual(['one', 'two']);
    expect(registry.unregister('one')).toBe(true);
    expect(registry.has('one')).toBe(false);
  });

  it('fails on an unknown name with the list of known names', () => {
    const registry = getRegistry<string>('test color');
    registry.register('red', '#f00');
    registry.register('blue', '#00f');
    try {
      registry.get('green');
      expect.unreachable();
    } catch (error) {
      expect(UnknownEntryError.isInstance(error)).toBe(true);
      expect((error as UnknownEntryError).knownEntries).toEqual(['blue', 'red']);
      expect((error as Error).message).toContain("Unknown test color 'green'. Known: blue, red");
    }
  });

  it('refuses to silently replace an entry', () => {
    const registry = getRegistry<number>('test unique');
    registry.register('a', 1);
    expect(() => registry.register('a', 2)).toThrow(/already registered/);
    registry.register('a', 3, { override: true });
    expect(registry.get('a')).toBe(3);
    let thrown: unknown;
    try {
      registry.register('  ', 1);
    } catch (error) {
      thrown = error;
    }
    expect(InvalidArgumentError.isInstance(thrown)).toBe(true);
  });

  it('shares entries between two loaded copies of the module', async () => {
    getRegistry<string>('test shared').register('from-first-copy', 'x');
    vi.resetModules();
    const specifier = './registry.js?second-copy';
    const copy = (await import(/* @vite-ignore */ specifier)) as typeof import('./registry.js');
    expect(copy.getRegistry).not.toBe(getRegistry);
    expect(copy.getRegistry<string>('test shared').get('from-first-copy')).toBe('x');
    copy.getRegistry<string>('test shared').register('from-second-copy', 'y');
    expect(getRegistry<string>('test shared').names()).toEqual(['from-first-copy', 'from-second-copy']);
  });
});
