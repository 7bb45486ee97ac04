// Strategy least_latency: a tier's providers scored by their average time
// to first byte (forgetting with the group's half-life) times their
// attempts in flight plus one, shared by both workers, with a small share
// of exploration. Three mocks at 20, 80 and 300 ms: most traffic goes to
// the fastest; when it slows, traffic moves, and comes back once it has
// recovered (exploration measures it again).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fusion, chatBody } from './v1-helpers.js';

const who = (r) => r.json?.choices?.[0]?.message?.content;

// n requests, `width` at a time on fresh connections (both workers),
// each answer's upstream in the order they completed.
async function burst(f, ck, n, width = 3) {
  const out = [];
  let started = 0;
  const lane = async () => {
    while (started < n) {
      started++;
      const r = await f.chat(ck.key, chatBody());
      assert.equal(r.status, 200, r.text);
      out.push(who(r));
    }
  };
  await Promise.all(Array.from({ length: width }, lane));
  return out;
}

// Requests in bursts of `window` until the last window satisfies pred,
// for at most ms. Returns the milliseconds it took, or null.
async function until(f, ck, pred, ms, window = 20) {
  const t0 = Date.now();
  while (Date.now() - t0 < ms) {
    const last = await burst(f, ck, window);
    if (pred(last)) return Date.now() - t0;
  }
  return null;
}

const share = (list, name) => list.filter((x) => x === name).length / list.length;

test('least_latency sends most traffic to the fastest of 20, 80 and 300 ms, and moves within 30 s when it slows', { timeout: 180000 }, async (t) => {
  const f = await fusion(t);
  const g = await f.group({ strategy: 'least_latency', latency_half_life_seconds: 2 });
  assert.equal(g.strategy, 'least_latency');
  const ups = {};
  for (const [name, ms] of [['fast', 20], ['mid', 80], ['slow', 300]]) {
    ups[name] = await f.upstream({ name, defaultContent: name });
    ups[name].behave('default', { type: 'ok', delayMs: ms });
    await f.provider(g, ups[name]);
  }
  const ck = await f.clientKey();

  const first = await burst(f, ck, 150);
  assert.ok(share(first, 'fast') >= 0.7, `fastest got ${share(first, 'fast')} of 150: ${JSON.stringify(first)}`);
  // Exploration: the others are still measured now and then.
  assert.ok(first.includes('mid') && first.includes('slow'), JSON.stringify(first));

  // The trace says which strategy chose.
  const logs = await f.waitLogs(1, 'limit=1');
  assert.equal(logs.data[0].trace.find((s) => s.action === 'tried').strategy, 'least_latency');

  // The fastest slows to 600 ms: within 30 s it gets at most a fifth.
  ups.fast.behave('default', { type: 'ok', delayMs: 600 });
  const moved = await until(f, ck, (last) => share(last, 'fast') <= 0.2, 30000);
  assert.ok(moved !== null, 'traffic did not move off the slowed provider within 30 s');
  const next = await burst(f, ck, 60);
  assert.ok(share(next, 'mid') >= 0.6, `the 80 ms one got ${share(next, 'mid')}: ${JSON.stringify(next)}`);

  // It recovers: exploration measures it again and traffic comes back.
  ups.fast.behave('default', { type: 'ok', delayMs: 20 });
  const back = await until(f, ck, (last) => share(last, 'fast') >= 0.7, 30000);
  assert.ok(back !== null, 'traffic did not come back to the recovered provider within 30 s');
});

test('a provider that keeps failing counts as slow, even when it fails fast', { timeout: 60000 }, async (t) => {
  const f = await fusion(t, { env: { COOLDOWN_BASE_SECONDS: '1', COOLDOWN_MAX_SECONDS: '1' } });
  const g = await f.group({ strategy: 'least_latency' });
  const a = await f.upstream({ name: 'a', defaultContent: 'a' });
  const b = await f.upstream({ name: 'b', defaultContent: 'b' });
  a.behave('default', { type: 'ok', delayMs: 20 });
  b.behave('default', { type: 'ok', delayMs: 60 });
  await f.provider(g, a);
  await f.provider(g, b);
  const ck = await f.clientKey();
  const first = await burst(f, ck, 60);
  assert.ok(share(first, 'a') >= 0.7, JSON.stringify(first));

  // a answers 500 at once for 3 s (each half-open trial after its
  // cooldown fails again): a failure counts as its whole timeout, so
  // when a answers again b keeps the traffic.
  a.behave('default', 500);
  const t0 = Date.now();
  while (Date.now() - t0 < 3000) await burst(f, ck, 10);
  a.behave('default', { type: 'ok', delayMs: 20 });
  await new Promise((r) => setTimeout(r, 1100));
  const after = await burst(f, ck, 40);
  assert.ok(share(after, 'b') >= 0.7, JSON.stringify(after));
});

test('least_latency respects weights: the score is divided by the weight', { timeout: 60000 }, async (t) => {
  const f = await fusion(t);
  const g = await f.group({ strategy: 'least_latency' });
  const a = await f.upstream({ name: 'a', defaultContent: 'a' });
  const b = await f.upstream({ name: 'b', defaultContent: 'b' });
  a.behave('default', { type: 'ok', delayMs: 20 });
  b.behave('default', { type: 'ok', delayMs: 60 });
  await f.provider(g, a, { weight: 1 });
  await f.provider(g, b, { weight: 20 });
  const ck = await f.clientKey();
  const out = await burst(f, ck, 60);
  assert.ok(share(out, 'b') >= 0.7, JSON.stringify(out));
});
