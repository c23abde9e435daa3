import { type AdvantageGroupInput, InvalidArgumentError } from '@arpo/core';

/**
 * Checks the estimator input once per call with plain loops (never zod per element): every group has at least
 * one trajectory, one finite score and one 0/1 mask per trajectory.
 */
export function checkGroups(groups: readonly AdvantageGroupInput[], argument = 'groups'): void {
  if (!Array.isArray(groups)) {
    throw new InvalidArgumentError({ argument, message: 'expected an array of groups' });
  }
  for (let groupIndex = 0; groupIndex < groups.length; groupIndex++) {
    checkGroup(groups[groupIndex] as AdvantageGroupInput, `${argument}[${groupIndex}]`);
  }
}

/** Checks one group; `where` names it in error messages (`groups[3]`). */
export function checkGroup(group: AdvantageGroupInput, where: string): void {
  if (group === null || typeof group !== 'object') {
    throw new InvalidArgumentError({ argument: where, message: 'expected a group object' });
  }
  const label = typeof group.id === 'string' ? `${where} ('${group.id}')` : where;
  const { scores, lossMasks } = group;
  if (scores === null || typeof scores !== 'object' || typeof scores.length !== 'number') {
    throw new InvalidArgumentError({
      argument: `${where}.scores`,
      message: `${label}: expected an array of scores`,
    });
  }
  if (!Array.isArray(lossMasks)) {
    throw new InvalidArgumentError({
      argument: `${where}.lossMasks`,
      message: `${label}: expected an array of Uint8Array masks`,
    });
  }
  if (scores.length === 0) {
    throw new InvalidArgumentError({ argument: `${where}.scores`, message: `${label}: the group is empty` });
  }
  if (scores.length !== lossMasks.length) {
    throw new InvalidArgumentError({
      argument: `${where}.lossMasks`,
      message: `${label}: ${scores.length} scores but ${lossMasks.length} loss masks`,
    });
  }
  for (let index = 0; index < scores.length; index++) {
    const score = scores[index];
    if (typeof score !== 'number' || !Number.isFinite(score)) {
      throw new InvalidArgumentError({
        argument: `${where}.scores[${index}]`,
        message: `${label}: score ${index} is ${String(score)}; scores must be finite numbers`,
      });
    }
    const mask = lossMasks[index];
    if (!(mask instanceof Uint8Array)) {
      throw new InvalidArgumentError({
        argument: `${where}.lossMasks[${index}]`,
        message: `${label}: loss mask ${index} must be a Uint8Array`,
      });
    }
    for (let position = 0; position < mask.length; position++) {
      if ((mask[position] as number) > 1) {
        throw new InvalidArgumentError({
          argument: `${where}.lossMasks[${index}][${position}]`,
          message: `${label}: mask value ${mask[position]} at position ${position} of trajectory ${index}; masks hold 0 or 1`,
        });
      }
    }
  }
}
