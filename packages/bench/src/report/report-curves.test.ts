import { describe, expect, it } from 'vitest';
import { sampleReport, sampleSteps } from '../../test/report-support/sample-report.js';
import { reportedMetrics, reportedPassAtK, seedCurve, trainingTotals } from './report-curves.js';
import { parseComparisonReport } from './report-data.js';

describe('report curves', () => {
  const data = parseComparisonReport(sampleReport());
  const [grpo, dapo] = data.algorithms;

  it('averages each step over the seeds that reached it, with the min–max band', () => {
    const curve = seedCurve(dapo!, 'reward');
    expect(curve).toHaveLength(sampleSteps);
    const values = dapo!.training.map((run) => run.steps[0]?.reward as number);
    expect(curve[0]?.mean).toBeCloseTo(values.reduce((sum, value) => sum + value, 0) / values.length, 12);
    expect(curve[0]?.min).toBe(Math.min(...values));
    expect(curve[0]?.max).toBe(Math.max(...values));
    expect(curve[0]?.seeds).toBe(3);
    // dapo's third seed stopped after 10 steps.
    expect(curve[11]?.seeds).toBe(2);
  });

  it('leaves out steps without a finite value', () => {
    const loss = seedCurve(grpo!, 'loss');
    expect(loss.map((point) => point.step)).not.toContain(3);
    expect(loss).toHaveLength(sampleSteps - 1);
  });

  it('lists headline metrics first and every reported k', () => {
    expect(reportedMetrics(data).slice(0, 4)).toEqual([
      'reward',
      'accuracy',
      'entropy',
      'tool_calls_per_trajectory',
    ]);
    expect(reportedMetrics(data)).toContain('time_rollout_ms');
    expect(reportedPassAtK(data)).toEqual([1, 2, 4, 8]);
  });

  it('sums what training spent', () => {
    const totals = trainingTotals(dapo!);
    expect(totals.runs).toBe(3);
    expect(totals.steps).toBe(34);
    expect(totals.trajectories).toBe(34 * 32);
    const calls = dapo!.training.flatMap((run) =>
      run.steps.map((step) => step.tool_calls_executed as number),
    );
    expect(totals.toolCallsExecuted).toBe(calls.reduce((sum, value) => sum + value, 0));
    expect(totals.stepSeconds).toBeCloseTo(34 * 1.5, 9);
    const lastRewards = dapo!.training.map((run) => run.steps.at(-1)?.reward as number);
    expect(totals.final.reward).toBeCloseTo(lastRewards.reduce((sum, value) => sum + value, 0) / 3, 12);
  });
});
