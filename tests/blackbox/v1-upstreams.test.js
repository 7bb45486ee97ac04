// Upstreams over HTTPS (verified against the system store, a provider's
// own CA, or not at all when an operator says so) and the admin's
// provider test button.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import https from 'node:https';
import path from 'node:path';
import { ROOT } from './harness.js';
import { fusion, chatBody, assertOpenAIError, sleep } from './v1-helpers.js';

const CERT = fs.readFileSync(path.join(ROOT, 'cert/server.pem'), 'utf8');
const KEY = fs.readFileSync(path.join(ROOT, 'cert/key.pem'), 'utf8');

// A TLS upstream with the development certificate (self-signed).
async function tlsUpstream(t) {
  const seen = [];
  const srv = https.createServer({ cert: CERT, key: KEY }, (req, res) => {
    let body = '';
    req.on('data', (d) => { body += d; });
    req.on('end', () => {
      seen.push({ path: req.url, auth: req.headers.authorization });
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({
        id: 'chatcmpl-tls', object: 'chat.completion', created: 1, model: JSON.parse(body).model,
        choices: [{ index: 0, message: { role: 'assistant', content: 'over TLS' }, finish_reason: 'stop' }],
        usage: { prompt_tokens: 1, completion_tokens: 2, total_tokens: 3 },
      }));
    });
  });
  await new Promise((r) => srv.listen(0, '127.0.0.1', r));
  t.after(() => { srv.closeAllConnections(); srv.close(); });
  return { url: `https://localhost:${srv.address().port}/v1`, seen };
}

test('https upstreams: a self-signed certificate is refused unless the provider trusts it', async (t) => {
  const f = await fusion(t);
  const up = await tlsUpstream(t);
  const ck = await f.clientKey();

  const gStrict = await f.group({ priority: 3 });
  const strict = await f.provider(gStrict, null, { base_url: up.url, models: ['strict'] });
  const r1 = await f.chat(ck.key, chatBody('strict'));
  assertOpenAIError(r1, 502, 'upstream_error');
  assert.match(r1.json.error.message, /certificate/i);
  assert.equal(up.seen.length, 0, 'no request got through an unverified connection');

  const gCa = await f.group({ priority: 2 });
  await f.provider(gCa, null, { base_url: up.url, models: ['own-ca'], ca_cert: CERT });
  const r2 = await f.chat(ck.key, chatBody('own-ca'));
  assert.equal(r2.status, 200, r2.text);
  assert.equal(r2.json.choices[0].message.content, 'over TLS');

  const gOff = await f.group({ priority: 1 });
  await f.provider(gOff, null, { base_url: up.url, models: ['no-verify'], tls_verify: false });
  assert.equal((await f.chat(ck.key, chatBody('no-verify'))).status, 200);
  assert.equal(up.seen.length, 2);
  assert.equal(up.seen[0].path, '/v1/chat/completions');

  // The refused one is cooling down, with the reason.
  const k = await f.keyState(strict.keys[0].id);
  assert.equal(k.status, 'cooldown');
  assert.match(k.status_reason, /certificate/i);
});

test('provider test button: one small request through that provider, answered in words', async (t) => {
  const f = await fusion(t);
  const up = await f.upstream();
  const g = await f.group();
  const good = await f.provider(g, up, { models: ['gpt-4o'], keys: ['sk-test-good-0000000000000001'] });
  const bad = await f.provider(g, up, { models: ['gpt-4o-mini'], keys: ['sk-test-bad-00000000000000002'] });
  up.behave('sk-test-bad-00000000000000002', 401);

  const ok = await f.must('POST', `/api/admin/providers/${good.id}/test`, {});
  assert.equal(ok.ok, true);
  assert.equal(ok.status, 200);
  assert.equal(ok.model, 'gpt-4o');
  assert.ok(Number.isInteger(ok.latency_ms));
  assert.equal(up.served('sk-test-good-0000000000000001'), 1);
  assert.equal(up.requests.at(-1).body.max_tokens, 1);

  const no = await f.must('POST', `/api/admin/providers/${bad.id}/test`, { model: 'other-model' });
  assert.equal(no.ok, false);
  assert.equal(no.status, 401);
  assert.equal(no.model, 'other-model');
  assert.match(no.message, /Incorrect API key/);
  assert.ok(!JSON.stringify(no).includes('sk-test-bad-00000000000000002'), 'the key is not quoted whole');
  // An operator's probe changes no key health and writes no log row.
  assert.equal((await f.keyState(bad.keys[0].id)).status, 'active');
  await sleep(1200);
  assert.equal((await f.logs()).total, 0);

  const missing = await f.call('POST', '/api/admin/providers/999/test', {});
  assertOpenAIError(missing, 404);
  const anon = await f.gw.api('POST', `/api/admin/providers/${good.id}/test`, { body: {} });
  assertOpenAIError(anon, 401);
});

test('a large non-streamed answer (48 MiB, under RESPONSE_MAX_BYTES) reaches the official client whole', { timeout: 120000 }, async (t) => {
  // The answer arrives from curl in pieces of a few KB. Kore's buffers
  // used to grow by exactly each piece, copying the whole answer every
  // time (kore-16-buf-growth.patch): 16 MB took 14 s of a worker's time
  // and 48 MiB would take minutes, past the client's timeout. Now it is
  // about a second.
  const f = await fusion(t);
  const up = await f.upstream({ name: 'big' });
  const bytes = 48 * 1024 * 1024;
  up.behave('default', { type: 'huge', bytes });
  const p = await f.provider(await f.group(), up);
  const ck = await f.clientKey();
  const answer = await f.openai(ck.key, { timeout: 110000 }).chat.completions.create(chatBody());
  const content = answer.choices[0].message.content;
  assert.equal(content.length, bytes);
  assert.ok(/^x+$/.test(content), 'the content arrived unchanged');
  assert.equal(answer.choices[0].finish_reason, 'stop');
  // And the gateway logged it as a success from that provider.
  const row = (await f.waitLogs(1)).data[0];
  assert.equal(row.status, 200);
  assert.equal(row.provider_id, p.id);
  assert.equal(up.served(), 1);
});
