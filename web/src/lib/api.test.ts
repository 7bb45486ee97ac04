import { afterEach, describe, expect, it, vi } from 'vitest';
import { api, ApiError, request, setUnauthorizedHandler } from './api';

function respond(status: number, body: unknown) {
  return vi.fn().mockResolvedValue(
    new Response(body === undefined ? '' : JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } }),
  );
}

afterEach(() => vi.unstubAllGlobals());

describe('request', () => {
  it('sends JSON with same-origin credentials', async () => {
    const f = respond(200, { id: 1 });
    vi.stubGlobal('fetch', f);
    await request('POST', '/api/admin/groups', { name: 'g' });
    const [path, init] = f.mock.calls[0];
    expect(path).toBe('/api/admin/groups');
    expect(init.credentials).toBe('same-origin');
    expect(init.headers['content-type']).toBe('application/json');
    expect(JSON.parse(init.body)).toEqual({ name: 'g' });
  });

  it("throws the API's error message", async () => {
    vi.stubGlobal('fetch', respond(409, { error: { message: 'a group with that name already exists', code: 'conflict' } }));
    await expect(api.createGroup({ name: 'x' })).rejects.toMatchObject({
      status: 409,
      code: 'conflict',
      message: 'a group with that name already exists',
    });
  });

  it('calls the unauthorized handler on 401', async () => {
    const h = vi.fn();
    setUnauthorizedHandler(h);
    vi.stubGlobal('fetch', respond(401, { error: { message: 'log in first', code: 'unauthorized' } }));
    await expect(api.groups()).rejects.toBeInstanceOf(ApiError);
    expect(h).toHaveBeenCalledOnce();
  });

  it('does not redirect for /api/auth/me', async () => {
    const h = vi.fn();
    setUnauthorizedHandler(h);
    vi.stubGlobal('fetch', respond(401, { error: { message: 'not logged in' } }));
    await expect(api.me()).rejects.toBeInstanceOf(ApiError);
    expect(h).not.toHaveBeenCalled();
  });

  it('builds the logs query without empty filters', async () => {
    const f = respond(200, { data: [], total: 0 });
    vi.stubGlobal('fetch', f);
    await api.logs({ limit: 50, offset: 0, model: '', provider_id: 3 });
    expect(f.mock.calls[0][0]).toBe('/api/admin/logs?limit=50&offset=0&provider_id=3');
  });

  it('reports a network failure in words', async () => {
    vi.stubGlobal('fetch', vi.fn().mockRejectedValue(new TypeError('Failed to fetch')));
    await expect(api.groups()).rejects.toThrow('network error: Failed to fetch');
  });
});
