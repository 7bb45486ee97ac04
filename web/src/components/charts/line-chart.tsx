// Line charts on recharts: a few series over shared time buckets, with the
// values of a bucket under the pointer.
//
// Kept only if a library could not meet the gateway's CSP (src/ui.c:
// style-src 'self', no inline <style> or style attribute). Recharts
// can: it styles through React's style prop and element.style (the CSSOM,
// which CSP allows) and measures text in a span styled the same way; it
// inserts no <style> element. tests/e2e/ui.test.js draws these charts on
// the dashboard in Chromium against the real binary, shows the tooltip,
// and finds no CSP violation (securitypolicyviolation events or console
// reports). So the own SVG chart went.
import { useId } from 'react';
import { CartesianGrid, Line, LineChart as Chart, Tooltip, TooltipContentProps, XAxis, YAxis } from 'recharts';

export interface Series {
  label: string;
  values: number[];
  color: string; // the line, e.g. '#6366f1' (Tailwind's indigo-500)
  dotClassName: string; // its swatch in the legend, e.g. 'bg-indigo-500'
}

const tickStyle = { fontSize: 11 };
// The chart fills its box and follows its size (ResizeObserver); jsdom,
// which has none, draws it at 100 x 100.
const fill = { width: '100%', height: '100%' };

function tick(v: number, unit?: string): string {
  const s = v >= 1e6 ? `${+(v / 1e6).toFixed(1)}M` : v >= 1e3 ? `${+(v / 1e3).toFixed(1)}k` : `${+v.toFixed(2)}`;
  return unit ? `${s}${unit}` : s;
}

function Values({ active, payload, label, unit, series }: TooltipContentProps & { unit?: string; series: Series[] }) {
  if (!active || !payload?.length) return null;
  return (
    <div className="rounded-md border border-slate-200 bg-white px-2.5 py-1.5 text-xs shadow-md dark:border-slate-700 dark:bg-slate-800">
      <div className="mb-0.5 font-medium">{label}</div>
      {payload.map((p, i) => (
        <div key={String(p.dataKey)} className="flex items-center gap-1.5">
          <span className={`inline-block h-2 w-2 rounded-full ${series[i]?.dotClassName ?? ''}`} />
          {p.name}: {tick(Number(p.value), unit)}
        </div>
      ))}
    </div>
  );
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
  const data = labels.map((label, i) => {
    const row: Record<string, string | number> = { label };
    series.forEach((s, j) => (row[`s${j}`] = s.values[i]));
    return row;
  });

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
      {labels.length === 0 ? (
        <div className="flex h-40 items-center justify-center rounded border border-dashed border-slate-300 text-xs text-slate-500 dark:border-slate-700">
          {empty}
        </div>
      ) : (
        <div role="img" aria-label={title} className="h-44 w-full">
          <Chart
            responsive
            data={data}
            style={fill}
            accessibilityLayer={false}
            margin={{ top: 8, right: 8, bottom: 0, left: 0 }}
            className="[&_.recharts-cartesian-axis-tick_text]:fill-slate-500 [&_.recharts-cartesian-grid_line]:stroke-slate-200 dark:[&_.recharts-cartesian-grid_line]:stroke-slate-800"
          >
            <CartesianGrid vertical={false} />
            <XAxis dataKey="label" tick={tickStyle} tickLine={false} axisLine={false} minTickGap={32} />
            <YAxis width="auto" tick={tickStyle} tickLine={false} axisLine={false} tickFormatter={(v: number) => tick(v, unit)} />
            <Tooltip content={(p) => <Values {...p} unit={unit} series={series} />} isAnimationActive={false} />
            {series.map((s, j) => (
              <Line
                key={s.label}
                type="linear"
                dataKey={`s${j}`}
                name={s.label}
                stroke={s.color}
                strokeWidth={2}
                dot={labels.length === 1}
                isAnimationActive={false}
              />
            ))}
          </Chart>
        </div>
      )}
    </figure>
  );
}
