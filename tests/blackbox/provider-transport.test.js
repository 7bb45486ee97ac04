// A provider's own transport and rewrites: a forward proxy (proxy_url,
// proved with a real one: Debian's tinyproxy, started here on loopback),
// whose credentials are sealed at rest and shown masked; headers added
// to its requests (never the key's); overrides of the JSON body it is
// sent; and its own failover statuses, with and without a cooldown.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { freePort, tempDir } from './harness.js';
import { fusion, chatBody, sleep } from './v1-helpers.js';

const PROXY_USER = 'alice';
const PROXY_PASSWORD = 'pr0xy-pa55word-0123456789';

// tinyproxy in the foreground on a free loopback port, with basic auth;
// stopped by its pid when the test ends.
async function tinyproxy(t) {
  const dir = tempDir('fusion-tinyproxy-');
  const port = await freePort();
  const conf = path.join(dir, 'tinyproxy.conf');
  fs.writeFileSync(conf, [
    `Port ${port}`, 'Listen 127.0.0.1', 'Allow 127.0.0.1', 'Timeout 30', 'MaxClients 20',
    'LogLevel Info', `BasicAuth ${PROXY_USER} ${PROXY_PASSWORD}`,
  ].join('\n') + '\n');
  const proc = spawn('tinyproxy', ['-d', '-c', conf], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  proc.stdout.on('data', (d) => { log += d; });
  proc.stderr.on('data', (d) => { log += d; });
  const exited = new Promise((r) => proc.on('exit', r));
  t.after(async () => {
    proc.kill('SIGTERM');
    await Promise.race([exited, sleep(3000)]);
    fs.rmSync(dir, { recursive: true, force: true });
  });
  for (let i = 0; i < 100; i++) {
    const up = await new Promise((r) => {
      const s = net.connect(port, '127.0.0.1', () => { s.end(); r(true); });
      s.on('error', () => r(false));
    });
    if (up) return { port, log: () => log };
    await sleep(50);
  }
  throw new Error(`tinyproxy did not start:\n${log}`);
}

test('proxy_url: requests go through a real forward proxy, its credentials sealed and masked', async (t) => {
  const proxy = await tinyproxy(t);
  const f = await fusion(t);
  const g = await f.group();
  const up = await f.upstream({});
  const url = `http://${PROXY_USER}:${PROXY_PASSWORD}@127.0.0.1:${proxy.port}`;
  const p = await f.provider(g, up, { proxy_url: url });
  assert.ok(!JSON.stringify(p).includes(PROXY_PASSWORD), `the password is shown: ${p.proxy_url}`);
  assert.match(p.proxy_url, new RegExp(`^http://.+@127\\.0\\.0\\.1:${proxy.port}$`));
  const ck = await f.clientKey();

  const r = await f.chat(ck.key);
  assert.equal(r.status, 200, r.text);
  const rec = up.requests.at(-1);
  assert.match(rec.headers.via ?? '', /tinyproxy/, 'the request came through the proxy');
  assert.equal(rec.headers['proxy-authorization'], undefined);
  assert.equal(rec.headers.authorization, `Bearer ${p.keys[0].secret}`);
  assert.match(proxy.log(), /Established connection to host "127\.0\.0\.1"/);

  // Streams and the key test go the same way.
  const s = await f.stream(ck.key);
  assert.equal(s.done, true);
  assert.match(up.requests.at(-1).headers.via ?? '', /tinyproxy/);
  const kt = await f.must('POST', `/api/admin/keys/${p.keys[0].id}/test`);
  assert.equal(kt.ok, true, JSON.stringify(kt));
  assert.match(up.requests.at(-1).headers.via ?? '', /tinyproxy/);

  // The password is nowhere in the store in clear, nor in the audit.
  assert.ok(!f.dbText().includes(PROXY_PASSWORD));
  const audit = await f.must('GET', '/api/admin/audit');
  assert.ok(!JSON.stringify(audit).includes(PROXY_PASSWORD));

  // PATCH without proxy_url keeps it; wrong credentials fail over as a
  // transport failure would (the proxy answers 407); "" removes it.
  await f.must('PATCH', `/api/admin/providers/${p.id}`, { timeout_ms: 9000 });
  assert.equal((await f.chat(ck.key)).status, 200);
  assert.match(up.requests.at(-1).headers.via ?? '', /tinyproxy/);
  await f.must('PATCH', `/api/admin/providers/${p.id}`, { proxy_url: `http://${PROXY_USER}:wrong@127.0.0.1:${proxy.port}`, });
  await f.must('PATCH', `/api/admin/keys/${p.keys[0].id}`, { status: 'active' });
  const n = up.requests.length;
  const bad = await f.chat(ck.key);
  assert.equal(bad.status, 502, bad.text);
  assert.equal(up.requests.length, n, 'nothing reached the upstream without the proxy letting it');
  const cleared = await f.must('PATCH', `/api/admin/providers/${p.id}`, { proxy_url: '' });
  assert.equal(cleared.proxy_url, '');
  await f.must('PATCH', `/api/admin/keys/${p.keys[0].id}`, { status: 'active' });
  assert.equal((await f.chat(ck.key)).status, 200);
  assert.equal(up.requests.at(-1).headers.via, undefined, 'straight to the upstream again');
});

test('proxy_url takes http://, https:// and socks5h:// URLs and nothing else', async (t) => {
  const f = await fusion(t);
  const g = await f.group();
  for (const ok of ['http://127.0.0.1:3128', 'https://proxy.example:8443/', 'socks5h://user:pass@[::1]:1080', 'http://proxy.internal']) {
    const r = await f.call('POST', '/api/admin/providers', { group_id: g.id, name: `p-${Math.random()}`, base_url: 'http://127.0.0.1:1', proxy_url: ok });
    assert.equal(r.status, 201, `${ok}: ${r.text}`);
  }
  for (const bad of ['ftp://x:21', 'socks4://x:1080', 'http://', 'http://x:99999', 'http://x/path', 'http://x?y=1', 'http://a b:1', 'http://@x:1', 5]) {
    const r = await f.call('POST', '/api/admin/providers', { group_id: g.id, name: 'bad', base_url: 'http://127.0.0.1:1', proxy_url: bad });
    assert.equal(r.status, 400, `${bad}: ${r.text}`);
    assert.match(r.json.error.message, /'proxy_url'/);
  }
  assert.equal((await f.must('GET', `/api/admin/providers?group_id=${g.id}`)).total, 4);
});

test('extra_headers are added to upstream requests and never replace the key header', async (t) => {
  const f = await fusion(t);
  const g = await f.group();
  const up = await f.upstream({});
  const an = await f.upstream({ flavor: 'anthropic' });
  const p = await f.provider(g, up, { extra_headers: { 'X-Org': 'acme', 'OpenAI-Project': 'proj_123' } });
  assert.deepEqual(p.extra_headers, { 'X-Org': 'acme', 'OpenAI-Project': 'proj_123' });
  const ck = await f.clientKey();
  assert.equal((await f.chat(ck.key)).status, 200);
  const rec = up.requests.at(-1);
  assert.equal(rec.headers['x-org'], 'acme');
  assert.equal(rec.headers['openai-project'], 'proj_123');
  assert.equal(rec.headers.authorization, `Bearer ${p.keys[0].secret}`);

  // On a model list too (the key test), and on another provider type.
  await f.must('POST', `/api/admin/keys/${p.keys[0].id}/test`);
  assert.equal(up.requests.at(-1).headers['x-org'], 'acme');
  const g2 = await f.group({ priority: 5 });
  const pa = await f.provider(g2, an, { models: ['gpt-4o'], extra_headers: { 'anthropic-beta': 'prompt-caching-2024-07-31' } });
  assert.equal((await f.chat(ck.key)).status, 200);
  assert.equal(an.requests.at(-1).headers['anthropic-beta'], 'prompt-caching-2024-07-31');
  assert.equal(an.requests.at(-1).headers['x-api-key'], pa.keys[0].secret);

  for (const bad of [{ Authorization: 'Bearer mine' }, { 'x-api-key': 'k' }, { 'X-Goog-Api-Key': 'k' }, { 'Content-Length': '1' },
    { 'bad header': 'x' }, { 'x-a': 'line\r\nx-b: injected' }, { 'x-a': 5 }, ['x']]) {
    const r = await f.call('PATCH', `/api/admin/providers/${p.id}`, { extra_headers: bad });
    assert.equal(r.status, 400, `${JSON.stringify(bad)}: ${r.text}`);
    assert.match(r.json.error.message, /'extra_headers'/);
  }
  assert.deepEqual((await f.must('GET', `/api/admin/providers/${p.id}`)).extra_headers, { 'X-Org': 'acme', 'OpenAI-Project': 'proj_123' });
});

test('body_overrides set and remove members of the body the provider is sent, in its own API', async (t) => {
  const f = await fusion(t);
  const g = await f.group();
  const up = await f.upstream({});
  const p = await f.provider(g, up, { body_overrides: { set: { max_tokens: 7, temperature: 0.5, metadata: { team: 'a' } }, remove: ['user', 'logit_bias'] } });
  assert.deepEqual(p.body_overrides, { set: { max_tokens: 7, temperature: 0.5, metadata: { team: 'a' } }, remove: ['user', 'logit_bias'] });
  const ck = await f.clientKey();

  const r = await f.chat(ck.key, chatBody('gpt-4o', { user: 'u1', max_tokens: 100, temperature: 1, logit_bias: { 1: 2 }, top_p: 0.9 }));
  assert.equal(r.status, 200, r.text);
  const body = up.requests.at(-1).body;
  assert.deepEqual(body, { model: 'gpt-4o', messages: [{ role: 'user', content: 'Hello' }], top_p: 0.9, max_tokens: 7, temperature: 0.5, metadata: { team: 'a' } });

  // A stream keeps what the gateway sets itself.
  const s = await f.stream(ck.key);
  assert.equal(s.done, true);
  const sb = up.requests.at(-1).body;
  assert.equal(sb.stream, true);
  assert.deepEqual(sb.stream_options, { include_usage: true });
  assert.equal(sb.max_tokens, 7);

  // For an Anthropic provider the overrides apply to the translated body.
  const an = await f.upstream({ flavor: 'anthropic' });
  const g2 = await f.group({ priority: 5 });
  await f.provider(g2, an, { models: ['gpt-4o'], body_overrides: { set: { max_tokens: 9, top_k: 3 } } });
  assert.equal((await f.chat(ck.key)).status, 200);
  const ab = an.requests.at(-1).body;
  assert.equal(ab.max_tokens, 9);
  assert.equal(ab.top_k, 3);
  assert.equal(an.requests.at(-1).rejected, undefined);

  for (const bad of [{ set: { model: 'x' } }, { remove: ['stream'] }, { set: { a: 1 }, remove: ['a'] }, { put: {} }, { set: [] }, { remove: [1] }, 'x']) {
    const rr = await f.call('PATCH', `/api/admin/providers/${p.id}`, { body_overrides: bad });
    assert.equal(rr.status, 400, `${JSON.stringify(bad)}: ${rr.text}`);
    assert.match(rr.json.error.message, /'body_overrides'/);
  }
});

test('failover_statuses fail over on more statuses; no_cooldown_statuses fail over without cooling the key', async (t) => {
  const f = await fusion(t);
  const g1 = await f.group({ priority: 10 });
  const g2 = await f.group({ priority: 0 });
  const first = await f.upstream({ defaultContent: 'first' });
  const second = await f.upstream({ defaultContent: 'second' });
  const p1 = await f.provider(g1, first);
  await f.provider(g2, second);
  const ck = await f.clientKey();

  // 404 is the client's by default: passed on as it is.
  first.behave('default', 404);
  assert.equal((await f.chat(ck.key)).status, 404);
  // Listed, it fails over (and cools the key, as a 5xx does).
  await f.must('PATCH', `/api/admin/providers/${p1.id}`, { failover_statuses: [404] });
  let r = await f.chat(ck.key);
  assert.equal(r.json.choices[0].message.content, 'second');
  assert.equal((await f.keyState(p1.keys[0].id)).status, 'cooldown');

  // 503 "overloaded" with no_cooldown: fails over, the key stays active.
  await f.must('PATCH', `/api/admin/keys/${p1.keys[0].id}`, { status: 'active' });
  first.behave('default', 503);
  await f.must('PATCH', `/api/admin/providers/${p1.id}`, { no_cooldown_statuses: [503] });
  for (let i = 0; i < 3; i++) {
    r = await f.chat(ck.key);
    assert.equal(r.json.choices[0].message.content, 'second');
  }
  const k = await f.keyState(p1.keys[0].id);
  assert.equal(k.status, 'active');
  assert.equal(first.requests.filter((x) => x.path === '/v1/chat/completions').length, 5, 'the key was tried every time');

  // Without it, the same 503 cools the key.
  await f.must('PATCH', `/api/admin/providers/${p1.id}`, { no_cooldown_statuses: [] });
  await f.chat(ck.key);
  assert.equal((await f.keyState(p1.keys[0].id)).status, 'cooldown');

  for (const bad of [[200], [600], ['503'], 503]) {
    const rr = await f.call('PATCH', `/api/admin/providers/${p1.id}`, { failover_statuses: bad });
    assert.equal(rr.status, 400, rr.text);
    assert.match(rr.json.error.message, /'failover_statuses'/);
  }
});
