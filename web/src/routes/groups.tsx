// Groups: list, "New Group", edit, enable/disable, delete with confirmation.
import { FormEvent, useState } from 'react';
import { Link } from 'react-router-dom';
import { Button } from '../components/ui/button';
import { Badge, PageHeader } from '../components/ui/card';
import { ConfirmDialog, Dialog } from '../components/ui/dialog';
import { Field, Input, Select, Switch } from '../components/ui/form';
import { Empty, ErrorBox, Spinner } from '../components/ui/state';
import { Table, Td, Th } from '../components/ui/table';
import { api, Group } from '../lib/api';
import { useI18n } from '../lib/i18n';
import { changes, useGroups, useWrite } from '../lib/queries';

type Draft = {
  name: string;
  priority: string;
  enabled: boolean;
  strategy: Group['strategy'];
  affinity: NonNullable<Group['affinity']>;
  half_life: string;
};
const blank: Draft = { name: '', priority: '0', enabled: true, strategy: 'round_robin', affinity: 'none', half_life: '10' };

const STRATEGY_LABEL = { round_robin: 'groups.round_robin', weighted: 'groups.weighted', least_latency: 'groups.least_latency' } as const;

export function GroupDialog({
  group,
  open,
  onClose,
  onSaved,
}: {
  group: Group | null;
  open: boolean;
  onClose: () => void;
  onSaved: () => void;
}) {
  const { t } = useI18n();
  const [d, setD] = useState<Draft>(
    group
      ? {
          name: group.name,
          priority: String(group.priority),
          enabled: group.enabled,
          strategy: group.strategy,
          affinity: group.affinity ?? 'none',
          half_life: String(group.latency_half_life_seconds ?? 10),
        }
      : blank,
  );
  const save = useWrite((body: Partial<Group>) => (group ? api.updateGroup(group.id, body) : api.createGroup(body)), changes.group);

  const submit = (e: FormEvent) => {
    e.preventDefault();
    const body: Partial<Group> = { name: d.name.trim(), priority: Number(d.priority) || 0, enabled: d.enabled, strategy: d.strategy };
    // Only what differs from the defaults or was set before is sent.
    if (group || d.affinity !== 'none') body.affinity = d.affinity;
    if (group || d.strategy === 'least_latency') body.latency_half_life_seconds = Number(d.half_life) || 10;
    save.mutate(body, { onSuccess: onSaved });
  };

  return (
    <Dialog
      title={group ? t('groups.edit') : t('groups.new')}
      open={open}
      onClose={onClose}
      footer={
        <>
          <Button variant="secondary" onClick={onClose}>
            {t('common.cancel')}
          </Button>
          <Button type="submit" form="group-form" disabled={save.isPending}>
            {group ? t('common.save') : t('groups.create')}
          </Button>
        </>
      }
    >
      <form id="group-form" onSubmit={submit} className="space-y-4">
        <Field label={t('common.name')}>
          <Input name="name" value={d.name} onChange={(e) => setD({ ...d, name: e.target.value })} required maxLength={128} />
        </Field>
        <Field label={t('groups.priority')} hint={t('groups.priorityHint')}>
          <Input name="priority" type="number" value={d.priority} onChange={(e) => setD({ ...d, priority: e.target.value })} />
        </Field>
        <Field label={t('groups.strategy')}>
          <Select name="strategy" value={d.strategy} onChange={(e) => setD({ ...d, strategy: e.target.value as Group['strategy'] })}>
            <option value="round_robin">{t('groups.round_robin')}</option>
            <option value="weighted">{t('groups.weighted')}</option>
            <option value="least_latency">{t('groups.least_latency')}</option>
          </Select>
        </Field>
        {d.strategy === 'least_latency' && (
          <Field label={t('groups.halfLife')} hint={t('groups.halfLifeHint')}>
            <Input
              name="latency_half_life_seconds"
              type="number"
              min={1}
              max={3600}
              value={d.half_life}
              onChange={(e) => setD({ ...d, half_life: e.target.value })}
            />
          </Field>
        )}
        <Field label={t('groups.affinity')} hint={t('groups.affinityHint')}>
          <Select name="affinity" value={d.affinity} onChange={(e) => setD({ ...d, affinity: e.target.value as Draft['affinity'] })}>
            <option value="none">{t('groups.affinity.none')}</option>
            <option value="session">{t('groups.affinity.session')}</option>
          </Select>
        </Field>
        <div className="flex items-center gap-3 text-sm">
          <Switch checked={d.enabled} onChange={(v) => setD({ ...d, enabled: v })} label={t('common.enabled')} />
          {t('common.enabled')}
        </div>
        {save.error && <ErrorBox error={save.error} />}
      </form>
    </Dialog>
  );
}

export default function GroupsPage() {
  const { t } = useI18n();
  const list = useGroups();
  const [editing, setEditing] = useState<Group | null | undefined>(undefined);
  const [deleting, setDeleting] = useState<Group | null>(null);
  const act = useWrite((fn: () => Promise<unknown>) => fn(), changes.group);

  const groups = list.data?.data ?? [];

  return (
    <div className="space-y-4">
      <PageHeader title={t('groups.title')}>
        <Button onClick={() => setEditing(null)}>+ {t('groups.new')}</Button>
      </PageHeader>
      {list.error && <ErrorBox error={list.error} onRetry={() => list.refetch()} />}
      {act.error && <ErrorBox error={act.error} />}
      {list.isPending && <Spinner />}
      {list.data && groups.length === 0 && <Empty>{t('groups.empty')}</Empty>}
      {groups.length > 0 && (
        <Table>
          <thead>
            <tr>
              <Th>{t('common.name')}</Th>
              <Th>{t('groups.priority')}</Th>
              <Th>{t('groups.strategy')}</Th>
              <Th>{t('common.status')}</Th>
              <Th className="text-right">{t('common.actions')}</Th>
            </tr>
          </thead>
          <tbody className="divide-y divide-slate-100 dark:divide-slate-800">
            {groups.map((g) => (
              <tr key={g.id} data-testid={`group-${g.name}`}>
                <Td className="font-medium">{g.name}</Td>
                <Td>{g.priority}</Td>
                <Td>
                  {t(STRATEGY_LABEL[g.strategy] ?? 'groups.round_robin')}
                  {g.affinity === 'session' && (
                    <span className="ml-2">
                      <Badge tone="indigo">{t('groups.affinity.session')}</Badge>
                    </span>
                  )}
                </Td>
                <Td>
                  <div className="flex items-center gap-2">
                    <Switch
                      checked={g.enabled}
                      label={g.enabled ? t('common.disable') : t('common.enable')}
                      onChange={(v) => act.mutate(() => api.updateGroup(g.id, { enabled: v }))}
                    />
                    <Badge tone={g.enabled ? 'green' : 'slate'}>{g.enabled ? t('common.enabled') : t('common.disabled')}</Badge>
                  </div>
                </Td>
                <Td className="text-right">
                  <div className="flex justify-end gap-1">
                    <Link
                      to={`/providers?group=${g.id}`}
                      className="rounded-md px-2.5 py-1 text-xs font-medium text-indigo-600 hover:bg-slate-100 dark:text-indigo-400 dark:hover:bg-slate-800"
                    >
                      {t('groups.providers')}
                    </Link>
                    <Button size="sm" variant="ghost" onClick={() => setEditing(g)}>
                      {t('common.edit')}
                    </Button>
                    <Button size="sm" variant="ghost" className="text-red-600 dark:text-red-400" onClick={() => setDeleting(g)}>
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
        <GroupDialog
          key={editing?.id ?? 'new'}
          group={editing}
          open
          onClose={() => setEditing(undefined)}
          onSaved={() => setEditing(undefined)}
        />
      )}
      <ConfirmDialog
        open={deleting !== null}
        message={t('common.confirmDelete', { name: deleting?.name ?? '' })}
        busy={act.isPending}
        onCancel={() => setDeleting(null)}
        onConfirm={async () => {
          if (!deleting) return;
          await act.mutateAsync(() => api.deleteGroup(deleting.id)).catch(() => {});
          setDeleting(null);
        }}
      />
    </div>
  );
}
