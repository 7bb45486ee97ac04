// OpenTelemetry traces: spans as OTLP/HTTP JSON to a receiver in the
// test, their structure, parenting and GenAI attributes, traceparent in
// and out, and a dead collector that costs the data plane nothing.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import fs from 'node:fs';
import { fusion, chatBody, sleep } from './v1-helpers.js';
import { freePort, gateway, tempDir, NEW_PASSWORD } from './harness.js';
import { mockUpstream } from './mock-upstream.js';

// An OTLP/HTTP receiver: every POST /v1/traces body, parsed.
async function receiver(t) {
  const posts = [];
  const srv = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d) => { body += d; });
    req.on('end', () => {
      posts.push({ path: req.url, type: req.headers['content-type'], auth: req.headers['x-collector-auth'], body: JSON.parse(body) });
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{}');
    });
  });
  await new Promise((r) => srv.listen(0, '127.0.0.1', r));
  t.after(() => new Promise((r) => { srv.closeAllConnections(); srv.close(r); }));
  const spans = () => posts.flatMap((p) => p.body.resourceSpans.flatMap((rs) => rs.scopeSpans.flatMap((ss) => ss.spans.map((s) => ({ ...s, resource: rs.resource })))));
  return {
    url: `http://127.0.0.1:${srv.address().port}`,
    posts,
    spans,
    async waitSpans(pred, n, ms = 8000) {
      const until = Date.now() + ms;
      while (Date.now() < until) {
        const found = spans().filter(pred);
        if (found.length >= n) return found;
        await sleep(50);
      }
      return spans().filter(pred);
    },
  };
}

const attrs = (span) => Object.fromEntries(span.attributes.map((a) => [a.key, a.value.stringValue ?? a.value.intValue]));

const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const PARENT = '00f067aa0ba902b7';

test('each request is a server span with a client span per upstream attempt, GenAI attributes, traceparent honoured and sent upstream', async (t) => {
  const rx = await receiver(t);
  const f = await fusion(t, {
    env: {
      OTEL_EXPORTER_OTLP_ENDPOINT: rx.url, OTEL_BSP_SCHEDULE_DELAY: '100', OTEL_SERVICE_NAME: 'fusion-test',
      OTEL_RESOURCE_ATTRIBUTES: 'deployment.environment=test,team=ops%20team', OTEL_EXPORTER_OTLP_HEADERS: 'x-collector-auth=s3cret',
    },
  });
  const bad = await f.upstream({ name: 'bad' });
  const good = await f.upstream({ name: 'good' });
  bad.behave('default', { type: 'error', status: 503 });
  good.behave('default', { type: 'ok', usage: { prompt_tokens: 11, completion_tokens: 4 } });
  await f.provider(await f.group({ priority: 10 }), bad, { name: 'first', model_aliases: { 'gpt-4o': 'gpt-4o-up' }, models: ['gpt-4o'] });
  await f.provider(await f.group({ priority: 0 }), good, { name: 'second' });
  const ck = await f.clientKey();

  const r = await f.chat(ck.key, chatBody(), { headers: { traceparent: `00-${TRACE}-${PARENT}-01` } });
  assert.equal(r.status, 200, r.text);
  const [server] = await rx.waitSpans((s) => s.kind === 2, 1);
  assert.ok(server, 'a server span arrived');
  const clients = await rx.waitSpans((s) => s.kind === 3, 2);
  assert.equal(clients.length, 2);

  // Structure and parenting: the caller's trace, the caller's span as
  // the parent of ours, ours as the parent of each attempt.
  assert.equal(server.traceId, TRACE);
  assert.equal(server.parentSpanId, PARENT);
  assert.equal(server.name, 'POST /v1/chat/completions');
  assert.match(server.spanId, /^[0-9a-f]{16}$/);
  for (const c of clients) {
    assert.equal(c.traceId, TRACE);
    assert.equal(c.parentSpanId, server.spanId);
    assert.notEqual(c.spanId, server.spanId);
    assert.ok(BigInt(c.startTimeUnixNano) >= BigInt(server.startTimeUnixNano));
    assert.ok(BigInt(c.endTimeUnixNano) <= BigInt(server.endTimeUnixNano));
  }
  assert.notEqual(clients[0].spanId, clients[1].spanId);

  const [failed, ok] = clients.sort((a, b) => (BigInt(a.startTimeUnixNano) < BigInt(b.startTimeUnixNano) ? -1 : 1));
  assert.equal(failed.name, 'chat gpt-4o-up');
  assert.equal(failed.status.code, 2);
  assert.deepEqual(
    { ...attrs(failed) },
    {
      'gen_ai.operation.name': 'chat', 'gen_ai.provider.name': 'openai', 'gen_ai.request.model': 'gpt-4o-up',
      'error.type': 'error', 'http.response.status_code': '503', 'fusion.provider': 'first', 'fusion.provider.id': attrs(failed)['fusion.provider.id'],
    },
  );
  const a = attrs(ok);
  assert.equal(ok.name, 'chat gpt-4o');
  assert.equal(ok.status.code, 1);
  assert.equal(a['gen_ai.request.model'], 'gpt-4o');
  assert.equal(a['gen_ai.response.model'], 'gpt-4o');
  assert.equal(a['gen_ai.usage.input_tokens'], '11');
  assert.equal(a['gen_ai.usage.output_tokens'], '4');
  assert.equal(a['fusion.provider'], 'second');

  const s = attrs(server);
  assert.equal(s['gen_ai.request.model'], 'gpt-4o');
  assert.equal(s['gen_ai.response.model'], 'gpt-4o');
  assert.equal(s['gen_ai.provider.name'], 'openai');
  assert.equal(s['gen_ai.usage.input_tokens'], '11');
  assert.equal(s['gen_ai.usage.output_tokens'], '4');
  assert.equal(s['http.response.status_code'], '200');
  assert.equal(s['fusion.request_id'], r.headers['x-fusion-request-id']);
  assert.equal(s['fusion.attempts'], '2');

  // Each upstream was told the trace and its own attempt's span.
  assert.equal(bad.requests[0].headers.traceparent, `00-${TRACE}-${failed.spanId}-01`);
  assert.equal(good.requests[0].headers.traceparent, `00-${TRACE}-${ok.spanId}-01`);

  // The resource and the export itself.
  const res = Object.fromEntries(server.resource.attributes.map((x) => [x.key, x.value.stringValue]));
  assert.deepEqual(res, { 'service.name': 'fusion-test', 'deployment.environment': 'test', team: 'ops team' });
  assert.ok(rx.posts.every((p) => p.path === '/v1/traces' && p.type === 'application/json' && p.auth === 's3cret'));
  // No client key, upstream key or prompt in a span.
  const all = JSON.stringify(rx.posts);
  assert.ok(!all.includes(ck.key) && !all.includes('sk-up-') && !all.includes('Hello'));
});

test('without a traceparent a request starts a trace; an unsampled traceparent is passed on and nothing is exported', async (t) => {
  const rx = await receiver(t);
  const f = await fusion(t, { env: { OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: `${rx.url}/v1/traces`, OTEL_BSP_SCHEDULE_DELAY: '100' } });
  const up = await f.upstream();
  await f.provider(await f.group(), up);
  const ck = await f.clientKey();

  assert.equal((await f.chat(ck.key)).status, 200);
  const [server] = await rx.waitSpans((s) => s.kind === 2, 1);
  assert.match(server.traceId, /^[0-9a-f]{32}$/);
  assert.notEqual(server.traceId, '0'.repeat(32));
  assert.equal(server.parentSpanId, undefined);
  assert.equal(up.requests[0].headers.traceparent.split('-')[1], server.traceId);

  const before = rx.spans().length;
  assert.equal((await f.chat(ck.key, chatBody(), { headers: { traceparent: `00-${TRACE}-${PARENT}-00` } })).status, 200);
  assert.match(up.requests[1].headers.traceparent, new RegExp(`^00-${TRACE}-[0-9a-f]{16}-00$`));
  // Malformed ones are ignored: a new trace.
  assert.equal((await f.chat(ck.key, chatBody(), { headers: { traceparent: `00-${'0'.repeat(32)}-${PARENT}-01` } })).status, 200);
  assert.doesNotMatch(up.requests[2].headers.traceparent, /^00-0{32}-/);
  await rx.waitSpans((s) => s.kind === 2, 2);
  await sleep(300);
  assert.ok(!rx.spans().some((s) => s.traceId === TRACE), 'the unsampled trace was not exported');
  assert.equal(rx.spans().length - before, 2, 'spans of the malformed request only');
});

test('without an endpoint, an incoming traceparent still reaches the upstream unchanged', async (t) => {
  const f = await fusion(t);
  const up = await f.upstream();
  await f.provider(await f.group(), up);
  const ck = await f.clientKey();
  const tp = `00-${TRACE}-${PARENT}-01`;
  assert.equal((await f.chat(ck.key, chatBody(), { headers: { traceparent: tp } })).status, 200);
  assert.equal(up.requests[0].headers.traceparent, tp);
  assert.equal((await f.chat(ck.key)).status, 200);
  assert.equal(up.requests[1].headers.traceparent, undefined);
});

// A collector that accepts connections and never answers.
async function blackhole(t) {
  const socks = [];
  const srv = net.createServer((s) => { socks.push(s); s.on('error', () => {}); });
  await new Promise((r) => srv.listen(0, '127.0.0.1', r));
  t.after(() => { for (const s of socks) s.destroy(); srv.close(); });
  return `http://127.0.0.1:${srv.address().port}`;
}

test('a dead collector (never answering, or refusing) changes no /v1 latency beyond a bound, and the spans it costs are counted', async (t) => {
  const hole = await blackhole(t);
  const refused = `http://127.0.0.1:${await freePort()}`;
  const base = await fusion(t, { env: { WORKERS: '1' } });
  const dead = await fusion(t, {
    env: {
      WORKERS: '1', OTEL_EXPORTER_OTLP_ENDPOINT: hole, OTEL_BSP_SCHEDULE_DELAY: '20', OTEL_BSP_MAX_QUEUE_SIZE: '16',
      OTEL_BSP_MAX_EXPORT_BATCH_SIZE: '4', OTEL_EXPORTER_OTLP_TIMEOUT: '60000', METRICS_TOKEN: 'metrics-token-0123456789',
    },
  });
  const gone = await fusion(t, { env: { WORKERS: '1', OTEL_EXPORTER_OTLP_ENDPOINT: refused, OTEL_BSP_SCHEDULE_DELAY: '20' } });
  const setups = [];
  for (const f of [base, dead, gone]) {
    const up = await f.upstream();
    await f.provider(await f.group(), up);
    setups.push({ f, key: (await f.clientKey()).key, ms: [] });
  }

  // Interleaved, so that the machine's load falls on all three alike.
  for (let i = 0; i < 60; i++) {
    for (const s of setups) {
      const t0 = process.hrtime.bigint();
      const r = await s.f.chat(s.key);
      s.ms.push(Number(process.hrtime.bigint() - t0) / 1e6);
      assert.equal(r.status, 200);
    }
  }
  const median = (v) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];
  const [mb, md, mg] = setups.map((s) => median(s.ms));
  // Relative, with a millisecond of slack for timer noise on loopback.
  assert.ok(md <= mb * 1.5 + 1, `blackholed collector: median ${md.toFixed(2)} ms vs ${mb.toFixed(2)} ms without tracing`);
  assert.ok(mg <= mb * 1.5 + 1, `refusing collector: median ${mg.toFixed(2)} ms vs ${mb.toFixed(2)} ms without tracing`);

  const m = await fetch(`${dead.gw.url}/metrics`, { headers: { authorization: 'Bearer metrics-token-0123456789' } }).then((r) => r.text());
  const dropped = Number(m.match(/^fusion_trace_spans_dropped_total (\d+)$/m)[1]);
  const queuedNow = Number(m.match(/^fusion_trace_queue_spans (\d+)$/m)[1]);
  assert.ok(dropped > 0, 'spans past the bounded queue are counted as dropped');
  assert.ok(queuedNow <= 16, `the queue stays within its bound (${queuedNow})`);

  // Nor does it hold up a shutdown (the harness fails a stop that hangs).
  assert.equal(await dead.gw.stop(), 0);
  assert.equal(await gone.gw.stop(), 0);
});

test('production mode (chrooted, seccomp-filtered workers): spans reach the collector and /metrics reads each worker\'s own figures', { skip: process.geteuid() !== 0 && 'needs root' }, async (t) => {
  const rx = await receiver(t);
  const dir = tempDir();
  fs.chmodSync(dir, 0o755);
  const token = 'metrics-token-0123456789';
  const gw = await gateway(t, {
    dir, args: ['-f'],
    env: { OTEL_EXPORTER_OTLP_ENDPOINT: rx.url, OTEL_BSP_SCHEDULE_DELAY: '100', METRICS_TOKEN: token, LOG_FORMAT: 'json', ADMIN_PASSWORD: NEW_PASSWORD },
  });
  const admin = await gw.login(NEW_PASSWORD);
  const must = async (p, body) => {
    const r = await gw.api('POST', p, { token: admin, body });
    assert.equal(r.status, 201, r.text);
    return r.json;
  };
  const up = await mockUpstream(t);
  const g = await must('/api/admin/groups', { name: 'g' });
  const p = await must('/api/admin/providers', { group_id: g.id, name: 'p', base_url: up.url, models: ['gpt-4o'] });
  await must('/api/admin/keys', { provider_id: p.id, key: 'sk-up-privsep-0000000001' });
  const ck = await must('/api/admin/client-keys', { name: 'c' });
  for (let i = 0; i < 4; i++) {
    const r = await gw.api('POST', '/v1/chat/completions', { token: ck.key, body: chatBody() });
    assert.equal(r.status, 200, r.text);
  }
  const servers = await rx.waitSpans((s) => s.kind === 2, 4);
  assert.equal(servers.length, 4);
  assert.equal((await rx.waitSpans((s) => s.kind === 3, 4)).length, 4);

  const m = await fetch(`${gw.url}/metrics`, { headers: { authorization: `Bearer ${token}` } }).then((r) => r.text());
  const v = (name) => Number(m.match(new RegExp(`^${name} (\\S+)$`, 'm'))[1]);
  assert.ok(v('process_open_fds') > 0);
  assert.ok(v('process_resident_memory_bytes') > 0);
  assert.ok(v('fusion_trace_spans_exported_total') >= 0);
  assert.match(m, /fusion_requests_total\{path="\/v1\/chat\/completions",model="gpt-4o",provider="p",status="200",outcome="ok"\} 4/);
  // JSON lines from the chrooted workers too.
  assert.ok(gw.output.split('\n').filter((l) => l.includes('"msg":"request"')).length === 4);
});

test('tracestate: a valid one goes upstream beside the traceparent, as it came; an invalid one, or one without a valid traceparent, does not', async (t) => {
  const f = await fusion(t);
  const up = await f.upstream();
  await f.provider(await f.group(), up);
  const ck = await f.clientKey();
  const tp = `00-${TRACE}-${PARENT}-01`;
  const send = async (headers) => {
    assert.equal((await f.chat(ck.key, chatBody(), { headers })).status, 200);
    return up.requests.at(-1).headers;
  };

  const state = 'congo=t61rcWkgMzE, rojo=00f067aa0ba902b7,tenant1@vendor=x y';
  assert.equal((await send({ traceparent: tp, tracestate: state })).tracestate, state);
  assert.equal((await send({ tracestate: state })).tracestate, undefined, 'no traceparent');
  assert.equal((await send({ traceparent: `00-${'0'.repeat(32)}-${PARENT}-01`, tracestate: state })).tracestate, undefined, 'a bad traceparent');
  for (const bad of ['Congo=x', 'congo', 'congo=', 'a=b=c', `k=${'v'.repeat(257)}`,
    Array.from({ length: 33 }, (_, i) => `k${i}=v`).join(','), `k=${'v'.repeat(200)},j=${'v'.repeat(200)},l=${'v'.repeat(200)}`]) {
    const h = await send({ traceparent: tp, tracestate: bad });
    assert.equal(h.tracestate, undefined, bad.slice(0, 40));
    assert.equal(h.traceparent.split('-')[1], TRACE, 'the trace goes on');
  }
});
