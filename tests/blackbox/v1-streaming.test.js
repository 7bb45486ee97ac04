// Streaming: server-sent events relayed as they arrive, usage asked of the
// upstream and passed on only when the client asked, failover before the
// first byte, an explicit error event (and no [DONE]) when the upstream
// breaks after it, and a client that leaves cancelling the upstream.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { fusion, chatBody, contentEvents, sleep } from './v1-helpers.js';

const streamBody = (extra = {}) => chatBody('gpt-4o', { stream: true, ...extra });

async function setup(t, { behaviour, timeout_ms = 10000, env, second = false } = {}) {
  const f = await fusion(t, { env });
  const up = await f.upstream({ name: 'first' });
  if (behaviour) up.behave('default', behaviour);
  const gHi = await f.group({ priority: 10 });
  const p = await f.provider(gHi, up, { timeout_ms });
  let up2;
  if (second) {
    up2 = await f.upstream({ name: 'second' });
    const gLo = await f.group({ priority: 0 });
    await f.provider(gLo, up2);
  }
  const ck = await f.clientKey();
  return { f, up, up2, p, ck };
}

test('events are relayed as they arrive, with chunked encoding, ending in [DONE]', async (t) => {
  const { f, up, ck } = await setup(t, { behaviour: { content: 'one two three four', chunks: 4, chunkDelayMs: 300 } });
  const s = await f.stream(ck.key);
  assert.equal(s.status, 200);
  assert.match(s.headers['content-type'], /^text\/event-stream/);
  assert.equal(s.headers['transfer-encoding'], 'chunked');
  assert.equal(s.headers['content-length'], undefined);
  assert.ok(s.headers['x-fusion-request-id']);
  assert.equal(s.error, null, String(s.error));
  assert.equal(s.complete, true);
  assert.equal(s.done, true);
  assert.equal(s.events.at(-1).data, '[DONE]');

  const content = contentEvents(s.events);
  assert.equal(content.map((e) => e.json.choices[0].delta.content).join(''), 'one two three four');
  assert.equal(s.events[0].json.choices[0].delta.role, 'assistant');
  assert.equal(s.events.filter((e) => e.json?.choices?.[0]?.finish_reason === 'stop').length, 1);
  for (const e of s.events.slice(0, -1)) assert.equal(e.json.object, 'chat.completion.chunk');

  const rec = up.requests[0];
  const lastSent = rec.chunkTimes.at(-1);
  assert.ok(content[0].at < lastSent - 300,
    `the first content chunk reached the client ${content[0].at - lastSent} ms relative to the last one being sent: not relayed as it arrived`);
  // Each event arrived close to when it was sent.
  for (let i = 0; i < content.length; i++) {
    assert.ok(content[i].at - rec.chunkTimes[i] < 250, `chunk ${i} took ${content[i].at - rec.chunkTimes[i]} ms`);
  }
});

test('keep-alive works after a stream: a second request on the same socket', async (t) => {
  const { f, ck } = await setup(t);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  t.after(() => agent.destroy());
  const s = await f.stream(ck.key, streamBody(), { agent });
  assert.equal(s.done, true);
  const r = await f.chat(ck.key, chatBody(), { agent });
  assert.equal(r.status, 200, r.text);
  assert.equal(typeof s.localPort, 'number');
  assert.equal(r.localPort, s.localPort, 'the second request used a new connection');
  const s2 = await f.stream(ck.key, streamBody(), { agent });
  assert.equal(s2.done, true);
});

test('usage: always asked of the upstream; the usage chunk reaches only a client that asked for it', async (t) => {
  const { f, up, ck } = await setup(t, { behaviour: { usage: { prompt_tokens: 11, completion_tokens: 4 } } });

  const plain = await f.stream(ck.key, streamBody());
  assert.equal(up.requests[0].body.stream, true);
  assert.equal(up.requests[0].body.stream_options?.include_usage, true, 'the gateway asks the upstream for usage');
  assert.equal(plain.done, true);
  const noChoices = plain.events.filter((e) => e.json && Array.isArray(e.json.choices) && e.json.choices.length === 0);
  assert.equal(noChoices.length, 0, 'the client did not ask for usage, and got a usage chunk');
  assert.ok(plain.events.every((e) => e.data === '[DONE]' || !e.json?.usage), 'no usage numbers without asking');

  const asked = await f.stream(ck.key, streamBody({ stream_options: { include_usage: true } }));
  assert.equal(asked.done, true);
  const last = asked.events.at(-2);
  assert.deepEqual(last.json.choices, []);
  assert.deepEqual(last.json.usage, { prompt_tokens: 11, completion_tokens: 4, total_tokens: 15 });

  // Through the openai client.
  const stream = await f.openai(ck.key).chat.completions.create(streamBody({ stream_options: { include_usage: true } }));
  let usage;
  for await (const c of stream) if (c.usage) usage = c.usage;
  assert.equal(usage.total_tokens, 15);
});

test('completions stream too, with the same usage handling', async (t) => {
  const { f, up, p, ck } = await setup(t);
  await f.must('PATCH', `/api/admin/providers/${p.id}`, { models: ['gpt-4o', 'gpt-3.5-turbo-instruct'] });
  const stream = await f.openai(ck.key).completions.create({ model: 'gpt-3.5-turbo-instruct', prompt: 'x', stream: true });
  let text = '';
  let sawEmpty = false;
  for await (const c of stream) {
    if (c.choices.length === 0) sawEmpty = true;
    text += c.choices[0]?.text ?? '';
  }
  assert.equal(text, 'Hello from the mock upstream.');
  assert.equal(sawEmpty, false);
  assert.equal(up.requests[0].path, '/v1/completions');
  assert.equal(up.requests[0].body.stream_options?.include_usage, true);
});

// Failover before the first byte, and the JSON error when every attempt
// fails before it: the fault matrix in v1-faults.test.js.

test('a reset after the first bytes: an explicit error event, no [DONE], no failover', async (t) => {
  const { f, up, up2, ck } = await setup(t, { behaviour: { type: 'reset', after: 2, content: 'a b c d e', chunks: 5 }, second: true });
  const s = await f.stream(ck.key, streamBody(), { timeoutMs: 10000 });
  assert.equal(s.status, 200);
  assert.equal(s.timedOut, false, 'the stream to the client ended');
  assert.equal(contentEvents(s.events).length, 2);
  assert.equal(s.done, false, 'a broken stream must not end with [DONE]');
  const last = s.events.at(-1);
  assert.ok(last.json?.error, `the last event is an error: ${last.data}`);
  assert.equal(last.json.error.type, 'upstream_error');
  assert.equal(typeof last.json.error.message, 'string');
  assert.equal(up.served(), 1);
  assert.equal(up2.served(), 0, 'no failover once bytes went to the client');
});

test('a stall longer than timeout_ms after the first bytes: an error event, no [DONE], upstream dropped', async (t) => {
  const { f, up, ck } = await setup(t, { behaviour: { type: 'stall', after: 1, chunks: 4 }, timeout_ms: 600 });
  const t0 = Date.now();
  const s = await f.stream(ck.key, streamBody(), { timeoutMs: 8000 });
  const took = Date.now() - t0;
  assert.equal(s.timedOut, false, 'the gateway ended the stalled stream');
  assert.ok(took >= 550 && took < 3000, `ended after ${took} ms`);
  assert.equal(contentEvents(s.events).length, 1);
  assert.equal(s.done, false);
  assert.equal(s.events.at(-1).json?.error?.type, 'upstream_error', s.text);
  const rec = await up.waitFor((r) => r.aborted, 2000);
  assert.ok(rec.abortedAt - t0 < 3000);
});

test('a client that disconnects mid-stream cancels the upstream request at once', async (t) => {
  const { f, up, ck } = await setup(t, { behaviour: { content: 'w '.repeat(40), chunks: 40, chunkDelayMs: 150 } });
  const s = await f.stream(ck.key, streamBody(), { closeAfter: (events) => contentEvents(events).length >= 2 });
  assert.equal(s.closedByUs, true);
  const closedAt = s.endedAt;
  const rec = await up.waitFor((r) => r.aborted, 3000);
  assert.ok(rec.abortedAt - closedAt < 1000, `the upstream saw the close ${rec.abortedAt - closedAt} ms later`);
  assert.ok(rec.chunksSent < 20, 'the upstream stream went on');
  // The gateway is fine afterwards.
  await sleep(100);
  up.behave('default', 'ok');
  const again = await f.stream(ck.key, streamBody());
  assert.equal(again.status, 200);
});
