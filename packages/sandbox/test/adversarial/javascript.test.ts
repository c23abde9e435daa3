import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createJavaScriptTool, type JavaScriptTool } from '../../src/javascript/javascript-tool.js';
import {
  type AdversarialCase,
  expectHostHealthy,
  markHost,
  runAdversarialCase,
} from './adversarial-helpers.js';

const cases: AdversarialCase[] = [
  { name: 'infinite loop', code: 'while (true) {}', expect: ['timeout'] },
  {
    name: 'deep recursion',
    code: 'function down(n) { return down(n + 1); } down(0)',
    expect: ['runtime-error'],
  },
  {
    name: 'memory bomb',
    code: 'const blocks = []; while (true) blocks.push(new Uint8Array(4 * 1024 * 1024));',
    expect: ['memory-limit'],
  },
  {
    name: 'endless console output',
    code: 'for (;;) console.log("spam ".repeat(100));',
    expect: ['output-limit'],
  },
  {
    name: 'no process, require, fetch or timers',
    code: '[typeof process, typeof require, typeof fetch, typeof setTimeout, typeof Buffer, typeof module].join()',
    expect: ['ok'],
    check: (text) => expect(text).toBe('undefined,undefined,undefined,undefined,undefined,undefined'),
  },
  {
    name: 'Function constructor escape',
    code: 'const g = (function () {}).constructor("return this")(); typeof g.process + "," + Object.keys(g).join()',
    expect: ['ok'],
    check: (text) => expect(text).toBe('undefined,console'),
  },
  {
    name: 'constructor chain to process',
    code: 'this.constructor.constructor("return process")()',
    expect: ['runtime-error'],
    check: (text) => expect(text).toContain("'process' is not defined"),
  },
  {
    name: 'dynamic import of node:fs',
    code: 'import("node:fs").then(() => "loaded")',
    expect: ['ok', 'runtime-error'],
    check: (text) => expect(text).not.toContain('loaded'),
  },
  {
    name: 'console functions reveal no host code',
    code: 'String(console.log) + Object.getOwnPropertyNames(console.log).join()',
    expect: ['ok'],
    check: (text) => expect(text).not.toMatch(/=>|newFunction|write\(/),
  },
  {
    name: 'prototype pollution',
    code: 'Object.prototype.polluted = "yes"; Array.prototype.map = null; ({}).polluted',
    expect: ['ok'],
    check: (text) => expect(text).toBe('yes'),
  },
  {
    name: 'prototype pollution through JSON and __proto__',
    code: 'const value = JSON.parse(\'{"__proto__": {"polluted": "yes"}}\'); Object.assign({}, value); ({}).polluted',
    expect: ['ok'],
    check: (text) => expect(text).toBe(''),
  },
  { name: 'thrown non-error value', code: 'throw { secret: 1 }', expect: ['runtime-error'] },
];

describe('adversarial: JavaScript on QuickJS', () => {
  let tool: JavaScriptTool;
  const environment = { ...process.env };
  beforeAll(() => {
    markHost();
    tool = createJavaScriptTool({ memoryLimitMb: 32, outputLimit: 5000 });
  });
  afterAll(() => tool.close());

  for (const testCase of cases) {
    it(testCase.name, async () => {
      await runAdversarialCase(tool, testCase, {
        timeoutMs: 1000,
        followUp: { code: '[1, 2, 3].map((x) => x * 2).join("") + ({}).polluted', output: '246undefined' },
      });
      expectHostHealthy(environment);
    });
  }
});
