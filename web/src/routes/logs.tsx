// Request log: a paged, filterable table; a row opens the request's detail
// with its routing trace.
import { FormEvent, useState } from 'react';
import { Button } from '../components/ui/button';
import { Badge, PageHeader } from '../components/ui/card';
import { Dialog } from '../components/ui/dialog';
import { Input, Select } from '../components/ui/form';
import { Empty, ErrorBox, Spinner } from '../components/ui/state';
import { Table, Td, Th } from '../components/ui/table';
import { LogEntry, TraceStep } from '../lib/api';
import { fmtMoney, fmtMs, fmtNumber, fmtTime } from '../lib/format';
import { T, useI18n } from '../lib/i18n';
import { useClientKeys, useLogs, useProviders } from '../lib/queries';

const PAGE = 50;

function outcomeTone(o: string) {
  return o === 'ok' ? 'green' : o === 'cancelled' ? 'amber' : 'red';
}

function statusTone(s: number | null) {
  if (!s) return 'slate';
  return s < 300 ? 'green' : s < 500 ? 'amber' : 'red';
}

// A request's facts, a name and a value a row.
export function DetailList({ rows }: { rows: [string, React.ReactNode][] }) {
  return (
    <dl className="grid grid-cols-[auto_1fr] gap-x-4 gap-y-1.5 text-sm">
      {rows.map(([k, v]) => (
        <div key={k} className="contents">
          <dt className="text-slate-500 dark:text-slate-400">{k}</dt>
          <dd className="min-w-0 break-words">{v}</dd>
        </div>
      ))}
    </dl>
  );
}

// Who sent a request: its client key, or the admin of a playground chat.
export function clientOf(entry: LogEntry, t: T): string {
  if (entry.client_key_name) return entry.client_key_name;
  if (entry.client_key_id) return `#${entry.client_key_id}`;
  if (entry.admin_user) return t('logs.admin', { name: entry.admin_user });
  return '–';
}

// The candidates a request tried or skipped, and how each was chosen.
export function TraceList({ trace }: { trace: TraceStep[] }) {
  const { t } = useI18n();
  if (trace.length === 0) return <p className="text-sm text-slate-500">{t('logs.noTrace')}</p>;
  return (
    <ol className="space-y-2" data-testid="log-trace">
      {trace.map((s, i) => (
        <li key={i} className="rounded-md border border-slate-200 px-3 py-2 text-sm dark:border-slate-700">
          <div className="flex flex-wrap items-center gap-2">
            <span className="text-xs text-slate-400">{i + 1}.</span>
            <span className="font-medium">{s.provider}</span>
            <Badge tone={s.action === 'tried' ? 'indigo' : 'slate'}>{s.action}</Badge>
            <Badge tone={s.outcome === 'ok' ? 'green' : s.action === 'skipped' ? 'slate' : 'red'}>{s.outcome}</Badge>
            {s.strategy && <span className="text-xs text-slate-500">{t('logs.via', { strategy: s.strategy })}</span>}
            {s.status ? <span className="text-xs text-slate-500">HTTP {s.status}</span> : null}
            {s.latency_ms !== null && s.latency_ms !== undefined && (
              <span className="text-xs text-slate-500">{fmtMs(s.latency_ms)}</span>
            )}
          </div>
          {(s.key_masked || s.reason) && (
            <div className="mt-1 text-xs text-slate-500 dark:text-slate-400">
              {s.key_masked && <span className="mr-2 font-mono">{s.key_masked}</span>}
              {s.reason}
            </div>
          )}
        </li>
      ))}
    </ol>
  );
}

export function LogDetail({ entry, onClose }: { entry: LogEntry; onClose: () => void }) {
  const { t, lang } = useI18n();
  const rows: [string, React.ReactNode][] = [
    [t('logs.time'), fmtTime(entry.created_at, lang)],
    [t('logs.path'), <span className="font-mono text-xs">{entry.path}</span>],
    [t('logs.model'), entry.model],
    [t('logs.upstreamModel'), entry.upstream_model ?? '–'],
    [t('logs.client'), clientOf(entry, t)],
    [t('common.provider'), entry.provider_name ?? '–'],
    [t('logs.key'), <span className="font-mono text-xs">{entry.key_masked ?? '–'}</span>],
    [t('common.status'), <Badge tone={statusTone(entry.status)}>{entry.status}</Badge>],
    [t('logs.outcome'), <Badge tone={outcomeTone(entry.outcome)}>{entry.outcome}</Badge>],
    [t('logs.stream'), entry.stream ? t('common.yes') : t('common.no')],
    [t('logs.attempts'), entry.attempts],
    [t('logs.latency'), fmtMs(entry.latency_ms)],
    [t('logs.ttfb'), fmtMs(entry.ttfb_ms)],
    [
      t('logs.tokens'),
      <span>
        {`${fmtNumber(entry.prompt_tokens)} + ${fmtNumber(entry.completion_tokens)}`}
        {entry.usage_estimated ? (
          <span className="ml-2">
            <Badge tone="amber">{t('logs.estimated')}</Badge>
          </span>
        ) : null}
      </span>,
    ],
    [t('logs.cachedTokens'), fmtNumber(entry.cached_tokens ?? 0)],
    [t('logs.cacheWriteTokens'), fmtNumber(entry.cache_write_tokens ?? 0)],
    [t('logs.reasoningTokens'), fmtNumber(entry.reasoning_tokens ?? 0)],
    [
      t('money.cost'),
      <span data-testid="log-cost">
        {fmtMoney(entry.cost ?? 0, entry.currency)}
        {entry.cost_estimated ? (
          <span className="ml-2">
            <Badge tone="amber">{t('money.estimated')}</Badge>
          </span>
        ) : null}
      </span>,
    ],
  ];
  return (
    <Dialog
      title={t('logs.detail', { id: entry.id })}
      open
      wide
      onClose={onClose}
      footer={
        <Button variant="secondary" onClick={onClose}>
          {t('common.close')}
        </Button>
      }
    >
      <DetailList rows={rows} />
      {entry.error && (
        <div className="mt-3">
          <ErrorBox error={entry.error} />
        </div>
      )}
      <h3 className="mb-2 mt-5 text-sm font-semibold">{t('logs.trace')}</h3>
      <TraceList trace={entry.trace ?? []} />
    </Dialog>
  );
}

interface Filters {
  model: string;
  provider_id: string;
  client_key_id: string;
  status: string;
  since: string;
}
const noFilters: Filters = { model: '', provider_id: '', client_key_id: '', status: '', since: '' };

export default function LogsPage() {
  const { t, lang } = useI18n();
  const [draft, setDraft] = useState<Filters>(noFilters);
  const [applied, setApplied] = useState<Filters>(noFilters);
  const [offset, setOffset] = useState(0);
  const [open, setOpen] = useState<LogEntry | null>(null);
  const providers = useProviders();
  const clientKeys = useClientKeys();
  const list = useLogs({
    limit: PAGE,
    offset,
    model: applied.model,
    provider_id: applied.provider_id,
    client_key_id: applied.client_key_id,
    status: applied.status,
    sinceSeconds: Number(applied.since) || undefined,
  });

  const submit = (e: FormEvent) => {
    e.preventDefault();
    setOffset(0);
    setApplied({ ...draft });
  };

  const rows = list.data?.data ?? [];
  const total = list.data?.total ?? 0;

  return (
    <div className="space-y-4">
      <PageHeader title={t('logs.title')}>
        <Button variant="secondary" onClick={() => list.refetch()}>
          {t('common.refresh')}
        </Button>
      </PageHeader>
      <form onSubmit={submit} className="grid grid-cols-2 gap-2 sm:grid-cols-3 lg:grid-cols-6">
        <Input
          aria-label={t('logs.model')}
          placeholder={t('logs.model')}
          value={draft.model}
          onChange={(e) => setDraft({ ...draft, model: e.target.value })}
        />
        <Select aria-label={t('common.provider')} value={draft.provider_id} onChange={(e) => setDraft({ ...draft, provider_id: e.target.value })}>
          <option value="">{t('common.provider')}: {t('common.all')}</option>
          {(providers.data?.data ?? []).map((p) => (
            <option key={p.id} value={p.id}>
              {p.name}
            </option>
          ))}
        </Select>
        <Select aria-label={t('logs.client')} value={draft.client_key_id} onChange={(e) => setDraft({ ...draft, client_key_id: e.target.value })}>
          <option value="">{t('logs.client')}: {t('common.all')}</option>
          {(clientKeys.data?.data ?? []).map((k) => (
            <option key={k.id} value={k.id}>
              {k.name}
            </option>
          ))}
        </Select>
        <Input
          aria-label={t('common.status')}
          placeholder={`${t('common.status')} (200, 429…)`}
          inputMode="numeric"
          value={draft.status}
          onChange={(e) => setDraft({ ...draft, status: e.target.value.replace(/\D/g, '') })}
        />
        <Select aria-label={t('logs.since')} value={draft.since} onChange={(e) => setDraft({ ...draft, since: e.target.value })}>
          <option value="">{t('logs.anyTime')}</option>
          <option value="3600">{t('logs.lastHour')}</option>
          <option value="86400">{t('logs.lastDay')}</option>
          <option value="604800">{t('logs.lastWeek')}</option>
        </Select>
        <div className="flex gap-2">
          <Button type="submit" className="flex-1">
            {t('logs.filter')}
          </Button>
          <Button
            variant="secondary"
            onClick={() => {
              setDraft(noFilters);
              setApplied(noFilters);
              setOffset(0);
            }}
          >
            {t('logs.clear')}
          </Button>
        </div>
      </form>
      {list.error && <ErrorBox error={list.error} onRetry={() => list.refetch()} />}
      {list.isPending && <Spinner />}
      {list.data && rows.length === 0 && <Empty>{t('logs.empty')}</Empty>}
      {rows.length > 0 && (
        <>
          <Table>
            <thead>
              <tr>
                <Th>{t('logs.time')}</Th>
                <Th>{t('logs.model')}</Th>
                <Th>{t('common.provider')}</Th>
                <Th>{t('logs.client')}</Th>
                <Th>{t('common.status')}</Th>
                <Th className="text-right">{t('logs.latency')}</Th>
                <Th className="text-right">{t('logs.tokens')}</Th>
                <Th className="text-right">{t('money.cost')}</Th>
                <Th className="text-right">{t('logs.attempts')}</Th>
              </tr>
            </thead>
            <tbody className="divide-y divide-slate-100 dark:divide-slate-800">
              {rows.map((r) => (
                <tr
                  key={r.id}
                  data-testid="log-row"
                  tabIndex={0}
                  onClick={() => setOpen(r)}
                  onKeyDown={(e) => e.key === 'Enter' && setOpen(r)}
                  className="cursor-pointer hover:bg-slate-50 dark:hover:bg-slate-800/60"
                >
                  <Td className="text-xs">{fmtTime(r.created_at, lang)}</Td>
                  <Td>
                    {r.model}
                    {r.stream && <span className="ml-1 text-xs text-slate-400">SSE</span>}
                  </Td>
                  <Td>{r.provider_name ?? '–'}</Td>
                  <Td>{clientOf(r, t)}</Td>
                  <Td>
                    <div className="flex gap-1">
                      <Badge tone={statusTone(r.status)}>{r.status}</Badge>
                      {r.outcome !== 'ok' && <Badge tone={outcomeTone(r.outcome)}>{r.outcome}</Badge>}
                    </div>
                  </Td>
                  <Td className="text-right">{fmtMs(r.latency_ms)}</Td>
                  <Td className="text-right" title={`${t('logs.cachedTokens')} ${r.cached_tokens ?? 0} · ${t('logs.reasoningTokens')} ${r.reasoning_tokens ?? 0}`}>
                    {r.usage_estimated ? '≈' : ''}
                    {fmtNumber((r.prompt_tokens ?? 0) + (r.completion_tokens ?? 0))}
                  </Td>
                  <Td className="text-right tabular-nums" title={r.currency}>
                    {r.cost_estimated ? '≈' : ''}
                    {fmtMoney(r.cost ?? 0)}
                  </Td>
                  <Td className="text-right">{r.attempts}</Td>
                </tr>
              ))}
            </tbody>
          </Table>
          <div className="flex items-center justify-between text-sm">
            <span className="text-slate-500">
              {t('logs.page', { from: offset + 1, to: offset + rows.length, total })}
            </span>
            <div className="flex gap-2">
              <Button variant="secondary" size="sm" disabled={offset === 0} onClick={() => setOffset(Math.max(0, offset - PAGE))}>
                {t('common.prev')}
              </Button>
              <Button variant="secondary" size="sm" disabled={offset + rows.length >= total} onClick={() => setOffset(offset + PAGE)}>
                {t('common.next')}
              </Button>
            </div>
          </div>
        </>
      )}
      {open && <LogDetail entry={open} onClose={() => setOpen(null)} />}
    </div>
  );
}
