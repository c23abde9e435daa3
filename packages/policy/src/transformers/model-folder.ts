import { readFile, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { ModelFolderError } from './model-folder-error.js';

/** Resolves `folder` to an absolute path and checks that it is a directory (`ModelFolderError` otherwise). */
export async function checkModelFolder(folder: string): Promise<string> {
  const absolute = resolve(folder);
  let isDirectory = false;
  try {
    isDirectory = (await stat(absolute)).isDirectory();
  } catch (cause) {
    throw new ModelFolderError({
      folder: absolute,
      problem: 'missing-folder',
      message: 'folder does not exist',
      cause,
    });
  }
  if (!isDirectory) {
    throw new ModelFolderError({ folder: absolute, problem: 'missing-folder', message: 'not a directory' });
  }
  return absolute;
}

/** True when `folder/file` exists. */
export async function hasFile(folder: string, file: string): Promise<boolean> {
  try {
    return (await stat(join(folder, file))).isFile();
  } catch {
    return false;
  }
}

/**
 * Reads and parses a JSON object file of a model folder. Missing (when `required`) or malformed files throw
 * `ModelFolderError` naming the file; an optional missing file gives `undefined`.
 */
export async function readJsonFile(
  folder: string,
  file: string,
  options: { required: boolean },
): Promise<Record<string, unknown> | undefined> {
  let text: string;
  try {
    text = await readFile(join(folder, file), 'utf8');
  } catch (cause) {
    if (!options.required) return undefined;
    throw new ModelFolderError({ folder, file, problem: 'missing-file', message: 'file is missing', cause });
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (cause) {
    const detail = cause instanceof Error ? cause.message : String(cause);
    throw new ModelFolderError({
      folder,
      file,
      problem: 'malformed-file',
      message: `invalid JSON (${detail})`,
      cause,
    });
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new ModelFolderError({
      folder,
      file,
      problem: 'malformed-file',
      message: 'expected a JSON object',
    });
  }
  return value as Record<string, unknown>;
}
