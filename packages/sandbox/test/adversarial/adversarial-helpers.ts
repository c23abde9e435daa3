import { readdirSync, readFileSync } from 'node:fs';
import type { Tool, ToolErrorCode, ToolResult } from '@arpo/core';
import { expect } from 'vitest';

/** A hostile (or broken) piece of code and what the sandbox must answer. */
export interface AdversarialCase {
  name: string;
  code: string;
  /**
   * The one error code that counts as a clear refusal, or `ok` when the right outcome is that the attack has no
   * effect; then `check` must pin down the harmless output exactly.
   */
  expect: ToolErrorCode | 'ok';
  /** Checks the output or error message further. */
  check?: (text: string) => void;
  /** Wall-clock limit of this call; the suite's default applies otherwise. */
  timeoutMs?: number;
  /** Workers the pool must replace during this case (the pools' suites default it to 0). */
  workersReplaced?: number;
}

/** Limits a suite runs its cases with. */
export interface AdversarialLimits {
  /** The call's `timeoutMs` when the case sets none. */
  timeoutMs: number;
  /** How long the tool waits after the deadline before it kills the runner (the pool's `interruptGraceMs`). */
  graceMs: number;
  /** The plain call that must succeed on the same tool afterwards, and its output. */
  followUp: { code: string; output: string };
  /** Reads the pool's replaced-worker counter, for pools. */
  workersReplaced?: () => number;
}

/**
 * Slack on top of timeout + grace before a call counts as "not within its limit": the suite runs on a shared
 * 2-core machine where other engineers' jobs steal the CPU, and a result still has to cross a thread or a pipe.
 */
export const adversarialSlackMs = 3000;

/** The host process's main-thread heap may grow at most this much during one case (it holds no sandbox). */
const heapGrowthLimitBytes = 128 * 2 ** 20;
/**
 * RSS includes the worker threads, and a memory bomb legitimately grows one to its cap before it is replaced;
 * more than this means a cap did not hold.
 */
const rssGrowthLimitBytes = 1536 * 2 ** 20;
/** The longest the host event loop may go without running a 25 ms interval during an attack. */
const eventLoopStallLimitMs = 2000;

const sentinel = Symbol.for('arpo.sandbox.adversarial.host-sentinel');

/** Marks the host so a case that reaches it can be detected. */
export function markHost(): void {
  (globalThis as Record<symbol, unknown>)[sentinel] = 'intact';
}

/** The host is healthy: its globals, environment and prototypes are untouched. */
export function expectHostHealthy(environmentBefore: Record<string, string | undefined>): void {
  expect((globalThis as Record<symbol, unknown>)[sentinel]).toBe('intact');
  expect(process.env).toEqual(environmentBefore);
  expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  expect(Object.hasOwn(Object.prototype, 'polluted')).toBe(false);
  expect([1, 2].map((value) => value * 2)).toEqual([2, 4]);
  expect(typeof process.exit).toBe('function');
}

/** Pids of every live descendant of this process, read from /proc (Linux). */
export function descendantProcesses(): Set<number> {
  const parents = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // Field 4 (ppid) follows the command name, which is in parentheses and may contain spaces.
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (fields[0] !== 'Z') parents.set(Number(entry), Number(fields[1]));
    } catch {
      // The process ended while we read.
    }
  }
  const found = new Set<number>([process.pid]);
  let grew = true;
  while (grew) {
    grew = false;
    for (const [pid, parent] of parents) {
      if (found.has(parent) && !found.has(pid)) {
        found.add(pid);
        grew = true;
      }
    }
  }
  found.delete(process.pid);
  return found;
}

/** Watches the host event loop: a timer must fire on time, and an interval must keep running. */
function watchEventLoop(): { stop: () => { firstTimerLateByMs: number | undefined; longestGapMs: number } } {
  const started = performance.now();
  let firstTimerAt: number | undefined;
  const first = setTimeout(() => {
    firstTimerAt = performance.now();
  }, 20);
  let last = started;
  let longestGapMs = 0;
  const interval = setInterval(() => {
    const now = performance.now();
    longestGapMs = Math.max(longestGapMs, now - last);
    last = now;
  }, 25);
  return {
    stop: () => {
      clearTimeout(first);
      clearInterval(interval);
      longestGapMs = Math.max(longestGapMs, performance.now() - last);
      return {
        firstTimerLateByMs: firstTimerAt === undefined ? undefined : firstTimerAt - started - 20,
        longestGapMs,
      };
    },
  };
}

/**
 * Runs one case and asserts: the single expected outcome, that it came back within its limit (timeout + grace +
 * `adversarialSlackMs`), that the host stayed healthy meanwhile (event loop running, heap and RSS bounded, no
 * stray child process) and that the same tool answers a plain call afterwards.
 */
export async function runAdversarialCase(
  tool: Tool,
  testCase: AdversarialCase,
  limits: AdversarialLimits,
): Promise<ToolResult> {
  const timeoutMs = testCase.timeoutMs ?? limits.timeoutMs;
  const childrenBefore = descendantProcesses();
  const memoryBefore = process.memoryUsage();
  const replacedBefore = limits.workersReplaced?.();
  const watch = watchEventLoop();
  const started = performance.now();
  const result = await tool.execute({ code: testCase.code }, { timeoutMs });
  const elapsedMs = performance.now() - started;
  const loop = watch.stop();
  const memoryAfter = process.memoryUsage();

  const label = result.ok
    ? `ok: ${result.output.slice(0, 300)}`
    : `${result.error.code}: ${result.error.message.slice(0, 300)}`;
  expect(result.ok ? 'ok' : result.error.code, label).toBe(testCase.expect);
  if (testCase.expect === 'ok') expect(testCase.check, 'an ok case pins its output').toBeTypeOf('function');
  testCase.check?.(result.ok ? result.output : result.error.message);

  const limitMs = timeoutMs + limits.graceMs + adversarialSlackMs;
  expect(
    elapsedMs,
    `answered within ${limitMs} ms (longest host loop gap ${loop.longestGapMs} ms)`,
  ).toBeLessThanOrEqual(limitMs);
  // On a starved machine libuv may deliver the worker's answer before a due timer, so the timer is required
  // only of calls that outlast the stall limit.
  if (elapsedMs > eventLoopStallLimitMs) {
    expect(loop.firstTimerLateByMs, 'a 20 ms host timer fired during the call').toBeDefined();
  }
  if (loop.firstTimerLateByMs !== undefined) {
    expect(loop.firstTimerLateByMs, 'the 20 ms host timer was late by').toBeLessThan(eventLoopStallLimitMs);
  }
  expect(loop.longestGapMs, 'the host event loop kept running').toBeLessThan(eventLoopStallLimitMs);
  expect(memoryAfter.heapUsed - memoryBefore.heapUsed, 'host heap growth').toBeLessThan(heapGrowthLimitBytes);
  expect(memoryAfter.rss - memoryBefore.rss, 'host RSS growth').toBeLessThan(rssGrowthLimitBytes);
  const stray = [...descendantProcesses()].filter((pid) => !childrenBefore.has(pid));
  expect(stray, 'no child process outlives the call').toEqual([]);
  if (limits.workersReplaced && replacedBefore !== undefined) {
    expect(limits.workersReplaced() - replacedBefore, 'workers replaced').toBe(testCase.workersReplaced ?? 0);
  }

  const next = await tool.execute({ code: limits.followUp.code }, { timeoutMs: 20_000 });
  expect(next, 'the next call on the same tool succeeds').toMatchObject({
    ok: true,
    output: limits.followUp.output,
  });
  return result;
}
