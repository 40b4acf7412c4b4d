import { useId } from "react";
import { linePath, niceCeiling, peak } from "./scale";

export interface ChartSeries {
  label: string;
  values: readonly (number | null)[];
  /** A CSS colour (a variable of the theme, so both themes read well). */
  color: string;
}

const width = 320;
const height = 110;
const left = 64;
const bottom = 20;
const topPad = 8;

function clock(ms: number): string {
  return new Date(ms).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit" });
}

/**
 * A small line chart in SVG: a labelled value axis (0, half, top) and time axis (first and
 * last sample), a legend with each series' latest value, and an accessible name and
 * description that say in words what the lines show.
 */
export function LineChart({
  title,
  times,
  series,
  format,
  fixedTop,
  minimumTop = 1,
}: {
  title: string;
  times: readonly number[];
  series: readonly ChartSeries[];
  format: (value: number) => string;
  /** The axis' top whatever the values (100 for a percentage). */
  fixedTop?: number;
  /** The lowest top of the axis, so that quiet lines stay low and the labels stay distinct. */
  minimumTop?: number;
}) {
  const id = useId();
  const top = fixedTop ?? niceCeiling(Math.max(peak(series.map((s) => s.values)), minimumTop));
  const latest = (s: ChartSeries) => [...s.values].reverse().find((v): v is number => v !== null && Number.isFinite(v));
  const description =
    times.length === 0
      ? `${title}: no samples yet.`
      : `${title} from ${clock(times[0]!)} to ${clock(times[times.length - 1]!)}: ` +
        series.map((s) => `${s.label} now ${latest(s) === undefined ? "unknown" : format(latest(s)!)}, peak ${format(peak([s.values]))}`).join("; ") +
        ".";
  return (
    <figure className="chart">
      <figcaption id={`${id}-title`}>{title}</figcaption>
      <svg viewBox={`0 0 ${left + width + 8} ${topPad + height + bottom}`} role="img" aria-labelledby={`${id}-title`} aria-describedby={`${id}-desc`}>
        <desc id={`${id}-desc`}>{description}</desc>
        <g className="chart-axis" aria-hidden="true">
          {[0, 0.5, 1].map((f) => {
            const y = topPad + height - f * height;
            return (
              <g key={f}>
                <line x1={left} x2={left + width} y1={y} y2={y} className={f === 0 ? "chart-baseline" : "chart-grid"} />
                <text x={left - 6} y={y + 4} textAnchor="end">
                  {format(top * f)}
                </text>
              </g>
            );
          })}
          {times.length > 0 && (
            <>
              <text x={left} y={topPad + height + 15} textAnchor="start">
                {clock(times[0]!)}
              </text>
              <text x={left + width} y={topPad + height + 15} textAnchor="end">
                {clock(times[times.length - 1]!)}
              </text>
            </>
          )}
        </g>
        <g transform={`translate(${left},${topPad})`} aria-hidden="true">
          {series.map((s) => (
            <path key={s.label} d={linePath(times, s.values, width, height, top)} fill="none" stroke={s.color} strokeWidth={1.8} strokeLinejoin="round" />
          ))}
        </g>
      </svg>
      <ul className="chart-legend">
        {series.map((s) => (
          <li key={s.label}>
            <span className="swatch" style={{ background: s.color }} aria-hidden="true" />
            {s.label}: {latest(s) === undefined ? "–" : format(latest(s)!)}
          </li>
        ))}
      </ul>
    </figure>
  );
}
