// Prices: what each model costs per million tokens of each kind, in the
// gateway's currency. Amounts are typed and shown as decimals of units
// ("2.50") and sent as integer micro-units, never through a float's
// rounding. The whole list exports as one JSON document and imports from
// one (PUT /api/admin/prices: all or nothing).
import { ChangeEvent, FormEvent, useRef, useState } from 'react';
import { Button } from '../components/ui/button';
import { Badge, PageHeader } from '../components/ui/card';
import { ConfirmDialog, Dialog } from '../components/ui/dialog';
import { Field, Input, Select } from '../components/ui/form';
import { Empty, ErrorBox, Spinner } from '../components/ui/state';
import { Table, Td, Th } from '../components/ui/table';
import { api, Price } from '../lib/api';
import { fmtMoney, parseMoney } from '../lib/format';
import { useI18n } from '../lib/i18n';
import { changes, usePrices, useProviders, useSettings, useWrite } from '../lib/queries';

const KINDS = ['input', 'cached_input', 'cache_write', 'output', 'reasoning', 'per_request'] as const;
type Kind = (typeof KINDS)[number];

// A file's text (FileReader: File.text() is missing in older browsers).
function readText(f: File): Promise<string> {
  return new Promise((resolve, reject) => {
    const r = new FileReader();
    r.onload = () => resolve(String(r.result));
    r.onerror = () => reject(r.error);
    r.readAsText(f);
  });
}

function PriceDialog({ price, onClose }: { price: Price | null; onClose: () => void }) {
  const { t } = useI18n();
  const providers = useProviders();
  const [model, setModel] = useState(price?.model ?? '');
  const [provider, setProvider] = useState(price?.provider_id ? String(price.provider_id) : '');
  const [amounts, setAmounts] = useState<Record<Kind, string>>(() => {
    const a = {} as Record<Kind, string>;
    for (const k of KINDS) a[k] = price && price[k] !== null ? fmtMoney(price[k]) : k === 'reasoning' ? '' : '0';
    return a;
  });
  const [bad, setBad] = useState<string | null>(null);
  const save = useWrite(
    (body: Partial<Price>) => (price ? api.updatePrice(price.id, body) : api.createPrice(body)),
    changes.price,
  );

  const submit = (e: FormEvent) => {
    e.preventDefault();
    const body: Partial<Price> = { model: model.trim(), provider_id: provider ? Number(provider) : null };
    for (const k of KINDS) {
      if (k === 'reasoning' && amounts[k].trim() === '') {
        body.reasoning = null;
        continue;
      }
      const v = parseMoney(amounts[k]);
      if (v === null) {
        setBad(t('prices.badAmount', { field: t(`prices.${k}`) }));
        return;
      }
      body[k] = v;
    }
    setBad(null);
    save.mutate(body, { onSuccess: onClose });
  };

  return (
    <Dialog
      title={price ? t('prices.edit') : t('prices.new')}
      open
      onClose={onClose}
      footer={
        <>
          <Button variant="secondary" onClick={onClose}>
            {t('common.cancel')}
          </Button>
          <Button type="submit" form="price-form" disabled={save.isPending}>
            {t('common.save')}
          </Button>
        </>
      }
    >
      <form id="price-form" onSubmit={submit} className="space-y-4">
        <Field label={t('prices.model')} hint={t('prices.modelHint')}>
          <Input name="model" value={model} required onChange={(e) => setModel(e.target.value)} />
        </Field>
        <Field label={t('common.provider')}>
          <Select name="provider" value={provider} onChange={(e) => setProvider(e.target.value)}>
            <option value="">{t('prices.anyProvider')}</option>
            {(providers.data?.data ?? []).map((p) => (
              <option key={p.id} value={p.id}>
                {p.name}
              </option>
            ))}
          </Select>
        </Field>
        <div className="grid grid-cols-2 gap-3">
          {KINDS.map((k) => (
            <Field key={k} label={t(`prices.${k}`)} hint={k === 'reasoning' ? t('prices.reasoningHint') : undefined}>
              <Input
                name={k}
                inputMode="decimal"
                value={amounts[k]}
                onChange={(e) => setAmounts({ ...amounts, [k]: e.target.value })}
              />
            </Field>
          ))}
        </div>
        <p className="text-xs text-slate-500 dark:text-slate-400">{t('prices.unit')}</p>
        {bad && <ErrorBox error={new Error(bad)} />}
        {save.error && <ErrorBox error={save.error} />}
      </form>
    </Dialog>
  );
}

export default function PricesPage() {
  const { t } = useI18n();
  const list = usePrices();
  const providers = useProviders();
  const settings = useSettings();
  const currency = settings.data?.currency ?? '';
  const [editing, setEditing] = useState<Price | null | undefined>(undefined);
  const [deleting, setDeleting] = useState<Price | null>(null);
  const [imported, setImported] = useState<number | null>(null);
  const file = useRef<HTMLInputElement>(null);
  const act = useWrite((fn: () => Promise<unknown>) => fn(), changes.price);
  const prices = list.data?.data ?? [];
  const providerName = (id: number | null) =>
    id === null ? t('prices.anyProvider') : providers.data?.data.find((p) => p.id === id)?.name ?? `#${id}`;

  const exportJson = () => {
    const doc = {
      currency,
      as_of: new Date().toISOString().slice(0, 10),
      prices: prices.map(({ model, provider_id, input, cached_input, cache_write, output, reasoning, per_request }) => ({
        model, provider_id, input, cached_input, cache_write, output, reasoning, per_request,
      })),
    };
    const url = URL.createObjectURL(new Blob([JSON.stringify(doc, null, 2)], { type: 'application/json' }));
    const a = document.createElement('a');
    a.href = url;
    a.download = 'prices.json';
    a.click();
    URL.revokeObjectURL(url);
  };

  const importJson = async (e: ChangeEvent<HTMLInputElement>) => {
    const f = e.target.files?.[0];
    e.target.value = '';
    if (!f) return;
    setImported(null);
    let doc: unknown;
    try {
      doc = JSON.parse(await readText(f));
    } catch (err) {
      act.reset();
      act.mutate(() => Promise.reject(new Error(t('prices.notJson', { reason: (err as Error).message }))));
      return;
    }
    act.mutate(() => api.replacePrices(doc), { onSuccess: (r) => setImported((r as { replaced: number }).replaced) });
  };

  return (
    <div className="space-y-4">
      <PageHeader title={t('prices.title')}>
        <input ref={file} type="file" accept="application/json,.json" className="hidden" data-testid="prices-file" onChange={importJson} />
        <Button variant="secondary" onClick={() => file.current?.click()}>
          {t('prices.import')}
        </Button>
        <Button variant="secondary" onClick={exportJson} disabled={!list.data}>
          {t('prices.export')}
        </Button>
        <Button onClick={() => setEditing(null)}>+ {t('prices.new')}</Button>
      </PageHeader>
      <p className="text-sm text-slate-500 dark:text-slate-400">{t('prices.intro', { currency })}</p>
      {list.error && <ErrorBox error={list.error} onRetry={() => list.refetch()} />}
      {act.error && <ErrorBox error={act.error} />}
      {imported !== null && <p className="text-sm text-green-700 dark:text-green-400">{t('prices.imported', { n: imported })}</p>}
      {list.isPending && <Spinner />}
      {list.data && prices.length === 0 && <Empty>{t('prices.empty')}</Empty>}
      {prices.length > 0 && (
        <Table>
          <thead>
            <tr>
              <Th>{t('prices.model')}</Th>
              <Th>{t('common.provider')}</Th>
              {KINDS.map((k) => (
                <Th key={k} className="text-right">
                  {t(`prices.${k}`)}
                </Th>
              ))}
              <Th className="text-right">{t('common.actions')}</Th>
            </tr>
          </thead>
          <tbody className="divide-y divide-slate-100 dark:divide-slate-800">
            {prices.map((p) => (
              <tr key={p.id} data-testid={`price-${p.model}`}>
                <Td className="font-medium">
                  {p.model}
                  {p.model.endsWith('*') && (
                    <span className="ml-2">
                      <Badge tone="indigo">{t('prices.wildcard')}</Badge>
                    </span>
                  )}
                </Td>
                <Td>{providerName(p.provider_id)}</Td>
                {KINDS.map((k) => (
                  <Td key={k} className="text-right tabular-nums">
                    {p[k] === null ? t('prices.asOutput') : fmtMoney(p[k])}
                  </Td>
                ))}
                <Td className="text-right">
                  <div className="flex justify-end gap-1">
                    <Button size="sm" variant="ghost" onClick={() => setEditing(p)}>
                      {t('common.edit')}
                    </Button>
                    <Button size="sm" variant="ghost" className="text-red-600 dark:text-red-400" onClick={() => setDeleting(p)}>
                      {t('common.delete')}
                    </Button>
                  </div>
                </Td>
              </tr>
            ))}
          </tbody>
        </Table>
      )}
      {editing !== undefined && <PriceDialog key={editing?.id ?? 'new'} price={editing} onClose={() => setEditing(undefined)} />}
      <ConfirmDialog
        open={deleting !== null}
        message={t('common.confirmDelete', { name: deleting?.model ?? '' })}
        busy={act.isPending}
        onCancel={() => setDeleting(null)}
        onConfirm={async () => {
          if (!deleting) return;
          await act.mutateAsync(() => api.deletePrice(deleting.id)).catch(() => {});
          setDeleting(null);
        }}
      />
    </div>
  );
}
