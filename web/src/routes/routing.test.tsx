// The routing settings of groups and providers, the model sync dialog,
// the key test and the playground.
import { fireEvent, screen, waitFor, within } from '@testing-library/react';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { sseEvents } from '../lib/playground';
import { translate } from '../lib/i18n';
import { ME, mockApi, renderApp } from '../test-utils';
import { servedModels } from './playground';
import { parseHeaders, parseOverrides, parseStatuses } from './providers';

afterEach(() => vi.unstubAllGlobals());

const t = ((k: Parameters<typeof translate>[1], v?: Record<string, string | number>) => translate('en', k, v)) as never;
const group = { id: 1, name: 'g', priority: 0, enabled: true, strategy: 'round_robin', affinity: 'none', latency_half_life_seconds: 10 };
const prov = {
  id: 3, group_id: 1, name: 'oa', type: 'openai', base_url: 'http://up/v1', models: ['gpt-4o', 'old'], model_aliases: { fast: 'gpt-4o' },
  weight: 1, enabled: true, timeout_ms: 60000, proxy_url: 'http://ali...word@proxy:3128', extra_headers: { 'X-Org': 'acme' },
  body_overrides: {}, failover_statuses: [], no_cooldown_statuses: [503], probe_interval_seconds: 30, probe_disabled: false,
};

describe('groups', () => {
  it('sends least_latency with its half-life, and session affinity', async () => {
    const calls = mockApi({
      ...ME,
      'GET /api/admin/groups': { body: { data: [], total: 0 } },
      'POST /api/admin/groups': { status: 201, body: group },
    });
    renderApp('/groups');
    fireEvent.click(await screen.findByRole('button', { name: /New Group/ }));
    const dlg = screen.getByRole('dialog');
    fireEvent.change(within(dlg).getByLabelText('Name'), { target: { value: 'fast' } });
    expect(within(dlg).queryByLabelText(/half-life/)).toBeNull();
    fireEvent.change(within(dlg).getByLabelText('Strategy'), { target: { value: 'least_latency' } });
    fireEvent.change(within(dlg).getByLabelText(/half-life/), { target: { value: '4' } });
    fireEvent.change(within(dlg).getByLabelText(/^Session affinity/), { target: { value: 'session' } });
    fireEvent.click(within(dlg).getByRole('button', { name: 'Create Group' }));
    await waitFor(() => expect(calls.some((c) => c.method === 'POST')).toBe(true));
    expect(calls.find((c) => c.method === 'POST')?.body).toEqual({
      name: 'fast', priority: 0, enabled: true, strategy: 'least_latency', affinity: 'session', latency_half_life_seconds: 4,
    });
  });
});

describe('providers', () => {
  it('parses headers, statuses and overrides, refusing what is malformed', () => {
    expect(parseHeaders('X-Org: acme\n\n OpenAI-Project: p:1 ', t)).toEqual({ 'X-Org': 'acme', 'OpenAI-Project': 'p:1' });
    expect(() => parseHeaders('no colon', t)).toThrow(/Name: value/);
    expect(parseStatuses('404, 422 503', t)).toEqual([404, 422, 503]);
    expect(() => parseStatuses('40x', t)).toThrow(/Not an HTTP status/);
    expect(parseOverrides('', t)).toEqual({});
    expect(parseOverrides('{"set":{"max_tokens":5}}', t)).toEqual({ set: { max_tokens: 5 } });
    expect(() => parseOverrides('[1]', t)).toThrow(/JSON object/);
  });

  it('shows the masked proxy and sends it only when it was changed', async () => {
    const calls = mockApi({
      ...ME,
      'GET /api/admin/groups': { body: { data: [group], total: 1 } },
      'GET /api/admin/providers': { body: { data: [prov], total: 1 } },
      'PATCH /api/admin/providers/3': { body: prov },
    });
    renderApp('/providers');
    const card = await screen.findByTestId('provider-oa');
    expect(within(card).getByTestId('provider-proxy')).toHaveTextContent('http://ali...word@proxy:3128');
    expect(card).toHaveTextContent('every 30 s');
    fireEvent.click(within(card).getByRole('button', { name: 'Edit' }));
    let dlg = screen.getByRole('dialog');
    expect((within(dlg).getByLabelText(/^Extra headers/) as HTMLTextAreaElement).value).toBe('X-Org: acme');
    fireEvent.change(within(dlg).getByLabelText(/^Also fail over on/), { target: { value: '404' } });
    fireEvent.click(within(dlg).getByRole('button', { name: 'Save' }));
    await waitFor(() => expect(calls.filter((c) => c.method === 'PATCH').length).toBe(1));
    const first = calls.find((c) => c.method === 'PATCH')?.body as Record<string, unknown>;
    expect(first).not.toHaveProperty('proxy_url');
    expect(first).toMatchObject({ failover_statuses: [404], no_cooldown_statuses: [503], extra_headers: { 'X-Org': 'acme' }, probe_interval_seconds: 30 });

    await waitFor(() => expect(screen.queryByRole('dialog')).toBeNull());
    fireEvent.click(within(screen.getByTestId('provider-oa')).getByRole('button', { name: 'Edit' }));
    dlg = screen.getByRole('dialog');
    fireEvent.change(within(dlg).getByLabelText(/^Proxy/), { target: { value: '' } });
    fireEvent.click(within(dlg).getByRole('button', { name: 'Save' }));
    await waitFor(() => expect(calls.filter((c) => c.method === 'PATCH').length).toBe(2));
    expect(calls.filter((c) => c.method === 'PATCH')[1].body).toMatchObject({ proxy_url: '' });
  });

  it('syncs models: the difference first, applied on demand', async () => {
    const diff = { provider_id: 3, upstream: ['gpt-4o', 'o3'], added: ['o3'], removed: ['old'], applied: false, models: ['gpt-4o', 'old'] };
    const calls = mockApi({
      ...ME,
      'GET /api/admin/groups': { body: { data: [group], total: 1 } },
      'GET /api/admin/providers': { body: { data: [prov], total: 1 } },
      'POST /api/admin/providers/3/models/sync': { body: diff },
      'POST /api/admin/providers/3/models/sync?apply=true': { body: { ...diff, applied: true, models: ['gpt-4o', 'o3'] } },
    });
    renderApp('/providers');
    fireEvent.click(within(await screen.findByTestId('provider-oa')).getByRole('button', { name: 'Sync models' }));
    const dlg = await screen.findByRole('dialog', { name: 'Sync models of oa' });
    expect(await within(dlg).findByTestId('sync-added')).toHaveTextContent('+ o3');
    expect(within(dlg).getByTestId('sync-removed')).toHaveTextContent('− old');
    expect(calls.filter((c) => c.url.includes('sync')).map((c) => c.url)).toEqual(['/api/admin/providers/3/models/sync']);
    fireEvent.click(within(dlg).getByRole('button', { name: 'Apply' }));
    expect(await within(dlg).findByTestId('sync-applied')).toHaveTextContent('2 model(s)');
    expect(calls.some((c) => c.url === '/api/admin/providers/3/models/sync?apply=true')).toBe(true);
  });
});

describe('keys', () => {
  it('tests a key now and shows what came of it', async () => {
    mockApi({
      ...ME,
      'GET /api/admin/groups': { body: { data: [group], total: 1 } },
      'GET /api/admin/providers': { body: { data: [prov], total: 1 } },
      'GET /api/admin/keys': {
        body: { data: [{ id: 5, provider_id: 3, key_masked: 'sk-...abcd', label: '', enabled: true, status: 'disabled', status_reason: '401', cooldown_until: null, requests: 1, failures: 1, last_used_at: null }], total: 1 },
      },
      'POST /api/admin/keys/5/test': { body: { ok: false, status: 401, latency_ms: 12, message: 'Incorrect API key provided', key_status: 'disabled' } },
    });
    renderApp('/keys');
    const row = await screen.findByTestId('key-row');
    fireEvent.click(within(row).getByRole('button', { name: 'Test' }));
    expect(await within(row).findByTestId('key-test-result')).toHaveTextContent('Failed: Incorrect API key provided');
  });
});

describe('playground', () => {
  it('splits a stream into events, keeping an unfinished one', () => {
    expect(sseEvents('data: {"a":1}\n\ndata: [DONE]\n\ndata: {"b"')).toEqual({ events: ['{"a":1}', '[DONE]'], rest: 'data: {"b"' });
    expect(sseEvents(': comment\r\n\r\nevent: x\r\ndata: y\r\n\r\n')).toEqual({ events: ['y'], rest: '' });
  });

  it('offers the models and aliases of enabled providers', () => {
    expect(servedModels([prov, { ...prov, id: 4, models: ['off-model'], model_aliases: {}, enabled: false }] as never)).toEqual(['fast', 'gpt-4o', 'old']);
  });

  it('streams an answer, then shows the provider, key, trace, TTFB and tokens from the log', async () => {
    const sse = 'data: {"choices":[{"delta":{"content":"Hel"}}]}\n\ndata: {"choices":[{"delta":{"content":"lo"}}]}\n\ndata: [DONE]\n\n';
    const entry = {
      id: 1, created_at: '2024-01-01T00:00:00Z', client_key_id: null, client_key_name: null, admin_user: 'admin', model: 'gpt-4o', upstream_model: 'gpt-4o',
      group_id: 1, provider_id: 3, provider_name: 'oa', key_masked: 'sk-...abcd', path: '/api/admin/playground/chat/completions', status: 200, stream: true,
      attempts: 1, latency_ms: 40, ttfb_ms: 12, prompt_tokens: 3, completion_tokens: 2, outcome: 'ok', error: null,
      trace: [{ provider_id: 3, provider: 'oa', key_masked: 'sk-...abcd', action: 'tried', outcome: 'ok', reason: '', status: 200, latency_ms: 40, strategy: 'least_latency' }],
    };
    const sent: unknown[] = [];
    vi.stubGlobal('fetch', vi.fn(async (url: string, init: RequestInit = {}) => {
      const json = (b: unknown) => new Response(JSON.stringify(b), { status: 200 });
      if (url === '/api/auth/me') return json(ME['GET /api/auth/me'].body);
      if (url.startsWith('/api/admin/providers')) return json({ data: [prov], total: 1 });
      if (url.startsWith('/api/admin/logs')) return json(url.includes('request_id=req_1') ? { data: [entry], total: 1 } : { data: [], total: 0 });
      if (url === '/api/admin/playground/chat/completions') {
        sent.push(JSON.parse(String(init.body)));
        return new Response(sse, { status: 200, headers: { 'content-type': 'text/event-stream', 'x-fusion-request-id': 'req_1' } });
      }
      return new Response('{}', { status: 404 });
    }));
    renderApp('/playground');
    await waitFor(() => expect((screen.getByLabelText('Model') as HTMLSelectElement).value).toBe('fast'));
    fireEvent.change(screen.getByLabelText('Model'), { target: { value: 'gpt-4o' } });
    fireEvent.change(screen.getByLabelText('Message'), { target: { value: 'Hi' } });
    fireEvent.click(screen.getByRole('button', { name: 'Send' }));
    expect(await screen.findByTestId('playground-answer')).toHaveTextContent('Hello');
    expect(sent[0]).toEqual({ model: 'gpt-4o', messages: [{ role: 'user', content: 'Hi' }], stream: true, stream_options: { include_usage: true } });
    const detail = await screen.findByTestId('playground-detail');
    expect(detail).toHaveTextContent('oa');
    expect(detail).toHaveTextContent('sk-...abcd');
    expect(detail).toHaveTextContent('12 ms');
    expect(detail).toHaveTextContent('3 + 2');
    expect(detail).toHaveTextContent('Admin: admin');
    expect(within(detail).getByTestId('log-trace')).toHaveTextContent('via least_latency');
  });
});
