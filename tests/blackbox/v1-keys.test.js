// Upstream key health, as the admin API shows it: 429 cools a key for
// Retry-After, 5xx/timeouts/resets cool it for a doubling base time, 401
// and 403 disable it until an operator resets it; a cooled key is skipped
// by every worker and tried once (half-open) when its time is up.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fusion, chatBody, sleep } from './v1-helpers.js';

const secondsUntil = (rfc3339) => (Date.parse(rfc3339) - Date.now()) / 1000;

async function until(fn, ms = 2500, what = 'condition') {
  const end = Date.now() + ms;
  let last;
  for (;;) {
    last = await fn();
    if (last) return last;
    if (Date.now() > end) assert.fail(`${what} not met within ${ms} ms`);
    await sleep(100);
  }
}

// One provider with keys `a` and `b` in the top tier, a spare provider below.
async function twoKeys(t, { env, a = 'ok', b = 'ok', timeout_ms } = {}) {
  const f = await fusion(t, { env: { COOLDOWN_BASE_SECONDS: '1', ...env } });
  const up = await f.upstream();
  const spare = await f.upstream({ name: 'spare' });
  const A = 'sk-health-a-00000000000000000001';
  const B = 'sk-health-b-00000000000000000002';
  up.behave(A, a).behave(B, b);
  const gHi = await f.group({ priority: 10 });
  const gLo = await f.group({ priority: 0 });
  const p = await f.provider(gHi, up, { keys: [A, B], ...(timeout_ms ? { timeout_ms } : {}) });
  await f.provider(gLo, spare);
  const ck = await f.clientKey();
  const [ka, kb] = p.keys;
  return { f, up, spare, p, ck, A, B, ka, kb };
}

test('429 with Retry-After: cooldown until then, skipped meanwhile, tried once after, active again on success', async (t) => {
  const { f, up, ck, A, B, ka } = await twoKeys(t, { a: [{ type: 'error', status: 429, retryAfter: 2 }, 'ok'] });
  // Rotation reaches A within two requests; its 429 moves to B.
  for (let i = 0; i < 2; i++) assert.equal((await f.chat(ck.key)).status, 200);
  assert.equal(up.served(A), 1);
  const cooled = await f.keyState(ka.id);
  assert.equal(cooled.status, 'cooldown');
  assert.equal(cooled.enabled, true);
  assert.match(cooled.cooldown_until, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/);
  const left = secondsUntil(cooled.cooldown_until);
  assert.ok(left > 0 && left <= 3, `cooldown_until ${left.toFixed(1)} s away, Retry-After was 2`);
  assert.ok(String(cooled.status_reason).includes('429'), `status_reason: ${cooled.status_reason}`);
  assert.ok(cooled.failures >= 1);

  // The list shows the same.
  const list = await f.must('GET', '/api/admin/keys');
  assert.equal(list.data.find((k) => k.id === ka.id).status, 'cooldown');

  // Skipped by both workers while cooling.
  for (let i = 0; i < 6; i++) assert.equal((await f.chat(ck.key)).status, 200);
  assert.equal(up.served(A), 1, 'a cooling key was tried');

  await sleep(Math.max(0, Date.parse(cooled.cooldown_until) - Date.now()) + 1100);
  for (let i = 0; i < 3; i++) assert.equal((await f.chat(ck.key)).status, 200);
  assert.ok(up.served(A) >= 2, 'the key was not tried after its cooldown');
  const back = await f.keyState(ka.id);
  assert.equal(back.status, 'active');
  assert.equal(back.cooldown_until, null);
  assert.ok(up.served(B) >= 8);
});

test('429 without Retry-After cools for COOLDOWN_429_SECONDS', async (t) => {
  const { f, ck, ka, up, A } = await twoKeys(t, { env: { COOLDOWN_429_SECONDS: '7' }, a: 429 });
  for (let i = 0; i < 2; i++) assert.equal((await f.chat(ck.key)).status, 200);
  assert.equal(up.served(A), 1);
  const k = await f.keyState(ka.id);
  assert.equal(k.status, 'cooldown');
  const left = secondsUntil(k.cooldown_until);
  assert.ok(left > 5 && left <= 8, `cooldown ${left.toFixed(1)} s, expected about 7`);
});

test('5xx: a short cooldown that doubles on a failed half-open trial, then recovery', async (t) => {
  const f = await fusion(t, { env: { COOLDOWN_BASE_SECONDS: '1' } });
  const up = await f.upstream();
  const spare = await f.upstream({ name: 'spare' });
  const A = 'sk-five-hundred-000000000000001';
  up.behave(A, 500);
  const gHi = await f.group({ priority: 10 });
  const gLo = await f.group({ priority: 0 });
  const p = await f.provider(gHi, up, { keys: [A] });
  await f.provider(gLo, spare);
  const ck = await f.clientKey();

  assert.equal((await f.chat(ck.key)).status, 200);
  assert.equal(up.served(A), 1);
  assert.equal(spare.served(), 1);
  let k = await f.keyState(p.keys[0].id);
  assert.equal(k.status, 'cooldown');
  let left = secondsUntil(k.cooldown_until);
  assert.ok(left > -0.5 && left <= 1.5, `first cooldown ${left.toFixed(1)} s, COOLDOWN_BASE_SECONDS=1`);
  assert.ok(String(k.status_reason).includes('500'), `status_reason: ${k.status_reason}`);

  // Skipped while cooling.
  assert.equal((await f.chat(ck.key)).status, 200);
  if (secondsUntil(k.cooldown_until) > 0.2) assert.equal(up.served(A), 1);

  // Half-open trial after it; it fails again: a longer cooldown.
  await sleep(Math.max(0, Date.parse(k.cooldown_until) - Date.now()) + 1100);
  const before = up.served(A);
  assert.equal((await f.chat(ck.key)).status, 200);
  assert.equal(up.served(A), before + 1, 'one half-open trial after the cooldown');
  k = await f.keyState(p.keys[0].id);
  assert.equal(k.status, 'cooldown');
  left = secondsUntil(k.cooldown_until);
  assert.ok(left > 0.8 && left <= 2.5, `second cooldown ${left.toFixed(1)} s, expected 2 (doubled)`);
  assert.ok(k.failures >= 2);

  // Healthy again: the next trial succeeds and the key is active.
  up.behave(A, 'ok');
  await sleep(Math.max(0, Date.parse(k.cooldown_until) - Date.now()) + 1100);
  assert.equal((await f.chat(ck.key)).status, 200);
  assert.equal(up.served(A), before + 2);
  k = await f.keyState(p.keys[0].id);
  assert.equal(k.status, 'active', 'a successful half-open trial makes the key active');
  assert.equal(k.cooldown_until, null);
});

test('timeouts and resets cool a key too', async (t) => {
  const f = await fusion(t, { env: { COOLDOWN_BASE_SECONDS: '30' } });
  const up = await f.upstream();
  const spare = await f.upstream({ name: 'spare' });
  up.behave('sk-hang-000000000000000000001', 'hang').behave('sk-reset-00000000000000000001', 'reset');
  const g = await f.group({ priority: 10 });
  const low = await f.group({ priority: 0 });
  const ph = await f.provider(g, up, { keys: ['sk-hang-000000000000000000001'], timeout_ms: 300 });
  const pr = await f.provider(g, up, { keys: ['sk-reset-00000000000000000001'] });
  await f.provider(low, spare);
  const ck = await f.clientKey();
  assert.equal((await f.chat(ck.key)).status, 200);
  assert.equal(spare.served(), 1);
  for (const p of [ph, pr]) {
    const k = await f.keyState(p.keys[0].id);
    assert.equal(k.status, 'cooldown', JSON.stringify(k));
    assert.ok(secondsUntil(k.cooldown_until) > 20);
  }
  for (let i = 0; i < 4; i++) assert.equal((await f.chat(ck.key)).status, 200);
  assert.equal(up.served(), 2, 'cooling keys were tried');
});

for (const status of [401, 403]) {
  test(`upstream ${status} disables the key until an operator resets it`, async (t) => {
    const { f, up, ck, A, ka } = await twoKeys(t, { a: status });
    for (let i = 0; i < 2; i++) assert.equal((await f.chat(ck.key)).status, 200);
    assert.equal(up.served(A), 1);
    let k = await f.keyState(ka.id);
    assert.equal(k.status, 'disabled');
    assert.equal(k.enabled, true, 'enabled stays as the operator set it');
    assert.ok(String(k.status_reason).includes(String(status)), `status_reason: ${k.status_reason}`);

    // Not a cooldown: still skipped after the base cooldown (1 s) is long past.
    await sleep(1500);
    for (let i = 0; i < 4; i++) assert.equal((await f.chat(ck.key)).status, 200);
    assert.equal(up.served(A), 1);

    up.behave(A, 'ok');
    k = await f.must('PATCH', `/api/admin/keys/${ka.id}`, { status: 'active' });
    assert.equal(k.status, 'active');
    for (let i = 0; i < 4; i++) assert.equal((await f.chat(ck.key)).status, 200);
    assert.ok(up.served(A) >= 2, 'the reset key is used again');
  });
}

test('requests, failures and last_used_at count per key', async (t) => {
  const { f, ck, ka, kb } = await twoKeys(t);
  for (let i = 0; i < 6; i++) assert.equal((await f.chat(ck.key, chatBody())).status, 200);
  await until(async () => {
    const a = await f.keyState(ka.id);
    const b = await f.keyState(kb.id);
    return a.requests + b.requests === 6 ? [a, b] : null;
  }, 3000, 'request counts');
  const a = await f.keyState(ka.id);
  assert.equal(a.failures, 0);
  assert.ok(Math.abs(Date.parse(a.last_used_at) - Date.now()) < 10000, `last_used_at ${a.last_used_at}`);
});
