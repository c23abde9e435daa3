import { ArpoError } from '@arpo/core';

const name = 'ArpoUnsupportedRemoteFeatureError';
const marker = `arpo.error.${name}`;
const symbol = Symbol.for(marker);

/**
 * A `LossConfig` or `OptimizerConfig` setting that the remote training API (or the configured server profile)
 * cannot express, for example an entropy bonus (the API returns no full distribution) or gradient clipping on
 * SkyRL's JAX backend. Not retryable: the same call fails again.
 */
export class UnsupportedRemoteFeatureError extends ArpoError {
  private readonly [symbol] = true;

  /** The offending setting, for example `loss.entropyCoefficient`. */
  readonly feature: string;

  constructor(options: { feature: string; message: string }) {
    super({
      name,
      code: 'unsupported-remote-feature',
      message: `${options.feature}: ${options.message}`,
    });
    this.feature = options.feature;
  }

  static override isInstance(error: unknown): error is UnsupportedRemoteFeatureError {
    return ArpoError.hasMarker(error, marker);
  }
}
