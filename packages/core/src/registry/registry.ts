import { InvalidArgumentError } from '../errors/invalid-argument-error.js';
import { UnknownEntryError } from '../errors/unknown-entry-error.js';

/** A name → implementation map (estimators, tools, protocols, tasks, rewards, ...). */
export interface Registry<T> {
  /** What the registry holds, for error messages: `advantage estimator`. */
  readonly kind: string;
  /** Adds an entry. Registering a taken name throws unless `override` is set. */
  register(name: string, entry: T, options?: { override?: boolean }): void;
  /** Returns the entry or throws `UnknownEntryError` listing the known names. */
  get(name: string): T;
  has(name: string): boolean;
  /** Registered names, sorted. */
  names(): string[];
  unregister(name: string): boolean;
}

type RegistryStore = Map<string, Map<string, unknown>>;
const storeKey = Symbol.for('arpo.registries');

/**
 * Registries live on `globalThis` under a `Symbol.for` key, so two installed copies of a package register
 * into and read from the same map.
 */
function globalStore(): RegistryStore {
  const holder = globalThis as typeof globalThis & { [storeKey]?: RegistryStore };
  holder[storeKey] ??= new Map();
  return holder[storeKey];
}

/**
 * Returns the process-wide registry for `kind`, creating it on first use. Calling it twice with the same kind
 * (from any copy of `@arpo/core`) returns views of the same entries.
 */
export function getRegistry<T>(kind: string): Registry<T> {
  const store = globalStore();
  let entries = store.get(kind);
  if (entries === undefined) {
    entries = new Map();
    store.set(kind, entries);
  }
  const map = entries as Map<string, T>;
  return {
    kind,
    register(name, entry, options) {
      if (typeof name !== 'string' || name.trim() === '') {
        throw new InvalidArgumentError({
          argument: 'name',
          message: `${kind} name must be a non-empty string`,
        });
      }
      if (map.has(name) && options?.override !== true) {
        throw new InvalidArgumentError({
          argument: 'name',
          message: `${kind} '${name}' is already registered (pass { override: true } to replace it)`,
        });
      }
      map.set(name, entry);
    },
    get(name) {
      const entry = map.get(name);
      if (entry === undefined) {
        throw new UnknownEntryError({ kind, entry: name, knownEntries: [...map.keys()].sort() });
      }
      return entry;
    },
    has: (name) => map.has(name),
    names: () => [...map.keys()].sort(),
    unregister: (name) => map.delete(name),
  };
}
