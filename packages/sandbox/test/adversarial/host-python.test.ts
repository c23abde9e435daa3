import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHostPythonTool, type HostPythonTool } from '../../src/python/host-python-tool.js';
import { hostPythonPath, runningAsRoot } from '../fixtures/host-python-path.js';
import {
  type AdversarialCase,
  expectHostHealthy,
  markHost,
  runAdversarialCase,
} from './adversarial-helpers.js';

/** The wall-clock limit of every case; the process is killed at once (SIGKILL), so there is no grace. */
const caseTimeoutMs = 3000;

const cases: AdversarialCase[] = [
  { name: 'infinite loop', code: 'while True:\n    pass', expect: 'timeout' },
  {
    name: 'deep recursion',
    code: 'import sys\nsys.setrecursionlimit(20_000)\ndef down(n):\n    return down(n + 1)\ndown(0)',
    expect: 'runtime-error',
    check: (text) => expect(text).toContain('RecursionError'),
  },
  { name: 'one huge allocation', code: 'block = " " * (600 * 2**20)', expect: 'memory-limit' },
  {
    name: 'growing memory bomb',
    code: 'blocks = []\nwhile True:\n    blocks.append(bytearray(16 * 2**20))',
    expect: 'memory-limit',
  },
  { name: 'endless printing', code: 'while True:\n    print("spam " * 100)', expect: 'output-limit' },
  {
    name: 'environment variables',
    code: 'import os\nsorted(key for key in os.environ if key != "LC_CTYPE")',
    expect: 'ok',
    check: (text) => expect(text).toBe('[]'),
  },
  { name: 'os.system', code: 'import os\nos.system("id")', expect: 'forbidden' },
  { name: 'subprocess', code: 'import subprocess\nsubprocess.run(["id"])', expect: 'forbidden' },
  { name: 'fork bomb', code: 'import os\nwhile True:\n    os.fork()', expect: 'forbidden' },
  {
    name: '_posixsubprocess.fork_exec (no audit event of its own)',
    code:
      'import _posixsubprocess\n' +
      '_posixsubprocess.fork_exec(["/bin/echo", "spawned"], [b"/bin/echo"], True, (), None, None, ' +
      '-1, -1, -1, -1, -1, -1, -1, -1, False, False, -1, None, None, None, -1, None, False)',
    expect: 'forbidden',
    check: (text) => expect(text).toContain("'_posixsubprocess.fork_exec' is blocked"),
  },
  {
    name: 'fork_exec after dropping the stand-in module',
    code: 'import sys\ndel sys.modules["_posixsubprocess"]\nimport _posixsubprocess',
    expect: 'forbidden',
    check: (text) => expect(text).toContain("importing '_posixsubprocess' is blocked"),
  },
  {
    name: 'os.posix_spawn',
    code: 'import os\nos.posix_spawn("/bin/echo", ["echo", "spawned"], {})',
    expect: 'forbidden',
    check: (text) => expect(text).toContain("'os.posix_spawn' is blocked"),
  },
  {
    name: 'posix.posix_spawnp from the C module',
    code: 'import posix\nposix.posix_spawnp("echo", ["echo", "spawned"], {})',
    expect: 'forbidden',
  },
  { name: 'os.execv', code: 'import os\nos.execv("/bin/sh", ["sh", "-c", "id"])', expect: 'forbidden' },
  { name: 'os.spawnv', code: 'import os\nos.spawnv(os.P_WAIT, "/bin/echo", ["echo"])', expect: 'forbidden' },
  { name: 'pty.fork', code: 'import pty\npty.fork()', expect: 'forbidden' },
  {
    name: 'ctypes call into libc',
    code: 'import ctypes\nctypes.CDLL(None).system(b"id")',
    expect: 'forbidden',
    check: (text) => expect(text).toContain("importing 'ctypes' is blocked"),
  },
  { name: '_ctypes directly', code: 'import _ctypes\n_ctypes.dlopen', expect: 'forbidden' },
  {
    name: 'socket connect',
    code: 'import socket\nsocket.create_connection(("127.0.0.1", 9), timeout=1)',
    expect: 'forbidden',
  },
  {
    name: 'huge file write',
    code: 'with open("big.bin", "wb") as handle:\n    handle.write(b"x" * (64 * 2**20))',
    expect: 'runtime-error',
    check: (text) => expect(text).toContain('File too large'),
  },
  {
    name: 'prototype pollution of object',
    code: 'object.polluted = "yes"',
    expect: 'runtime-error',
    check: (text) => expect(text).toContain("cannot set 'polluted' attribute of immutable type 'object'"),
  },
];

describe('adversarial: host Python (weaker isolation)', () => {
  let tool: HostPythonTool;
  const environment = { ...process.env };
  beforeAll(() => {
    markHost();
    tool = createHostPythonTool({
      pythonPath: hostPythonPath,
      memoryLimitMb: 512,
      fileSizeLimitMb: 8,
      stdoutLimit: 5000,
    });
  });
  afterAll(() => tool.close());

  for (const testCase of cases) {
    it(testCase.name, async () => {
      await runAdversarialCase(tool, testCase, {
        timeoutMs: caseTimeoutMs,
        followUp: { code: '6 * 7', output: '42' },
      });
      expectHostHealthy(environment);
    });
  }

  it.runIf(runningAsRoot)('runs as nobody when Node is root, where no process can be started', async () => {
    const result = await tool.execute(
      'import os, resource\nos.getuid(), os.getgid(), resource.getrlimit(resource.RLIMIT_NPROC)',
    );
    // A non-root user with RLIMIT_NPROC 0 cannot fork at all, whatever Python-level check is bypassed.
    expect(result).toMatchObject({ ok: true, output: '(65534, 65534, (0, 0))' });
    const secret = await tool.execute('open("/etc/shadow").read()');
    expect(secret).toMatchObject({ ok: false, error: { code: 'runtime-error' } });
    if (!secret.ok) expect(secret.error.message).toContain('Permission denied');
  });

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
