// The upstream fault matrix: what a client sees when an upstream fails in
// each way an upstream can fail, for streamed and plain requests, with the
// faulty provider as the only candidate and with a healthy one behind it.
//
// Each row below is one fault; its four cells say what the client gets:
//   FAILOVER      the healthy candidate answers (no byte had reached the
//                 client yet), the client sees one clean answer;
//   err(s, code)  one clear error: status s, OpenAI's error shape, code;
//   EVENT         the stream had begun: it ends with an explicit error
//                 event and no [DONE], and nothing else is tried.
//
// For every cell the request is in the request log exactly once with its
// routing trace. For every row, the gateway still answers the next
// request, no worker crashed (the harness reads the gateway's log), and
// the worker holds no more file descriptors afterwards than before.
//
// Rows run concurrently, each against its own gateway (one worker, so its
// descriptors can be counted) and its own mock upstreams. FAULT_ROWS=<regex>
// runs only the rows whose fault matches.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { BIN, freePort } from './harness.js';
import { fusion, chatBody, contentEvents, assertOpenAIError, within, sleep } from './v1-helpers.js';

const FAILOVER = { failover: true };
const EVENT = { event: true };
const err = (status, code) => ({ status, code });

// Provider timeout_ms of the faulty providers, and the whole request's
// deadline (REQUEST_DEADLINE_MS) in these gateways.
const TIMEOUT_MS = 1500;
const DEADLINE_MS = 4000;
// RESPONSE_MAX_BYTES of these gateways; the SSE event limit is 4 MiB
// (SSE_EVENT_MAX in src/sse.h).
const RESPONSE_MAX = 1024 * 1024;
const HUGE = 64 * 1024 * 1024;

// A DNS name that cannot resolve and whose lookup never leaves the
// machine: glibc refuses to build a query for a label longer than 63
// octets (strace shows no packet to the nameserver), and curl reports
// "Could not resolve host". A name like fault.invalid would be sent to
// the configured nameserver.
const UNRESOLVABLE = `${'x'.repeat(64)}.invalid`;

// How the faulty upstream is reached: `mock` (the mock upstream with a
// behaviour), or a URL builder for faults below HTTP.
const refused = async () => `http://127.0.0.1:${await freePort()}/v1`;
const dns = async () => `http://${UNRESOLVABLE}:80/v1`;
// Plain HTTP bytes where TLS is expected: the handshake fails.
const plainOnTls = async (mock) => `https://127.0.0.1:${mock.port}/v1`;

/* eslint-disable no-multi-spaces */
//  fault                               upstream                                                        stream, alone                stream, + healthy   plain, alone                         plain, + healthy
const MATRIX = [
  ['connection refused',                { url: refused },                                               err(502, 'upstream_error'),  FAILOVER,           err(502, 'upstream_error'),          FAILOVER],
  ['DNS failure',                       { url: dns },                                                   err(502, 'upstream_error'),  FAILOVER,           err(502, 'upstream_error'),          FAILOVER],
  ['TLS failure',                       { url: plainOnTls },                                            err(502, 'upstream_error'),  FAILOVER,           err(502, 'upstream_error'),          FAILOVER],
  ['500',                               { mock: 500 },                                                  err(502, 'upstream_error'),  FAILOVER,           err(502, 'upstream_error'),          FAILOVER],
  ['502',                               { mock: 502 },                                                  err(502, 'upstream_error'),  FAILOVER,           err(502, 'upstream_error'),          FAILOVER],
  ['503 with Retry-After',              { mock: { type: 'error', status: 503, retryAfter: 7 } },        err(502, 'upstream_error'),  FAILOVER,           err(502, 'upstream_error'),          FAILOVER],
  ['429 with Retry-After',              { mock: { type: 'error', status: 429, retryAfter: 7 } },        err(429, 'upstream_rate_limited'), FAILOVER,     err(429, 'upstream_rate_limited'),   FAILOVER],
  ['401',                               { mock: 401 },                                                  err(502, 'upstream_error'),  FAILOVER,           err(502, 'upstream_error'),          FAILOVER],
  ['slow first byte past the timeout',  { mock: { delayMs: 5000 } },                                    err(504, 'upstream_timeout'), FAILOVER,          err(504, 'upstream_timeout'),        FAILOVER],
  ['stall mid-stream',                  { mock: { type: 'stall', after: 1 } },                          EVENT,                       EVENT,              err(504, 'upstream_timeout'),        FAILOVER],
  ['reset mid-stream',                  { mock: { type: 'reset', after: 1 } },                          EVENT,                       EVENT,              err(502, 'upstream_error'),          FAILOVER],
  ['truncated JSON',                    { mock: { type: 'truncated', after: 1 } },                      EVENT,                       EVENT,              err(502, 'upstream_error'),          FAILOVER],
  ['endless stream (the deadline)',     { mock: { type: 'endless', intervalMs: 100 } },                 EVENT,                       EVENT,              err(504, 'upstream_timeout'),        err(504, 'upstream_timeout')],
  // Its one event is too large before any content reached the client.
  ['huge response',                     { mock: { type: 'huge', bytes: HUGE } },                        err(502, 'upstream_error'),  FAILOVER,           err(502, 'upstream_error'),          FAILOVER],
];
/* eslint-enable no-multi-spaces */

const CELLS = [
  { name: 'stream-alone', stream: true, healthy: false },
  { name: 'stream-pair', stream: true, healthy: true },
  { name: 'plain-alone', stream: false, healthy: false },
  { name: 'plain-pair', stream: false, healthy: true },
];

const HEALTHY_TEXT = 'the healthy candidate answers';

function workerPid(gw) {
  const workers = gw.pids().filter((p) => /\[wrk/.test(p.title));
  assert.equal(workers.length, 1, JSON.stringify(gw.pids()));
  return workers[0].pid;
}

const fdCount = (pid) => fs.readdirSync(`/proc/${pid}/fd`).length;
const fdList = (pid) => fs.readdirSync(`/proc/${pid}/fd`).map((fd) => {
  try { return `${fd} -> ${fs.readlinkSync(`/proc/${pid}/fd/${fd}`)}`; } catch { return `${fd} (gone)`; }
});
const rss = (pid) => Number(fs.readFileSync(`/proc/${pid}/status`, 'utf8').match(/^VmRSS:\s+(\d+)/m)[1]) * 1024;

// The largest resident size seen while a row runs (sampled: VmHWM is not
// kept by every kernel, gVisor's included).
function rssSampler(pid) {
  let peak = rss(pid);
  const timer = setInterval(() => { try { peak = Math.max(peak, rss(pid)); } catch { /* gone */ } }, 10);
  return { stop() { clearInterval(timer); return peak; } };
}

// One cell: the request, then what the client must have seen.
async function cell(f, row, c, expect, { ck, fault, healthy }) {
  const model = c.name;
  const what = `${row} / ${c.name}`;
  const body = chatBody(model, c.stream ? { stream: true } : {});
  let r;
  if (c.stream) {
    r = await within(15000, f.stream(ck.key, body, { timeoutMs: 12000 }), what);
    try { r.json = JSON.parse(r.text); } catch { r.json = undefined; }
  } else {
    r = await within(15000, f.chat(ck.key, body, { timeoutMs: 12000 }), what);
  }
  assert.equal(r.timedOut ?? false, false, `${what}: the gateway never ended the answer`);
  const requestId = r.headers['x-fusion-request-id'];
  assert.ok(requestId, `${what}: no x-fusion-request-id: ${r.status} ${r.error} ${r.text.slice(0, 300)}`);

  if (expect.failover) {
    assert.equal(r.status, 200, `${what}: ${r.text.slice(0, 300)}`);
    if (c.stream) {
      assert.equal(r.done, true, `${what}: the failed-over stream ends with [DONE]`);
      assert.equal(r.events.filter((e) => e.json?.error).length, 0, `${what}: ${r.text.slice(0, 300)}`);
      assert.equal(r.events.filter((e) => e.json?.choices?.[0]?.delta?.role).length, 1, `${what}: one stream, not two`);
      assert.equal(contentEvents(r.events).map((e) => e.json.choices[0].delta.content).join(''), HEALTHY_TEXT);
    } else {
      assert.equal(r.json?.choices?.[0]?.message?.content, HEALTHY_TEXT, what);
    }
    assert.equal(healthy.requests.filter((q) => q.body?.model === model).length, 1, `${what}: the healthy candidate answered`);
  } else if (expect.event) {
    assert.equal(r.status, 200, what);
    assert.match(r.headers['content-type'], /^text\/event-stream/, what);
    assert.equal(r.complete, true, `${what}: the chunked stream was ended properly`);
    assert.equal(r.done, false, `${what}: a broken stream must not end with [DONE]`);
    const last = r.events.at(-1);
    assert.ok(last?.json?.error, `${what}: the last event is an error: ${r.text.slice(-300)}`);
    assert.equal(last.json.error.type, 'upstream_error', what);
    assert.equal(last.json.error.code, 'stream_interrupted', what);
    assert.ok(last.json.error.message.length > 0, what);
    assert.equal(healthy.requests.filter((q) => q.body?.model === model).length, 0, `${what}: no failover after the first byte`);
  } else {
    assertOpenAIError(r, expect.status, expect.code);
    assert.match(r.headers['content-type'], /application\/json/, what);
    if (expect.status === 429) assert.equal(r.headers['retry-after'], '7', `${what}: Retry-After passed on`);
    if (c.healthy) assert.equal(healthy.requests.filter((q) => q.body?.model === model).length, 0, what);
  }
  if (/endless/.test(row)) {
    const message = expect.event ? r.events.at(-1)?.json?.error?.message : r.json?.error?.message;
    assert.match(message ?? '', /deadline/, `${what}: the error names the deadline`);
  }
  if (fault) {
    assert.ok(fault.requests.filter((q) => q.body?.model === model).length <= 1, `${what}: the faulty candidate was tried once`);
  }
  return { requestId, status: r.status };
}

async function checkLog(f, what, model, { requestId, status }) {
  const rows = await f.waitLogs(1, `model=${model}`, 5000);
  // A second look after more flushes: still one row.
  await sleep(300);
  const again = await f.logs(`model=${model}`);
  assert.equal(again.total, 1, `${what}: ${again.total} log rows`);
  const row = rows.data[0];
  assert.equal(row.request_id, requestId, what);
  assert.equal(row.status, status, what);
  assert.ok(Array.isArray(row.trace) && row.trace.length >= 1, `${what}: the row has its trace`);
  assert.ok(row.trace.some((s) => s.action === 'tried' && s.outcome !== 'ok'), `${what}: the trace shows the fault: ${JSON.stringify(row.trace)}`);
}

test('upstream fault matrix', { concurrency: 4, timeout: 110000 }, async (t) => {
  const rows = MATRIX.filter(([fault]) => !process.env.FAULT_ROWS || new RegExp(process.env.FAULT_ROWS).test(fault));
  await Promise.all(rows.map(([fault, how, ...expects]) => t.test(fault, async (tt) => {
      const f = await fusion(tt, {
        env: {
          WORKERS: '1', REQUEST_DEADLINE_MS: String(DEADLINE_MS), RESPONSE_MAX_BYTES: String(RESPONSE_MAX),
          LOG_FLUSH_MS: '100',
        },
      });
      const faulty = await f.upstream({ name: 'faulty' });
      const healthy = await f.upstream({ name: 'healthy', defaultContent: HEALTHY_TEXT });
      const check = await f.upstream({ name: 'check' });
      if (how.mock !== undefined) faulty.behave('default', how.mock);
      const baseUrl = how.url ? await how.url(faulty) : faulty.url;

      // One faulty provider per cell, so one cell's fault does not put the
      // next cell's key into a cooldown; the healthy one serves every
      // "+ healthy" cell from a lower priority.
      const gFault = await f.group({ priority: 10 });
      const gHealthy = await f.group({ priority: 0 });
      for (const c of CELLS) {
        await f.provider(gFault, null, { base_url: baseUrl, models: [c.name], timeout_ms: TIMEOUT_MS });
      }
      await f.provider(gHealthy, healthy, { models: CELLS.filter((c) => c.healthy).map((c) => c.name) });
      await f.provider(gHealthy, check, { models: ['check'] });
      const ck = await f.clientKey();

      // Warm up: the worker has its database, log and curl state in place.
      assert.equal((await f.chat(ck.key, chatBody('check'))).status, 200);
      await sleep(300);
      const pid = workerPid(f.gw);
      const fdsBefore = fdCount(pid);
      const fdsBeforeList = fdList(pid);
      const rssBefore = rss(pid);
      const sampler = rssSampler(pid);

      const results = await Promise.all(CELLS.map((c, i) => cell(f, fault, c, expects[i],
        { ck, fault: how.mock !== undefined ? faulty : null, healthy })));
      for (let i = 0; i < CELLS.length; i++) {
        await checkLog(f, `${fault} / ${CELLS[i].name}`, CELLS[i].name, results[i]);
      }

      // The gateway still answers.
      const next = await within(5000, f.chat(ck.key, chatBody('check')), 'the next request');
      assert.equal(next.status, 200, next.text);

      const peak = sampler.stop();
      if (fault === 'huge response') {
        // Memory stayed bounded: far less than what the upstream sent. Not
        // under ASan, whose quarantine keeps freed buffers resident.
        const grew = peak - rssBefore;
        tt.diagnostic(`peak RSS growth of the worker: ${grew} bytes`);
        if (!/asan/.test(BIN)) assert.ok(grew < HUGE, `the worker's peak RSS grew by ${grew} bytes for ${HUGE}-byte answers`);
      }

      // No descriptor leaked. Curl may keep an idle connection to an
      // upstream for reuse: with the faulty and healthy upstreams gone,
      // curl drops its dead connections when it next connects (it checks
      // at most once a second).
      await faulty.close();
      await healthy.close();
      await sleep(1100);
      assert.equal((await f.chat(ck.key, chatBody('check'))).status, 200);
      let fdsAfter;
      for (let i = 0; i < 20; i++) {
        await sleep(100);
        fdsAfter = fdCount(pid);
        if (fdsAfter <= fdsBefore) break;
      }
      assert.ok(fdsAfter <= fdsBefore, `${fault}: the worker held ${fdsBefore} descriptors before the row and ${fdsAfter} after:\n` +
        `before: ${fdsBeforeList.join(', ')}\nafter: ${fdList(pid).join(', ')}`);
      assert.equal(workerPid(f.gw), pid, 'the worker is the same process: it never crashed');
  })));
});
