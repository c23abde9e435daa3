import { mkdtemp, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ValidationError } from '@arpo/core';
import { describeToolConformance } from '@arpo/testing';
import { describe, expect, it } from 'vitest';
import { hostPythonPath, runningAsRoot } from '../../test/fixtures/host-python-path.js';
import { createHostPythonTool } from './host-python-tool.js';

describeToolConformance('python (host subprocess)', {
  create: () => createHostPythonTool({ pythonPath: hostPythonPath }),
  validInput: { code: 'print(6 * 7)' },
  expectOutput: (output) => expect(output).toBe('42\n'),
  invalidInput: { code: '' },
  invalidInputCode: 'invalid-input',
});

describe('createHostPythonTool', () => {
  const tool = createHostPythonTool({ pythonPath: hostPythonPath, stdoutLimit: 500 });

  it('prints the final expression and keeps stdout', async () => {
    expect(await tool.execute('print("a")\n2 ** 10')).toMatchObject({ ok: true, output: 'a\n1024' });
  });

  it('applies the resource limits inside the process', async () => {
    const result = await tool.execute(
      'import resource\n[resource.getrlimit(kind)[0] for kind in (resource.RLIMIT_AS, resource.RLIMIT_FSIZE, resource.RLIMIT_NPROC, resource.RLIMIT_CPU)]',
      { timeoutMs: 4000 },
    );
    expect(result).toMatchObject({ ok: true, output: `[${1024 * 2 ** 20}, ${16 * 2 ** 20}, 0, 5]` });
  });

  it('returns the traceback tail for errors', async () => {
    const result = await tool.execute('def f():\n    raise KeyError("k")\nf()');
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.error.code).toBe('runtime-error');
      expect(result.error.message).toMatch(/KeyError: 'k'$/);
    }
  });

  it('stops a running call when its signal aborts', async () => {
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 300);
    const result = await tool.execute('while True:\n    pass', {
      timeoutMs: 20_000,
      signal: controller.signal,
    });
    expect(result).toMatchObject({ ok: false, error: { code: 'aborted' } });
  });

  it('reports a missing interpreter as unavailable', async () => {
    const missing = createHostPythonTool({ pythonPath: '/nonexistent/python3' });
    expect(await missing.execute('1')).toMatchObject({
      ok: false,
      error: { code: 'unavailable', retryable: true },
    });
  });

  it('refuses a runAs that is not a uid and gid, naming the field', () => {
    expect(() => createHostPythonTool({ runAs: { uid: -1, gid: 0 } })).toThrow(ValidationError);
    expect(() => createHostPythonTool({ runAs: { uid: -1, gid: 0 } })).toThrow(/runAs/);
  });

  it.runIf(runningAsRoot)('as root, runs code as nobody unless told to keep root', async () => {
    const uid = 'import os\nos.getuid(), os.getgid()';
    expect(await tool.execute(uid)).toMatchObject({ ok: true, output: '(65534, 65534)' });
    const chosen = createHostPythonTool({ pythonPath: hostPythonPath, runAs: { uid: 1, gid: 1 } });
    expect(await chosen.execute(uid)).toMatchObject({ ok: true, output: '(1, 1)' });
    const root = createHostPythonTool({ pythonPath: hostPythonPath, runAs: 'current-user' });
    expect(await root.execute(uid)).toMatchObject({ ok: true, output: '(0, 0)' });
  });

  it.runIf(runningAsRoot)('as root, names an interpreter the unprivileged user cannot start', async () => {
    // A link inside a root-only (0700) directory: root can run it, nobody cannot reach it.
    const directory = await mkdtemp(join(tmpdir(), 'arpo-private-python-'));
    try {
      const hidden = join(directory, 'python3');
      await symlink('/usr/bin/python3', hidden);
      const result = await createHostPythonTool({ pythonPath: hidden }).execute('1');
      expect(result).toMatchObject({ ok: false, error: { code: 'unavailable' } });
      if (!result.ok) {
        expect(result.error.message).toContain(`${hidden} cannot be started as uid 65534`);
        expect(result.error.message).toContain('pythonPath');
      }
    } finally {
      await rm(directory, { recursive: true, force: true });
    }
  });
});
