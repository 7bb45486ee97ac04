// Playground: chat with a model the gateway serves, streamed, through the
// real routing, failover and request log, on the admin's session. Each
// answer's detail comes from its log entry: the provider and key chosen
// (masked), the routing trace, time to first byte and tokens.
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { FormEvent, useMemo, useRef, useState } from 'react';
import { Button } from '../components/ui/button';
import { Badge, Card, PageHeader } from '../components/ui/card';
import { Field, Select, Textarea } from '../components/ui/form';
import { Empty, ErrorBox } from '../components/ui/state';
import { api, LogEntry, Provider } from '../lib/api';
import { fmtMs, fmtNumber } from '../lib/format';
import { ChatMessage, playgroundChat } from '../lib/playground';
import { useI18n } from '../lib/i18n';
import { changes, useProviders } from '../lib/queries';
import { clientOf, DetailList, TraceList } from './logs';

// The names clients may ask for: every enabled provider's models and
// aliases, once each.
export function servedModels(providers: Provider[]): string[] {
  const names = new Set<string>();
  for (const p of providers) {
    if (!p.enabled) continue;
    for (const m of p.models ?? []) names.add(m);
    for (const a of Object.keys(p.model_aliases ?? {})) names.add(a);
  }
  return [...names].sort();
}

// The log entry of a request, asked again until the batch with it is
// written (the log is written every LOG_FLUSH_MS).
function useEntry(requestId: string | null) {
  return useQuery({
    queryKey: ['logs', { request_id: requestId }],
    queryFn: ({ signal }) => api.logs({ request_id: requestId ?? '', limit: 1 }, { signal }),
    enabled: requestId !== null,
    refetchInterval: (q) => (q.state.data && q.state.data.total > 0 ? false : 300),
  });
}

function Detail({ entry }: { entry: LogEntry }) {
  const { t } = useI18n();
  const rows: [string, React.ReactNode][] = [
    [t('common.provider'), entry.provider_name ?? '–'],
    [t('logs.key'), <span className="font-mono text-xs">{entry.key_masked || '–'}</span>],
    [t('common.status'), <Badge tone={entry.status < 300 ? 'green' : 'red'}>{entry.status}</Badge>],
    [t('logs.ttfb'), fmtMs(entry.ttfb_ms)],
    [t('logs.latency'), fmtMs(entry.latency_ms)],
    [t('logs.tokens'), `${fmtNumber(entry.prompt_tokens)} + ${fmtNumber(entry.completion_tokens)}`],
    [t('logs.client'), clientOf(entry, t)],
  ];
  return (
    <div data-testid="playground-detail" className="space-y-3">
      <DetailList rows={rows} />
      <h3 className="text-sm font-semibold">{t('logs.trace')}</h3>
      <TraceList trace={entry.trace ?? []} />
    </div>
  );
}

export default function PlaygroundPage() {
  const { t } = useI18n();
  const qc = useQueryClient();
  const providers = useProviders();
  const models = useMemo(() => servedModels(providers.data?.data ?? []), [providers.data]);
  const [model, setModel] = useState('');
  const [input, setInput] = useState('');
  const [history, setHistory] = useState<ChatMessage[]>([]);
  const [answer, setAnswer] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>();
  const [requestId, setRequestId] = useState<string | null>(null);
  const stop = useRef<AbortController | null>(null);
  const entry = useEntry(requestId);
  const chosen = model || models[0] || '';

  const send = async (e: FormEvent) => {
    e.preventDefault();
    const text = input.trim();
    if (!text || !chosen || busy) return;
    const messages: ChatMessage[] = [...history, { role: 'user', content: text }];
    setHistory(messages);
    setInput('');
    setAnswer('');
    setError(undefined);
    setRequestId(null);
    setBusy(true);
    stop.current = new AbortController();
    try {
      const r = await playgroundChat(chosen, messages, setAnswer, stop.current.signal);
      setRequestId(r.requestId);
      if (r.error) setError(r.error);
      setHistory([...messages, { role: 'assistant', content: r.text }]);
      setAnswer(null);
    } catch (err) {
      setError(err);
      setRequestId((err as { requestId?: string }).requestId ?? null);
      setAnswer(null);
    } finally {
      setBusy(false);
      stop.current = null;
      await Promise.all(changes.playground.map((queryKey) => qc.invalidateQueries({ queryKey })));
    }
  };

  const found = entry.data?.data[0];

  return (
    <div className="space-y-4">
      <PageHeader title={t('pg.title')}>
        <Button
          variant="secondary"
          onClick={() => {
            setHistory([]);
            setRequestId(null);
            setError(undefined);
          }}
          disabled={busy || history.length === 0}
        >
          {t('pg.clear')}
        </Button>
      </PageHeader>
      {providers.error && <ErrorBox error={providers.error} onRetry={() => providers.refetch()} />}
      {providers.data && models.length === 0 && <Empty>{t('pg.noModels')}</Empty>}
      <div className="grid gap-4 lg:grid-cols-[2fr_1fr]">
        <Card className="space-y-4 p-4">
          <ol className="space-y-3" data-testid="playground-messages" aria-live="polite">
            {history.length === 0 && answer === null && <li className="text-sm text-slate-500">{t('pg.empty')}</li>}
            {history.map((m, i) => (
              <li key={i} className={`rounded-md px-3 py-2 text-sm ${m.role === 'user' ? 'bg-indigo-50 dark:bg-indigo-950/50' : 'bg-slate-50 dark:bg-slate-800/60'}`}>
                <div className="mb-0.5 text-xs font-medium text-slate-500">{m.role === 'user' ? t('pg.you') : t('pg.assistant')}</div>
                <div className="whitespace-pre-wrap" data-testid={m.role === 'assistant' ? 'playground-answer' : undefined}>
                  {m.content}
                </div>
              </li>
            ))}
            {answer !== null && (
              <li className="rounded-md bg-slate-50 px-3 py-2 text-sm dark:bg-slate-800/60">
                <div className="mb-0.5 text-xs font-medium text-slate-500">{t('pg.assistant')}</div>
                <div className="whitespace-pre-wrap" data-testid="playground-streaming">
                  {answer || '…'}
                </div>
              </li>
            )}
          </ol>
          {error !== undefined && <ErrorBox error={error} />}
          <form onSubmit={send} className="space-y-3">
            <Field label={t('logs.model')}>
              <Select name="model" value={chosen} onChange={(e) => setModel(e.target.value)} disabled={busy}>
                {models.map((m) => (
                  <option key={m} value={m}>
                    {m}
                  </option>
                ))}
              </Select>
            </Field>
            <Field label={t('pg.message')}>
              <Textarea
                name="message"
                rows={3}
                value={input}
                onChange={(e) => setInput(e.target.value)}
                onKeyDown={(e) => {
                  if (e.key === 'Enter' && (e.metaKey || e.ctrlKey)) send(e);
                }}
              />
            </Field>
            <div className="flex justify-end gap-2">
              {busy && (
                <Button variant="secondary" onClick={() => stop.current?.abort()}>
                  {t('pg.stop')}
                </Button>
              )}
              <Button type="submit" disabled={busy || !chosen || !input.trim()}>
                {busy ? t('pg.sending') : t('pg.send')}
              </Button>
            </div>
          </form>
        </Card>
        <Card className="p-4">
          <h2 className="mb-3 font-semibold">{t('pg.detail')}</h2>
          {requestId === null && <p className="text-sm text-slate-500">{t('pg.noDetail')}</p>}
          {requestId !== null && !found && <p className="text-sm text-slate-500">{t('pg.waiting')}</p>}
          {found && <Detail entry={found} />}
        </Card>
      </div>
    </div>
  );
}
