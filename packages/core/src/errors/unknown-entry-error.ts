import { ArpoError } from './arpo-error.js';

const name = 'ArpoUnknownEntryError';
const marker = `arpo.error.${name}`;
const symbol = Symbol.for(marker);

/** A registry lookup (estimator, tool, protocol, task, ...) named something that is not registered. */
export class UnknownEntryError extends ArpoError {
  private readonly [symbol] = true;

  readonly kind: string;
  readonly entry: string;
  readonly knownEntries: readonly string[];

  constructor(options: { kind: string; entry: string; knownEntries: readonly string[] }) {
    const known = options.knownEntries.length === 0 ? '(none registered)' : options.knownEntries.join(', ');
    super({
      name,
      code: 'unknown-entry',
      message: `Unknown ${options.kind} '${options.entry}'. Known: ${known}`,
    });
    this.kind = options.kind;
    this.entry = options.entry;
    this.knownEntries = options.knownEntries;
  }

  static override isInstance(error: unknown): error is UnknownEntryError {
    return ArpoError.hasMarker(error, marker);
  }
}
