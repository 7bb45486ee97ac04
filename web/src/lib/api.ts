// The admin API, typed. Every call goes through request(): same origin,
// the session cookie (HttpOnly, SameSite=Strict) rides along, errors come
// back as ApiError carrying the API's own message, and a 401 sends the
// user to the login page. Reads take the AbortSignal TanStack Query hands
// them (lib/queries.ts), so a page that goes away cancels its requests.

export class ApiError extends Error {
  status: number;
  code: string;
  constructor(status: number, code: string, message: string) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

type Unauthorized = () => void;
let onUnauthorized: Unauthorized = () => {
  if (typeof window !== 'undefined' && window.location.pathname !== '/login') {
    const next = window.location.pathname + window.location.search;
    window.location.assign(`/login?next=${encodeURIComponent(next)}`);
  }
};

// Lets the app replace the redirect (it navigates inside the router).
export function setUnauthorizedHandler(fn: Unauthorized) {
  onUnauthorized = fn;
}

export interface RequestOptions {
  noRedirect?: boolean;
  signal?: AbortSignal;
  headers?: Record<string, string>;
}

// Reads: only the signal.
export type Read = Pick<RequestOptions, 'signal'>;

export async function request<T>(method: string, path: string, body?: unknown, opts: RequestOptions = {}): Promise<T> {
  const headers: Record<string, string> = { ...opts.headers, accept: 'application/json' };
  const init: RequestInit = { method, headers, credentials: 'same-origin' };
  if (opts.signal) init.signal = opts.signal;
  if (body !== undefined) {
    headers['content-type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let res: Response;
  try {
    res = await fetch(path, init);
  } catch (e) {
    // A cancelled read is no network error: let the caller see the abort.
    if (opts.signal?.aborted) throw e;
    throw new ApiError(0, 'network_error', `network error: ${(e as Error).message}`);
  }
  const text = await res.text();
  let json: unknown = undefined;
  if (text) {
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
  }
  if (!res.ok) {
    const err = (json as { error?: { message?: string; code?: string } } | undefined)?.error;
    const message = err?.message || `${res.status} ${res.statusText || 'error'}`;
    const e = new ApiError(res.status, err?.code || String(res.status), message);
    if (res.status === 401 && !opts.noRedirect) onUnauthorized();
    throw e;
  }
  return json as T;
}

export interface List<T> {
  data: T[];
  total: number;
}

export interface User {
  id: number;
  username: string;
  must_change_password: boolean;
}

export type Strategy = 'round_robin' | 'weighted' | 'least_latency';

export interface Group {
  id: number;
  name: string;
  priority: number;
  enabled: boolean;
  strategy: Strategy;
  affinity?: 'none' | 'session';
  latency_half_life_seconds?: number;
  created_at?: string;
  updated_at?: string;
}

export interface Provider {
  id: number;
  group_id: number;
  name: string;
  type: string;
  base_url: string;
  models: string[];
  model_aliases: Record<string, string>;
  weight: number;
  enabled: boolean;
  timeout_ms: number;
  responses_api?: boolean;
  // The proxy is shown masked and written whole; omitted, it stays.
  proxy_url?: string;
  extra_headers?: Record<string, string>;
  body_overrides?: { set?: Record<string, unknown>; remove?: string[] };
  failover_statuses?: number[];
  no_cooldown_statuses?: number[];
  probe_interval_seconds?: number;
  probe_disabled?: boolean;
}

export interface UpstreamKey {
  id: number;
  provider_id: number;
  key_masked: string;
  label: string | null;
  enabled: boolean;
  status: 'active' | 'cooldown' | 'disabled';
  status_reason: string | null;
  cooldown_until: string | null;
  requests: number;
  failures: number;
  last_used_at: string | null;
}

export interface ClientKey {
  id: number;
  name: string;
  key?: string;
  key_prefix: string;
  allowed_models: string[];
  allowed_groups: number[];
  enabled: boolean;
  expires_at: string | null;
  rpm_limit: number;
  token_quota: number;
  tokens_used: number;
  // Micro-units of the gateway's currency; 0: no budget.
  budget_daily?: number;
  budget_monthly?: number;
  budget_total?: number;
  spent_today?: number;
  spent_month?: number;
  spent_total?: number;
}

// Micro-units of the currency per million tokens (per_request: per
// request); provider_id null is any provider, reasoning null the output
// price; a model ending in * is a prefix.
export interface Price {
  id: number;
  model: string;
  provider_id: number | null;
  input: number;
  cached_input: number;
  cache_write: number;
  output: number;
  reasoning: number | null;
  per_request: number;
}

export interface Settings {
  log_retention_days: number;
  rollup_retention_days: number;
  log_max_mb: number;
  currency?: string;
  budget_timezone?: string;
}

export interface CostFigures {
  id?: number;
  model?: string;
  name?: string | null;
  requests: number;
  cost: number;
}

export interface Stats {
  total_groups: number;
  enabled_groups: number;
  total_providers: number;
  enabled_providers: number;
  total_keys: number;
  active_keys: number;
  total_client_keys: number;
  enabled_client_keys: number;
  requests?: number;
  errors?: number;
  prompt_tokens?: number;
  completion_tokens?: number;
  latency_p50_ms?: number;
  latency_p95_ms?: number;
  cooling_keys?: number;
  disabled_keys?: number;
  providers?: { id: number; name: string; requests: number; errors: number; cost: number }[];
  cost?: number;
  currency?: string;
  clients?: CostFigures[];
  models?: CostFigures[];
}

export interface Point {
  t: string;
  requests: number;
  errors: number;
  latency_p50_ms: number;
  latency_p95_ms: number;
  prompt_tokens: number;
  completion_tokens: number;
  cost?: number;
}

export interface Timeseries {
  bucket_seconds: number;
  data: Point[];
}

export interface TraceStep {
  provider_id: number;
  provider: string;
  key_masked: string | null;
  action: 'skipped' | 'tried';
  outcome: string;
  reason: string | null;
  status: number | null;
  latency_ms: number | null;
  strategy?: string;
}

export interface LogEntry {
  id: number;
  created_at: string;
  client_key_id: number | null;
  client_key_name: string | null;
  model: string;
  upstream_model: string | null;
  group_id: number | null;
  provider_id: number | null;
  provider_name: string | null;
  key_masked: string | null;
  path: string;
  status: number;
  stream: boolean;
  attempts: number;
  latency_ms: number;
  ttfb_ms: number | null;
  prompt_tokens: number | null;
  completion_tokens: number | null;
  cached_tokens?: number;
  cache_write_tokens?: number;
  reasoning_tokens?: number;
  usage_estimated?: boolean;
  outcome: 'ok' | 'error' | 'cancelled';
  error: string | null;
  cost?: number;
  cost_estimated?: boolean;
  currency?: string;
  trace: TraceStep[];
  admin_user?: string | null;
}

export interface ProviderTest {
  ok: boolean;
  status: number;
  latency_ms: number;
  model: string;
  message: string;
}

export interface KeyTest {
  ok: boolean;
  status: number;
  latency_ms: number;
  message: string;
  key_status: UpstreamKey['status'];
}

export interface ModelsSync {
  provider_id: number;
  upstream: string[];
  added: string[];
  removed: string[];
  applied: boolean;
  models: string[];
}

// The answer of POST /api/admin/import: what the document changes (or
// would, with dry_run), and the keys of the client keys it made, shown
// only in that answer.
export interface ImportChange {
  action: 'create' | 'update';
  kind: 'group' | 'provider' | 'key' | 'client_key' | 'price';
  name: string;
  fields?: string[];
}

export interface ImportResult {
  dry_run: boolean;
  created: number;
  updated: number;
  unchanged: number;
  changes: ImportChange[];
  warnings: string[];
  client_keys?: { name: string; key: string }[];
}

// A header value is a string of bytes: the passphrase goes as its UTF-8
// bytes, which is what the gateway compares (and CONFIG_PASSPHRASE holds).
function passphraseHeader(passphrase?: string): Record<string, string> | undefined {
  if (!passphrase) return undefined;
  const bytes = new TextEncoder().encode(passphrase);
  return { 'x-fusion-passphrase': String.fromCharCode(...bytes) };
}

function qs(params: Record<string, string | number | undefined | null>): string {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v !== undefined && v !== null && v !== '') p.set(k, String(v));
  }
  const s = p.toString();
  return s ? `?${s}` : '';
}

export const api = {
  me: (o: Read = {}) => request<User>('GET', '/api/auth/me', undefined, { ...o, noRedirect: true }),
  login: (username: string, password: string) =>
    request<{ token: string; user: User }>('POST', '/api/auth/login', { username, password }, { noRedirect: true }),
  logout: () => request<void>('POST', '/api/auth/logout', undefined, { noRedirect: true }),
  changePassword: (old_password: string, new_password: string) =>
    request<unknown>('PUT', '/api/auth/password', { old_password, new_password }),

  stats: (window?: number, o?: Read) => request<Stats>('GET', `/api/admin/stats${qs({ window })}`, undefined, o),
  timeseries: (window: number, o?: Read) =>
    request<Timeseries>('GET', `/api/admin/stats/timeseries${qs({ window })}`, undefined, o),

  groups: (o?: Read) => request<List<Group>>('GET', '/api/admin/groups?limit=1000', undefined, o),
  createGroup: (g: Partial<Group>) => request<Group>('POST', '/api/admin/groups', g),
  updateGroup: (id: number, g: Partial<Group>) => request<Group>('PATCH', `/api/admin/groups/${id}`, g),
  deleteGroup: (id: number) => request<unknown>('DELETE', `/api/admin/groups/${id}`),

  providers: (group_id?: number, o?: Read) =>
    request<List<Provider>>('GET', `/api/admin/providers${qs({ limit: 1000, group_id })}`, undefined, o),
  createProvider: (p: Partial<Provider>) => request<Provider>('POST', '/api/admin/providers', p),
  updateProvider: (id: number, p: Partial<Provider>) =>
    request<Provider>('PATCH', `/api/admin/providers/${id}`, p),
  deleteProvider: (id: number) => request<unknown>('DELETE', `/api/admin/providers/${id}`),
  testProvider: (id: number, model?: string) =>
    request<ProviderTest>('POST', `/api/admin/providers/${id}/test`, model ? { model } : {}),
  syncModels: (id: number, apply: boolean) =>
    request<ModelsSync>('POST', `/api/admin/providers/${id}/models/sync${apply ? '?apply=true' : ''}`),

  keys: (provider_id?: number, o?: Read) =>
    request<List<UpstreamKey>>('GET', `/api/admin/keys${qs({ limit: 1000, provider_id })}`, undefined, o),
  addKey: (provider_id: number, key: string, label?: string) =>
    request<UpstreamKey>('POST', '/api/admin/keys', { provider_id, key, ...(label ? { label } : {}) }),
  addKeys: (provider_id: number, keys: string[]) =>
    request<unknown>('POST', '/api/admin/keys', { provider_id, keys }),
  updateKey: (id: number, k: Partial<UpstreamKey> & { status?: string }) =>
    request<UpstreamKey>('PATCH', `/api/admin/keys/${id}`, k),
  deleteKey: (id: number) => request<unknown>('DELETE', `/api/admin/keys/${id}`),
  testKey: (id: number) => request<KeyTest>('POST', `/api/admin/keys/${id}/test`),

  clientKeys: (o?: Read) => request<List<ClientKey>>('GET', '/api/admin/client-keys?limit=1000', undefined, o),
  createClientKey: (k: Partial<ClientKey>) => request<ClientKey>('POST', '/api/admin/client-keys', k),
  updateClientKey: (id: number, k: Partial<ClientKey>) =>
    request<ClientKey>('PATCH', `/api/admin/client-keys/${id}`, k),
  deleteClientKey: (id: number) => request<unknown>('DELETE', `/api/admin/client-keys/${id}`),

  prices: (o?: Read) => request<List<Price>>('GET', '/api/admin/prices?limit=1000', undefined, o),
  createPrice: (p: Partial<Price>) => request<Price>('POST', '/api/admin/prices', p),
  updatePrice: (id: number, p: Partial<Price>) => request<Price>('PATCH', `/api/admin/prices/${id}`, p),
  deletePrice: (id: number) => request<unknown>('DELETE', `/api/admin/prices/${id}`),
  // The whole list replaced by one document, in one transaction.
  replacePrices: (doc: unknown) => request<{ replaced: number }>('PUT', '/api/admin/prices', doc),

  logs: (f: LogFilter, o?: Read) => request<List<LogEntry>>('GET', `/api/admin/logs${qs({ ...f })}`, undefined, o),

  settings: (o?: Read) => request<Settings>('GET', '/api/admin/settings', undefined, o),
  // With a passphrase the upstream keys come too, sealed to it.
  exportConfig: (passphrase?: string) =>
    request<Record<string, unknown>>('GET', `/api/admin/export${passphrase ? '?secrets=true' : ''}`, undefined, {
      headers: passphraseHeader(passphrase),
    }),
  importConfig: (doc: unknown, dryRun: boolean, passphrase?: string) =>
    request<ImportResult>('POST', `/api/admin/import${dryRun ? '?dry_run=true' : ''}`, doc, {
      headers: passphraseHeader(passphrase),
    }),
};

export interface LogFilter {
  limit?: number;
  offset?: number;
  model?: string;
  request_id?: string;
  provider_id?: number | string;
  client_key_id?: number | string;
  status?: number | string;
  since?: number;
  until?: number;
}
