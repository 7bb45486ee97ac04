// A small SVG line chart: a few series over shared time buckets. Lighter
// than a chart library, and needs no inline styles (CSP style-src 'self').
import { useId } from 'react';

export interface Series {
  label: string;
  values: number[];
  className: string; // stroke colour, e.g. 'stroke-indigo-500'
  dotClassName: string; // legend swatch, e.g. 'bg-indigo-500'
}

const W = 600;
const H = 180;
const PAD = { l: 44, r: 8, t: 8, b: 22 };

function niceMax(v: number): number {
  if (v <= 0) return 1;
  const p = Math.pow(10, Math.floor(Math.log10(v)));
  for (const m of [1, 2, 2.5, 5, 10]) if (v <= m * p) return m * p;
  return 10 * p;
}

function tick(v: number, unit?: string): string {
  const s = v >= 1e6 ? `${+(v / 1e6).toFixed(1)}M` : v >= 1e3 ? `${+(v / 1e3).toFixed(1)}k` : `${+v.toFixed(2)}`;
  return unit ? `${s}${unit}` : s;
}

export function LineChart({
  title,
  labels,
  series,
  unit,
  empty,
}: {
  title: string;
  labels: string[];
  series: Series[];
  unit?: string;
  empty?: string;
}) {
  const id = useId();
  const n = labels.length;
  const max = niceMax(Math.max(0, ...series.flatMap((s) => s.values)));
  const x = (i: number) => PAD.l + (n <= 1 ? 0 : (i / (n - 1)) * (W - PAD.l - PAD.r));
  const y = (v: number) => PAD.t + (1 - v / max) * (H - PAD.t - PAD.b);
  const ticks = [0, max / 2, max];
  const xTicks = n > 1 ? [0, Math.floor((n - 1) / 2), n - 1] : n === 1 ? [0] : [];

  return (
    <figure className="min-w-0" aria-labelledby={id}>
      <figcaption id={id} className="mb-1 flex flex-wrap items-center justify-between gap-2 text-sm font-medium">
        <span>{title}</span>
        <span className="flex flex-wrap gap-3 text-xs font-normal text-slate-500 dark:text-slate-400">
          {series.map((s) => (
            <span key={s.label} className="inline-flex items-center gap-1">
              <span className={`inline-block h-2 w-2 rounded-full ${s.dotClassName}`} />
              {s.label}
            </span>
          ))}
        </span>
      </figcaption>
      {n === 0 ? (
        <div className="flex h-40 items-center justify-center rounded border border-dashed border-slate-300 text-xs text-slate-500 dark:border-slate-700">
          {empty}
        </div>
      ) : (
        <svg viewBox={`0 0 ${W} ${H}`} className="h-auto w-full" role="img" aria-label={title}>
          {ticks.map((v) => (
            <g key={v}>
              <line
                x1={PAD.l}
                x2={W - PAD.r}
                y1={y(v)}
                y2={y(v)}
                className="stroke-slate-200 dark:stroke-slate-800"
                strokeWidth={1}
              />
              <text x={PAD.l - 6} y={y(v) + 4} textAnchor="end" className="fill-slate-500 text-[11px]">
                {tick(v, unit)}
              </text>
            </g>
          ))}
          {xTicks.map((i) => (
            <text
              key={i}
              x={x(i)}
              y={H - 6}
              textAnchor={i === 0 ? 'start' : i === n - 1 ? 'end' : 'middle'}
              className="fill-slate-500 text-[11px]"
            >
              {labels[i]}
            </text>
          ))}
          {series.map((s) => (
            <polyline
              key={s.label}
              fill="none"
              strokeWidth={2}
              strokeLinejoin="round"
              strokeLinecap="round"
              className={s.className}
              points={s.values.map((v, i) => `${x(i)},${y(v)}`).join(' ')}
            />
          ))}
          {n === 1 &&
            series.map((s) => <circle key={s.label} cx={x(0)} cy={y(s.values[0])} r={3} className={s.className} />)}
        </svg>
      )}
    </figure>
  );
}
