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
  /** The plain call that must succeed on the same tool afterwards, and its output. */
  followUp: { code: string; output: string };
  /** Reads the pool's replaced-worker counter, for pools. */
  workersReplaced?: () => number;
}

/** The host process's main-thread heap may grow at most this much during one case (it holds no sandbox). */
const heapGrowthLimitBytes = 128 * 2 ** 20;
/**
 * RSS includes the worker threads, and a memory bomb legitimately grows one to its cap before it is replaced;
 * more than this means a cap did not hold.
 */
const rssGrowthLimitBytes = 1536 * 2 ** 20;

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

/**
 * Counts turns of the host event loop (a self-rescheduling `setImmediate`): no time thresholds, so a loaded
 * machine cannot fail it, yet a call that held the main thread would show none.
 */
function countEventLoopTurns(): { stop: () => number } {
  let turns = 0;
  let handle = setImmediate(function turn() {
    turns += 1;
    handle = setImmediate(turn);
  });
  return {
    stop: () => {
      clearImmediate(handle);
      return turns;
    },
  };
}

/**
 * Runs one case and asserts: the single expected outcome (a limit's own error code shows the limit ended the
 * call), that the host stayed healthy meanwhile (event loop turning, heap and RSS bounded, no stray child process)
 * and that the same tool answers a plain call afterwards. No wall-clock thresholds: speed is the benchmarks' job.
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
  const watch = countEventLoopTurns();
  const result = await tool.execute({ code: testCase.code }, { timeoutMs });
  const loopTurns = watch.stop();
  const memoryAfter = process.memoryUsage();

  const label = result.ok
    ? `ok: ${result.output.slice(0, 300)}`
    : `${result.error.code}: ${result.error.message.slice(0, 300)}`;
  expect(result.ok ? 'ok' : result.error.code, label).toBe(testCase.expect);
  if (testCase.expect === 'ok') expect(testCase.check, 'an ok case pins its output').toBeTypeOf('function');
  testCase.check?.(result.ok ? result.output : result.error.message);

  // A call stopped by its time limit ran for the whole limit; the host loop must have kept turning meanwhile (the
  // outcome code itself shows the limit, not the test's clock, ended the call).
  if (testCase.expect === 'timeout')
    expect(loopTurns, 'host event loop turns during the call').toBeGreaterThan(0);
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
