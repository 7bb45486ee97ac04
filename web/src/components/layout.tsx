// The frame around every page after login (the layout route's element):
// a sidebar on wide screens, a top bar with a menu (a disclosure) on
// phones; language, theme and logout. The page goes where <Outlet/> is.
import { Disclosure, DisclosureButton, DisclosurePanel, useClose } from '@headlessui/react';
import { Suspense } from 'react';
import { NavLink, Outlet, useNavigate } from 'react-router-dom';
import { useAuth } from '../lib/auth';
import { LANGS, Lang, MessageKey, useI18n } from '../lib/i18n';
import { useTheme } from '../lib/theme';
import { Button } from './ui/button';
import { Spinner } from './ui/state';

const NAV: { to: string; key: MessageKey }[] = [
  { to: '/', key: 'nav.dashboard' },
  { to: '/groups', key: 'nav.groups' },
  { to: '/providers', key: 'nav.providers' },
  { to: '/keys', key: 'nav.keys' },
  { to: '/client-keys', key: 'nav.clientKeys' },
  { to: '/prices', key: 'nav.prices' },
  { to: '/logs', key: 'nav.logs' },
  { to: '/playground', key: 'nav.playground' },
  { to: '/settings', key: 'nav.settings' },
];

export function Prefs() {
  const { t, lang, setLang } = useI18n();
  const { theme, setTheme } = useTheme();
  return (
    <div className="flex items-center gap-2">
      <select
        aria-label={t('lang.label')}
        value={lang}
        onChange={(e) => setLang(e.target.value as Lang)}
        className="rounded-md border border-slate-300 bg-white px-2 py-1 text-xs dark:border-slate-600 dark:bg-slate-800"
      >
        {LANGS.map((l) => (
          <option key={l.id} value={l.id}>
            {l.label}
          </option>
        ))}
      </select>
      <Button
        size="sm"
        variant="secondary"
        aria-label={t('theme.toggle')}
        title={t('theme.toggle')}
        onClick={() => setTheme(theme === 'dark' ? 'light' : 'dark')}
      >
        {theme === 'dark' ? '☀' : '☾'}
      </Button>
    </div>
  );
}

export function Logo() {
  return (
    <span className="inline-flex items-center gap-2 font-semibold">
      <span className="inline-flex h-7 w-7 items-center justify-center rounded-md bg-indigo-600 text-sm font-bold text-white">
        F
      </span>
      <span>LLM Fusion Engine</span>
    </span>
  );
}

// In the phone menu a link also closes the menu; elsewhere close() does
// nothing.
function NavLinks() {
  const { t } = useI18n();
  const close = useClose();
  return (
    <nav className="flex flex-col gap-1" aria-label="main">
      {NAV.map((n) => (
        <NavLink
          key={n.to}
          to={n.to}
          end={n.to === '/'}
          onClick={close}
          className={({ isActive }) =>
            `rounded-md px-3 py-2 text-sm font-medium ${
              isActive
                ? 'bg-indigo-50 text-indigo-700 dark:bg-indigo-950 dark:text-indigo-300'
                : 'text-slate-600 hover:bg-slate-100 dark:text-slate-300 dark:hover:bg-slate-800'
            }`
          }
        >
          {t(n.key)}
        </NavLink>
      ))}
    </nav>
  );
}

export function Layout() {
  const { t } = useI18n();
  const { user, logout } = useAuth();
  const navigate = useNavigate();

  const doLogout = async () => {
    await logout();
    navigate('/login');
  };

  return (
    <div className="min-h-screen md:flex">
      <aside className="hidden w-60 shrink-0 flex-col gap-6 border-r border-slate-200 bg-white px-3 py-4 dark:border-slate-800 dark:bg-slate-900 md:flex">
        <div className="px-2">
          <Logo />
        </div>
        <NavLinks />
        <div className="mt-auto space-y-3 px-2">
          <Prefs />
          <div className="text-xs text-slate-500 dark:text-slate-400">{user?.username}</div>
          <Button variant="secondary" size="sm" onClick={doLogout}>
            {t('nav.logout')}
          </Button>
        </div>
      </aside>
      <Disclosure
        as="header"
        className="sticky top-0 z-40 border-b border-slate-200 bg-white dark:border-slate-800 dark:bg-slate-900 md:hidden"
      >
        <div className="flex items-center justify-between px-4 py-2">
          <Logo />
          <DisclosureButton as={Button} variant="ghost" size="sm">
            ☰ {t('nav.menu')}
          </DisclosureButton>
        </div>
        <DisclosurePanel className="space-y-3 border-t border-slate-200 px-3 py-3 dark:border-slate-800">
          <NavLinks />
          <div className="flex items-center justify-between px-2">
            <Prefs />
            <Button variant="secondary" size="sm" onClick={doLogout}>
              {t('nav.logout')}
            </Button>
          </div>
        </DisclosurePanel>
      </Disclosure>
      <main className="min-w-0 flex-1 px-4 py-5 md:px-8 md:py-6">
        <Suspense fallback={<Spinner />}>
          <Outlet />
        </Suspense>
      </main>
    </div>
  );
}
