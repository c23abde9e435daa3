import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createJavaScriptTool, type JavaScriptTool } from '../../src/javascript/javascript-tool.js';
import {
  type AdversarialCase,
  expectHostHealthy,
  markHost,
  runAdversarialCase,
} from './adversarial-helpers.js';

/** Memory bombs must be stopped by the memory cap, not the timer, whatever the machine's load. */
const capCaseTimeoutMs = 8000;

/** The pool's interrupt grace, also the grace the timing check allows. */
const interruptGraceMs = 250;

const cases: AdversarialCase[] = [
  { name: 'infinite loop', code: 'while (true) {}', expect: 'timeout' },
  {
    name: 'deep recursion',
    code: 'function down(n) { return down(n + 1); } down(0)',
    expect: 'runtime-error',
  },
  {
    name: 'memory bomb',
    code: 'const blocks = []; while (true) blocks.push(new Uint8Array(4 * 1024 * 1024));',
    expect: 'memory-limit',
    timeoutMs: capCaseTimeoutMs,
    // WebAssembly memory never shrinks, so a worker that reached the cap is replaced.
    workersReplaced: 1,
  },
  {
    name: 'memory bomb of small objects',
    code: 'const all = []; for (let i = 0; ; i++) all.push({ i });',
    expect: 'memory-limit',
    timeoutMs: capCaseTimeoutMs,
    workersReplaced: 1,
  },
  {
    name: 'endless console output',
    code: 'for (;;) console.log("spam ".repeat(100));',
    expect: 'output-limit',
  },
  {
    name: 'no process, require, fetch or timers',
    code: '[typeof process, typeof require, typeof fetch, typeof setTimeout, typeof Buffer, typeof module].join()',
    expect: 'ok',
    check: (text) => expect(text).toBe('undefined,undefined,undefined,undefined,undefined,undefined'),
  },
  {
    name: 'Function constructor escape',
    code: 'const g = (function () {}).constructor("return this")(); typeof g.process + "," + Object.keys(g).join()',
    expect: 'ok',
    check: (text) => expect(text).toBe('undefined,console'),
  },
  {
    name: 'constructor chain to process',
    code: 'this.constructor.constructor("return process")()',
    expect: 'runtime-error',
    check: (text) => expect(text).toContain("'process' is not defined"),
  },
  {
    name: 'dynamic import of node:fs',
    code: 'import("node:fs").then(() => "loaded")',
    // The promise is printed as an empty object: no job ever runs, so nothing is loaded.
    expect: 'ok',
    check: (text) => expect(text).toBe('{}'),
  },
  {
    name: 'console functions reveal no host code',
    code: 'String(console.log) + Object.getOwnPropertyNames(console.log).join()',
    expect: 'ok',
    check: (text) => expect(text).toBe('function log() {\n    [native code]\n}length,name'),
  },
  {
    name: 'prototype pollution',
    code: 'Object.prototype.polluted = "yes"; Array.prototype.map = null; ({}).polluted',
    // Polluted inside this call's own context only: the host check and the follow-up call see clean prototypes.
    expect: 'ok',
    check: (text) => expect(text).toBe('yes'),
  },
  {
    name: 'prototype pollution through the immutable Object.prototype',
    code: 'Object.setPrototypeOf(Object.prototype, new Proxy({}, { get() { throw new Error("poisoned"); } }))',
    expect: 'runtime-error',
    check: (text) => expect(text).toContain('TypeError'),
  },
  {
    name: 'host environment through process.env',
    code: 'process.env.HOME',
    expect: 'runtime-error',
    check: (text) => expect(text).toContain("'process' is not defined"),
  },
  {
    name: 'prototype pollution through JSON and __proto__',
    code: 'const value = JSON.parse(\'{"__proto__": {"polluted": "yes"}}\'); Object.assign({}, value); ({}).polluted',
    expect: 'ok',
    check: (text) => expect(text).toBe(''),
  },
  { name: 'thrown non-error value', code: 'throw { secret: 1 }', expect: 'runtime-error' },
  {
    name: 'one long built-in call: a huge BigInt to decimal',
    code: 'String(2n ** 1000000n).length',
    expect: 'timeout',
    check: (text) => expect(text).toContain('its worker was replaced'),
    workersReplaced: 1,
  },
  {
    name: 'string repeat right at the memory cap',
    code: '"x".repeat(2 ** 24).repeat(2)',
    expect: 'memory-limit',
    timeoutMs: capCaseTimeoutMs,
    workersReplaced: 1,
  },
  {
    name: 'growing string memory bomb',
    code: 'const unit = "x".repeat(1 << 20); const parts = []; for (let i = 0; ; i++) parts.push(unit.slice(i % 7));',
    expect: 'memory-limit',
    timeoutMs: capCaseTimeoutMs,
    workersReplaced: 1,
  },
  {
    name: 'catastrophic regular expression backtracking',
    code: '/(a+)+$/.test("a".repeat(40) + "b")',
    expect: 'timeout',
  },
  {
    name: 'console output limit caught and ignored',
    code: 'for (;;) { try { console.log("spam ".repeat(100)); } catch (error) {} }',
    expect: 'output-limit',
  },
  {
    name: 'huge final value',
    code: '"x".repeat(10 ** 7)',
    expect: 'output-limit',
  },
  {
    name: 'replaced String.prototype.slice cannot lift the output cap',
    code: 'String.prototype.slice = function () { return this + this; }; "x".repeat(10 ** 6)',
    expect: 'output-limit',
    check: (text) => expect(text).toBe(`${'x'.repeat(5000)}\n[output truncated: more than 5000 characters]`),
  },
  {
    name: 'replaced JSON.stringify does not change how the result is printed',
    code: 'JSON.stringify = () => "y".repeat(10 ** 6); ({ a: 1 })',
    expect: 'ok',
    check: (text) => expect(text).toBe('{"a":1}'),
  },
  {
    name: 'infinite loop in a getter while the result is printed',
    code: '({ get trap() { for (;;) {} } })',
    expect: 'timeout',
  },
  {
    name: 'no quickjs-libc std/os modules, eval finds no host',
    code: '[typeof std, typeof os, typeof scriptArgs, typeof WebAssembly, eval("typeof require")].join()',
    expect: 'ok',
    check: (text) => expect(text).toBe('undefined,undefined,undefined,undefined,undefined'),
  },
  {
    name: 'endless promise jobs never run',
    code: '(async () => { for (;;) await null; })(); "returned"',
    expect: 'ok',
    check: (text) => expect(text).toBe('returned'),
  },
];

describe('adversarial: JavaScript on QuickJS', () => {
  let tool: JavaScriptTool;
  const environment = { ...process.env };
  beforeAll(async () => {
    markHost();
    tool = createJavaScriptTool({
      memoryLimitMb: 32,
      outputLimit: 5000,
      pool: { size: 2, interruptGraceMs },
    });
    await tool.pool.ready();
  });
  afterAll(() => tool.close());

  for (const testCase of cases) {
    it(testCase.name, async () => {
      await runAdversarialCase(tool, testCase, {
        timeoutMs: 1000,
        workersReplaced: () => tool.pool.stats.workersReplaced,
        followUp: { code: '[1, 2, 3].map((x) => x * 2).join("") + ({}).polluted', output: '246undefined' },
      });
      expectHostHealthy(environment);
    });
  }

  it('keeps the host event loop running while a call is stuck in one long built-in', async () => {
    // Warm: the call below must not be waiting for a worker when the timer is set.
    expect(await tool.execute('1 + 1')).toMatchObject({ ok: true, output: '2' });
    const events: string[] = [];
    const call = tool.execute('String(2n ** 1000000n).length', { timeoutMs: 1000 }).then((result) => {
      events.push('call settled');
      return result;
    });
    // The long conversion runs for seconds; on the host thread it would hold every timer until it returned.
    const timer = new Promise<void>((resolve) =>
      setTimeout(() => {
        events.push('host timer fired');
        resolve();
      }, 20),
    );
    const result = await call;
    await timer;
    expect(events).toEqual(['host timer fired', 'call settled']);
    expect(result).toMatchObject({ ok: false, error: { code: 'timeout' } });
    expect(await tool.execute('"next"')).toMatchObject({ ok: true, output: 'next' });
    expectHostHealthy(environment);
  });

  it('aborting a call stuck in one long built-in replaces its worker', async () => {
    const replaced = tool.pool.stats.workersReplaced;
    const controller = new AbortController();
    const call = tool.execute('String(2n ** 1000000n)', { timeoutMs: 60_000, signal: controller.signal });
    setTimeout(() => controller.abort(), 50);
    expect(await call).toMatchObject({
      ok: false,
      error: { code: 'aborted', message: 'the call was aborted (its worker was replaced)' },
    });
    expect(tool.pool.stats.workersReplaced).toBe(replaced + 1);
    expect(await tool.execute('"next"')).toMatchObject({ ok: true, output: 'next' });
    expectHostHealthy(environment);
  });
});
