import fc from 'fast-check';

/**
 * The seed every property test of this package runs with (vitest `setupFiles`), so a failure reproduces on any
 * machine and a green run is the same green run everywhere. To explore new cases, change it deliberately.
 */
export const propertySeed = 20_260_601;

/** Runs per property: fast-check's default, enough for these small pure functions to stay well under a second. */
export const propertyRuns = 100;

fc.configureGlobal({ seed: propertySeed, numRuns: propertyRuns });
