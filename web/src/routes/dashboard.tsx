// Cards (groups, providers, keys, client keys), charts over a chosen
// window (spend among them), upstream key health at a glance, and the
// client keys, models and providers that spent the most.
import { useState } from 'react';
import { Link } from 'react-router-dom';
import { LineChart } from '../components/charts/line-chart';
import { Badge, Card, PageHeader } from '../components/ui/card';
import { Select } from '../components/ui/form';
import { Empty, ErrorBox, Spinner } from '../components/ui/state';
import { CostFigures, Stats, Timeseries, UpstreamKey } from '../lib/api';
import { fmtCountdown, fmtMoney, fmtMs, fmtNumber, pct } from '../lib/format';
import { useI18n } from '../lib/i18n';
import { useKeys, useStats, useTimeseries } from '../lib/queries';
import { useNow } from '../lib/use-now';

const WINDOWS = [
  { s: 900, label: '15m' },
  { s: 3600, label: '1h' },
  { s: 6 * 3600, label: '6h' },
  { s: 24 * 3600, label: '24h' },
  { s: 7 * 24 * 3600, label: '7d' },
];

function StatCard({ title, value, sub, testId }: { title: string; value: string; sub?: string; testId: string }) {
  return (
    <Card className="p-4">
      <div className="text-xs font-medium uppercase tracking-wide text-slate-500 dark:text-slate-400">{title}</div>
      <div className="mt-1 text-2xl font-semibold" data-testid={testId}>
        {value}
      </div>
      {sub && <div className="text-xs text-slate-500 dark:text-slate-400">{sub}</div>}
    </Card>
  );
}

function hhmm(iso: string, lang: string) {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toLocaleTimeString(lang, { hour: '2-digit', minute: '2-digit' });
}

// The top of one list by spend, most first.
function TopSpend({ title, rows, currency, testId }: { title: string; rows: CostFigures[]; currency: string; testId: string }) {
  const top = rows.filter((r) => r.cost > 0).sort((a, b) => b.cost - a.cost).slice(0, 5);
  if (top.length === 0) return null;
  return (
    <Card className="p-4">
      <h2 className="mb-2 font-semibold">{title}</h2>
      <ul className="space-y-1 text-sm" data-testid={testId}>
        {top.map((r) => (
          <li key={r.model ?? r.id} className="flex justify-between gap-2">
            <span className="truncate">{r.model ?? r.name ?? `#${r.id}`}</span>
            <span className="tabular-nums text-slate-500">{fmtMoney(r.cost, currency)}</span>
          </li>
        ))}
      </ul>
    </Card>
  );
}

function Charts({ ts, lang }: { ts: Timeseries; lang: string }) {
  const { t } = useI18n();
  const pts = ts.data ?? [];
  const labels = pts.map((p) => hhmm(p.t, lang));
  const perMin = (ts.bucket_seconds || 60) / 60;
  const empty = t('dash.noData');
  return (
    <div className="grid gap-4 lg:grid-cols-2">
      <Card className="p-4">
        <LineChart
          title={t('dash.rpm')}
          labels={labels}
          empty={empty}
          series={[
            {
              label: t('dash.requests'),
              values: pts.map((p) => p.requests / perMin),
              color: '#6366f1',
              dotClassName: 'bg-indigo-500',
            },
          ]}
        />
      </Card>
      <Card className="p-4">
        <LineChart
          title={t('dash.errorRate')}
          labels={labels}
          unit="%"
          empty={empty}
          series={[
            {
              label: t('dash.errorRate'),
              values: pts.map((p) => (p.requests ? (p.errors / p.requests) * 100 : 0)),
              color: '#ef4444',
              dotClassName: 'bg-red-500',
            },
          ]}
        />
      </Card>
      <Card className="p-4">
        <LineChart
          title={t('dash.latency')}
          labels={labels}
          unit="ms"
          empty={empty}
          series={[
            { label: t('dash.p50'), values: pts.map((p) => p.latency_p50_ms), color: '#10b981', dotClassName: 'bg-emerald-500' },
            { label: t('dash.p95'), values: pts.map((p) => p.latency_p95_ms), color: '#f59e0b', dotClassName: 'bg-amber-500' },
          ]}
        />
      </Card>
      <Card className="p-4">
        <LineChart
          title={t('dash.tokens')}
          labels={labels}
          empty={empty}
          series={[
            { label: t('dash.prompt'), values: pts.map((p) => p.prompt_tokens), color: '#0ea5e9', dotClassName: 'bg-sky-500' },
            {
              label: t('dash.completion'),
              values: pts.map((p) => p.completion_tokens),
              color: '#d946ef',
              dotClassName: 'bg-fuchsia-500',
            },
          ]}
        />
      </Card>
      <Card className="p-4">
        <LineChart
          title={t('money.spend')}
          labels={labels}
          empty={empty}
          series={[
            { label: t('money.spend'), values: pts.map((p) => (p.cost ?? 0) / 1e6), color: '#059669', dotClassName: 'bg-emerald-600' },
          ]}
        />
      </Card>
    </div>
  );
}

function KeyHealth({ stats, keys, keysError }: { stats: Stats; keys?: UpstreamKey[]; keysError: unknown }) {
  const { t } = useI18n();
  const now = useNow();
  const cooling = (keys ?? []).filter((k) => k.status === 'cooldown');
  const disabled = (keys ?? []).filter((k) => k.status === 'disabled' || !k.enabled);
  const active = stats.active_keys;
  const coolingN = stats.cooling_keys ?? cooling.length;
  const disabledN = stats.disabled_keys ?? disabled.length;
  return (
    <Card className="p-4">
      <div className="mb-3 flex items-center justify-between">
        <h2 className="font-semibold">{t('dash.keyHealth')}</h2>
        <Link to="/keys" className="text-sm text-indigo-600 hover:underline dark:text-indigo-400">
          {t('nav.keys')} →
        </Link>
      </div>
      <div className="mb-3 grid grid-cols-3 gap-2 text-center">
        <div className="rounded-md bg-emerald-50 py-2 dark:bg-emerald-950/50">
          <div className="text-xl font-semibold text-emerald-700 dark:text-emerald-300" data-testid="keys-active">
            {active}
          </div>
          <div className="text-xs text-emerald-700 dark:text-emerald-300">{t('dash.active')}</div>
        </div>
        <div className="rounded-md bg-amber-50 py-2 dark:bg-amber-950/50">
          <div className="text-xl font-semibold text-amber-700 dark:text-amber-300">{coolingN}</div>
          <div className="text-xs text-amber-700 dark:text-amber-300">{t('dash.cooling')}</div>
        </div>
        <div className="rounded-md bg-red-50 py-2 dark:bg-red-950/50">
          <div className="text-xl font-semibold text-red-700 dark:text-red-300">{disabledN}</div>
          <div className="text-xs text-red-700 dark:text-red-300">{t('common.disabled')}</div>
        </div>
      </div>
      {keysError !== undefined && <ErrorBox error={keysError} />}
      {stats.total_keys === 0 && <p className="text-sm text-slate-500">{t('dash.noKeys')}</p>}
      <ul className="space-y-1 text-sm">
        {[...cooling, ...disabled].slice(0, 8).map((k) => (
          <li key={k.id} className="flex flex-wrap items-center justify-between gap-2">
            <span className="font-mono text-xs">{k.key_masked}</span>
            <span className="flex items-center gap-2 text-xs text-slate-500">
              {k.status_reason}
              {k.status === 'cooldown' ? (
                <Badge tone="amber">{t('keys.left', { t: fmtCountdown(k.cooldown_until, now) })}</Badge>
              ) : (
                <Badge tone="red">{t('keys.disabled')}</Badge>
              )}
            </span>
          </li>
        ))}
      </ul>
    </Card>
  );
}

export default function DashboardPage() {
  const { t, lang } = useI18n();
  const [win, setWin] = useState(3600);
  const stats = useStats(win);
  const ts = useTimeseries(win);
  const keys = useKeys();
  const s = stats.data;

  return (
    <div className="space-y-5">
      <PageHeader title={t('dash.title')}>
        <label className="flex items-center gap-2 text-sm">
          {t('dash.window')}
          <Select aria-label={t('dash.window')} value={win} onChange={(e) => setWin(Number(e.target.value))} className="w-24">
            {WINDOWS.map((w) => (
              <option key={w.s} value={w.s}>
                {w.label}
              </option>
            ))}
          </Select>
        </label>
      </PageHeader>

      {stats.error && <ErrorBox error={stats.error} onRetry={() => stats.refetch()} />}
      {stats.isLoading && <Spinner />}
      {s && (
        <>
          <div className="grid grid-cols-2 gap-3 lg:grid-cols-4">
            <StatCard testId="stat-groups" title={t('dash.groups')} value={fmtNumber(s.total_groups)} sub={t('dash.enabledOf', { n: s.enabled_groups })} />
            <StatCard
              testId="stat-providers"
              title={t('dash.providers')}
              value={fmtNumber(s.total_providers)}
              sub={t('dash.enabledOf', { n: s.enabled_providers })}
            />
            <StatCard testId="stat-keys" title={t('dash.keys')} value={fmtNumber(s.total_keys)} sub={t('dash.activeOf', { n: s.active_keys })} />
            <StatCard
              testId="stat-client-keys"
              title={t('dash.clientKeys')}
              value={fmtNumber(s.total_client_keys)}
              sub={t('dash.enabledOf', { n: s.enabled_client_keys })}
            />
          </div>
          {s.requests !== undefined && (
            <div className="grid grid-cols-2 gap-3 lg:grid-cols-5">
              <StatCard testId="stat-requests" title={t('dash.requests')} value={fmtNumber(s.requests)} sub={`${t('dash.errors')}: ${fmtNumber(s.errors)}`} />
              <StatCard testId="stat-error-rate" title={t('dash.errorRate')} value={pct(s.errors ?? 0, s.requests)} />
              <StatCard
                testId="stat-latency"
                title={t('dash.latency')}
                value={fmtMs(s.latency_p50_ms)}
                sub={`${t('dash.p95')} ${fmtMs(s.latency_p95_ms)}`}
              />
              <StatCard
                testId="stat-tokens"
                title={t('dash.tokens')}
                value={fmtNumber((s.prompt_tokens ?? 0) + (s.completion_tokens ?? 0))}
                sub={`${t('dash.prompt')} ${fmtNumber(s.prompt_tokens)} · ${t('dash.completion')} ${fmtNumber(s.completion_tokens)}`}
              />
              <StatCard testId="stat-spend" title={t('money.spend')} value={fmtMoney(s.cost ?? 0, s.currency)} />
            </div>
          )}
        </>
      )}

      <div className="grid gap-4 xl:grid-cols-[1fr_22rem]">
        <div className="min-w-0">
          {ts.error && (
            <Card className="p-4">
              <h2 className="mb-2 font-semibold">{t('dash.chartsUnavailable')}</h2>
              <ErrorBox error={ts.error} onRetry={() => ts.refetch()} />
            </Card>
          )}
          {ts.isLoading && <Spinner />}
          {ts.data && !ts.error && <Charts ts={ts.data} lang={lang} />}
        </div>
        <div className="space-y-4">
          {s && <KeyHealth stats={s} keys={keys.data?.data} keysError={keys.error ?? undefined} />}
          {s?.providers && s.providers.length > 0 && (
            <Card className="p-4">
              <h2 className="mb-2 font-semibold">{t('dash.byProvider')}</h2>
              <ul className="space-y-1 text-sm">
                {s.providers.map((p) => (
                  <li key={p.id} className="flex justify-between gap-2">
                    <span className="truncate">{p.name}</span>
                    <span className="text-slate-500">
                      {fmtNumber(p.requests)} · {pct(p.errors, p.requests)}
                    </span>
                  </li>
                ))}
              </ul>
            </Card>
          )}
          {s && (
            <>
              <TopSpend title={t('money.topClients')} rows={s.clients ?? []} currency={s.currency ?? ''} testId="top-clients" />
              <TopSpend title={t('money.topModels')} rows={s.models ?? []} currency={s.currency ?? ''} testId="top-models" />
              <TopSpend title={t('money.byProvider')} rows={s.providers ?? []} currency={s.currency ?? ''} testId="top-providers" />
            </>
          )}
          {s && s.total_groups === 0 && (
            <Empty>
              <Link to="/groups" className="text-indigo-600 hover:underline dark:text-indigo-400">
                {t('groups.empty')}
              </Link>
            </Empty>
          )}
        </div>
      </div>
    </div>
  );
}
