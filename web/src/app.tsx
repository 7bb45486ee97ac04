// Routes and the guards around them: not logged in -> /login; default
// password still in place -> /change-password; otherwise the pages.
import { ReactNode, useEffect } from 'react';
import { BrowserRouter, Link, Navigate, Route, Routes, useLocation, useNavigate } from 'react-router-dom';
import { Layout } from './components/layout';
import { ErrorBox, Spinner } from './components/ui/state';
import { setUnauthorizedHandler } from './lib/api';
import { AuthProvider, useAuth } from './lib/auth';
import { I18nProvider, useI18n } from './lib/i18n';
import { ThemeProvider } from './lib/theme';
import ChangePasswordPage from './routes/change-password';
import ClientKeysPage from './routes/client-keys';
import DashboardPage from './routes/dashboard';
import GroupsPage from './routes/groups';
import KeysPage from './routes/keys';
import LoginPage from './routes/login';
import LogsPage from './routes/logs';
import ProvidersPage from './routes/providers';
import SettingsPage from './routes/settings';

function Guard({ children }: { children: ReactNode }) {
  const { user, checking, error, refresh } = useAuth();
  const location = useLocation();
  if (checking && !user) return <Spinner />;
  if (error !== undefined && !user)
    return (
      <div className="p-6">
        <ErrorBox error={error} onRetry={refresh} />
      </div>
    );
  if (!user) return <Navigate to={`/login?next=${encodeURIComponent(location.pathname + location.search)}`} replace />;
  if (user.must_change_password) return <Navigate to="/change-password" replace />;
  return <Layout>{children}</Layout>;
}

// The forced password change needs a session, and no more than that.
function ForcedChange() {
  const { user, checking } = useAuth();
  if (checking && !user) return <Spinner />;
  if (!user) return <Navigate to="/login" replace />;
  return <ChangePasswordPage />;
}

function NotFound() {
  const { t } = useI18n();
  return (
    <div className="space-y-3">
      <h1 className="text-xl font-semibold">{t('notfound.title')}</h1>
      <Link to="/" className="text-indigo-600 hover:underline dark:text-indigo-400">
        {t('notfound.back')}
      </Link>
    </div>
  );
}

// A 401 from any call drops the user and shows the login page, keeping
// where they were.
function UnauthorizedBridge() {
  const navigate = useNavigate();
  const { setUser } = useAuth();
  useEffect(() => {
    setUnauthorizedHandler(() => {
      setUser(null);
      const here = window.location.pathname + window.location.search;
      if (!here.startsWith('/login')) navigate(`/login?next=${encodeURIComponent(here)}`, { replace: true });
    });
  }, [navigate, setUser]);
  return null;
}

export function AppRoutes() {
  return (
    <>
      <UnauthorizedBridge />
      <Routes>
        <Route path="/login" element={<LoginPage />} />
        <Route path="/change-password" element={<ForcedChange />} />
        <Route path="/" element={<Guard><DashboardPage /></Guard>} />
        <Route path="/groups" element={<Guard><GroupsPage /></Guard>} />
        <Route path="/providers" element={<Guard><ProvidersPage /></Guard>} />
        <Route path="/keys" element={<Guard><KeysPage /></Guard>} />
        <Route path="/client-keys" element={<Guard><ClientKeysPage /></Guard>} />
        <Route path="/logs" element={<Guard><LogsPage /></Guard>} />
        <Route path="/settings" element={<Guard><SettingsPage /></Guard>} />
        <Route path="*" element={<Guard><NotFound /></Guard>} />
      </Routes>
    </>
  );
}

export default function App() {
  return (
    <ThemeProvider>
      <I18nProvider>
        <BrowserRouter>
          <AuthProvider>
            <AppRoutes />
          </AuthProvider>
        </BrowserRouter>
      </I18nProvider>
    </ThemeProvider>
  );
}
