// The route table. Layout routes: one asks for a session and draws the
// frame (sidebar, top bar) once, with the pages as its children; not
// logged in -> /login; default password still in place ->
// /change-password, which needs a session and no more. Pages are lazy
// (React.lazy under the layouts' Suspense).
//
// Declarative <Routes>, as before: a data router (createBrowserRouter)
// would add 38 kB of @remix-run/router for loaders and actions the app
// does not use (TanStack Query loads the data). The gateway embeds three
// files by name (src/ui.c), so the production build inlines the lazy
// imports into app.js (vite.config.ts): the split is at the route
// boundary, ready for a gateway that serves more files.
import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { lazy, ReactNode, Suspense, useEffect, useState } from 'react';
import { BrowserRouter, Link, Navigate, Outlet, Route, Routes, useLocation, useNavigate } from 'react-router-dom';
import { Layout } from './components/layout';
import { ErrorBox, Spinner } from './components/ui/state';
import { setUnauthorizedHandler } from './lib/api';
import { useAuth } from './lib/auth';
import { I18nProvider, Lang, useI18n } from './lib/i18n';
import { newQueryClient } from './lib/queries';
import { ThemeProvider } from './lib/theme';

const ChangePasswordPage = lazy(() => import('./routes/change-password'));
const ClientKeysPage = lazy(() => import('./routes/client-keys'));
const DashboardPage = lazy(() => import('./routes/dashboard'));
const GroupsPage = lazy(() => import('./routes/groups'));
const KeysPage = lazy(() => import('./routes/keys'));
const LoginPage = lazy(() => import('./routes/login'));
const LogsPage = lazy(() => import('./routes/logs'));
const PlaygroundPage = lazy(() => import('./routes/playground'));
const PricesPage = lazy(() => import('./routes/prices'));
const ProvidersPage = lazy(() => import('./routes/providers'));
const SettingsPage = lazy(() => import('./routes/settings'));

// A 401 from any call drops the user and shows the login page, keeping
// where they were.
function Root() {
  const navigate = useNavigate();
  const { setUser } = useAuth();
  useEffect(() => {
    setUnauthorizedHandler(() => {
      setUser(null);
      const here = window.location.pathname + window.location.search;
      if (!here.startsWith('/login')) navigate(`/login?next=${encodeURIComponent(here)}`, { replace: true });
    });
  }, [navigate, setUser]);
  return (
    <Suspense fallback={<Spinner />}>
      <Outlet />
    </Suspense>
  );
}

function RequireAdmin() {
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
  return <Layout />;
}

function RequireSession() {
  const { user, checking } = useAuth();
  if (checking && !user) return <Spinner />;
  if (!user) return <Navigate to="/login" replace />;
  return <Outlet />;
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

export function AppRoutes() {
  return (
    <Routes>
      <Route element={<Root />}>
        <Route path="/login" element={<LoginPage />} />
        <Route path="/change-password" element={<RequireSession />}>
          <Route index element={<ChangePasswordPage />} />
        </Route>
        <Route element={<RequireAdmin />}>
          <Route index element={<DashboardPage />} />
          <Route path="/groups" element={<GroupsPage />} />
          <Route path="/providers" element={<ProvidersPage />} />
          <Route path="/keys" element={<KeysPage />} />
          <Route path="/client-keys" element={<ClientKeysPage />} />
          <Route path="/prices" element={<PricesPage />} />
          <Route path="/logs" element={<LogsPage />} />
          <Route path="/playground" element={<PlaygroundPage />} />
          <Route path="/settings" element={<SettingsPage />} />
          <Route path="*" element={<NotFound />} />
        </Route>
      </Route>
    </Routes>
  );
}

// React Router 7's behaviour now, which also keeps 6.x from warning; with
// startTransition, a page that is still loading leaves the last one on
// screen.
export const routerFuture = { v7_startTransition: true, v7_relativeSplatPath: true };

// Everything a page needs around it: the query cache, theme, language.
export function Providers({ client, lang, children }: { client: QueryClient; lang?: Lang; children: ReactNode }) {
  return (
    <QueryClientProvider client={client}>
      <ThemeProvider>
        <I18nProvider lang={lang}>{children}</I18nProvider>
      </ThemeProvider>
    </QueryClientProvider>
  );
}

export default function App() {
  const [client] = useState(newQueryClient);
  return (
    <Providers client={client}>
      <BrowserRouter future={routerFuture}>
        <AppRoutes />
      </BrowserRouter>
    </Providers>
  );
}
