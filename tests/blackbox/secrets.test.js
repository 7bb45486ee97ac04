// Secrets never leak: with known upstream keys, client keys and an admin
// password in place, every path that could echo one (admin answers,
// provider tests, upstream errors that quote the key, 401s, the request
// log, the audit log, stats, the gateway's own log output and the SQLite
// file itself) is driven, and no whole secret may appear in any of them.
// Masked forms (sk-...abcd) are fine. The one exception is the answer that
// creates a client key, which shows it once by design.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NEW_PASSWORD } from './harness.js';
import { fusion, chatBody, sleep } from './v1-helpers.js';

const UP_GOOD = 'sk-proj-GOODgoodGOODgood0000000000000001';
const UP_401 = 'sk-proj-REJECTEDrejected00000000000002';
const UP_500 = 'sk-proj-ECHOINGechoing000000000000003';
const UP_NEW = 'sk-proj-REPLACEDreplaced0000000000004';
const UP_TEST = 'sk-proj-PROBEDprobed0000000000000000005';
const UP_429 = 'sk-proj-LIMITEDlimited00000000000000006';

test('no response, log line, log row or database byte holds a whole secret', async (t) => {
  const f = await fusion(t);
  const seen = [];
  const call = async (method, path, body) => {
    const r = await f.call(method, path, body);
    seen.push(`${method} ${path} -> ${r.status} ${r.text}`);
    return r;
  };
  const v1 = async (key, body, opts) => {
    const r = await f.chat(key, body, opts);
    seen.push(`v1 -> ${r.status} ${JSON.stringify(r.headers)} ${r.text}`);
    return r;
  };

  const up = await f.upstream();
  // Upstream errors that quote the key, as OpenAI's 401 does.
  up.behave(UP_401, 401);
  up.behave(UP_500, { type: 'error', status: 500, body: { error: { message: `key ${UP_500} is broken`, type: 'server_error', code: null } } });
  up.behave(UP_429, { type: 'error', status: 429, retryAfter: 1, body: { error: { message: `Rate limit reached for key ${UP_429}`, type: 'requests', code: 'rate_limit_exceeded' } } });
  up.behave(UP_TEST, 401);

  const g = (await call('POST', '/api/admin/groups', { name: 'secrets' })).json;
  const p1 = (await call('POST', '/api/admin/providers', { group_id: g.id, name: 'p1', base_url: up.url, models: ['m401'] })).json;
  const p2 = (await call('POST', '/api/admin/providers', { group_id: g.id, name: 'p2', base_url: up.url, models: ['m500'] })).json;
  const p3 = (await call('POST', '/api/admin/providers', { group_id: g.id, name: 'p3', base_url: up.url, models: ['mok', 'm429'] })).json;
  const p4 = (await call('POST', '/api/admin/providers', { group_id: g.id, name: 'p4', base_url: up.url, models: ['probe'] })).json;
  const k401 = (await call('POST', '/api/admin/keys', { provider_id: p1.id, key: UP_401, label: 'rejected' })).json;
  await call('POST', '/api/admin/keys', { provider_id: p2.id, keys: [UP_500] });
  const kOk = (await call('POST', '/api/admin/keys', { provider_id: p3.id, key: UP_GOOD })).json;
  const k429 = (await call('POST', '/api/admin/keys', { provider_id: p3.id, key: UP_429 })).json;
  await call('POST', '/api/admin/keys', { provider_id: p4.id, key: UP_TEST });

  // Client keys: the create answer shows the key once (checked, then
  // kept out of `seen`).
  const created = await f.call('POST', '/api/admin/client-keys', { name: 'app' });
  const CLIENT = created.json.key;
  assert.match(CLIENT, /^sk-/);
  const created2 = await f.call('POST', '/api/admin/client-keys', { name: 'revoked' });
  const REVOKED = created2.json.key;
  const UNKNOWN_CLIENT = `sk-fe-${'u'.repeat(40)}`;

  // Admin reads and writes of every kind.
  for (const path of ['/api/admin/keys', `/api/admin/keys/${kOk.id}`, `/api/admin/keys?provider_id=${p3.id}`,
    '/api/admin/client-keys', `/api/admin/client-keys/${created.json.id}`, '/api/admin/providers', '/api/admin/groups']) {
    await call('GET', path);
  }
  await call('PATCH', `/api/admin/keys/${kOk.id}`, { label: 'renamed' });
  await call('PUT', `/api/admin/keys/${k401.id}`, { provider_id: p1.id, key: UP_NEW, label: 'replaced' });
  await call('PUT', `/api/admin/keys/${k401.id}`, { provider_id: p1.id, key: UP_401, label: 'rejected again' });
  await call('PATCH', `/api/admin/client-keys/${created2.json.id}`, { enabled: false });
  await call('POST', '/api/admin/keys', { provider_id: p1.id, key: UP_401 }); // a duplicate, maybe refused
  await call('POST', '/api/admin/keys', { provider_id: 999, key: UP_NEW }); // an unknown provider
  await call('POST', '/api/admin/keys', { provider_id: p1.id, key: 42 });   // a bad type

  // The provider test, against an upstream that quotes the key.
  await call('POST', `/api/admin/providers/${p4.id}/test`, {});
  await call('POST', `/api/admin/providers/${p3.id}/test`, { model: 'mok' });

  // The data plane: success, upstream errors quoting the key, streams,
  // unknown, revoked and malformed client keys.
  await v1(CLIENT, chatBody('mok'));
  await v1(CLIENT, chatBody('m401'));
  await v1(CLIENT, chatBody('m500'));
  await v1(CLIENT, chatBody('m429'));
  await v1(CLIENT, chatBody('m500', { stream: true }));
  const s = await f.stream(CLIENT, chatBody('mok', { stream: true }));
  seen.push(s.text);
  await v1(UNKNOWN_CLIENT, chatBody('mok'));
  await v1(REVOKED, chatBody('mok'));
  await v1(`${CLIENT}x`, chatBody('mok'));
  await v1(undefined, chatBody('mok'), { headers: { authorization: `Basic ${Buffer.from(`user:${CLIENT}`).toString('base64')}` } });
  const models = await f.v1('GET', '/models', { key: UNKNOWN_CLIENT });
  seen.push(models.text);
  // A failed login quoting a password-like value, and a wrong password.
  seen.push((await f.gw.api('POST', '/api/auth/login', { body: { username: 'admin', password: UP_NEW } })).text);
  seen.push((await f.gw.api('PUT', '/api/auth/password', { token: f.token, body: { old_password: UP_GOOD, new_password: 'x' } })).text);

  // What the operator reads: logs, audit, stats, key health.
  await sleep(1200); // the request log is written in batches
  for (const path of ['/api/admin/logs?limit=1000', '/api/admin/audit?limit=1000', '/api/admin/stats',
    '/api/admin/stats/timeseries', `/api/admin/keys/${k429.id}`, `/api/admin/keys/${k401.id}`]) {
    await call('GET', path);
  }
  const logs = JSON.parse(seen.find((x) => x.startsWith('GET /api/admin/logs?limit=1000')).replace(/^[^{]*/, ''));
  assert.ok(logs.total >= 9, `the requests were logged: ${logs.total}`);
  assert.ok(JSON.stringify(logs).includes('sk-...'), 'masked keys are there');

  // The secrets did travel where they belong, and the quoting upstreams
  // did quote them: the test would catch a leak.
  for (const k of [UP_GOOD, UP_401, UP_500, UP_429, UP_TEST]) assert.ok(up.requests.some((q) => q.key === k), `${k} reached the upstream`);
  assert.ok(seen.some((x) => /Incorrect API key provided: sk-\.\.\./.test(x)), 'the upstream 401 message came back masked');

  // Stop the gateway so that its whole log output and database are final.
  await f.gw.stop();
  const sources = {
    responses: seen.join('\n'),
    'gateway log output': f.gw.output,
    'request_log rows': f.gw.sql('SELECT * FROM request_log'),
    'audit_log rows': f.gw.sql('SELECT * FROM audit_log'),
    'database file (with WAL)': f.dbText(),
  };
  const secrets = { UP_GOOD, UP_401, UP_500, UP_NEW, UP_TEST, UP_429, CLIENT, REVOKED, UNKNOWN_CLIENT, NEW_PASSWORD };
  for (const [where, text] of Object.entries(sources)) {
    assert.ok(text.length > 0, `${where} is empty`);
    for (const [name, secret] of Object.entries(secrets)) {
      const at = text.indexOf(secret);
      assert.equal(at, -1, `${name} appears whole in the ${where}: …${text.slice(Math.max(0, at - 120), at + secret.length + 40)}…`);
    }
  }
  // The create answer is the one place a client key is shown.
  assert.ok(created.text.includes(CLIENT));
});
