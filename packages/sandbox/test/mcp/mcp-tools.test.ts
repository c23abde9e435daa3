import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Tool } from '@arpo/core';
import { describeToolConformance } from '@arpo/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { McpConnectionError } from '../../src/mcp/mcp-connection-error.js';
import { connectMcpTools, type McpToolSet, sanitizeMcpToolName } from '../../src/mcp/mcp-tools.js';

const fixtures = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../fixtures');
const stdioServer = {
  transport: 'stdio',
  command: process.execPath,
  args: [path.join(fixtures, 'mcp-stdio-server.mjs')],
} as const;

function tool(set: McpToolSet, name: string): Tool {
  const found = set.get(name);
  if (found === undefined)
    throw new Error(`no tool ${name}; have ${set.tools.map((entry) => entry.name).join(', ')}`);
  return found;
}

describeToolConformance('MCP tool over stdio', {
  create: async () =>
    tool(await connectMcpTools({ server: stdioServer, filter: ({ name }) => name === 'echo' }), 'echo'),
  validInput: { text: 'hello' },
  expectOutput: (output) => expect(output).toBe('hello'),
  invalidInput: { text: 5 },
  invalidInputCode: 'invalid-input',
});

// The same suite over streamable HTTP, against the fixture server as a real process on 127.0.0.1.
let conformanceHttpServer: { process: ChildProcess; port: number } | undefined;
describeToolConformance('MCP tool over streamable HTTP', {
  create: async () => {
    conformanceHttpServer = await startHttpServer();
    const set = await connectMcpTools({
      server: { transport: 'http', url: `http://127.0.0.1:${conformanceHttpServer.port}/mcp` },
      filter: ({ name }) => name === 'echo',
    });
    return tool(set, 'echo');
  },
  validInput: { text: 'hello over http' },
  expectOutput: (output) => expect(output).toBe('hello over http'),
  invalidInput: { text: 5 },
  invalidInputCode: 'invalid-input',
});
afterAll(() => {
  conformanceHttpServer?.process.kill();
});

describe('connectMcpTools over stdio (a real server process)', () => {
  let set: McpToolSet;
  beforeAll(async () => {
    set = await connectMcpTools({ server: stdioServer, timeoutMs: 10_000 });
  });
  afterAll(async () => {
    await set.close();
  });

  it('lists the tools with descriptions and input schemas', () => {
    expect(set.tools.map((entry) => entry.name)).toEqual([
      'echo',
      'add',
      'fail',
      'explode',
      'sleep',
      'picture',
      'pid',
      'crash',
      'web_lookup',
    ]);
    expect(set.serverInfo).toEqual({ name: 'arpo-fixture', version: '1.0.0' });
    const add = tool(set, 'add');
    expect(add.description).toBe('Adds two numbers.');
    expect(add.inputSchema).toMatchObject({ type: 'object', required: ['a', 'b'] });
  });

  it('calls tools and returns their text and structured content', async () => {
    expect(await tool(set, 'echo').execute({ text: 'héllo' })).toMatchObject({ ok: true, output: 'héllo' });
    expect(await tool(set, 'add').execute({ a: 2, b: 40 })).toEqual({
      ok: true,
      output: '42',
      metadata: { mcpTool: 'add', structuredContent: { sum: 42 } },
    });
    expect(await tool(set, 'web_lookup').execute(undefined)).toMatchObject({ ok: true, output: 'looked up' });
    expect(await tool(set, 'picture').execute({})).toMatchObject({
      ok: true,
      output: 'a red pixel\n[image: image/png, 4 bytes]\nembedded note',
    });
  });

  it('turns error results into tool errors', async () => {
    expect(await tool(set, 'fail').execute({ message: 'it broke' })).toMatchObject({
      ok: false,
      error: { code: 'runtime-error', message: 'it broke' },
    });
    expect(await tool(set, 'explode').execute({})).toMatchObject({
      ok: false,
      error: { code: 'runtime-error', message: 'kaboom' },
    });
    const invalid = await tool(set, 'add').execute({ a: 'two', b: 1 });
    expect(invalid).toMatchObject({ ok: false, error: { code: 'invalid-input' } });
    if (!invalid.ok) expect(invalid.error.message).toContain('a');
    expect(await tool(set, 'add').execute([1, 2])).toMatchObject({
      ok: false,
      error: { code: 'invalid-input' },
    });
  });

  it('times out a slow call, and the connection keeps working', async () => {
    const result = await tool(set, 'sleep').execute({ ms: 5_000 }, { timeoutMs: 100 });
    expect(result).toMatchObject({ ok: false, error: { code: 'timeout', retryable: true } });
    expect(await tool(set, 'echo').execute({ text: 'still here' })).toMatchObject({
      ok: true,
      output: 'still here',
    });
  });

  it('stops waiting when the caller aborts', async () => {
    const controller = new AbortController();
    const pending = tool(set, 'sleep').execute({ ms: 5_000 }, { signal: controller.signal });
    setTimeout(() => controller.abort(), 50);
    expect(await pending).toMatchObject({ ok: false, error: { code: 'aborted' } });
  });

  it('survives the server crashing mid-call: unavailable, then a fresh server on the next call', async () => {
    const firstPid = await tool(set, 'pid').execute({});
    expect(firstPid.ok).toBe(true);
    const crashed = await tool(set, 'crash').execute({});
    expect(crashed).toMatchObject({ ok: false, error: { code: 'unavailable', retryable: true } });
    const secondPid = await tool(set, 'pid').execute({});
    expect(secondPid.ok).toBe(true);
    if (firstPid.ok && secondPid.ok) expect(secondPid.output).not.toBe(firstPid.output);
    expect(await tool(set, 'echo').execute({ text: 'after crash' })).toMatchObject({
      ok: true,
      output: 'after crash',
    });
  });
});

describe('connectMcpTools options and failures', () => {
  it('filters and prefixes tool names', async () => {
    const set = await connectMcpTools({
      server: stdioServer,
      namePrefix: 'fx.',
      filter: ({ name }) => name === 'echo' || name === 'web/lookup',
    });
    try {
      expect(set.tools.map((entry) => entry.name)).toEqual(['fx.echo', 'fx.web_lookup']);
      expect(await tool(set, 'fx.echo').execute({ text: 'x' })).toMatchObject({ ok: true, output: 'x' });
    } finally {
      await set.close();
    }
    expect(await tool(set, 'fx.echo').execute({ text: 'x' })).toMatchObject({
      ok: false,
      error: { code: 'unavailable' },
    });
  });

  it('fails for good after a crash when reconnect is off', async () => {
    const set = await connectMcpTools({ server: stdioServer, reconnect: false });
    try {
      expect(await tool(set, 'crash').execute({})).toMatchObject({
        ok: false,
        error: { code: 'unavailable' },
      });
      expect(await tool(set, 'echo').execute({ text: 'x' })).toMatchObject({
        ok: false,
        error: { code: 'unavailable', retryable: false },
      });
    } finally {
      await set.close();
    }
  });

  it('closes the shared connection when the last tool is closed', async () => {
    const set = await connectMcpTools({
      server: stdioServer,
      filter: ({ name }) => name === 'echo' || name === 'pid',
    });
    const [echo, pid] = set.tools as [Tool, Tool];
    await echo.close?.();
    expect(await pid.execute({})).toMatchObject({ ok: true });
    await pid.close?.();
    await pid.close?.();
    expect(await pid.execute({})).toMatchObject({ ok: false, error: { code: 'unavailable' } });
  });

  it('throws McpConnectionError naming the server and quoting its stderr when it cannot start', async () => {
    const error = await connectMcpTools({
      server: {
        transport: 'stdio',
        command: process.execPath,
        args: ['-e', "console.error('no config found'); process.exit(2)"],
      },
      connectTimeoutMs: 10_000,
    }).catch((caught: unknown) => caught);
    expect(McpConnectionError.isInstance(error)).toBe(true);
    expect((error as Error).message).toContain(process.execPath);
    expect((error as Error).message).toContain('no config found');
    const missing = await connectMcpTools({
      server: { transport: 'stdio', command: '/nonexistent/mcp-server' },
    }).catch((caught: unknown) => caught);
    expect(McpConnectionError.isInstance(missing)).toBe(true);
    await expect(connectMcpTools({ server: { transport: 'http', url: 'not a url' } })).rejects.toThrow(
      /server\.url/,
    );
  });

  it('sanitises names to the model-writable pattern', () => {
    expect(sanitizeMcpToolName('web/lookup')).toBe('web_lookup');
    expect(sanitizeMcpToolName('a b', 'x.')).toBe('x.a_b');
    expect(sanitizeMcpToolName('n'.repeat(80))).toHaveLength(64);
  });
});

/** Starts the streamable-HTTP fixture server and resolves with its port once it listens. */
function startHttpServer(port = 0): Promise<{ process: ChildProcess; port: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(fixtures, 'mcp-http-server.mjs')], {
      env: { ...process.env, PORT: String(port) },
      // stderr ignored: the SDK warns about the deliberately invalid `web/lookup` name on every request.
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    let output = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString('utf8');
      const match = /listening (\d+)/.exec(output);
      if (match) resolve({ process: child, port: Number(match[1]) });
    });
    child.once('error', reject);
    child.once('exit', (code) =>
      reject(new Error(`HTTP fixture server exited with ${code} before listening`)),
    );
  });
}

describe('connectMcpTools over streamable HTTP (a real server process on loopback)', () => {
  let server: { process: ChildProcess; port: number };
  let set: McpToolSet;
  beforeAll(async () => {
    server = await startHttpServer();
    set = await connectMcpTools({
      server: { transport: 'http', url: `http://127.0.0.1:${server.port}/mcp` },
    });
  });
  afterAll(async () => {
    await set?.close();
    server?.process.kill();
  });

  it('lists and calls tools', async () => {
    expect(set.tools.map((entry) => entry.name)).toContain('echo');
    expect(await tool(set, 'echo').execute({ text: 'over http' })).toMatchObject({
      ok: true,
      output: 'over http',
    });
    expect(await tool(set, 'add').execute({ a: 1, b: 2 })).toMatchObject({ ok: true, output: '3' });
    expect(await tool(set, 'fail').execute({ message: 'nope' })).toMatchObject({
      ok: false,
      error: { code: 'runtime-error' },
    });
    expect(await tool(set, 'sleep').execute({ ms: 5_000 }, { timeoutMs: 100 })).toMatchObject({
      ok: false,
      error: { code: 'timeout' },
    });
  });

  it('reports a crashed server as unavailable and recovers once it is back', async () => {
    const exited = new Promise((resolve) => server.process.once('exit', resolve));
    const crashed = await tool(set, 'crash').execute({});
    expect(crashed).toMatchObject({ ok: false, error: { code: 'unavailable', retryable: true } });
    await exited;
    expect(await tool(set, 'echo').execute({ text: 'x' })).toMatchObject({
      ok: false,
      error: { code: 'unavailable', retryable: true },
    });
    server = await startHttpServer(server.port);
    expect(await tool(set, 'echo').execute({ text: 'back' })).toMatchObject({ ok: true, output: 'back' });
  });
});
