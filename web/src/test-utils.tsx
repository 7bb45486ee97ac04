// Renders the app (its real route table) or one component inside the
// app's providers at a given path, each with a cache of its own, with
// fetch answered by a small table of routes.
import { render } from '@testing-library/react';
import { ReactElement } from 'react';
import { MemoryRouter } from 'react-router-dom';
import { vi } from 'vitest';
import { AppRoutes, Providers, routerFuture } from './app';
import { Lang } from './lib/i18n';
import { newQueryClient } from './lib/queries';

export type Handler = { status?: number; body?: unknown } | ((init: RequestInit, url: string) => { status?: number; body?: unknown });

export interface Call {
  method: string;
  url: string;
  body?: unknown;
  signal?: AbortSignal | null;
  headers?: Record<string, string>;
}

export function mockApi(routes: Record<string, Handler>) {
  const calls: Call[] = [];
  const f = vi.fn(async (url: string, init: RequestInit = {}) => {
    const method = (init.method ?? 'GET').toUpperCase();
    calls.push({
      method,
      url,
      body: init.body ? JSON.parse(String(init.body)) : undefined,
      signal: init.signal,
      headers: { ...(init.headers as Record<string, string>) },
    });
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

export function renderApp(path = '/', lang: Lang = 'en') {
  return renderAt(<AppRoutes />, path, lang);
}

export function renderAt(ui: ReactElement, path = '/', lang: Lang = 'en') {
  return render(
    <Providers client={newQueryClient()} lang={lang}>
      <MemoryRouter initialEntries={[path]} future={routerFuture}>
        {ui}
      </MemoryRouter>
    </Providers>,
  );
}
