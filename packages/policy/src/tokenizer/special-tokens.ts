import type { SpecialTokens } from '@arpo/core';
import { UnknownSpecialTokenError } from './unknown-special-token-error.js';

/** The tags of the ARPO tool-call protocol, in the order they get ids. */
export const toolTags = [
  '<think>',
  '</think>',
  '<python>',
  '</python>',
  '<search>',
  '</search>',
  '<result>',
  '</result>',
  '<answer>',
  '</answer>',
] as const;

/** Default texts of the control tokens of tokenizers trained here. */
export const defaultControlTokens = { pad: '<|pad|>', bos: '<|bos|>', eos: '<|eos|>' } as const;

/**
 * The id of a special token by role (`'bos'`, `'eos'`, `'pad'`) or by its text (`'</python>'`, any key of
 * `extra`). Throws `UnknownSpecialTokenError` listing the known names otherwise.
 */
export function specialTokenId(specialTokens: SpecialTokens, name: string): number {
  if (name === 'eos') return specialTokens.eos;
  if ((name === 'bos' || name === 'pad') && specialTokens[name] !== undefined) return specialTokens[name];
  const extra = specialTokens.extra?.[name];
  if (extra !== undefined) return extra;
  throw new UnknownSpecialTokenError({ token: name, knownTokens: specialTokenNames(specialTokens) });
}

/** Every name `specialTokenId` accepts. */
export function specialTokenNames(specialTokens: SpecialTokens): string[] {
  const names = ['eos'];
  if (specialTokens.bos !== undefined) names.unshift('bos');
  if (specialTokens.pad !== undefined) names.push('pad');
  return [...names, ...Object.keys(specialTokens.extra ?? {})];
}
