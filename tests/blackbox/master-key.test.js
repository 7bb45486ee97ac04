// The master-key rule (issue 16): a gateway started with another master
// key than its database's data was sealed with refuses to start with a
// clear message, and changes nothing; with the right key it serves the
// stored upstream keys as before.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';

import { Gateway, tempDir } from './harness.js';
import { mockUpstream } from './mock-upstream.js';
import { fusion, chatBody } from './v1-helpers.js';

const KEY_A = '0123456789abcdef'.repeat(4);
const KEY_B = 'fedcba9876543210'.repeat(4);
const WRONG = /refusing to start on database .*different master key than the one loaded/;

const dump = (db) => execFileSync('sqlite3', [db, '.dump']).toString();

// Starts a gateway on dir's database that must refuse; returns its output.
async function refused(dir, env) {
  const gw = new Gateway({ dir, env });
  const code = await gw.start({ expectExit: true });
  assert.notEqual(code, 0, gw.output);
  assert.match(gw.output, WRONG);
  return gw.output;
}

test('another master key is refused before anything changes; the right one serves the stored keys', async (t) => {
  const f = await fusion(t, { env: { FUSION_MASTER_KEY: KEY_A } });
  const up = await f.upstream({ models: ['gpt-4o'] });
  const g = await f.group();
  await f.provider(g, up, { keys: ['sk-up-sealed-0123456789abcdef'] });
  const ck = await f.clientKey();
  assert.equal((await f.chat(ck.key)).status, 200);
  await f.gw.stop();
  const before = dump(f.gw.dbPath);

  const out = await refused(f.gw.dir, { FUSION_MASTER_KEY: KEY_B });
  assert.ok(!out.includes(KEY_A) && !out.includes(KEY_B), 'a key in the log');
  assert.equal(dump(f.gw.dbPath), before);
  assert.ok(!fs.existsSync(`${f.gw.dbPath}.key`), 'a key file was made');

  // The key file instead of the variable: a new one is not made either.
  await refused(f.gw.dir, {});
  assert.ok(!fs.existsSync(`${f.gw.dbPath}.key`), 'the key file made for the refused start stayed');
  fs.writeFileSync(`${f.gw.dbPath}.key`, `${KEY_B}\n`, { mode: 0o600 });
  await refused(f.gw.dir, {});
  assert.equal(dump(f.gw.dbPath), before);

  // The right key: the sealed upstream key still reaches the upstream.
  const again = new Gateway({ dir: f.gw.dir, env: { FUSION_MASTER_KEY: KEY_A } });
  await again.start();
  t.after(() => again.stop());
  const res = await fetch(`${again.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${ck.key}`, 'content-type': 'application/json' },
    body: JSON.stringify(chatBody()),
  });
  assert.equal(res.status, 200, await res.text());
  assert.equal(up.requests.at(-1).headers.authorization, 'Bearer sk-up-sealed-0123456789abcdef');
  assert.equal(await again.stop(), 0);
  assert.deepEqual(again.problems(), []);
});

test('the check value alone tells: a database with nothing sealed yet keeps its key', async (t) => {
  const dir = tempDir();
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const first = new Gateway({ dir, env: { FUSION_MASTER_KEY: KEY_A } });
  await first.start();
  await first.stop();
  assert.equal(first.sql("SELECT count(*) FROM store_meta WHERE name = 'master_key_check'"), '1');
  const before = dump(first.dbPath);
  await refused(dir, { FUSION_MASTER_KEY: KEY_B });
  assert.equal(dump(first.dbPath), before);
});

test('a database from before the check value is tried on its sealed keys, then given one', async (t) => {
  const f = await fusion(t, { env: { FUSION_MASTER_KEY: KEY_A } });
  const up = await mockUpstream(t, { models: ['gpt-4o'] });
  await f.provider(await f.group(), up);
  await f.gw.stop();
  // As an older release left it: no check value.
  f.gw.sql('DELETE FROM store_meta');
  const before = dump(f.gw.dbPath);
  await refused(f.gw.dir, { FUSION_MASTER_KEY: KEY_B });
  assert.equal(dump(f.gw.dbPath), before);

  const again = new Gateway({ dir: f.gw.dir, env: { FUSION_MASTER_KEY: KEY_A } });
  await again.start();
  assert.equal(await again.stop(), 0);
  assert.deepEqual(again.problems(), []);
  assert.equal(again.sql("SELECT count(*) FROM store_meta WHERE name = 'master_key_check'"), '1');
});
