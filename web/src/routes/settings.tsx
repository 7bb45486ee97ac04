// Settings: the account's password, appearance, the retention the
// gateway runs with (read-only: set by the environment), and the
// configuration's export and import.
import { Prefs } from '../components/layout';
import { Card, PageHeader } from '../components/ui/card';
import { ErrorBox, Spinner } from '../components/ui/state';
import { Settings } from '../lib/api';
import { useAuth } from '../lib/auth';
import { MessageKey, useI18n } from '../lib/i18n';
import { useSettings } from '../lib/queries';
import { ExportCard, ImportCard } from './config-transfer';
import { PasswordForm } from './password-form';

// Each retention setting: its label, the environment variable that sets
// it, how its value reads (0 is "forever" or "no limit"), what it does.
type RetentionField = 'log_retention_days' | 'rollup_retention_days' | 'log_max_mb';
const RETENTION: { field: RetentionField & keyof Settings; env: string; label: MessageKey; unit: MessageKey; zero: MessageKey; hint: MessageKey }[] = [
  {
    field: 'log_retention_days',
    env: 'LOG_RETENTION_DAYS',
    label: 'settings.logRetention',
    unit: 'settings.days',
    zero: 'settings.forever',
    hint: 'settings.logRetentionHint',
  },
  {
    field: 'rollup_retention_days',
    env: 'ROLLUP_RETENTION_DAYS',
    label: 'settings.rollupRetention',
    unit: 'settings.days',
    zero: 'settings.forever',
    hint: 'settings.rollupRetentionHint',
  },
  {
    field: 'log_max_mb',
    env: 'LOG_MAX_MB',
    label: 'settings.logMaxMb',
    unit: 'settings.mb',
    zero: 'settings.noLimit',
    hint: 'settings.logMaxMbHint',
  },
];

export function RetentionCard() {
  const { t } = useI18n();
  const q = useSettings();
  return (
    <Card className="p-5">
      <h2 className="mb-1 font-semibold">{t('settings.retention')}</h2>
      <p className="mb-4 text-sm text-slate-500 dark:text-slate-400">{t('settings.retentionHint')}</p>
      {q.isPending && <Spinner />}
      {q.error && <ErrorBox error={q.error} onRetry={() => q.refetch()} />}
      {q.data && (
        <dl className="divide-y divide-slate-100 dark:divide-slate-800">
          {RETENTION.map((r) => {
            const v = q.data[r.field];
            return (
              <div key={r.field} data-testid={`setting-${r.field}`} className="grid gap-1 py-3 sm:grid-cols-3 sm:gap-4">
                <dt className="text-sm font-medium">
                  {t(r.label)}
                  <code className="mt-0.5 block font-mono text-xs font-normal text-slate-500 dark:text-slate-400">{r.env}</code>
                </dt>
                <dd className="sm:col-span-2">
                  <div data-testid={`setting-${r.field}-value`} className="text-sm font-semibold">
                    {v > 0 ? t(r.unit, { n: v }) : t(r.zero)}
                  </div>
                  <div className="text-xs text-slate-500 dark:text-slate-400">{t(r.hint)}</div>
                </dd>
              </div>
            );
          })}
        </dl>
      )}
    </Card>
  );
}

export default function SettingsPage() {
  const { t } = useI18n();
  const { user } = useAuth();
  return (
    <div className="max-w-3xl space-y-6">
      <PageHeader title={t('settings.title')} />
      <Card className="p-5">
        <h2 className="mb-1 font-semibold">{t('pw.title')}</h2>
        <p className="mb-4 text-sm text-slate-500 dark:text-slate-400">
          {t('settings.account', { name: user?.username ?? '' })}
        </p>
        <div className="max-w-xl">
          <PasswordForm />
        </div>
      </Card>
      <Card className="p-5">
        <h2 className="mb-3 font-semibold">{t('settings.appearance')}</h2>
        <Prefs />
      </Card>
      <RetentionCard />
      <ExportCard />
      <ImportCard />
    </div>
  );
}
