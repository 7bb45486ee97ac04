// Administrators: the default account, sessions, cookies, throttling and
// the guard in front of /api/admin.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gateway, NEW_PASSWORD } from './harness.js';

const ADMIN_ROUTES = [
  ['GET', '/api/admin/stats'],
  ['GET', '/api/admin/groups'], ['POST', '/api/admin/groups'],
  ['GET', '/api/admin/groups/1'], ['PUT', '/api/admin/groups/1'],
  ['PATCH', '/api/admin/groups/1'], ['DELETE', '/api/admin/groups/1'],
  ['GET', '/api/admin/providers'], ['POST', '/api/admin/providers'],
  ['GET', '/api/admin/providers/1'], ['DELETE', '/api/admin/providers/1'],
  ['GET', '/api/admin/keys'], ['POST', '/api/admin/keys'],
  ['PATCH', '/api/admin/keys/1'], ['DELETE', '/api/admin/keys/1'],
  ['GET', '/api/admin/client-keys'], ['POST', '/api/admin/client-keys'],
  ['PUT', '/api/admin/client-keys/1'], ['DELETE', '/api/admin/client-keys/1'],
];

function assertOpenAIError(r, status, code) {
  assert.equal(r.status, status, r.text);
  assert.equal(typeof r.json?.error?.message, 'string', r.text);
  assert.equal(typeof r.json.error.type, 'string', r.text);
  if (code) assert.equal(r.json.error.code, code, r.text);
}

test('every admin route answers 401 in OpenAI error shape without a session', async (t) => {
  const gw = await gateway(t);
  for (const [method, path] of ADMIN_ROUTES) {
    const r = await gw.api(method, path, { body: method === 'GET' || method === 'DELETE' ? undefined : { name: 'x' } });
    assertOpenAIError(r, 401, 'unauthorized');
  }
  const bogus = await gw.api('GET', '/api/admin/stats', { token: 'fs_not-a-session' });
  assertOpenAIError(bogus, 401, 'unauthorized');
  // Nothing was written by any of those calls.
  assert.equal(gw.sql('SELECT count(*) FROM groups'), '0');
});

test('default admin/admin must change the password before using the admin API', async (t) => {
  const gw = await gateway(t);
  assert.match(gw.output, /default password/);

  const login = await gw.api('POST', '/api/auth/login', { body: { username: 'admin', password: 'admin' } });
  assert.equal(login.status, 200);
  assert.equal(login.json.user.must_change_password, true);
  const token = login.json.token;

  assertOpenAIError(await gw.api('GET', '/api/admin/stats', { token }), 403, 'password_change_required');
  const me = await gw.api('GET', '/api/auth/me', { token });
  assert.equal(me.json.must_change_password, true);

  // Weak or unchanged passwords are refused.
  assertOpenAIError(await gw.api('PUT', '/api/auth/password', { token, body: { old_password: 'admin', new_password: 'short' } }), 400);
  assertOpenAIError(await gw.api('PUT', '/api/auth/password', { token, body: { old_password: 'admin', new_password: 'admin' } }), 400);
  assertOpenAIError(await gw.api('PUT', '/api/auth/password', { token, body: { old_password: 'wrong-one', new_password: NEW_PASSWORD } }), 403);
  assertOpenAIError(await gw.api('PUT', '/api/auth/password', { token, body: { new_password: NEW_PASSWORD } }), 400, 'missing_field');

  const changed = await gw.api('PUT', '/api/auth/password', { token, body: { old_password: 'admin', new_password: NEW_PASSWORD } });
  assert.equal(changed.status, 200, changed.text);
  assert.equal(changed.json.must_change_password, false);

  const stats = await gw.api('GET', '/api/admin/stats', { token });
  assert.equal(stats.status, 200);
  for (const k of ['total_groups', 'enabled_groups', 'total_providers', 'total_keys']) {
    assert.equal(stats.json[k], 0, k);
  }

  // The old password no longer works, the new one does.
  assertOpenAIError(await gw.api('POST', '/api/auth/login', { body: { username: 'admin', password: 'admin' } }), 401, 'invalid_credentials');
  assert.ok(await gw.login(NEW_PASSWORD));
  assert.match(gw.sql("SELECT password_hash FROM users WHERE username = 'admin'"), /^\$argon2id\$/);
});

test('ADMIN_PASSWORD sets the first password and needs no change', async (t) => {
  const gw = await gateway(t, { env: { ADMIN_PASSWORD: 'from-the-environment' } });
  assert.doesNotMatch(gw.output, /still has the default password/);
  const token = await gw.login('from-the-environment');
  assert.equal((await gw.api('GET', '/api/admin/stats', { token })).status, 200);
  assert.equal((await gw.api('POST', '/api/auth/login', { body: { username: 'admin', password: 'admin' } })).status, 401);
  // The password never reaches the log.
  assert.doesNotMatch(gw.output, /from-the-environment/);
});

test('session cookie is HttpOnly and SameSite=Strict, Secure only over TLS, and works alone', async (t) => {
  const gw = await gateway(t);
  const token = await gw.admin();

  const plain = await gw.api('POST', '/api/auth/login', { body: { username: 'admin', password: NEW_PASSWORD } });
  const cookie = plain.headers.get('set-cookie');
  assert.match(cookie, /^fusion_session=fs_[A-Za-z0-9_-]{43};/);
  assert.match(cookie, /HttpOnly/);
  assert.match(cookie, /SameSite=Strict/);
  assert.doesNotMatch(cookie, /Secure/);
  assert.equal(cookie.split(';')[0].split('=')[1], plain.json.token);

  const secure = await gw.api('POST', '/api/auth/login', { tls: true, body: { username: 'admin', password: NEW_PASSWORD } });
  assert.equal(secure.status, 200, secure.text);
  assert.match(secure.headers.get('set-cookie'), /; Secure/);

  // The cookie on its own authenticates.
  const viaCookie = await gw.api('GET', '/api/admin/stats', { headers: { cookie: cookie.split(';')[0] } });
  assert.equal(viaCookie.status, 200, viaCookie.text);

  // Sessions are stored hashed: the token is nowhere in the database.
  const dump = gw.sql('SELECT token_hash FROM sessions');
  assert.ok(!dump.includes(token));
  assert.ok(!dump.includes(plain.json.token));
});

test('logout ends the session; a password change ends the other sessions', async (t) => {
  const gw = await gateway(t);
  const first = await gw.admin();
  const second = await gw.login(NEW_PASSWORD);
  const third = await gw.login(NEW_PASSWORD);

  const out = await gw.api('POST', '/api/auth/logout', { token: second });
  assert.equal(out.status, 204);
  assert.match(out.headers.get('set-cookie'), /fusion_session=;.*Max-Age=0/);
  assertOpenAIError(await gw.api('GET', '/api/admin/stats', { token: second }), 401);

  const changed = await gw.api('PUT', '/api/auth/password', { token: first, body: { old_password: NEW_PASSWORD, new_password: 'another-long-password' } });
  assert.equal(changed.status, 200, changed.text);
  assert.equal((await gw.api('GET', '/api/admin/stats', { token: first })).status, 200);
  assertOpenAIError(await gw.api('GET', '/api/admin/stats', { token: third }), 401);
});

test('sessions expire after SESSION_IDLE_SECONDS of inactivity', async (t) => {
  const gw = await gateway(t, { env: { SESSION_IDLE_SECONDS: '2', ADMIN_PASSWORD: 'idle-password' } });
  const token = await gw.login('idle-password');
  assert.equal((await gw.api('GET', '/api/auth/me', { token })).status, 200);
  await new Promise((r) => setTimeout(r, 3100));
  assertOpenAIError(await gw.api('GET', '/api/auth/me', { token }), 401);
});

test('repeated failed logins from one address get 429 with Retry-After, even with the right password', async (t) => {
  const gw = await gateway(t, { env: { LOGIN_MAX_FAILURES: '3', LOGIN_WINDOW_SECONDS: '60' } });
  for (let i = 0; i < 3; i++) {
    assertOpenAIError(await gw.api('POST', '/api/auth/login', { body: { username: 'admin', password: `guess-${i}` } }), 401, 'invalid_credentials');
  }
  const blocked = await gw.api('POST', '/api/auth/login', { body: { username: 'admin', password: 'admin' } });
  assertOpenAIError(blocked, 429, 'too_many_attempts');
  const retry = Number(blocked.headers.get('retry-after'));
  assert.ok(retry >= 1 && retry <= 60, `retry-after ${retry}`);
  // The same answer from the other worker: the count lives in the store.
  for (let i = 0; i < 4; i++) {
    assert.equal((await gw.api('POST', '/api/auth/login', { body: { username: 'admin', password: 'admin' } })).status, 429);
  }
  // An unknown user is treated the same way as a wrong password.
  assert.doesNotMatch(gw.output, /guess-/);
});

test('login input errors are clear 4xx answers', async (t) => {
  const gw = await gateway(t);
  assertOpenAIError(await gw.api('POST', '/api/auth/login', { raw: '{"username":' }), 400, 'invalid_json');
  assertOpenAIError(await gw.api('POST', '/api/auth/login', { raw: '[1,2]' }), 400, 'invalid_json');
  assertOpenAIError(await gw.api('POST', '/api/auth/login', { body: { username: 'admin', password: 7 } }), 400, 'invalid_field');
  assertOpenAIError(await gw.api('POST', '/api/auth/login', { body: { username: 'nobody', password: 'x' } }), 401, 'invalid_credentials');
  assertOpenAIError(await gw.api('GET', '/api/auth/login'), 405);
  assertOpenAIError(await gw.api('GET', '/api/auth/unknown'), 404, 'not_found');
});
