// Routing and failover: aliases, priority tiers, round robin and weights
// (shared by both worker processes), what is skipped, which upstream
// failures move on to the next key or candidate, which are the client's
// own, and the one error a client gets when every attempt failed.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import { freePort } from './harness.js';
import { openaiErrorBody } from './mock-upstream.js';
import { fusion, assertOpenAIError, chatBody, sdkError, within } from './v1-helpers.js';

const near = (got, want, slack, what) =>
  assert.ok(Math.abs(got - want) <= slack, `${what}: ${got}, expected ${want} ± ${slack}`);

test('an alias is rewritten: the upstream receives its own model name', async (t) => {
  const f = await fusion(t);
  const up = await f.upstream();
  const g = await f.group();
  await f.provider(g, up, { models: ['gpt-4o-mini-2024-07-18'], model_aliases: { fast: 'gpt-4o-mini-2024-07-18' } });
  const ck = await f.clientKey({ allowed_models: ['fast'] });
  const r = await f.openai(ck.key).chat.completions.create(chatBody('fast'));
  assert.equal(r.choices[0].message.content, 'Hello from the mock upstream.');
  assert.equal(up.requests[0].body.model, 'gpt-4o-mini-2024-07-18');
  // Everything else in the body is forwarded untouched.
  assert.deepEqual({ ...up.requests[0].body, model: 'fast' }, chatBody('fast'));

  const e = await f.v1('POST', '/embeddings', { key: ck.key, body: { model: 'fast', input: 'x' } });
  assert.equal(e.status, 200, e.text);
  assert.equal(up.requests[1].body.model, 'gpt-4o-mini-2024-07-18');
});

test('priority tiers: the highest tier serves while it can; a failing or unusable tier falls through', async (t) => {
  const f = await fusion(t);
  const hi = await f.upstream({ name: 'hi' });
  const lo = await f.upstream({ name: 'lo' });
  const noKeys = await f.upstream({ name: 'no-keys' });
  const top = await f.group({ priority: 100 });
  const gHi = await f.group({ priority: 10 });
  const gLo = await f.group({ priority: 0 });
  await f.provider(top, noKeys, { keys: [] }); // no usable key: skipped
  await f.provider(gHi, hi);
  await f.provider(gLo, lo);
  const ck = await f.clientKey();

  for (let i = 0; i < 6; i++) assert.equal((await f.chat(ck.key)).status, 200);
  assert.equal(hi.served(), 6);
  assert.equal(lo.served(), 0);

  hi.behave('default', 500);
  const r = await f.chat(ck.key);
  assert.equal(r.status, 200, r.text);
  assert.equal(hi.served(), 7);
  assert.equal(lo.served(), 1);
  assert.equal(noKeys.served(), 0);
});

test('round robin inside a tier, across groups of the same priority and across both workers', async (t) => {
  const f = await fusion(t);
  const ups = [];
  const a = await f.group({ priority: 5 });
  const b = await f.group({ priority: 5 });
  for (const g of [a, a, b]) {
    const up = await f.upstream();
    await f.provider(g, up);
    ups.push(up);
  }
  const ck = await f.clientKey();
  const N = 30;
  for (let i = 0; i < N; i++) {
    // A new connection each time, so both workers take requests.
    const r = await f.chat(ck.key);
    assert.equal(r.status, 200, r.text);
  }
  for (const [i, up] of ups.entries()) near(up.served(), N / 3, 1, `provider ${i}`);
});

test('keys of one provider are used in rotation', async (t) => {
  const f = await fusion(t);
  const up = await f.upstream();
  const g = await f.group();
  const keys = ['sk-rot-a-000000000000000001', 'sk-rot-b-000000000000000002', 'sk-rot-c-000000000000000003'];
  await f.provider(g, up, { keys });
  const ck = await f.clientKey();
  for (let i = 0; i < 12; i++) assert.equal((await f.chat(ck.key)).status, 200);
  for (const k of keys) near(up.served(k), 4, 1, k);
});

test('a weighted group distributes by provider weight', async (t) => {
  const f = await fusion(t);
  const light = await f.upstream({ name: 'light' });
  const heavy = await f.upstream({ name: 'heavy' });
  const g = await f.group({ strategy: 'weighted' });
  await f.provider(g, light, { weight: 1 });
  await f.provider(g, heavy, { weight: 3 });
  const ck = await f.clientKey();
  const N = 200;
  for (let i = 0; i < N; i++) {
    const r = await f.chat(ck.key);
    assert.equal(r.status, 200, r.text);
  }
  near(light.served(), 50, 10, 'weight 1');
  near(heavy.served(), 150, 10, 'weight 3');
});

test('disabled providers and groups, providers without keys and disabled keys are never tried', async (t) => {
  const f = await fusion(t);
  const skipped = await f.upstream({ name: 'skipped' });
  const good = await f.upstream({ name: 'good' });
  const top = await f.group({ priority: 10 });
  const off = await f.group({ priority: 20, enabled: false });
  const low = await f.group({ priority: 0 });
  await f.provider(top, skipped, { enabled: false });
  await f.provider(off, skipped);
  await f.provider(top, skipped, { keys: [] });
  const keyOff = await f.provider(top, skipped, { keys: ['sk-disabled-key-0000000000000001'] });
  await f.must('PATCH', `/api/admin/keys/${keyOff.keys[0].id}`, { enabled: false });
  await f.provider(low, good);
  const ck = await f.clientKey();
  for (let i = 0; i < 6; i++) assert.equal((await f.chat(ck.key)).status, 200);
  assert.equal(skipped.served(), 0);
  assert.equal(good.served(), 6);
});

// One failing provider in a higher tier, a good one below it.
async function failoverPair(t, bad, { timeout_ms = 10000, badUrl, env } = {}) {
  const f = await fusion(t, { env });
  const first = await f.upstream({ name: 'first' });
  const second = await f.upstream({ name: 'second' });
  if (bad) first.behave('default', bad);
  const gHi = await f.group({ priority: 10 });
  const gLo = await f.group({ priority: 0 });
  const p1 = await f.provider(gHi, badUrl ? null : first, { timeout_ms, ...(badUrl ? { base_url: badUrl } : {}) });
  const p2 = await f.provider(gLo, second);
  const ck = await f.clientKey();
  return { f, first, second, p1, p2, ck };
}

// Failover on refused connections, 5xx, resets and truncated bodies, streamed
// or not: the fault matrix in v1-faults.test.js.

test('failover: a first byte slower than timeout_ms, then the next candidate', async (t) => {
  const { f, first, second, ck } = await failoverPair(t, { delayMs: 5000 }, { timeout_ms: 400 });
  const t0 = Date.now();
  const r = await within(10000, f.chat(ck.key));
  const took = Date.now() - t0;
  assert.equal(r.status, 200, r.text);
  assert.ok(took >= 350 && took < 2500, `answered after ${took} ms`);
  assert.equal(first.served(), 1);
  assert.equal(second.served(), 1);
  // The gateway gave up on the slow upstream's connection.
  await first.waitFor((rec) => rec.aborted, 2000);
});

for (const [status, behaviour] of [[401, 401], [403, 403], [429, { type: 'error', status: 429, retryAfter: 30 }]]) {
  test(`failover: upstream ${status} moves to the next key of the same provider`, async (t) => {
    const f = await fusion(t);
    const up = await f.upstream();
    const other = await f.upstream({ name: 'other' });
    const bad = `sk-bad-${status}-00000000000000001`;
    const good = `sk-good-${status}-0000000000000002`;
    up.behave(bad, behaviour);
    const gHi = await f.group({ priority: 10 });
    const gLo = await f.group({ priority: 0 });
    await f.provider(gHi, up, { keys: [bad, good] });
    await f.provider(gLo, other);
    const ck = await f.clientKey();
    for (let i = 0; i < 6; i++) {
      const r = await within(10000, f.chat(ck.key));
      assert.equal(r.status, 200, r.text);
    }
    assert.equal(up.served(bad), 1, 'the failing key was tried once, then left alone');
    assert.equal(up.served(good), 6);
    assert.equal(other.served(), 0, 'the same provider\'s next key comes before the next candidate');
  });
}

test('5xx moves to the next candidate, not to another key of the same provider', async (t) => {
  const f = await fusion(t);
  const up = await f.upstream();
  const other = await f.upstream({ name: 'other' });
  up.behave('default', 500);
  const gHi = await f.group({ priority: 10 });
  const gLo = await f.group({ priority: 0 });
  await f.provider(gHi, up, { keys: ['sk-five-a-0000000000000001', 'sk-five-b-0000000000000002'] });
  await f.provider(gLo, other);
  const ck = await f.clientKey();
  assert.equal((await f.chat(ck.key)).status, 200);
  assert.equal(up.served(), 1);
  assert.equal(other.served(), 1);
});

for (const status of [400, 404, 413, 422]) {
  test(`upstream ${status} goes back to the client as it is, without failover or key damage`, async (t) => {
    const { f, first, second, p1, ck } = await failoverPair(t, status);
    const r = await f.chat(ck.key);
    assert.equal(r.status, status);
    // Exactly the upstream's body.
    assert.deepEqual(r.json, openaiErrorBody(status, { model: 'gpt-4o' }), r.text);
    assert.equal(first.served(), 1);
    assert.equal(second.served(), 0);
    const k = await f.keyState(p1.keys[0].id);
    assert.equal(k.status, 'active');
    assert.equal(k.cooldown_until, null);
    // And again: the key was not put aside.
    assert.equal((await f.chat(ck.key)).status, status);
    assert.equal(first.served(), 2);
  });
}

test('upstream 400 and 422 through the openai client are BadRequestError and UnprocessableEntityError', async (t) => {
  const { f, first, ck } = await failoverPair(t, null);
  first.behave('default', [400, 422]);
  const ai = f.openai(ck.key);
  const e400 = await sdkError(ai.chat.completions.create(chatBody()));
  assert.ok(e400 instanceof OpenAI.BadRequestError, String(e400));
  assert.equal(e400.param, 'messages');
  const e422 = await sdkError(ai.chat.completions.create(chatBody()));
  assert.ok(e422 instanceof OpenAI.UnprocessableEntityError, String(e422));
});

test('when every attempt fails: 502 upstream_error, 429 upstream_rate_limited, 504 upstream_timeout, never a hang', async (t) => {
  const f = await fusion(t);
  const up = await f.upstream();
  const g = await f.group();
  await f.provider(g, up, { models: ['m-500'], keys: ['sk-all-500-000000000000000001'] });
  await f.provider(g, up, { models: ['m-500'], keys: ['sk-all-500-000000000000000002'] });
  await f.provider(g, up, { models: ['m-429'], keys: ['sk-all-429-000000000000000001', 'sk-all-429-000000000000000002'] });
  await f.provider(g, up, { models: ['m-slow'], keys: ['sk-all-slow-00000000000000001'], timeout_ms: 300 });
  await f.provider(g, up, { models: ['m-mixed'], keys: ['sk-mixed-500-0000000000000001'] });
  await f.provider(g, null, { models: ['m-mixed'], keys: ['sk-mixed-refused-000000000001'], base_url: `http://127.0.0.1:${await freePort()}/v1` });
  up.behave('sk-all-500-000000000000000001', 500).behave('sk-all-500-000000000000000002', 503)
    .behave('sk-all-429-000000000000000001', { type: 'error', status: 429, retryAfter: 30 })
    .behave('sk-all-429-000000000000000002', { type: 'error', status: 429, retryAfter: 30 })
    .behave('sk-all-slow-00000000000000001', 'hang')
    .behave('sk-mixed-500-0000000000000001', 500);
  const ck = await f.clientKey();
  const ai = f.openai(ck.key);

  const e5 = await within(10000, sdkError(ai.chat.completions.create(chatBody('m-500'))));
  assert.equal(e5.status, 502, String(e5));
  assert.equal(e5.code, 'upstream_error');
  assert.equal(up.served('sk-all-500-000000000000000001') + up.served('sk-all-500-000000000000000002'), 2);

  const e4 = await within(10000, sdkError(ai.chat.completions.create(chatBody('m-429'))));
  assert.ok(e4 instanceof OpenAI.RateLimitError, String(e4));
  assert.equal(e4.code, 'upstream_rate_limited');

  const t0 = Date.now();
  const et = await within(10000, sdkError(ai.chat.completions.create(chatBody('m-slow'))));
  assert.equal(et.status, 504, String(et));
  assert.equal(et.code, 'upstream_timeout');
  assert.ok(Date.now() - t0 < 3000, 'the timeout was the provider\'s 300 ms');

  const em = await within(10000, sdkError(ai.chat.completions.create(chatBody('m-mixed'))));
  assert.equal(em.status, 502, String(em));
  assert.equal(em.code, 'upstream_error');
});

test('nothing to try: 503 no_available_provider', async (t) => {
  const f = await fusion(t);
  const up = await f.upstream();
  const g = await f.group();
  await f.provider(g, up, { models: ['no-keys'], keys: [] });
  const p = await f.provider(g, up, { models: ['cooling'], keys: ['sk-cool-0000000000000000001'] });
  up.behave('sk-cool-0000000000000000001', { type: 'error', status: 429, retryAfter: 60 });
  const ck = await f.clientKey();
  const r = await f.chat(ck.key, chatBody('no-keys'));
  assertOpenAIError(r, 503, 'no_available_provider');
  assert.equal(up.served(), 0);

  assertOpenAIError(await f.chat(ck.key, chatBody('cooling')), 429, 'upstream_rate_limited');
  assert.equal((await f.keyState(p.keys[0].id)).status, 'cooldown');
  for (let i = 0; i < 4; i++) assertOpenAIError(await f.chat(ck.key, chatBody('cooling')), 503, 'no_available_provider');
  assert.equal(up.served(), 1, 'a cooling key is skipped, never tried');
});

test('MAX_ATTEMPTS bounds the attempts of one request', async (t) => {
  const f = await fusion(t, { env: { MAX_ATTEMPTS: '3' } });
  const up = await f.upstream();
  up.behave('default', 500);
  const g = await f.group();
  for (let i = 0; i < 6; i++) await f.provider(g, up);
  const ck = await f.clientKey();
  assertOpenAIError(await within(10000, f.chat(ck.key)), 502, 'upstream_error');
  assert.equal(up.served(), 3);
});

test('REQUEST_DEADLINE_MS bounds the whole request', async (t) => {
  const f = await fusion(t, { env: { REQUEST_DEADLINE_MS: '1200' } });
  const up = await f.upstream();
  up.behave('default', 'hang');
  const g = await f.group();
  for (let i = 0; i < 4; i++) await f.provider(g, up, { timeout_ms: 1000 });
  const ck = await f.clientKey();
  const t0 = Date.now();
  const r = await within(10000, f.chat(ck.key));
  const took = Date.now() - t0;
  assertOpenAIError(r, 504, 'upstream_timeout');
  assert.ok(took >= 1000 && took < 2500, `answered after ${took} ms`);
  assert.equal(up.served(), 2);
});
