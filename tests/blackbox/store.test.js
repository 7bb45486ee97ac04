// The store: persistence across restarts, migrations, a newer schema
// refused, many concurrent writers across worker processes, and secrets
// kept out of logs.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { Gateway, gateway, tempDir, NEW_PASSWORD } from './harness.js';

test('configuration and the changed password survive a restart', async (t) => {
  const dir = tempDir();
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));

  const first = new Gateway({ dir });
  await first.start();
  const token = await first.admin();
  const g = await first.api('POST', '/api/admin/groups', { token, body: { name: 'persisted', priority: 3 } });
  assert.equal(g.status, 201);
  const ck = await first.api('POST', '/api/admin/client-keys', { token, body: { name: 'ck' } });
  assert.equal(await first.stop(), 0, 'clean exit on SIGTERM');
  assert.deepEqual(first.problems(), []);

  const keyFile = `${first.dbPath}.key`;
  assert.equal(fs.statSync(keyFile).mode & 0o777, 0o600);
  const masterKey = fs.readFileSync(keyFile, 'utf8').trim();
  assert.match(masterKey, /^[0-9a-f]{64}$/);

  const second = new Gateway({ dir });
  await second.start();
  t.after(() => second.stop());
  assert.doesNotMatch(second.output, /default password/);
  const token2 = await second.login(NEW_PASSWORD);
  const list = await second.api('GET', '/api/admin/groups', { token: token2 });
  assert.deepEqual(list.json.data.map((x) => [x.name, x.priority]), [['persisted', 3]]);
  assert.equal(fs.readFileSync(keyFile, 'utf8').trim(), masterKey);
  assert.equal(second.sql('PRAGMA journal_mode'), 'wal');
  assert.equal(second.sql('PRAGMA integrity_check'), 'ok');

  // No secret made or given in either run is in either log.
  for (const secret of [token, token2, ck.json.key, masterKey, NEW_PASSWORD]) {
    assert.ok(!first.output.includes(secret) && !second.output.includes(secret), 'secret in log');
  }
});

test('a database from a newer release is refused with a clear message', async (t) => {
  const dir = tempDir();
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const gw = new Gateway({ dir });
  await gw.start();
  await gw.stop();
  gw.sql('PRAGMA user_version = 42');

  const again = new Gateway({ dir });
  const code = await again.start({ expectExit: true });
  assert.notEqual(code, 0);
  assert.match(again.output, /schema version 42 is newer than this release/);
  assert.equal(again.sql('PRAGMA user_version'), '42');
});

test('an old, empty database file is upgraded in place', async (t) => {
  const dir = tempDir();
  const dbPath = path.join(dir, 'old.db');
  fs.writeFileSync(dbPath, '');
  const gw = await gateway(t, { dir, dbPath });
  // Every migration ran (whatever their number): the newest columns are there.
  assert.ok(Number(gw.sql('PRAGMA user_version')) >= 1);
  assert.equal(gw.sql("SELECT count(*) FROM pragma_table_info('groups') WHERE name = 'affinity'"), '1');
  assert.equal(gw.sql("SELECT count(*) FROM pragma_table_info('request_log') WHERE name = 'usage_estimated'"), '1');
  assert.equal(gw.sql("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'rollups'"), '1');
  // Pages retention frees are given back to the file system.
  assert.equal(gw.sql('PRAGMA auto_vacuum'), '2');
  assert.ok(await gw.admin());
});

test('FUSION_MASTER_KEY replaces the key file; a malformed one stops the start', async (t) => {
  const key = 'ab'.repeat(32);
  const gw = await gateway(t, { env: { FUSION_MASTER_KEY: key } });
  assert.equal(fs.existsSync(`${gw.dbPath}.key`), false);
  const token = await gw.admin();
  const g = (await gw.api('POST', '/api/admin/groups', { token, body: { name: 'g' } })).json;
  const p = (await gw.api('POST', '/api/admin/providers', { token, body: { group_id: g.id, name: 'p', base_url: 'http://127.0.0.1:1' } })).json;
  assert.equal((await gw.api('POST', '/api/admin/keys', { token, body: { provider_id: p.id, key: 'sk-environment-key-123456' } })).status, 201);
  assert.ok(!gw.output.includes(key));

  const dir = tempDir();
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const bad = new Gateway({ dir, env: { FUSION_MASTER_KEY: 'short' } });
  assert.notEqual(await bad.start({ expectExit: true }), 0);
  assert.match(bad.output, /FUSION_MASTER_KEY must be 64 hex/);
});

test('many concurrent writes across workers: no "database is locked", nothing lost', async (t) => {
  const gw = await gateway(t, { env: { WORKERS: '2' } });
  const token = await gw.admin();
  const N = 200;
  const results = await Promise.all(Array.from({ length: N }, (_, i) =>
    gw.api('POST', '/api/admin/groups', { token, body: { name: `g-${i}`, priority: i } })));
  const statuses = results.map((r) => r.status);
  assert.deepEqual([...new Set(statuses)], [201], results.find((r) => r.status !== 201)?.text);
  assert.equal(gw.sql('SELECT count(*) FROM groups'), String(N));
  assert.doesNotMatch(gw.output, /locked|busy/i);
  const pids = gw.pids().filter((p) => /wrk/.test(p.title));
  assert.equal(pids.length, 2, JSON.stringify(gw.pids()));
});

test('bad settings in the environment stop the start with the reason', async (t) => {
  for (const [env, msg] of [
    [{ PORT: '99999' }, /PORT: '99999' is not a number from 1 to 65535/],
    [{ WORKERS: 'many' }, /WORKERS: 'many'/],
  ]) {
    const dir = tempDir();
    t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
    const gw = new Gateway({ dir, env });
    gw.env = env;
    assert.notEqual(await gw.start({ expectExit: true }), 0);
    assert.match(gw.output, msg);
  }
});
