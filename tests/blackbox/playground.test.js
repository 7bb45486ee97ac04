// The admin UI's playground: POST /api/admin/playground/chat/completions
// on the admin's session, through the real routing, failover and request
// log, streamed or not; no client key, and the log names the admin.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fusion, chatBody, readSse, rawRequest, contentEvents } from './v1-helpers.js';

const PATH = '/api/admin/playground/chat/completions';

test('the playground streams a chat through routing and failover, logged with the admin as its client', async (t) => {
  const f = await fusion(t);
  const g1 = await f.group({ priority: 10 });
  const g2 = await f.group({ priority: 0 });
  const broken = await f.upstream({ defaultContent: 'never' });
  const good = await f.upstream({ defaultContent: 'Hello from the playground upstream.' });
  broken.behave('default', 500);
  await f.provider(g1, broken);
  const p = await f.provider(g2, good);

  const s = await readSse(`${f.gw.url}${PATH}`, {
    headers: { authorization: `Bearer ${f.token}` },
    body: chatBody('gpt-4o', { stream: true, stream_options: { include_usage: true } }),
  });
  assert.equal(s.status, 200, s.text);
  assert.equal(s.done, true);
  assert.equal(contentEvents(s.events).map((e) => e.json.choices[0].delta.content).join(''), 'Hello from the playground upstream.');
  assert.ok(s.events.some((e) => e.json?.usage?.completion_tokens > 0));
  const id = s.headers['x-fusion-request-id'];
  assert.match(id, /^req_/);

  // The upstream got the upstream key, never the admin's session.
  const rec = good.requests.at(-1);
  assert.equal(rec.headers.authorization, `Bearer ${p.keys[0].secret}`);
  assert.ok(!JSON.stringify(rec.headers).includes(f.token));

  const logs = await f.waitLogs(1, `request_id=${id}`);
  const row = logs.data[0];
  assert.equal(row.admin_user, 'admin');
  assert.equal(row.client_key_id, null);
  assert.equal(row.path, PATH);
  assert.equal(row.provider_id, p.id);
  assert.equal(row.key_masked, p.keys[0].key_masked);
  assert.equal(row.outcome, 'ok');
  assert.ok(row.completion_tokens > 0 && row.ttfb_ms > 0, JSON.stringify(row));
  assert.deepEqual(row.trace.map((x) => x.outcome), ['error', 'ok']);

  // Not streamed, with the session cookie as the browser sends it.
  const login = await f.gw.api('POST', '/api/auth/login', { body: { username: 'admin', password: 'correct-horse-battery' } });
  const cookie = login.headers.get('set-cookie').split(';')[0];
  const r = await rawRequest(`${f.gw.url}${PATH}`, { method: 'POST', headers: { cookie, origin: f.gw.url }, body: chatBody() });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.choices[0].message.content, 'Hello from the playground upstream.');
});

test('the playground needs an admin session: not a client key, not another site', async (t) => {
  const f = await fusion(t);
  const g = await f.group();
  const up = await f.upstream({});
  await f.provider(g, up);
  const ck = await f.clientKey();

  const none = await rawRequest(`${f.gw.url}${PATH}`, { method: 'POST', body: chatBody() });
  assert.equal(none.status, 401, none.text);
  const client = await rawRequest(`${f.gw.url}${PATH}`, { method: 'POST', headers: { authorization: `Bearer ${ck.key}` }, body: chatBody() });
  assert.equal(client.status, 401, client.text);
  const login = await f.gw.api('POST', '/api/auth/login', { body: { username: 'admin', password: 'correct-horse-battery' } });
  const cookie = login.headers.get('set-cookie').split(';')[0];
  const foreign = await rawRequest(`${f.gw.url}${PATH}`, { method: 'POST', headers: { cookie, origin: 'https://evil.example' }, body: chatBody() });
  assert.equal(foreign.status, 403, foreign.text);
  assert.equal(up.requests.length, 0);

  // Bad requests are refused as /v1 refuses them, and logged.
  const bad = await rawRequest(`${f.gw.url}${PATH}`, { method: 'POST', headers: { authorization: `Bearer ${f.token}` }, body: { model: 'gpt-4o' } });
  assert.equal(bad.status, 400, bad.text);
  const unknown = await rawRequest(`${f.gw.url}${PATH}`, { method: 'POST', headers: { authorization: `Bearer ${f.token}` }, body: chatBody('no-such-model') });
  assert.equal(unknown.status, 404, unknown.text);

  // Only the two refused requests of the admin are in the log.
  const logs = await f.waitLogs(2);
  assert.equal(logs.total, 2);
  assert.ok(logs.data.every((x) => x.admin_user === 'admin'));
  assert.equal((await rawRequest(`${f.gw.url}${PATH}`, { headers: { authorization: `Bearer ${f.token}` } })).status, 404);
});
