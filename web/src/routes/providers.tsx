// Providers of a group: type, base URL, models, aliases, weight, timeout,
// enabled, and a test button that sends a small request through one.
import { FormEvent, useState } from 'react';
import { Link, useSearchParams } from 'react-router-dom';
import { Button } from '../components/ui/button';
import { Badge, Card, PageHeader } from '../components/ui/card';
import { ConfirmDialog, Dialog } from '../components/ui/dialog';
import { Field, Input, Select, Switch, Textarea } from '../components/ui/form';
import { Empty, ErrorBox, Spinner } from '../components/ui/state';
import { api, Provider, ProviderTest } from '../lib/api';
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

function toDraft(p: Provider | null): Draft {
  if (!p) return { name: '', type: 'openai', base_url: DEFAULT_BASE_URLS.openai, models: '', aliases: '', weight: '1', timeout_ms: '60000', enabled: true, responses_api: true };
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
  };
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
      };
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
        {error != null && (
          <div className="sm:col-span-2">
            <ErrorBox error={error} />
          </div>
        )}
      </form>
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
              </dl>
              <div className="flex flex-wrap items-start justify-between gap-2 border-t border-slate-100 pt-3 dark:border-slate-800">
                <TestButton provider={p} />
                <div className="flex gap-1">
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
