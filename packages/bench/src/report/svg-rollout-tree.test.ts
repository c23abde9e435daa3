import { describe, expect, it } from 'vitest';
import { forkedTree, independentTree } from '../../test/report-support/sample-report.js';
import { layoutTree, renderRolloutTreeSvg, rewardColor } from './svg-rollout-tree.js';

describe('rollout tree layout', () => {
  it('gives every leaf its own row and keeps a continuing trajectory on its parent’s row', () => {
    const layout = layoutTree(forkedTree('t1'));
    expect(layout.leaves).toEqual([2, 3, 5, 7, 6]);
    expect(layout.nodeRow[1]).toBe(layout.nodeRow[2]);
    expect(layout.nodeRow[4]).toBe(layout.nodeRow[5]);
    expect(layout.maxEnd).toBe(130);
    expect(layoutTree(independentTree('t2')).leaves).toEqual([1, 2, 3]);
  });

  it('draws one clickable leaf per trajectory, fork markers with their entropy, and no raw text', () => {
    const svg = renderRolloutTreeSvg({
      tree: forkedTree('t1'),
      algorithmIndex: 0,
      treeIndex: 0,
      rewardRange: { low: -1, high: 1 },
    });
    expect(svg.match(/class="tree-leaf"/g)).toHaveLength(5);
    expect(svg.match(/class="fork"/g)).toHaveLength(2);
    expect(svg).toContain('data-entropy="1.84"');
    expect(svg).toContain('H 2.11');
    expect(svg).not.toContain('<answer>');
    expect(svg).not.toContain('onerror');
  });

  it('colors rewards from red to green', () => {
    expect(rewardColor(-1, -1, 1)).toBe('#e03131');
    expect(rewardColor(1, -1, 1)).toBe('#2f9e44');
    expect(rewardColor(undefined, 0, 1)).toBe('#868e96');
  });
});
