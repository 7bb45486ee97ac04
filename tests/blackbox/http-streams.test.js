// Streams and the client's HTTP: an HTTP/1.0 client gets the events
// unchunked and the connection closes at the end; "Connection: close"
// closes after the stream's last chunk. Raw sockets, so that what goes on
// the wire is what is checked.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { fusion, chatBody } from './v1-helpers.js';

// Sends raw, reads until the gateway closes the connection (or ms pass).
function exchange(port, raw, ms = 10000) {
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, '127.0.0.1');
    const chunks = [];
    const timer = setTimeout(() => {
      sock.destroy();
      resolve({ text: Buffer.concat(chunks).toString('latin1'), closed: false });
    }, ms);
    sock.on('connect', () => sock.write(raw));
    sock.on('data', (d) => chunks.push(d));
    sock.on('end', () => {
      clearTimeout(timer);
      sock.destroy();
      resolve({ text: Buffer.concat(chunks).toString('latin1'), closed: true });
    });
    sock.on('error', (e) => { clearTimeout(timer); reject(e); });
  });
}

function split(text) {
  const at = text.indexOf('\r\n\r\n');
  assert.ok(at > 0, `no end of headers in ${JSON.stringify(text.slice(0, 200))}`);
  const [statusLine, ...lines] = text.slice(0, at).split('\r\n');
  const headers = {};
  for (const l of lines) {
    const i = l.indexOf(':');
    headers[l.slice(0, i).toLowerCase()] = l.slice(i + 1).trim();
  }
  return { statusLine, headers, body: text.slice(at + 4) };
}

async function setup(t) {
  const f = await fusion(t);
  const up = await f.upstream({ name: 'first' });
  up.behave('default', { content: 'one two three', chunks: 3 });
  const g = await f.group({ priority: 10 });
  const p = await f.provider(g, up);
  const ck = await f.clientKey();
  return { f, p, ck, port: new URL(f.gw.url).port };
}

function request(version, key, extraHeaders = '') {
  const body = JSON.stringify(chatBody('gpt-4o', { stream: true }));
  return `POST /v1/chat/completions HTTP/${version}\r\nHost: 127.0.0.1\r\n` +
    `Authorization: Bearer ${key}\r\nContent-Type: application/json\r\n` +
    `Content-Length: ${Buffer.byteLength(body)}\r\n${extraHeaders}\r\n${body}`;
}

test('an HTTP/1.0 client gets the stream unchunked, and the connection closes after it', async (t) => {
  const { f, p, ck, port } = await setup(t);
  const r = await exchange(port, request('1.0', ck.key));
  assert.equal(r.closed, true, 'the gateway kept the HTTP/1.0 connection open after the stream');
  const { statusLine, headers, body } = split(r.text);
  assert.match(statusLine, /^HTTP\/1\.0 200 /);
  assert.match(headers['content-type'], /^text\/event-stream/);
  assert.equal(headers['transfer-encoding'], undefined, 'chunked encoding sent to an HTTP/1.0 client');
  assert.equal(headers.connection, 'close');
  assert.match(body, /^data: \{/, 'the body does not start with an event: chunk sizes?');
  assert.match(body, /data: \[DONE\]\n\n$/);
  assert.ok(!/\r\n0\r\n/.test(body), 'a chunked terminator in an HTTP/1.0 body');
  const key = await f.keyState(p.keys[0].id);
  assert.equal(key.status, 'active', 'a stream that ended normally cooled its key down');
});

test('Connection: close on a stream: chunked, then the connection closes after the last chunk', async (t) => {
  const { f, p, ck, port } = await setup(t);
  const r = await exchange(port, request('1.1', ck.key, 'Connection: close\r\n'));
  assert.equal(r.closed, true, 'the gateway ignored Connection: close on a stream');
  const { statusLine, headers, body } = split(r.text);
  assert.match(statusLine, /^HTTP\/1\.1 200 /);
  assert.equal(headers['transfer-encoding'], 'chunked');
  assert.equal(headers.connection, 'close');
  assert.match(body, /data: \[DONE\]\n\n\r\n0\r\n\r\n$/);
  const key = await f.keyState(p.keys[0].id);
  assert.equal(key.status, 'active');
});

test('without Connection: close a stream keeps the connection for the next request', async (t) => {
  const { f, ck, port } = await setup(t);
  const r = await exchange(port, request('1.1', ck.key), 1500);
  assert.equal(r.closed, false, 'the gateway closed a keep-alive connection after a stream');
  const { headers, body } = split(r.text);
  assert.equal(headers.connection, 'keep-alive');
  assert.match(body, /\r\n0\r\n\r\n$/);
  const log = await f.waitLogs(1);
  assert.equal(log.data[0].outcome, 'ok');
});
