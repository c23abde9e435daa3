import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHostPythonTool, type HostPythonTool } from '../../src/python/host-python-tool.js';
import {
  type AdversarialCase,
  expectHostHealthy,
  markHost,
  runAdversarialCase,
} from './adversarial-helpers.js';

const cases: AdversarialCase[] = [
  { name: 'infinite loop', code: 'while True:\n    pass', expect: ['timeout'] },
  {
    name: 'deep recursion',
    code: 'import sys\nsys.setrecursionlimit(10**6)\ndef down(n):\n    return down(n + 1)\ndown(0)',
    // The C stack overflows (a crash reported as runtime-error) or the wall clock runs out first.
    expect: ['runtime-error', 'timeout'],
  },
  { name: 'one huge allocation', code: 'block = " " * (600 * 2**20)', expect: ['memory-limit'] },
  { name: 'endless printing', code: 'while True:\n    print("spam " * 100)', expect: ['output-limit'] },
  {
    name: 'environment variables',
    code: 'import os\nsorted(key for key in os.environ if key != "LC_CTYPE")',
    expect: ['ok'],
    check: (text) => expect(text).toBe('[]'),
  },
  { name: 'os.system', code: 'import os\nos.system("id")', expect: ['forbidden'] },
  { name: 'subprocess', code: 'import subprocess\nsubprocess.run(["id"])', expect: ['forbidden'] },
  { name: 'fork bomb', code: 'import os\nwhile True:\n    os.fork()', expect: ['forbidden'] },
  {
    name: 'socket connect',
    code: 'import socket\nsocket.create_connection(("127.0.0.1", 9), timeout=1)',
    expect: ['forbidden'],
  },
  {
    name: 'huge file write',
    code: 'with open("big.bin", "wb") as handle:\n    handle.write(b"x" * (64 * 2**20))',
    expect: ['runtime-error', 'memory-limit'],
  },
];

describe('adversarial: host Python (weaker isolation)', () => {
  let tool: HostPythonTool;
  const environment = { ...process.env };
  beforeAll(() => {
    markHost();
    tool = createHostPythonTool({ memoryLimitMb: 512, fileSizeLimitMb: 8, stdoutLimit: 5000 });
  });
  afterAll(() => tool.close());

  for (const testCase of cases) {
    it(testCase.name, async () => {
      await runAdversarialCase(tool, testCase, {
        timeoutMs: 3000,
        followUp: { code: '6 * 7', output: '42' },
      });
      expectHostHealthy(environment);
    });
  }

  it('runs in a temporary directory that is removed afterwards', async () => {
    const result = await tool.execute('import os\nopen("left.txt", "w").write("x")\nos.getcwd()');
    expect(result.ok).toBe(true);
    if (result.ok) {
      const directory = result.output.slice(1, -1);
      expect(directory).toMatch(/arpo-python-/);
      expect(existsSync(directory)).toBe(false);
    }
  });
});
