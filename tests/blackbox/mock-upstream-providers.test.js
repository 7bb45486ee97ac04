// The Anthropic and Gemini flavours of the mock upstream alone, driven by
// the official @anthropic-ai/sdk client and raw HTTP: proves they speak the
// real wire formats (messages, stream events, error bodies, Gemini's
// responses and SSE chunks) and refuse what the real APIs refuse, so that
// the gateway tests that run against them test the gateway.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import Anthropic from '@anthropic-ai/sdk';
import { mockUpstream, anthropicErrorBody, geminiErrorBody, geminiSignature } from './mock-upstream.js';
import { rawRequest, readSse } from './v1-helpers.js';

const claude = (up, apiKey = 'sk-ant-api03-mock-0001', opts = {}) =>
  new Anthropic({ baseURL: up.origin, apiKey, maxRetries: 0, timeout: 5000, ...opts });
const ask = { model: 'claude-sonnet-4-6', max_tokens: 256, messages: [{ role: 'user', content: 'Say hello' }] };
const anthropicHeaders = (key = 'sk-ant-raw') => ({ 'x-api-key': key, 'anthropic-version': '2023-06-01' });
const WEATHER = { name: 'get_weather', description: 'Weather in a city', input_schema: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } };

test('anthropic: a message object, usage, x-api-key and anthropic-version recorded', async (t) => {
  const up = await mockUpstream(t, { flavor: 'anthropic' });
  assert.equal(up.url, `${up.origin}/v1`);
  const m = await claude(up).messages.create({ ...ask, system: 'Be brief.' });
  assert.match(m.id, /^msg_01[A-Za-z0-9]{22}$/);
  assert.equal(m.type, 'message');
  assert.equal(m.role, 'assistant');
  assert.equal(m.model, 'claude-sonnet-4-6');
  assert.deepEqual(m.content, [{ type: 'text', text: 'Hello from the mock upstream.' }]);
  assert.equal(m.stop_reason, 'end_turn');
  assert.equal(m.stop_sequence, null);
  assert.ok(m.usage.input_tokens > 0 && m.usage.output_tokens > 0);

  const rec = up.requests[0];
  assert.equal(rec.path, '/v1/messages');
  assert.equal(rec.key, 'sk-ant-api03-mock-0001');
  // @anthropic-ai/sdk 1.x sends the key as a bearer token and its own API
  // version.
  assert.equal(rec.headers.authorization, 'Bearer sk-ant-api03-mock-0001');
  assert.match(rec.headers['anthropic-version'], /^\d{4}-\d{2}-\d{2}$/);
  assert.equal(rec.body.system, 'Be brief.');
  assert.deepEqual(rec.usage, { prompt_tokens: m.usage.input_tokens, completion_tokens: m.usage.output_tokens, total_tokens: m.usage.input_tokens + m.usage.output_tokens });

  const n = await claude(up).messages.countTokens({ model: 'claude-sonnet-4-6', messages: ask.messages, tools: [WEATHER] });
  assert.ok(Number.isInteger(n.input_tokens) && n.input_tokens > 40);
  assert.equal(up.requests[1].path, '/v1/messages/count_tokens');
});

test('anthropic stream: the real event sequence, SDK helpers and finalMessage', async (t) => {
  const up = await mockUpstream(t, { flavor: 'anthropic' });
  up.behave('default', { content: 'one two three four', chunks: 4, usage: { prompt_tokens: 11, completion_tokens: 7 } });
  const s = await readSse(`${up.url}/messages`, { headers: anthropicHeaders(), body: { ...ask, stream: true } });
  assert.equal(s.status, 200);
  assert.match(s.headers['content-type'], /^text\/event-stream/);
  const names = [...s.text.matchAll(/^event: (\w+)$/gm)].map((x) => x[1]);
  assert.deepEqual(names, ['message_start', 'content_block_start', 'ping', 'content_block_delta', 'content_block_delta',
    'content_block_delta', 'content_block_delta', 'content_block_stop', 'message_delta', 'message_stop']);
  for (const block of s.text.split('\n\n').filter(Boolean)) {
    const [ev, data] = block.split('\n');
    assert.equal(JSON.parse(data.slice(6)).type, ev.slice(7), 'each event names its type twice');
  }
  assert.equal(s.events[0].json.message.usage.input_tokens, 11);
  assert.deepEqual(s.events.at(-2).json, { type: 'message_delta', delta: { stop_reason: 'end_turn', stop_sequence: null }, usage: { output_tokens: 7 } });
  assert.ok(!s.text.includes('[DONE]'));

  const texts = [];
  const stream = claude(up).messages.stream(ask).on('text', (d) => texts.push(d));
  const msg = await stream.finalMessage();
  assert.equal(texts.join(''), 'one two three four');
  assert.equal(msg.content[0].text, 'one two three four');
  assert.deepEqual(msg.usage.output_tokens, 7);
  assert.equal(up.requests[1].body.stream, true);
});

test('anthropic tool use: tool_use blocks, input_json_delta in streams, tool_result checked against the call', async (t) => {
  const up = await mockUpstream(t, { flavor: 'anthropic' });
  up.behave('default', { content: 'Let me look.', toolCalls: [{ id: 'toolu_01A', name: 'get_weather', arguments: { city: 'Paris' } }] });
  const m = await claude(up).messages.create({ ...ask, tools: [WEATHER], tool_choice: { type: 'auto' } });
  assert.equal(m.stop_reason, 'tool_use');
  assert.deepEqual(m.content, [{ type: 'text', text: 'Let me look.' }, { type: 'tool_use', id: 'toolu_01A', name: 'get_weather', input: { city: 'Paris' } }]);

  const jsons = [];
  const msg = await claude(up).messages.stream({ ...ask, tools: [WEATHER] }).on('inputJson', (d) => jsons.push(d)).finalMessage();
  assert.deepEqual(msg.content[1], { type: 'tool_use', id: 'toolu_01A', name: 'get_weather', input: { city: 'Paris' } });
  assert.equal(jsons.join(''), '{"city":"Paris"}');

  // The result goes back with its call; without it the API refuses.
  up.behave('default', 'ok');
  const back = await claude(up).messages.create({
    ...ask, tools: [WEATHER],
    messages: [...ask.messages, { role: 'assistant', content: m.content },
      { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_01A', content: '18 C' }] }],
  });
  assert.equal(back.stop_reason, 'end_turn');
  const err = await claude(up).messages.create({
    ...ask, messages: [...ask.messages, { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_01A', content: 'x' }] }],
  }).then(() => null, (e) => e);
  assert.ok(err instanceof Anthropic.BadRequestError, String(err));
  assert.match(err.message, /corresponding `tool_use` block/);
});

test('anthropic refuses what the real API refuses, with its 400 body', async (t) => {
  const up = await mockUpstream(t, { flavor: 'anthropic' });
  const cases = [
    [{ ...ask, max_tokens: undefined }, /max_tokens: Field required/],
    [{ ...ask, messages: [{ role: 'system', content: 'x' }, ...ask.messages] }, /Unexpected role "system"/],
    [{ ...ask, stream_options: { include_usage: true } }, /stream_options: Extra inputs are not permitted/],
    [{ ...ask, tools: [{ name: 'f', parameters: { type: 'object' } }] }, /tools\.0\.custom\.parameters: Extra inputs/],
    [{ ...ask, tool_choice: 'auto' }, /tool_choice: Input should be a valid dictionary/],
    [{ ...ask, messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'data:image/png;base64,AAAA' } }] }] }, /Input tag 'image_url'/],
    [{ ...ask, messages: [{ role: 'user', content: [{ type: 'text', text: '' }] }] }, /text content blocks must be non-empty/],
    [{ ...ask, temperature: 1.5 }, /temperature/],
  ];
  for (const [body, re] of cases) {
    const r = await rawRequest(`${up.url}/messages`, { method: 'POST', headers: anthropicHeaders(), body: JSON.parse(JSON.stringify(body)) });
    assert.equal(r.status, 400, r.text);
    assert.equal(r.json.type, 'error');
    assert.equal(r.json.error.type, 'invalid_request_error');
    assert.match(r.json.error.message, re);
  }
  const noVersion = await rawRequest(`${up.url}/messages`, { method: 'POST', headers: { 'x-api-key': 'k' }, body: ask });
  assert.equal(noVersion.status, 400);
  assert.match(noVersion.json.error.message, /anthropic-version/);
  const noKey = await rawRequest(`${up.url}/messages`, { method: 'POST', headers: { 'anthropic-version': '2023-06-01' }, body: ask });
  assert.equal(noKey.status, 401);
  assert.equal(noKey.json.error.type, 'authentication_error');
  const bearer = await rawRequest(`${up.url}/messages`, { method: 'POST', headers: { authorization: 'Bearer sk-ant-bearer', 'anthropic-version': '2023-06-01' }, body: ask });
  assert.equal(bearer.status, 200, 'the SDK sends its key as Authorization: Bearer');
  assert.equal(up.requests.at(-1).key, 'sk-ant-bearer');
  assert.ok(up.requests.slice(0, -1).every((r) => r.usage === null));
});

test('anthropic errors: real bodies, retry-after, and the SDK error classes', async (t) => {
  const up = await mockUpstream(t, { flavor: 'anthropic' });
  const cases = [
    [400, Anthropic.BadRequestError, 'invalid_request_error'],
    [401, Anthropic.AuthenticationError, 'authentication_error'],
    [403, Anthropic.PermissionDeniedError, 'permission_error'],
    [404, Anthropic.NotFoundError, 'not_found_error'],
    [429, Anthropic.RateLimitError, 'rate_limit_error'],
    [500, Anthropic.InternalServerError, 'api_error'],
    [529, Anthropic.InternalServerError, 'overloaded_error'],
  ];
  for (const [status, cls, type] of cases) {
    const key = `sk-ant-status-${status}`;
    up.behave(key, { type: 'error', status, retryAfter: status === 429 ? 7 : undefined });
    const err = await claude(up, key).messages.create(ask).then(() => null, (e) => e);
    assert.ok(err instanceof cls, `${status}: ${err}`);
    assert.equal(err.status, status);
    assert.equal(err.type, type);
    assert.equal(err.error.type, 'error');
    assert.equal(err.error.error.type, type);
    assert.ok(err.requestID?.startsWith('req_'));
    if (status === 429) assert.equal(err.headers.get('retry-after'), '7');
  }
  assert.deepEqual(Object.keys(anthropicErrorBody(529)), ['type', 'error', 'request_id']);
  assert.equal(anthropicErrorBody(529).error.message, 'Overloaded');
});

test('anthropic stream broken: an error event mid-stream, a reset, a stall', async (t) => {
  const up = await mockUpstream(t, { flavor: 'anthropic' });
  up.behave('sk-err', { type: 'stream_error', after: 1 }).behave('sk-reset', { type: 'reset', after: 1 });
  const s = await readSse(`${up.url}/messages`, { headers: anthropicHeaders('sk-err'), body: { ...ask, stream: true } });
  assert.equal(s.complete, true, 'the response itself ends properly');
  assert.match(s.text, /event: error\ndata: {"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}/);
  assert.ok(!s.text.includes('message_stop'));

  const texts = [];
  const err = await claude(up, 'sk-err').messages.stream(ask).on('text', (x) => texts.push(x)).finalMessage().then(() => null, (e) => e);
  assert.ok(err instanceof Anthropic.APIError, String(err));
  assert.equal(err.type, 'overloaded_error');
  assert.equal(texts.length, 1);

  const err2 = await claude(up, 'sk-reset').messages.stream(ask).finalMessage().then(() => null, (e) => e);
  assert.ok(err2 instanceof Error, 'a reset is an error, not a clean end');
  const rec = up.requests.find((r) => r.key === 'sk-reset');
  assert.equal(rec.chunksSent, 1);
});

const GEM = { contents: [{ role: 'user', parts: [{ text: 'Say hello' }] }] };
const gemHeaders = (key = 'AIzaSy-mock-0001') => ({ 'x-goog-api-key': key });

test('gemini: GenerateContentResponse, usageMetadata, the key from x-goog-api-key or ?key=', async (t) => {
  const up = await mockUpstream(t, { flavor: 'gemini', models: ['gemini-2.0-flash'] });
  assert.equal(up.url, `${up.origin}/v1beta`);
  const r = await rawRequest(`${up.url}/models/gemini-2.0-flash:generateContent`, {
    method: 'POST', headers: gemHeaders(), body: { ...GEM, systemInstruction: { parts: [{ text: 'Be brief.' }] }, generationConfig: { maxOutputTokens: 50, temperature: 0.2 } },
  });
  assert.equal(r.status, 200, r.text);
  const c = r.json.candidates[0];
  assert.deepEqual(c.content, { parts: [{ text: 'Hello from the mock upstream.' }], role: 'model' });
  assert.equal(c.finishReason, 'STOP');
  const u = r.json.usageMetadata;
  assert.equal(u.totalTokenCount, u.promptTokenCount + u.candidatesTokenCount);
  assert.equal(r.json.modelVersion, 'gemini-2.0-flash');
  assert.equal(up.requests[0].key, 'AIzaSy-mock-0001');
  assert.equal(up.requests[0].model, 'gemini-2.0-flash');
  assert.deepEqual(up.requests[0].usage, { prompt_tokens: u.promptTokenCount, completion_tokens: u.candidatesTokenCount, total_tokens: u.totalTokenCount });

  const q = await rawRequest(`${up.url}/models/gemini-2.0-flash:generateContent?key=AIzaSy-query`, { method: 'POST', body: GEM });
  assert.equal(q.status, 200);
  assert.equal(up.requests[1].key, 'AIzaSy-query');
  const none = await rawRequest(`${up.url}/models/gemini-2.0-flash:generateContent`, { method: 'POST', body: GEM });
  assert.equal(none.status, 403);
  assert.equal(none.json.error.status, 'PERMISSION_DENIED');

  const n = await rawRequest(`${up.url}/models/gemini-2.0-flash:countTokens`, { method: 'POST', headers: gemHeaders(), body: GEM });
  assert.equal(n.status, 200);
  assert.ok(Number.isInteger(n.json.totalTokens) && n.json.totalTokens > 0);
  const bad = await rawRequest(`${up.url}/models/gemini-2.0-flash:countTokens`, { method: 'POST', headers: gemHeaders(), body: { ...GEM, systemInstruction: { parts: [{ text: 'x' }] } } });
  assert.equal(bad.status, 400, 'countTokens takes a system instruction only inside generateContentRequest');
  const inner = await rawRequest(`${up.url}/models/gemini-2.0-flash:countTokens`, {
    method: 'POST', headers: gemHeaders(), body: { generateContentRequest: { model: 'models/gemini-2.0-flash', ...GEM, systemInstruction: { parts: [{ text: 'x' }] } } },
  });
  assert.equal(inner.status, 200, inner.text);
});

test('gemini stream: ?alt=sse chunks are whole responses ending in \\r\\n\\r\\n, finishReason on the last; without alt a JSON array', async (t) => {
  const up = await mockUpstream(t, { flavor: 'gemini' });
  up.behave('default', { content: 'one two three', chunks: 3 });
  const s = await readSse(`${up.url}/models/gemini-2.5-flash:streamGenerateContent?alt=sse`, { headers: gemHeaders(), body: GEM });
  assert.equal(s.status, 200);
  assert.match(s.headers['content-type'], /^text\/event-stream/);
  assert.equal(s.events.length, 3);
  assert.ok(s.text.split('data: ').slice(1).every((x) => x.endsWith('}\r\n\r\n')));
  assert.equal(s.events.map((e) => e.json.candidates[0].content.parts[0].text).join(''), 'one two three');
  assert.deepEqual(s.events.map((e) => e.json.candidates[0].finishReason ?? null), [null, null, 'STOP']);
  assert.ok(s.events.every((e) => e.json.usageMetadata.promptTokenCount > 0 && e.json.responseId === s.events[0].json.responseId));
  const last = s.events.at(-1).json.usageMetadata;
  assert.equal(last.totalTokenCount, last.promptTokenCount + last.candidatesTokenCount);
  assert.equal(up.requests[0].query, '?alt=sse');

  const arr = await rawRequest(`${up.url}/models/gemini-2.5-flash:streamGenerateContent`, { method: 'POST', headers: gemHeaders(), body: GEM });
  assert.equal(arr.status, 200);
  assert.ok(Array.isArray(arr.json) && arr.json.length === 3);
});

test('gemini function calling: functionCall parts out, functionResponse parts back', async (t) => {
  const up = await mockUpstream(t, { flavor: 'gemini' });
  up.behave('default', { toolCalls: [{ name: 'get_weather', arguments: { city: 'Paris' } }] });
  const tools = [{ functionDeclarations: [{ name: 'get_weather', description: 'Weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } }] }];
  const r = await rawRequest(`${up.url}/models/gemini-2.0-flash:generateContent`, { method: 'POST', headers: gemHeaders(), body: { ...GEM, tools, toolConfig: { functionCallingConfig: { mode: 'AUTO' } } } });
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.json.candidates[0].content.parts, [{ functionCall: { name: 'get_weather', args: { city: 'Paris' } } }]);
  assert.equal(r.json.candidates[0].finishReason, 'STOP');

  const s = await readSse(`${up.url}/models/gemini-2.0-flash:streamGenerateContent?alt=sse`, { headers: gemHeaders(), body: { ...GEM, tools } });
  assert.equal(s.events.length, 1);
  assert.deepEqual(s.events[0].json.candidates[0].content.parts, [{ functionCall: { name: 'get_weather', args: { city: 'Paris' } } }]);

  up.behave('default', 'ok');
  const back = await rawRequest(`${up.url}/models/gemini-2.0-flash:generateContent`, {
    method: 'POST', headers: gemHeaders(),
    body: { tools, contents: [...GEM.contents, { role: 'model', parts: r.json.candidates[0].content.parts },
      { role: 'user', parts: [{ functionResponse: { name: 'get_weather', response: { result: '18 C' } } }] }] },
  });
  assert.equal(back.status, 200, back.text);
});

test('gemini refuses what the real API refuses; error bodies with google.rpc status', async (t) => {
  const up = await mockUpstream(t, { flavor: 'gemini' });
  const url = `${up.url}/models/gemini-2.0-flash:generateContent`;
  const cases = [
    [{ model: 'x', messages: [] }, /Unknown name "messages": Cannot find field/],
    [{ contents: [{ role: 'assistant', parts: [{ text: 'x' }] }] }, /valid role: user, model/],
    [{ ...GEM, generationConfig: { max_tokens: 5 } }, /Unknown name "max_tokens" at 'generation_config'/],
    [{ ...GEM, tools: [{ type: 'function', function: { name: 'f' } }] }, /Unknown name "type" at 'tools\[0\]'/],
    [{ contents: [{ role: 'user', parts: [] }] }, /must not be empty/],
    [{ contents: [{ role: 'user', parts: [{ image_url: 'x' }] }] }, /Unknown name "image_url"/],
  ];
  for (const [body, re] of cases) {
    const r = await rawRequest(url, { method: 'POST', headers: gemHeaders(), body });
    assert.equal(r.status, 400, r.text);
    assert.equal(r.json.error.code, 400);
    assert.equal(r.json.error.status, 'INVALID_ARGUMENT');
    assert.match(r.json.error.message, re);
  }
  for (const [status, name] of [[429, 'RESOURCE_EXHAUSTED'], [500, 'INTERNAL'], [503, 'UNAVAILABLE'], [401, 'UNAUTHENTICATED']]) {
    up.behave('default', { type: 'error', status, retryAfter: status === 429 ? 9 : undefined });
    const r = await rawRequest(url, { method: 'POST', headers: gemHeaders(), body: GEM });
    assert.equal(r.status, status);
    assert.equal(r.json.error.code, status);
    assert.equal(r.json.error.status, name);
    if (status === 429) {
      assert.equal(r.headers['retry-after'], '9');
      assert.equal(r.json.error.details.find((d) => d['@type'].endsWith('RetryInfo')).retryDelay, '9s');
    }
  }
  assert.deepEqual(geminiErrorBody(503), { error: { code: 503, message: 'The model is overloaded. Please try again later.', status: 'UNAVAILABLE' } });
  up.behave('default', { type: 'stream_error', after: 1 });
  const s = await readSse(`${up.url}/models/gemini-2.0-flash:streamGenerateContent?alt=sse`, { headers: gemHeaders(), body: GEM });
  assert.equal(s.events.length, 2);
  assert.equal(s.events[1].json.error.status, 'UNAVAILABLE');
  up.behave('default', 'bad_key');
  const badKey = await rawRequest(url, { method: 'POST', headers: gemHeaders(), body: GEM });
  assert.equal(badKey.status, 400, 'Google answers a wrong key with 400');
  assert.equal(badKey.json.error.details[0].reason, 'API_KEY_INVALID');
  up.behave('default', 'ok');
  const wrongPath = await rawRequest(`${up.url}/chat/completions`, { method: 'POST', headers: gemHeaders(), body: GEM });
  assert.equal(wrongPath.status, 404);
});

test('gemini 3: function calls carry a thoughtSignature that must come back with the history', async (t) => {
  const up = await mockUpstream(t, { flavor: 'gemini' });
  up.behave('default', { toolCalls: [{ name: 'get_weather', arguments: { city: 'Paris' } }, { name: 'get_time', arguments: {} }] });
  const url = `${up.url}/models/gemini-3-pro-preview:generateContent`;
  const r = await rawRequest(url, { method: 'POST', headers: gemHeaders(), body: GEM });
  const parts = r.json.candidates[0].content.parts;
  assert.equal(parts[0].thoughtSignature, geminiSignature('get_weather', { city: 'Paris' }));
  assert.equal(parts[1].thoughtSignature, undefined, 'only the first call of a turn is signed');
  up.behave('default', 'ok');
  const result = { role: 'user', parts: [{ functionResponse: { name: 'get_weather', response: { r: 1 } } }, { functionResponse: { name: 'get_time', response: { r: 2 } } }] };
  const ok = await rawRequest(url, { method: 'POST', headers: gemHeaders(), body: { contents: [...GEM.contents, { role: 'model', parts }, result] } });
  assert.equal(ok.status, 200, ok.text);
  const stripped = parts.map(({ thoughtSignature, ...rest }) => rest);
  const bad = await rawRequest(url, { method: 'POST', headers: gemHeaders(), body: { contents: [...GEM.contents, { role: 'model', parts: stripped }, result] } });
  assert.equal(bad.status, 400);
  assert.match(bad.json.error.message, /missing a thought_signature/);
  // Older models neither sign nor check.
  const old = await rawRequest(`${up.url}/models/gemini-2.5-flash:generateContent`, { method: 'POST', headers: gemHeaders(), body: { contents: [...GEM.contents, { role: 'model', parts: stripped }, result] } });
  assert.equal(old.status, 200);
});
