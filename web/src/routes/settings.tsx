import { Prefs } from '../components/layout';
import { Card, PageHeader } from '../components/ui/card';
import { useAuth } from '../lib/auth';
import { useI18n } from '../lib/i18n';
import { PasswordForm } from './password-form';

export default function SettingsPage() {
  const { t } = useI18n();
  const { user } = useAuth();
  return (
    <div className="max-w-xl space-y-6">
      <PageHeader title={t('settings.title')} />
      <Card className="p-5">
        <h2 className="mb-1 font-semibold">{t('pw.title')}</h2>
        <p className="mb-4 text-sm text-slate-500 dark:text-slate-400">
          {t('settings.account', { name: user?.username ?? '' })}
        </p>
        <PasswordForm />
      </Card>
      <Card className="p-5">
        <h2 className="mb-3 font-semibold">{t('settings.appearance')}</h2>
        <Prefs />
      </Card>
    </div>
  );
}
