import { toolCallProtocolRegistry } from '@arpo/core';
import { createArpoTagProtocol } from './arpo-tag-protocol.js';
import { createHermesJsonProtocol } from './hermes-json-protocol.js';

/**
 * Registers the default `arpo-tags` (tags `<python>`, `<search>`) and `hermes-json` protocols in
 * `toolCallProtocolRegistry()`. Idempotent: names already registered (by an earlier call or by the user) are
 * left as they are. Not run on import (the package has no side effects); call it once at start-up.
 */
export function registerSandboxToolCallProtocols(): void {
  const registry = toolCallProtocolRegistry();
  if (!registry.has('arpo-tags')) registry.register('arpo-tags', createArpoTagProtocol());
  if (!registry.has('hermes-json')) registry.register('hermes-json', createHermesJsonProtocol());
}
