// Renders a page inside the app's providers at a given path, with fetch
// answered by a small table of routes.
import { render } from '@testing-library/react';
import { ReactElement } from 'react';
import { MemoryRouter } from 'react-router-dom';
import { vi } from 'vitest';
import { AuthProvider } from './lib/auth';
import { I18nProvider, Lang } from './lib/i18n';
import { ThemeProvider } from './lib/theme';

export type Handler = { status?: number; body?: unknown } | ((init: RequestInit, url: string) => { status?: number; body?: unknown });

export function mockApi(routes: Record<string, Handler>) {
  const calls: { method: string; url: string; body?: unknown }[] = [];
  const f = vi.fn(async (url: string, init: RequestInit = {}) => {
    const method = (init.method ?? 'GET').toUpperCase();
    calls.push({ method, url, body: init.body ? JSON.parse(String(init.body)) : undefined });
    const path = url.split('?')[0];
    const h = routes[`${method} ${url}`] ?? routes[`${method} ${path}`];
    const r = typeof h === 'function' ? h(init, url) : h;
    if (!r)
      return new Response(JSON.stringify({ error: { message: `unknown path: ${method} ${path}`, code: 'not_found' } }), {
        status: 404,
      });
    return new Response(r.body === undefined ? '' : JSON.stringify(r.body), { status: r.status ?? 200 });
  });
  vi.stubGlobal('fetch', f);
  return calls;
}

export const ME = { 'GET /api/auth/me': { body: { id: 1, username: 'admin', must_change_password: false } } };

export function renderAt(ui: ReactElement, path = '/', lang: Lang = 'en') {
  return render(
    <ThemeProvider>
      <I18nProvider lang={lang}>
        <MemoryRouter initialEntries={[path]}>
          <AuthProvider>{ui}</AuthProvider>
        </MemoryRouter>
      </I18nProvider>
    </ThemeProvider>,
  );
}
