// ADMIN_BIND_ADDRESS / ADMIN_PORT: the admin API and the web UI on an
// address of their own (here loopback port A), while the public listeners
// (plain and TLS) serve /v1 and answer everything admin with 404 in
// OpenAI's error shape.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Gateway, gateway, freePort } from './harness.js';
import { mockUpstream } from './mock-upstream.js';
import { assertOpenAIError, chatBody } from './v1-helpers.js';

const ADMIN_PATHS = [
  ['GET', '/api/auth/me'], ['POST', '/api/auth/login'], ['POST', '/api/auth/logout'], ['PUT', '/api/auth/password'],
  ['GET', '/api/admin/groups'], ['GET', '/api/admin/groups/1'], ['GET', '/api/admin/providers'], ['GET', '/api/admin/keys'],
  ['GET', '/api/admin/client-keys'], ['GET', '/api/admin/logs'], ['GET', '/api/admin/audit'], ['GET', '/api/admin/stats'],
  ['GET', '/api/admin/stats/timeseries'], ['POST', '/api/admin/providers/1/test'], ['GET', '/api/nothing'],
  ['GET', '/'], ['GET', '/login'], ['GET', '/assets/app.js'], ['GET', '/assets/app.css'],
];

test('admin API and UI only on ADMIN_BIND_ADDRESS:ADMIN_PORT; /v1 on every listener', async (t) => {
  const adminPort = await freePort();
  const gw = await gateway(t, { env: { ADMIN_BIND_ADDRESS: '127.0.0.1', ADMIN_PORT: String(adminPort) } });
  const publicUrl = gw.url;
  const adminUrl = `http://127.0.0.1:${adminPort}`;

  // On the admin listener: login, the password change, setup, the UI.
  gw.url = adminUrl;
  const token = await gw.admin();
  const ui = await gw.api('GET', '/');
  assert.equal(ui.status, 200);
  assert.match(ui.headers.get('content-type'), /text\/html/);
  const up = await mockUpstream(t);
  const g = await gw.api('POST', '/api/admin/groups', { token, body: { name: 'g' } });
  const p = await gw.api('POST', '/api/admin/providers', { token, body: { group_id: g.json.id, name: 'p', base_url: up.url, models: ['gpt-4o'] } });
  await gw.api('POST', '/api/admin/keys', { token, body: { provider_id: p.json.id, key: 'sk-upstream-admin-bind-0001' } });
  const ck = (await gw.api('POST', '/api/admin/client-keys', { token, body: { name: 'app' } })).json.key;

  // On the public listeners, plain and TLS, nothing admin exists, with
  // or without a session.
  for (const tls of [false, true]) {
    gw.url = publicUrl;
    for (const [method, path] of ADMIN_PATHS) {
      const r = await gw.api(method, path, { token, tls, body: method === 'GET' ? undefined : {} });
      assertOpenAIError(r, 404, 'not_found');
      assert.ok(!r.text.includes('"data"'), `${method} ${path} over ${tls ? 'TLS' : 'HTTP'} leaked: ${r.text}`);
    }
    // /v1 works there.
    const chat = await gw.api('POST', '/v1/chat/completions', { tls, headers: { authorization: `Bearer ${ck}` }, body: chatBody() });
    assert.equal(chat.status, 200, chat.text);
    const models = await gw.api('GET', '/v1/models', { tls, headers: { authorization: `Bearer ${ck}` } });
    assert.equal(models.status, 200);
  }
  // The admin listener serves /v1 too (it is a superset: loopback clients
  // may use either).
  gw.url = adminUrl;
  const local = await gw.api('POST', '/v1/chat/completions', { headers: { authorization: `Bearer ${ck}` }, body: chatBody() });
  assert.equal(local.status, 200, local.text);
  const logs = await gw.api('GET', '/api/admin/logs', { token });
  assert.equal(logs.status, 200);
  gw.url = publicUrl; // for the harness's stop
});

test('without ADMIN_BIND_ADDRESS everything is on the public listeners; ADMIN_PORT alone or a taken port stops the start', async (t) => {
  const gw = await gateway(t);
  assert.equal((await gw.api('GET', '/')).status, 200);
  assert.equal((await gw.api('POST', '/api/auth/login', { body: { username: 'admin', password: 'admin' } })).status, 200);

  const lonely = new Gateway({ env: { ADMIN_PORT: String(await freePort()) }, allowBadLog: true });
  const code = await lonely.start({ expectExit: true });
  assert.notEqual(code, 0);
  assert.match(lonely.output, /ADMIN_PORT needs ADMIN_BIND_ADDRESS/);

  const clash = new Gateway({ env: { ADMIN_BIND_ADDRESS: '127.0.0.1', ADMIN_PORT: String(gw.port) }, allowBadLog: true });
  assert.notEqual(await clash.start({ expectExit: true }), 0);
  assert.match(clash.output, /cannot listen on 127\.0\.0\.1/);
});
