// Client keys: create (the key shown once, with a copy button), allowlists,
// limits, quota used, budgets and what was spent against them (bars, and
// when the day and month reset), revoke (disable) or delete.
import { FormEvent, useState } from 'react';
import { Button } from '../components/ui/button';
import { Badge, PageHeader } from '../components/ui/card';
import { SecretLine } from '../components/ui/copy-button';
import { ConfirmDialog, Dialog } from '../components/ui/dialog';
import { Checkbox, Field, Input, Switch } from '../components/ui/form';
import { Empty, ErrorBox, Spinner } from '../components/ui/state';
import { Table, Td, Th } from '../components/ui/table';
import { api, ClientKey, Group } from '../lib/api';
import { budgetResets, fmtCountdown, fmtMoney, fmtNumber, parseMoney, splitList } from '../lib/format';
import { useI18n } from '../lib/i18n';
import { changes, useClientKeys, useGroups, useSettings, useWrite } from '../lib/queries';
import { useNow } from '../lib/use-now';

interface Draft {
  name: string;
  models: string;
  groups: number[];
  rpm: string;
  quota: string;
  enabled: boolean;
  daily: string;
  monthly: string;
  total: string;
}

const money = (v: number | undefined) => (v ? fmtMoney(v) : '');

function ClientKeyDialog({
  ck,
  groups,
  onClose,
  onSaved,
}: {
  ck: ClientKey | null;
  groups: Group[];
  onClose: () => void;
  onSaved: (created: ClientKey | null) => void;
}) {
  const { t } = useI18n();
  const [d, setD] = useState<Draft>({
    name: ck?.name ?? '',
    models: (ck?.allowed_models ?? []).join(', '),
    groups: ck?.allowed_groups ?? [],
    rpm: String(ck?.rpm_limit ?? 0),
    quota: String(ck?.token_quota ?? 0),
    enabled: ck?.enabled ?? true,
    daily: money(ck?.budget_daily),
    monthly: money(ck?.budget_monthly),
    total: money(ck?.budget_total),
  });
  const [bad, setBad] = useState<string | null>(null);
  const currency = useSettings().data?.currency ?? '';
  // A new key comes back once, with its secret; an edit answers nothing
  // the dialog needs.
  const save = useWrite(
    async (body: Partial<ClientKey>): Promise<ClientKey | null> => {
      if (!ck) return api.createClientKey(body);
      await api.updateClientKey(ck.id, body);
      return null;
    },
    changes.clientKey,
  );

  const submit = (e: FormEvent) => {
    e.preventDefault();
    const budgets = [d.daily, d.monthly, d.total].map((v) => (v.trim() === '' ? 0 : parseMoney(v)));
    if (budgets.some((v) => v === null)) {
      setBad(t('prices.badAmount', { field: t('ck.budgets') }));
      return;
    }
    setBad(null);
    const body = {
      budget_daily: budgets[0] ?? 0,
      budget_monthly: budgets[1] ?? 0,
      budget_total: budgets[2] ?? 0,
      name: d.name.trim(),
      allowed_models: splitList(d.models),
      allowed_groups: d.groups,
      rpm_limit: Number(d.rpm) || 0,
      token_quota: Number(d.quota) || 0,
      enabled: d.enabled,
    };
    save.mutate(body, { onSuccess: onSaved });
  };

  const toggleGroup = (id: number, on: boolean) =>
    setD({ ...d, groups: on ? [...d.groups, id] : d.groups.filter((g) => g !== id) });

  return (
    <Dialog
      title={ck ? t('ck.edit') : t('ck.new')}
      open
      onClose={onClose}
      footer={
        <>
          <Button variant="secondary" onClick={onClose}>
            {t('common.cancel')}
          </Button>
          <Button type="submit" form="ck-form" disabled={save.isPending}>
            {ck ? t('common.save') : t('common.create')}
          </Button>
        </>
      }
    >
      <form id="ck-form" onSubmit={submit} className="space-y-4">
        <Field label={t('common.name')}>
          <Input name="name" value={d.name} onChange={(e) => setD({ ...d, name: e.target.value })} required />
        </Field>
        <Field label={t('ck.models')} hint={t('ck.modelsHint')}>
          <Input name="allowed_models" value={d.models} onChange={(e) => setD({ ...d, models: e.target.value })} />
        </Field>
        <fieldset className="space-y-1">
          <legend className="text-sm font-medium text-slate-700 dark:text-slate-300">{t('ck.groups')}</legend>
          <div className="flex flex-wrap gap-x-4 gap-y-1">
            {groups.map((g) => (
              <Checkbox key={g.id} label={g.name} checked={d.groups.includes(g.id)} onChange={(e) => toggleGroup(g.id, e.target.checked)} />
            ))}
          </div>
          <span className="block text-xs text-slate-500 dark:text-slate-400">{t('ck.groupsHint')}</span>
        </fieldset>
        <div className="grid grid-cols-2 gap-4">
          <Field label={t('ck.rpm')} hint={t('ck.limitHint')}>
            <Input name="rpm_limit" type="number" min={0} value={d.rpm} onChange={(e) => setD({ ...d, rpm: e.target.value })} />
          </Field>
          <Field label={t('ck.quota')} hint={t('ck.limitHint')}>
            <Input name="token_quota" type="number" min={0} value={d.quota} onChange={(e) => setD({ ...d, quota: e.target.value })} />
          </Field>
        </div>
        <fieldset className="space-y-1">
          <legend className="text-sm font-medium text-slate-700 dark:text-slate-300">{t('ck.budgets')}</legend>
          <div className="grid grid-cols-3 gap-3">
            <Field label={t('ck.budgetDaily')}>
              <Input name="budget_daily" inputMode="decimal" value={d.daily} onChange={(e) => setD({ ...d, daily: e.target.value })} />
            </Field>
            <Field label={t('ck.budgetMonthly')}>
              <Input name="budget_monthly" inputMode="decimal" value={d.monthly} onChange={(e) => setD({ ...d, monthly: e.target.value })} />
            </Field>
            <Field label={t('ck.budgetTotal')}>
              <Input name="budget_total" inputMode="decimal" value={d.total} onChange={(e) => setD({ ...d, total: e.target.value })} />
            </Field>
          </div>
          <span className="block text-xs text-slate-500 dark:text-slate-400">{t('ck.budgetHint', { currency })}</span>
        </fieldset>
        <div className="flex items-center gap-3 text-sm">
          <Switch checked={d.enabled} onChange={(v) => setD({ ...d, enabled: v })} label={t('common.enabled')} />
          {t('common.enabled')}
        </div>
        {bad && <ErrorBox error={new Error(bad)} />}
        {save.error && <ErrorBox error={save.error} />}
      </form>
    </Dialog>
  );
}

export function CreatedKeyDialog({ ck, onClose }: { ck: ClientKey; onClose: () => void }) {
  const { t } = useI18n();
  return (
    <Dialog
      title={t('ck.created')}
      open
      onClose={onClose}
      footer={
        <Button onClick={onClose}>
          {t('common.close')}
        </Button>
      }
    >
      <div className="space-y-3">
        <p role="alert" className="rounded-md bg-amber-50 px-3 py-2 text-sm text-amber-800 dark:bg-amber-950/60 dark:text-amber-300">
          {t('ck.warning')}
        </p>
        <SecretLine text={ck.key ?? ''} testId="new-client-key" />
      </div>
    </Dialog>
  );
}

// What a key spent against each of its budgets: a bar for each budget
// set, with when the day's and the month's reset.
function Spend({ k, currency, tz, now }: { k: ClientKey; currency: string; tz?: string; now: number }) {
  const { t } = useI18n();
  const resets = budgetResets(tz, now);
  const rows: [string, number, number, string | null][] = [
    [t('ck.today'), k.spent_today ?? 0, k.budget_daily ?? 0, resets.day],
    [t('ck.month'), k.spent_month ?? 0, k.budget_monthly ?? 0, resets.month],
    [t('ck.total'), k.spent_total ?? 0, k.budget_total ?? 0, null],
  ];
  return (
    <div className="space-y-1 text-xs" data-testid={`spend-${k.name}`}>
      {rows
        .filter(([, spent, budget], i) => budget > 0 || i === 2 || spent > 0)
        .map(([label, spent, budget, reset]) => (
          <div key={label}>
            <div className="flex justify-between gap-2">
              <span>
                {label}: {fmtMoney(spent)}
                {budget > 0 ? ` / ${fmtMoney(budget, currency)}` : ` ${currency}`}
              </span>
              {budget > 0 && reset && <span className="text-slate-500">{t('ck.resetsIn', { time: fmtCountdown(reset, now) })}</span>}
            </div>
            {budget > 0 && (
              <progress
                className="h-1.5 w-full overflow-hidden rounded [&::-webkit-progress-bar]:bg-slate-200 [&::-webkit-progress-value]:bg-emerald-500 dark:[&::-webkit-progress-bar]:bg-slate-700"
                max={budget}
                value={Math.min(spent, budget)}
              />
            )}
          </div>
        ))}
    </div>
  );
}

export default function ClientKeysPage() {
  const { t } = useI18n();
  const list = useClientKeys();
  const groups = useGroups();
  const settings = useSettings();
  const [editing, setEditing] = useState<ClientKey | null | undefined>(undefined);
  const [created, setCreated] = useState<ClientKey | null>(null);
  const [deleting, setDeleting] = useState<ClientKey | null>(null);
  const act = useWrite((fn: () => Promise<unknown>) => fn(), changes.clientKey);
  const glist = groups.data?.data ?? [];
  const groupName = (id: number) => glist.find((g) => g.id === id)?.name ?? `#${id}`;
  const keys = list.data?.data ?? [];
  const now = useNow(keys.some((k) => (k.budget_daily ?? 0) > 0 || (k.budget_monthly ?? 0) > 0));

  return (
    <div className="space-y-4">
      <PageHeader title={t('ck.title')}>
        <Button onClick={() => setEditing(null)}>+ {t('ck.new')}</Button>
      </PageHeader>
      {list.error && <ErrorBox error={list.error} onRetry={() => list.refetch()} />}
      {act.error && <ErrorBox error={act.error} />}
      {list.isPending && <Spinner />}
      {list.data && keys.length === 0 && <Empty>{t('ck.empty')}</Empty>}
      {keys.length > 0 && (
        <Table>
          <thead>
            <tr>
              <Th>{t('common.name')}</Th>
              <Th>{t('ck.prefix')}</Th>
              <Th>{t('ck.allowlist')}</Th>
              <Th className="text-right">{t('ck.rpmShort')}</Th>
              <Th>{t('ck.used')}</Th>
              <Th>{t('ck.spent')}</Th>
              <Th>{t('common.status')}</Th>
              <Th className="text-right">{t('common.actions')}</Th>
            </tr>
          </thead>
          <tbody className="divide-y divide-slate-100 dark:divide-slate-800">
            {keys.map((k) => (
              <tr key={k.id} data-testid={`client-key-${k.name}`}>
                <Td className="font-medium">{k.name}</Td>
                <Td className="font-mono text-xs">{k.key_prefix}…</Td>
                <Td className="max-w-[16rem] truncate text-xs">
                  <div className="truncate" title={k.allowed_models.join(', ')}>
                    {t('ck.modelsShort')}: {k.allowed_models.length ? k.allowed_models.join(', ') : t('common.all')}
                  </div>
                  <div className="truncate text-slate-500">
                    {t('ck.groupsShort')}: {k.allowed_groups.length ? k.allowed_groups.map(groupName).join(', ') : t('common.all')}
                  </div>
                </Td>
                <Td className="text-right">{k.rpm_limit ? k.rpm_limit : t('common.unlimited')}</Td>
                <Td className="min-w-[9rem]">
                  <div className="text-xs">
                    {fmtNumber(k.tokens_used)} / {k.token_quota ? fmtNumber(k.token_quota) : t('common.unlimited')}
                  </div>
                  {k.token_quota > 0 && (
                    <progress
                      className="h-1.5 w-full overflow-hidden rounded [&::-webkit-progress-bar]:bg-slate-200 [&::-webkit-progress-value]:bg-indigo-500 dark:[&::-webkit-progress-bar]:bg-slate-700"
                      max={k.token_quota}
                      value={Math.min(k.tokens_used, k.token_quota)}
                    />
                  )}
                </Td>
                <Td className="min-w-[12rem]">
                  <Spend k={k} currency={settings.data?.currency ?? ''} tz={settings.data?.budget_timezone} now={now} />
                </Td>
                <Td>
                  <Badge tone={k.enabled ? 'green' : 'slate'}>{k.enabled ? t('common.enabled') : t('common.disabled')}</Badge>
                </Td>
                <Td className="text-right">
                  <div className="flex justify-end gap-1">
                    <Button size="sm" variant="ghost" onClick={() => act.mutate(() => api.updateClientKey(k.id, { enabled: !k.enabled }))}>
                      {k.enabled ? t('ck.revoke') : t('common.enable')}
                    </Button>
                    <Button size="sm" variant="ghost" onClick={() => setEditing(k)}>
                      {t('common.edit')}
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
      {editing !== undefined && (
        <ClientKeyDialog
          key={editing?.id ?? 'new'}
          ck={editing}
          groups={glist}
          onClose={() => setEditing(undefined)}
          onSaved={(c) => {
            setEditing(undefined);
            if (c) setCreated(c);
          }}
        />
      )}
      {created && <CreatedKeyDialog ck={created} onClose={() => setCreated(null)} />}
      <ConfirmDialog
        open={deleting !== null}
        message={t('common.confirmDelete', { name: deleting?.name ?? '' })}
        onCancel={() => setDeleting(null)}
        onConfirm={async () => {
          if (!deleting) return;
          const k = deleting;
          setDeleting(null);
          act.mutate(() => api.deleteClientKey(k.id));
        }}
      />
    </div>
  );
}
