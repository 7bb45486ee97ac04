import { FormEvent, useState } from 'react';
import { useNavigate, useSearchParams } from 'react-router-dom';
import { Logo, Prefs } from '../components/layout';
import { Button } from '../components/ui/button';
import { Card } from '../components/ui/card';
import { Field, Input } from '../components/ui/form';
import { ErrorBox } from '../components/ui/state';
import { api } from '../lib/api';
import { useAuth } from '../lib/auth';
import { useI18n } from '../lib/i18n';

export default function LoginPage() {
  const { t } = useI18n();
  const { setUser } = useAuth();
  const navigate = useNavigate();
  const [params] = useSearchParams();
  const [username, setUsername] = useState('admin');
  const [password, setPassword] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>();

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      const r = await api.login(username, password);
      setUser(r.user);
      const next = params.get('next');
      navigate(r.user.must_change_password ? '/change-password' : next && next.startsWith('/') ? next : '/', {
        replace: true,
      });
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  return (
    <div className="flex min-h-screen flex-col items-center justify-center px-4 py-10">
      <div className="mb-6 flex w-full max-w-sm items-center justify-between">
        <Logo />
        <Prefs />
      </div>
      <Card className="w-full max-w-sm p-6">
        <h1 className="text-lg font-semibold">{t('login.title')}</h1>
        <p className="mb-5 text-sm text-slate-500 dark:text-slate-400">{t('login.subtitle')}</p>
        <form onSubmit={submit} className="space-y-4">
          <Field label={t('login.username')}>
            <Input name="username" autoComplete="username" value={username} onChange={(e) => setUsername(e.target.value)} required />
          </Field>
          <Field label={t('login.password')}>
            <Input
              name="password"
              type="password"
              autoComplete="current-password"
              value={password}
              onChange={(e) => setPassword(e.target.value)}
              required
              autoFocus
            />
          </Field>
          {error !== undefined && <ErrorBox error={error} />}
          <Button type="submit" className="w-full" disabled={busy}>
            {t('login.submit')}
          </Button>
        </form>
        <p className="mt-4 text-xs text-slate-500 dark:text-slate-400">{t('login.defaultHint')}</p>
      </Card>
    </div>
  );
}
