import type { ReportConfidenceInterval } from './report-data.js';

/** A number with as many digits as its size deserves: 12,345 · 123.4 · 12.35 · 0.123 · 0.00123. */
export function formatNumber(value: number): string {
  if (!Number.isFinite(value)) return '–';
  const magnitude = Math.abs(value);
  if (Number.isInteger(value)) return magnitude >= 1000 ? value.toLocaleString('en-US') : String(value);
  if (magnitude >= 1000) return Math.round(value).toLocaleString('en-US');
  if (magnitude >= 100) return value.toFixed(1);
  if (magnitude >= 1) return value.toFixed(2);
  return value.toPrecision(3);
}

/** A share in [0, 1] as a percentage with one decimal. */
export function formatPercent(value: number): string {
  return Number.isFinite(value) ? `${(value * 100).toFixed(1)}%` : '–';
}

/** Half the width of an interval, the `± x` people read. */
export function halfWidth(interval: ReportConfidenceInterval): number {
  return (interval.upper - interval.lower) / 2;
}

/** `41.2% ± 6.1` for shares (points of percent), `3.20 ± 0.41` otherwise. */
export function formatEstimate(
  mean: number,
  interval: ReportConfidenceInterval | undefined,
  options: { percent: boolean },
): string {
  const main = options.percent ? formatPercent(mean) : formatNumber(mean);
  if (interval === undefined) return main;
  const half = halfWidth(interval);
  return `${main} ± ${options.percent ? (half * 100).toFixed(1) : formatNumber(half)}`;
}

/** `[35.0%, 47.1%] (95%)`. */
export function formatIntervalBounds(
  interval: ReportConfidenceInterval,
  options: { percent: boolean },
): string {
  const format = options.percent ? formatPercent : formatNumber;
  return `[${format(interval.lower)}, ${format(interval.upper)}] (${Math.round(interval.confidence * 100)}%)`;
}

/** `850 ms`, `12.3 s`, `4 min 10 s`, `2 h 05 min`. */
export function formatSeconds(seconds: number): string {
  if (!Number.isFinite(seconds)) return '–';
  if (seconds < 1) return `${Math.round(seconds * 1000)} ms`;
  if (seconds < 60) return `${seconds.toFixed(1)} s`;
  const whole = Math.round(seconds);
  if (whole < 3600) return `${Math.floor(whole / 60)} min ${String(whole % 60).padStart(2, '0')} s`;
  const minutes = Math.round(seconds / 60);
  return `${Math.floor(minutes / 60)} h ${String(minutes % 60).padStart(2, '0')} min`;
}
