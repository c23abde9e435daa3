// Warm latency and throughput of the Pyodide Python tool on 2 workers, its pool's cold start, and the host-Python
// backend (a process per call) as the peer measured in the same run.
// Run: pnpm --filter @arpo/sandbox bench
import { loadavg } from 'node:os';
import type { Tool } from '@arpo/core';
import { createHostPythonTool, createPythonTool } from '../src/index.js';
import { hostPythonPath } from '../test/fixtures/host-python-path.js';

const workloads = {
  trivial: '1+1',
  moderate:
    'def collatz(n):\n    steps = 0\n    while n != 1:\n        n = n // 2 if n % 2 == 0 else 3 * n + 1\n        steps += 1\n    return steps\n' +
    'total = 0\nfor i in range(10**5):\n    total += i\ntotal + collatz(27)',
};

function percentile(sorted: number[], fraction: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(fraction * sorted.length))] ?? Number.NaN;
}

async function latency(tool: Tool, code: string, calls: number): Promise<{ p50: number; p99: number }> {
  const times: number[] = [];
  for (let index = 0; index < calls; index += 1) {
    const started = performance.now();
    const result = await tool.execute(code, { timeoutMs: 30_000 });
    times.push(performance.now() - started);
    if (!result.ok) throw new Error(`benchmark call failed: ${result.error.message}`);
  }
  times.sort((a, b) => a - b);
  return { p50: percentile(times, 0.5), p99: percentile(times, 0.99) };
}

async function throughput(tool: Tool, code: string, calls: number, concurrency: number): Promise<number> {
  let remaining = calls;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (remaining > 0) {
        remaining -= 1;
        const result = await tool.execute(code, { timeoutMs: 30_000 });
        if (!result.ok) throw new Error(`benchmark call failed: ${result.error.message}`);
      }
    }),
  );
  return calls / ((performance.now() - started) / 1000);
}

const format = (value: number) => value.toFixed(2);

const loadAverage = () =>
  loadavg()
    .map((value) => value.toFixed(2))
    .join(' ');
console.log(`load average at start: ${loadAverage()}`);

// Cold start, in its parts: the first worker loads Pyodide from node_modules and makes the memory snapshot; the
// second worker starts from that snapshot. A second pool in the same process finds the snapshot cached, so its
// cold start is two snapshot starts in parallel; the difference is the first worker's load + snapshot.
const coldStarted = performance.now();
const pyodide = createPythonTool({ pool: { size: 2 } });
await pyodide.pool.ready();
const coldStartMs = performance.now() - coldStarted;
const snapshotStarted = performance.now();
const fromSnapshot = createPythonTool({ pool: { size: 2 } });
await fromSnapshot.pool.ready();
const snapshotStartMs = performance.now() - snapshotStarted;
await fromSnapshot.close();
// Runs as nobody when this process is root, so it takes an interpreter that user can execute.
const host = createHostPythonTool({ pythonPath: hostPythonPath });

console.log(
  `Pyodide pool cold start (2 workers, first one builds the snapshot): ${coldStartMs.toFixed(0)} ms; ` +
    `a second pool from the cached snapshot (2 workers in parallel): ${snapshotStartMs.toFixed(0)} ms`,
);
for (const [name, code] of Object.entries(workloads)) {
  await latency(pyodide, code, 50);
  const warm = await latency(pyodide, code, name === 'trivial' ? 2000 : 300);
  const rate = await throughput(pyodide, code, name === 'trivial' ? 4000 : 600, 8);
  await latency(host, code, 3);
  const peer = await latency(host, code, 30);
  const peerRate = await throughput(host, code, 60, 2);
  console.log(
    `${name.padEnd(8)} pyodide p50 ${format(warm.p50)} ms, p99 ${format(warm.p99)} ms, ${rate.toFixed(0)} calls/s | ` +
      `host python p50 ${format(peer.p50)} ms, p99 ${format(peer.p99)} ms, ${peerRate.toFixed(1)} calls/s | ` +
      `p50 speed-up ×${(peer.p50 / warm.p50).toFixed(1)}, throughput ×${(rate / peerRate).toFixed(1)}`,
  );
}
console.log(
  `workers started: ${pyodide.pool.stats.workersStarted}, network attempts: ${pyodide.pool.stats.networkAttempts}`,
);
console.log(`host python: ${hostPythonPath}; load average at end: ${loadAverage()}`);
await pyodide.close();
await host.close();
