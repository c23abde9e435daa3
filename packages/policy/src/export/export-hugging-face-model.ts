import { randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, rm, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { InvalidArgumentError, type Tokenizer } from '@arpo/core';
import { type DecoderTransformer, serializeGraph, type TensorValue } from '@arpo/tensor';
import { checkDecoderParameters } from '../native/check-decoder-parameters.js';
import { ModelFolderError } from '../transformers/model-folder-error.js';
import { huggingFaceConfig, huggingFaceGenerationConfig } from './hugging-face-config.js';
import { buildHuggingFaceDecoderGraph } from './hugging-face-decoder-graph.js';
import { writeFileAtomic } from './write-file-atomic.js';

/** A tokenizer that can write its Hugging Face files: `save(folder)` or `toTokenizerJson()`. */
export interface ExportableTokenizer extends Tokenizer {
  /** Writes `tokenizer.json` (and its config files) into a folder, as `ByteLevelBpeTokenizer.save` does. */
  save?(folder: string): Promise<void>;
  /** The `tokenizer.json` object; used when there is no `save`. */
  toTokenizerJson?(): Record<string, unknown>;
  /** The `tokenizer_config.json` object, written beside `tokenizer.json` when present. */
  toTokenizerConfig?(): Record<string, unknown>;
}

export interface ExportHuggingFaceModelOptions {
  model: DecoderTransformer;
  /** Weights by parameter name (see `DecoderTransformer.parameterSpecs`); baked into the ONNX file. */
  parameters: ReadonlyMap<string, TensorValue>;
  tokenizer: ExportableTokenizer;
  /** Destination folder; created when missing. Files already there with the same names are replaced. */
  folder: string;
}

export interface ExportedModel {
  /** Absolute path of the folder. */
  folder: string;
  /** Files written, relative to the folder. */
  files: string[];
}

/**
 * Writes a trained `@arpo/tensor` decoder as a Hugging Face-style folder that `@huggingface/transformers`
 * loads with `AutoModelForCausalLM` / `AutoTokenizer`: `config.json` (`model_type: gpt2`),
 * `generation_config.json`, the tokenizer files and `onnx/model.onnx` (weights baked in as initializers;
 * inputs `input_ids`, `attention_mask`, `position_ids` (int64), `past_key_values.{i}.key|value`; outputs
 * `logits`, `present.{i}.key|value`). Every file is written atomically (temporary file + rename);
 * `config.json` comes last. Bad arguments → `InvalidArgumentError`; an unwritable folder → `ModelFolderError`.
 */
export async function exportHuggingFaceModel(options: ExportHuggingFaceModelOptions): Promise<ExportedModel> {
  const { model, parameters, tokenizer, folder } = checkOptions(options);
  const { graph, outputs } = buildHuggingFaceDecoderGraph(model);
  const serialized = serializeGraph(graph, { outputs, initializers: parameters });
  const absolute = resolve(folder);
  const files: string[] = [];
  await writing(absolute, '.', async () => {
    const existing = await stat(absolute).catch(() => undefined);
    if (existing !== undefined && !existing.isDirectory()) throw new Error('exists and is not a directory');
    await mkdir(join(absolute, 'onnx'), { recursive: true });
  });
  const write = async (file: string, data: string | Uint8Array) => {
    await writing(absolute, file, () => writeFileAtomic(join(absolute, file), data));
    files.push(file);
  };
  await write('onnx/model.onnx', serialized.bytes);
  for (const [file, data] of await tokenizerFiles(tokenizer, absolute)) await write(file, data);
  await write('generation_config.json', json(huggingFaceGenerationConfig(tokenizer.specialTokens)));
  await write('config.json', json(huggingFaceConfig(model, tokenizer.specialTokens)));
  return { folder: absolute, files };
}

function json(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}

async function writing(folder: string, file: string, work: () => Promise<void>): Promise<void> {
  try {
    await work();
  } catch (cause) {
    const detail = cause instanceof Error ? cause.message : String(cause);
    throw new ModelFolderError({
      folder,
      ...(file === '.' ? {} : { file }),
      problem: 'write-failed',
      message: `cannot write (${detail})`,
      cause,
    });
  }
}

/** The tokenizer's files as [name, contents]: through `save` into a scratch folder, or `toTokenizerJson`. */
async function tokenizerFiles(tokenizer: ExportableTokenizer, folder: string): Promise<[string, string][]> {
  if (typeof tokenizer.save === 'function') {
    const scratch = join(folder, `.tokenizer-${process.pid}-${randomBytes(4).toString('hex')}`);
    try {
      await writing(folder, 'tokenizer.json', () =>
        (tokenizer.save as (path: string) => Promise<void>)(scratch),
      );
      const names = (await readdir(scratch)).sort();
      return await Promise.all(
        names.map(
          async (name): Promise<[string, string]> => [name, await readFile(join(scratch, name), 'utf8')],
        ),
      );
    } finally {
      await rm(scratch, { recursive: true, force: true });
    }
  }
  const files: [string, string][] = [
    ['tokenizer.json', json((tokenizer.toTokenizerJson as () => unknown)())],
  ];
  if (typeof tokenizer.toTokenizerConfig === 'function')
    files.push(['tokenizer_config.json', json(tokenizer.toTokenizerConfig())]);
  return files;
}

function checkOptions(options: ExportHuggingFaceModelOptions): ExportHuggingFaceModelOptions {
  if (options === null || typeof options !== 'object') {
    throw new InvalidArgumentError({ argument: 'options', message: 'must be an object' });
  }
  const { model, parameters, tokenizer, folder } = options;
  if (typeof folder !== 'string' || folder.trim() === '') {
    throw new InvalidArgumentError({ argument: 'folder', message: 'must be a non-empty path' });
  }
  if (
    model === null ||
    typeof model !== 'object' ||
    typeof model.parameterSpecs !== 'function' ||
    typeof model.config !== 'object'
  ) {
    throw new InvalidArgumentError({
      argument: 'model',
      message: 'must be a DecoderTransformer of @arpo/tensor',
    });
  }
  if (model.config.dtype !== 'float32') {
    throw new InvalidArgumentError({
      argument: 'model',
      message: `has dtype ${model.config.dtype}; only float32 models are exported (Hugging Face runtimes feed float32 caches)`,
    });
  }
  if (!(parameters instanceof Map)) {
    throw new InvalidArgumentError({
      argument: 'parameters',
      message: 'must be a Map from parameter name to tensor',
    });
  }
  checkDecoderParameters(model, parameters);
  if (
    tokenizer === null ||
    typeof tokenizer !== 'object' ||
    (typeof tokenizer.save !== 'function' && typeof tokenizer.toTokenizerJson !== 'function')
  ) {
    throw new InvalidArgumentError({
      argument: 'tokenizer',
      message: 'must be able to write a tokenizer.json (a save(folder) or toTokenizerJson() method)',
    });
  }
  if (!Number.isInteger(tokenizer.specialTokens?.eos)) {
    throw new InvalidArgumentError({ argument: 'tokenizer', message: 'has no EOS token id' });
  }
  if (tokenizer.vocabularySize > model.config.vocabSize) {
    throw new InvalidArgumentError({
      argument: 'tokenizer',
      message: `has ${tokenizer.vocabularySize} tokens but the model only ${model.config.vocabSize}`,
    });
  }
  return options;
}
