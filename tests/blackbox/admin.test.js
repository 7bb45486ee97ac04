// The admin API: CRUD of groups, providers, upstream keys and client keys,
// validation, conflicts, cascades and what is (never) shown of secrets.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { gateway } from './harness.js';

function assertError(r, status, fieldOrCode) {
  assert.equal(r.status, status, r.text);
  assert.equal(typeof r.json?.error?.message, 'string', r.text);
  if (fieldOrCode) {
    const { message, code } = r.json.error;
    assert.ok(message.includes(`'${fieldOrCode}'`) || code === fieldOrCode,
      `expected ${fieldOrCode} in ${r.text}`);
  }
}

async function setup(t, opts) {
  const gw = await gateway(t, opts);
  const token = await gw.admin();
  const call = (method, path, body) => gw.api(method, path, { token, body });
  return { gw, token, call };
}

test("the product description's group payload works as written", async (t) => {
  const { call } = await setup(t);
  const r = await call('POST', '/api/admin/groups', { Name: 'new-group', Priority: 10, Enabled: true });
  assert.equal(r.status, 201, r.text);
  assert.deepEqual(Object.keys(r.json).sort(),
    ['affinity', 'created_at', 'enabled', 'id', 'latency_half_life_seconds', 'name', 'priority', 'strategy', 'updated_at']);
  assert.equal(r.json.name, 'new-group');
  assert.equal(r.json.priority, 10);
  assert.equal(r.json.enabled, true);
  assert.equal(r.json.strategy, 'round_robin');
  assert.match(r.json.created_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);

  const list = await call('GET', '/api/admin/groups');
  assert.equal(list.status, 200);
  assert.equal(list.json.total, 1);
  assert.deepEqual(list.json.data[0], r.json);
  assert.deepEqual((await call('GET', `/api/admin/groups/${r.json.id}`)).json, r.json);

  const stats = await call('GET', '/api/admin/stats');
  assert.equal(stats.json.total_groups, 1);
  assert.equal(stats.json.enabled_groups, 1);
});

test('groups: PUT replaces, PATCH updates only what is given, DELETE removes', async (t) => {
  const { call } = await setup(t);
  const g = (await call('POST', '/api/admin/groups', { name: 'a', priority: 5, strategy: 'weighted', enabled: false })).json;

  const patched = await call('PATCH', `/api/admin/groups/${g.id}`, { priority: 7 });
  assert.equal(patched.status, 200, patched.text);
  assert.equal(patched.json.priority, 7);
  assert.equal(patched.json.strategy, 'weighted');
  assert.equal(patched.json.enabled, false);
  assert.equal(patched.json.name, 'a');

  const put = await call('PUT', `/api/admin/groups/${g.id}`, { name: 'b' });
  assert.equal(put.status, 200, put.text);
  assert.equal(put.json.name, 'b');
  assert.equal(put.json.priority, 0);
  assert.equal(put.json.strategy, 'round_robin');
  assert.equal(put.json.enabled, true);
  assertError(await call('PUT', `/api/admin/groups/${g.id}`, { priority: 1 }), 400, 'name');

  assert.equal((await call('DELETE', `/api/admin/groups/${g.id}`)).status, 204);
  assertError(await call('GET', `/api/admin/groups/${g.id}`), 404, 'not_found');
  assertError(await call('DELETE', `/api/admin/groups/${g.id}`), 404, 'not_found');
  assertError(await call('PATCH', '/api/admin/groups/999', { priority: 1 }), 404, 'not_found');
  assertError(await call('PUT', '/api/admin/groups/999', { name: 'x' }), 404, 'not_found');
});

test('validation: wrong types, empty names, bad values and malformed JSON are 400 and write nothing', async (t) => {
  const { gw, token, call } = await setup(t);
  await call('POST', '/api/admin/groups', { name: 'keep', priority: 1 });
  const before = gw.sql('SELECT * FROM groups');

  const bad = [
    [{ priority: 1 }, 'name'],
    [{ name: '' }, 'name'],
    [{ name: '   ' }, 'name'],
    [{ name: 42 }, 'name'],
    [{ name: 'x', priority: '10' }, 'priority'],
    [{ name: 'x', priority: 1.5 }, 'priority'],
    [{ name: 'x', priority: 1e12 }, 'priority'],
    [{ name: 'x', enabled: 'yes' }, 'enabled'],
    [{ name: 'x', enabled: null }, 'enabled'],
    [{ name: 'x', strategy: 'random' }, 'strategy'],
    [{ name: 'x'.repeat(129) }, 'name'],
  ];
  for (const [body, field] of bad) {
    assertError(await call('POST', '/api/admin/groups', body), 400, field);
  }
  for (const raw of ['{"name":', 'not json', '[]', '"x"', '', '{"name":"a"}}']) {
    const r = await gw.api('POST', '/api/admin/groups', { token, raw });
    assertError(r, 400);
  }
  assertError(await call('PATCH', '/api/admin/groups/1', { priority: 'high' }), 400, 'priority');
  assertError(await gw.api('GET', '/api/admin/groups?limit=abc', { token }), 400);
  assertError(await gw.api('GET', '/api/admin/groups?limit=0', { token }), 400);
  assert.equal(gw.sql('SELECT * FROM groups'), before);
});

test('duplicate names are 409 and unknown ids 404', async (t) => {
  const { call } = await setup(t);
  const g = (await call('POST', '/api/admin/groups', { name: 'dup' })).json;
  assertError(await call('POST', '/api/admin/groups', { name: 'dup' }), 409, 'conflict');
  const other = (await call('POST', '/api/admin/groups', { name: 'other' })).json;
  assertError(await call('PATCH', `/api/admin/groups/${other.id}`, { name: 'dup' }), 409, 'conflict');

  const p = { group_id: g.id, name: 'p', base_url: 'https://api.example.com/v1' };
  assert.equal((await call('POST', '/api/admin/providers', p)).status, 201);
  assertError(await call('POST', '/api/admin/providers', p), 409, 'conflict');
  // The same provider name in another group is fine.
  assert.equal((await call('POST', '/api/admin/providers', { ...p, group_id: other.id })).status, 201);
  assertError(await call('POST', '/api/admin/providers', { ...p, group_id: 9999 }), 404, 'group_id');
  assertError(await call('POST', '/api/admin/keys', { provider_id: 9999, key: 'sk-0123456789abcdef' }), 404, 'provider_id');
});

test('providers: fields, model lists and aliases, filters, paging', async (t) => {
  const { gw, token, call } = await setup(t);
  const g1 = (await call('POST', '/api/admin/groups', { name: 'g1' })).json;
  const g2 = (await call('POST', '/api/admin/groups', { name: 'g2' })).json;

  const r = await call('POST', '/api/admin/providers', {
    GroupID: g1.id, Name: 'openai-main', base_url: 'https://api.openai.com/v1',
    models: ['gpt-4o', 'gpt-4o-mini'], model_aliases: { fast: 'gpt-4o-mini' },
    weight: 3, timeout_ms: 30000,
  });
  assert.equal(r.status, 201, r.text);
  assert.deepEqual(
    Object.fromEntries(Object.entries(r.json).filter(([k]) => !k.endsWith('_at'))),
    {
      id: r.json.id, group_id: g1.id, name: 'openai-main', type: 'openai',
      base_url: 'https://api.openai.com/v1', models: ['gpt-4o', 'gpt-4o-mini'],
      model_aliases: { fast: 'gpt-4o-mini' }, weight: 3, enabled: true, timeout_ms: 30000,
      tls_verify: true, ca_cert: '', responses_api: true, proxy_url: '', extra_headers: {}, body_overrides: {},
      failover_statuses: [], no_cooldown_statuses: [], probe_interval_seconds: 0, probe_disabled: false,
    });

  for (const [body, field] of [
    [{ base_url: 'ftp://x' }, 'base_url'],
    [{ base_url: 'https://user:secret@x.com' }, 'base_url'],
    [{ base_url: 'not a url' }, 'base_url'],
    [{ type: 'cohere' }, 'type'],
    [{ models: 'gpt-4o' }, 'models'],
    [{ models: [1, 2] }, 'models'],
    [{ model_aliases: ['a'] }, 'model_aliases'],
    [{ model_aliases: { a: 1 } }, 'model_aliases'],
    [{ weight: -1 }, 'weight'],
    [{ timeout_ms: 5 }, 'timeout_ms'],
    [{ tls_verify: 'no' }, 'tls_verify'],
    [{ ca_cert: 'not a certificate' }, 'ca_cert'],
  ]) {
    assertError(await call('POST', '/api/admin/providers', { group_id: g1.id, name: 'n', base_url: 'http://x', ...body }), 400, field);
  }

  for (let i = 0; i < 5; i++) {
    await call('POST', '/api/admin/providers', { group_id: g2.id, name: `p${i}`, base_url: 'http://127.0.0.1:1' });
  }
  const inG2 = await gw.api('GET', `/api/admin/providers?group_id=${g2.id}`, { token });
  assert.equal(inG2.json.total, 5);
  assert.ok(inG2.json.data.every((p) => p.group_id === g2.id));
  const page = await gw.api('GET', `/api/admin/providers?group_id=${g2.id}&limit=2&offset=2`, { token });
  assert.equal(page.json.total, 5);
  assert.deepEqual(page.json.data.map((p) => p.name), ['p2', 'p3']);
  assert.equal((await gw.api('GET', '/api/admin/providers', { token })).json.total, 6);
});

test('upstream keys: sealed at rest, masked in every answer, bulk add skips duplicates', async (t) => {
  const { gw, token, call } = await setup(t);
  const g = (await call('POST', '/api/admin/groups', { name: 'g' })).json;
  const p = (await call('POST', '/api/admin/providers', { group_id: g.id, name: 'p', base_url: 'http://127.0.0.1:1' })).json;
  const secret = 'sk-proj-SECRETabcdefghijklmnopqrstuvwxyz0123';

  const one = await call('POST', '/api/admin/keys', { provider_id: p.id, key: secret, label: 'primary' });
  assert.equal(one.status, 201, one.text);
  assert.equal(one.json.key_masked, 'sk-...0123');
  assert.equal(one.json.status, 'active');
  assert.equal(one.json.label, 'primary');
  assert.equal(one.json.key, undefined);
  for (const k of ['status_reason', 'cooldown_until', 'requests', 'failures', 'last_used_at', 'enabled']) {
    assert.ok(k in one.json, k);
  }

  const many = [secret, 'sk-second-key-000000000000001111', 'sk-third-key-0000000000000002222', 'sk-third-key-0000000000000002222'];
  const bulk = await call('POST', '/api/admin/keys', { provider_id: p.id, keys: many, label: 'bulk' });
  assert.equal(bulk.status, 201, bulk.text);
  assert.equal(bulk.json.total, 2);
  assert.equal(bulk.json.skipped, 2);
  assert.deepEqual(bulk.json.data.map((k) => k.key_masked), ['sk-...1111', 'sk-...2222']);

  assertError(await call('POST', '/api/admin/keys', { provider_id: p.id, key: secret }), 409, 'conflict');
  assertError(await call('POST', '/api/admin/keys', { provider_id: p.id, keys: ['ok-key-1234567890', 'has space'] }), 400, 'keys');
  assertError(await call('POST', '/api/admin/keys', { provider_id: p.id }), 400, 'key');
  assertError(await call('POST', '/api/admin/keys', { provider_id: p.id, key: '' }), 400, 'key');
  assertError(await call('PATCH', `/api/admin/keys/${one.json.id}`, { status: 'disabled' }), 400, 'status');

  const list = await gw.api('GET', `/api/admin/keys?provider_id=${p.id}`, { token });
  assert.equal(list.json.total, 3);
  const everything = [list, one, bulk].map((r) => r.text).join('');
  for (const s of many) assert.ok(!everything.includes(s), 'a whole key was returned');

  // Not in the database file in the clear either.
  const file = fs.readFileSync(gw.dbPath).toString('latin1') +
    (fs.existsSync(`${gw.dbPath}-wal`) ? fs.readFileSync(`${gw.dbPath}-wal`).toString('latin1') : '');
  for (const s of many) assert.ok(!file.includes(s), 'a key is stored in the clear');

  // Replacing the secret and resetting the health state.
  gw.sql(`UPDATE upstream_keys SET status = 'cooldown', status_reason = '429', cooldown_until = 9999999999 WHERE id = ${one.json.id}`);
  const reset = await call('PATCH', `/api/admin/keys/${one.json.id}`, { status: 'active' });
  assert.equal(reset.status, 200, reset.text);
  assert.equal(reset.json.status, 'active');
  assert.equal(reset.json.cooldown_until, null);
  const replaced = await call('PATCH', `/api/admin/keys/${one.json.id}`, { key: 'sk-new-secret-9999999999998888', enabled: false });
  assert.equal(replaced.json.key_masked, 'sk-...8888');
  assert.equal(replaced.json.enabled, false);
  assert.equal(replaced.json.label, 'primary');
});

test('client keys: the key is shown once, stored as a hash, with allowlists and limits', async (t) => {
  const { gw, token, call } = await setup(t);
  const g = (await call('POST', '/api/admin/groups', { name: 'g' })).json;
  const r = await call('POST', '/api/admin/client-keys', {
    name: 'mobile-app', allowed_models: ['gpt-4o'], allowed_groups: [g.id],
    expires_at: '2030-01-01T00:00:00Z', rpm_limit: 60, token_quota: 100000,
  });
  assert.equal(r.status, 201, r.text);
  const key = r.json.key;
  assert.match(key, /^sk-fe-[A-Za-z0-9_-]{43}$/);
  assert.equal(r.json.key_prefix, key.slice(0, 10));
  assert.deepEqual(r.json.allowed_models, ['gpt-4o']);
  assert.deepEqual(r.json.allowed_groups, [g.id]);
  assert.equal(r.json.expires_at, '2030-01-01T00:00:00Z');
  assert.equal(r.json.rpm_limit, 60);
  assert.equal(r.json.token_quota, 100000);
  assert.equal(r.json.tokens_used, 0);
  assert.equal(r.json.enabled, true);

  const again = await call('GET', `/api/admin/client-keys/${r.json.id}`);
  assert.equal(again.json.key, undefined);
  assert.ok(!again.text.includes(key));
  const list = await gw.api('GET', '/api/admin/client-keys', { token });
  assert.ok(!list.text.includes(key));
  assert.ok(!gw.sql('SELECT * FROM client_keys').includes(key));

  const patched = await call('PATCH', `/api/admin/client-keys/${r.json.id}`, { enabled: false, expires_at: null, tokens_used: 0 });
  assert.equal(patched.json.enabled, false);
  assert.equal(patched.json.expires_at, null);
  assert.equal(patched.json.key, undefined);

  assertError(await call('POST', '/api/admin/client-keys', { name: 'mobile-app' }), 409, 'conflict');
  assertError(await call('POST', '/api/admin/client-keys', { name: 'x', key: 'sk-mine' }), 400, 'key');
  assertError(await call('POST', '/api/admin/client-keys', { name: 'x', allowed_groups: ['g'] }), 400, 'allowed_groups');
  assertError(await call('POST', '/api/admin/client-keys', { name: 'x', expires_at: 'tomorrow' }), 400, 'expires_at');
  assertError(await call('POST', '/api/admin/client-keys', { name: 'x', rpm_limit: -1 }), 400, 'rpm_limit');
  const two = await call('POST', '/api/admin/client-keys', { name: 'second' });
  assert.notEqual(two.json.key, key);
});

test('deleting a group removes its providers and their keys', async (t) => {
  const { gw, call } = await setup(t);
  const g = (await call('POST', '/api/admin/groups', { name: 'g' })).json;
  const keep = (await call('POST', '/api/admin/groups', { name: 'keep' })).json;
  const p = (await call('POST', '/api/admin/providers', { group_id: g.id, name: 'p', base_url: 'http://127.0.0.1:1' })).json;
  const q = (await call('POST', '/api/admin/providers', { group_id: keep.id, name: 'q', base_url: 'http://127.0.0.1:1' })).json;
  await call('POST', '/api/admin/keys', { provider_id: p.id, keys: ['sk-aaaaaaaaaaaaaaaa', 'sk-bbbbbbbbbbbbbbbb'] });
  await call('POST', '/api/admin/keys', { provider_id: q.id, key: 'sk-cccccccccccccccc' });

  let stats = (await call('GET', '/api/admin/stats')).json;
  assert.equal(stats.total_providers, 2);
  assert.equal(stats.total_keys, 3);

  assert.equal((await call('DELETE', `/api/admin/groups/${g.id}`)).status, 204);
  stats = (await call('GET', '/api/admin/stats')).json;
  assert.equal(stats.total_groups, 1);
  assert.equal(stats.total_providers, 1);
  assert.equal(stats.total_keys, 1);
  assertError(await call('GET', `/api/admin/providers/${p.id}`), 404);
  assert.equal(gw.sql(`SELECT count(*) FROM upstream_keys WHERE provider_id = ${p.id}`), '0');
});

test('unknown methods are 405 and unknown paths 404, both in OpenAI error shape', async (t) => {
  const { gw, token } = await setup(t);
  assertError(await gw.api('DELETE', '/api/admin/groups', { token }), 405);
  assertError(await gw.api('POST', '/api/admin/groups/1', { token, body: {} }), 405);
  assertError(await gw.api('GET', '/api/admin/nothing', { token }), 404, 'not_found');
  assertError(await gw.api('GET', '/api/admin/groups/abc', { token }), 404);
});

test('cross-site writes are refused; same-origin and script writes go through', async (t) => {
  const { gw, token } = await setup(t);
  const login = await gw.api('POST', '/api/auth/login', { body: { username: 'admin', password: 'correct-horse-battery' } });
  const cookie = login.headers.get('set-cookie').split(';')[0];
  const host = new URL(gw.url).host;

  for (const headers of [{ origin: 'https://evil.example' }, { referer: 'https://evil.example/page' }, { origin: `http://${host}.evil.example` }]) {
    const r = await gw.api('POST', '/api/admin/groups', { headers: { cookie, ...headers }, body: { name: 'csrf' } });
    assertError(r, 403, 'cross_site_request');
  }
  assertError(await gw.api('PUT', '/api/auth/password', { headers: { cookie, origin: 'https://evil.example' }, body: { old_password: 'x', new_password: 'yyyyyyyyyy' } }), 403, 'cross_site_request');
  assert.equal(gw.sql('SELECT count(*) FROM groups'), '0');

  assert.equal((await gw.api('POST', '/api/admin/groups', { headers: { cookie, origin: `http://${host}` }, body: { name: 'same-origin' } })).status, 201);
  assert.equal((await gw.api('POST', '/api/admin/groups', { token, body: { name: 'script' } })).status, 201);
  // Reads are not writes.
  assert.equal((await gw.api('GET', '/api/admin/groups', { headers: { cookie, origin: 'https://evil.example' } })).status, 200);
});

test('the audit log records who changed what and when, never a secret value', async (t) => {
  const { gw, call } = await setup(t);
  const g = (await call('POST', '/api/admin/groups', { name: 'audited', priority: 2 })).json;
  await call('PATCH', `/api/admin/groups/${g.id}`, { enabled: false });
  const p = (await call('POST', '/api/admin/providers', { group_id: g.id, name: 'p', base_url: 'http://127.0.0.1:1' })).json;
  await call('POST', '/api/admin/keys', { provider_id: p.id, key: 'sk-audit-secret-0000000000001' });
  await call('POST', '/api/admin/keys', { provider_id: p.id, keys: ['sk-audit-secret-0000000000002', 'sk-audit-secret-0000000000003'] });
  const ck = (await call('POST', '/api/admin/client-keys', { name: 'c' })).json;
  await call('DELETE', `/api/admin/groups/${g.id}`);
  await gw.api('POST', '/api/auth/login', { body: { username: 'admin', password: 'wrong-password' } });

  const audit = await call('GET', '/api/admin/audit?limit=50');
  assert.equal(audit.status, 200);
  const rows = audit.json.data.map((r) => [r.username, r.action, r.target, r.detail]);
  assert.deepEqual(rows.slice(0, 8), [
    ['', 'login_failed', 'user', ''],
    ['admin', 'delete', `group ${g.id}`, ''],
    ['admin', 'create', `client key ${ck.id}`, 'fields: name'],
    ['admin', 'bulk_create', `provider ${p.id}`, '2 keys added, 0 already there'],
    ['admin', 'create', 'key 1', 'fields: provider_id, key'],
    ['admin', 'create', `provider ${p.id}`, 'fields: group_id, name, base_url'],
    ['admin', 'update', `group ${g.id}`, 'fields: enabled'],
    ['admin', 'create', `group ${g.id}`, 'fields: name, priority'],
  ]);
  assert.ok(rows.some((r) => r[1] === 'password_change'));
  assert.ok(rows.some((r) => r[1] === 'login'));
  assert.ok(audit.json.data.every((r) => r.remote_addr === '127.0.0.1' && /Z$/.test(r.created_at)));
  assert.ok(!audit.text.includes('sk-audit-secret'), 'an upstream key in the audit log');
  assert.ok(!audit.text.includes(ck.key), 'a client key in the audit log');
  assert.ok(!audit.text.includes('wrong-password') && !audit.text.includes('correct-horse'), 'a password in the audit log');
});

test('JSON escapes of any character work, as Python clients send them', async (t) => {
  const { gw, token } = await setup(t);
  const r = await gw.api('POST', '/api/admin/groups', { token, raw: '{"name":"\\u7ec4 \\ud83d\\ude00 caf\\u00e9"}' });
  assert.equal(r.status, 201, r.text);
  assert.equal(r.json.name, '组 😀 café');
  for (const raw of ['{"name":"a\\u0000b"}', '{"name":"\\ud800"}', '{"name":"\\udc00x"}', '{"name":"\\u12"}']) {
    assertError(await gw.api('POST', '/api/admin/groups', { token, raw }), 400);
  }
  assert.equal(gw.sql('SELECT count(*) FROM groups'), '1');
});
