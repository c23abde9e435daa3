import { describeToolConformance } from '@arpo/testing';
import { describe, expect, it } from 'vitest';
import { createHostPythonTool } from './host-python-tool.js';

describeToolConformance('python (host subprocess)', {
  create: () => createHostPythonTool(),
  validInput: { code: 'print(6 * 7)' },
  expectOutput: (output) => expect(output).toBe('42\n'),
  invalidInput: { code: '' },
  invalidInputCode: 'invalid-input',
});

describe('createHostPythonTool', () => {
  const tool = createHostPythonTool({ stdoutLimit: 500 });

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
});
