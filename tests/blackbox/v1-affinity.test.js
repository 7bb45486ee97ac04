// Session affinity (group field affinity: session): a session key (the
// x-session-id header, or the body's prompt_cache_key, metadata.user_id,
// user) lands on the same provider and key on every worker and after a
// restart, with nothing shared; when a provider goes away only its
// sessions move. The routing trace says "affinity".

import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { fusion, chatBody } from './v1-helpers.js';

const SESSIONS = 1000;

// Which upstream answered: each mock says its name in the answer.
async function served(f, ck, body, headers = {}, agent) {
  const r = await f.chat(ck.key, body, { headers, agent });
  assert.equal(r.status, 200, r.text);
  return r.json.choices[0].message.content;
}

// Every session once, a few at a time; fresh connections (agent: false)
// spread them over both workers.
async function round(f, ck, { agent } = {}) {
  const out = new Array(SESSIONS);
  let next = 0;
  const worker = async () => {
    while (next < SESSIONS) {
      const i = next++;
      out[i] = await served(f, ck, chatBody(), { 'x-session-id': `session-${i}` }, agent);
    }
  };
  await Promise.all(Array.from({ length: 16 }, worker));
  return out;
}

const count = (list) => list.reduce((m, x) => ({ ...m, [x]: (m[x] ?? 0) + 1 }), {});

test('1,000 sessions over 4 providers stay put across workers and a restart; a disabled provider moves only its own', { timeout: 180000 }, async (t) => {
  const f = await fusion(t);
  const g = await f.group({ affinity: 'session' });
  assert.equal(g.affinity, 'session');
  const ups = [];
  const providers = [];
  for (let i = 0; i < 4; i++) {
    const up = await f.upstream({ name: `up${i}`, defaultContent: `from up${i}` });
    ups.push(up);
    providers.push(await f.provider(g, up));
  }
  const ck = await f.clientKey();

  const first = await round(f, ck);
  const shares = count(first);
  assert.deepEqual(Object.keys(shares).sort(), ['from up0', 'from up1', 'from up2', 'from up3']);
  for (const [who, n] of Object.entries(shares)) assert.ok(n > 180 && n < 320, `${who} has ${n} of ${SESSIONS} sessions`);

  // Again, on kept-alive connections this time: the same answers.
  const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });
  t.after(() => agent.destroy());
  assert.deepEqual(await round(f, ck, { agent }), first);

  // A restart keeps nothing in memory: the same answers.
  agent.destroy();
  await f.gw.restart();
  assert.deepEqual(await round(f, ck), first);

  // One provider disabled: its sessions move, spread over the others;
  // every other session stays where it was.
  await f.must('PATCH', `/api/admin/providers/${providers[2].id}`, { enabled: false });
  const after = await round(f, ck);
  let moved = 0;
  const to = {};
  for (let i = 0; i < SESSIONS; i++) {
    if (first[i] === 'from up2') {
      assert.notEqual(after[i], 'from up2');
      moved++;
      to[after[i]] = (to[after[i]] ?? 0) + 1;
    } else {
      assert.equal(after[i], first[i], `session-${i} moved from ${first[i]} to ${after[i]}`);
    }
  }
  assert.equal(moved, shares['from up2']);
  for (const n of Object.values(to)) assert.ok(n > moved / 6, JSON.stringify(to));

  // Back again: the sessions return to where they were.
  await f.must('PATCH', `/api/admin/providers/${providers[2].id}`, { enabled: true });
  assert.deepEqual(await round(f, ck), first);

  // The trace says how the provider was chosen.
  const r = await f.chat(ck.key, chatBody(), { headers: { 'x-session-id': 'session-1' } });
  const logs = await f.waitLogs(1, `request_id=${r.headers['x-fusion-request-id']}`);
  assert.equal(logs.total, 1);
  assert.equal(logs.data[0].trace.find((s) => s.action === 'tried').strategy, 'affinity');
});

test('the session key comes from the header, prompt_cache_key, metadata.user_id or user; without one the group balances as usual', async (t) => {
  const f = await fusion(t);
  const g = await f.group({ affinity: 'session' });
  for (let i = 0; i < 4; i++) await f.provider(g, await f.upstream({ name: `up${i}`, defaultContent: `from up${i}` }));
  const ck = await f.clientKey();

  for (let i = 0; i < 20; i++) {
    const id = `user-${i}`;
    const byHeader = await served(f, ck, chatBody(), { 'x-session-id': id });
    assert.equal(await served(f, ck, chatBody('gpt-4o', { prompt_cache_key: id })), byHeader);
    assert.equal(await served(f, ck, chatBody('gpt-4o', { user: id })), byHeader);
    assert.equal(await served(f, ck, chatBody('gpt-4o', { metadata: { user_id: id } })), byHeader);
    // The header comes first, then prompt_cache_key.
    assert.equal(await served(f, ck, chatBody('gpt-4o', { user: 'someone-else' }), { 'x-session-id': id }), byHeader);
    assert.equal(await served(f, ck, chatBody('gpt-4o', { prompt_cache_key: id, user: 'someone-else' })), byHeader);
  }

  // Anthropic's Messages API names the session in metadata.user_id.
  const viaHeader = await served(f, ck, chatBody(), { 'x-session-id': 'claude-user' });
  for (let i = 0; i < 5; i++) {
    const r = await f.messages(ck.key, { model: 'gpt-4o', max_tokens: 16, metadata: { user_id: 'claude-user' }, messages: [{ role: 'user', content: 'hi' }] });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.content[0].text, viaHeader);
  }

  // No session key: round robin over all four.
  const other = await f.clientKey();
  const seen = new Set();
  for (let i = 0; i < 8; i++) seen.add(await served(f, other, chatBody()));
  assert.equal(seen.size, 4);
  const logs = await f.waitLogs(8, `client_key_id=${other.id}`);
  for (const row of logs.data) assert.equal(row.trace.find((s) => s.action === 'tried').strategy, 'round_robin');
});

test('a session whose provider fails still fails over, and returns when it recovers', async (t) => {
  const f = await fusion(t, { env: { COOLDOWN_BASE_SECONDS: '1', COOLDOWN_MAX_SECONDS: '1' } });
  const g = await f.group({ affinity: 'session' });
  const ups = [];
  for (let i = 0; i < 2; i++) {
    ups.push(await f.upstream({ name: `up${i}`, defaultContent: `from up${i}` }));
    await f.provider(g, ups[i]);
  }
  const ck = await f.clientKey();

  // A session of each provider.
  const home = {};
  for (let i = 0; Object.keys(home).length < 2; i++) home[await served(f, ck, chatBody(), { 'x-session-id': `s${i}` })] ??= `s${i}`;
  const s0 = home['from up0'];

  ups[0].behave('default', 500);
  const r = await f.chat(ck.key, chatBody(), { headers: { 'x-session-id': s0 } });
  assert.equal(r.json.choices[0].message.content, 'from up1');
  const logs = await f.waitLogs(1, `request_id=${r.headers['x-fusion-request-id']}`);
  assert.deepEqual(logs.data[0].trace.map((s) => [s.outcome, s.strategy]), [['error', 'affinity'], ['ok', 'affinity']]);

  // While up0 cools down its sessions are on up1; then they come back.
  assert.equal(await served(f, ck, chatBody(), { 'x-session-id': s0 }), 'from up1');
  ups[0].behave('default', 'ok');
  await new Promise((r) => setTimeout(r, 2100));
  assert.equal(await served(f, ck, chatBody(), { 'x-session-id': s0 }), 'from up0');
});
