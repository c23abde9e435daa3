import { z } from 'zod';
import { lazySchema } from '../schema/lazy-schema.js';
import { type RolloutGroup, rolloutTreeSchema, treeStructureIssues } from './rollout-tree.js';
import { trajectorySchema } from './trajectory.js';
import { treeMismatches } from './tree-matches-trajectories.js';

function holdsTypedArrays(value: unknown): boolean {
  const trajectory = value as { responseTokenIds?: unknown; lossMask?: unknown } | null;
  return trajectory?.responseTokenIds instanceof Int32Array && trajectory.lossMask instanceof Uint8Array;
}

/**
 * Validates an in-memory rollout group handed over a public boundary (a rollout worker's result, a user's
 * group): each trajectory, the tree's structure, that every trajectory and the tree belong to the group's
 * prompt, and that the tree describes the trajectories (`treeMismatches`, reported under `tree.nodes`).
 */
export const rolloutGroupSchema = lazySchema<RolloutGroup>(
  'RolloutGroup',
  () =>
    z
      .object({
        promptId: z.string().min(1),
        trajectories: z.array(trajectorySchema.schema).min(1),
        tree: rolloutTreeSchema.schema,
        statistics: z.object({
          computedTokens: z.number().int().nonnegative(),
          reusedTokens: z.number().int().nonnegative(),
          toolCalls: z.number().int().nonnegative(),
          rounds: z.number().int().nonnegative().optional(),
        }),
      })
      .superRefine((group, context) => {
        group.trajectories.forEach((trajectory, index) => {
          if (trajectory.promptId !== group.promptId) {
            context.addIssue({
              code: 'custom',
              path: ['trajectories', index, 'promptId'],
              message: `is '${trajectory.promptId}' but the group's prompt is '${group.promptId}'`,
            });
          }
        });
        if (group.tree.promptId !== group.promptId) {
          context.addIssue({
            code: 'custom',
            path: ['tree', 'promptId'],
            message: `is '${group.tree.promptId}' but the group's prompt is '${group.promptId}'`,
          });
        }
        // Malformed trajectories or tree structure are already reported by the inner schemas; matching the tree
        // against them would only repeat those issues.
        if (!group.trajectories.every(holdsTypedArrays) || treeStructureIssues(group.tree).length > 0) return;
        for (const issue of treeMismatches(group.tree, group.trajectories)) {
          context.addIssue({ code: 'custom', path: ['tree', ...issue.path], message: issue.message });
        }
      }) as unknown as z.ZodType<RolloutGroup>,
);
