// Bad clients and bad input: malformed, truncated and non-UTF-8 bodies,
// wrong types, bodies and headers over the limits, slow-loris clients,
// thousands of idle connections, pipelining and a client that stops
// reading a stream. Each gets a clear answer in OpenAI's error shape or a
// timely close, and the gateway keeps serving everyone else meanwhile.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import { fusion, chatBody, assertOpenAIError, sleep } from './v1-helpers.js';
import { gateway, connectionsPerWorker } from './harness.js';
import { exchange, request } from './raw-http.js';

// conf/fusion.conf: http_header_max 8192, http_header_timeout 10 (s).
const HEADER_TIMEOUT_MS = 10000;

async function setup(t, env = {}) {
  const f = await fusion(t, { env });
  const up = await f.upstream({ name: 'first' });
  const other = await f.upstream({ name: 'second' });
  const gHi = await f.group({ priority: 10 });
  const gLo = await f.group({ priority: 0 });
  const p = await f.provider(gHi, up);
  await f.provider(gLo, other);
  const ck = await f.clientKey();
  return { f, up, other, p, ck };
}

const workerFds = (gw) => gw.pids().filter((p) => /\[wrk/.test(p.title))
  .reduce((n, p) => n + fs.readdirSync(`/proc/${p.pid}/fd`).length, 0);

test('malformed, truncated and non-UTF-8 bodies: 400 in OpenAI shape, nothing forwarded', async (t) => {
  const { f, up, ck } = await setup(t);
  const bodies = [
    '{"model":"gpt-4o","messages":[', '{', '{"model":"gpt-4o",}', '{"model":"gpt-4o"}{}', '[]', '"gpt-4o"',
    'null', '{"model":"gpt-4o","messages":[{"role":"user","content":"x"}]} trailing', '',
    // Not UTF-8: a lone continuation byte, an overlong "/", a surrogate, a cut sequence.
    Buffer.from('{"model":"gpt-4o","messages":[{"role":"user","content":"\x80"}]}', 'latin1'),
    Buffer.from('{"model":"gpt-4o","messages":[{"role":"user","content":"\xc0\xaf"}]}', 'latin1'),
    Buffer.from('{"model":"gpt-4o","messages":[{"role":"user","content":"\xed\xa0\x80"}]}', 'latin1'),
    Buffer.from('{"model":"gpt-4o\xe2\x82","messages":[]}', 'latin1'),
  ];
  for (const raw of bodies) {
    const [r] = (await exchange(f.gw.port, request('POST', '/v1/chat/completions', { key: ck.key, body: raw }))).responses;
    assert.ok(r, `no answer to ${JSON.stringify(raw.toString('latin1'))}`);
    assertOpenAIError(r, 400);
    assert.match(r.json.error.code, /^invalid_(json|request)$/, r.text);
  }
  // The admin API refuses non-UTF-8 input too.
  const [a] = (await exchange(f.gw.port, request('POST', '/api/admin/groups', {
    headers: { authorization: `Bearer ${f.token}` }, body: Buffer.from('{"name":"g\xff"}', 'latin1'),
  }))).responses;
  assertOpenAIError(a, 400);
  assert.equal(up.requests.length, 0, 'nothing reached the upstream');
  assert.equal((await f.chat(ck.key)).status, 200, 'the gateway serves on');
});

test('wrong types in every top-level chat field: one clear 400, no failover, no key damage', async (t) => {
  const { f, up, other, p, ck } = await setup(t);
  const wrong = {
    model: 42, messages: 'hello', stream: 'yes', stream_options: 'usage', temperature: 'hot', top_p: [], n: '2',
    max_tokens: 1.5, max_completion_tokens: '9', stop: 5, logit_bias: [], user: 7, tools: {}, tool_choice: 3,
    response_format: 'json', seed: 's', presence_penalty: 'p', frequency_penalty: {}, logprobs: 'yes',
    top_logprobs: true, parallel_tool_calls: 1, metadata: 'm', store: 'no',
  };
  for (const [field, value] of Object.entries(wrong)) {
    const body = { ...chatBody(), [field]: value };
    const r = await f.chat(ck.key, body);
    assertOpenAIError(r, 400);
    assert.ok(r.json.error.message.includes(`'${field}'`), `${field}: the message names the field: ${r.text}`);
  }
  assert.equal(other.served(), 0, 'a client error never fails over');
  assert.equal((await f.keyState(p.keys[0].id)).status, 'active');
  // model, messages, stream and stream_options are the gateway's own to
  // check: those never reach the upstream; the others are its to judge.
  const own = { model: 'string', messages: 'object', stream: 'boolean', stream_options: 'object' };
  assert.equal(up.requests.filter((q) => Object.keys(own).some((k) => k in q.body && typeof q.body[k] !== own[k])).length, 0);
  assert.equal(up.served(), Object.keys(wrong).length - Object.keys(own).length);
});

test('a body over BODY_MAX_BYTES: 413 in OpenAI shape, answered before the body is read', async (t) => {
  const { f, up, ck } = await setup(t, { BODY_MAX_BYTES: '65536' });
  // Only the headers: the gateway must not wait for 100 MB.
  const head = `POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\nauthorization: Bearer ${ck.key}\r\ncontent-type: application/json\r\ncontent-length: 100000000\r\n\r\n`;
  const r = await exchange(f.gw.port, head);
  assertOpenAIError(r.responses[0], 413, 'request_too_large');
  assert.match(r.responses[0].headers['content-type'], /application\/json/);
  // A real oversized body through a normal client.
  const big = await f.chat(ck.key, chatBody('gpt-4o', { messages: [{ role: 'user', content: 'x'.repeat(100000) }] }));
  assertOpenAIError(big, 413, 'request_too_large');
  assert.equal(up.requests.length, 0);
  assert.equal((await f.chat(ck.key)).status, 200);
});

test('headers or a request line over http_header_max: 431 in OpenAI shape, then the connection closes', async (t) => {
  const { f, ck } = await setup(t);
  const big = await exchange(f.gw.port, `GET /v1/models HTTP/1.1\r\nhost: x\r\nx-big: ${'a'.repeat(20000)}\r\n\r\n`, { count: 2 });
  assertOpenAIError(big.responses[0], 431, 'headers_too_large');
  assert.equal(big.closed, true);
  const longUrl = await exchange(f.gw.port, `GET /v1/${'a'.repeat(9000)} HTTP/1.1\r\nhost: x\r\n\r\n`, { count: 2 });
  assertOpenAIError(longUrl.responses[0], 431, 'headers_too_large');
  // Other answers Kore writes itself are in the same shape.
  const noLength = await exchange(f.gw.port, 'POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\n\r\n', { count: 2 });
  assertOpenAIError(noLength.responses[0], 411, 'length_required');
  const garbage = await exchange(f.gw.port, '\x00\x01 nonsense\r\n\r\n', { count: 2 });
  assertOpenAIError(garbage.responses[0], 400, 'bad_request');
  assert.equal((await f.chat(ck.key)).status, 200);
});

test('slow-loris and 2000 idle connections are closed within the header timeout while a normal client is served', async (t) => {
  const { f, ck } = await setup(t);
  const fdsBefore = workerFds(f.gw);
  const t0 = Date.now();

  // 2000 connections that send nothing; 20 that trickle their headers a
  // byte every 300 ms (they would need about a minute to finish).
  const idle = [];
  for (let i = 0; i < 2000; i++) {
    idle.push(new Promise((resolve) => {
      const s = net.connect(f.gw.port, '127.0.0.1');
      let data = '';
      s.on('data', (d) => { data += d; });
      s.on('close', () => resolve({ at: Date.now() - t0, data }));
      s.on('error', () => {});
    }));
  }
  const loris = [];
  for (let i = 0; i < 20; i++) {
    loris.push(new Promise((resolve) => {
      const s = net.connect(f.gw.port, '127.0.0.1');
      const msg = `POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\nauthorization: Bearer ${ck.key}\r\nx-pad: ${'p'.repeat(200)}\r\n\r\n`;
      let i2 = 0;
      let data = '';
      const iv = setInterval(() => { if (!s.destroyed && i2 < msg.length) s.write(msg[i2++]); }, 300);
      s.on('data', (d) => { data += d; });
      s.on('close', () => { clearInterval(iv); resolve({ at: Date.now() - t0, data }); });
      s.on('error', () => {});
    }));
  }

  // Meanwhile a normal client is served, again and again.
  let served = 0;
  while (Date.now() - t0 < HEADER_TIMEOUT_MS - 2000) {
    const r = await f.chat(ck.key);
    assert.equal(r.status, 200, r.text);
    served++;
    await sleep(200);
  }
  assert.ok(served >= 10);

  const closed = await Promise.race([
    Promise.all([...idle, ...loris]),
    sleep(HEADER_TIMEOUT_MS + 8000).then(() => null),
  ]);
  assert.ok(closed, 'some slow or idle connection was still open long after the header timeout');
  const late = closed.filter((c) => c.at > HEADER_TIMEOUT_MS + 5000);
  assert.equal(late.length, 0, `closed late: ${late.slice(0, 3).map((c) => c.at)}`);
  // Each one was told why.
  for (const c of closed.slice(-20)) assert.match(c.data, /^HTTP\/1\.1 408 [^]*"code":"request_timeout"/, c.data);
  assert.equal((await f.chat(ck.key)).status, 200);
  // The gateway holds no more descriptors than before.
  let fdsAfter;
  for (let i = 0; i < 20 && (fdsAfter = workerFds(f.gw)) > fdsBefore + 2; i++) await sleep(100);
  assert.ok(fdsAfter <= fdsBefore + 2, `descriptors: ${fdsBefore} before, ${fdsAfter} after`);
});

test('headers up to http_header_max are read whole: in one write, in pieces, pipelined, and at the exact limit', async (t) => {
  // A connection starts with a small header buffer that grows with the
  // headers (kore-15-header-buffer.patch); none of that may show.
  const { f, up, ck } = await setup(t);
  const chat = (content, pad) => request('POST', '/v1/chat/completions', {
    key: ck.key, headers: { 'x-pad': 'p'.repeat(pad) },
    body: chatBody('gpt-4o', { messages: [{ role: 'user', content }] }),
  });
  const whole = await exchange(f.gw.port, chat('one write', 6000));
  assert.equal(whole.responses[0]?.status, 200, whole.raw.slice(0, 500));
  // The same request in 500-byte pieces, each arriving on its own.
  const bytes = chat('in pieces', 6000);
  const pieces = [];
  for (let i = 0; i < bytes.length; i += 500) pieces.push(bytes.subarray(i, i + 500));
  const slow = await exchange(f.gw.port, pieces, { gap: 5, ms: 10000 });
  assert.equal(slow.responses[0]?.status, 200, slow.raw.slice(0, 500));
  // Pipelined requests whose headers are longer than the start buffer.
  const piped = await exchange(f.gw.port, Buffer.concat([chat('piped 1', 3000), chat('piped 2', 5000), chat('piped 3', 100)]), { count: 3, ms: 10000 });
  assert.deepEqual(piped.responses.map((x) => x.status), [200, 200, 200]);
  assert.deepEqual(up.requests.map((q) => q.body.messages[0].content),
    ['one write', 'in pieces', 'piped 1', 'piped 2', 'piped 3']);
  // Exactly http_header_max bytes of headers pass; one more is a 431.
  const head = (n) => {
    const start = 'GET /v1/models HTTP/1.1\r\nhost: x\r\nauthorization: Bearer ' + ck.key + '\r\nx-pad: ';
    return start + 'q'.repeat(n - start.length - 4) + '\r\n\r\n';
  };
  assert.equal(head(8192).length, 8192);
  const atLimit = await exchange(f.gw.port, head(8192));
  assert.equal(atLimit.responses[0]?.status, 200, atLimit.raw.slice(0, 300));
  assert.equal(atLimit.responses[0].json.object, 'list');
  const over = await exchange(f.gw.port, head(8193), { count: 2 });
  assertOpenAIError(over.responses[0], 431, 'headers_too_large');
});

test('pipelined requests on one connection are answered one by one, in order', async (t) => {
  const { f, up, ck } = await setup(t);
  const reqs = [
    request('GET', '/v1/models', { key: ck.key }),
    request('POST', '/v1/chat/completions', { key: ck.key, body: chatBody('gpt-4o', { messages: [{ role: 'user', content: 'first' }] }) }),
    request('GET', '/v1/models'),
    request('POST', '/v1/chat/completions', { key: ck.key, body: chatBody('gpt-4o', { messages: [{ role: 'user', content: 'second' }], stream: true }) }),
    request('POST', '/v1/chat/completions', { key: ck.key, body: chatBody('gpt-4o', { messages: [{ role: 'user', content: 'third' }] }) }),
  ];
  // All in one write, as a pipelining client sends them.
  const r = await exchange(f.gw.port, Buffer.concat(reqs), { count: reqs.length, ms: 10000 });
  assert.equal(r.responses.length, reqs.length, `got ${r.responses.length} answers:\n${r.raw.slice(0, 2000)}`);
  assert.deepEqual(r.responses.map((x) => x.status), [200, 200, 401, 200, 200]);
  assert.equal(r.responses[0].json.object, 'list');
  assert.equal(r.responses[1].json.object, 'chat.completion');
  assertOpenAIError(r.responses[2], 401, 'invalid_api_key');
  assert.match(r.responses[3].text, /data: \[DONE\]/);
  assert.equal(r.responses[4].json.object, 'chat.completion');
  // The upstream saw the bodies whole and in order.
  assert.deepEqual(up.requests.map((q) => q.body.messages[0].content), ['first', 'second', 'third']);
  // And one write per request, too.
  const r2 = await exchange(f.gw.port, reqs.slice(0, 2), { count: 2 });
  assert.deepEqual(r2.responses.map((x) => x.status), [200, 200]);
});

test('a client that stops reading a stream: cut at STREAM_BUFFER_MAX_BYTES, upstream cancelled, logged, others served', async (t) => {
  const { f, up, ck } = await setup(t, { STREAM_BUFFER_MAX_BYTES: '65536' });
  // About 40 MB of events, more than any socket buffers hold, paced so
  // that the upstream is still sending when the gateway gives up.
  up.behave('default', { content: `${'x'.repeat(10000)} `.repeat(4000), chunks: 4000, chunkDelayMs: 1 });
  const s = net.connect(f.gw.port, '127.0.0.1');
  s.on('error', () => {});
  t.after(() => s.destroy());
  s.write(request('POST', '/v1/chat/completions', { key: ck.key, body: chatBody('gpt-4o', { stream: true }) }));
  s.pause(); // never read

  const rec = await up.waitFor((q) => q.aborted, 20000);
  assert.ok(rec.chunksSent < 4000, 'the upstream stream was stopped early');
  const row = (await f.waitLogs(1, '', 5000)).data[0];
  assert.equal(row.outcome, 'error');
  assert.match(row.error, /does not read/);
  up.behave('default', 'ok');
  assert.equal((await f.chat(ck.key)).status, 200, 'the gateway serves on');
});

test('1,100 requests in flight at once on one worker: every one is answered', { timeout: 120000 }, async (t) => {
  // Long model answers keep many requests open at once. Kore refuses a
  // request with 503 once a worker holds http_request_limit of them; that
  // limit is the connection limit (conf/fusion.conf), not 1,000.
  const { f, up, ck } = await setup(t, { WORKERS: '1' });
  up.behave('default', { delayMs: 5000 });
  const n = 1100;
  const results = await Promise.all(Array.from({ length: n }, (_, i) =>
    f.chat(ck.key, chatBody('gpt-4o', { messages: [{ role: 'user', content: `held ${i}` }] }), { timeoutMs: 90000 })));
  const statuses = {};
  for (const r of results) statuses[r.status] = (statuses[r.status] ?? 0) + 1;
  assert.deepEqual(statuses, { 200: n });
  // They were in flight together: the upstream had them all before it
  // finished answering any.
  assert.equal(up.requests.length, n);
  const lastArrived = Math.max(...up.requests.map((q) => q.at));
  const firstEnded = Math.min(...up.requests.map((q) => q.endedAt));
  assert.ok(lastArrived < firstEnded, 'every request reached the upstream before the first answer ended');
});

test('keep-alive connections opened one at a time are spread over the workers', async (t) => {
  // Kore's accept lock stays with one worker until that worker accepts
  // worker_accept_threshold connections in one pass, so clients that
  // connect one by one all landed on it and one core served them all.
  const gw = await gateway(t, { env: { WORKERS: '2' } });
  const n = 20;
  // The harness's own keep-alive connection from the start-up check.
  const before = connectionsPerWorker(gw, gw.port);
  const socks = [];
  t.after(() => { for (const s of socks) s.destroy(); });
  for (let i = 0; i < n; i++) {
    const s = net.connect(gw.port, '127.0.0.1');
    socks.push(s);
    await new Promise((resolve, reject) => {
      s.once('error', reject);
      s.once('data', () => resolve());
      s.write('GET /api/auth/me HTTP/1.1\r\nhost: 127.0.0.1\r\n\r\n');
    });
    await sleep(20);
  }
  const counts = connectionsPerWorker(gw, gw.port).map((c, i) => c - before[i]);
  assert.equal(counts.length, 2);
  assert.equal(counts[0] + counts[1], n, `all ${n} connections found: ${counts}`);
  assert.ok(Math.abs(counts[0] - counts[1]) <= 2, `connections per worker: ${counts}`);
});
