/** Renders the content of an MCP tool result as the text a model sees. */

type ContentBlock = Record<string, unknown>;

function byteLength(base64: unknown): number {
  return typeof base64 === 'string' ? Buffer.byteLength(base64, 'base64') : 0;
}

function blockText(block: ContentBlock): string {
  switch (block.type) {
    case 'text':
      return typeof block.text === 'string' ? block.text : '';
    case 'image':
    case 'audio':
      // Binary content cannot be shown to a text model; a placeholder keeps the model aware it exists.
      return `[${block.type}: ${String(block.mimeType ?? 'unknown type')}, ${byteLength(block.data)} bytes]`;
    case 'resource': {
      const resource = (block.resource ?? {}) as ContentBlock;
      if (typeof resource.text === 'string') return resource.text;
      return `[resource: ${String(resource.uri ?? 'unknown')}, ${byteLength(resource.blob)} bytes]`;
    }
    case 'resource_link':
      return `[resource link: ${String(block.uri ?? 'unknown')}${typeof block.name === 'string' ? ` (${block.name})` : ''}]`;
    default:
      return `[${String(block.type ?? 'unknown')} content]`;
  }
}

/**
 * The text of an MCP `CallToolResult`: text blocks as they are, embedded text resources by their text, binary
 * blocks as `[image: image/png, 4 bytes]` placeholders, joined by newlines. A result with no content but
 * `structuredContent` is shown as that JSON.
 */
export function mcpResultText(result: { content?: unknown; structuredContent?: unknown }): string {
  const content = Array.isArray(result.content) ? (result.content as unknown[]) : [];
  if (content.length === 0 && result.structuredContent !== undefined)
    return JSON.stringify(result.structuredContent);
  return content
    .filter((block): block is ContentBlock => block !== null && typeof block === 'object')
    .map(blockText)
    .join('\n');
}
