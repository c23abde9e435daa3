import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exportHuggingFaceModel, trainByteLevelBpe } from '@arpo/policy';
import { DecoderTransformer } from '@arpo/tensor';
import { describe, expect, it } from 'vitest';
import { runCli } from '../src/run-cli.js';

describe('arpo serve', () => {
  it('serves the OpenAI routes and, with --trainer, the training API over an exported model', async () => {
    const directory = await mkdtemp(join(tmpdir(), 'arpo-cli-serve-'));
    const tokenizer = trainByteLevelBpe({ corpus: ['one two three', 'four five six'], vocabularySize: 280 });
    const model = new DecoderTransformer({
      vocabSize: tokenizer.vocabularySize,
      contextLength: 64,
      modelDim: 32,
      layers: 1,
      heads: 2,
    });
    const folder = join(directory, 'model');
    await exportHuggingFaceModel({
      model,
      parameters: model.initializeParameters({ seed: 3 }),
      tokenizer,
      folder,
    });

    let out = '';
    let error = '';
    const exit = runCli(
      ['serve', '--model', 'model', '--port', '0', '--trainer', '--trainer-dir', 'trainer'],
      {
        out: (text) => (out += text),
        error: (text) => (error += text),
        cwd: directory,
      },
    );
    for (let attempt = 0; attempt < 600 && !out.includes('Serving'); attempt++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(error).toBe('');
    const baseUrl = /at (http:\/\/127\.0\.0\.1:\d+\/v1)/.exec(out)?.[1];
    expect(baseUrl).toBeDefined();
    expect(out).toContain('training API at');
    const models = (await (await fetch(`${baseUrl}/models`)).json()) as { data: { id: string }[] };
    expect(models.data.map((entry) => entry.id)).toEqual(['model']);
    const completion = (await (
      await fetch(`${baseUrl}/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'model', prompt: 'one', max_tokens: 4, seed: 1 }),
      })
    ).json()) as { choices: { text: string }[] };
    expect(completion.choices).toHaveLength(1);
    const root = baseUrl?.replace(/\/v1$/, '');
    const capabilities = (await (await fetch(`${root}/api/v1/get_server_capabilities`)).json()) as {
      supported_models: { model_name: string }[];
    };
    // The training API offers the served model as the base model of `create_model`.
    expect(capabilities.supported_models).toEqual([{ model_name: 'model' }]);
    process.emit('SIGINT');
    expect(await exit).toBe(0);
    expect(out).toContain('Served 1 generation requests');
  }, 120_000);
});
