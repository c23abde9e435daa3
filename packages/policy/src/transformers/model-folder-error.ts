import { ArpoError } from '@arpo/core';

const name = 'ArpoModelFolderError';
const marker = `arpo.error.${name}`;
const symbol = Symbol.for(marker);

/** What is wrong with a model folder. */
export type ModelFolderProblem =
  | 'missing-folder'
  | 'missing-file'
  | 'malformed-file'
  | 'unsupported-model'
  | 'write-failed';

/** A Hugging Face-style model folder is missing, incomplete or holds a file that cannot be used. */
export class ModelFolderError extends ArpoError {
  private readonly [symbol] = true;

  readonly folder: string;
  /** The file inside the folder (for example `config.json`, `onnx/model.onnx`); absent for the folder itself. */
  readonly file: string | undefined;
  readonly problem: ModelFolderProblem;

  constructor(options: {
    folder: string;
    file?: string;
    problem: ModelFolderProblem;
    message: string;
    cause?: unknown;
  }) {
    const where = options.file === undefined ? options.folder : `${options.folder}/${options.file}`;
    super({
      name,
      code: 'model-folder-invalid',
      message: `${where}: ${options.message}`,
      cause: options.cause,
    });
    this.folder = options.folder;
    this.file = options.file;
    this.problem = options.problem;
  }

  static override isInstance(error: unknown): error is ModelFolderError {
    return ArpoError.hasMarker(error, marker);
  }
}
