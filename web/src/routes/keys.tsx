// Upstream keys of a provider: add one or paste many, always masked,
// health with reason and countdown, test one now (the provider's list of
// models with that key), enable, disable, reset, delete.
import { FormEvent, useState } from 'react';
import { Link, useSearchParams } from 'react-router-dom';
import { Button } from '../components/ui/button';
import { Badge, PageHeader } from '../components/ui/card';
import { ConfirmDialog, Dialog } from '../components/ui/dialog';
import { Field, Input, Select, Switch, Textarea } from '../components/ui/form';
import { Empty, ErrorBox, Notice, Spinner } from '../components/ui/state';
import { Table, Td, Th } from '../components/ui/table';
import { api, KeyTest, UpstreamKey } from '../lib/api';
import { fmtCountdown, fmtTime } from '../lib/format';
import { useI18n } from '../lib/i18n';
import { changes, useGroups, useKeys, useProviders, useWrite } from '../lib/queries';
import { useNow } from '../lib/use-now';

export function HealthBadge({ k, now }: { k: UpstreamKey; now: number }) {
  const { t } = useI18n();
  if (!k.enabled) return <Badge tone="slate">{t('common.disabled')}</Badge>;
  if (k.status === 'cooldown') {
    const left = fmtCountdown(k.cooldown_until, now);
    return (
      <Badge tone="amber">
        {t('keys.cooldown')}
        {left && ` · ${t('keys.left', { t: left })}`}
      </Badge>
    );
  }
  if (k.status === 'disabled') return <Badge tone="red">{t('keys.disabled')}</Badge>;
  return <Badge tone="green">{t('keys.active')}</Badge>;
}

// Test one key now: its result, and the key's state after it.
function KeyTestButton({ k }: { k: UpstreamKey }) {
  const { t } = useI18n();
  const test = useWrite((id: number) => api.testKey(id), changes.keyTest);
  const r: KeyTest | undefined = test.data;
  return (
    <span className="inline-flex items-center gap-1">
      <Button size="sm" variant="ghost" onClick={() => test.mutate(k.id)} disabled={test.isPending}>
        {test.isPending ? t('prov.testing') : t('prov.test')}
      </Button>
      {r && (
        <span
          data-testid="key-test-result"
          title={r.message}
          className={`max-w-[14rem] truncate text-xs ${r.ok ? 'text-emerald-700 dark:text-emerald-400' : 'text-red-700 dark:text-red-400'}`}
        >
          {r.ok ? t('keys.testOk', { status: r.status, ms: r.latency_ms }) : t('keys.testFail', { message: r.message || `HTTP ${r.status}` })}
        </span>
      )}
      {test.error && (
        <span data-testid="key-test-result" className="text-xs text-red-700 dark:text-red-400">
          {(test.error as Error).message}
        </span>
      )}
    </span>
  );
}

function AddKeysDialog({ providerId, onClose, onSaved }: { providerId: number; onClose: () => void; onSaved: (n: number) => void }) {
  const { t } = useI18n();
  const [text, setText] = useState('');
  const [label, setLabel] = useState('');
  const add = useWrite(
    (keys: string[]) => (keys.length === 1 ? api.addKey(providerId, keys[0], label.trim()) : api.addKeys(providerId, keys)),
    changes.key,
  );
  const keys = text
    .split('\n')
    .map((s) => s.trim())
    .filter(Boolean);

  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (keys.length === 0) return;
    add.mutate(keys, {
      onSuccess: () => {
        setText('');
        onSaved(keys.length);
      },
    });
  };

  return (
    <Dialog
      title={t('keys.add')}
      open
      onClose={onClose}
      footer={
        <>
          <Button variant="secondary" onClick={onClose}>
            {t('common.cancel')}
          </Button>
          <Button type="submit" form="keys-form" disabled={add.isPending || keys.length === 0}>
            {t('keys.add')} {keys.length > 0 && `(${keys.length})`}
          </Button>
        </>
      }
    >
      <form id="keys-form" onSubmit={submit} className="space-y-4">
        <Field label={t('keys.keys')} hint={t('keys.addHint')}>
          <Textarea name="keys" rows={5} value={text} onChange={(e) => setText(e.target.value)} autoComplete="off" spellCheck={false} />
        </Field>
        {keys.length <= 1 && (
          <Field label={t('keys.label')}>
            <Input name="label" value={label} onChange={(e) => setLabel(e.target.value)} />
          </Field>
        )}
        {add.error && <ErrorBox error={add.error} />}
      </form>
    </Dialog>
  );
}

export default function KeysPage() {
  const { t, lang } = useI18n();
  const [params, setParams] = useSearchParams();
  const providers = useProviders();
  const groups = useGroups();
  const plist = providers.data?.data ?? [];
  const providerId = Number(params.get('provider')) || plist[0]?.id || 0;
  const list = useKeys(providerId);
  const keys = list.data?.data ?? [];
  const now = useNow(keys.some((k) => k.status === 'cooldown'));
  const [adding, setAdding] = useState(false);
  const [deleting, setDeleting] = useState<UpstreamKey | null>(null);
  const [notice, setNotice] = useState('');
  const groupName = (id: number) => groups.data?.data.find((g) => g.id === id)?.name ?? `#${id}`;
  const write = useWrite((fn: () => Promise<unknown>) => fn(), changes.key);
  const act = (fn: () => Promise<unknown>) => {
    setNotice('');
    write.mutate(fn);
  };

  return (
    <div className="space-y-4">
      <PageHeader title={t('keys.title')}>
        {plist.length > 0 && (
          <Select
            aria-label={t('common.provider')}
            value={providerId}
            onChange={(e) => setParams({ provider: e.target.value })}
            className="w-56"
          >
            {plist.map((p) => (
              <option key={p.id} value={p.id}>
                {groupName(p.group_id)} / {p.name}
              </option>
            ))}
          </Select>
        )}
        <Button onClick={() => setAdding(true)} disabled={!providerId}>
          + {t('keys.add')}
        </Button>
      </PageHeader>
      {providers.error && <ErrorBox error={providers.error} onRetry={() => providers.refetch()} />}
      {list.error && <ErrorBox error={list.error} onRetry={() => list.refetch()} />}
      {write.error && <ErrorBox error={write.error} />}
      {notice && <Notice>{notice}</Notice>}
      {(providers.isLoading || list.isLoading) && <Spinner />}
      {providers.data && plist.length === 0 && (
        <Empty>
          <Link to="/providers" className="text-indigo-600 hover:underline dark:text-indigo-400">
            {t('keys.noProviders')}
          </Link>
        </Empty>
      )}
      {providerId > 0 && list.data && keys.length === 0 && <Empty>{t('keys.empty')}</Empty>}
      {keys.length > 0 && (
        <Table>
          <thead>
            <tr>
              <Th>{t('keys.key')}</Th>
              <Th>{t('keys.label')}</Th>
              <Th>{t('keys.health')}</Th>
              <Th>{t('keys.reason')}</Th>
              <Th className="text-right">{t('keys.requests')}</Th>
              <Th className="text-right">{t('keys.failures')}</Th>
              <Th>{t('keys.lastUsed')}</Th>
              <Th className="text-right">{t('common.actions')}</Th>
            </tr>
          </thead>
          <tbody className="divide-y divide-slate-100 dark:divide-slate-800">
            {keys.map((k) => (
              <tr key={k.id} data-testid="key-row">
                <Td className="font-mono text-xs">{k.key_masked}</Td>
                <Td>{k.label || <span className="text-slate-400">–</span>}</Td>
                <Td>
                  <HealthBadge k={k} now={now} />
                </Td>
                <Td className="max-w-[16rem] truncate text-xs text-slate-500" title={k.status_reason ?? ''}>
                  {k.status_reason || '–'}
                </Td>
                <Td className="text-right">{k.requests}</Td>
                <Td className="text-right">{k.failures}</Td>
                <Td className="text-xs">{fmtTime(k.last_used_at, lang)}</Td>
                <Td className="text-right">
                  <div className="flex items-center justify-end gap-1">
                    <KeyTestButton k={k} />
                    <Switch
                      checked={k.enabled}
                      label={k.enabled ? t('common.disable') : t('common.enable')}
                      onChange={(v) => act(() => api.updateKey(k.id, { enabled: v }))}
                    />
                    <Button
                      size="sm"
                      variant="ghost"
                      disabled={k.status === 'active'}
                      onClick={() => act(() => api.updateKey(k.id, { status: 'active' }))}
                    >
                      {t('keys.reset')}
                    </Button>
                    <Button size="sm" variant="ghost" className="text-red-600 dark:text-red-400" onClick={() => setDeleting(k)}>
                      {t('common.delete')}
                    </Button>
                  </div>
                </Td>
              </tr>
            ))}
          </tbody>
        </Table>
      )}
      {adding && providerId > 0 && (
        <AddKeysDialog
          providerId={providerId}
          onClose={() => setAdding(false)}
          onSaved={(n) => {
            setAdding(false);
            setNotice(t('keys.added', { n }));
          }}
        />
      )}
      <ConfirmDialog
        open={deleting !== null}
        message={t('common.confirmDelete', { name: deleting?.key_masked ?? '' })}
        onCancel={() => setDeleting(null)}
        onConfirm={async () => {
          if (!deleting) return;
          const k = deleting;
          setDeleting(null);
          act(() => api.deleteKey(k.id));
        }}
      />
    </div>
  );
}
