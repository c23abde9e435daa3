import { InvalidArgumentError, type RolloutGroup, type Trajectory } from '@arpo/core';

/**
 * True when the values are not all equal, i.e. their standard deviation is positive (verl keeps a DAPO group
 * when `np.std(metric) > 0`). Compared as max > min, which is exact where numpy's float std of identical
 * non-dyadic values can come out as a tiny positive number.
 */
export function hasMetricSpread(values: ArrayLike<number>): boolean {
  if (values.length === 0) return false;
  let minimum = values[0] as number;
  let maximum = minimum;
  for (let index = 1; index < values.length; index++) {
    const value = values[index] as number;
    if (value < minimum) minimum = value;
    if (value > maximum) maximum = value;
  }
  return maximum > minimum;
}

export interface DynamicSamplingOptions {
  /**
   * The raw metric to test, not the shaped reward: a `reward.components` name (default `acc`, verl's
   * `filter_groups.metric`) or a function of the trajectory.
   */
  metric?: string | ((trajectory: Trajectory) => number);
  /** Keep single-trajectory groups (verl does: `std > 0 or len == 1`). Default true. */
  keepSingletons?: boolean;
}

export interface DynamicSamplingResult {
  kept: RolloutGroup[];
  dropped: RolloutGroup[];
  /** Indices into the input of the kept groups. */
  keptIndices: number[];
}

function metricValue(
  trajectory: Trajectory,
  metric: string | ((trajectory: Trajectory) => number),
  where: string,
): number {
  let value: number | undefined;
  if (typeof metric === 'function') value = metric(trajectory);
  else value = trajectory.reward?.components[metric];
  if (typeof value !== 'number' || Number.isNaN(value)) {
    const what =
      typeof metric === 'function' ? 'the metric function returned' : `reward.components.${metric} is`;
    throw new InvalidArgumentError({
      argument: where,
      message: `trajectory '${trajectory.id}': ${what} ${String(value)}, expected a number`,
    });
  }
  return value;
}

/**
 * DAPO dynamic sampling: keeps the groups whose raw metric varies across their trajectories (all-correct and
 * all-wrong groups carry no GRPO signal). The caller keeps sampling until enough groups are kept.
 */
export function filterGroupsBySpread(
  groups: readonly RolloutGroup[],
  options: DynamicSamplingOptions = {},
): DynamicSamplingResult {
  const metric = options.metric ?? 'acc';
  const keepSingletons = options.keepSingletons ?? true;
  const result: DynamicSamplingResult = { kept: [], dropped: [], keptIndices: [] };
  groups.forEach((group, groupIndex) => {
    const values = group.trajectories.map((trajectory, index) =>
      metricValue(trajectory, metric, `groups[${groupIndex}].trajectories[${index}]`),
    );
    const keep = hasMetricSpread(values) || (keepSingletons && values.length === 1);
    if (keep) {
      result.kept.push(group);
      result.keptIndices.push(groupIndex);
    } else {
      result.dropped.push(group);
    }
  });
  return result;
}
