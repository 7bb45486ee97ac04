// The mock upstream alone, driven by the official openai client and raw
// HTTP: proves it speaks OpenAI's wire format, so that the gateway tests
// that run against it test the gateway and not the mock.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import OpenAI from 'openai';
import { mockUpstream, openaiErrorBody } from './mock-upstream.js';
import { freePort } from './harness.js';
import { rawRequest, readSse } from './v1-helpers.js';

const client = (up, apiKey = 'sk-test-key-0001', opts = {}) =>
  new OpenAI({ baseURL: up.url, apiKey, maxRetries: 0, timeout: 5000, ...opts });

test('chat completion: OpenAI shape, model echoed, usage, request recorded', async (t) => {
  const up = await mockUpstream(t, { models: ['gpt-4o'] });
  const r = await client(up).chat.completions.create({
    model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Say hello' }],
  });
  assert.match(r.id, /^chatcmpl-[A-Za-z0-9]{29}$/);
  assert.equal(r.object, 'chat.completion');
  assert.equal(r.model, 'gpt-4o-mini');
  assert.ok(Number.isInteger(r.created) && Math.abs(r.created - Date.now() / 1000) < 5);
  assert.equal(r.choices[0].message.role, 'assistant');
  assert.equal(r.choices[0].message.content, 'Hello from the mock upstream.');
  assert.equal(r.choices[0].finish_reason, 'stop');
  const { prompt_tokens: pt, completion_tokens: ct, total_tokens: tt } = r.usage;
  assert.ok(pt > 0 && ct > 0);
  assert.equal(tt, pt + ct);

  assert.equal(up.requests.length, 1);
  const rec = up.requests[0];
  assert.equal(rec.method, 'POST');
  assert.equal(rec.path, '/v1/chat/completions');
  assert.equal(rec.key, 'sk-test-key-0001');
  assert.equal(rec.headers.authorization, 'Bearer sk-test-key-0001');
  assert.equal(rec.body.model, 'gpt-4o-mini');
  assert.deepEqual(rec.usage, r.usage && { prompt_tokens: pt, completion_tokens: ct, total_tokens: tt });
  assert.equal(rec.finished, true);
  assert.equal(rec.aborted, false);
});

test('chat stream: role chunk, content chunks, stop chunk, [DONE]; no usage chunk unless asked', async (t) => {
  const up = await mockUpstream(t);
  up.behave('default', { content: 'one two three four', chunks: 4 });
  const stream = await client(up).chat.completions.create({
    model: 'gpt-4o', stream: true, messages: [{ role: 'user', content: 'count' }],
  });
  const chunks = [];
  for await (const c of stream) chunks.push(c);
  assert.ok(chunks.every((c) => c.object === 'chat.completion.chunk' && c.model === 'gpt-4o'));
  assert.ok(chunks.every((c) => c.id === chunks[0].id));
  assert.deepEqual(chunks[0].choices[0].delta, { role: 'assistant', content: '', refusal: null });
  assert.equal(chunks.map((c) => c.choices[0]?.delta?.content ?? '').join(''), 'one two three four');
  assert.equal(chunks.at(-1).choices[0].finish_reason, 'stop');
  assert.ok(chunks.every((c) => c.choices.length === 1 && !('usage' in c)));
  assert.equal(chunks.length, 1 + 4 + 1);

  // On the wire.
  const raw = await rawRequest(`${up.url}/chat/completions`, {
    method: 'POST', headers: { authorization: 'Bearer sk-raw' },
    body: { model: 'gpt-4o', stream: true, messages: [{ role: 'user', content: 'x' }] },
  });
  assert.equal(raw.status, 200);
  assert.match(raw.headers['content-type'], /^text\/event-stream/);
  assert.ok(raw.text.endsWith('data: [DONE]\n\n'));
  for (const block of raw.text.split('\n\n').filter(Boolean)) assert.match(block, /^data: /);
});

test('chat stream with stream_options.include_usage: a last chunk with empty choices and usage', async (t) => {
  const up = await mockUpstream(t);
  const stream = await client(up).chat.completions.create({
    model: 'gpt-4o', stream: true, stream_options: { include_usage: true },
    messages: [{ role: 'user', content: 'hi' }],
  });
  const chunks = [];
  for await (const c of stream) chunks.push(c);
  const last = chunks.at(-1);
  assert.deepEqual(last.choices, []);
  assert.equal(last.usage.total_tokens, last.usage.prompt_tokens + last.usage.completion_tokens);
  assert.ok(chunks.slice(0, -1).every((c) => c.usage === null && c.choices.length === 1));
  assert.deepEqual(up.requests[0].usage, last.usage);
});

test('completions, embeddings, models, responses and moderations', async (t) => {
  const up = await mockUpstream(t, { models: ['gpt-4o', 'text-embedding-3-small'] });
  const c = client(up);

  const comp = await c.completions.create({ model: 'gpt-3.5-turbo-instruct', prompt: 'Say this is a test' });
  assert.equal(comp.object, 'text_completion');
  assert.equal(comp.model, 'gpt-3.5-turbo-instruct');
  assert.equal(typeof comp.choices[0].text, 'string');
  assert.ok(comp.usage.total_tokens > 0);

  const compStream = await c.completions.create({ model: 'gpt-3.5-turbo-instruct', prompt: 'x', stream: true });
  let text = '';
  for await (const ch of compStream) text += ch.choices[0]?.text ?? '';
  assert.equal(text, 'Hello from the mock upstream.');

  const emb = await c.embeddings.create({ model: 'text-embedding-3-small', input: ['a', 'b'], encoding_format: 'float' });
  assert.equal(emb.object, 'list');
  assert.equal(emb.data.length, 2);
  assert.equal(emb.data[1].index, 1);
  assert.ok(emb.data[0].embedding.every((x) => typeof x === 'number'));
  assert.equal(emb.model, 'text-embedding-3-small');
  assert.equal(emb.usage.total_tokens, emb.usage.prompt_tokens);

  const list = [];
  for await (const m of c.models.list()) list.push(m);
  assert.deepEqual(list.map((m) => m.id), ['gpt-4o', 'text-embedding-3-small']);
  assert.ok(list.every((m) => m.object === 'model' && m.owned_by && Number.isInteger(m.created)));

  const resp = await c.responses.create({ model: 'gpt-4o', input: 'hi' });
  assert.equal(resp.object, 'response');
  assert.equal(resp.output_text, 'Hello from the mock upstream.');

  const mod = await c.moderations.create({ model: 'omni-moderation-latest', input: 'hi' });
  assert.equal(mod.results[0].flagged, false);

  assert.deepEqual(up.requests.map((r) => `${r.method} ${r.path}`), [
    'POST /v1/completions', 'POST /v1/completions', 'POST /v1/embeddings', 'GET /v1/models',
    'POST /v1/responses', 'POST /v1/moderations',
  ]);
});

test('error statuses carry OpenAI error bodies and map to the SDK error classes', async (t) => {
  const up = await mockUpstream(t);
  const cases = [
    [400, OpenAI.BadRequestError, 'invalid_request_error', null],
    [401, OpenAI.AuthenticationError, 'invalid_request_error', 'invalid_api_key'],
    [403, OpenAI.PermissionDeniedError, 'request_forbidden', 'unsupported_country_region_territory'],
    [404, OpenAI.NotFoundError, 'invalid_request_error', 'model_not_found'],
    [422, OpenAI.UnprocessableEntityError, 'invalid_request_error', 'unprocessable_entity'],
    [429, OpenAI.RateLimitError, 'requests', 'rate_limit_exceeded'],
    [500, OpenAI.InternalServerError, 'server_error', null],
    [503, OpenAI.InternalServerError, 'server_error', 'engine_overloaded'],
  ];
  for (const [status, cls, type, code] of cases) {
    const key = `sk-status-${status}-abcdefghijklmnop`;
    up.behave(key, { type: 'error', status, retryAfter: status === 429 || status === 503 ? 2 : undefined });
    const err = await client(up, key).chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'x' }] })
      .then(() => null, (e) => e);
    assert.ok(err instanceof cls, `${status}: ${err}`);
    assert.equal(err.status, status);
    assert.equal(err.type, type, String(status));
    assert.equal(err.code, code, String(status));
    if (status === 429 || status === 503) assert.equal(err.headers.get('retry-after'), '2');
    if (status === 401) assert.ok(err.message.includes(key), 'the mock quotes the whole key');
  }
  // 502 in Cloudflare's shape.
  up.behave('default', 502);
  const r = await rawRequest(`${up.url}/chat/completions`, { method: 'POST', body: { model: 'gpt-4o', messages: [] } });
  assert.equal(r.status, 502);
  assert.deepEqual(JSON.parse(r.text), openaiErrorBody(502));
  assert.deepEqual(openaiErrorBody(500).error, {
    message: 'The server had an error while processing your request. Sorry about that!', type: 'server_error', param: null, code: null,
  });
});

test('behaviours per key, sequences and functions; counting who served what', async (t) => {
  const up = await mockUpstream(t);
  up.behave('sk-a', 'ok').behave('sk-b', [500, 500, 'ok']).behave('default', (rec) => (rec.body?.model === 'bad' ? 404 : 'ok'));
  const ask = (key, model = 'gpt-4o') => client(up, key).chat.completions.create({ model, messages: [{ role: 'user', content: 'x' }] })
    .then(() => 200, (e) => e.status);
  assert.deepEqual([await ask('sk-a'), await ask('sk-b'), await ask('sk-b'), await ask('sk-b'), await ask('sk-b')], [200, 500, 500, 200, 200]);
  assert.equal(await ask('sk-c', 'bad'), 404);
  assert.equal(await ask('sk-c'), 200);
  assert.deepEqual(up.byKey(), { 'sk-a': 1, 'sk-b': 4, 'sk-c': 2 });
  assert.equal(up.served('sk-b'), 4);
  assert.equal(up.served(), 7);
  up.reset();
  assert.equal(up.served(), 0);
});

test('chunk delay: the first content chunk arrives long before the last is sent', async (t) => {
  const up = await mockUpstream(t);
  up.behave('default', { content: 'a b c d', chunks: 4, chunkDelayMs: 150 });
  const t0 = Date.now();
  const s = await readSse(`${up.url}/chat/completions`, {
    body: { model: 'gpt-4o', stream: true, messages: [{ role: 'user', content: 'x' }] },
  });
  const firstContent = s.events.find((e) => e.json?.choices?.[0]?.delta?.content);
  assert.ok(firstContent.at - t0 < 450, `first content after ${firstContent.at - t0} ms`);
  assert.ok(s.endedAt - t0 >= 700, `ended after ${s.endedAt - t0} ms`);
  assert.equal(s.done, true);
});

test('slow first byte, hang and client abort are seen by the mock', async (t) => {
  const up = await mockUpstream(t);
  up.behave('sk-slow', { delayMs: 400 }).behave('sk-hang', 'hang');
  const t0 = Date.now();
  await client(up, 'sk-slow').chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'x' }] });
  assert.ok(Date.now() - t0 >= 380);

  const err = await client(up, 'sk-hang', { timeout: 300 }).chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'x' }] })
    .then(() => null, (e) => e);
  assert.ok(err instanceof OpenAI.APIConnectionTimeoutError, String(err));
  const rec = await up.waitFor((r) => r.key === 'sk-hang' && r.aborted, 2000);
  assert.ok(rec.abortedAt - rec.at < 1500);
});

test('stall: k chunks then silence; a client that leaves is recorded as aborted', async (t) => {
  const up = await mockUpstream(t);
  up.behave('default', { type: 'stall', after: 2, content: 'a b c d e', chunks: 5 });
  const s = await readSse(`${up.url}/chat/completions`, {
    body: { model: 'gpt-4o', stream: true, messages: [{ role: 'user', content: 'x' }] }, idleMs: 400,
  });
  assert.equal(s.idle, true, 'the stream went silent');
  assert.equal(s.events.filter((e) => e.json?.choices?.[0]?.delta?.content).length, 2);
  assert.equal(s.done, false);
  const rec = await up.waitFor((r) => r.aborted, 2000);
  assert.equal(rec.chunksSent, 2);
});

test('reset: the socket is destroyed after k chunks, with no [DONE]', async (t) => {
  const up = await mockUpstream(t);
  up.behave('default', { type: 'reset', after: 1, chunks: 4 });
  const s = await readSse(`${up.url}/chat/completions`, {
    body: { model: 'gpt-4o', stream: true, messages: [{ role: 'user', content: 'x' }] },
  });
  assert.equal(s.done, false);
  assert.ok(s.error || !s.complete, 'the stream ended abruptly');
  assert.equal(s.events.filter((e) => e.json?.choices?.[0]?.delta?.content).length, 1);
  assert.equal(up.requests[0].aborted, false, 'a reset by the mock is not a client abort');
});

test('malformed and truncated bodies, and a refused connection', async (t) => {
  const up = await mockUpstream(t);
  up.behave('sk-m', 'malformed').behave('sk-t', 'truncated');
  const m = await rawRequest(`${up.url}/chat/completions`, { method: 'POST', headers: { authorization: 'Bearer sk-m' }, body: { model: 'gpt-4o' } });
  assert.equal(m.status, 200);
  assert.match(m.headers['content-type'], /application\/json/);
  assert.throws(() => JSON.parse(m.text));

  const tr = await rawRequest(`${up.url}/chat/completions`, { method: 'POST', headers: { authorization: 'Bearer sk-t' }, body: { model: 'gpt-4o' } });
  assert.equal(tr.status, 200);
  assert.ok(tr.error, 'the body ended early');
  assert.ok(tr.text.length < Number(tr.headers['content-length']));

  const port = await freePort();
  const err = await new OpenAI({ baseURL: `http://127.0.0.1:${port}/v1`, apiKey: 'sk-x', maxRetries: 0, timeout: 3000 })
    .chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'x' }] }).then(() => null, (e) => e);
  assert.ok(err instanceof OpenAI.APIConnectionError, String(err));
});

test('keep-alive: two requests on one socket', async (t) => {
  const up = await mockUpstream(t);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  t.after(() => agent.destroy());
  const a = await rawRequest(`${up.url}/chat/completions`, { method: 'POST', agent, body: { model: 'gpt-4o', stream: true, messages: [] } });
  const b = await rawRequest(`${up.url}/chat/completions`, { method: 'POST', agent, body: { model: 'gpt-4o', messages: [] } });
  assert.equal(a.status, 200);
  assert.equal(b.status, 200);
  assert.equal(typeof a.localPort, 'number');
  assert.equal(a.localPort, b.localPort);
});
