// The OpenAI-compatible data plane, basics: the happy paths through the
// official openai client, the model list, malformed requests, header
// hygiene and the request id on every answer.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import OpenAI from 'openai';
import { fusion, assertOpenAIError, chatBody, sdkError } from './v1-helpers.js';

async function oneProvider(t, opts = {}) {
  const f = await fusion(t, opts);
  const up = await f.upstream({ models: ['gpt-4o', 'text-embedding-3-small'] });
  const g = await f.group({ priority: 10 });
  const p = await f.provider(g, up, {
    models: ['gpt-4o', 'gpt-3.5-turbo-instruct', 'text-embedding-3-small', 'omni-moderation-latest'],
    keys: ['sk-upstream-basics-0000000000000001'],
  });
  const ck = await f.clientKey();
  return { f, up, g, p, ck, ai: f.openai(ck.key) };
}

test('chat completion through the openai client: the upstream answer, the upstream key, a request id', async (t) => {
  const { up, ck, ai } = await oneProvider(t);
  const { data, response } = await ai.chat.completions
    .create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'Say hello' }], temperature: 0.2 })
    .withResponse();
  assert.equal(data.object, 'chat.completion');
  assert.equal(data.model, 'gpt-4o');
  assert.equal(data.choices[0].message.content, 'Hello from the mock upstream.');
  assert.equal(data.usage.total_tokens, data.usage.prompt_tokens + data.usage.completion_tokens);
  assert.ok(response.headers.get('x-fusion-request-id'), 'x-fusion-request-id');

  assert.equal(up.requests.length, 1);
  const rec = up.requests[0];
  assert.equal(rec.method, 'POST');
  assert.equal(rec.path, '/v1/chat/completions');
  assert.equal(rec.key, 'sk-upstream-basics-0000000000000001');
  assert.equal(rec.body.model, 'gpt-4o');
  assert.equal(rec.body.temperature, 0.2);
  assert.deepEqual(rec.body.messages, [{ role: 'user', content: 'Say hello' }]);
  assert.ok(!JSON.stringify(rec.headers).includes(ck.key), 'the client key reached the upstream');
  // The upstream's own id passes through unchanged.
  assert.equal(data.id.slice(0, 9), 'chatcmpl-');
});

test('chat stream, completions, embeddings and a passthrough path through the openai client', async (t) => {
  const { up, ai } = await oneProvider(t);

  const stream = await ai.chat.completions.create({ model: 'gpt-4o', stream: true, messages: [{ role: 'user', content: 'hi' }] });
  let text = '';
  for await (const c of stream) text += c.choices[0]?.delta?.content ?? '';
  assert.equal(text, 'Hello from the mock upstream.');

  const comp = await ai.completions.create({ model: 'gpt-3.5-turbo-instruct', prompt: 'Say this is a test' });
  assert.equal(comp.object, 'text_completion');
  assert.equal(comp.choices[0].text, 'Hello from the mock upstream.');

  const emb = await ai.embeddings.create({ model: 'text-embedding-3-small', input: 'The food was delicious', encoding_format: 'float' });
  assert.equal(emb.object, 'list');
  assert.equal(emb.data[0].object, 'embedding');
  assert.ok(emb.data[0].embedding.length > 0);

  // /v1/responses and /v1/moderations are not special to the gateway:
  // routed by "model", forwarded to the same path.
  const resp = await ai.responses.create({ model: 'gpt-4o', input: 'hi' });
  assert.equal(resp.output_text, 'Hello from the mock upstream.');
  const mod = await ai.moderations.create({ model: 'omni-moderation-latest', input: 'hi' });
  assert.equal(mod.results[0].flagged, false);

  assert.deepEqual(up.requests.map((r) => r.path),
    ['/v1/chat/completions', '/v1/completions', '/v1/embeddings', '/v1/responses', '/v1/moderations']);
  assert.deepEqual(up.requests.map((r) => r.body.model),
    ['gpt-4o', 'gpt-3.5-turbo-instruct', 'text-embedding-3-small', 'gpt-4o', 'omni-moderation-latest']);
});

test('GET /v1/models lists what the client key may use, from the configuration', async (t) => {
  const f = await fusion(t);
  const up = await f.upstream();
  const a = await f.group({ priority: 10 });
  const off = await f.group({ priority: 5, enabled: false });
  const c = await f.group({ priority: 0 });
  await f.provider(a, up, { models: ['gpt-4o', 'gpt-4o-mini'], model_aliases: { fast: 'gpt-4o-mini' } });
  await f.provider(a, up, { models: ['only-on-disabled-provider'], enabled: false });
  await f.provider(off, up, { models: ['only-in-disabled-group'] });
  await f.provider(c, up, { models: ['claude-3-5-sonnet', 'gpt-4o'] });

  const ids = async (key) => {
    const r = await f.v1('GET', '/models', { key });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.object, 'list');
    for (const m of r.json.data) {
      assert.equal(m.object, 'model');
      assert.equal(typeof m.id, 'string');
      assert.ok(Number.isInteger(m.created), 'created');
      assert.equal(typeof m.owned_by, 'string');
    }
    const list = r.json.data.map((m) => m.id);
    assert.equal(new Set(list).size, list.length, `no duplicates: ${list}`);
    return list.sort();
  };
  const all = await f.clientKey();
  assert.deepEqual(await ids(all.key), ['claude-3-5-sonnet', 'fast', 'gpt-4o', 'gpt-4o-mini']);
  const some = await f.clientKey({ allowed_models: ['gpt-4o', 'fast', 'not-served'] });
  assert.deepEqual(await ids(some.key), ['fast', 'gpt-4o']);
  const groupC = await f.clientKey({ allowed_groups: [c.id] });
  assert.deepEqual(await ids(groupC.key), ['claude-3-5-sonnet', 'gpt-4o']);

  // Through the SDK too.
  const list = [];
  for await (const m of f.openai(all.key).models.list()) list.push(m.id);
  assert.equal(list.length, 4);

  assertOpenAIError(await f.v1('GET', '/models', {}), 401, 'invalid_api_key');
  assert.equal(up.requests.length, 0, 'the model list is not fetched from the upstream');
});

test('malformed JSON, a missing or non-string model, an unknown model: 4xx, nothing forwarded', async (t) => {
  const { f, up, ck, ai } = await oneProvider(t);
  for (const raw of ['{"model":', 'not json', '{"model":"gpt-4o"}}']) {
    assertOpenAIError(await f.v1('POST', '/chat/completions', { key: ck.key, raw }), 400, 'invalid_json');
  }
  for (const body of [{ messages: [] }, { model: 42, messages: [] }, { model: null }, { model: ['gpt-4o'] }]) {
    assertOpenAIError(await f.v1('POST', '/chat/completions', { key: ck.key, body }), 400, 'invalid_request');
  }
  assertOpenAIError(await f.chat(ck.key, chatBody('no-such-model')), 404, 'model_not_found');
  assertOpenAIError(await f.v1('POST', '/embeddings', { key: ck.key, body: { model: 'no-such-model', input: 'x' } }), 404, 'model_not_found');
  assertOpenAIError(await f.v1('POST', '/responses', { key: ck.key, body: { model: 'no-such-model', input: 'x' } }), 404, 'model_not_found');

  const e = await sdkError(ai.chat.completions.create(chatBody('no-such-model')));
  assert.ok(e instanceof OpenAI.NotFoundError, String(e));
  assert.equal(e.code, 'model_not_found');
  assert.equal(up.requests.length, 0, 'nothing reached the upstream');
});

test('a body with many top-level members reaches the upstream whole; over 256 members is a 400', async (t) => {
  const { f, up, ck } = await oneProvider(t);
  // More members than the request state holds inline (16): the scan
  // moves to a larger array, and the stream option is still spliced in.
  const extra = {};
  for (let i = 0; i < 100; i++) extra[`x_${i}`] = i % 2 ? `v${i}` : { n: i };
  const body = { ...extra, model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }], stream: true };
  const r = await f.v1('POST', '/chat/completions', { key: ck.key, body });
  assert.equal(r.status, 200);
  assert.equal(up.requests.length, 1);
  assert.deepEqual(up.requests[0].body, { ...body, stream_options: { include_usage: true } });

  const many = { model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] };
  for (let i = 0; i < 255; i++) many[`x_${i}`] = i;
  assertOpenAIError(await f.v1('POST', '/chat/completions', { key: ck.key, body: many }), 400, 'invalid_json');
  assert.equal(up.requests.length, 1, 'nothing more reached the upstream');
});

test('a body over BODY_MAX_BYTES is 413 and is not forwarded', async (t) => {
  const { f, up, ck } = await oneProvider(t, { env: { BODY_MAX_BYTES: '65536' } });
  const big = chatBody('gpt-4o', { messages: [{ role: 'user', content: 'x'.repeat(100000) }] });
  const r = await f.chat(ck.key, big);
  assert.equal(r.status, 413, r.error ? String(r.error) : r.text);
  // Just under the limit still works.
  const ok = await f.chat(ck.key, chatBody('gpt-4o', { messages: [{ role: 'user', content: 'x'.repeat(60000) }] }));
  assert.equal(ok.status, 200, ok.text);
  assert.equal(up.requests.length, 1);
});

test('every answer carries x-fusion-request-id, each one different', async (t) => {
  const { f, ck } = await oneProvider(t);
  const answers = [
    await f.chat(ck.key),
    await f.chat(ck.key, chatBody('gpt-4o', { stream: true })),
    await f.chat('sk-fe-unknown'),
    await f.chat(ck.key, chatBody('no-such-model')),
    await f.v1('POST', '/chat/completions', { key: ck.key, raw: '{' }),
    await f.v1('GET', '/models', { key: ck.key }),
  ];
  const ids = answers.map((r) => r.headers['x-fusion-request-id']);
  for (const [i, id] of ids.entries()) assert.ok(id && id.length >= 8, `answer ${i} (${answers[i].status}) has no request id`);
  assert.equal(new Set(ids).size, ids.length);
});

test('header hygiene: the upstream gets its own key and no client secrets, cookies or hop-by-hop headers', async (t) => {
  const { f, up, ck, p } = await oneProvider(t);
  const body = JSON.stringify(chatBody());
  const res = await new Promise((resolve, reject) => {
    const req = http.request(`${f.gw.url}/v1/chat/completions`, {
      method: 'POST',
      agent: false,
      headers: {
        authorization: `Bearer ${ck.key}`,
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(body),
        cookie: `fusion_session=admin-session-cookie; other=${ck.key}`,
        connection: 'keep-alive, x-hop-secret',
        'keep-alive': 'timeout=5',
        'x-hop-secret': 'must-not-travel',
        'proxy-authorization': 'Basic cHJveHk6c2VjcmV0',
        te: 'trailers',
      },
    }, (r) => {
      let text = '';
      r.on('data', (d) => { text += d; });
      r.on('end', () => resolve({ status: r.statusCode, text }));
    });
    req.on('error', reject);
    req.end(body);
  });
  assert.equal(res.status, 200, res.text);
  const h = up.requests[0].headers;
  assert.equal(h.authorization, `Bearer ${p.keys[0].secret}`);
  assert.ok(!JSON.stringify(h).includes(ck.key), 'the client key reached the upstream');
  for (const name of ['cookie', 'keep-alive', 'x-hop-secret', 'proxy-authorization', 'te', 'trailer', 'upgrade']) {
    assert.equal(h[name], undefined, `${name} reached the upstream`);
  }
  assert.ok(!(h.connection || '').includes('x-hop-secret'));
  assert.equal(h.host, `127.0.0.1:${up.port}`);
  assert.match(h['content-type'], /^application\/json/);
});

test('the upstream key never reaches the client, not even quoted in an upstream error', async (t) => {
  const { f, up, ck, p } = await oneProvider(t);
  const secret = p.keys[0].secret;
  up.behave(secret, 401); // the mock's 401 message quotes the whole key
  const r = await f.chat(ck.key);
  assertOpenAIError(r, 502, 'upstream_error');
  const everything = r.text + JSON.stringify(r.headers);
  assert.ok(!everything.includes(secret), `the upstream key leaked: ${everything}`);
  assert.ok(!everything.includes(secret.slice(3)), 'most of the upstream key leaked');
  assert.equal(up.requests.length, 1);
});

test('admin changes apply to the next request, in every worker', async (t) => {
  const { f, up, ck, p } = await oneProvider(t);
  for (let i = 0; i < 4; i++) assert.equal((await f.chat(ck.key)).status, 200);

  await f.must('PATCH', `/api/admin/providers/${p.id}`, { enabled: false });
  for (let i = 0; i < 4; i++) assertOpenAIError(await f.chat(ck.key), 404, 'model_not_found');

  await f.must('PATCH', `/api/admin/providers/${p.id}`, { enabled: true, models: ['gpt-4o', 'brand-new-model'] });
  for (let i = 0; i < 4; i++) assert.equal((await f.chat(ck.key, chatBody('brand-new-model'))).status, 200);

  await f.must('PATCH', `/api/admin/client-keys/${ck.id}`, { enabled: false });
  for (let i = 0; i < 4; i++) assertOpenAIError(await f.chat(ck.key), 401, 'api_key_disabled');
  assert.equal(up.requests.length, 8);
});
