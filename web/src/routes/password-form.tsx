// The password form, used by the forced change and by Settings.
import { FormEvent, useState } from 'react';
import { Button } from '../components/ui/button';
import { Field, Input } from '../components/ui/form';
import { ErrorBox, Notice } from '../components/ui/state';
import { api } from '../lib/api';
import { useI18n } from '../lib/i18n';

export function PasswordForm({ onDone }: { onDone?: () => void }) {
  const { t } = useI18n();
  const [oldPw, setOldPw] = useState('');
  const [newPw, setNewPw] = useState('');
  const [confirm, setConfirm] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>();
  const [done, setDone] = useState(false);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setDone(false);
    if (newPw.length < 8) return setError(new Error(t('pw.short')));
    if (newPw !== confirm) return setError(new Error(t('pw.mismatch')));
    setBusy(true);
    setError(undefined);
    try {
      await api.changePassword(oldPw, newPw);
      setOldPw('');
      setNewPw('');
      setConfirm('');
      setDone(true);
      onDone?.();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  return (
    <form onSubmit={submit} className="space-y-4">
      <Field label={t('pw.old')}>
        <Input name="old_password" type="password" autoComplete="current-password" value={oldPw} onChange={(e) => setOldPw(e.target.value)} required />
      </Field>
      <Field label={t('pw.new')}>
        <Input name="new_password" type="password" autoComplete="new-password" value={newPw} onChange={(e) => setNewPw(e.target.value)} required />
      </Field>
      <Field label={t('pw.confirm')}>
        <Input name="confirm_password" type="password" autoComplete="new-password" value={confirm} onChange={(e) => setConfirm(e.target.value)} required />
      </Field>
      {error !== undefined && <ErrorBox error={error} />}
      {done && <Notice>{t('pw.done')}</Notice>}
      <Button type="submit" disabled={busy}>
        {t('pw.submit')}
      </Button>
    </form>
  );
}
