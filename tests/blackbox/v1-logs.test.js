// The request log and statistics: every /v1 request, whatever became of
// it, is logged exactly once within 2 s with its routing trace, latency and
// upstream token usage; nothing of the prompt or answer is stored; the
// stats add up.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fusion, chatBody, sleep, holdDatabaseLock } from './v1-helpers.js';

const RFC3339 = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/;
const LOG_FIELDS = ['id', 'request_id', 'created_at', 'client_key_id', 'client_key_name', 'model', 'upstream_model',
  'group_id', 'provider_id', 'provider_name', 'key_masked', 'path', 'status', 'stream', 'attempts', 'latency_ms',
  'ttfb_ms', 'prompt_tokens', 'completion_tokens', 'outcome', 'error', 'trace'];

// Waits for `count` rows, then makes sure no more arrive: exactly once.
async function exactly(f, count, query = '') {
  await f.waitLogs(count, query, 3000);
  await sleep(2200);
  const r = await f.logs(query);
  assert.equal(r.total, count, `log rows for '${query}': ${JSON.stringify(r.data.map((x) => [x.status, x.outcome, x.error]))}`);
  return r;
}

test('a successful request: one row with everything the operator needs', async (t) => {
  const f = await fusion(t);
  const up = await f.upstream();
  up.behave('default', { usage: { prompt_tokens: 9, completion_tokens: 3 } });
  const g = await f.group({ priority: 3 });
  const p = await f.provider(g, up, { models: ['gpt-4o-mini'], model_aliases: { fast: 'gpt-4o-mini' }, keys: ['sk-log-upstream-0000000000004321'] });
  const ck = await f.clientKey({ name: 'mobile-app' });
  const r = await f.chat(ck.key, chatBody('fast'));
  assert.equal(r.status, 200, r.text);

  const { data } = await exactly(f, 1);
  const row = data[0];
  for (const k of LOG_FIELDS) assert.ok(k in row, `log row lacks ${k}`);
  assert.equal(row.request_id, r.headers['x-fusion-request-id']);
  assert.match(row.created_at, RFC3339);
  assert.ok(Math.abs(Date.parse(row.created_at) - Date.now()) < 15000);
  assert.equal(row.client_key_id, ck.id);
  assert.equal(row.client_key_name, 'mobile-app');
  assert.equal(row.model, 'fast');
  assert.equal(row.upstream_model, 'gpt-4o-mini');
  assert.equal(row.group_id, g.id);
  assert.equal(row.provider_id, p.id);
  assert.equal(row.provider_name, p.name);
  assert.equal(row.key_masked, 'sk-...4321');
  assert.equal(row.path, '/v1/chat/completions');
  assert.equal(row.status, 200);
  assert.equal(row.stream, false);
  assert.equal(row.attempts, 1);
  assert.ok(Number.isInteger(row.latency_ms) && row.latency_ms >= 0);
  assert.ok(Number.isInteger(row.ttfb_ms) && row.ttfb_ms >= 0 && row.ttfb_ms <= row.latency_ms);
  assert.equal(row.prompt_tokens, 9);
  assert.equal(row.completion_tokens, 3);
  assert.equal(row.outcome, 'ok');
  assert.equal(row.error, null);
  assert.equal(row.trace.length, 1);
  const [step] = row.trace;
  assert.equal(step.provider_id, p.id);
  assert.equal(step.provider, p.name);
  assert.equal(step.key_masked, 'sk-...4321');
  assert.equal(step.action, 'tried');
  assert.equal(step.status, 200);
  assert.ok(Number.isInteger(step.latency_ms));
  assert.ok(!JSON.stringify(row).includes('sk-log-upstream-0000000000004321'));
  assert.ok(!JSON.stringify(row).includes(ck.key));
});

test('the trace shows what was skipped and what was tried, and why', async (t) => {
  const f = await fusion(t);
  const bad = await f.upstream({ name: 'bad' });
  const good = await f.upstream({ name: 'good' });
  bad.behave('default', 500);
  const hi = await f.group({ priority: 10 });
  const lo = await f.group({ priority: 0 });
  const noKeys = await f.provider(hi, bad, { keys: [] });
  const failing = await f.provider(hi, bad);
  const serving = await f.provider(lo, good);
  const ck = await f.clientKey();
  assert.equal((await f.chat(ck.key)).status, 200);

  const row = (await exactly(f, 1)).data[0];
  assert.equal(row.provider_id, serving.id);
  assert.equal(row.attempts, 2);
  assert.equal(row.outcome, 'ok');
  const skipped = row.trace.find((s) => s.provider_id === noKeys.id);
  assert.equal(skipped?.action, 'skipped', JSON.stringify(row.trace));
  assert.equal(typeof skipped.reason, 'string');
  const tried = row.trace.filter((s) => s.action === 'tried');
  assert.deepEqual(tried.map((s) => [s.provider_id, s.status]), [[failing.id, 500], [serving.id, 200]]);
  assert.ok(tried[0].reason, 'the failed attempt says why');
});

test('rejected, failed and passed-through requests are logged once each', async (t) => {
  const f = await fusion(t);
  const up = await f.upstream();
  const g = await f.group();
  await f.provider(g, up, { models: ['gpt-4o', 'bad-request'] });
  up.behave('default', (rec) => (rec.body?.model === 'bad-request' ? 400 : 'ok'));
  const ck = await f.clientKey({ rpm_limit: 6, allowed_models: ['gpt-4o', 'bad-request', 'unknown-model'] });
  const off = await f.clientKey({ enabled: false });

  const statuses = [
    (await f.chat('sk-fe-nobody')).status,                                   // 401
    (await f.chat(off.key)).status,                                          // 401 disabled
    (await f.chat(ck.key, chatBody('gpt-4o-mini'))).status,                 // 403 not allowed
    (await f.chat(ck.key, chatBody('unknown-model'))).status,               // 404
    (await f.v1('POST', '/chat/completions', { key: ck.key, raw: '{x' })).status, // 400
    (await f.chat(ck.key, chatBody('bad-request'))).status,                  // upstream 400
    (await f.chat(ck.key)).status,                                           // 200
  ];
  // Keep going until the rpm limit bites.
  let limited = 0;
  let more = 0;
  for (let i = 0; i < 8 && !limited; i++, more++) if ((await f.chat(ck.key)).status === 429) limited = 1;
  assert.equal(limited, 1, 'rpm_limit 6 never answered 429');
  assert.deepEqual(statuses, [401, 401, 403, 404, 400, 400, 200]);
  // Every request made, and no other, is in the log.
  const all = await exactly(f, statuses.length + more);

  const byStatus = (s) => all.data.filter((r) => r.status === s);
  assert.equal(byStatus(401).length, 2);
  assert.ok(byStatus(401).every((r) => r.outcome === 'error' && r.error && r.attempts === 0 && r.trace.length === 0));
  assert.equal(byStatus(401).filter((r) => r.client_key_id === null).length, 1);
  assert.equal(byStatus(401).filter((r) => r.client_key_id === off.id).length, 1);
  assert.equal(byStatus(403).length, 1);
  assert.equal(byStatus(404).length, 1);
  assert.equal(byStatus(400).length, 2);
  assert.equal(byStatus(400).filter((r) => r.attempts === 1).length, 1, 'the upstream 400 was one attempt');
  assert.equal(byStatus(429).length, 1);
  assert.ok(all.data.every((r) => r.path === '/v1/chat/completions'));

  // Newest first.
  const times = all.data.map((r) => Date.parse(r.created_at));
  for (let i = 1; i < times.length; i++) assert.ok(times[i - 1] >= times[i], 'newest first');
  assert.ok(all.data[0].id > all.data.at(-1).id);
});

test('streams are logged with the upstream usage, ttfb, and the way they ended', async (t) => {
  const f = await fusion(t);
  const up = await f.upstream();
  const g = await f.group();
  await f.provider(g, up, { models: ['gpt-4o', 'slow', 'breaks'], timeout_ms: 2000 });
  up.behave('default', (rec) => {
    if (rec.body.model === 'slow') return { chunks: 30, chunkDelayMs: 100, content: 'x '.repeat(30) };
    if (rec.body.model === 'breaks') return { type: 'reset', after: 1 };
    return { usage: { prompt_tokens: 5, completion_tokens: 8 }, chunks: 3, chunkDelayMs: 50 };
  });
  const ck = await f.clientKey();

  const s = await f.stream(ck.key);
  assert.equal(s.done, true);
  const c = await f.stream(ck.key, chatBody('slow', { stream: true }), { closeAfter: (ev) => ev.length >= 3 });
  assert.equal(c.closedByUs, true);
  const b = await f.stream(ck.key, chatBody('breaks', { stream: true }));
  assert.equal(b.done, false);

  const rows = (await exactly(f, 3)).data;
  const ok = rows.find((r) => r.model === 'gpt-4o');
  assert.equal(ok.stream, true);
  assert.equal(ok.outcome, 'ok');
  assert.equal(ok.status, 200);
  assert.equal(ok.prompt_tokens, 5, 'usage of a stream comes from the upstream usage chunk');
  assert.equal(ok.completion_tokens, 8);
  assert.ok(ok.ttfb_ms <= ok.latency_ms);
  assert.ok(ok.latency_ms >= 150, `latency ${ok.latency_ms} ms covers the whole stream`);

  const cancelled = rows.find((r) => r.model === 'slow');
  assert.equal(cancelled.outcome, 'cancelled');
  assert.equal(cancelled.stream, true);

  const broken = rows.find((r) => r.model === 'breaks');
  assert.equal(broken.outcome, 'error');
  assert.ok(broken.error);
});

test('filters and paging', async (t) => {
  const f = await fusion(t);
  const up = await f.upstream();
  const g = await f.group();
  const p1 = await f.provider(g, up, { models: ['m1'] });
  const p2 = await f.provider(g, up, { models: ['m2'] });
  const a = await f.clientKey();
  const b = await f.clientKey();
  for (const [key, model] of [[a, 'm1'], [a, 'm1'], [a, 'm2'], [b, 'm2'], [b, 'nope']]) await f.chat(key.key, chatBody(model));
  await exactly(f, 5);

  assert.equal((await f.logs('model=m1')).total, 2);
  assert.equal((await f.logs(`provider_id=${p2.id}`)).total, 2);
  assert.equal((await f.logs(`provider_id=${p1.id}`)).total, 2);
  assert.equal((await f.logs(`client_key_id=${b.id}`)).total, 2);
  assert.equal((await f.logs('status=404')).total, 1);
  assert.equal((await f.logs(`client_key_id=${a.id}&model=m2`)).total, 1);
  const page = await f.logs('limit=2&offset=1');
  assert.equal(page.total, 5);
  assert.equal(page.data.length, 2);
  const all = await f.logs();
  assert.deepEqual(page.data.map((r) => r.id), all.data.slice(1, 3).map((r) => r.id));
  const future = new Date(Date.now() + 3600e3).toISOString().replace(/\.\d+Z$/, 'Z');
  const past = new Date(Date.now() - 3600e3).toISOString().replace(/\.\d+Z$/, 'Z');
  assert.equal((await f.logs(`since=${future}`)).total, 0);
  assert.equal((await f.logs(`since=${past}`)).total, 5);
  assert.equal((await f.logs(`until=${past}`)).total, 0);
});

test('nothing of the prompt or the answer is stored', async (t) => {
  const f = await fusion(t);
  const up = await f.upstream();
  const marker = `MARKER-${Date.now()}-${Math.random().toString(36).slice(2)}`;
  const answer = `ANSWER-${marker.split('').reverse().join('')}`;
  up.behave('default', { content: answer, chunks: 2 });
  const g = await f.group();
  await f.provider(g, up, { keys: ['sk-never-stored-000000000000001'] });
  const ck = await f.clientKey();
  const body = chatBody('gpt-4o', { messages: [{ role: 'user', content: `please repeat ${marker}` }] });
  const r = await f.chat(ck.key, body);
  assert.ok(r.text.includes(answer));
  await f.stream(ck.key, { ...body, stream: true });
  await f.v1('POST', '/embeddings', { key: ck.key, body: { model: 'gpt-4o', input: marker } });
  await exactly(f, 3);
  const db = f.dbText();
  assert.ok(!db.includes(marker), 'the prompt is in the database');
  assert.ok(!db.includes(answer), 'the answer is in the database');
  assert.ok(!db.includes(ck.key), 'the client key is in the database');
  assert.ok(!db.includes('sk-never-stored-000000000000001'), 'the upstream key is in the database in the clear');
});

test('stats: requests, errors, tokens, latency percentiles, key health and per provider', async (t) => {
  const f = await fusion(t, { env: { COOLDOWN_BASE_SECONDS: '120' } });
  const up = await f.upstream();
  up.behave('default', { usage: { prompt_tokens: 10, completion_tokens: 2 } });
  up.behave('sk-stats-500-00000000000000001', 500).behave('sk-stats-401-00000000000000001', 401);
  const g = await f.group();
  const ok = await f.provider(g, up, { models: ['m-ok'] });
  const five = await f.provider(g, up, { models: ['m-500'], keys: ['sk-stats-500-00000000000000001'] });
  const four = await f.provider(g, up, { models: ['m-401'], keys: ['sk-stats-401-00000000000000001'] });
  const ck = await f.clientKey();
  for (let i = 0; i < 3; i++) assert.equal((await f.chat(ck.key, chatBody('m-ok'))).status, 200);
  assert.equal((await f.chat(ck.key, chatBody('m-500'))).status, 502);
  assert.equal((await f.chat(ck.key, chatBody('m-401'))).status, 502);
  await exactly(f, 5);

  const s = await f.must('GET', '/api/admin/stats?window=3600');
  assert.equal(s.total_groups, 1, 'the configuration totals are still there');
  assert.equal(s.requests, 5);
  assert.equal(s.errors, 2);
  assert.equal(s.prompt_tokens, 30);
  assert.equal(s.completion_tokens, 6);
  assert.ok(Number.isFinite(s.latency_p50_ms) && s.latency_p50_ms >= 0);
  assert.ok(Number.isFinite(s.latency_p95_ms) && s.latency_p95_ms >= s.latency_p50_ms);
  assert.equal(s.cooling_keys, 1);
  assert.equal(s.disabled_keys, 1);
  const prov = Object.fromEntries(s.providers.map((x) => [x.id, x]));
  assert.deepEqual([prov[ok.id].requests, prov[ok.id].errors], [3, 0]);
  assert.deepEqual([prov[five.id].requests, prov[five.id].errors], [1, 1]);
  assert.deepEqual([prov[four.id].requests, prov[four.id].errors], [1, 1]);
  assert.equal(prov[ok.id].name, ok.name);

  const ts = await f.must('GET', '/api/admin/stats/timeseries?window=3600');
  assert.equal(ts.bucket_seconds, 60);
  assert.ok(Array.isArray(ts.data) && ts.data.length >= 1);
  const sum = (k) => ts.data.reduce((n, b) => n + b[k], 0);
  assert.equal(sum('requests'), 5);
  assert.equal(sum('errors'), 2);
  assert.equal(sum('prompt_tokens'), 30);
  assert.equal(sum('completion_tokens'), 6);
  for (const b of ts.data) {
    for (const k of ['t', 'requests', 'errors', 'latency_p50_ms', 'latency_p95_ms', 'prompt_tokens', 'completion_tokens']) assert.ok(k in b, k);
  }
});

test('while another program holds the database lock, requests are still served, and their rows are written once it lets go', async (t) => {
  // The request log is written by a thread of its own: a worker never
  // waits for SQLite's lock while requests wait for it.
  const f = await fusion(t);
  const up = await f.upstream();
  await f.provider(await f.group(), up);
  const ck = await f.clientKey();
  assert.equal((await f.chat(ck.key)).status, 200);
  await exactly(f, 1);

  const lock = await holdDatabaseLock(t, f.gw.dbPath);

  // More requests than a log batch's worth of ticks, all while locked.
  for (let i = 0; i < 20; i++) {
    const r = await f.chat(ck.key, chatBody('gpt-4o', { messages: [{ role: 'user', content: `while locked ${i}` }] }));
    assert.equal(r.status, 200, r.text);
    if (i % 5 === 4) await sleep(300);
  }
  assert.ok(lock.held(), 'the lock was held throughout');
  // The admin API still reads.
  assert.equal((await f.logs()).total, 1);

  await lock.release();
  await exactly(f, 21);
  assert.doesNotMatch(f.gw.output, /dropping an entry/);
});

// A gateway whose log buffer holds 200 rows, with one logged request,
// and chats(n): n chat requests over 8 connections, each answered 200,
// their request ids in `ids` in the order they were answered.
async function bufferedGateway(t, env = {}) {
  const f = await fusion(t, { env: { LOG_BUFFER_MAX_ROWS: '200', LOG_FLUSH_MS: '100', ...env } });
  const up = await f.upstream();
  await f.provider(await f.group(), up);
  const ck = await f.clientKey();
  assert.equal((await f.chat(ck.key)).status, 200);
  await exactly(f, 1);
  const ids = [];
  const chats = async (n) => {
    let next = 0;
    const client = async () => {
      while (next < n) {
        next++;
        const r = await f.chat(ck.key);
        assert.equal(r.status, 200, `the data plane serves on: ${r.text}`);
        ids.push(r.headers['x-fusion-request-id']);
      }
    };
    await Promise.all(Array.from({ length: 8 }, client));
  };
  return { f, ids, chats };
}

test('a store that refuses writes for long: each worker holds its share of LOG_BUFFER_MAX_ROWS, the oldest go past it, counted, and the newest are written when it is back', async (t) => {
  const { f, ids, chats } = await bufferedGateway(t, { METRICS_TOKEN: 'metrics-token-0123456789' });
  const lock = await holdDatabaseLock(t, f.gw.dbPath);
  const N = 600;
  let during;
  try {
    await chats(N);
    assert.ok(lock.held(), 'the lock was held throughout');
    // Each worker publishes its figures every second: read until two
    // reads more than a second apart agree.
    const metrics = async () => {
      const r = await fetch(`${f.gw.url}/metrics`, { headers: { authorization: 'Bearer metrics-token-0123456789' } });
      const text = await r.text();
      const v = (name) => Number(text.match(new RegExp(`^${name} (\\d+)$`, 'm'))[1]);
      return { queued: v('fusion_log_queue_rows'), dropped: v('fusion_log_dropped_total') };
    };
    let prev = await metrics();
    for (let i = 0; i < 20; i++) {
      await sleep(1200);
      during = await metrics();
      if (during.queued === prev.queued && during.dropped === prev.dropped) break;
      prev = during;
    }
    assert.ok(during.queued <= 200, `${during.queued} rows held`);
    assert.ok(during.dropped > 0, 'some were dropped');
    assert.equal(during.queued + during.dropped, N, JSON.stringify(during));
    assert.ok(lock.held(), 'the lock was held throughout');
  } finally {
    await lock.release();
  }

  await f.waitLogs(1 + during.queued, '', 20000);
  await sleep(1000);
  const rows = (await f.logs('limit=1000')).data.map((r) => r.request_id);
  assert.equal(rows.length, 1 + during.queued, 'what was held, and nothing else, is written');
  // The newest of the outage are kept (each worker held its newest 100,
  // less the few of the batch its writer was trying when the lock came,
  // which the writer keeps); what was dropped is older than them.
  const newest = ids.slice(-40);
  assert.deepEqual(newest.filter((id) => !rows.includes(id)), [], 'the newest requests are logged');
  const kept = new Set(rows);
  const lost = ids.map((id, i) => (kept.has(id) ? -1 : i)).filter((i) => i >= 0);
  assert.equal(lost.length, during.dropped);
  assert.ok(Math.max(...lost) < N - 40, `dropped up to request ${Math.max(...lost)} of ${N}`);
  assert.ok((f.gw.output.match(/dropping the oldest/g) || []).length <= 2, 'said once per worker, not per entry');
});

test('an outage longer than SQLite\'s busy timeout: the batch that failed is not tried again while the store still refuses, so its rows go first past the bound', async (t) => {
  const { f, ids, chats } = await bufferedGateway(t);
  const lock = await holdDatabaseLock(t, f.gw.dbPath);
  const t0 = Date.now();
  try {
    // The first rows reach the writers, which wait out the busy timeout
    // (10 s) and fail; then as many again, past the bound.
    await chats(20);
    const failedBoth = () => new Set([...f.gw.output.matchAll(/\[(wrk \d+)\]: request log: write failed/g)].map((m) => m[1])).size === 2;
    while (!failedBoth() && Date.now() - t0 < 30000) await sleep(250);
    assert.ok(failedBoth(), 'both workers\' first batches failed');
    await chats(400);
    assert.ok(lock.held(), 'the lock was held throughout');
  } finally {
    await lock.release();
  }
  await f.waitLogs(41, '', 20000);
  await sleep(2000);
  const rows = new Set((await f.logs('limit=1000')).data.map((r) => r.request_id));
  assert.ok(rows.size <= 201, `${rows.size} rows written`);
  assert.deepEqual(ids.slice(0, 20).filter((id) => rows.has(id)), [], 'the rows of the failed batches went first');
  assert.deepEqual(ids.slice(-40).filter((id) => !rows.has(id)), [], 'the newest requests are logged');
});
