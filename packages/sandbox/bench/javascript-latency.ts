// The QuickJS JavaScript tool on 2 worker threads: cold start, warm latency and throughput, and how long the
// adversarial cases take against their limits while the host event loop keeps running. The peer, measured in
// the same run, is QuickJS on the calling thread (a new runtime and context per call, as the tool did before
// the pool): no thread hop, but a long built-in call blocks the host.
// Run: pnpm --filter @arpo/sandbox exec node --conditions=@arpo/source --import tsx bench/javascript-latency.ts
import { newQuickJSWASMModule, type QuickJSWASMModule } from 'quickjs-emscripten';
import { createJavaScriptTool } from '../src/index.js';

const workloads = {
  trivial: '1+1',
  moderate:
    'function collatz(n) { let steps = 0; while (n !== 1) { n = n % 2 === 0 ? n / 2 : 3 * n + 1; steps++; } return steps; }\n' +
    'let total = 0; for (let i = 0; i < 1e5; i++) total += i; total + collatz(27)',
};

const timeoutMs = 1000;
const interruptGraceMs = 250;
const adversarial = {
  'infinite loop': 'for (;;) {}',
  'long built-in (huge BigInt to decimal)': 'String(2n ** 1000000n).length',
  'regex backtracking': '/(a+)+$/.test("a".repeat(40) + "b")',
  'ArrayBuffer memory bomb': 'const blocks = []; for (;;) blocks.push(new Uint8Array(4 << 20));',
  'object memory bomb': 'const all = []; for (let i = 0; ; i++) all.push({ i });',
  'endless console output': 'for (;;) console.log("spam ".repeat(100));',
};

function percentile(sorted: number[], fraction: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(fraction * sorted.length))] ?? Number.NaN;
}

type Run = (code: string) => Promise<{ ok: boolean; code?: string }>;

async function latency(run: Run, code: string, calls: number): Promise<{ p50: number; p99: number }> {
  const times: number[] = [];
  for (let index = 0; index < calls; index += 1) {
    const started = performance.now();
    const result = await run(code);
    times.push(performance.now() - started);
    if (!result.ok) throw new Error(`benchmark call failed: ${result.code}`);
  }
  times.sort((a, b) => a - b);
  return { p50: percentile(times, 0.5), p99: percentile(times, 0.99) };
}

async function throughput(run: Run, code: string, calls: number, concurrency: number): Promise<number> {
  let remaining = calls;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (remaining > 0) {
        remaining -= 1;
        const result = await run(code);
        if (!result.ok) throw new Error(`benchmark call failed: ${result.code}`);
      }
    }),
  );
  return calls / ((performance.now() - started) / 1000);
}

/** Wall time of one call and the longest gap between ticks of a 5 ms host timer meanwhile. */
async function withLoopDelay(
  run: Run,
  code: string,
): Promise<{ ms: number; maxGapMs: number; code: string }> {
  let last = performance.now();
  let maxGapMs = 0;
  const ticker = setInterval(() => {
    const now = performance.now();
    maxGapMs = Math.max(maxGapMs, now - last);
    last = now;
  }, 5);
  await new Promise((resolve) => setTimeout(resolve, 20));
  const started = performance.now();
  const result = await run(code);
  const ms = performance.now() - started;
  // One more tick so a gap that ended with the call is seen.
  await new Promise((resolve) => setTimeout(resolve, 20));
  clearInterval(ticker);
  return { ms, maxGapMs, code: result.ok ? 'ok' : (result.code ?? '?') };
}

/** QuickJS on the calling thread: the peer. */
function inThread(module: QuickJSWASMModule): Run {
  return async (code) => {
    const deadline = performance.now() + timeoutMs;
    const runtime = module.newRuntime();
    runtime.setMemoryLimit(64 * 1024 * 1024);
    runtime.setInterruptHandler(() => performance.now() > deadline);
    const context = runtime.newContext();
    const result = context.evalCode(code);
    const ok = !result.error;
    (result.error ?? result.value).dispose();
    context.dispose();
    runtime.dispose();
    return { ok, code: ok ? undefined : 'error' };
  };
}

const format = (value: number) => value.toFixed(2);

const coldStarted = performance.now();
const tool = createJavaScriptTool({ pool: { size: 2, interruptGraceMs } });
await tool.pool.ready();
console.log(`QuickJS pool cold start (2 workers): ${(performance.now() - coldStarted).toFixed(0)} ms`);
const pooled: Run = async (code) => {
  const result = await tool.execute(code, { timeoutMs });
  return result.ok ? { ok: true } : { ok: false, code: result.error.code };
};
const peer = inThread(await newQuickJSWASMModule());

for (const [name, code] of Object.entries(workloads)) {
  await latency(pooled, code, 50);
  await latency(peer, code, 50);
  const calls = name === 'trivial' ? 2000 : 300;
  const warm = await latency(pooled, code, calls);
  const rate = await throughput(pooled, code, calls * 2, 8);
  const local = await latency(peer, code, calls);
  const localRate = await throughput(peer, code, calls * 2, 8);
  console.log(
    `${name.padEnd(8)} pool p50 ${format(warm.p50)} ms, p99 ${format(warm.p99)} ms, ${rate.toFixed(0)} calls/s | ` +
      `in-thread p50 ${format(local.p50)} ms, p99 ${format(local.p99)} ms, ${localRate.toFixed(0)} calls/s | ` +
      `pool/in-thread p50 ×${(warm.p50 / local.p50).toFixed(2)}, throughput ×${(rate / localRate).toFixed(2)}`,
  );
}

console.log(`adversarial cases, timeout ${timeoutMs} ms, interrupt grace ${interruptGraceMs} ms:`);
for (const [name, code] of Object.entries(adversarial)) {
  // Memory bombs get a long timeout: the memory cap has to stop them.
  const run: Run = name.includes('memory')
    ? async (source) => {
        const result = await tool.execute(source, { timeoutMs: 30_000 });
        return result.ok ? { ok: true } : { ok: false, code: result.error.code };
      }
    : pooled;
  const measured = await withLoopDelay(run, code);
  console.log(
    `  ${name.padEnd(40)} ${measured.code.padEnd(13)} ${measured.ms.toFixed(0).padStart(5)} ms, ` +
      `longest host timer gap ${measured.maxGapMs.toFixed(0)} ms`,
  );
}
const blocked = await withLoopDelay(peer, adversarial['long built-in (huge BigInt to decimal)']);
console.log(
  `  in-thread peer, long built-in: ${blocked.ms.toFixed(0)} ms, longest host timer gap ${blocked.maxGapMs.toFixed(0)} ms`,
);
console.log(
  `workers started: ${tool.pool.stats.workersStarted}, replaced: ${tool.pool.stats.workersReplaced}`,
);
await tool.close();
