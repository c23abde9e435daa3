import { ArpoError } from '@arpo/core';

const name = 'ArpoMissingReferenceError';
const marker = `arpo.error.${name}`;
const symbol = Symbol.for(marker);

/**
 * The loss asks for a KL term (`klCoefficient` > 0) but there is no frozen reference to compute it against: the
 * backend cannot freeze one and none was passed as `reference`. Not retryable.
 */
export class MissingReferenceError extends ArpoError {
  private readonly [symbol] = true;

  constructor(options: { backend: string; klCoefficient: number }) {
    super({
      name,
      code: 'missing-reference',
      message:
        `loss.klCoefficient is ${options.klCoefficient} but backend '${options.backend}' cannot freeze a reference ` +
        `policy; pass 'reference' (a ReferenceModel) or set loss.klCoefficient to 0`,
    });
  }

  static override isInstance(error: unknown): error is MissingReferenceError {
    return ArpoError.hasMarker(error, marker);
  }
}
