// HTTP/1.1 and 1.0 as the gateway's Kore reads and answers them, over a
// raw socket: header sets read whole up to 100 lines and http_header_max
// bytes (431 past either, never a set silently cut short), chunked
// request bodies, Connection: close and HTTP/1.0 keep-alive honoured, and
// a pipelined request never answered before the one in front of it.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fusion, chatBody, assertOpenAIError } from './v1-helpers.js';
import { exchange, request } from './raw-http.js';

// conf/fusion.conf: http_header_max 8192.
const HEADER_MAX = 8192;
// How long a connection that must stay open is watched for a close.
const OPEN_MS = 1500;

async function setup(t, env = {}) {
  const f = await fusion(t, { env });
  const up = await f.upstream({ name: 'up' });
  const p = await f.provider(await f.group(), up);
  const ck = await f.clientKey();
  return { f, up, p, ck };
}

// n header lines x-h0 ... before the client key's.
const padded = (n) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`x-h${i}`, `v${i}`]));

// A chunked POST /v1/chat/completions: the head, then the body in chunks.
function chunkedHead(key, headers = {}) {
  let h = `POST /v1/chat/completions HTTP/1.1\r\nhost: 127.0.0.1\r\nauthorization: Bearer ${key}\r\n`;
  h += 'content-type: application/json\r\ntransfer-encoding: chunked\r\n';
  for (const [k, v] of Object.entries(headers)) h += `${k}: ${v}\r\n`;
  return Buffer.from(`${h}\r\n`);
}
const chunk = (data) => Buffer.concat([Buffer.from(`${Buffer.byteLength(data).toString(16)}\r\n`), Buffer.from(data), Buffer.from('\r\n')]);
const lastChunk = Buffer.from('0\r\n\r\n');

test('40 header lines with the client key last: 200, every header read', async (t) => {
  // Kore 4.1.0 kept 25 lines and dropped the rest: the key was lost (401).
  const { f, ck } = await setup(t);
  // host, 38 x- lines, the key: 40.
  const r = await exchange(f.gw.port, request('GET', '/v1/models', { headers: { ...padded(38), authorization: `Bearer ${ck.key}` } }));
  assert.equal(r.responses[0]?.status, 200, r.raw.slice(0, 300));
  assert.equal(r.responses[0].json.object, 'list');
  // 100 header lines (host, 98 x- lines, the key) are read whole too.
  const hundred = await exchange(f.gw.port, request('GET', '/v1/models', { headers: { ...padded(98), authorization: `Bearer ${ck.key}` } }));
  assert.equal(hundred.responses[0]?.status, 200, hundred.raw.slice(0, 300));
});

test('101 header lines: 431 in OpenAI shape and the connection closes, nothing forwarded', async (t) => {
  const { f, up, ck } = await setup(t);
  const body = chatBody();
  const r = await exchange(f.gw.port, request('POST', '/v1/chat/completions', {
    key: ck.key, body, headers: padded(97),
  }), { count: 2 });
  // host, the key, 97 x- lines, content-type, content-length: 101.
  assertOpenAIError(r.responses[0], 431, 'headers_too_large');
  assert.equal(r.closed, true);
  assert.equal(up.requests.length, 0);
  // One line fewer is served.
  const ok = await exchange(f.gw.port, request('POST', '/v1/chat/completions', { key: ck.key, body, headers: padded(96) }));
  assert.equal(ok.responses[0]?.status, 200, ok.raw.slice(0, 300));
});

test('headers over http_header_max: 431, with the key in them or not', async (t) => {
  const { f, up, ck } = await setup(t);
  const start = `POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\nauthorization: Bearer ${ck.key}\r\nx-pad: `;
  const over = Buffer.from(`${start}${'p'.repeat(HEADER_MAX)}\r\ncontent-length: 2\r\n\r\n{}`);
  const r = await exchange(f.gw.port, over, { count: 2 });
  assertOpenAIError(r.responses[0], 431, 'headers_too_large');
  assert.equal(r.closed, true);
  // In many short lines, with the key after the limit.
  const lines = { ...padded(90), 'x-long': 'l'.repeat(HEADER_MAX - 1000), authorization: `Bearer ${ck.key}` };
  const many = await exchange(f.gw.port, request('GET', '/v1/models', { headers: lines }), { count: 2 });
  assertOpenAIError(many.responses[0], 431, 'headers_too_large');
  assert.equal(up.requests.length, 0);
});

test('a chunked request body reaches the upstream whole, in one write or cut anywhere', async (t) => {
  const { f, up, ck } = await setup(t);
  const body = JSON.stringify(chatBody('gpt-4o', { messages: [{ role: 'user', content: `chunked ${'é'.repeat(3000)} end` }] }));
  const chunks = [body.slice(0, 7), body.slice(7, 2000), body.slice(2000)].map(chunk);
  const bytes = Buffer.concat([chunkedHead(ck.key), ...chunks, Buffer.from('0\r\nx-trailer: t\r\n\r\n')]);
  const whole = await exchange(f.gw.port, bytes);
  assert.equal(whole.responses[0]?.status, 200, whole.raw.slice(0, 300));
  assert.equal(whole.responses[0].json.object, 'chat.completion');
  // The same bytes 97 at a time, each read apart, then a pipelined GET.
  const pieces = [];
  for (let i = 0; i < bytes.length; i += 97) pieces.push(bytes.subarray(i, i + 97));
  pieces.push(request('GET', '/v1/models', { key: ck.key }));
  const cut = await exchange(f.gw.port, pieces, { count: 2, gap: 3, ms: 10000 });
  assert.deepEqual(cut.responses.map((x) => x.status), [200, 200], cut.raw.slice(0, 500));
  assert.equal(cut.responses[1].json.object, 'list');
  assert.equal(up.requests.length, 2);
  for (const q of up.requests) assert.deepEqual(q.body.messages, JSON.parse(body).messages);
});

test('a chunked body over BODY_MAX_BYTES: 413 before the rest is read; malformed chunking or framing: 400', async (t) => {
  const { f, up, ck } = await setup(t, { BODY_MAX_BYTES: '65536' });
  // One chunk that says it is too large: answered at its size line.
  const big = await exchange(f.gw.port, Buffer.concat([chunkedHead(ck.key), Buffer.from(`${(70000).toString(16)}\r\n`), Buffer.from('x'.repeat(1000))]), { count: 2 });
  assertOpenAIError(big.responses[0], 413, 'request_too_large');
  assert.equal(big.closed, true);
  // Chunks each small, together over the limit.
  const parts = [chunkedHead(ck.key)];
  for (let i = 0; i < 20; i++) parts.push(chunk('y'.repeat(4000)));
  parts.push(lastChunk);
  const many = await exchange(f.gw.port, Buffer.concat(parts), { count: 2 });
  assertOpenAIError(many.responses[0], 413, 'request_too_large');
  // Malformed: a size that is no number, data longer than its size, a
  // coding other than chunked, chunked beside a content-length.
  const bad = [
    [Buffer.concat([chunkedHead(ck.key), Buffer.from('zz\r\n{}\r\n0\r\n\r\n')]), 400, 'bad_request'],
    [Buffer.concat([chunkedHead(ck.key), Buffer.from('2\r\n{}}\r\n0\r\n\r\n')]), 400, 'bad_request'],
    [Buffer.concat([chunkedHead(ck.key, { 'content-length': '2' }), chunk('{}'), lastChunk]), 400, 'bad_request'],
  ];
  for (const [bytes, status, code] of bad) {
    const r = await exchange(f.gw.port, bytes, { count: 2 });
    assertOpenAIError(r.responses[0], status, code);
  }
  const gzip = Buffer.from(chunkedHead(ck.key).toString().replace('transfer-encoding: chunked', 'transfer-encoding: gzip, chunked'));
  const coded = await exchange(f.gw.port, Buffer.concat([gzip, chunk('{}'), lastChunk]), { count: 2 });
  assertOpenAIError(coded.responses[0], 501, 'not_implemented');
  // A body on a GET would be read as the next request: refused, where
  // content-length 0 is fine.
  const getWith = (len, body) => Buffer.from(`GET /v1/models HTTP/1.1\r\nhost: x\r\nauthorization: Bearer ${ck.key}\r\ncontent-length: ${len}\r\n\r\n${body}`);
  const getBody = await exchange(f.gw.port, getWith(5, 'hello'), { count: 2 });
  assertOpenAIError(getBody.responses[0], 400, 'bad_request');
  assert.equal((await exchange(f.gw.port, getWith(0, ''))).responses[0]?.status, 200);
  assert.equal(up.requests.length, 0, 'nothing reached the upstream');
  // A chunked body within the limit still passes.
  const ok = await exchange(f.gw.port, Buffer.concat([chunkedHead(ck.key), chunk(JSON.stringify(chatBody())), lastChunk]));
  assert.equal(ok.responses[0]?.status, 200, ok.raw.slice(0, 300));
});

test('Connection: close on a non-streamed answer: the answer says so and the connection closes', async (t) => {
  const { f, ck } = await setup(t);
  for (const value of ['close', 'Close', 'keep-alive, close', 'TE, close']) {
    const r = await exchange(f.gw.port, request('POST', '/v1/chat/completions', {
      key: ck.key, body: chatBody(), headers: { connection: value },
    }), { count: 2, ms: OPEN_MS * 2 });
    assert.equal(r.responses[0]?.status, 200, `${value}: ${r.raw.slice(0, 300)}`);
    assert.equal(r.responses[0].headers.connection, 'close', value);
    assert.equal(r.closed, true, `${value}: the connection stayed open`);
  }
  // Behind 30 other header lines too.
  const late = await exchange(f.gw.port, request('GET', '/v1/models', { key: ck.key, headers: { ...padded(30), connection: 'close' } }), { count: 2, ms: OPEN_MS * 2 });
  assert.equal(late.responses[0]?.status, 200, late.raw.slice(0, 300));
  assert.equal(late.closed, true, 'a Connection header after the 25th line was ignored');
  // A request pipelined behind it is not answered.
  const piped = await exchange(f.gw.port, Buffer.concat([
    request('GET', '/v1/models', { key: ck.key, headers: { connection: 'close' } }),
    request('GET', '/v1/models', { key: ck.key }),
  ]), { count: 2, ms: OPEN_MS * 2 });
  assert.equal(piped.responses.length, 1);
  assert.equal(piped.closed, true);
});

test('HTTP/1.0: without keep-alive the answer comes and the connection closes; with keep-alive it stays open', async (t) => {
  const { f, ck } = await setup(t);
  const one0 = (method, path, headers = {}, body = undefined) => Buffer.from(request(method, path, { key: ck.key, headers, body })
    .toString('latin1').replace(' HTTP/1.1\r\n', ' HTTP/1.0\r\n'), 'latin1');
  const plain = await exchange(f.gw.port, one0('POST', '/v1/chat/completions', {}, chatBody()), { count: 2, ms: OPEN_MS * 2 });
  assert.equal(plain.responses[0]?.status, 200, plain.raw.slice(0, 300));
  assert.equal(plain.responses[0].version, 'HTTP/1.0');
  assert.equal(plain.responses[0].json.object, 'chat.completion');
  assert.equal(plain.closed, true, 'an HTTP/1.0 connection without keep-alive stayed open');
  // keep-alive asked for: the answer says so, the connection carries a
  // second request and stays open after it.
  const keep = await exchange(f.gw.port, [one0('GET', '/v1/models', { connection: 'keep-alive' }),
    one0('POST', '/v1/chat/completions', { connection: 'Keep-Alive' }, chatBody())], { count: 3, ms: OPEN_MS, gap: 300 });
  assert.deepEqual(keep.responses.map((x) => x.status), [200, 200], keep.raw.slice(0, 500));
  assert.equal(keep.responses[0].headers.connection, 'keep-alive');
  assert.equal(keep.closed, false, 'the keep-alive connection was closed');
});

// conf/fusion.conf: http_header_timeout 10, http_keepalive_time 60.
const HEADER_TIMEOUT_MS = 10000;

test('a keep-alive connection idle for longer than the header timeout stays open, says nothing, and serves the next request', async (t) => {
  // Kore timed the wait for the next request as a slow request's headers:
  // after 10 s idle it wrote an unasked-for 408 and closed, and a client
  // sending its next request then read the 408 as the answer.
  const { f, ck } = await setup(t);
  const models = request('GET', '/v1/models', { key: ck.key });
  const r = await exchange(f.gw.port, [models, models], { count: 2, gap: HEADER_TIMEOUT_MS + 1500, ms: HEADER_TIMEOUT_MS + 6000 });
  assert.deepEqual(r.responses.map((x) => x.status), [200, 200], r.raw.slice(0, 600));
  assert.match(r.responses[0].headers['keep-alive'] ?? '', /timeout=60/);
  assert.equal(r.closed, false);

  // A request that begins and does not end is still timed from its first
  // byte: 408 in OpenAI shape, and the connection closes.
  const half = models.subarray(0, 20);
  const slow = await exchange(f.gw.port, [models, half], { count: 2, gap: 500, ms: HEADER_TIMEOUT_MS + 8000 });
  assert.equal(slow.responses[0]?.status, 200, slow.raw.slice(0, 300));
  assert.equal(slow.responses[1]?.status, 408, slow.raw.slice(0, 600));
  assert.equal(slow.responses[1].json?.error?.code, 'request_timeout');
  assert.ok(slow.after >= HEADER_TIMEOUT_MS, `the 408 came after ${slow.after} ms`);
});

test('a POST whose body arrives in pieces, with the next request right behind it, is answered first', async (t) => {
  // Kore read on past a body that came in several reads: the request
  // behind it was handled while the POST waited for its upstream, and
  // its answer went out first.
  const { f, up, ck } = await setup(t);
  up.behave('default', { delayMs: 300 });
  const post = request('POST', '/v1/chat/completions', { key: ck.key, body: chatBody('gpt-4o', { messages: [{ role: 'user', content: 'x'.repeat(20000) }] }) });
  const get = request('GET', '/v1/models', { key: ck.key });
  const cut = post.length - 100;
  const r = await exchange(f.gw.port, [post.subarray(0, cut), Buffer.concat([post.subarray(cut), get])], { count: 2, gap: 50, ms: 10000 });
  assert.equal(r.responses.length, 2, r.raw.slice(0, 500));
  assert.equal(r.responses[0].json?.object, 'chat.completion', 'the POST is answered first');
  assert.equal(r.responses[1].json?.object, 'list');
});
