import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPythonTool, type PythonTool } from '../../src/python/python-tool.js';
import {
  type AdversarialCase,
  expectHostHealthy,
  markHost,
  runAdversarialCase,
} from './adversarial-helpers.js';

const notReached = (text: string) => {
  expect(text).not.toMatch(/root:x:0:0|process\.env|\/home\/|node_modules/);
};

/**
 * Wall-clock limit of cases a memory or output cap must stop: long enough that on a loaded machine the timer
 * cannot win the race (growing the WebAssembly heap to the cap took 0.4-2 s next to a worker being replaced),
 * short enough that the case is still checked to end within its limit.
 */
const capCaseTimeoutMs = 8000;

/** The pool's interrupt grace, also the grace the timing check allows. */
const interruptGraceMs = 1000;

const cases: AdversarialCase[] = [
  { name: 'infinite loop', code: 'while True:\n    pass', expect: 'timeout' },
  {
    name: 'infinite loop that swallows the interrupt',
    code: 'while True:\n    try:\n        while True:\n            pass\n    except BaseException:\n        pass',
    expect: 'timeout',
    // The interrupt is caught, so only terminating the worker stops it.
    workersReplaced: 1,
  },
  {
    name: 'deep recursion',
    code: 'def down(n):\n    return down(n + 1)\ndown(0)',
    expect: 'runtime-error',
    check: (text) => expect(text).toContain('RecursionError'),
  },
  {
    name: 'raised recursion limit then deep recursion',
    code: 'import sys\nsys.setrecursionlimit(10**7)\ndef down(n):\n    return down(n + 1)\ndown(0)',
    expect: 'runtime-error',
    check: (text) => expect(text).toContain('RecursionError'),
  },
  {
    name: 'one huge allocation',
    code: 'block = " " * (400 * 2**20)',
    expect: 'memory-limit',
    timeoutMs: capCaseTimeoutMs,
    // WebAssembly memory never shrinks, so a worker that reached the cap is replaced by design.
    workersReplaced: 1,
  },
  {
    name: 'growing memory bomb',
    code: 'blocks = []\nwhile True:\n    blocks.append(bytearray(16 * 2**20))',
    expect: 'memory-limit',
    timeoutMs: capCaseTimeoutMs,
    workersReplaced: 1,
  },
  {
    name: 'endless printing',
    code: 'while True:\n    print("spam " * 100)',
    expect: 'output-limit',
    timeoutMs: capCaseTimeoutMs,
  },
  {
    name: 'huge final expression',
    code: '"x" * 10**6',
    expect: 'output-limit',
    timeoutMs: capCaseTimeoutMs,
  },
  {
    name: 'endless stderr',
    code: 'import sys\nwhile True:\n    sys.stderr.write("e" * 1000)',
    expect: 'output-limit',
    timeoutMs: capCaseTimeoutMs,
  },
  {
    name: 'read /etc/passwd',
    code: 'print(open("/etc/passwd").read())',
    expect: 'runtime-error',
    check: (text) => expect(text).toContain('FileNotFoundError'),
  },
  {
    name: 'list the host root',
    code: 'import os\nsorted(os.listdir("/"))',
    expect: 'ok',
    check: (text) => expect(text).toBe("['dev', 'home', 'lib', 'proc', 'tmp']"),
  },
  {
    name: 'environment variables',
    code: 'import os\ndict(os.environ), os.getenv("HOME"), os.getenv("PATH"), os.environb',
    expect: 'ok',
    // Exactly empty: not one host variable is visible.
    check: (text) => expect(text).toBe('({}, None, None, environ({}))'),
  },
  {
    name: 'writing the environment with os.putenv',
    code: 'import os\nos.putenv("NODE_OPTIONS", "--require /tmp/evil.js")',
    expect: 'forbidden',
  },
  { name: 'os.system', code: 'import os\nos.system("cat /etc/passwd")', expect: 'forbidden' },
  { name: 'os.execv', code: 'import os\nos.execv("/bin/sh", ["sh", "-c", "id"])', expect: 'forbidden' },
  {
    name: 'os.fork',
    code: 'import os\nos.fork()',
    expect: 'forbidden',
    check: notReached,
  },
  { name: 'os.kill', code: 'import os\nos.kill(1, 9)', expect: 'forbidden' },
  {
    name: 'import _posixsubprocess (fork_exec has no audit event)',
    code: 'import _posixsubprocess\n_posixsubprocess.fork_exec',
    expect: 'forbidden',
  },
  { name: 'import subprocess', code: 'import subprocess\nsubprocess.run(["id"])', expect: 'forbidden' },
  {
    name: 'socket connect',
    code: 'import socket\nsocket.create_connection(("127.0.0.1", 80))',
    expect: 'forbidden',
  },
  {
    name: 'urllib request',
    code: 'import urllib.request\nurllib.request.urlopen("http://127.0.0.1:9/")',
    expect: 'forbidden',
    // The first import of urllib.request is slow on a loaded machine.
    timeoutMs: 10_000,
  },
  { name: 'import js', code: 'import js\njs.process.env', expect: 'forbidden' },
  { name: 'import pyodide_js', code: 'import pyodide_js\npyodide_js._module', expect: 'forbidden' },
  { name: 'pyfetch', code: 'from pyodide.http import pyfetch', expect: 'forbidden' },
  {
    name: 'run_js',
    code: 'from pyodide.code import run_js\nrun_js("process.exit(1)")',
    expect: 'forbidden',
  },
  { name: 'micropip', code: 'import micropip', expect: 'forbidden' },
  { name: 'ctypes', code: 'import ctypes\nctypes.CDLL(None)', expect: 'forbidden' },
  {
    name: 'importlib side door to the JS core',
    code: 'import importlib\nimportlib.import_module("_pyodide_core")',
    expect: 'forbidden',
  },
  {
    name: 'builtin loader side door',
    code: 'import _imp, importlib.machinery\n_imp.create_builtin(importlib.machinery.ModuleSpec("_pyodide_core", None))',
    expect: 'forbidden',
  },
  {
    name: 'meta path removed, then the JS core imported',
    code: 'import sys, importlib\nsys.meta_path.pop(0)\nimportlib.import_module("pyodide.ffi")',
    expect: 'forbidden',
  },
  {
    name: 'frame walking with sys._getframe',
    code: 'import sys\nsys._getframe(0).f_back',
    expect: 'forbidden',
  },
  {
    name: 'frame walking through a traceback',
    code: 'try:\n    1 / 0\nexcept ZeroDivisionError as error:\n    error.__traceback__.tb_frame.f_back.f_globals',
    expect: 'forbidden',
  },
  { name: 'object graph walking with gc', code: 'import gc\nlen(gc.get_objects())', expect: 'forbidden' },
  {
    name: 'forged code object',
    code: 'import marshal\nmarshal.loads(marshal.dumps((lambda: 0).__code__))',
    expect: 'forbidden',
  },
  {
    name: 'extra audit hook (refused silently, as CPython does for a vetoed hook)',
    code: 'import sys\nsys.addaudithook(lambda event, args: print("HOOK", event))\nopen("/tmp/scratch/a", "w")\nprint("after")',
    expect: 'ok',
    check: (text) => expect(text).toBe('after\n'),
  },
  {
    name: 'JS proxy classes found through __subclasses__',
    code:
      'found = [c for c in object.__subclasses__() if c.__name__.startswith("Js")]\n' +
      'for kind in found:\n    kind.__new__(kind)',
    expect: 'runtime-error',
    check: notReached,
  },
  {
    name: 'overwriting the standard library',
    code: 'open("/lib/python3.14/site-packages/evil.py", "w").write("x")',
    expect: 'forbidden',
  },
  {
    name: 'prototype pollution of object',
    code: 'object.polluted = "yes"',
    expect: 'runtime-error',
    check: (text) =>
      expect(text).toContain("TypeError: cannot set 'polluted' attribute of immutable type 'object'"),
  },
  {
    name: 'reading stdin',
    code: 'input("password: ")',
    expect: 'runtime-error',
    check: (text) => expect(text).toContain('EOFError'),
  },
  {
    name: 'starting a thread',
    code: 'import threading\nthreading.Thread(target=print).start()',
    expect: 'runtime-error',
    check: (text) => expect(text).toContain("can't start new thread"),
  },
];

describe('adversarial: Python on Pyodide', () => {
  let tool: PythonTool;
  const environment = { ...process.env };
  beforeAll(async () => {
    markHost();
    tool = createPythonTool({
      pool: { size: 2, memoryLimitMb: 256, stdoutLimit: 5000, interruptGraceMs },
    });
    await tool.pool.ready();
  }, 120_000);
  afterAll(() => tool.close());

  for (const testCase of cases) {
    it(testCase.name, async () => {
      await runAdversarialCase(tool, testCase, {
        timeoutMs: 1500,
        followUp: { code: '6 * 7', output: '42' },
        workersReplaced: () => tool.pool.stats.workersReplaced,
      });
      expectHostHealthy(environment);
      // Counted at every refused request, during calls too (socket, urllib and the JS bridge cases included).
      expect(tool.pool.stats.networkAttempts, 'network attempts').toBe(0);
    });
  }

  it('state a call leaves behind does not reach the next call', async () => {
    const tamper =
      'import builtins, sys, os\n' +
      'builtins.len = lambda value: -1\n' +
      'sys.meta_path.clear()\n' +
      'sys.path.clear()\n' +
      'sys.stdout = None\n' +
      'open("/tmp/scratch/left-behind.txt", "w").write("x")\n' +
      'os.chdir("/")\n' +
      'import __main__\n__main__.leaked = True';
    expect(await tool.execute(tamper)).toMatchObject({ ok: true });
    for (let attempt = 0; attempt < 2; attempt += 1) {
      const check = await tool.execute(
        'import os, sys, fractions, __main__\n' +
          'len([1, 2]), os.listdir("."), os.getcwd(), hasattr(__main__, "leaked"), str(fractions.Fraction(1, 2))',
      );
      expect(check).toMatchObject({ ok: true, output: "(2, [], '/tmp/scratch', False, '1/2')" });
    }
  });

  it('replaced workers keep the pool at its size and never touch the network', () => {
    const expectedReplaced = cases.reduce((sum, testCase) => sum + (testCase.workersReplaced ?? 0), 0);
    expect(tool.pool.stats.workersReplaced).toBe(expectedReplaced);
    expect(tool.pool.stats.workersStarted).toBe(2 + expectedReplaced);
    expect(tool.pool.stats.networkAttempts).toBe(0);
  });
});
