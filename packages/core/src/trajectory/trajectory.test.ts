import { describe, expect, it } from 'vitest';
import { ValidationError } from '../errors/validation-error.js';
import { parse, safeParse } from '../schema/lazy-schema.js';
import { independentTree, rolloutTreeSchema, trajectoryPaths } from './rollout-tree.js';
import {
  type Trajectory,
  trajectoryFromJson,
  trajectoryJsonSchema,
  trajectorySchema,
  trajectoryToJson,
} from './trajectory.js';

function sampleTrajectory(): Trajectory {
  return {
    id: 't0',
    promptId: 'p0',
    promptTokenIds: Int32Array.from([1, 5, 6]),
    responseTokenIds: Int32Array.from([7, 8, 9, 10, 11]),
    logprobs: Float32Array.from([-0.5, -0.25, 0, 0, -1]),
    entropies: Float32Array.from([1, 0.5, 0, 0, 0.25]),
    lossMask: Uint8Array.from([1, 1, 0, 0, 1]),
    segments: [
      { kind: 'model', start: 0, end: 2, finishReason: 'stop', stopString: '</python>' },
      {
        kind: 'tool',
        start: 2,
        end: 4,
        calls: [{ toolName: 'python', input: 'print(1)', output: '1', latencyMs: 3 }],
      },
      { kind: 'model', start: 4, end: 5, finishReason: 'eos' },
    ],
    finishReason: 'eos',
    reward: { total: 1, components: { answer: 1 } },
    metrics: { toolCalls: 1 },
  };
}

function issuesOf(run: () => unknown): { field: string; message: string } {
  try {
    run();
  } catch (error) {
    if (ValidationError.isInstance(error)) return { field: error.field, message: error.message };
    throw error;
  }
  throw new Error('expected a ValidationError');
}

describe('Trajectory contract', () => {
  it('accepts a well-formed trajectory and round-trips through JSON', () => {
    const trajectory = sampleTrajectory();
    expect(parse(trajectorySchema, trajectory)).toBeTruthy();
    const json = JSON.parse(JSON.stringify(trajectoryToJson(trajectory)));
    const back = trajectoryFromJson(parse(trajectoryJsonSchema, json));
    expect(back.responseTokenIds).toEqual(trajectory.responseTokenIds);
    expect(back.lossMask).toBeInstanceOf(Uint8Array);
    expect(back.segments).toEqual(trajectory.segments);
  });

  it('names a per-token array whose length does not match the response', () => {
    const trajectory = { ...sampleTrajectory(), entropies: new Float32Array(4) };
    const { field, message } = issuesOf(() => parse(trajectorySchema, trajectory));
    expect(field).toBe('entropies');
    expect(message).toContain('has length 4 but responseTokenIds has length 5');
  });

  it('names a segment that leaves a gap or overruns the response', () => {
    const trajectory = sampleTrajectory();
    trajectory.segments[2] = { kind: 'model', start: 4, end: 9, finishReason: 'eos' };
    expect(issuesOf(() => parse(trajectorySchema, trajectory)).field).toBe('segments[2]');
  });

  it('names a bad element of a JSON token array without validating element by element in zod', () => {
    const json = trajectoryToJson(sampleTrajectory()) as unknown as Record<string, unknown>;
    json.lossMask = [1, 1, 0, 2, 1];
    const { field, message } = issuesOf(() =>
      parse(trajectoryJsonSchema, json, { source: 'rollouts.jsonl:3' }),
    );
    expect(field).toBe('lossMask');
    expect(message).toContain('rollouts.jsonl:3');
    expect(message).toContain('element 3 is 2, expected 0 or 1');
  });

  it('rejects a wrong type with the field and what was expected', () => {
    const trajectory = { ...sampleTrajectory(), responseTokenIds: [7, 8, 9, 10, 11] };
    const result = safeParse(trajectorySchema, trajectory);
    expect(result.success).toBe(false);
    if (!result.success) expect(result.error.field).toBe('responseTokenIds');
  });

  it('rejects an unknown finish reason and a tool call without a name', () => {
    const trajectory = sampleTrajectory() as unknown as Record<string, unknown>;
    trajectory.finishReason = 'done';
    expect(issuesOf(() => parse(trajectorySchema, trajectory)).field).toBe('finishReason');
    const other = sampleTrajectory();
    (other.segments[1] as { calls: { toolName: string }[] }).calls[0]!.toolName = '';
    expect(issuesOf(() => parse(trajectorySchema, other)).field).toBe('segments[1].calls[0].toolName');
  });
});

describe('RolloutTree contract', () => {
  it('builds and validates the tree of independent samples', () => {
    const trajectories = [sampleTrajectory(), sampleTrajectory()];
    const tree = independentTree('p0', trajectories);
    expect(parse(rolloutTreeSchema, tree).nodes).toHaveLength(3);
    expect(trajectoryPaths(tree, 2)).toEqual([
      [0, 1],
      [0, 2],
    ]);
  });

  it('validates a branched tree and reports structural mistakes by node', () => {
    const tree = {
      promptId: 'p0',
      rootId: 0,
      nodes: [
        { id: 0, parentId: null, children: [1, 2], start: 0, end: 4, trajectoryIndices: [0, 1, 2] },
        { id: 1, parentId: 0, children: [], start: 4, end: 9, trajectoryIndices: [0] },
        { id: 2, parentId: 0, children: [3, 4], start: 4, end: 6, trajectoryIndices: [1, 2] },
        { id: 3, parentId: 2, children: [], start: 6, end: 8, trajectoryIndices: [1] },
        { id: 4, parentId: 2, children: [], start: 6, end: 7, trajectoryIndices: [2] },
      ],
    };
    expect(parse(rolloutTreeSchema, tree).nodes).toHaveLength(5);
    expect(trajectoryPaths(tree as never, 3)).toEqual([
      [0, 1],
      [0, 2, 3],
      [0, 2, 4],
    ]);
    const broken = structuredClone(tree);
    broken.nodes[3]!.start = 5;
    expect(issuesOf(() => parse(rolloutTreeSchema, broken)).field).toBe('nodes[3].start');
    const stray = structuredClone(tree);
    stray.nodes[4]!.trajectoryIndices = [0];
    expect(issuesOf(() => parse(rolloutTreeSchema, stray)).field).toBe('nodes[4].trajectoryIndices');
  });
});
