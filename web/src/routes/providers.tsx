// Providers of a group: type, base URL, models, aliases, weight, timeout,
// enabled; how the gateway reaches one (proxy, extra headers, body
// overrides), its own failover statuses and key probes; a test button
// that sends a small request through one, and "Sync models", which shows
// the difference with the upstream's own list before applying it.
import { FormEvent, useEffect, useState } from 'react';
import { Link, useSearchParams } from 'react-router-dom';
import { Button } from '../components/ui/button';
import { Badge, Card, PageHeader } from '../components/ui/card';
import { ConfirmDialog, Dialog } from '../components/ui/dialog';
import { Field, Input, Select, Switch, Textarea } from '../components/ui/form';
import { Empty, ErrorBox, Spinner } from '../components/ui/state';
import { api, ModelsSync, Provider, ProviderTest } from '../lib/api';
import { fmtMs, splitList } from '../lib/format';
import { MessageKey, T, useI18n } from '../lib/i18n';
import { changes, useGroups, useProviders, useWrite } from '../lib/queries';

interface Draft {
  name: string;
  type: string;
  base_url: string;
  models: string;
  aliases: string;
  weight: string;
  timeout_ms: string;
  enabled: boolean;
  responses_api: boolean;
  proxy_url: string;
  extra_headers: string;
  body_overrides: string;
  failover_statuses: string;
  no_cooldown_statuses: string;
  probe_interval_seconds: string;
  probe_disabled: boolean;
}

// The wire formats the gateway speaks upstream, and where each lives by
// default.
export const PROVIDER_TYPES = ['openai', 'anthropic', 'gemini'] as const;
export const DEFAULT_BASE_URLS: Record<string, string> = {
  openai: 'https://api.openai.com/v1',
  anthropic: 'https://api.anthropic.com/v1',
  gemini: 'https://generativelanguage.googleapis.com/v1beta',
};

// The base URL to show after choosing a type: that type's default when the
// field is empty or still holds another type's default; what the operator
// typed otherwise.
export function baseUrlForType(current: string, type: string): string {
  const now = current.trim().replace(/\/+$/, '');
  if (now === '' || Object.values(DEFAULT_BASE_URLS).includes(now)) return DEFAULT_BASE_URLS[type] ?? current;
  return current;
}

const TYPE_HINTS: Record<string, MessageKey> = {
  openai: 'prov.typeHint.openai',
  anthropic: 'prov.typeHint.anthropic',
  gemini: 'prov.typeHint.gemini',
};

const NO_TRANSPORT = {
  proxy_url: '',
  extra_headers: '',
  body_overrides: '',
  failover_statuses: '',
  no_cooldown_statuses: '',
  probe_interval_seconds: '0',
  probe_disabled: false,
};

function toDraft(p: Provider | null): Draft {
  if (!p)
    return {
      name: '',
      type: 'openai',
      base_url: DEFAULT_BASE_URLS.openai,
      models: '',
      aliases: '',
      weight: '1',
      timeout_ms: '60000',
      enabled: true,
      responses_api: true,
      ...NO_TRANSPORT,
    };
  const overrides = p.body_overrides ?? {};
  return {
    name: p.name,
    type: p.type,
    base_url: p.base_url,
    models: (p.models ?? []).join(', '),
    aliases: Object.entries(p.model_aliases ?? {})
      .map(([k, v]) => `${k}=${v}`)
      .join('\n'),
    weight: String(p.weight),
    timeout_ms: String(p.timeout_ms),
    enabled: p.enabled,
    responses_api: p.responses_api ?? true,
    proxy_url: p.proxy_url ?? '',
    extra_headers: Object.entries(p.extra_headers ?? {})
      .map(([k, v]) => `${k}: ${v}`)
      .join('\n'),
    body_overrides: Object.keys(overrides).length ? JSON.stringify(overrides, null, 2) : '',
    failover_statuses: (p.failover_statuses ?? []).join(', '),
    no_cooldown_statuses: (p.no_cooldown_statuses ?? []).join(', '),
    probe_interval_seconds: String(p.probe_interval_seconds ?? 0),
    probe_disabled: p.probe_disabled ?? false,
  };
}

// "Name: value" lines.
export function parseHeaders(s: string, t: T): Record<string, string> {
  const out: Record<string, string> = {};
  for (const raw of s.split('\n')) {
    const line = raw.trim();
    if (!line) continue;
    const i = line.indexOf(':');
    if (i <= 0) throw new Error(t('prov.headerBad', { line }));
    out[line.slice(0, i).trim()] = line.slice(i + 1).trim();
  }
  return out;
}

// "429, 503" -> [429, 503].
export function parseStatuses(s: string, t: T): number[] {
  return s
    .split(/[\s,]+/)
    .filter(Boolean)
    .map((x) => {
      if (!/^\d{3}$/.test(x)) throw new Error(t('prov.statusBad', { value: x }));
      return Number(x);
    });
}

// {"set": {...}, "remove": [...]} as JSON text, or empty for none.
export function parseOverrides(s: string, t: T): Provider['body_overrides'] {
  if (!s.trim()) return {};
  try {
    const v = JSON.parse(s);
    if (v && typeof v === 'object' && !Array.isArray(v)) return v;
  } catch {
    /* said below */
  }
  throw new Error(t('prov.overridesBad'));
}

export function parseAliases(s: string, t: T): Record<string, string> {
  const out: Record<string, string> = {};
  for (const raw of s.split('\n')) {
    const line = raw.trim();
    if (!line) continue;
    const i = line.indexOf('=');
    if (i <= 0 || i === line.length - 1) throw new Error(t('prov.aliasBad', { line }));
    out[line.slice(0, i).trim()] = line.slice(i + 1).trim();
  }
  return out;
}

function ProviderDialog({
  groupId,
  provider,
  onClose,
  onSaved,
}: {
  groupId: number;
  provider: Provider | null;
  onClose: () => void;
  onSaved: () => void;
}) {
  const { t } = useI18n();
  const [d, setD] = useState<Draft>(toDraft(provider));
  const [badAliases, setBadAliases] = useState<unknown>();
  const save = useWrite((body: Partial<Provider>) => (provider ? api.updateProvider(provider.id, body) : api.createProvider(body)), changes.provider);
  const set = (k: keyof Draft) => (e: { target: { value: string } }) => setD({ ...d, [k]: e.target.value });
  const initialProxy = provider?.proxy_url ?? '';
  const error = badAliases ?? save.error;

  const submit = (e: FormEvent) => {
    e.preventDefault();
    setBadAliases(undefined);
    save.reset();
    let body: Partial<Provider>;
    try {
      body = {
        group_id: groupId,
        name: d.name.trim(),
        type: d.type,
        base_url: d.base_url.trim(),
        models: splitList(d.models),
        model_aliases: parseAliases(d.aliases, t),
        weight: Number(d.weight) || 0,
        timeout_ms: Number(d.timeout_ms) || 60000,
        enabled: d.enabled,
        responses_api: d.responses_api,
        extra_headers: parseHeaders(d.extra_headers, t),
        body_overrides: parseOverrides(d.body_overrides, t),
        failover_statuses: parseStatuses(d.failover_statuses, t),
        no_cooldown_statuses: parseStatuses(d.no_cooldown_statuses, t),
        probe_interval_seconds: Number(d.probe_interval_seconds) || 0,
        probe_disabled: d.probe_disabled,
      };
      // The proxy is shown masked: sent only when the operator changed it.
      if (d.proxy_url.trim() !== initialProxy) body.proxy_url = d.proxy_url.trim();
    } catch (err) {
      setBadAliases(err);
      return;
    }
    save.mutate(body, { onSuccess: onSaved });
  };

  return (
    <Dialog
      title={provider ? t('prov.edit') : t('prov.new')}
      open
      wide
      onClose={onClose}
      footer={
        <>
          <Button variant="secondary" onClick={onClose}>
            {t('common.cancel')}
          </Button>
          <Button type="submit" form="provider-form" disabled={save.isPending}>
            {provider ? t('common.save') : t('common.create')}
          </Button>
        </>
      }
    >
      <form id="provider-form" onSubmit={submit} className="grid gap-4 sm:grid-cols-2">
        <Field label={t('common.name')}>
          <Input name="name" value={d.name} onChange={set('name')} required />
        </Field>
        <Field label={t('prov.type')} hint={TYPE_HINTS[d.type] ? t(TYPE_HINTS[d.type]) : undefined}>
          <Select
            name="type"
            value={d.type}
            onChange={(e) => setD({ ...d, type: e.target.value, base_url: baseUrlForType(d.base_url, e.target.value) })}
          >
            {PROVIDER_TYPES.map((ty) => (
              <option key={ty} value={ty}>
                {ty}
              </option>
            ))}
            {!(PROVIDER_TYPES as readonly string[]).includes(d.type) && <option value={d.type}>{d.type}</option>}
          </Select>
        </Field>
        <div className="sm:col-span-2">
          <Field label={t('prov.baseUrl')}>
            <Input name="base_url" value={d.base_url} onChange={set('base_url')} required />
          </Field>
        </div>
        <div className="sm:col-span-2">
          <Field label={t('prov.models')} hint={t('prov.modelsHint')}>
            <Input name="models" value={d.models} onChange={set('models')} />
          </Field>
        </div>
        <div className="sm:col-span-2">
          <Field label={t('prov.aliases')} hint={t('prov.aliasesHint')}>
            <Textarea name="aliases" rows={2} value={d.aliases} onChange={set('aliases')} />
          </Field>
        </div>
        <Field label={t('prov.weight')}>
          <Input name="weight" type="number" min={0} max={10000} value={d.weight} onChange={set('weight')} />
        </Field>
        <Field label={t('prov.timeout')}>
          <Input name="timeout_ms" type="number" min={100} value={d.timeout_ms} onChange={set('timeout_ms')} />
        </Field>
        <div className="flex items-center gap-3 text-sm">
          <Switch checked={d.enabled} onChange={(v) => setD({ ...d, enabled: v })} label={t('common.enabled')} />
          {t('common.enabled')}
        </div>
        {d.type === 'openai' && (
          <div className="flex items-center gap-3 text-sm sm:col-span-2">
            <Switch
              checked={d.responses_api}
              onChange={(v) => setD({ ...d, responses_api: v })}
              label={t('prov.responsesApi')}
            />
            <span>
              {t('prov.responsesApi')}
              <span className="block text-xs text-slate-500 dark:text-slate-400">{t('prov.responsesApiHint')}</span>
            </span>
          </div>
        )}
        <details className="sm:col-span-2" open={initialTransport(provider)}>
          <summary className="cursor-pointer text-sm font-medium text-slate-700 dark:text-slate-300">{t('prov.advanced')}</summary>
          <div className="mt-3 grid gap-4 sm:grid-cols-2">
            <div className="sm:col-span-2">
              <Field label={t('prov.proxy')} hint={t('prov.proxyHint')}>
                <Input name="proxy_url" value={d.proxy_url} onChange={set('proxy_url')} autoComplete="off" spellCheck={false} />
              </Field>
            </div>
            <div className="sm:col-span-2">
              <Field label={t('prov.headers')} hint={t('prov.headersHint')}>
                <Textarea name="extra_headers" rows={2} value={d.extra_headers} onChange={set('extra_headers')} spellCheck={false} />
              </Field>
            </div>
            <div className="sm:col-span-2">
              <Field label={t('prov.overrides')} hint={t('prov.overridesHint')}>
                <Textarea name="body_overrides" rows={3} value={d.body_overrides} onChange={set('body_overrides')} spellCheck={false} />
              </Field>
            </div>
            <Field label={t('prov.failoverStatuses')} hint={t('prov.failoverStatusesHint')}>
              <Input name="failover_statuses" value={d.failover_statuses} onChange={set('failover_statuses')} />
            </Field>
            <Field label={t('prov.noCooldown')} hint={t('prov.noCooldownHint')}>
              <Input name="no_cooldown_statuses" value={d.no_cooldown_statuses} onChange={set('no_cooldown_statuses')} />
            </Field>
            <Field label={t('prov.probeInterval')} hint={t('prov.probeIntervalHint')}>
              <Input
                name="probe_interval_seconds"
                type="number"
                min={0}
                max={86400}
                value={d.probe_interval_seconds}
                onChange={set('probe_interval_seconds')}
              />
            </Field>
            <div className="flex items-center gap-3 self-end pb-2 text-sm">
              <Switch checked={d.probe_disabled} onChange={(v) => setD({ ...d, probe_disabled: v })} label={t('prov.probeDisabled')} />
              {t('prov.probeDisabled')}
            </div>
          </div>
        </details>
        {error != null && (
          <div className="sm:col-span-2">
            <ErrorBox error={error} />
          </div>
        )}
      </form>
    </Dialog>
  );
}

// Open the advanced section when the provider uses any of it.
function initialTransport(p: Provider | null): boolean {
  if (!p) return false;
  return Boolean(
    p.proxy_url ||
      Object.keys(p.extra_headers ?? {}).length ||
      Object.keys(p.body_overrides ?? {}).length ||
      (p.failover_statuses ?? []).length ||
      (p.no_cooldown_statuses ?? []).length ||
      p.probe_interval_seconds,
  );
}

// "Sync models": the upstream's own list against the provider's, and
// Apply to make them the same.
export function SyncDialog({ provider, onClose }: { provider: Provider; onClose: () => void }) {
  const { t } = useI18n();
  const preview = useWrite((p: Provider) => api.syncModels(p.id, false), []);
  const apply = useWrite((p: Provider) => api.syncModels(p.id, true), changes.modelsSync);
  const { mutate } = preview;
  useEffect(() => mutate(provider), [mutate, provider]);
  const diff: ModelsSync | undefined = apply.data ?? preview.data;
  const same = diff && diff.added.length === 0 && diff.removed.length === 0;
  return (
    <Dialog
      title={t('prov.syncTitle', { name: provider.name })}
      open
      onClose={onClose}
      footer={
        <>
          <Button variant="secondary" onClick={onClose}>
            {apply.data ? t('common.close') : t('common.cancel')}
          </Button>
          {!apply.data && (
            <Button onClick={() => apply.mutate(provider)} disabled={!diff || same || apply.isPending}>
              {t('prov.syncApply')}
            </Button>
          )}
        </>
      }
    >
      <div className="space-y-3 text-sm" data-testid="sync-result">
        {preview.isPending && <p className="text-slate-500">{t('prov.syncing')}</p>}
        {(preview.error || apply.error) && <ErrorBox error={preview.error ?? apply.error} />}
        {diff && same && <p>{t('prov.syncSame', { n: diff.upstream.length })}</p>}
        {diff && !same && (
          <>
            <div>
              <div className="mb-1 font-medium">{t('prov.syncAdded', { n: diff.added.length })}</div>
              <div className="flex flex-wrap gap-1" data-testid="sync-added">
                {diff.added.map((m) => (
                  <Badge key={m} tone="green">
                    + {m}
                  </Badge>
                ))}
              </div>
            </div>
            <div>
              <div className="mb-1 font-medium">{t('prov.syncRemoved', { n: diff.removed.length })}</div>
              <div className="flex flex-wrap gap-1" data-testid="sync-removed">
                {diff.removed.map((m) => (
                  <Badge key={m} tone="red">
                    − {m}
                  </Badge>
                ))}
              </div>
            </div>
            <p className="text-xs text-slate-500">{t('prov.syncAliases')}</p>
          </>
        )}
        {apply.data && <p data-testid="sync-applied">{t('prov.syncDone', { n: apply.data.models.length })}</p>}
      </div>
    </Dialog>
  );
}

function TestButton({ provider }: { provider: Provider }) {
  const { t } = useI18n();
  const test = useWrite((p: Provider) => api.testProvider(p.id, p.models?.[0]), changes.providerTest);
  const result: ProviderTest | undefined = test.data;
  return (
    <div className="space-y-2">
      <Button size="sm" variant="secondary" onClick={() => test.mutate(provider)} disabled={test.isPending}>
        {test.isPending ? t('prov.testing') : t('prov.test')}
      </Button>
      {result && (
        <div
          data-testid="provider-test-result"
          className={`rounded-md px-3 py-2 text-xs ${
            result.ok
              ? 'bg-emerald-50 text-emerald-800 dark:bg-emerald-950/60 dark:text-emerald-300'
              : 'bg-red-50 text-red-800 dark:bg-red-950/60 dark:text-red-300'
          }`}
        >
          {result.ok
            ? t('prov.testOk', { status: result.status, ms: result.latency_ms, model: result.model })
            : t('prov.testFail', { message: result.message || `HTTP ${result.status}` })}
        </div>
      )}
      {test.error && (
        <div data-testid="provider-test-result">
          <ErrorBox error={test.error} />
        </div>
      )}
    </div>
  );
}

export default function ProvidersPage() {
  const { t } = useI18n();
  const [params, setParams] = useSearchParams();
  const groups = useGroups();
  const groupList = groups.data?.data ?? [];
  const groupId = Number(params.get('group')) || groupList[0]?.id || 0;
  const list = useProviders(groupId);
  const [editing, setEditing] = useState<Provider | null | undefined>(undefined);
  const [deleting, setDeleting] = useState<Provider | null>(null);
  const [syncing, setSyncing] = useState<Provider | null>(null);
  const act = useWrite((fn: () => Promise<unknown>) => fn(), changes.provider);

  const providers = list.data?.data ?? [];

  return (
    <div className="space-y-4">
      <PageHeader title={t('prov.title')}>
        {groupList.length > 0 && (
          <Select
            aria-label={t('common.group')}
            value={groupId}
            onChange={(e) => {
              act.reset();
              setParams({ group: e.target.value });
            }}
            className="w-48"
          >
            {groupList.map((g) => (
              <option key={g.id} value={g.id}>
                {g.name}
              </option>
            ))}
          </Select>
        )}
        <Button onClick={() => setEditing(null)} disabled={!groupId}>
          + {t('prov.new')}
        </Button>
      </PageHeader>
      {groups.error && <ErrorBox error={groups.error} onRetry={() => groups.refetch()} />}
      {list.error && <ErrorBox error={list.error} onRetry={() => list.refetch()} />}
      {act.error && <ErrorBox error={act.error} />}
      {(groups.isLoading || list.isLoading) && <Spinner />}
      {groups.data && groupList.length === 0 && (
        <Empty>
          <Link to="/groups" className="text-indigo-600 hover:underline dark:text-indigo-400">
            {t('prov.noGroups')}
          </Link>
        </Empty>
      )}
      {groupId > 0 && list.data && providers.length === 0 && <Empty>{t('prov.empty')}</Empty>}
      <div className="grid gap-3 lg:grid-cols-2">
        {providers.map((p) => (
          <Card key={p.id} className="p-4">
            <div data-testid={`provider-${p.name}`} className="space-y-3">
              <div className="flex flex-wrap items-start justify-between gap-2">
                <div className="min-w-0">
                  <div className="flex items-center gap-2">
                    <h2 className="font-semibold">{p.name}</h2>
                    <span data-testid="provider-type">
                      <Badge tone="indigo">{p.type}</Badge>
                    </span>
                    <Badge tone={p.enabled ? 'green' : 'slate'}>{p.enabled ? t('common.enabled') : t('common.disabled')}</Badge>
                  </div>
                  <div className="mt-1 break-all font-mono text-xs text-slate-500 dark:text-slate-400">{p.base_url}</div>
                </div>
                <Switch
                  checked={p.enabled}
                  label={p.enabled ? t('common.disable') : t('common.enable')}
                  onChange={(v) => act.mutate(() => api.updateProvider(p.id, { enabled: v }))}
                />
              </div>
              <dl className="grid grid-cols-3 gap-2 text-xs">
                <div className="col-span-3">
                  <dt className="text-slate-500">{t('prov.models')}</dt>
                  <dd className="flex flex-wrap gap-1 pt-0.5">
                    {(p.models ?? []).length === 0 && <span className="text-slate-400">{t('common.none')}</span>}
                    {(p.models ?? []).map((m) => (
                      <Badge key={m}>{m}</Badge>
                    ))}
                    {Object.entries(p.model_aliases ?? {}).map(([k, v]) => (
                      <Badge key={k} tone="indigo">
                        {k} → {v}
                      </Badge>
                    ))}
                  </dd>
                </div>
                <div>
                  <dt className="text-slate-500">{t('prov.weight')}</dt>
                  <dd>{p.weight}</dd>
                </div>
                <div>
                  <dt className="text-slate-500">{t('prov.timeout')}</dt>
                  <dd>{fmtMs(p.timeout_ms)}</dd>
                </div>
                {p.type === 'openai' && (
                  <div>
                    <dt className="text-slate-500">{t('prov.responsesApi')}</dt>
                    <dd>{p.responses_api === false ? t('prov.responsesTranslated') : t('common.yes')}</dd>
                  </div>
                )}
                <div>
                  <dt className="text-slate-500">{t('prov.probes')}</dt>
                  <dd>{p.probe_interval_seconds ? t('prov.every', { s: p.probe_interval_seconds }) : t('common.none')}</dd>
                </div>
                {p.proxy_url && (
                  <div className="col-span-3">
                    <dt className="text-slate-500">{t('prov.proxy')}</dt>
                    <dd className="break-all font-mono" data-testid="provider-proxy">
                      {p.proxy_url}
                    </dd>
                  </div>
                )}
              </dl>
              <div className="flex flex-wrap items-start justify-between gap-2 border-t border-slate-100 pt-3 dark:border-slate-800">
                <TestButton provider={p} />
                <div className="flex gap-1">
                  <Button size="sm" variant="ghost" onClick={() => setSyncing(p)}>
                    {t('prov.sync')}
                  </Button>
                  <Link
                    to={`/keys?provider=${p.id}`}
                    className="rounded-md px-2.5 py-1 text-xs font-medium text-indigo-600 hover:bg-slate-100 dark:text-indigo-400 dark:hover:bg-slate-800"
                  >
                    {t('prov.keys')}
                  </Link>
                  <Button size="sm" variant="ghost" onClick={() => setEditing(p)}>
                    {t('common.edit')}
                  </Button>
                  <Button size="sm" variant="ghost" className="text-red-600 dark:text-red-400" onClick={() => setDeleting(p)}>
                    {t('common.delete')}
                  </Button>
                </div>
              </div>
            </div>
          </Card>
        ))}
      </div>
      {editing !== undefined && groupId > 0 && (
        <ProviderDialog
          key={editing?.id ?? 'new'}
          groupId={groupId}
          provider={editing}
          onClose={() => setEditing(undefined)}
          onSaved={() => setEditing(undefined)}
        />
      )}
      {syncing && <SyncDialog provider={syncing} onClose={() => setSyncing(null)} />}
      <ConfirmDialog
        open={deleting !== null}
        message={t('common.confirmDelete', { name: deleting?.name ?? '' })}
        onCancel={() => setDeleting(null)}
        onConfirm={async () => {
          if (!deleting) return;
          const p = deleting;
          setDeleting(null);
          act.mutate(() => api.deleteProvider(p.id));
        }}
      />
    </div>
  );
}
