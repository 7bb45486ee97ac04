// Stopping: SIGTERM lets streams in flight finish within the grace period
// (then ends them with an error event), writes the request log out and
// exits cleanly; kill -9 under load loses no configuration and leaves a
// database that passes its integrity check.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Gateway, tempDir } from './harness.js';
import { fusion, chatBody, sleep } from './v1-helpers.js';
import fs from 'node:fs';

async function streaming(t, env) {
  const f = await fusion(t, { env });
  const up = await f.upstream();
  up.behave('default', { chunks: 20, chunkDelayMs: 100 });
  const g = await f.group();
  await f.provider(g, up, { models: ['gpt-4o'], timeout_ms: 10000 });
  const ck = await f.clientKey();
  return { f, up, ck };
}

test('SIGTERM: a stream in flight finishes, new connections are refused, the log is written, exit 0', async (t) => {
  const { f, ck } = await streaming(t, { SHUTDOWN_GRACE_SECONDS: '8' });
  const started = Date.now();
  const pending = f.stream(ck.key, chatBody('gpt-4o', { stream: true }), { timeoutMs: 15000 });
  await sleep(500);
  process.kill(f.gw.proc.pid, 'SIGTERM');
  await sleep(300);
  const refused = await f.chat(ck.key, chatBody(), { timeoutMs: 3000 });
  assert.equal(refused.status, 0, 'a new request was served while stopping');

  const s = await pending;
  assert.equal(s.done, true, 'the stream was cut');
  assert.equal(s.events.filter((e) => e.json?.error).length, 0);
  const code = await f.gw.exited;
  assert.equal(code, 0);
  assert.ok(Date.now() - started < 8000, 'waited for the whole grace period');

  const rows = f.gw.sql("SELECT outcome || ' ' || stream FROM request_log WHERE path = '/v1/chat/completions'");
  assert.equal(rows, 'ok 1', 'the finished stream is in the log');
});

test('SIGTERM: past the grace period a stream ends with an error event, never [DONE], and is logged', async (t) => {
  const { f, ck } = await streaming(t, { SHUTDOWN_GRACE_SECONDS: '1' });
  const pending = f.stream(ck.key, chatBody('gpt-4o', { stream: true }), { timeoutMs: 15000 });
  await sleep(400);
  const stopAt = Date.now();
  process.kill(f.gw.proc.pid, 'SIGTERM');
  const s = await pending;
  assert.equal(s.done, false);
  const err = s.events.find((e) => e.json?.error);
  assert.ok(err, 'no error event');
  assert.match(err.json.error.message, /shutting down/);
  assert.ok(s.events.length >= 2, 'the stream had begun');
  assert.equal(await f.gw.exited, 0);
  assert.ok(Date.now() - stopAt < 5000, 'the grace period was not kept to');
  assert.equal(f.gw.sql('SELECT outcome, error FROM request_log'), 'error|the gateway is shutting down');
});

test('kill -9 under load loses no configuration and the database stays sound', async (t) => {
  const dir = tempDir();
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const gw = new Gateway({ dir, env: { ADMIN_PASSWORD: 'kill-nine-password' } });
  await gw.start();
  const token = await gw.login('kill-nine-password');
  const made = [];
  const load = [];
  for (let i = 0; i < 40; i++) {
    const r = await gw.api('POST', '/api/admin/groups', { token, body: { name: `g${i}` } });
    assert.equal(r.status, 201);
    made.push(r.json.name);
    load.push(gw.api('GET', '/api/admin/stats', { token }).catch(() => null));
    load.push(gw.api('POST', '/v1/chat/completions', { raw: '{}' }).catch(() => null));
  }
  process.kill(-gw.proc.pid, 'SIGKILL');
  await gw.exited;
  await Promise.all(load);

  const again = new Gateway({ dir, env: { ADMIN_PASSWORD: 'kill-nine-password' } });
  await again.start();
  t.after(() => again.stop());
  assert.equal(again.sql('PRAGMA integrity_check'), 'ok');
  const names = again.sql('SELECT name FROM groups ORDER BY id').split('\n');
  assert.deepEqual(names, made, 'every acknowledged change survived');
  const token2 = await again.login('kill-nine-password');
  assert.equal((await again.api('GET', '/api/admin/groups?limit=100', { token: token2 })).json.total, 40);
});
