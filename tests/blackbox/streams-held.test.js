// Many slow streams held at once (issue 20): each keeps its client
// connection and its request open for the whole answer, so Kore's per
// worker limits (worker_max_connections, http_request_limit, descriptors)
// bound how many a gateway holds. src/main.c sets them from
// MAX_CONNECTIONS and the number of workers.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { fusion, chatBody, contentEvents } from './v1-helpers.js';

// PSS of all the gateway's processes, in KB (each shared page divided
// among its sharers, so the sum counts it once).
function pssKb(gw) {
  let kb = 0;
  for (const { pid } of gw.pids()) {
    try {
      const m = fs.readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8').match(/^Pss:\s+(\d+) kB/m);
      if (m) kb += Number(m[1]);
    } catch { /* gone */ }
  }
  return kb;
}

test('5,000 slow streams at once on one worker: all held together, every one completed', { timeout: 240000 }, async (t) => {
  // One worker, so that the old fixed limit (4,096 connections and
  // requests a worker) would hold the rest back in the listen queue.
  const f = await fusion(t, { env: { WORKERS: '1', MAX_CONNECTIONS: '6000' } });
  const up = await f.upstream({ models: ['gpt-4o'] });
  const g = await f.group({ priority: 10 });
  // No answer begins before all of them have reached the upstream (or a
  // minute has passed): held together is then what the gateway can do,
  // however slowly a busy machine connects them.
  await f.provider(g, up, { timeout_ms: 120000 });
  const ck = await f.clientKey();
  const n = 5000;
  const chunks = 5;
  let open;
  const gate = new Promise((resolve) => { open = resolve; });
  const watch = setInterval(() => { if (up.requests.length >= n) open(); }, 100);
  const giveUp = setTimeout(open, 60000);
  t.after(() => { clearInterval(watch); clearTimeout(giveUp); });
  up.behave('default', { type: 'ok', chunks, chunkDelayMs: 1000, gate });

  const idle = pssKb(f.gw);
  let peak = 0;
  const sampler = setInterval(() => { peak = Math.max(peak, pssKb(f.gw)); }, 250);
  t.after(() => clearInterval(sampler));
  const results = await Promise.all(Array.from({ length: n }, (_, i) =>
    f.stream(ck.key, chatBody('gpt-4o', { stream: true, messages: [{ role: 'user', content: `held ${i}` }] }),
      { timeoutMs: 150000 })));
  clearInterval(sampler);

  const statuses = {};
  for (const r of results) statuses[r.status] = (statuses[r.status] ?? 0) + 1;
  assert.deepEqual(statuses, { 200: n });
  const whole = results.filter((r) => r.complete && r.done && !r.error && contentEvents(r.events).length === chunks);
  assert.equal(whole.length, n, 'every stream got all its events and [DONE]');
  // Held together: the upstream had every request before it finished
  // answering any.
  assert.equal(up.requests.length, n);
  const lastArrived = Math.max(...up.requests.map((q) => q.at));
  const firstEnded = Math.min(...up.requests.map((q) => q.endedAt));
  assert.ok(lastArrived < firstEnded, `every request reached the upstream before the first answer ended (${lastArrived - firstEnded} ms)`);
  t.diagnostic(`PSS idle ${(idle / 1024).toFixed(1)} MB, peak ${(peak / 1024).toFixed(1)} MB, ` +
    `${((peak - idle) / n).toFixed(1)} KB a stream`);
});
