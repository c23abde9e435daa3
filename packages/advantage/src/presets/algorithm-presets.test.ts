import { lossConfigSchema, optimizerConfigSchema, parse, UnknownEntryError } from '@arpo/core';
import { describe, expect, it } from 'vitest';
import { getAdvantageEstimator } from '../registry/built-in-estimators.js';
import { algorithmPresetNames, getAlgorithmPreset } from './algorithm-presets.js';

describe('algorithm presets', () => {
  it('are valid loss and optimizer configs naming registered estimators', () => {
    for (const name of algorithmPresetNames) {
      const preset = getAlgorithmPreset(name);
      expect(parse(lossConfigSchema, preset.loss)).toEqual(preset.loss);
      expect(parse(optimizerConfigSchema, preset.optimizer)).toEqual(preset.optimizer);
      expect(getAdvantageEstimator(preset.estimator).name).toBe(preset.estimator);
      expect(preset.sources.length).toBeGreaterThan(0);
    }
  });

  it('carries the reference scripts’ values', () => {
    const dapo = getAlgorithmPreset('dapo');
    expect(dapo.loss).toMatchObject({
      clipLow: 0.2,
      clipHigh: 0.28,
      aggregation: 'token-mean',
      klCoefficient: 0,
    });
    expect(dapo.sampling.dynamicSampling?.metric).toBe('acc');
    expect(dapo.sampling.overlong).toEqual({
      maxResponseLength: 20480,
      bufferLength: 4096,
      penaltyFactor: 1,
    });
    const arpo = getAlgorithmPreset('arpo');
    expect(arpo.sampling).toMatchObject({ trajectoriesPerPrompt: 16, initialTrajectories: 8 });
    expect(arpo.loss).toMatchObject({
      clipLow: 0.2,
      clipHigh: 0.2,
      dualClip: 3,
      aggregation: 'token-mean',
      klCoefficient: 0,
      entropyCoefficient: 0,
    });
  });

  it('returns copies and rejects unknown names', () => {
    getAlgorithmPreset('grpo').loss.clipLow = 0.9;
    expect(getAlgorithmPreset('grpo').loss.clipLow).toBe(0.2);
    expect(() => getAlgorithmPreset('ppo' as never)).toThrow(UnknownEntryError);
  });
});
