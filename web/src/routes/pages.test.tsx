import { fireEvent, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { LogEntry } from '../lib/api';
import { ME, mockApi, renderApp, renderAt as r } from '../test-utils';
import { LogDetail } from './logs';
import { HealthBadge } from './keys';
import { CreatedKeyDialog } from './client-keys';

afterEach(() => vi.unstubAllGlobals());

const group = { id: 1, name: 'openai-group', priority: 10, enabled: true, strategy: 'round_robin' };
const stats = {
  total_groups: 2,
  enabled_groups: 1,
  total_providers: 3,
  enabled_providers: 3,
  total_keys: 5,
  active_keys: 4,
  total_client_keys: 1,
  enabled_client_keys: 1,
};

describe('login', () => {
  it('shows the API error message on a wrong password', async () => {
    mockApi({
      'GET /api/auth/me': { status: 401, body: { error: { message: 'not logged in' } } },
      'POST /api/auth/login': { status: 401, body: { error: { message: 'wrong username or password' } } },
    });
    renderApp('/login');
    fireEvent.change(await screen.findByLabelText('Password'), { target: { value: 'nope' } });
    fireEvent.click(screen.getByRole('button', { name: 'Sign in' }));
    expect(await screen.findByRole('alert')).toHaveTextContent('wrong username or password');
  });

  it('forces a password change while the default password is in place', async () => {
    mockApi({
      'GET /api/auth/me': { status: 401, body: { error: { message: 'not logged in' } } },
      'POST /api/auth/login': {
        body: { token: 'fs_x', user: { id: 1, username: 'admin', must_change_password: true } },
      },
    });
    renderApp('/login');
    fireEvent.change(await screen.findByLabelText('Password'), { target: { value: 'admin' } });
    fireEvent.click(screen.getByRole('button', { name: 'Sign in' }));
    expect(await screen.findByText(/default password is still in place/)).toBeInTheDocument();
  });

  it('sends a logged-out visitor to the login page', async () => {
    mockApi({ 'GET /api/auth/me': { status: 401, body: { error: { message: 'not logged in' } } } });
    renderApp('/groups');
    expect(await screen.findByRole('heading', { name: 'Sign in' })).toBeInTheDocument();
  });
});

describe('groups', () => {
  it('shows an empty state, then creates a group', async () => {
    let list: unknown[] = [];
    const calls = mockApi({
      ...ME,
      'GET /api/admin/groups': () => ({ body: { data: list, total: list.length } }),
      'POST /api/admin/groups': (init) => {
        list = [{ ...group, ...JSON.parse(String(init.body)), id: 1 }];
        return { status: 201, body: list[0] };
      },
    });
    renderApp('/groups');
    expect(await screen.findByText(/No groups yet/)).toBeInTheDocument();
    fireEvent.click(screen.getByRole('button', { name: /New Group/ }));
    const dlg = screen.getByRole('dialog');
    fireEvent.change(within(dlg).getByLabelText('Name'), { target: { value: 'openai-group' } });
    fireEvent.change(within(dlg).getByLabelText(/Priority/), { target: { value: '10' } });
    fireEvent.click(within(dlg).getByRole('button', { name: 'Create Group' }));
    expect(await screen.findByTestId('group-openai-group')).toBeInTheDocument();
    expect(calls.find((c) => c.method === 'POST')?.body).toEqual({
      name: 'openai-group',
      priority: 10,
      enabled: true,
      strategy: 'round_robin',
    });
  });

  it('opens its dialog on the Name field and gives focus back on Escape', async () => {
    const user = userEvent.setup();
    mockApi({ ...ME, 'GET /api/admin/groups': { body: { data: [], total: 0 } } });
    renderApp('/groups');
    const add = await screen.findByRole('button', { name: /New Group/ });
    await user.click(add);
    const dlg = await screen.findByRole('dialog', { name: 'New Group' });
    await waitFor(() => expect(within(dlg).getByLabelText('Name')).toHaveFocus());
    await user.keyboard('{Escape}');
    await waitFor(() => expect(screen.queryByRole('dialog')).not.toBeInTheDocument());
    await waitFor(() => expect(add).toHaveFocus());
  });

  it('asks before deleting', async () => {
    const calls = mockApi({
      ...ME,
      'GET /api/admin/groups': { body: { data: [group], total: 1 } },
      'DELETE /api/admin/groups/1': { status: 204 },
    });
    renderApp('/groups');
    fireEvent.click(await screen.findByRole('button', { name: 'Delete' }));
    expect(await screen.findByRole('alertdialog')).toHaveTextContent('Delete openai-group?');
    expect(calls.some((c) => c.method === 'DELETE')).toBe(false);
    fireEvent.click(within(screen.getByRole('alertdialog')).getByRole('button', { name: 'Delete' }));
    await waitFor(() => expect(calls.some((c) => c.method === 'DELETE')).toBe(true));
  });

  it('shows a 403 from the API in words', async () => {
    mockApi({
      ...ME,
      'GET /api/admin/groups': {
        status: 403,
        body: { error: { message: 'the default password must be changed first', code: 'password_change_required' } },
      },
    });
    renderApp('/groups');
    expect(await screen.findByRole('alert')).toHaveTextContent('the default password must be changed first');
  });
});

describe('providers', () => {
  const prov = (id: number, name: string, type: string, base_url: string) => ({
    id, group_id: 1, name, type, base_url, models: ['m'], model_aliases: {}, weight: 1, enabled: true, timeout_ms: 60000,
  });

  it('shows each provider\'s type', async () => {
    mockApi({
      ...ME,
      'GET /api/admin/groups': { body: { data: [group], total: 1 } },
      'GET /api/admin/providers': {
        body: {
          data: [
            prov(1, 'oa', 'openai', 'https://api.openai.com/v1'),
            prov(2, 'claude', 'anthropic', 'https://api.anthropic.com/v1'),
            prov(3, 'gem', 'gemini', 'https://generativelanguage.googleapis.com/v1beta'),
          ],
          total: 3,
        },
      },
    });
    renderApp('/providers');
    expect(within(await screen.findByTestId('provider-claude')).getByTestId('provider-type')).toHaveTextContent('anthropic');
    expect(within(screen.getByTestId('provider-gem')).getByTestId('provider-type')).toHaveTextContent('gemini');
    expect(within(screen.getByTestId('provider-oa')).getByTestId('provider-type')).toHaveTextContent('openai');
  });

  it('offers openai, anthropic and gemini, and suggests the base URL of the type chosen', async () => {
    let list: unknown[] = [];
    const calls = mockApi({
      ...ME,
      'GET /api/admin/groups': { body: { data: [group], total: 1 } },
      'GET /api/admin/providers': () => ({ body: { data: list, total: list.length } }),
      'POST /api/admin/providers': (init) => {
        list = [{ ...prov(9, 'x', 'openai', ''), ...JSON.parse(String(init.body)), id: 9 }];
        return { status: 201, body: list[0] };
      },
    });
    renderApp('/providers');
    const add = await screen.findByRole('button', { name: /New provider/ });
    await waitFor(() => expect(add).toBeEnabled());
    fireEvent.click(add);
    const dlg = await screen.findByRole('dialog');
    const type = within(dlg).getByLabelText(/^Type/) as HTMLSelectElement;
    const url = within(dlg).getByLabelText(/^Base URL/) as HTMLInputElement;
    expect([...type.options].map((o) => o.value)).toEqual(['openai', 'anthropic', 'gemini']);
    expect(type.value).toBe('openai');
    expect(url.value).toBe('https://api.openai.com/v1');

    fireEvent.change(type, { target: { value: 'anthropic' } });
    expect(url.value).toBe('https://api.anthropic.com/v1');
    expect(dlg).toHaveTextContent(/Anthropic Messages API/);
    fireEvent.change(type, { target: { value: 'gemini' } });
    expect(url.value).toBe('https://generativelanguage.googleapis.com/v1beta');

    // What the operator typed stays; an empty field gets the default.
    fireEvent.change(url, { target: { value: 'https://proxy.internal/anthropic/v1' } });
    fireEvent.change(type, { target: { value: 'anthropic' } });
    expect(url.value).toBe('https://proxy.internal/anthropic/v1');
    fireEvent.change(url, { target: { value: '' } });
    fireEvent.change(type, { target: { value: 'gemini' } });
    expect(url.value).toBe('https://generativelanguage.googleapis.com/v1beta');

    fireEvent.change(within(dlg).getByLabelText('Name'), { target: { value: 'gem' } });
    fireEvent.change(within(dlg).getByLabelText(/^Models/), { target: { value: 'gemini-2.0-flash' } });
    fireEvent.click(within(dlg).getByRole('button', { name: 'Create' }));
    expect(await screen.findByTestId('provider-gem')).toBeInTheDocument();
    expect(calls.find((c) => c.method === 'POST')?.body).toMatchObject({
      type: 'gemini',
      base_url: 'https://generativelanguage.googleapis.com/v1beta',
      models: ['gemini-2.0-flash'],
    });
  });

  it('keeps the base URL of an existing provider when it is edited', async () => {
    mockApi({
      ...ME,
      'GET /api/admin/groups': { body: { data: [group], total: 1 } },
      'GET /api/admin/providers': { body: { data: [prov(4, 'own', 'anthropic', 'https://llm.example.com/v1')], total: 1 } },
    });
    renderApp('/providers');
    fireEvent.click(within(await screen.findByTestId('provider-own')).getByRole('button', { name: 'Edit' }));
    const dlg = screen.getByRole('dialog');
    expect((within(dlg).getByLabelText(/^Type/) as HTMLSelectElement).value).toBe('anthropic');
    fireEvent.change(within(dlg).getByLabelText(/^Type/), { target: { value: 'openai' } });
    expect((within(dlg).getByLabelText(/^Base URL/) as HTMLInputElement).value).toBe('https://llm.example.com/v1');
  });
});

describe('dashboard', () => {
  it('shows the cards and explains missing charts', async () => {
    mockApi({
      ...ME,
      'GET /api/admin/stats': { body: stats },
      'GET /api/admin/keys': { body: { data: [], total: 0 } },
    });
    renderApp('/');
    expect(await screen.findByTestId('stat-groups', {}, { timeout: 5000 })).toHaveTextContent('2');
    expect(screen.getByTestId('stat-keys')).toHaveTextContent('5');
    expect(await screen.findByText('Charts unavailable')).toBeInTheDocument();
    expect(screen.getByText(/unknown path: GET \/api\/admin\/stats\/timeseries/)).toBeInTheDocument();
  });

  it('draws charts from the timeseries', async () => {
    mockApi({
      ...ME,
      'GET /api/admin/stats': {
        body: {
          ...stats, requests: 10, errors: 1, latency_p50_ms: 120, latency_p95_ms: 300, cost: 1234567, currency: 'USD',
          models: [{ model: 'gpt-4o', requests: 6, cost: 1000000 }, { model: 'gpt-4o-mini', requests: 4, cost: 234567 }],
          clients: [{ id: 3, name: 'app-one', requests: 10, cost: 1234567 }],
        },
      },
      'GET /api/admin/keys': { body: { data: [], total: 0 } },
      'GET /api/admin/stats/timeseries': {
        body: {
          bucket_seconds: 60,
          data: [
            { t: '2024-01-01T00:00:00Z', requests: 4, errors: 0, latency_p50_ms: 100, latency_p95_ms: 200, prompt_tokens: 10, completion_tokens: 5, cost: 234567 },
            { t: '2024-01-01T00:01:00Z', requests: 6, errors: 1, latency_p50_ms: 120, latency_p95_ms: 300, prompt_tokens: 20, completion_tokens: 9, cost: 1000000 },
          ],
        },
      },
    });
    const { container } = renderApp('/');
    expect(await screen.findByRole('img', { name: 'Requests per minute' })).toBeInTheDocument();
    expect(container.querySelectorAll('path.recharts-line-curve').length).toBe(7);
    expect(screen.getByRole('img', { name: 'Spend' })).toBeInTheDocument();
    expect(screen.getByTestId('stat-error-rate')).toHaveTextContent('10.0%');
    expect(screen.getByTestId('stat-spend')).toHaveTextContent('1.234567 USD');
    expect(within(screen.getByTestId('top-models')).getAllByRole('listitem').map((li) => li.textContent)).toEqual([
      'gpt-4o1.00 USD',
      'gpt-4o-mini0.234567 USD',
    ]);
    expect(screen.getByTestId('top-clients')).toHaveTextContent('app-one1.234567 USD');
  });
});

describe('client key budgets', () => {
  it('shows spend against each budget with when it resets, and saves budgets as micro-units', async () => {
    const ck = {
      id: 4, name: 'app-one', key_prefix: 'sk-fe-abcd', allowed_models: [], allowed_groups: [], enabled: true, expires_at: null,
      rpm_limit: 0, token_quota: 0, tokens_used: 0, budget_daily: 5000000, budget_monthly: 0, budget_total: 0,
      spent_today: 1250000, spent_month: 1250000, spent_total: 7000000,
    };
    const calls = mockApi({
      ...ME,
      'GET /api/admin/client-keys': { body: { data: [ck], total: 1 } },
      'GET /api/admin/groups': { body: { data: [], total: 0 } },
      'GET /api/admin/settings': { body: { currency: 'USD', budget_timezone: 'UTC' } },
      'PATCH /api/admin/client-keys/4': { body: ck },
    });
    renderApp('/client-keys');
    const spend = await screen.findByTestId('spend-app-one');
    await waitFor(() => expect(spend).toHaveTextContent('today: 1.25 / 5.00 USD'));
    expect(spend).toHaveTextContent(/resets in \d+h \d\dm/);
    expect(spend).toHaveTextContent('in all: 7.00 USD');
    expect(spend.querySelector('progress')?.getAttribute('max')).toBe('5000000');
    fireEvent.click(screen.getByRole('button', { name: 'Edit' }));
    const dlg = screen.getByRole('dialog');
    expect(within(dlg).getByLabelText('Daily budget')).toHaveValue('5.00');
    fireEvent.change(within(dlg).getByLabelText('Total budget'), { target: { value: '100.5' } });
    fireEvent.click(within(dlg).getByRole('button', { name: 'Save' }));
    await waitFor(() => expect(calls.find((c) => c.method === 'PATCH')).toBeTruthy());
    expect(calls.find((c) => c.method === 'PATCH')?.body).toMatchObject({ budget_daily: 5000000, budget_monthly: 0, budget_total: 100500000 });
  });
});

describe('prices', () => {
  const price = { id: 1, model: 'gpt-4o*', provider_id: null, input: 2500000, cached_input: 1250000, cache_write: 0, output: 10000000, reasoning: null, per_request: 0 };

  it('shows prices as exact decimals and sends a new one as micro-units', async () => {
    let list: unknown[] = [price];
    const calls = mockApi({
      ...ME,
      'GET /api/admin/prices': () => ({ body: { data: list, total: list.length } }),
      'GET /api/admin/providers': { body: { data: [{ id: 7, name: 'openai-main' }], total: 1 } },
      'GET /api/admin/settings': { body: { log_retention_days: 30, rollup_retention_days: 400, log_max_mb: 0, currency: 'USD' } },
      'POST /api/admin/prices': (init) => {
        list = [...list, { ...price, ...JSON.parse(String(init.body)), id: 2 }];
        return { status: 201, body: list[1] };
      },
    });
    renderApp('/prices');
    const row = await screen.findByTestId('price-gpt-4o*');
    expect(row).toHaveTextContent('2.50');
    expect(row).toHaveTextContent('1.25');
    expect(row).toHaveTextContent('as output');
    expect(row).toHaveTextContent('Any provider');
    fireEvent.click(screen.getByRole('button', { name: /New price/ }));
    const dlg = screen.getByRole('dialog');
    fireEvent.change(within(dlg).getByLabelText(/^Model/), { target: { value: 'claude-sonnet-4*' } });
    fireEvent.change(within(dlg).getByLabelText('Provider'), { target: { value: '7' } });
    fireEvent.change(within(dlg).getByLabelText('Input'), { target: { value: '3' } });
    fireEvent.change(within(dlg).getByLabelText('Cache write'), { target: { value: '3.75' } });
    fireEvent.change(within(dlg).getByLabelText('Output'), { target: { value: '0.000001' } });
    fireEvent.click(within(dlg).getByRole('button', { name: 'Save' }));
    expect(await screen.findByTestId('price-claude-sonnet-4*')).toBeInTheDocument();
    expect(calls.find((c) => c.method === 'POST')?.body).toEqual({
      model: 'claude-sonnet-4*', provider_id: 7, input: 3000000, cached_input: 0, cache_write: 3750000,
      output: 1, reasoning: null, per_request: 0,
    });
  });

  it('imports a JSON document with one PUT and shows what the API refused', async () => {
    let refuse = true;
    const calls = mockApi({
      ...ME,
      'GET /api/admin/prices': { body: { data: [], total: 0 } },
      'GET /api/admin/providers': { body: { data: [], total: 0 } },
      'GET /api/admin/settings': { body: { currency: 'USD' } },
      'PUT /api/admin/prices': () =>
        refuse
          ? { status: 400, body: { error: { message: "prices[1]: field 'input' must be from 0 to 2305843009213693951", code: 'invalid_field' } } }
          : { body: { replaced: 2 } },
    });
    renderApp('/prices');
    expect(await screen.findByText(/No prices yet/)).toBeInTheDocument();
    const doc = { currency: 'USD', prices: [{ model: 'a', input: 1 }, { model: 'b', input: -1 }] };
    const file = new File([JSON.stringify(doc)], 'prices.json', { type: 'application/json' });
    fireEvent.change(screen.getByTestId('prices-file'), { target: { files: [file] } });
    expect(await screen.findByText(/prices\[1\]: field 'input'/)).toBeInTheDocument();
    expect(calls.find((c) => c.method === 'PUT')?.body).toEqual(doc);
    refuse = false;
    fireEvent.change(screen.getByTestId('prices-file'), { target: { files: [file] } });
    expect(await screen.findByText(/2 prices imported/)).toBeInTheDocument();
  });
});

describe('keys and client keys', () => {
  it('counts down a cooling key', () => {
    const now = Date.parse('2024-01-01T00:00:00Z');
    r(
      <HealthBadge
        now={now}
        k={{
          id: 1,
          provider_id: 1,
          key_masked: 'sk-…abcd',
          label: null,
          enabled: true,
          status: 'cooldown',
          status_reason: 'HTTP 429',
          cooldown_until: '2024-01-01T00:01:30Z',
          requests: 0,
          failures: 1,
          last_used_at: null,
        }}
      />,
    );
    expect(screen.getByText(/cooling · 1m 30s left/)).toBeInTheDocument();
  });

  it('shows a new client key once, with a warning and a copy button', () => {
    r(
      <CreatedKeyDialog
        ck={{ id: 1, name: 'app', key: 'sk-fe-secret', key_prefix: 'sk-fe-secr', allowed_models: [], allowed_groups: [], enabled: true, expires_at: null, rpm_limit: 0, token_quota: 0, tokens_used: 0 }}
        onClose={() => {}}
      />,
    );
    expect(screen.getByTestId('new-client-key')).toHaveTextContent('sk-fe-secret');
    expect(screen.getByRole('alert')).toHaveTextContent(/shown only once/);
    expect(screen.getByRole('button', { name: 'Copy' })).toBeInTheDocument();
  });

  it('adds many keys at once through the bulk form', async () => {
    const calls = mockApi({
      ...ME,
      'GET /api/admin/providers': { body: { data: [{ id: 7, group_id: 1, name: 'p', type: 'openai', base_url: 'http://x/v1', models: [], model_aliases: {}, weight: 1, enabled: true, timeout_ms: 60000 }], total: 1 } },
      'GET /api/admin/groups': { body: { data: [group], total: 1 } },
      'GET /api/admin/keys': { body: { data: [], total: 0 } },
      'POST /api/admin/keys': { status: 201, body: { data: [], total: 2 } },
    });
    renderApp('/keys');
    expect(await screen.findByText(/No keys for this provider/)).toBeInTheDocument();
    fireEvent.click(screen.getByRole('button', { name: /Add keys/ }));
    fireEvent.change(within(screen.getByRole('dialog')).getByRole('textbox', { name: /^Keys/ }), { target: { value: 'sk-one\nsk-two\n' } });
    fireEvent.click(within(screen.getByRole('dialog')).getByRole('button', { name: /Add keys \(2\)/ }));
    expect(await screen.findByText('Added 2 key(s).')).toBeInTheDocument();
    expect(calls.find((c) => c.method === 'POST')?.body).toEqual({ provider_id: 7, keys: ['sk-one', 'sk-two'] });
  });
});

describe('logs', () => {
  it('explains a missing logs endpoint', async () => {
    mockApi({ ...ME, 'GET /api/admin/providers': { body: { data: [], total: 0 } }, 'GET /api/admin/client-keys': { body: { data: [], total: 0 } } });
    renderApp('/logs');
    expect(await screen.findByText(/unknown path: GET \/api\/admin\/logs/)).toBeInTheDocument();
  });

  it('shows the routing trace of a request', () => {
    const entry: LogEntry = {
      id: 9,
      created_at: '2024-01-01T00:00:00Z',
      client_key_id: 1,
      client_key_name: 'app',
      model: 'gpt-4o-mini',
      upstream_model: 'gpt-4o-mini',
      group_id: 1,
      provider_id: 2,
      provider_name: 'backup',
      key_masked: 'sk-…wxyz',
      path: '/v1/chat/completions',
      status: 200,
      stream: false,
      attempts: 2,
      latency_ms: 340,
      ttfb_ms: 300,
      prompt_tokens: 12,
      completion_tokens: 7,
      cached_tokens: 5,
      cache_write_tokens: 2,
      reasoning_tokens: 3,
      usage_estimated: true,
      outcome: 'ok',
      error: null,
      trace: [
        { provider_id: 1, provider: 'primary', key_masked: 'sk-…abcd', action: 'tried', outcome: 'error', reason: 'upstream 503', status: 503, latency_ms: 40 },
        { provider_id: 2, provider: 'backup', key_masked: 'sk-…wxyz', action: 'tried', outcome: 'ok', reason: null, status: 200, latency_ms: 300 },
      ],
    };
    r(<LogDetail entry={entry} onClose={() => {}} />);
    const trace = screen.getByTestId('log-trace');
    expect(trace).toHaveTextContent('primary');
    expect(trace).toHaveTextContent('upstream 503');
    expect(trace).toHaveTextContent('backup');
    // The token kinds, and the flag of an estimate.
    expect(screen.getByText('Cached input').nextSibling).toHaveTextContent('5');
    expect(screen.getByText('Cache write').nextSibling).toHaveTextContent('2');
    expect(screen.getByText('Reasoning').nextSibling).toHaveTextContent('3');
    expect(screen.getByText('estimate')).toBeInTheDocument();
  });
});

describe('i18n', () => {
  it('renders the navigation in Simplified Chinese', async () => {
    mockApi({ ...ME, 'GET /api/admin/groups': { body: { data: [], total: 0 } } });
    renderApp('/groups', 'zh-CN');
    expect(await screen.findByRole('heading', { name: '分组' })).toBeInTheDocument();
    expect(screen.getAllByText('客户端密钥').length).toBeGreaterThan(0);
  });
});
