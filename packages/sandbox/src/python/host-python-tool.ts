import { execFile, spawn } from 'node:child_process';
import { chown, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type JsonSchema,
  lazySchema,
  parse,
  type Tool,
  type ToolExecuteOptions,
  type ToolResult,
} from '@arpo/core';
import { z } from 'zod';
import { codeInputSchema, readCodeInput } from '../limits/code-input.js';
import { type CodeRunOutcome, type CodeRunStatus, codeRunResult } from '../limits/code-result.js';
import { OutputCap } from '../limits/output-cap.js';
import { hostPythonPreamble } from './host-python-preamble.js';
import { type CodeToolOptions, codeToolOptionsShape } from './python-options.js';

/**
 * Options of `createHostPythonTool`. This backend runs the system's `python3`, so code can use whatever is
 * installed there (numpy, sympy), but it is isolated only by resource limits, an empty environment and a
 * temporary working directory: it can read any file the user running Node can read.
 */
export interface HostPythonToolOptions extends CodeToolOptions {
  /** The interpreter. Default `python3`, resolved once to its real path (pyenv shims need the host env). */
  pythonPath?: string;
  /** Address-space cap (RLIMIT_AS), in MiB. Default 1024. */
  memoryLimitMb?: number;
  /** Largest file the code may write (RLIMIT_FSIZE), in MiB. Default 16. */
  fileSizeLimitMb?: number;
  /** Process cap (RLIMIT_NPROC). Default 0: no new processes (binding only for a non-root user, see `runAs`). */
  maxProcesses?: number;
  /**
   * The user that runs the code when Node runs as root, because root ignores RLIMIT_NPROC and can read every
   * file. Default `nobody` (uid and gid 65534). `'current-user'` keeps root (then code can start processes).
   * Ignored when Node is not root. The interpreter must be executable by that user.
   */
  runAs?: { uid: number; gid: number } | 'current-user';
  /** Characters of stdout kept; more kills the process and ends the call with `output-limit`. Default 20 000. */
  stdoutLimit?: number;
  /** Characters of stderr kept. Default 5 000. */
  stderrLimit?: number;
  /** Lines of traceback kept in `runtime-error` messages. Default 12. */
  tracebackLines?: number;
  /** The process environment. Default: empty. */
  env?: Readonly<Record<string, string>>;
}

/** The host-Python tool. */
export interface HostPythonTool extends Tool<unknown> {
  close(): Promise<void>;
}

const hostPythonToolOptionsSchema = lazySchema<HostPythonToolOptions>('host Python tool options', () =>
  z.strictObject({
    ...codeToolOptionsShape(),
    pythonPath: z.string().min(1).optional(),
    memoryLimitMb: z.number().int().min(64).optional(),
    fileSizeLimitMb: z.number().int().min(0).optional(),
    maxProcesses: z.number().int().min(0).optional(),
    stdoutLimit: z.number().int().min(1).optional(),
    stderrLimit: z.number().int().min(1).optional(),
    tracebackLines: z.number().int().min(1).optional(),
    env: z.record(z.string(), z.string()).optional(),
    runAs: z
      .union([
        z.literal('current-user'),
        z.strictObject({ uid: z.number().int().min(0), gid: z.number().int().min(0) }),
      ])
      .optional(),
  }),
);

/** A uid and gid the child process switches to. */
interface Identity {
  uid: number;
  gid: number;
}

const resolvedInterpreters = new Map<string, Promise<string>>();

function runInterpreter(
  path: string,
  options: { code: string; identity: Identity | undefined },
): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    execFile(
      path,
      ['-I', '-c', options.code],
      { timeout: 30_000, cwd: '/', ...(options.identity ? { ...options.identity, env: {} } : {}) },
      (error, stdout) => (error ? reject(error) : resolve(stdout.trim())),
    );
  });
}

/**
 * The interpreter's real path, so it can start with an empty environment (shims cannot), checked to start as
 * the user that will run the code (an interpreter under /root is not executable by `nobody`).
 */
function resolveInterpreter(pythonPath: string, identity: Identity | undefined): Promise<string> {
  const key = `${pythonPath}\0${identity ? `${identity.uid}:${identity.gid}` : ''}`;
  let resolved = resolvedInterpreters.get(key);
  if (!resolved) {
    resolved = (async () => {
      const path = await runInterpreter(pythonPath, {
        code: 'import sys; print(sys.executable)',
        identity: undefined,
      });
      if (path === '') throw new Error(`${pythonPath} printed no sys.executable`);
      if (identity) {
        await runInterpreter(path, { code: 'pass', identity }).catch((error: Error) => {
          throw new Error(
            `${path} cannot be started as uid ${identity.uid} (gid ${identity.gid}), the unprivileged user ` +
              `that runs code when Node runs as root: ${error.message.split('\n')[0]}. Pass a pythonPath that ` +
              `user can execute (for example /usr/bin/python3), or runAs`,
          );
        });
      }
      return path;
    })();
    resolvedInterpreters.set(key, resolved);
    resolved.catch(() => resolvedInterpreters.delete(key));
  }
  return resolved;
}

/** Who runs the code: `undefined` keeps the current user. */
function identityFor(runAs: HostPythonToolOptions['runAs']): Identity | undefined {
  if (runAs === 'current-user' || process.getuid?.() !== 0) return undefined;
  return runAs ?? { uid: 65_534, gid: 65_534 };
}

const defaultDescription =
  'Runs Python 3 code with the host interpreter and its installed packages, and returns what it prints. If ' +
  'the last line is an expression, its value is printed. Each call is a fresh process.';

/**
 * Creates a Python tool that runs each call in a fresh `python3` process with resource limits (CPU time,
 * address space, file size, process count), an empty environment and a temporary working directory that is
 * removed afterwards, as an unprivileged user (`runAs`) when Node is root; the whole process group is killed at
 * the wall-clock limit. Weaker isolation than `createPythonTool` (Pyodide): use it for trusted-ish code that
 * needs native packages.
 */
export function createHostPythonTool(options: HostPythonToolOptions = {}): HostPythonTool {
  const valid = parse(hostPythonToolOptionsSchema, options);
  const name = valid.name ?? 'python';
  const defaultTimeoutMs = valid.timeoutMs ?? 10_000;
  const maxCodeLength = valid.maxCodeLength ?? 100_000;
  const stdoutLimit = valid.stdoutLimit ?? 20_000;
  const stderrLimit = valid.stderrLimit ?? 5_000;
  const running = new Set<() => void>();
  const identity = identityFor(valid.runAs);
  let closed = false;

  async function runProcess(code: string, timeoutMs: number, signal?: AbortSignal): Promise<CodeRunOutcome> {
    const started = performance.now();
    const base = { stdout: '', stderr: '', stdoutLimit, stderrLimit };
    let interpreter: string;
    try {
      interpreter = await resolveInterpreter(valid.pythonPath ?? 'python3', identity);
    } catch (error) {
      const message = `no Python interpreter at '${valid.pythonPath ?? 'python3'}': ${(error as Error).message}`;
      return { ...base, status: 'unavailable', message, durationMs: performance.now() - started };
    }
    const directory = await mkdtemp(join(tmpdir(), 'arpo-python-'));
    try {
      // The unprivileged user needs its working directory; mkdtemp makes it 0700 for root.
      if (identity) await chown(directory, identity.uid, identity.gid);
      const limits = {
        cpuSeconds: Math.ceil(timeoutMs / 1000) + 1,
        memoryBytes: (valid.memoryLimitMb ?? 1024) * 1024 * 1024,
        fileSizeBytes: (valid.fileSizeLimitMb ?? 16) * 1024 * 1024,
        processes: valid.maxProcesses ?? 0,
        tracebackLines: valid.tracebackLines ?? 12,
      };
      const child = spawn(interpreter, ['-I', '-c', hostPythonPreamble, JSON.stringify(limits)], {
        cwd: directory,
        env: { ...valid.env },
        ...identity,
        // Its own process group, so the wall-clock kill takes any children with it.
        detached: true,
        stdio: ['pipe', 'pipe', 'pipe', 'pipe'],
      });
      const stdout = new OutputCap(stdoutLimit);
      const stderr = new OutputCap(stderrLimit);
      const status: string[] = [];
      let stopReason: CodeRunStatus | undefined;
      const kill = (reason: CodeRunStatus) => {
        stopReason ??= reason;
        try {
          if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
        } catch {
          // Already gone.
        }
      };
      const stopForClose = () => kill('aborted');
      running.add(stopForClose);
      const timer = setTimeout(() => kill('timeout'), timeoutMs);
      const onAbort = () => kill('aborted');
      signal?.addEventListener('abort', onAbort, { once: true });
      child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
        if (!stdout.append(chunk)) kill('output-limit');
      });
      child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
        if (!stderr.append(chunk)) kill('output-limit');
      });
      const statusPipe = child.stdio[3];
      statusPipe?.on('data', (chunk: Buffer) => status.push(chunk.toString('utf8')));
      child.stdin.on('error', () => {});
      child.stdin.end(code);
      const exit = await new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
        child.once('error', () => resolve({ code: null, signal: null }));
        child.once('close', (exitCode, exitSignal) => resolve({ code: exitCode, signal: exitSignal }));
      });
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      running.delete(stopForClose);
      const durationMs = performance.now() - started;
      const streams = { ...base, stdout: stdout.text, stderr: stderr.text, durationMs };
      if (stopReason === 'timeout') {
        return {
          ...streams,
          status: 'timeout',
          message: `the code ran longer than ${timeoutMs} ms and was killed`,
        };
      }
      if (stopReason === 'aborted') return { ...streams, status: 'aborted', message: 'the call was aborted' };
      if (stopReason === 'output-limit') return { ...streams, status: 'output-limit', message: '' };
      if (exit.signal === 'SIGXCPU') {
        return {
          ...streams,
          status: 'timeout',
          message: `the code used more than ${limits.cpuSeconds} s of CPU time`,
        };
      }
      let reported: [string, string] | undefined;
      try {
        reported = JSON.parse(status.join('')) as [string, string];
      } catch {
        reported = undefined;
      }
      if (!reported) {
        const how = exit.signal ? `signal ${exit.signal}` : `exit code ${exit.code}`;
        return {
          ...streams,
          status: 'error',
          message: `the Python process ended with ${how} before finishing`,
        };
      }
      const [kind, message] = reported;
      if (kind === 'ok') return { ...streams, status: 'ok', message: '' };
      if (kind === 'memory-limit') {
        return {
          ...streams,
          status: 'memory-limit',
          message: `MemoryError: the code exceeded the ${valid.memoryLimitMb ?? 1024} MiB address-space cap`,
        };
      }
      return { ...streams, status: kind === 'forbidden' ? 'forbidden' : 'error', message };
    } finally {
      await rm(directory, { recursive: true, force: true });
    }
  }

  return {
    name,
    description: valid.description ?? defaultDescription,
    inputSchema: codeInputSchema as unknown as JsonSchema,
    async execute(input: unknown, executeOptions: ToolExecuteOptions = {}): Promise<ToolResult> {
      const code = readCodeInput(input, { toolName: name, maxCodeLength });
      if (!code.ok) return code.result;
      if (executeOptions.signal?.aborted) {
        return codeRunResult({
          status: 'aborted',
          stdout: '',
          stderr: '',
          message: 'the call was aborted before it started',
          stdoutLimit,
          stderrLimit,
          durationMs: 0,
        });
      }
      if (closed) {
        return codeRunResult({
          status: 'unavailable',
          stdout: '',
          stderr: '',
          message: 'the host Python tool is closed',
          stdoutLimit,
          stderrLimit,
          durationMs: 0,
        });
      }
      const outcome = await runProcess(
        code.code,
        executeOptions.timeoutMs ?? defaultTimeoutMs,
        executeOptions.signal,
      );
      return codeRunResult(outcome);
    },
    async close() {
      closed = true;
      for (const stop of running) stop();
    },
  };
}
