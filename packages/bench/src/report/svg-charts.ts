import { formatPercent } from './format-values.js';
import { escapeHtml } from './html-escape.js';
import type { CurvePoint } from './report-curves.js';
import type { PassAtKEstimate } from './report-data.js';

/** Colors of algorithms 0, 1, ... (cycled); readable on light and dark backgrounds. */
export const algorithmColors = [
  '#4263eb',
  '#f76707',
  '#0ca678',
  '#d6336c',
  '#7048e8',
  '#e8a000',
  '#1098ad',
  '#5c940d',
] as const;

export function algorithmColor(index: number): string {
  return algorithmColors[index % algorithmColors.length] as string;
}

/** Plot area of a chart, also written to data attributes so the page script can map the mouse to steps. */
interface Frame {
  left: number;
  top: number;
  width: number;
  height: number;
}

const round = (value: number) => Math.round(value * 100) / 100;

/** Tick values at 1, 2 or 5 × 10^n covering [min, max], and the rounded domain. */
export function niceTicks(
  min: number,
  max: number,
  count = 5,
): { ticks: number[]; min: number; max: number; step: number } {
  if (!Number.isFinite(min) || !Number.isFinite(max)) return { ticks: [0, 1], min: 0, max: 1, step: 1 };
  if (min === max) {
    const pad = min === 0 ? 1 : Math.abs(min) * 0.1;
    min -= pad;
    max += pad;
  }
  const rough = (max - min) / count;
  const power = 10 ** Math.floor(Math.log10(rough));
  const step = ([1, 2, 5, 10].find((factor) => factor * power >= rough) ?? 10) * power;
  const low = Math.floor(min / step) * step;
  const high = Math.ceil(max / step) * step;
  const ticks: number[] = [];
  for (let value = low; value <= high + step / 2; value += step) ticks.push(Number(value.toPrecision(12)));
  return { ticks, min: low, max: high, step };
}

/** A tick label with as many decimals as the tick spacing needs (0.2 → `0.4`, 0.05 → `0.15`). */
export function formatTick(value: number, step: number): string {
  const decimals = Math.max(0, Math.min(10, -Math.floor(Math.log10(step) + 1e-9)));
  return Math.abs(value) >= 1000 && decimals === 0 ? value.toLocaleString('en-US') : value.toFixed(decimals);
}

/** One algorithm's curve in a line chart. */
export interface LineChartSeries {
  algorithmIndex: number;
  algorithm: string;
  points: CurvePoint[];
}

/**
 * A line chart of one metric: per algorithm the mean over seeds as a line with a point per step, and the
 * min–max over seeds as a band. Every series and point carries data attributes (`data-points`, `data-step`,
 * `data-value`) so tests and the page script can read the numbers back.
 */
export function renderLineChart(options: {
  metric: string;
  title: string;
  series: readonly LineChartSeries[];
  width?: number;
  height?: number;
}): string {
  const width = options.width ?? 560;
  const height = options.height ?? 280;
  const frame: Frame = { left: 54, top: 14, width: width - 54 - 18, height: height - 14 - 38 };
  const all = options.series.flatMap((series) => series.points);
  if (all.length === 0) {
    return `<svg class="chart line-chart empty" viewBox="0 0 ${width} ${height}" role="img" aria-label="${escapeHtml(options.title)}: no data" data-metric="${escapeHtml(options.metric)}"><text x="${width / 2}" y="${height / 2}" text-anchor="middle" class="empty-label">no data</text></svg>`;
  }
  const steps = all.map((point) => point.step);
  let xMin = Math.min(...steps);
  let xMax = Math.max(...steps);
  if (xMin === xMax) {
    xMin -= 1;
    xMax += 1;
  }
  const y = niceTicks(Math.min(...all.map((point) => point.min)), Math.max(...all.map((point) => point.max)));
  const xTicks = niceTicks(xMin, xMax, 6).ticks.filter(
    (tick) => tick >= xMin && tick <= xMax && Number.isInteger(tick),
  );
  const scaleX = (step: number) => round(frame.left + ((step - xMin) / (xMax - xMin)) * frame.width);
  const scaleY = (value: number) =>
    round(frame.top + frame.height - ((value - y.min) / (y.max - y.min)) * frame.height);
  const dense = Math.max(...options.series.map((series) => series.points.length)) > 60;

  const parts: string[] = [];
  parts.push(
    `<svg class="chart line-chart${dense ? ' dense' : ''}" viewBox="0 0 ${width} ${height}" role="img" ` +
      `aria-label="${escapeHtml(options.title)} per step" data-metric="${escapeHtml(options.metric)}" ` +
      `data-x-min="${xMin}" data-x-max="${xMax}" data-y-min="${y.min}" data-y-max="${y.max}" ` +
      `data-left="${frame.left}" data-top="${frame.top}" data-width="${frame.width}" data-height="${frame.height}">`,
  );
  parts.push('<g class="grid">');
  for (const tick of y.ticks) {
    const position = scaleY(tick);
    parts.push(
      `<line x1="${frame.left}" x2="${frame.left + frame.width}" y1="${position}" y2="${position}"/>` +
        `<text class="tick" x="${frame.left - 8}" y="${position}" text-anchor="end" dominant-baseline="middle">${escapeHtml(formatTick(tick, y.step))}</text>`,
    );
  }
  for (const tick of xTicks) {
    const position = scaleX(tick);
    parts.push(
      `<text class="tick" x="${position}" y="${frame.top + frame.height + 18}" text-anchor="middle">${tick}</text>`,
    );
  }
  parts.push(
    `<text class="axis-label" x="${frame.left + frame.width}" y="${height - 4}" text-anchor="end">step</text>`,
  );
  parts.push('</g>');

  for (const series of options.series) {
    const { points } = series;
    const attributes = `data-algorithm="${escapeHtml(series.algorithm)}" data-algorithm-index="${series.algorithmIndex}"`;
    parts.push(`<g class="series algo-${series.algorithmIndex}" ${attributes}>`);
    if (points.some((point) => point.max > point.min)) {
      const upper = points.map((point) => `${scaleX(point.step)},${scaleY(point.max)}`);
      const lower = points.map((point) => `${scaleX(point.step)},${scaleY(point.min)}`).reverse();
      parts.push(`<path class="band" d="M${upper.join('L')}L${lower.join('L')}Z"/>`);
    }
    const line = points.map((point) => `${scaleX(point.step)},${scaleY(point.mean)}`).join('L');
    parts.push(`<path class="curve" data-points="${points.length}" d="M${line}"/>`);
    for (const point of points) {
      parts.push(
        `<circle class="point" cx="${scaleX(point.step)}" cy="${scaleY(point.mean)}" r="2.6" ` +
          `data-step="${point.step}" data-value="${point.mean}" data-min="${point.min}" data-max="${point.max}"/>`,
      );
    }
    parts.push('</g>');
  }
  parts.push(
    `<line class="guide" x1="0" x2="0" y1="${frame.top}" y2="${frame.top + frame.height}" visibility="hidden"/>`,
  );
  parts.push(
    `<rect class="hover-area" x="${frame.left}" y="${frame.top}" width="${frame.width}" height="${frame.height}" fill="transparent"/>`,
  );
  parts.push('</svg>');
  return parts.join('');
}

/** pass@k bars of every algorithm, grouped by k, with interval whiskers where the data has them. */
export function renderPassAtKChart(options: {
  ks: readonly number[];
  algorithms: readonly { name: string; index: number; passAtK: readonly PassAtKEstimate[] }[];
  width?: number;
  height?: number;
}): string {
  const width = options.width ?? 560;
  const height = options.height ?? 280;
  const frame: Frame = { left: 54, top: 24, width: width - 54 - 12, height: height - 24 - 40 };
  const parts: string[] = [];
  parts.push(
    `<svg class="chart bar-chart" viewBox="0 0 ${width} ${height}" role="img" aria-label="pass@k per algorithm" data-groups="${options.ks.length}">`,
  );
  const scaleY = (value: number) =>
    round(frame.top + frame.height - Math.min(1, Math.max(0, value)) * frame.height);
  parts.push('<g class="grid">');
  for (const tick of [0, 0.25, 0.5, 0.75, 1]) {
    const position = scaleY(tick);
    parts.push(
      `<line x1="${frame.left}" x2="${frame.left + frame.width}" y1="${position}" y2="${position}"/>` +
        `<text class="tick" x="${frame.left - 8}" y="${position}" text-anchor="end" dominant-baseline="middle">${tick * 100}%</text>`,
    );
  }
  parts.push('</g>');
  const groupWidth = frame.width / Math.max(1, options.ks.length);
  const barCount = Math.max(1, options.algorithms.length);
  const barWidth = Math.min(56, (groupWidth * 0.78) / barCount);
  options.ks.forEach((k, groupIndex) => {
    const center = frame.left + groupWidth * (groupIndex + 0.5);
    parts.push(
      `<text class="group-label" x="${round(center)}" y="${frame.top + frame.height + 22}" text-anchor="middle">pass@${k}</text>`,
    );
    options.algorithms.forEach((algorithm, position) => {
      const entry = algorithm.passAtK.find((candidate) => candidate.k === k);
      if (entry === undefined) return;
      const x = round(center - (barWidth * barCount) / 2 + position * barWidth + 2);
      const top = scaleY(entry.mean);
      const barHeight = round(frame.top + frame.height - top);
      const title = `${algorithm.name} pass@${k}: ${formatPercent(entry.mean)}${
        entry.interval === undefined
          ? ''
          : ` [${formatPercent(entry.interval.lower)}, ${formatPercent(entry.interval.upper)}]`
      }`;
      parts.push(
        `<g class="bar-group algo-${algorithm.index}" data-algorithm="${escapeHtml(algorithm.name)}" data-algorithm-index="${algorithm.index}">` +
          `<title>${escapeHtml(title)}</title>` +
          `<rect class="bar" x="${x}" y="${top}" width="${round(barWidth - 4)}" height="${barHeight}" rx="3" ` +
          `data-k="${k}" data-value="${entry.mean}"/>`,
      );
      if (entry.interval !== undefined) {
        const middle = round(x + (barWidth - 4) / 2);
        const upper = scaleY(entry.interval.upper);
        const lower = scaleY(entry.interval.lower);
        parts.push(
          `<path class="whisker" d="M${middle},${upper}V${lower}M${middle - 4},${upper}H${middle + 4}M${middle - 4},${lower}H${middle + 4}"/>`,
        );
      }
      if (barWidth >= 26) {
        const labelY = Math.min(top, entry.interval === undefined ? top : scaleY(entry.interval.upper)) - 6;
        parts.push(
          `<text class="bar-value" x="${round(x + (barWidth - 4) / 2)}" y="${round(labelY)}" text-anchor="middle">${Math.round(entry.mean * 100)}</text>`,
        );
      }
      parts.push('</g>');
    });
  });
  parts.push('</svg>');
  return parts.join('');
}
