/** The arithmetic of the line charts, apart from their drawing (and tested apart). */

/** The smallest "round" number (1, 2, 2.5, 5 × 10^n) at or above a value: the top of an axis. */
export function niceCeiling(value: number): number {
  if (!Number.isFinite(value) || value <= 0) return 1;
  const magnitude = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 2.5, 5, 10]) {
    if (step * magnitude >= value * (1 - 1e-12)) return step * magnitude;
  }
  return 10 * magnitude;
}

export interface Point {
  x: number;
  y: number;
}

/**
 * The SVG path of a series in a box of width × height (y grows downwards): x by time between
 * the first and the last time, y from 0 at the bottom to top at the top. A missing value (null)
 * breaks the line rather than drawing it down to zero.
 */
export function linePath(times: readonly number[], values: readonly (number | null)[], width: number, height: number, top: number): string {
  if (times.length === 0) return "";
  const first = times[0]!;
  const span = Math.max(times[times.length - 1]! - first, 1);
  let path = "";
  let drawing = false;
  values.forEach((value, i) => {
    if (value === null || !Number.isFinite(value) || i >= times.length) {
      drawing = false;
      return;
    }
    const x = times.length === 1 ? width : ((times[i]! - first) / span) * width;
    const y = height - (Math.min(Math.max(value, 0), top) / top) * height;
    path += `${drawing ? "L" : "M"}${x.toFixed(1)},${y.toFixed(1)}`;
    drawing = true;
  });
  return path;
}

/** The largest value of the series (0 when none): what the axis must reach. */
export function peak(series: readonly (readonly (number | null)[])[]): number {
  let max = 0;
  for (const values of series) for (const v of values) if (v !== null && Number.isFinite(v) && v > max) max = v;
  return max;
}
