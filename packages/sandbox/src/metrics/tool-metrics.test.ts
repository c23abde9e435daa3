import { toolFailure } from '@arpo/core';
import { createScriptedTool, describeToolConformance } from '@arpo/testing';
import { describe, expect, it } from 'vitest';
import { withResultCache } from '../cache/result-cache.js';
import { createToolMetricsCollector, withToolMetrics } from './tool-metrics.js';

describeToolConformance('metrics wrapper', {
  create: () => withToolMetrics(createScriptedTool({ name: 'echo', respond: () => 'ok' })),
  validInput: { input: 'x' },
});

describe('withToolMetrics', () => {
  it('counts successes, failures by code, timeouts and rejections', async () => {
    const outcomes = ['ok', 'timeout', 'runtime-error', 'timeout', 'reject', 'ok'];
    let index = 0;
    const inner = createScriptedTool({
      name: 'mixed',
      respond: () => {
        const outcome = outcomes[index++];
        if (outcome === 'ok') return 'fine';
        if (outcome === 'reject') throw new Error('bug');
        return toolFailure(outcome as 'timeout' | 'runtime-error', 'failed');
      },
    });
    const measured = withToolMetrics({
      ...inner,
      execute: async (input, options) => {
        if (outcomes[index] === 'reject') {
          index += 1;
          throw new Error('bug in tool');
        }
        return inner.execute(input, options);
      },
    });
    for (let i = 0; i < outcomes.length; i += 1) await measured.execute('x').catch(() => undefined);
    const snapshot = measured.metrics();
    expect(snapshot).toMatchObject({
      tool: 'mixed',
      calls: 6,
      inFlight: 0,
      successes: 2,
      failures: 3,
      failuresByCode: { timeout: 2, 'runtime-error': 1 },
      timeouts: 2,
      rejections: 1,
    });
    expect(snapshot.latencyMs.count).toBe(6);
    expect(snapshot.histogram.counts.reduce((sum, count) => sum + count, 0)).toBe(6);
    expect(JSON.parse(JSON.stringify(snapshot))).toEqual(snapshot);
    measured.resetMetrics();
    expect(measured.metrics()).toMatchObject({ calls: 0, latencyMs: { count: 0, p50: 0 } });
  });

  it('computes nearest-rank percentiles over its window and a cumulative histogram', async () => {
    const delays = [5, 15, 25, 35, 45, 55, 65, 75, 85, 95];
    let call = 0;
    const clock = { now: 0 };
    const original = performance.now.bind(performance);
    // A fake clock makes latencies exact without timing assertions on real time.
    performance.now = () => clock.now;
    try {
      const measured = withToolMetrics(
        {
          name: 'timed',
          description: 'd',
          inputSchema: { type: 'object' },
          execute: async () => {
            clock.now += delays[call++] as number;
            return { ok: true, output: '' };
          },
        },
        { boundsMs: [10, 50], windowSize: 8 },
      );
      for (let i = 0; i < delays.length; i += 1) await measured.execute(undefined);
      const { latencyMs, histogram } = measured.metrics();
      expect(latencyMs).toMatchObject({ count: 10, min: 5, max: 95, mean: 50 });
      // The window holds the last 8 calls: 25 .. 95.
      expect(latencyMs.p50).toBe(55);
      expect(latencyMs.p99).toBe(95);
      expect(histogram).toEqual({ boundsMs: [10, 50], counts: [1, 4, 5] });
    } finally {
      performance.now = original;
    }
  });

  it('counts cache hits of a wrapped result cache and collects several tools', async () => {
    const collector = createToolMetricsCollector();
    const search = collector.measure(
      withResultCache(createScriptedTool({ name: 'search', respond: () => 'Page 1: x' })),
    );
    const python = collector.measure(createScriptedTool({ name: 'python', respond: () => '2' }));
    await search.execute('q');
    await search.execute('q');
    await python.execute('1+1');
    const snapshot = collector.snapshot();
    expect(Object.keys(snapshot)).toEqual(['search', 'python']);
    expect(snapshot.search).toMatchObject({ calls: 2, cached: 1 });
    expect(snapshot.python).toMatchObject({ calls: 1, cached: 0 });
    collector.reset();
    expect(collector.snapshot().search?.calls).toBe(0);
  });

  it('refuses bad bucket bounds and windows', () => {
    const tool = createScriptedTool({ name: 't', respond: () => '' });
    expect(() => withToolMetrics(tool, { boundsMs: [10, 5] })).toThrow(/boundsMs\[1\]/);
    expect(() => withToolMetrics(tool, { windowSize: 0 })).toThrow(/windowSize/);
  });
});
