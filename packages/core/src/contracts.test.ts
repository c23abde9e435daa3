import { describe, expect, it } from 'vitest';
import { ValidationError } from './errors/validation-error.js';
import { samplingOptionsSchema } from './policy/policy.js';
import { parse } from './schema/lazy-schema.js';
import { taskSchema } from './task/task.js';
import { toolErrorInfoSchema } from './tool/tool.js';
import { lossConfigSchema, optimizerConfigSchema } from './trainer/trainer-backend.js';

function fieldOf(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    if (ValidationError.isInstance(error)) return error.field;
    throw error;
  }
  return '(no error)';
}

describe('boundary schemas', () => {
  it('validates sampling options and names the offending option', () => {
    expect(
      parse(samplingOptionsSchema, { maxTokens: 16, temperature: 0.7, topP: 0.9, stop: ['</python>'] }),
    ).toEqual({
      maxTokens: 16,
      temperature: 0.7,
      topP: 0.9,
      stop: ['</python>'],
    });
    expect(fieldOf(() => parse(samplingOptionsSchema, { maxTokens: 1.5 }))).toBe('maxTokens');
    expect(fieldOf(() => parse(samplingOptionsSchema, { maxTokens: 4, temperature: -1 }))).toBe(
      'temperature',
    );
    expect(fieldOf(() => parse(samplingOptionsSchema, { maxTokens: 4, topP: 0 }))).toBe('topP');
    expect(fieldOf(() => parse(samplingOptionsSchema, { maxTokens: 4, stop: ['ok', ''] }))).toBe('stop[1]');
  });

  it('validates tasks', () => {
    const task = {
      id: 'gsm8k-1',
      prompt: [{ role: 'user', content: 'What is 2+2?' }],
      references: ['4'],
      tools: ['python'],
    };
    expect(parse(taskSchema, task).id).toBe('gsm8k-1');
    expect(fieldOf(() => parse(taskSchema, { ...task, prompt: [{ role: 'robot', content: 'x' }] }))).toBe(
      'prompt[0].role',
    );
    expect(fieldOf(() => parse(taskSchema, { ...task, references: 'four' }))).toBe('references');
  });

  it('validates loss and optimizer configs', () => {
    expect(
      parse(lossConfigSchema, { lossFunction: 'ppo', clipLow: 0.2, clipHigh: 0.28, dualClip: 3 }).dualClip,
    ).toBe(3);
    expect(fieldOf(() => parse(lossConfigSchema, { lossFunction: 'ppo', dualClip: 1 }))).toBe('dualClip');
    expect(fieldOf(() => parse(lossConfigSchema, { lossFunction: 'dpo' }))).toBe('lossFunction');
    expect(fieldOf(() => parse(optimizerConfigSchema, { learningRate: 0 }))).toBe('learningRate');
  });

  it('validates tool errors', () => {
    expect(parse(toolErrorInfoSchema, { code: 'timeout', message: 'slow' }).code).toBe('timeout');
    expect(fieldOf(() => parse(toolErrorInfoSchema, { code: 'boom', message: 'x' }))).toBe('code');
  });
});
