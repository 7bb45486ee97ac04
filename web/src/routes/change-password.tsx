// Forced while the default password is in place: the admin API answers
// 403 password_change_required to everything else until then.
import { useNavigate } from 'react-router-dom';
import { Logo, Prefs } from '../components/layout';
import { Button } from '../components/ui/button';
import { Card } from '../components/ui/card';
import { useAuth } from '../lib/auth';
import { useI18n } from '../lib/i18n';
import { PasswordForm } from './password-form';

export default function ChangePasswordPage() {
  const { t } = useI18n();
  const { user, setUser, logout } = useAuth();
  const navigate = useNavigate();
  return (
    <div className="flex min-h-screen flex-col items-center justify-center px-4 py-10">
      <div className="mb-6 flex w-full max-w-md items-center justify-between">
        <Logo />
        <Prefs />
      </div>
      <Card className="w-full max-w-md p-6">
        <h1 className="mb-2 text-lg font-semibold">{t('pw.title')}</h1>
        <p className="mb-5 rounded-md bg-amber-50 px-3 py-2 text-sm text-amber-800 dark:bg-amber-950/60 dark:text-amber-300">
          {t('pw.forced')}
        </p>
        <PasswordForm
          onDone={() => {
            if (user) setUser({ ...user, must_change_password: false });
            navigate('/', { replace: true });
          }}
        />
        <div className="mt-4 text-right">
          <Button
            variant="ghost"
            size="sm"
            onClick={async () => {
              await logout();
              navigate('/login');
            }}
          >
            {t('nav.logout')}
          </Button>
        </div>
      </Card>
    </div>
  );
}
