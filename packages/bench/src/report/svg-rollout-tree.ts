import type { RolloutTreeJson } from '@arpo/rollout';
import { formatNumber } from './format-values.js';
import { escapeHtml } from './html-escape.js';

/** Where each node of a tree is drawn: its row (leaves in depth-first order) and token span. */
export interface TreeLayout {
  rows: number;
  /** Row of each node by id; an inner node sits on the row of its first child, so a continuing line is straight. */
  nodeRow: number[];
  /** Node ids of the leaves (nodes without children), top to bottom. */
  leaves: number[];
  maxEnd: number;
}

export function layoutTree(tree: RolloutTreeJson): TreeLayout {
  const nodeRow: number[] = new Array(tree.nodes.length).fill(0);
  const leaves: number[] = [];
  // Iterative depth-first walk: trees can be deep and the report must not overflow the stack.
  const order: number[] = [];
  const stack = [0];
  while (stack.length > 0) {
    const id = stack.pop() as number;
    order.push(id);
    const children = tree.nodes[id]?.children ?? [];
    for (let index = children.length - 1; index >= 0; index--) stack.push(children[index] as number);
  }
  for (const id of order) {
    if ((tree.nodes[id]?.children.length ?? 0) === 0) {
      nodeRow[id] = leaves.length;
      leaves.push(id);
    }
  }
  for (let index = order.length - 1; index >= 0; index--) {
    const id = order[index] as number;
    const first = tree.nodes[id]?.children[0];
    if (first !== undefined) nodeRow[id] = nodeRow[first] ?? 0;
  }
  const maxEnd = Math.max(1, ...tree.nodes.map((node) => node.end));
  return { rows: Math.max(1, leaves.length), nodeRow, leaves, maxEnd };
}

/** Red → amber → green for a reward in [low, high]. */
export function rewardColor(reward: number | undefined, low: number, high: number): string {
  if (reward === undefined || !Number.isFinite(reward)) return '#868e96';
  const share = high > low ? Math.min(1, Math.max(0, (reward - low) / (high - low))) : 1;
  const stops: [number, number, number][] = [
    [224, 49, 49],
    [245, 159, 0],
    [47, 158, 68],
  ];
  const position = share * (stops.length - 1);
  const index = Math.min(stops.length - 2, Math.floor(position));
  const fraction = position - index;
  const from = stops[index] as [number, number, number];
  const to = stops[index + 1] as [number, number, number];
  const channel = (offset: number) =>
    Math.round(from[offset]! + (to[offset]! - from[offset]!) * fraction)
      .toString(16)
      .padStart(2, '0');
  return `#${channel(0)}${channel(1)}${channel(2)}`;
}

const round = (value: number) => Math.round(value * 100) / 100;

/**
 * A rollout tree as SVG: x is the response token position, each node a line over its span, branches curving
 * off at fork points (marked with their entropy), spans containing tool output flagged, and each leaf ending
 * in a dot colored by the trajectory's reward with its reward and tool calls written beside it. Leaves are
 * focusable buttons (`.tree-leaf[data-trajectory-index]`) the page script opens.
 */
export function renderRolloutTreeSvg(options: {
  tree: RolloutTreeJson;
  algorithmIndex: number;
  treeIndex: number;
  /** Reward range the leaf colors span (shared by every tree of a report so colors compare). */
  rewardRange: { low: number; high: number };
}): string {
  const { tree } = options;
  const layout = layoutTree(tree);
  const rowHeight = 24;
  const width = 660;
  const left = 18;
  const labelWidth = 175;
  const top = 26;
  const plotWidth = width - left - labelWidth;
  const height = top + layout.rows * rowHeight + 22;
  const x = (position: number) => round(left + (position / layout.maxEnd) * plotWidth);
  const y = (id: number) => top + (layout.nodeRow[id] ?? 0) * rowHeight + rowHeight / 2;

  const connectors: string[] = [];
  const spans: string[] = [];
  const marks: string[] = [];
  const leaves: string[] = [];
  for (const node of tree.nodes) {
    const nodeY = y(node.id);
    if (node.parentId !== null) {
      const parentY = y(node.parentId);
      if (parentY !== nodeY) {
        const startX = x(node.start);
        connectors.push(
          `<path class="connector" d="M${startX},${parentY}C${startX},${round((parentY + nodeY) / 2)} ${startX},${nodeY} ${round(startX + 10)},${nodeY}"/>`,
        );
      }
    }
    const isLeaf = node.children.length === 0;
    if (!isLeaf && node.end > node.start) {
      spans.push(
        `<line class="span" x1="${x(node.start)}" x2="${x(node.end)}" y1="${nodeY}" y2="${nodeY}" data-node-id="${node.id}"/>`,
      );
    }
    if (node.toolShare > 0 && node.end > node.start) {
      const middle = round((x(node.start) + x(node.end)) / 2);
      marks.push(
        `<g class="tool-mark" data-node-id="${node.id}"><title>${escapeHtml(
          `tool output: ${Math.round(node.toolShare * 100)}% of tokens ${node.start}–${node.end}`,
        )}</title><rect x="${middle - 4}" y="${nodeY - 4}" width="8" height="8" rx="1.5"/></g>`,
      );
    }
    if (node.fork !== undefined) {
      const forkX = x(node.end);
      const fork = node.fork;
      const delta = `${fork.entropyDelta >= 0 ? '+' : ''}${formatNumber(fork.entropyDelta)}`;
      marks.push(
        `<g class="fork" data-node-id="${node.id}" data-entropy="${fork.entropy}">` +
          `<title>${escapeHtml(
            `branch point at token ${node.end}: entropy ${formatNumber(fork.entropy)} (Δ ${delta}), ` +
              `branch probability ${formatNumber(fork.probability)}, ${fork.branches} new branch${fork.branches === 1 ? '' : 'es'}`,
          )}</title>` +
          `<path d="M${forkX},${nodeY - 6}L${forkX + 6},${nodeY}L${forkX},${nodeY + 6}L${forkX - 6},${nodeY}Z"/>` +
          `<text x="${forkX}" y="${nodeY - 10}" text-anchor="middle">H ${escapeHtml(formatNumber(fork.entropy))}</text></g>`,
      );
    }
  }
  for (const leafId of layout.leaves) {
    const node = tree.nodes[leafId];
    const trajectoryIndex = node?.trajectoryIndices[0];
    if (node === undefined || trajectoryIndex === undefined) continue;
    const trajectory = tree.trajectories[trajectoryIndex];
    const leafY = y(leafId);
    const endX = x(node.end);
    const reward = trajectory?.reward;
    const rewardText = reward === undefined ? 'no reward' : `r ${formatNumber(reward)}`;
    const tools = trajectory?.toolCalls ?? 0;
    const label = `${rewardText} · ${tools} tool${tools === 1 ? '' : 's'} · ${trajectory?.responseTokens ?? node.end} tok`;
    leaves.push(
      `<g class="tree-leaf" tabindex="0" role="button" data-node-id="${leafId}" data-trajectory-index="${trajectoryIndex}" ` +
        `aria-label="${escapeHtml(`trajectory ${trajectoryIndex + 1}: ${label}`)}">` +
        `<rect class="hit" x="${x(node.start)}" y="${leafY - rowHeight / 2}" width="${round(width - x(node.start))}" height="${rowHeight}" fill="transparent"/>` +
        `<line class="span leaf-span" x1="${x(node.start)}" x2="${endX}" y1="${leafY}" y2="${leafY}"/>` +
        `<circle class="leaf-dot" cx="${endX}" cy="${leafY}" r="5" fill="${rewardColor(reward, options.rewardRange.low, options.rewardRange.high)}"/>` +
        `<text class="leaf-label" x="${round(endX + 10)}" y="${leafY}" dominant-baseline="middle">${escapeHtml(label)}</text>` +
        '</g>',
    );
  }
  const axis =
    `<line class="token-axis" x1="${left}" x2="${left + plotWidth}" y1="${height - 16}" y2="${height - 16}"/>` +
    `<text class="tick" x="${left}" y="${height - 4}">0</text>` +
    `<text class="tick" x="${left + plotWidth}" y="${height - 4}" text-anchor="end">${layout.maxEnd} response tokens</text>`;
  return (
    `<svg class="tree algo-${options.algorithmIndex}" viewBox="0 0 ${width} ${height}" role="group" ` +
    `aria-label="rollout tree of prompt ${escapeHtml(tree.promptId)}" data-algorithm-index="${options.algorithmIndex}" ` +
    `data-tree-index="${options.treeIndex}" data-leaves="${layout.leaves.length}" data-trajectories="${tree.trajectories.length}">` +
    `<g class="connectors">${connectors.join('')}</g><g class="spans">${spans.join('')}</g>` +
    `<g class="leaves">${leaves.join('')}</g><g class="marks">${marks.join('')}</g>${axis}</svg>`
  );
}
