// Active probes of upstream keys: with probe_interval_seconds set, keys
// cooling down after a 5xx, a timeout or a reset are probed in the
// background with the cheapest request the provider's API allows (its
// list of models) and come back on success, long before their cooldown
// ends; keys disabled by 401/403 only when probe_disabled is set. One
// worker probes. POST /api/admin/keys/:id/test probes one key now. The
// results are the key's state and entries of the audit log.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fusion, chatBody, sleep } from './v1-helpers.js';

const KEY = 'sk-probe-key-0000000000000001';
const KEY2 = 'sk-probe-key-0000000000000002';

// GET /models requests a mock received with key k since `since`.
const probes = (up, k, since = 0) => up.requests.filter((r) => r.method === 'GET' && /\/models$/.test(r.path) && r.key === k && r.at >= since);

async function waitKey(f, id, status, ms = 8000) {
  const until = Date.now() + ms;
  let k;
  for (;;) {
    k = await f.keyState(id);
    if (k.status === status || Date.now() > until) return k;
    await sleep(100);
  }
}

async function audit(f) {
  return (await f.must('GET', '/api/admin/audit?limit=1000')).data;
}

test('a cooling key is probed by one worker with the models list, and is active again long before its cooldown ends', { timeout: 60000 }, async (t) => {
  const f = await fusion(t, { env: { COOLDOWN_BASE_SECONDS: '120', COOLDOWN_MAX_SECONDS: '300' } });
  const g = await f.group();
  const up = await f.upstream({ models: ['gpt-4o'] });
  const state = { models: 500, chat: 500 };
  up.behave(KEY, (rec) => (rec.path === '/v1/models' ? state.models : state.chat));
  const p = await f.provider(g, up, { keys: [KEY], probe_interval_seconds: 1 });
  assert.equal(p.probe_interval_seconds, 1);
  const ck = await f.clientKey();

  assert.equal((await f.chat(ck.key)).status, 502);
  let k = await f.keyState(p.keys[0].id);
  assert.equal(k.status, 'cooldown');
  assert.ok(new Date(k.cooldown_until) - Date.now() > 100000, k.cooldown_until);

  // Probes fail for a while: the key keeps cooling, the reason says so.
  const t0 = Date.now();
  await up.waitFor((r) => probes(up, KEY).length >= 2, 6000);
  k = await f.keyState(p.keys[0].id);
  assert.equal(k.status, 'cooldown');
  assert.match(k.status_reason, /^probe: upstream answered 500|^probe: /);

  // One worker probes: about one probe a second, not two.
  await sleep(4000);
  const window = probes(up, KEY, t0 + 1500).filter((r) => r.at < t0 + 5500);
  assert.ok(window.length >= 2 && window.length <= 6, `${window.length} probes in 4 s with an interval of 1 s`);
  const all = probes(up, KEY);
  for (let i = 1; i < all.length; i++) assert.ok(all[i].at - all[i - 1].at >= 700, `probes ${all[i].at - all[i - 1].at} ms apart`);
  assert.equal(all[0].query, '', 'OpenAI lists its models in one page');
  assert.equal(all[0].headers.authorization, `Bearer ${KEY}`);

  // The upstream is fine again: the next probe makes the key active.
  state.models = 'ok';
  state.chat = 'ok';
  k = await waitKey(f, p.keys[0].id, 'active');
  assert.equal(k.status, 'active');
  assert.ok(Date.now() - t0 < 30000);
  assert.equal((await f.chat(ck.key)).status, 200);

  const entry = (await audit(f)).find((a) => a.action === 'probe' && a.target === `key ${p.keys[0].id}`);
  assert.ok(entry, 'the probe that changed the key is in the audit log');
  assert.match(entry.detail, /^cooldown -> active: /);
  assert.equal(entry.username, '');
  assert.ok(!JSON.stringify(await audit(f)).includes(KEY));

  // Active keys are not probed.
  const n = probes(up, KEY).length;
  await sleep(2500);
  assert.equal(probes(up, KEY).length, n);
});

test('keys disabled by 401 are probed only when probe_disabled is set; switched-off keys and probe_interval 0 never', { timeout: 60000 }, async (t) => {
  const f = await fusion(t);
  const g = await f.group();
  const up = await f.upstream({ models: ['gpt-4o'] });
  const state = { models: 401 };
  up.behave(KEY, (rec) => (rec.path === '/v1/models' ? state.models : 401));
  up.behave(KEY2, 500);
  const p = await f.provider(g, up, { keys: [KEY, KEY2], probe_interval_seconds: 1 });
  const ck = await f.clientKey();

  // KEY is disabled by 401, KEY2 cools down after a 500; an operator
  // switches KEY2 off.
  assert.equal((await f.chat(ck.key)).status, 502);
  assert.equal((await f.keyState(p.keys[0].id)).status, 'disabled');
  assert.equal((await f.keyState(p.keys[1].id)).status, 'cooldown');
  await f.must('PATCH', `/api/admin/keys/${p.keys[1].id}`, { enabled: false });
  await sleep(3000);
  assert.equal(probes(up, KEY).length, 0, 'a disabled key was probed without probe_disabled');
  assert.equal(probes(up, KEY2).length, 0, 'a switched-off key was probed');

  await f.must('PATCH', `/api/admin/providers/${p.id}`, { probe_disabled: true });
  await up.waitFor(() => probes(up, KEY).length >= 1, 5000);
  assert.equal((await f.keyState(p.keys[0].id)).status, 'disabled');
  state.models = 'ok';
  assert.equal((await waitKey(f, p.keys[0].id, 'active')).status, 'active');
  const entry = (await audit(f)).find((a) => a.action === 'probe');
  assert.match(entry.detail, /^disabled -> active/);

  // probe_interval_seconds 0: nothing is probed.
  up.behave(KEY, 500);
  await f.must('PATCH', `/api/admin/providers/${p.id}`, { probe_interval_seconds: 0 });
  assert.equal((await f.chat(ck.key)).status, 502);
  const n = probes(up, KEY).length;
  await sleep(2500);
  assert.equal(probes(up, KEY).length, n);
});

test('POST /api/admin/keys/:id/test probes one key now, in each API, and sets its state', async (t) => {
  const f = await fusion(t);
  const g = await f.group();
  const oa = await f.upstream({});
  const an = await f.upstream({ flavor: 'anthropic' });
  const ge = await f.upstream({ flavor: 'gemini', models: ['gemini-2.0-flash'] });
  const po = await f.provider(g, oa, { keys: ['sk-openai-test-00000000000001'] });
  const pa = await f.provider(g, an, { keys: ['sk-ant-test-0000000000000001'], models: ['claude-sonnet-4-5-20250929'] });
  const pg = await f.provider(g, ge, { keys: ['AIzaSy-gemini-test-0000000001'], models: ['gemini-2.0-flash'] });
  const kt = (p) => f.call('POST', `/api/admin/keys/${p.keys[0].id}/test`);

  for (const [p, up, path, query, header] of [
    [po, oa, '/v1/models', '', ['authorization', 'Bearer sk-openai-test-00000000000001']],
    [pa, an, '/v1/models', '?limit=1', ['x-api-key', 'sk-ant-test-0000000000000001']],
    [pg, ge, '/v1beta/models', '?pageSize=1', ['x-goog-api-key', 'AIzaSy-gemini-test-0000000001']],
  ]) {
    const r = await kt(p);
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.ok, true, r.text);
    assert.equal(r.json.status, 200);
    assert.equal(r.json.key_status, 'active');
    assert.equal(typeof r.json.latency_ms, 'number');
    assert.ok(!r.text.includes(p.keys[0].secret), 'the key is never in the answer');
    const rec = up.requests.at(-1);
    assert.equal(`${rec.method} ${rec.path}${rec.query}`, `GET ${path}${query}`);
    assert.equal(rec.headers[header[0]], header[1]);
    if (up === an) assert.equal(rec.headers['anthropic-version'], '2023-06-01');
  }

  // A key the API refuses is disabled (Gemini's 400 for a bad key counts
  // as 401); a passing test makes it active again.
  ge.behave('default', 'bad_key');
  let r = await kt(pg);
  assert.deepEqual([r.json.ok, r.json.status, r.json.key_status], [false, 401, 'disabled'], r.text);
  assert.match(r.json.message, /API key not valid/);
  assert.equal((await f.keyState(pg.keys[0].id)).status, 'disabled');
  ge.behave('default', 'ok');
  r = await kt(pg);
  assert.deepEqual([r.json.ok, r.json.key_status], [true, 'active']);

  // A 5xx cools it down.
  oa.behave('default', 503);
  r = await kt(po);
  assert.deepEqual([r.json.ok, r.json.status, r.json.key_status], [false, 503, 'cooldown']);

  const tests = (await audit(f)).filter((a) => a.action === 'test');
  assert.equal(tests.length, 6);
  assert.ok(tests.every((a) => a.username === 'admin'));
  assert.match(tests[0].detail, /^active -> cooldown: /);

  assert.equal((await f.call('POST', '/api/admin/keys/999/test')).status, 404);
  assert.equal((await f.call('GET', `/api/admin/keys/${po.keys[0].id}/test`)).status, 405);
  assert.equal((await f.gw.api('POST', `/api/admin/keys/${po.keys[0].id}/test`)).status, 401);
});
