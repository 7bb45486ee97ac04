// The data layer through the real pages and route table: one cache for
// every page, writes refetch what they change, requests of a page that
// goes away are aborted.
import { fireEvent, screen, waitFor, within } from '@testing-library/react';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ME, mockApi, renderApp } from '../test-utils';

// Through the sidebar, as a user goes from page to page.
const go = (name: string) => fireEvent.click(within(screen.getAllByRole('navigation', { name: 'main' })[0]).getByRole('link', { name }));

afterEach(() => vi.unstubAllGlobals());

const group = (id: number, name: string, enabled = true) => ({ id, name, priority: 10, enabled, strategy: 'round_robin' });
const provider = { id: 5, group_id: 1, name: 'oa', type: 'openai', base_url: 'http://x/v1', models: [], model_aliases: {}, weight: 1, enabled: true, timeout_ms: 60000 };
const gets = (calls: { method: string; url: string }[], path: string) =>
  calls.filter((c) => c.method === 'GET' && c.url.split('?')[0] === path).length;

describe('query cache', () => {
  it('fetches the groups once for the pages that list them', async () => {
    const calls = mockApi({
      ...ME,
      'GET /api/admin/groups': { body: { data: [group(1, 'g1'), group(2, 'g2')], total: 2 } },
      'GET /api/admin/providers': { body: { data: [provider], total: 1 } },
      'GET /api/admin/client-keys': { body: { data: [], total: 0 } },
    });
    renderApp('/groups');
    await screen.findByTestId('group-g1');

    go('Providers');
    // The group picker is there at once, from the cache.
    const picker = await screen.findByRole('combobox', { name: 'Group' });
    expect(within(picker).getAllByRole('option').map((o) => o.textContent)).toEqual(['g1', 'g2']);
    await screen.findByTestId('provider-oa');

    go('Client keys');
    await screen.findByText(/No client keys yet/);
    expect(gets(calls, '/api/admin/groups')).toBe(1);
    expect(gets(calls, '/api/auth/me')).toBe(1);
  });

  it('refetches a list after a write, and marks what else it changed stale', async () => {
    let g1 = group(1, 'g1');
    const calls = mockApi({
      ...ME,
      'GET /api/admin/groups': () => ({ body: { data: [g1], total: 1 } }),
      'PATCH /api/admin/groups/1': (init) => {
        g1 = { ...g1, ...JSON.parse(String(init.body)) };
        return { body: g1 };
      },
      'GET /api/admin/providers': { body: { data: [provider], total: 1 } },
    });
    renderApp('/providers');
    await screen.findByTestId('provider-oa');
    expect(gets(calls, '/api/admin/providers')).toBe(1);

    go('Groups');
    const row = await screen.findByTestId('group-g1');
    expect(within(row).getByText('Enabled')).toBeInTheDocument();
    fireEvent.click(within(row).getByRole('switch'));
    expect(await within(row).findByText('Disabled')).toBeInTheDocument();
    expect(calls.find((c) => c.method === 'PATCH')?.body).toEqual({ enabled: false });
    expect(gets(calls, '/api/admin/groups')).toBe(2);
    // The providers were not on screen: nothing fetched them yet...
    expect(gets(calls, '/api/admin/providers')).toBe(1);

    // ...but they are stale now, and the next page that shows them asks
    // again although they were fresh a moment ago.
    go('Providers');
    await waitFor(() => expect(gets(calls, '/api/admin/providers')).toBe(2));
  });

  it('aborts the requests of a page that goes away', async () => {
    const calls = mockApi({
      ...ME,
      'GET /api/admin/providers': { body: { data: [], total: 0 } },
      'GET /api/admin/client-keys': { body: { data: [], total: 0 } },
      'GET /api/admin/settings': { body: { log_retention_days: 30, rollup_retention_days: 400, log_max_mb: 0 } },
    });
    const answer = globalThis.fetch as unknown as (url: string, init?: RequestInit) => Promise<Response>;
    // The logs never answer; only an abort ends their request.
    vi.stubGlobal(
      'fetch',
      vi.fn((url: string, init: RequestInit = {}) => {
        if (!url.startsWith('/api/admin/logs')) return answer(url, init);
        calls.push({ method: 'GET', url, signal: init.signal });
        return new Promise((_, reject) =>
          init.signal?.addEventListener('abort', () => reject(new DOMException('aborted', 'AbortError'))),
        );
      }),
    );
    renderApp('/logs');
    await screen.findByRole('heading', { name: 'Logs' });
    await waitFor(() => expect(calls.some((c) => c.url.startsWith('/api/admin/logs'))).toBe(true));
    const logs = calls.find((c) => c.url.startsWith('/api/admin/logs'))!;
    expect(logs.signal?.aborted).toBe(false);

    go('Settings');
    await screen.findByRole('heading', { name: 'Settings' });
    await waitFor(() => expect(logs.signal?.aborted).toBe(true));
    expect(screen.queryByRole('alert')).not.toBeInTheDocument();
  });
});
