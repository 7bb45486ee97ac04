// Settings → Export / Import: the configuration as one JSON document
// (README, "Configuration as a file"). Export downloads it, without
// secrets or with the upstream keys sealed to a passphrase. Import reads a
// file or pasted JSON, shows what it would change (a dry run), and applies
// exactly that document only after a confirmation; client keys it creates
// are shown once.
import { ChangeEvent, useState } from 'react';
import { Button } from '../components/ui/button';
import { Badge, Card } from '../components/ui/card';
import { SecretLine } from '../components/ui/copy-button';
import { ConfirmDialog, Dialog } from '../components/ui/dialog';
import { Checkbox, Field, Input, Textarea } from '../components/ui/form';
import { ErrorBox, Notice } from '../components/ui/state';
import { Table, Td, Th } from '../components/ui/table';
import { api, ImportChange, ImportResult } from '../lib/api';
import { MessageKey, useI18n } from '../lib/i18n';
import { changes, useWrite } from '../lib/queries';

// The gateway's EXPORT_PASSPHRASE_MIN (src/admin/admin.h), in characters
// here: never shorter than the bytes the gateway counts.
export const PASSPHRASE_MIN = 12;

// Why a passphrase cannot be used, or null. It travels in a header, which
// cannot hold control characters and loses spaces at either end.
export function passphraseProblem(p: string): MessageKey | null {
  if ([...p].length < PASSPHRASE_MIN) return 'cfg.passShort';
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(p)) return 'cfg.passControl';
  if (p.trim() !== p) return 'cfg.passSpaces';
  return null;
}

// The text as a document to send, or why it is not one.
export function parseDocument(text: string): { doc: Record<string, unknown> } | { error: string } {
  if (!text.trim()) return { error: 'empty' };
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    return { error: (e as Error).message };
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) return { error: 'not an object' };
  return { doc: doc as Record<string, unknown> };
}

// The text of a picked file (FileReader: Blob.text() is younger).
export function readText(file: Blob): Promise<string> {
  return new Promise((resolve, reject) => {
    const r = new FileReader();
    r.onload = () => resolve(String(r.result));
    r.onerror = () => reject(r.error);
    r.readAsText(file);
  });
}

function download(name: string, doc: unknown) {
  const url = URL.createObjectURL(new Blob([JSON.stringify(doc, null, 2) + '\n'], { type: 'application/json' }));
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.appendChild(a);
  a.click();
  a.remove();
  URL.revokeObjectURL(url);
}

export function ExportCard() {
  const { t } = useI18n();
  const [withSecrets, setWithSecrets] = useState(false);
  const [pass, setPass] = useState('');
  const [again, setAgain] = useState('');
  const [saved, setSaved] = useState<string | null>(null);
  const run = useWrite(async ({ secrets, pass }: { secrets: boolean; pass: string }) => {
    const doc = await api.exportConfig(secrets ? pass : undefined);
    const name = `fusion-config-${new Date().toISOString().slice(0, 10)}${secrets ? '-secrets' : ''}.json`;
    download(name, doc);
    return name;
  }, []);
  const problem = withSecrets ? passphraseProblem(pass) : null;
  const mismatch = withSecrets && !problem && pass !== again;

  const submit = () => {
    if (problem || mismatch) return;
    setSaved(null);
    run.mutate({ secrets: withSecrets, pass }, { onSuccess: (name) => setSaved(name) });
  };

  return (
    <Card className="space-y-4 p-5">
      <div>
        <h2 className="mb-1 font-semibold">{t('cfg.exportTitle')}</h2>
        <p className="text-sm text-slate-500 dark:text-slate-400">{t('cfg.exportHint')}</p>
      </div>
      <Checkbox
        label={t('cfg.withSecrets')}
        checked={withSecrets}
        onChange={(e) => {
          setWithSecrets(e.target.checked);
          setSaved(null);
        }}
      />
      {withSecrets && (
        <div className="grid gap-4 sm:grid-cols-2">
          <Field label={t('cfg.passphrase')} hint={t('cfg.passHint', { n: PASSPHRASE_MIN })}>
            <Input
              type="password"
              name="export_passphrase"
              autoComplete="new-password"
              value={pass}
              onChange={(e) => setPass(e.target.value)}
            />
          </Field>
          <Field label={t('cfg.passAgain')}>
            <Input
              type="password"
              name="export_passphrase_again"
              autoComplete="new-password"
              value={again}
              onChange={(e) => setAgain(e.target.value)}
            />
          </Field>
        </div>
      )}
      {withSecrets && pass !== '' && problem && (
        <p className="text-sm text-red-700 dark:text-red-400">{t(problem, { n: PASSPHRASE_MIN })}</p>
      )}
      {mismatch && again !== '' && <p className="text-sm text-red-700 dark:text-red-400">{t('cfg.passMismatch')}</p>}
      <div className="flex flex-wrap items-center gap-3">
        <Button data-testid="export-download" onClick={submit} disabled={run.isPending || !!problem || mismatch}>
          {run.isPending ? t('cfg.exporting') : t('cfg.download')}
        </Button>
      </div>
      {run.error && <ErrorBox error={run.error} />}
      {saved && (
        <Notice>
          {t('cfg.saved', { name: saved })}
          {saved.endsWith('-secrets.json') && ` ${t('cfg.savedSecrets')}`}
        </Notice>
      )}
    </Card>
  );
}

const kindKey: Record<ImportChange['kind'], MessageKey> = {
  group: 'cfg.kind.group',
  provider: 'cfg.kind.provider',
  key: 'cfg.kind.key',
  client_key: 'cfg.kind.client_key',
  price: 'cfg.kind.price',
};

// Rows shown at most; a document with thousands of keys says how many more.
const DIFF_ROWS = 500;

// The difference a document makes: counts, each change, the warnings.
export function ImportDiff({ result }: { result: ImportResult }) {
  const { t } = useI18n();
  const rows = result.changes.slice(0, DIFF_ROWS);
  return (
    <div data-testid="import-diff" className="space-y-3">
      <div className="flex flex-wrap gap-2 text-sm">
        <Badge tone="green">{t(result.dry_run ? 'cfg.toCreate' : 'cfg.created', { n: result.created })}</Badge>
        <Badge tone="amber">{t(result.dry_run ? 'cfg.toUpdate' : 'cfg.updated', { n: result.updated })}</Badge>
        <Badge>{t('cfg.unchanged', { n: result.unchanged })}</Badge>
      </div>
      {result.changes.length === 0 ? (
        <p className="text-sm text-slate-600 dark:text-slate-300">{t('cfg.nothing')}</p>
      ) : (
        <Table>
          <thead>
            <tr>
              <Th>{t('cfg.action')}</Th>
              <Th>{t('cfg.kind')}</Th>
              <Th>{t('common.name')}</Th>
              <Th>{t('cfg.fields')}</Th>
            </tr>
          </thead>
          <tbody className="divide-y divide-slate-100 dark:divide-slate-800">
            {rows.map((c, i) => (
              <tr key={i} data-testid="import-change">
                <Td>
                  <Badge tone={c.action === 'create' ? 'green' : 'amber'}>
                    {t(c.action === 'create' ? 'cfg.action.create' : 'cfg.action.update')}
                  </Badge>
                </Td>
                <Td>{kindKey[c.kind] ? t(kindKey[c.kind]) : c.kind}</Td>
                <Td className="whitespace-normal break-all font-mono text-xs">{c.name}</Td>
                <Td className="whitespace-normal font-mono text-xs">
                  {c.action === 'create' ? t('cfg.newRecord') : (c.fields ?? []).join(', ')}
                </Td>
              </tr>
            ))}
          </tbody>
        </Table>
      )}
      {result.changes.length > rows.length && (
        <p className="text-xs text-slate-500 dark:text-slate-400">{t('cfg.more', { n: result.changes.length - rows.length })}</p>
      )}
      {result.warnings.length > 0 && (
        <div
          data-testid="import-warnings"
          className="rounded-md border border-amber-200 bg-amber-50 px-3 py-2 text-sm text-amber-900 dark:border-amber-900 dark:bg-amber-950/60 dark:text-amber-200"
        >
          <p className="font-semibold">{t('cfg.warnings', { n: result.warnings.length })}</p>
          <ul className="ml-4 list-disc">
            {result.warnings.map((w, i) => (
              <li key={i} className="break-words">
                {w}
              </li>
            ))}
          </ul>
        </div>
      )}
    </div>
  );
}

// The client keys an import made, each shown this once.
export function ImportedKeysDialog({ keys, onClose }: { keys: { name: string; key: string }[]; onClose: () => void }) {
  const { t } = useI18n();
  return (
    <Dialog title={t('cfg.newKeys')} open onClose={onClose} footer={<Button onClick={onClose}>{t('common.close')}</Button>}>
      <div className="space-y-3">
        <p role="alert" className="rounded-md bg-amber-50 px-3 py-2 text-sm text-amber-800 dark:bg-amber-950/60 dark:text-amber-300">
          {t('ck.warning')}
        </p>
        {keys.map((k) => (
          <div key={k.name} className="space-y-1">
            <div className="text-sm font-medium">{k.name}</div>
            <SecretLine text={k.key} testId={`imported-key-${k.name}`} />
          </div>
        ))}
      </div>
    </Dialog>
  );
}

interface Preview {
  doc: Record<string, unknown>;
  pass: string;
  result: ImportResult;
}

export function ImportCard() {
  const { t } = useI18n();
  const [text, setText] = useState('');
  const [fileName, setFileName] = useState<string | null>(null);
  const [pass, setPass] = useState('');
  const [local, setLocal] = useState<string | null>(null);
  const [preview, setPreview] = useState<Preview | null>(null);
  const [applied, setApplied] = useState<ImportResult | null>(null);
  const [newKeys, setNewKeys] = useState<{ name: string; key: string }[]>([]);
  const [confirming, setConfirming] = useState(false);
  const dry = useWrite(({ doc, pass }: { doc: unknown; pass: string }) => api.importConfig(doc, true, pass || undefined), []);
  const apply = useWrite(
    ({ doc, pass }: { doc: unknown; pass: string }) => api.importConfig(doc, false, pass || undefined),
    changes.importConfig,
  );

  // Any edit makes the shown difference stale.
  const edited = () => {
    setPreview(null);
    setApplied(null);
    setLocal(null);
    dry.reset();
    apply.reset();
  };

  const pick = async (e: ChangeEvent<HTMLInputElement>) => {
    const file = e.target.files?.[0];
    e.target.value = '';
    if (!file) return;
    edited();
    try {
      setText(await readText(file));
      setFileName(file.name);
    } catch (err) {
      setLocal(t('cfg.badFile', { error: (err as Error)?.message ?? '' }));
    }
  };

  const check = () => {
    edited();
    const parsed = parseDocument(text);
    if ('error' in parsed) {
      setLocal(parsed.error === 'empty' ? t('cfg.empty') : t('cfg.badJson', { error: parsed.error }));
      return;
    }
    if (parsed.doc.secrets !== undefined && pass === '') {
      setLocal(t('cfg.needPass'));
      return;
    }
    const v = { doc: parsed.doc, pass };
    dry.mutate(v, { onSuccess: (result) => setPreview({ ...v, result }) });
  };

  const confirm = () => {
    setConfirming(false);
    if (!preview) return;
    apply.mutate(
      { doc: preview.doc, pass: preview.pass },
      {
        onSuccess: (result) => {
          setPreview(null);
          setApplied(result);
          setNewKeys(result.client_keys ?? []);
        },
      },
    );
  };

  const pending = preview ? preview.result.created + preview.result.updated : 0;

  return (
    <Card className="space-y-4 p-5">
      <div>
        <h2 className="mb-1 font-semibold">{t('cfg.importTitle')}</h2>
        <p className="text-sm text-slate-500 dark:text-slate-400">{t('cfg.importHint')}</p>
      </div>
      <Field label={t('cfg.file')} hint={fileName ? t('cfg.fileRead', { name: fileName }) : undefined}>
        <input
          type="file"
          accept="application/json,.json"
          data-testid="import-file"
          onChange={pick}
          className="block w-full text-sm text-slate-600 file:mr-3 file:rounded-md file:border-0 file:bg-slate-100 file:px-3 file:py-1.5 file:text-sm file:font-medium dark:text-slate-300 dark:file:bg-slate-800 dark:file:text-slate-100"
        />
      </Field>
      <Field label={t('cfg.document')}>
        <Textarea
          name="import_document"
          rows={8}
          spellCheck={false}
          value={text}
          placeholder='{"fusion_config": 1, "groups": [...], "client_keys": [...]}'
          onChange={(e) => {
            edited();
            setFileName(null);
            setText(e.target.value);
          }}
        />
      </Field>
      <Field label={t('cfg.importPass')} hint={t('cfg.importPassHint')}>
        <Input
          type="password"
          name="import_passphrase"
          autoComplete="off"
          className="w-full sm:w-80"
          value={pass}
          onChange={(e) => {
            edited();
            setPass(e.target.value);
          }}
        />
      </Field>
      <div className="flex flex-wrap items-center gap-2">
        <Button data-testid="import-preview" variant="secondary" onClick={check} disabled={dry.isPending || apply.isPending}>
          {dry.isPending ? t('cfg.checking') : t('cfg.preview')}
        </Button>
        <Button data-testid="import-apply" onClick={() => setConfirming(true)} disabled={pending === 0 || apply.isPending}>
          {apply.isPending ? t('cfg.applying') : t('cfg.apply')}
        </Button>
      </div>
      {local && <ErrorBox error={local} />}
      {dry.error && <ErrorBox error={dry.error} />}
      {apply.error && <ErrorBox error={apply.error} />}
      {preview && <ImportDiff result={preview.result} />}
      {applied && (
        <>
          <Notice>{t('cfg.applied', { created: applied.created, updated: applied.updated })}</Notice>
          <ImportDiff result={applied} />
        </>
      )}
      <ConfirmDialog
        open={confirming}
        confirmLabel={t('cfg.apply')}
        message={t('cfg.confirm', { created: preview?.result.created ?? 0, updated: preview?.result.updated ?? 0 })}
        onCancel={() => setConfirming(false)}
        onConfirm={confirm}
      />
      {newKeys.length > 0 && <ImportedKeysDialog keys={newKeys} onClose={() => setNewKeys([])} />}
    </Card>
  );
}
