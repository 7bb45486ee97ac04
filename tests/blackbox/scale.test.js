// State at scale: dashboard figures come from rollups and equal the raw
// log (also right after an upgrade of a database that already holds
// rows), retention removes what is old and nothing else and the file
// shrinks, a long admin query does not hold up /v1, key health changes
// reach every worker without a configuration reload, and cooldowns and
// quota use survive a restart.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import { Gateway, tempDir, NEW_PASSWORD } from './harness.js';
import { mockUpstream } from './mock-upstream.js';
import { fusion, chatBody, sleep, rawRequest } from './v1-helpers.js';

// A small deterministic generator, so that a failure can be replayed.
function rng(seed) {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

const sqlJson = (gw, q) => JSON.parse(gw.sql(q) || 'null');

// The nearest-rank percentile of values.
function percentile(values, pct) {
  if (values.length === 0) return 0;
  const v = [...values].sort((a, b) => a - b);
  return v[Math.max(1, Math.ceil((v.length * pct) / 100)) - 1];
}

// Within the histogram's bucket error (3.2 %, exact below 16 ms).
function assertNear(got, want, what) {
  assert.ok(Math.abs(got - want) <= want / 32, `${what}: ${got}, exactly ${want}`);
}

// What the raw rows created at or after `since` add up to.
function rawFigures(gw, since) {
  const where = `WHERE created_at >= ${since}`;
  const totals = sqlJson(gw, `SELECT json_object('requests', count(*), 'errors', coalesce(sum(outcome NOT IN ('ok', 'cancelled')), 0), ` +
    `'cancelled', coalesce(sum(outcome = 'cancelled'), 0), 'prompt_tokens', coalesce(sum(prompt_tokens), 0), ` +
    `'completion_tokens', coalesce(sum(completion_tokens), 0)) FROM request_log ${where}`);
  const latencies = sqlJson(gw, `SELECT json_group_array(latency_ms) FROM request_log ${where} AND provider_id IS NOT NULL`);
  const providers = Object.fromEntries(sqlJson(gw, `SELECT json_group_array(json_array(provider_id, n, e, c)) FROM ` +
    `(SELECT provider_id, count(*) n, sum(outcome NOT IN ('ok', 'cancelled')) e, sum(outcome = 'cancelled') c ` +
    `FROM request_log ${where} AND provider_id IS NOT NULL GROUP BY provider_id)`).map(([id, n, e, c]) => [id, { n, e, c }]));
  return { totals, latencies, providers };
}

// Stats and timeseries over `window` against the raw rows they sum.
async function assertStatsMatchRaw(f, window) {
  const s = await f.must('GET', `/api/admin/stats?window=${window}&top=1000`);
  const since = Date.parse(s.since) / 1000;
  assert.ok(since <= Date.now() / 1000 - window && since % 60 === 0, `since ${s.since}`);
  const raw = rawFigures(f.gw, since);
  for (const k of ['requests', 'errors', 'cancelled', 'prompt_tokens', 'completion_tokens']) {
    assert.equal(s[k], raw.totals[k], `${k} over ${window} s`);
  }
  for (const pct of [50, 95, 99]) assertNear(s[`latency_p${pct}_ms`], percentile(raw.latencies, pct), `p${pct}`);
  for (const p of s.providers) {
    const want = raw.providers[p.id] ?? { n: 0, e: 0, c: 0 };
    assert.deepEqual([p.requests, p.errors, p.cancelled], [want.n, want.e, want.c], `provider ${p.id}`);
  }
  const configured = new Set(s.providers.map((p) => p.id));
  assert.equal(s.providers.reduce((n, p) => n + p.requests, 0),
    Object.entries(raw.providers).filter(([id]) => configured.has(Number(id))).reduce((n, [, p]) => n + p.n, 0));

  // Per client key, over whole hours.
  const csince = Date.parse(s.clients_since) / 1000;
  const clients = sqlJson(f.gw, `SELECT json_group_array(json_array(client_key_id, n, t)) FROM (SELECT client_key_id, count(*) n, ` +
    `sum(prompt_tokens + completion_tokens) t FROM request_log WHERE created_at >= ${csince} AND client_key_id IS NOT NULL ` +
    'GROUP BY client_key_id)');
  assert.equal(s.clients_total, clients.length, `clients since ${s.clients_since}: ${JSON.stringify(s.clients)}, raw ${JSON.stringify(clients)}`);
  assert.deepEqual(s.clients.map((c) => [c.id, c.requests, c.prompt_tokens + c.completion_tokens]).sort((a, b) => a[0] - b[0]),
    clients.sort((a, b) => a[0] - b[0]));
  assert.deepEqual(s.clients.map((c) => c.requests), s.clients.map((c) => c.requests).sort((a, b) => b - a), 'busiest client first');

  // Per upstream key and per model, since the window's start: every figure.
  const figures = (group, where) => sqlJson(f.gw, `SELECT json_group_array(json_array(g, n, e, c, p, o, k, w, r, m)) FROM ` +
    `(SELECT ${group} g, count(*) n, sum(outcome NOT IN ('ok', 'cancelled')) e, sum(outcome = 'cancelled') c, ` +
    'sum(prompt_tokens) p, sum(completion_tokens) o, sum(cached_tokens) k, sum(cache_write_tokens) w, ' +
    `sum(reasoning_tokens) r, sum(cost) m FROM request_log WHERE created_at >= ${since} AND ${where} GROUP BY 1)`)
    .sort((a, b) => String(a[0]).localeCompare(String(b[0])));
  const listed = (rows, id) => rows.map((x) => [x[id], x.requests, x.errors, x.cancelled, x.prompt_tokens, x.completion_tokens,
    x.cached_tokens, x.cache_write_tokens, x.reasoning_tokens, x.cost]).sort((a, b) => String(a[0]).localeCompare(String(b[0])));
  const keys = figures('upstream_key_id', 'upstream_key_id IS NOT NULL');
  assert.equal(s.upstream_keys_total, keys.length);
  assert.deepEqual(listed(s.upstream_keys, 'id'), keys, 'upstream keys');
  const models = figures('model', "model != ''");
  assert.equal(s.models_total, models.length);
  assert.deepEqual(listed(s.models, 'model'), models, 'models');
  for (const list of [s.upstream_keys, s.models]) {
    assert.deepEqual(list.map((x) => x.cost), list.map((x) => x.cost).sort((a, b) => b - a), 'most costly first');
  }

  const ts = await f.must('GET', `/api/admin/stats/timeseries?window=${window}`);
  const buckets = Object.fromEntries(sqlJson(f.gw, `SELECT json_group_array(json_array(b, n, e, c, p)) FROM (SELECT ` +
    `created_at / ${ts.bucket_seconds} * ${ts.bucket_seconds} b, count(*) n, sum(outcome NOT IN ('ok', 'cancelled')) e, ` +
    `sum(outcome = 'cancelled') c, sum(prompt_tokens) p FROM request_log GROUP BY 1)`).map(([b, ...v]) => [b, v]));
  const latencies = {};
  for (const [b, ms] of sqlJson(f.gw, `SELECT json_group_array(json_array(created_at / ${ts.bucket_seconds} * ` +
    `${ts.bucket_seconds}, latency_ms)) FROM request_log WHERE provider_id IS NOT NULL`)) (latencies[b] ??= []).push(ms);
  const first = Date.parse(ts.data[0].t) / 1000;
  for (const point of ts.data) {
    const b = Date.parse(point.t) / 1000;
    const want = buckets[b] ?? [0, 0, 0, 0];
    assert.deepEqual([point.requests, point.errors, point.cancelled, point.prompt_tokens], want, `bucket ${point.t}`);
    assertNear(point.latency_p50_ms, percentile(latencies[b] ?? [], 50), `p50 of ${point.t}`);
  }
  const inSeries = Object.entries(buckets).filter(([b]) => Number(b) >= first).reduce((n, [, v]) => n + v[0], 0);
  assert.equal(ts.data.reduce((n, p) => n + p.requests, 0), inSeries);
  return s;
}

test('stats come from the rollups and equal the raw log: random traffic with failover, streams and cancellations', { timeout: 120000 }, async (t) => {
  const f = await fusion(t, { env: { LOG_FLUSH_MS: '100', COOLDOWN_BASE_SECONDS: '1', COOLDOWN_429_SECONDS: '1' } });
  const rand = rng(20240615);
  const flaky = await f.upstream({ name: 'flaky' });
  const good = await f.upstream({ name: 'good' });
  const usage = () => ({ prompt_tokens: 1 + Math.floor(rand() * 50), completion_tokens: Math.floor(rand() * 40) });
  flaky.behave('default', () => {
    const x = rand();
    if (x < 0.25) return 500;
    if (x < 0.35) return { type: 'error', status: 429, retryAfter: 1 };
    return { usage: usage(), delayMs: Math.floor(rand() * 40), chunks: 3, chunkDelayMs: 5 };
  });
  good.behave('default', (rec) => (rec.body?.model === 'slow'
    ? { chunks: 40, chunkDelayMs: 40, usage: usage() }
    : { usage: usage(), delayMs: Math.floor(rand() * 120), chunks: 4, chunkDelayMs: 10 }));
  const hi = await f.group({ priority: 10 });
  const lo = await f.group({ priority: 0 });
  await f.provider(hi, flaky, { models: ['m1', 'm2'], keys: ['sk-flaky-a-000000000000001', 'sk-flaky-b-000000000000002'] });
  await f.provider(lo, good, { models: ['m1', 'm2', 'm3', 'slow'] });
  const clients = [await f.clientKey(), await f.clientKey(), await f.clientKey()];

  let sent = 0;
  let cancelled = 0;
  for (let i = 0; i < 90; i++) {
    const x = rand();
    const key = clients[Math.floor(rand() * clients.length)].key;
    const model = ['m1', 'm2', 'm3', 'nope'][Math.floor(rand() * 4)];
    if (x < 0.05) {
      await f.chat('sk-fe-not-a-key');
    } else if (x < 0.15) {
      const r = await f.stream(key, chatBody('slow', { stream: true }), { closeAfter: (ev) => ev.length >= 2 });
      assert.equal(r.closedByUs, true);
      cancelled++;
    } else if (x < 0.55) {
      await f.stream(key, chatBody(model, { stream: true }));
    } else {
      await f.chat(key, chatBody(model));
    }
    sent++;
  }
  await f.waitLogs(sent, '', 10000);
  await sleep(500);
  assert.equal((await f.logs()).total, sent);

  const s = await assertStatsMatchRaw(f, 3600);
  assert.ok(s.cancelled >= cancelled, `cancellations counted apart: ${s.cancelled}`);
  assert.ok(s.errors > 0 && s.requests === sent);
  await assertStatsMatchRaw(f, 86400);
  await assertStatsMatchRaw(f, 90 * 86400);
});

// The schema of the last release without rollups (a released version).
const SCHEMA_BEFORE_ROLLUPS = 4;

// A database of the release before rollups, with rows already logged.
async function oldDatabase(t, rows) {
  const dir = tempDir();
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const freshDir = tempDir();
  t.after(() => fs.rmSync(freshDir, { recursive: true, force: true }));
  const fresh = new Gateway({ dir: freshDir });
  await fresh.start();
  const newest = fresh.sql('PRAGMA user_version');
  await fresh.stop();
  const gw = new Gateway({ dir, env: { FUSION_SCHEMA_TARGET: String(SCHEMA_BEFORE_ROLLUPS) } });
  assert.equal(await gw.startOnce({ expectExit: true }), 0, gw.output);
  assert.equal(gw.sql('PRAGMA user_version'), String(SCHEMA_BEFORE_ROLLUPS));
  assert.equal(gw.sql("SELECT count(*) FROM sqlite_master WHERE name = 'rollups'"), '0');
  gw.sql(rows);
  return { dir, newest };
}

// INSERT of n raw rows created `ago` seconds back (spread over `span`).
function insertRows(n, ago, span, { trace = '[]', provider = 'abs(random()) % 3 + 1' } = {}) {
  return 'WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < ' + (n - 1) + ') ' +
    'INSERT INTO request_log (request_id, created_at, client_key_id, model, provider_id, upstream_key_id, status, ' +
    'latency_ms, prompt_tokens, completion_tokens, outcome, trace) SELECT printf(\'req_%d\', i), ' +
    `strftime('%s', 'now') - ${ago} + i * ${span} / ${n}, abs(random()) % 4 + 1, 'm' || (abs(random()) % 3), ${provider}, ` +
    "abs(random()) % 9 + 1, CASE abs(random()) % 5 WHEN 0 THEN 502 WHEN 1 THEN 499 ELSE 200 END, abs(random()) % 5000, " +
    "abs(random()) % 100, abs(random()) % 100, 'x', " + `'${trace}' FROM n; ` +
    "UPDATE request_log SET outcome = CASE status WHEN 200 THEN 'ok' WHEN 499 THEN 'cancelled' ELSE 'error' END;";
}

test('an upgrade rolls up the rows already logged: the dashboard is right from the first start', async (t) => {
  const { dir, newest } = await oldDatabase(t, insertRows(3000, 3000, 2900));
  const gw = new Gateway({ dir });
  await gw.start();
  t.after(() => gw.stop());
  assert.equal(gw.sql('PRAGMA user_version'), newest);
  assert.match(gw.output, /rolled up 3000 request log rows/);
  const token = await gw.admin();
  const f = { gw, must: async (m, p) => (await gw.api(m, p, { token })).json };
  const s = await f.must('GET', '/api/admin/stats?window=3600');
  assert.equal(s.requests, Number(gw.sql(`SELECT count(*) FROM request_log WHERE created_at >= ${Date.parse(s.since) / 1000}`)));
  assert.ok(s.requests > 2500);
  await assertStatsMatchRaw(f, 3600);
});

// The schema version that brought table `table`: the first a fresh
// file has it at (found by migrating one step at a time), else the
// newest.
async function versionOf(t, table, newest) {
  const dir = tempDir();
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  for (let v = SCHEMA_BEFORE_ROLLUPS + 1; v < Number(newest); v++) {
    const gw = new Gateway({ dir, env: { FUSION_SCHEMA_TARGET: String(v) } });
    assert.equal(await gw.startOnce({ expectExit: true }), 0, gw.output);
    assert.equal(gw.sql('PRAGMA user_version'), String(v));
    if (gw.sql(`SELECT count(*) FROM sqlite_master WHERE name = '${table}'`) === '1') return v;
  }
  return Number(newest);
}

test('an upgrade from the release with rollups but no per-key running sums lists the keys, clients and models already logged', async (t) => {
  // Rows of the release before rollups, rolled up by the next release
  // (stopped there), then the first start of this one.
  const { dir, newest } = await oldDatabase(t, insertRows(3000, 5000, 4900));
  const running = await versionOf(t, 'rollup_running', newest);
  const before = new Gateway({ dir, env: { FUSION_SCHEMA_TARGET: String(running - 1) } });
  assert.equal(await before.startOnce({ expectExit: true }), 0, before.output);
  assert.equal(before.sql("SELECT count(*) FROM sqlite_master WHERE name = 'rollup_running'"), '0');
  assert.equal(before.sql('SELECT sum(requests) FROM rollups WHERE dim = 0'), '3000');
  assert.equal(before.sql('SELECT count(*) FROM rollups WHERE dim > 3'), '0');

  const gw = new Gateway({ dir });
  await gw.start();
  t.after(() => gw.stop());
  assert.equal(gw.sql('PRAGMA user_version'), newest);
  const token = await gw.admin();
  const f = { gw, must: async (m, p) => (await gw.api(m, p, { token })).json };
  const s = await assertStatsMatchRaw(f, 3600);
  assert.ok(s.upstream_keys_total === 9 && s.models_total === 3 && s.clients_total === 4, JSON.stringify(s));
  assert.ok(s.upstream_keys.reduce((n, k) => n + k.requests, 0) > 2000);
  await assertStatsMatchRaw(f, 86400);
  await assertStatsMatchRaw(f, 90 * 86400);
});

// The database file's size (its WAL is bounded apart).
const fileBytes = (p) => fs.statSync(p).size;

test('retention prunes what is old and nothing else, and the file shrinks', { timeout: 120000 }, async (t) => {
  const day = 86400;
  const trace = JSON.stringify([{ reason: 'x'.repeat(1500) }]);
  const { dir } = await oldDatabase(t, insertRows(6000, 50 * day, 9 * day, { trace }) + insertRows(1500, 20 * day, 10 * day, { trace }));
  const dbPath = `${dir}/fusion.db`;
  const before = fileBytes(dbPath);
  const gw = new Gateway({ dir, env: { LOG_RETENTION_DAYS: '30', ROLLUP_RETENTION_DAYS: '45', LOG_FLUSH_MS: '100' } });
  await gw.start();
  t.after(() => gw.stop());
  // What the UI's settings show.
  const settings = await gw.api('GET', '/api/admin/settings', { token: await gw.admin() });
  const { log_retention_days, rollup_retention_days, log_max_mb } = settings.json;
  assert.deepEqual({ log_retention_days, rollup_retention_days, log_max_mb }, { log_retention_days: 30, rollup_retention_days: 45, log_max_mb: 0 });
  // The upgrade rolled up the old rows too (retention may already be pruning them).
  assert.match(gw.output, /rolled up 7500 request log rows/);

  const deadline = Date.now() + 60000;
  while (Number(gw.sql(`SELECT count(*) FROM request_log WHERE created_at < strftime('%s', 'now') - 30 * ${day}`)) > 0) {
    assert.ok(Date.now() < deadline, 'old raw rows still there after 60 s');
    await sleep(200);
  }
  // Everything younger than the retention is still there.
  assert.equal(gw.sql('SELECT count(*) FROM request_log'), '1500');
  while (Number(gw.sql(`SELECT count(*) FROM rollups WHERE (span = 60 AND t < strftime('%s', 'now') - 30 * ${day} - 60) ` +
    `OR (span > 60 AND t < strftime('%s', 'now') - 46 * ${day})`)) > 0) {
    assert.ok(Date.now() < deadline, 'old rollups still there after 60 s');
    await sleep(200);
  }
  // The running sums per key and client follow the raw rows.
  while (Number(gw.sql(`SELECT count(*) FROM rollup_running WHERE t < strftime('%s', 'now') - 30 * ${day} - 60`)) > 0) {
    assert.ok(Date.now() < deadline, 'old running sums still there after 60 s');
    await sleep(200);
  }
  assert.equal(gw.sql('SELECT count(*) FROM rollup_running WHERE dim = 5'),
    gw.sql('SELECT count(DISTINCT upstream_key_id || \'/\' || (created_at / 60)) FROM request_log'));
  // Hours and days of the pruned rows stay (ROLLUP_RETENTION_DAYS).
  assert.ok(Number(gw.sql(`SELECT count(*) FROM rollups WHERE span = 3600 AND t < strftime('%s', 'now') - 30 * ${day}`)) > 0);
  assert.equal(gw.sql(`SELECT sum(requests) FROM rollups WHERE dim = 1 AND span = 3600 AND t >= strftime('%s', 'now') - 25 * ${day}`), '1500');

  // The pages are given back: the file shrinks once checkpointed.
  let after = fileBytes(dbPath);
  while (after > before * 0.5 && Date.now() < deadline) {
    await sleep(300);
    after = fileBytes(dbPath);
  }
  assert.ok(after < before * 0.5, `the file was ${before} bytes and is ${after}`);
  assert.equal(gw.sql('PRAGMA integrity_check'), 'ok');
});

test('LOG_MAX_MB: the oldest rows go first once the file passes it', { timeout: 120000 }, async (t) => {
  const trace = JSON.stringify([{ reason: 'y'.repeat(2000) }]);
  const { dir } = await oldDatabase(t, insertRows(4000, 5 * 86400, 4 * 86400, { trace }));
  const gw = new Gateway({ dir, env: { LOG_MAX_MB: '8' } });
  await gw.start();
  t.after(() => gw.stop());
  const newest = gw.sql(`SELECT group_concat(id) FROM (SELECT id FROM request_log ORDER BY created_at DESC LIMIT 200)`);
  const deadline = Date.now() + 60000;
  const used = () => Number(gw.sql('PRAGMA page_count')) - Number(gw.sql('PRAGMA freelist_count'));
  while (used() * 4096 > 8 * 1024 * 1024) {
    assert.ok(Date.now() < deadline, `still ${used() * 4096} bytes used`);
    await sleep(200);
  }
  const left = Number(gw.sql('SELECT count(*) FROM request_log'));
  assert.ok(left > 200 && left < 4000, `${left} rows left`);
  assert.equal(gw.sql(`SELECT group_concat(id) FROM (SELECT id FROM request_log ORDER BY created_at DESC LIMIT 200)`), newest);
});

test('a long admin query does not hold up a concurrent /v1 request', { timeout: 180000 }, async (t) => {
  // Two filters each matching half of 1,000,000 rows and never together:
  // the logs page must read one index's half of the log to find nothing.
  const dir = tempDir();
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const seed = new Gateway({ dir });
  await seed.start();
  await seed.admin();
  await seed.stop();
  seed.sql('WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 999999) ' +
    'INSERT INTO request_log (request_id, created_at, model, provider_id, status, outcome) ' +
    "SELECT 'req', strftime('%s', 'now') - 3000 + i / 400, CASE i % 2 WHEN 0 THEN 'even' ELSE 'odd' END, " +
    "1 + i % 2, 200, 'ok' FROM n");

  const gw = new Gateway({ dir, env: { WORKERS: '1' } });
  await gw.start();
  t.after(() => gw.stop());
  const token = await gw.login(NEW_PASSWORD);
  const up = await mockUpstream(t, {});
  const must = async (m, p, body) => {
    const r = await gw.api(m, p, { token, body });
    assert.ok(r.status < 300, `${m} ${p}: ${r.status} ${r.text}`);
    return r.json;
  };
  const g = await must('POST', '/api/admin/groups', { name: 'g' });
  const p = await must('POST', '/api/admin/providers', { group_id: g.id, name: 'p', base_url: up.url, models: ['gpt-4o'] });
  await must('POST', '/api/admin/keys', { provider_id: p.id, key: 'sk-long-query-0000000000001' });
  const ck = await must('POST', '/api/admin/client-keys', { name: 'c' });
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  t.after(() => agent.destroy());
  const chat = async () => {
    const start = process.hrtime.bigint();
    const r = await rawRequest(`${gw.url}/v1/chat/completions`, { method: 'POST', headers: { authorization: `Bearer ${ck.key}` }, body: chatBody(), agent });
    assert.equal(r.status, 200, r.text);
    return Number(process.hrtime.bigint() - start) / 1e6;
  };

  for (let i = 0; i < 5; i++) await chat();
  const unloaded = [];
  for (let i = 0; i < 15; i++) unloaded.push(await chat());
  const base = percentile(unloaded, 50);

  const start = Date.now();
  const slow = gw.api('GET', `/api/admin/logs?model=even&provider_id=2&limit=50`, { token });
  await sleep(50);
  const during = [];
  let done = false;
  slow.then(() => { done = true; });
  while (!done) during.push(await chat());
  const r = await slow;
  const took = Date.now() - start;
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.total, 0);
  t.diagnostic(`admin query ${took} ms; /v1 unloaded p50 ${base.toFixed(2)} ms, during: ${during.length} requests, ` +
    `max ${Math.max(...during).toFixed(2)} ms`);
  // The query must be long for this to mean anything.
  assert.ok(took > 20 * base && during.length >= 5, `the admin query took ${took} ms, /v1 ${base} ms`);
  // While it ran, /v1 requests went on: each far quicker than the query.
  assert.ok(percentile(during, 50) < 10 * base + 5, `/v1 p50 ${percentile(during, 50)} ms during, ${base} ms before`);
  assert.ok(Math.max(...during) < took / 4, `a /v1 request waited ${Math.max(...during)} ms during a ${took} ms query`);
});

// The worker process holding the server side of a client socket.
function workerOf(gw, localPort) {
  const hex = localPort.toString(16).toUpperCase().padStart(4, '0');
  let inode = null;
  for (const line of fs.readFileSync('/proc/net/tcp', 'utf8').split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length > 9 && f[2] === `0100007F:${hex}` && f[3] === '01') inode = f[9];
  }
  for (const p of gw.pids().filter((x) => /\[wrk/.test(x.title))) {
    for (const fd of fs.readdirSync(`/proc/${p.pid}/fd`)) {
      try {
        if (fs.readlinkSync(`/proc/${p.pid}/fd/${fd}`) === `socket:[${inode}]`) return p.pid;
      } catch { /* gone */ }
    }
  }
  return null;
}

// A keep-alive connection of its own, and the worker that holds it.
async function pinned(f) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const r = await f.v1('GET', '/models', { key: 'sk-fe-nobody', agent });
  return { agent, worker: workerOf(f.gw, r.localPort), port: r.localPort };
}

test('a key cooled by one worker is skipped by the other at once, without a configuration reload', async (t) => {
  const f = await fusion(t, { env: { WORKERS: '2' } });
  const up = await f.upstream();
  const spare = await f.upstream({ name: 'spare' });
  const A = 'sk-shared-health-a-0000000001';
  const B = 'sk-shared-health-b-0000000002';
  up.behave(A, { type: 'error', status: 429, retryAfter: 60 }).behave(B, 'ok');
  const p = await f.provider(await f.group({ priority: 10 }), up, { keys: [A, B] });
  await f.provider(await f.group({ priority: 0 }), spare);
  const ck = await f.clientKey();

  // Two connections, held by the two workers.
  // (A socket the kernel has not listed yet is tried again.)
  let one = await pinned(f);
  for (let i = 0; i < 10 && !one.worker; i++) one = await pinned(f);
  let two = await pinned(f);
  for (let i = 0; i < 20 && (!two.worker || two.worker === one.worker); i++) two = await pinned(f);
  t.after(() => { one.agent.destroy(); two.agent.destroy(); });
  assert.ok(one.worker && two.worker && one.worker !== two.worker, `workers ${one.worker} and ${two.worker}`);
  for (const c of [one, two]) assert.equal((await f.chat(ck.key, chatBody(), { agent: c.agent })).status, 200);
  const reloads = (await f.must('GET', '/api/admin/stats')).config_reloads;

  // Worker one meets the 429.
  for (let i = 0; i < 4 && up.served(A) === 0; i++) {
    assert.equal((await f.chat(ck.key, chatBody(), { agent: one.agent })).status, 200);
  }
  assert.equal(up.served(A), 1);
  // Worker two skips the key from its very next request.
  for (let i = 0; i < 8; i++) assert.equal((await f.chat(ck.key, chatBody(), { agent: two.agent })).status, 200);
  assert.equal(up.served(A), 1, 'the other worker tried the cooling key');
  assert.equal(workerOf(f.gw, two.port), two.worker);
  const k = await f.keyState(p.keys[0].id);
  assert.equal(k.status, 'cooldown');
  assert.match(k.status_reason, /429/);
  assert.equal((await f.must('GET', '/api/admin/stats')).config_reloads, reloads, 'health changed the configuration');

  // An operator's change still reaches both.
  await f.must('PATCH', `/api/admin/keys/${p.keys[0].id}`, { status: 'active' });
  for (const c of [one, two]) assert.equal((await f.chat(ck.key, chatBody(), { agent: c.agent })).status, 200);
  assert.ok((await f.must('GET', '/api/admin/stats')).config_reloads >= reloads + 2);
});

test('cooldowns and quota use survive a restart', async (t) => {
  const dir = tempDir();
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const up = await mockUpstream(t, {});
  const spare = await mockUpstream(t, { name: 'spare' });
  const A = 'sk-restart-cooling-0000000001';
  up.behave(A, { type: 'error', status: 429, retryAfter: 300 });
  up.behave('default', { usage: { prompt_tokens: 8, completion_tokens: 4 } });
  spare.behave('default', { usage: { prompt_tokens: 8, completion_tokens: 4 } });

  const first = new Gateway({ dir });
  await first.start();
  const token = await first.admin();
  const must = async (gw, tok, m, p, body) => {
    const r = await gw.api(m, p, { token: tok, body });
    assert.ok(r.status < 300, `${m} ${p}: ${r.status} ${r.text}`);
    return r.json;
  };
  const g = await must(first, token, 'POST', '/api/admin/groups', { name: 'hi', priority: 10 });
  const lo = await must(first, token, 'POST', '/api/admin/groups', { name: 'lo', priority: 0 });
  const p = await must(first, token, 'POST', '/api/admin/providers', { group_id: g.id, name: 'p', base_url: up.url, models: ['gpt-4o'] });
  const ps = await must(first, token, 'POST', '/api/admin/providers', { group_id: lo.id, name: 's', base_url: spare.url, models: ['gpt-4o'] });
  const key = await must(first, token, 'POST', '/api/admin/keys', { provider_id: p.id, key: A });
  await must(first, token, 'POST', '/api/admin/keys', { provider_id: ps.id, key: 'sk-restart-spare-00000000001' });
  const ck = await must(first, token, 'POST', '/api/admin/client-keys', { name: 'c', token_quota: 20 });
  const chat = (gw) => rawRequest(`${gw.url}/v1/chat/completions`, { method: 'POST', headers: { authorization: `Bearer ${ck.key}` }, body: chatBody() });

  assert.equal((await chat(first)).status, 200); // A: 429, the spare answers: 12 tokens
  assert.equal(up.served(A), 1);
  assert.equal((await chat(first)).status, 200); // 24 tokens: over the quota now
  assert.equal((await chat(first)).status, 429);
  const cooled = await must(first, token, 'GET', `/api/admin/keys/${key.id}`);
  assert.equal(cooled.status, 'cooldown');
  // Stopped before the state's next write: the last worker writes it.
  assert.equal(await first.stop(), 0);

  const second = new Gateway({ dir });
  await second.start();
  t.after(() => second.stop());
  const token2 = await second.login(NEW_PASSWORD);
  const k = await must(second, token2, 'GET', `/api/admin/keys/${key.id}`);
  assert.equal(k.status, 'cooldown');
  assert.equal(k.cooldown_until, cooled.cooldown_until);
  assert.match(k.status_reason, /429/);
  assert.equal((await must(second, token2, 'GET', `/api/admin/client-keys/${ck.id}`)).tokens_used, 24);
  const r = await chat(second);
  assert.equal(r.status, 429, r.text);
  assert.equal(r.json.error.code, 'insufficient_quota');

  // The quota reset: the spare answers, the cooling key is still skipped.
  await must(second, token2, 'PATCH', `/api/admin/client-keys/${ck.id}`, { tokens_used: 0 });
  assert.equal((await chat(second)).status, 200);
  assert.equal(up.served(A), 1, 'the cooling key was tried after the restart');
});

test('logs: keyset pages walk the log once under a filter; one row by id; stats list the top keys and clients with totals', async (t) => {
  const f = await fusion(t, { env: { LOG_FLUSH_MS: '100' } });
  const up = await f.upstream();
  await f.provider(await f.group(), up, { models: ['a', 'b'], keys: ['sk-page-1-00000000000000001', 'sk-page-2-00000000000000002'] });
  const cks = [];
  for (let i = 0; i < 6; i++) cks.push(await f.clientKey());
  for (let i = 0; i < 27; i++) assert.equal((await f.chat(cks[i % 6].key, chatBody(i % 3 ? 'a' : 'b'))).status, 200);
  await f.waitLogs(27);

  for (const filter of ['', 'model=a&']) {
    const all = await f.logs(`${filter}limit=1000`);
    const seen = [];
    let before = null;
    for (let n = 0; n < 20; n++) {
      const page = await f.logs(`${filter}limit=4${before ? `&before_id=${before}` : ''}`);
      assert.equal(page.total, all.total);
      assert.equal(page.total_exact, true);
      seen.push(...page.data.map((r) => r.id));
      before = page.next_before_id;
      if (before === null) break;
    }
    assert.deepEqual(seen, all.data.map((r) => r.id), `pages of '${filter}'`);
    assert.equal(new Set(seen).size, all.total);
  }
  const [row] = (await f.logs('limit=1')).data;
  assert.deepEqual(await f.must('GET', `/api/admin/logs/${row.id}`), row);
  assert.equal((await f.call('GET', '/api/admin/logs/999999')).status, 404);
  assert.equal((await f.logs(`request_id=${row.request_id}`)).total, 1);
  assert.equal((await f.call('GET', '/api/admin/logs?before_id=x')).status, 400);

  const s = await f.must('GET', '/api/admin/stats?top=3');
  assert.equal(s.clients.length, 3);
  assert.equal(s.clients_total, 6);
  assert.deepEqual(s.clients.map((c) => c.requests), [5, 5, 5]);
  assert.ok(s.clients.every((c) => c.name.startsWith('client-')));
  assert.equal(s.keys_total, 2);
  assert.ok(s.keys.length === 2 && s.keys[0].requests >= s.keys[1].requests);
  assert.equal(s.keys.reduce((n, k) => n + k.requests, 0), 27);
  assert.equal((await f.call('GET', '/api/admin/stats?top=0')).status, 400);
});
