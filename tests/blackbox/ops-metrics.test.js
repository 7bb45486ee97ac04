// Operating the gateway: /metrics (checked by promtool and scraped by a
// real Prometheus), /healthz and /readyz, and LOG_FORMAT=json.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { freePort, tempDir, gateway } from './harness.js';
import { fusion, chatBody, sleep, holdDatabaseLock } from './v1-helpers.js';

const TOKEN = 'metrics-token-0123456789';

// The text exposition format as [{ name, labels, value }].
export function parseMetrics(text) {
  const out = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = line.match(/^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/);
    assert.ok(m, `not an exposition line: ${line}`);
    const labels = {};
    if (m[2]) {
      for (const l of m[2].matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]] = l[2];
    }
    out.push({ name: m[1], labels, value: Number(m[3]) });
  }
  return out;
}

const sum = (samples, name, pred = () => true) => samples
  .filter((s) => s.name === name && pred(s.labels)).reduce((a, s) => a + s.value, 0);

async function scrape(gw, { token = TOKEN, url = gw.url } = {}) {
  const r = await fetch(`${url}/metrics`, { headers: token ? { authorization: `Bearer ${token}` } : {} });
  return { status: r.status, type: r.headers.get('content-type'), text: await r.text() };
}

function promtool(text) {
  try {
    execFileSync('promtool', ['check', 'metrics'], { input: text, stdio: ['pipe', 'pipe', 'pipe'] });
    return '';
  } catch (err) {
    return `${err.stdout}${err.stderr}`;
  }
}

// Traffic of every kind over both workers: answered, streamed, failed
// over, refused, unknown models, a client with no key.
async function traffic(f) {
  const bad = await f.upstream({ name: 'bad' });
  const good = await f.upstream({ name: 'good' });
  bad.behave('default', { type: 'error', status: 500 });
  good.behave('default', { type: 'ok', usage: { prompt_tokens: 7, completion_tokens: 5, cached_tokens: 3, reasoning_tokens: 2 } });
  const g = await f.group({ priority: 10 });
  const g2 = await f.group({ priority: 0 });
  await f.provider(g, bad, { name: 'first' });
  await f.provider(g2, good, { name: 'second' });
  const ck = await f.clientKey();
  const statuses = [];
  for (let i = 0; i < 6; i++) statuses.push((await f.chat(ck.key)).status);
  for (let i = 0; i < 3; i++) {
    const s = await f.stream(ck.key);
    statuses.push(s.status);
  }
  statuses.push((await f.chat(ck.key, chatBody('made-up-model-1234'))).status);
  statuses.push((await f.chat('sk-fe-not-a-key')).status);
  statuses.push((await f.v1('GET', '/models', { key: ck.key })).status);
  return { ck, statuses, total: statuses.length };
}

test('/metrics: families summed over the workers agree with /api/admin/stats and pass promtool', async (t) => {
  const f = await fusion(t, { env: { METRICS_TOKEN: TOKEN } });
  const { ck, statuses, total } = await traffic(f);
  assert.deepEqual(statuses, [200, 200, 200, 200, 200, 200, 200, 200, 200, 404, 401, 200]);
  await f.waitLogs(total);
  const stats = await f.must('GET', '/api/admin/stats');

  const r = await scrape(f.gw);
  assert.equal(r.status, 200);
  assert.match(r.type, /^text\/plain; version=0\.0\.4/);
  assert.equal(promtool(r.text), '', 'promtool check metrics');
  const m = parseMetrics(r.text);

  assert.equal(sum(m, 'fusion_requests_total'), stats.requests);
  assert.equal(sum(m, 'fusion_requests_total', (l) => l.outcome !== 'ok'), stats.errors);
  assert.equal(sum(m, 'fusion_tokens_total', (l) => l.kind === 'input'), stats.prompt_tokens);
  assert.equal(sum(m, 'fusion_tokens_total', (l) => l.kind === 'output'), stats.completion_tokens);
  // The token kinds: 9 answers, each with 3 cached input and 2 reasoning tokens.
  assert.equal(stats.cached_tokens, 27);
  assert.equal(stats.reasoning_tokens, 18);
  assert.equal(sum(m, 'fusion_tokens_total', (l) => l.kind === 'cached_input'), stats.cached_tokens);
  assert.equal(sum(m, 'fusion_tokens_total', (l) => l.kind === 'reasoning'), stats.reasoning_tokens);
  assert.equal(sum(m, 'fusion_tokens_total', (l) => l.kind === 'cache_write'), 0);
  for (const p of stats.providers) {
    assert.equal(sum(m, 'fusion_requests_total', (l) => l.provider === p.name), p.requests, `provider ${p.name}`);
  }
  assert.equal(sum(m, 'fusion_upstream_keys', (l) => l.state === 'active'), stats.active_keys);
  assert.equal(sum(m, 'fusion_upstream_keys'), stats.total_keys);

  // The first chat failed over (the key then cools down and is skipped).
  assert.equal(sum(m, 'fusion_upstream_attempts_total', (l) => l.provider === 'first' && l.result === 'server_error'), 1);
  assert.equal(sum(m, 'fusion_upstream_attempts_total', (l) => l.provider === 'second' && l.result === 'ok'), 9);
  assert.equal(sum(m, 'fusion_requests_total', (l) => l.path === '/v1/chat/completions' && l.model === 'gpt-4o' && l.provider === 'second' && l.status === '200' && l.outcome === 'ok'), 9);
  assert.equal(sum(m, 'fusion_request_duration_seconds_count', (l) => l.path === '/v1/chat/completions'), 11);
  assert.equal(sum(m, 'fusion_ttfb_seconds_count', (l) => l.path === '/v1/chat/completions'), 9);
  assert.equal(sum(m, 'fusion_in_flight'), 0);
  assert.equal(sum(m, 'fusion_workers'), 2);
  assert.ok(sum(m, 'fusion_connections') >= 1);
  assert.ok(sum(m, 'fusion_config_generation') > 0);
  assert.ok(sum(m, 'process_resident_memory_bytes') > 0);
  assert.ok(sum(m, 'process_open_fds') > 0);

  // Bounded labels: a model no provider serves is "other"; client keys
  // and secrets are never in the output.
  assert.equal(sum(m, 'fusion_requests_total', (l) => l.model === 'other' && l.status === '404'), 1);
  assert.doesNotMatch(r.text, /made-up-model/);
  assert.ok(!r.text.includes(ck.key) && !r.text.includes(ck.key_prefix));
  assert.doesNotMatch(r.text, /sk-up-/);
});

test('/metrics: off without METRICS_TOKEN, behind it as a bearer token otherwise', async (t) => {
  const plain = await fusion(t);
  assert.equal((await scrape(plain.gw, { token: null })).status, 404);

  const withToken = await fusion(t, { env: { METRICS_TOKEN: TOKEN } });
  assert.equal((await scrape(withToken.gw, { token: null })).status, 401);
  assert.equal((await scrape(withToken.gw, { token: 'wrong-token-0123456789' })).status, 401);
  const ok = await scrape(withToken.gw);
  assert.equal(ok.status, 200);
  assert.match(ok.text, /# TYPE fusion_requests_total counter/);
});

test('/metrics with ADMIN_BIND_ADDRESS: served on the admin listener, 404 on the public ones', async (t) => {
  const adminPort = await freePort();
  const gw = await gateway(t, { env: { ADMIN_BIND_ADDRESS: '127.0.0.1', ADMIN_PORT: String(adminPort) } });
  assert.equal((await scrape(gw, { token: null })).status, 404);
  const r = await scrape(gw, { token: null, url: `http://127.0.0.1:${adminPort}` });
  assert.equal(r.status, 200);
  assert.equal(promtool(r.text), '');
  // Health answers everywhere, without authentication.
  for (const url of [gw.url, `http://127.0.0.1:${adminPort}`]) {
    const h = await fetch(`${url}/healthz`);
    assert.equal(h.status, 200);
    assert.deepEqual(await h.json(), { status: 'ok' });
  }
});

// Polls /readyz every 250 ms while `keep(status)` holds, up to ms; the
// last answer and every status seen.
async function readyzWhile(f, keep, ms) {
  const seen = [];
  const until = Date.now() + ms;
  let r;
  do {
    await sleep(250);
    r = await f.gw.api('GET', '/readyz');
    seen.push(r.status);
  } while (keep(r.status) && Date.now() < until);
  return { r, seen };
}

test('/healthz and /readyz: cheap and unauthenticated; /readyz says 503 with a reason while the store refuses writes', async (t) => {
  const f = await fusion(t);
  for (const p of ['/healthz', '/readyz']) {
    const r = await f.gw.api('GET', p);
    assert.equal(r.status, 200, p);
    assert.deepEqual(r.json, { status: 'ok' });
  }
  assert.equal((await f.gw.api('POST', '/readyz')).status, 405);

  const up = await f.upstream();
  await f.provider(await f.group(), up);
  const ck = await f.clientKey();
  const lock = await holdDatabaseLock(t, f.gw.dbPath);

  // A log batch waits out SQLite's busy timeout (10 s), then fails.
  assert.equal((await f.chat(ck.key)).status, 200);
  let r;
  const until = Date.now() + 25000;
  do {
    await sleep(250);
    const c = await f.chat(ck.key);
    assert.equal(c.status, 200, `the data plane serves on: ${JSON.stringify(c.json ?? c.text)}`);
    r = await f.gw.api('GET', '/readyz');
  } while (r.status === 200 && Date.now() < until);
  assert.equal(r.status, 503);
  assert.deepEqual(r.json, { status: 'unavailable', reason: 'the store does not take writes' });
  assert.equal((await f.gw.api('GET', '/healthz')).status, 200);

  await lock.release();
  ({ r } = await readyzWhile(f, (st) => st !== 200, 15000));
  assert.equal(r.status, 200, `readyz after the lock: ${JSON.stringify(r.json)}`);
});

// The runtime state goes to the store every second, traffic or not: an
// idle gateway finds out too, and says ready again once a write of any
// worker goes through, with no request to carry it.
test('/readyz of an idle gateway: 503 while the store is locked, 200 again after, without traffic', async (t) => {
  const f = await fusion(t);
  assert.equal((await f.gw.api('GET', '/readyz')).status, 200);
  const lock = await holdDatabaseLock(t, f.gw.dbPath);
  let { r, seen } = await readyzWhile(f, (st) => st === 200, 30000);
  assert.equal(r.status, 503, `readyz while locked: ${seen.join(' ')}`);
  assert.deepEqual(r.json, { status: 'unavailable', reason: 'the store does not take writes' });

  await lock.release();
  ({ r } = await readyzWhile(f, (st) => st !== 200, 15000));
  assert.equal(r.status, 200, `readyz after the lock: ${JSON.stringify(r.json)}`);
});

test('a real Prometheus scrapes /metrics: rate(fusion_requests_total[1m]) is non-zero after traffic', async (t) => {
  const f = await fusion(t, { env: { METRICS_TOKEN: TOKEN } });
  const up = await f.upstream();
  await f.provider(await f.group(), up);
  const ck = await f.clientKey();

  const dir = tempDir('fusion-prom-');
  const port = await freePort();
  fs.writeFileSync(path.join(dir, 'token'), TOKEN);
  fs.writeFileSync(path.join(dir, 'prometheus.yml'), [
    'global:', '  scrape_interval: 1s', '  evaluation_interval: 1s',
    'scrape_configs:', '  - job_name: fusion',
    `    authorization: { credentials_file: ${path.join(dir, 'token')} }`,
    `    static_configs: [ { targets: ['127.0.0.1:${f.gw.port}'] } ]`, '',
  ].join('\n'));
  const prom = spawn('prometheus', [
    `--config.file=${path.join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${path.join(dir, 'data')}`,
    `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn',
  ], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  prom.stderr.on('data', (d) => { log += d; });
  const exited = new Promise((r) => prom.on('exit', r));
  t.after(async () => {
    try { process.kill(prom.pid, 'SIGTERM'); } catch { /* gone */ }
    await Promise.race([exited, sleep(10000)]);
    try { process.kill(prom.pid, 'SIGKILL'); } catch { /* gone */ }
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const query = async (q) => {
    const r = await fetch(`http://127.0.0.1:${port}/api/v1/query?query=${encodeURIComponent(q)}`);
    return r.json();
  };
  // Traffic while Prometheus scrapes, until the rate shows it (bounded).
  let rate = 0;
  let up1 = 0;
  const until = Date.now() + 40000;
  while (Date.now() < until) {
    for (let i = 0; i < 5; i++) assert.equal((await f.chat(ck.key)).status, 200);
    await sleep(500);
    let r;
    try { r = await query('sum(rate(fusion_requests_total[1m]))'); } catch { continue; }
    if (r.status !== 'success') continue;
    rate = Number(r.data.result[0]?.value[1] ?? 0);
    up1 = Number((await query('up{job="fusion"}')).data.result[0]?.value[1] ?? 0);
    if (rate > 0) break;
  }
  assert.ok(rate > 0, `rate(fusion_requests_total[1m]) stayed 0; prometheus said:\n${log}`);
  assert.equal(up1, 1, 'the scrape target is up');
});

test('LOG_FORMAT=json: one JSON line per request on stdout beside the database log, and the gateway\'s own messages as JSON', async (t) => {
  const f = await fusion(t, { env: { LOG_FORMAT: 'json' } });
  const up = await f.upstream();
  const p = await f.provider(await f.group(), up, { keys: ['sk-up-json-secret-0000000001'] });
  const ck = await f.clientKey();
  const r = await f.chat(ck.key);
  assert.equal(r.status, 200);
  const id = r.headers['x-fusion-request-id'];
  await f.waitLogs(1);
  await sleep(200);

  const lines = f.gw.output.split('\n').filter((l) => l !== '');
  const parsed = lines.map((l) => { try { return JSON.parse(l); } catch { return null; } });
  assert.deepEqual(lines.filter((l, i) => parsed[i] === null), [], 'every line is JSON');
  const reqs = parsed.filter((o) => o.msg === 'request');
  assert.equal(reqs.length, 1);
  const row = (await f.logs()).data[0];
  const line = reqs[0];
  assert.equal(line.request_id, id);
  assert.equal(line.level, 'info');
  assert.match(line.time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  for (const k of ['path', 'model', 'upstream_model', 'status', 'outcome', 'attempts', 'latency_ms', 'ttfb_ms', 'prompt_tokens', 'completion_tokens', 'provider_id', 'key_masked', 'client_key_id']) {
    assert.deepEqual(line[k], row[k], k);
  }
  assert.equal(line.provider, p.name);
  assert.ok(Array.isArray(line.trace) && line.trace.length === 1);
  // Kore's messages and ours, each with its process.
  assert.ok(parsed.some((o) => o.process === 'parent' && /administrator/.test(o.msg)));
  assert.ok(parsed.some((o) => /^wrk \d+$/.test(o.process) && o.level === 'notice'));
  assert.ok(!f.gw.output.includes('sk-up-json-secret-0000000001'), 'no upstream key');
  assert.ok(!f.gw.output.includes(ck.key), 'no client key');
});

test('LOG_FORMAT=json: a reader that stops reading standard output holds no request; the lines it had no room for are counted', async (t) => {
  const f = await fusion(t, { env: { LOG_FORMAT: 'json', METRICS_TOKEN: TOKEN } });
  const up = await f.upstream();
  await f.provider(await f.group(), up);
  const ck = await f.clientKey();
  assert.equal((await f.chat(ck.key)).status, 200);

  // Nobody reads the pipe any more: it and Node's buffer fill after a few
  // hundred lines, and a blocking write would stop the workers there.
  f.gw.proc.stdout.pause();
  const N = 1200;
  let next = 0;
  const statuses = [];
  const client = async () => {
    while (next < N) {
      next++;
      statuses.push((await f.chat(ck.key)).status);
    }
  };
  const done = Promise.all(Array.from({ length: 16 }, client));
  const r = await Promise.race([done, sleep(60000).then(() => 'held')]);
  assert.notEqual(r, 'held', `the workers were held: ${statuses.length} of ${N} answered`);
  assert.deepEqual([...new Set(statuses)], [200]);
  const m = parseMetrics((await scrape(f.gw)).text);
  const lost = sum(m, 'fusion_log_lines_dropped_total');
  assert.ok(lost > 0, 'lines were dropped and counted');
  assert.ok(lost < N, `${lost} lost`);

  // Read again, every line is whole JSON: none was torn.
  f.gw.proc.stdout.resume();
  await f.waitLogs(N + 1);
  await sleep(300);
  const lines = f.gw.output.split('\n').filter((l) => l !== '');
  const bad = lines.filter((l) => { try { JSON.parse(l); return false; } catch { return true; } });
  assert.deepEqual(bad, []);
  const requests = lines.filter((l) => JSON.parse(l).msg === 'request').length;
  assert.ok(requests + lost >= N + 1 && requests < N + 1, `${requests} lines, ${lost} lost`);
});
