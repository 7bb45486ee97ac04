// The admin API refuses what it would otherwise drop on the floor: a
// field no resource has (a typo, or a setting of another release) and a
// field only the gateway writes get a 400 naming them, and the request
// changes nothing. Names still match regardless of case and underscores.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gateway } from './harness.js';

async function setup(t) {
  const gw = await gateway(t);
  const token = await gw.admin();
  const call = (method, path, body) => gw.api(method, path, { token, body });
  return { gw, call };
}

function refused(r, code, ...names) {
  assert.equal(r.status, 400, r.text);
  assert.equal(r.json?.error?.code, code, r.text);
  for (const n of names) assert.ok(r.json.error.message.includes(`'${n}'`), `${n} named in ${r.text}`);
}

test('unknown fields are refused with a 400 naming every one of them, on every resource', async (t) => {
  const { call } = await setup(t);

  refused(await call('POST', '/api/admin/groups', { name: 'g', affinty: 'session', stratgy: 'weighted' }), 'unknown_field', 'affinty', 'stratgy');
  assert.equal((await call('GET', '/api/admin/groups')).json.total, 0);

  // Case and underscores do not count: these are known fields.
  const g = await call('POST', '/api/admin/groups', { Name: 'g', AFFINITY: 'session', Latency_Half_Life_Seconds: 4, strategy: 'least_latency' });
  assert.equal(g.status, 201, g.text);
  assert.equal(g.json.affinity, 'session');
  assert.equal(g.json.latency_half_life_seconds, 4);
  assert.equal(g.json.strategy, 'least_latency');

  refused(await call('PATCH', `/api/admin/groups/${g.json.id}`, { priority: 3, sticky: true }), 'unknown_field', 'sticky');
  assert.equal((await call('GET', `/api/admin/groups/${g.json.id}`)).json.priority, 0);

  refused(await call('POST', '/api/admin/providers', {
    group_id: g.json.id, name: 'p', base_url: 'http://127.0.0.1:1/v1', proxy: 'http://127.0.0.1:3128',
  }), 'unknown_field', 'proxy');
  const p = await call('POST', '/api/admin/providers', { group_id: g.json.id, name: 'p', base_url: 'http://127.0.0.1:1/v1', ProxyURL: 'http://127.0.0.1:3128' });
  assert.equal(p.status, 201, p.text);
  assert.equal(p.json.proxy_url, 'http://127.0.0.1:3128');
  refused(await call('PUT', `/api/admin/providers/${p.json.id}`, { group_id: g.json.id, name: 'p', base_url: 'http://x', headers: {} }), 'unknown_field', 'headers');
  assert.equal((await call('GET', `/api/admin/providers/${p.json.id}`)).json.base_url, 'http://127.0.0.1:1/v1');

  refused(await call('POST', '/api/admin/keys', { provider_id: p.json.id, key: 'sk-one-0123456789abcdef', lable: 'x' }), 'unknown_field', 'lable');
  refused(await call('POST', '/api/admin/keys', { provider_id: p.json.id, keys: ['sk-two-0123456789abcdef'], labels: 'x' }), 'unknown_field', 'labels');
  assert.equal((await call('GET', '/api/admin/keys')).json.total, 0);
  const k = await call('POST', '/api/admin/keys', { provider_id: p.json.id, key: 'sk-one-0123456789abcdef', Label: 'x' });
  assert.equal(k.status, 201, k.text);
  refused(await call('PATCH', `/api/admin/keys/${k.json.id}`, { enabled: false, weight: 2 }), 'unknown_field', 'weight');
  assert.equal((await call('GET', `/api/admin/keys/${k.json.id}`)).json.enabled, true);

  refused(await call('POST', '/api/admin/client-keys', { name: 'c', rpm: 10 }), 'unknown_field', 'rpm');
  assert.equal((await call('GET', '/api/admin/client-keys')).json.total, 0);

  // The message lists the fields there are.
  const r = await call('POST', '/api/admin/groups', { name: 'h', colour: 'red' });
  assert.match(r.json.error.message, /name, priority, enabled, strategy, affinity/);

  // So do the other endpoints that take a body.
  refused(await call('POST', `/api/admin/providers/${p.json.id}/test`, { model: 'm', stream: true }), 'unknown_field', 'stream');
  refused(await call('POST', `/api/admin/keys/${k.json.id}/test`, { now: true }), 'unknown_field', 'now');
});

test('fields the gateway writes are refused as read-only, and change nothing', async (t) => {
  const { call } = await setup(t);
  const g = (await call('POST', '/api/admin/groups', { name: 'g' })).json;
  const p = (await call('POST', '/api/admin/providers', { group_id: g.id, name: 'p', base_url: 'http://127.0.0.1:1/v1' })).json;
  const k = (await call('POST', '/api/admin/keys', { provider_id: p.id, key: 'sk-one-0123456789abcdef' })).json;

  refused(await call('PATCH', `/api/admin/keys/${k.id}`, { requests: 0, label: 'x' }), 'read_only_field', 'requests');
  refused(await call('PATCH', `/api/admin/keys/${k.id}`, { key_masked: 'sk-...0000' }), 'read_only_field', 'key_masked');
  refused(await call('PATCH', `/api/admin/groups/${g.id}`, { id: 9, name: 'x' }), 'read_only_field', 'id');
  refused(await call('PATCH', `/api/admin/groups/${g.id}`, { Created_At: '2020-01-01T00:00:00Z' }), 'read_only_field', 'created_at');
  const ck = (await call('POST', '/api/admin/client-keys', { name: 'c' })).json;
  refused(await call('PATCH', `/api/admin/client-keys/${ck.id}`, { key_prefix: 'sk-fe-x' }), 'read_only_field', 'key_prefix');

  assert.equal((await call('GET', `/api/admin/keys/${k.id}`)).json.label, '');
  assert.equal((await call('GET', `/api/admin/groups/${g.id}`)).json.name, 'g');

  // What a resource's own rules read is not unknown: a key's health
  // reset and a new secret, a client key's (refused) key.
  assert.equal((await call('PATCH', `/api/admin/keys/${k.id}`, { status: 'active' })).status, 200);
  const again = await call('POST', '/api/admin/client-keys', { name: 'd', key: 'sk-fe-mine' });
  assert.equal(again.status, 400);
  assert.match(again.json.error.message, /made by the gateway/);
});
