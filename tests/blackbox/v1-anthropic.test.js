// OpenAI clients in front of an Anthropic provider: /v1/chat/completions
// translated to POST {base_url}/messages and back, streams included
// (Anthropic's events become OpenAI chunks and data: [DONE]), tools,
// images, system messages, usage in the log, Anthropic's errors in
// OpenAI's shape, and failover from a failing Anthropic upstream.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import { fusion, assertOpenAIError, sdkError, within, contentEvents, drainChat, assertNoClientKey } from './v1-helpers.js';

const MODEL = 'claude-sonnet-4-6';
const UPKEY = 'sk-ant-api03-upstream-key-000000000000001';
const WEATHER = {
  type: 'function',
  function: {
    name: 'get_weather', description: 'The weather in a city',
    parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
  },
};
const PNG = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==';

// The text of an Anthropic content field, a string or text blocks.
const textOf = (c) => (typeof c === 'string' ? c : (c ?? []).filter((b) => b.type === 'text').map((b) => b.text).join(''));

async function setup(t, { models = [MODEL], aliases, keys = [UPKEY], up: upOpts = {} } = {}) {
  const f = await fusion(t);
  const up = await f.upstream({ flavor: 'anthropic', name: 'anthropic', ...upOpts });
  const g = await f.group();
  const p = await f.provider(g, up, { models, keys, ...(aliases ? { model_aliases: aliases } : {}) });
  const ck = await f.clientKey();
  return { f, up, g, p, ck, ai: f.openai(ck.key) };
}

// The upstream request carries the provider's key the Anthropic way and
// nothing of the client's key.
function assertUpstreamAuth(rec, ck) {
  assert.equal(rec.method, 'POST');
  assert.equal(rec.path, '/v1/messages');
  assert.equal(rec.headers['x-api-key'], UPKEY);
  assert.equal(rec.headers['anthropic-version'], '2023-06-01');
  assert.match(rec.headers['content-type'], /^application\/json/);
  assert.ok(!('authorization' in rec.headers), `no Authorization upstream: ${rec.headers.authorization}`);
  assertNoClientKey(rec, ck);
}

test('openai client -> anthropic: system and developer messages, history, parameters and the answer', async (t) => {
  const { f, up, p, ck, ai } = await setup(t, { aliases: { claude: MODEL } });
  up.behave('default', { content: 'Bonjour!', usage: { prompt_tokens: 21, completion_tokens: 4 } });
  const r = await ai.chat.completions.create({
    model: 'claude',
    messages: [
      { role: 'system', content: 'You are terse.' },
      { role: 'developer', content: 'Answer in French.' },
      { role: 'user', content: 'Hello' },
      { role: 'assistant', content: 'Hi. What do you need?' },
      { role: 'user', content: [{ type: 'text', text: 'Say ' }, { type: 'text', text: 'hello.' }] },
    ],
    temperature: 0.5, top_p: 0.9, max_tokens: 300, stop: ['END'], user: 'u-1',
  });
  assert.equal(r.object, 'chat.completion');
  assert.equal(r.model, 'claude');
  assert.equal(r.choices.length, 1);
  assert.equal(r.choices[0].message.role, 'assistant');
  assert.equal(r.choices[0].message.content, 'Bonjour!');
  assert.equal(r.choices[0].finish_reason, 'stop');
  assert.equal(r.usage.prompt_tokens, 21);
  assert.equal(r.usage.completion_tokens, 4);
  assert.equal(r.usage.total_tokens, 25);

  assert.equal(up.requests.length, 1);
  const rec = up.requests[0];
  assertUpstreamAuth(rec, ck);
  const b = rec.body;
  assert.equal(b.model, MODEL);
  assert.match(textOf(b.system), /You are terse\.[\s\S]*Answer in French\./);
  assert.deepEqual(b.messages.map((m) => [m.role, textOf(m.content)]), [
    ['user', 'Hello'], ['assistant', 'Hi. What do you need?'], ['user', 'Say hello.'],
  ]);
  assert.equal(b.max_tokens, 300);
  assert.equal(b.temperature, 0.5);
  assert.equal(b.top_p, 0.9);
  assert.deepEqual(b.stop_sequences, ['END']);
  assert.ok(!b.stream, 'not a stream');

  // max_completion_tokens is max_tokens too; without either the gateway
  // sets Anthropic's required max_tokens itself.
  await ai.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'x' }], max_completion_tokens: 77 });
  assert.equal(up.requests[1].body.max_tokens, 77);
  await ai.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'x' }] });
  assert.ok(Number.isInteger(up.requests[2].body.max_tokens) && up.requests[2].body.max_tokens > 0, JSON.stringify(up.requests[2].body));
  assert.equal(up.requests[2].rejected, undefined);

  const { data } = await f.waitLogs(3);
  const row = data.find((x) => x.model === 'claude');
  assert.equal(row.status, 200);
  assert.equal(row.provider_id, p.id);
  assert.equal(row.upstream_model, MODEL);
  assert.equal(row.path, '/v1/chat/completions');
  assert.equal(row.prompt_tokens, 21);
  assert.equal(row.completion_tokens, 4);
  assert.ok(!JSON.stringify(data).includes(UPKEY));
});

test('openai client -> anthropic, streamed: chunks as the events arrive, finish reason, usage, [DONE]', async (t) => {
  const { f, up, ck, ai } = await setup(t);
  up.behave('default', { content: 'one two three four', chunks: 4, chunkDelayMs: 30, usage: { prompt_tokens: 13, completion_tokens: 6 } });
  const stream = await ai.chat.completions.create({
    model: MODEL, stream: true, stream_options: { include_usage: true },
    messages: [{ role: 'system', content: 'Count.' }, { role: 'user', content: 'Go' }],
  });
  const chunks = [];
  for await (const c of stream) chunks.push(c);
  assert.equal(chunks.map((c) => c.choices[0]?.delta?.content ?? '').join(''), 'one two three four');
  assert.ok(chunks.every((c) => c.object === 'chat.completion.chunk' && c.model === MODEL), JSON.stringify(chunks[0]));
  assert.ok(chunks.every((c) => c.id === chunks[0].id));
  const fin = chunks.filter((c) => c.choices[0]?.finish_reason);
  assert.equal(fin.length, 1);
  assert.equal(fin[0].choices[0].finish_reason, 'stop');
  const usage = chunks.at(-1).usage;
  assert.deepEqual(chunks.at(-1).choices, []);
  assert.equal(usage.prompt_tokens, 13);
  assert.equal(usage.completion_tokens, 6);

  const rec = up.requests[0];
  assertUpstreamAuth(rec, ck);
  assert.equal(rec.body.stream, true);
  assert.equal(textOf(rec.body.system), 'Count.');
  assert.ok(!('stream_options' in rec.body));

  // On the wire: SSE data lines only, ending with [DONE].
  const s = await f.stream(ck.key, { model: MODEL, stream: true, messages: [{ role: 'user', content: 'Go' }] });
  assert.equal(s.status, 200);
  assert.match(s.headers['content-type'], /^text\/event-stream/);
  assert.equal(s.done, true);
  assert.equal(s.complete, true);
  assert.ok(!/^event:/m.test(s.text), 'no Anthropic event names reach an OpenAI client');
  assert.equal(contentEvents(s.events).map((e) => e.json.choices[0].delta.content).join(''), 'one two three four');
  // Not asked for: no usage chunk, as from OpenAI itself (the log still has the usage).
  assert.ok(s.events.every((e) => !e.json || e.json.choices.length > 0), 'no chunk without choices when usage was not asked for');

  const { data } = await f.waitLogs(2);
  assert.ok(data.every((row) => row.stream === true && row.prompt_tokens === 13 && row.completion_tokens === 6), JSON.stringify(data));
});

test('openai client -> anthropic: tools out, tool_use back as tool_calls, the result goes back as tool_result', async (t) => {
  const { up, ck, ai } = await setup(t);
  up.behave('default', { content: 'Checking.', toolCalls: [{ id: 'toolu_01Paris', name: 'get_weather', arguments: { city: 'Paris' } }] });
  const ask = [{ role: 'user', content: 'Weather in Paris?' }];
  const r = await ai.chat.completions.create({ model: MODEL, messages: ask, tools: [WEATHER], tool_choice: 'auto' });
  const msg = r.choices[0].message;
  assert.equal(r.choices[0].finish_reason, 'tool_calls');
  assert.equal(msg.tool_calls.length, 1);
  const call = msg.tool_calls[0];
  assert.equal(call.id, 'toolu_01Paris');
  assert.equal(call.type, 'function');
  assert.equal(call.function.name, 'get_weather');
  assert.deepEqual(JSON.parse(call.function.arguments), { city: 'Paris' });

  const sent = up.requests[0].body;
  assertUpstreamAuth(up.requests[0], ck);
  assert.deepEqual(sent.tools, [{ name: 'get_weather', description: 'The weather in a city', input_schema: WEATHER.function.parameters }]);
  assert.deepEqual(sent.tool_choice, { type: 'auto' });

  // tool_choice: required is "any"; a named function is "tool".
  await ai.chat.completions.create({ model: MODEL, messages: ask, tools: [WEATHER], tool_choice: 'required' });
  assert.deepEqual(up.requests[1].body.tool_choice, { type: 'any' });
  await ai.chat.completions.create({ model: MODEL, messages: ask, tools: [WEATHER], tool_choice: { type: 'function', function: { name: 'get_weather' } } });
  assert.deepEqual(up.requests[2].body.tool_choice, { type: 'tool', name: 'get_weather' });

  // The result back: the mock refuses a tool_result without its tool_use.
  up.behave('default', { content: 'It is 18 C in Paris.' });
  const back = await ai.chat.completions.create({
    model: MODEL, tools: [WEATHER],
    messages: [...ask, msg, { role: 'tool', tool_call_id: 'toolu_01Paris', content: '18 C, sunny' }],
  });
  assert.equal(back.choices[0].message.content, 'It is 18 C in Paris.');
  const rec = up.requests[3];
  assert.equal(rec.rejected, undefined, rec.rejected);
  const [u0, a1, u2] = rec.body.messages;
  assert.equal(u0.role, 'user');
  assert.equal(a1.role, 'assistant');
  assert.deepEqual(a1.content.filter((b) => b.type === 'tool_use'), [{ type: 'tool_use', id: 'toolu_01Paris', name: 'get_weather', input: { city: 'Paris' } }]);
  assert.equal(u2.role, 'user');
  const result = u2.content.find((b) => b.type === 'tool_result');
  assert.equal(result.tool_use_id, 'toolu_01Paris');
  assert.equal(textOf(result.content), '18 C, sunny');
});

test('openai client -> anthropic, streamed tool call: input_json_delta becomes tool_calls argument deltas', async (t) => {
  const { up, ai } = await setup(t);
  up.behave('default', { content: '', toolCalls: [{ id: 'toolu_01S', name: 'get_weather', arguments: { city: 'Lyon', unit: 'celsius' } }] });
  const runner = ai.chat.completions.stream({ model: MODEL, messages: [{ role: 'user', content: 'Weather?' }], tools: [WEATHER] });
  const chunks = [];
  runner.on('chunk', (c) => chunks.push(c));
  const done = await within(10000, runner.finalChatCompletion());
  const choice = done.choices[0];
  assert.equal(choice.finish_reason, 'tool_calls');
  assert.equal(choice.message.tool_calls.length, 1);
  assert.equal(choice.message.tool_calls[0].id, 'toolu_01S');
  assert.equal(choice.message.tool_calls[0].function.name, 'get_weather');
  assert.deepEqual(JSON.parse(choice.message.tool_calls[0].function.arguments), { city: 'Lyon', unit: 'celsius' });
  const argChunks = chunks.filter((c) => c.choices[0]?.delta?.tool_calls?.[0]?.function?.arguments);
  assert.ok(argChunks.length >= 2, `arguments arrive in pieces (${argChunks.length})`);
  assert.ok(chunks.every((c) => (c.choices[0]?.delta?.tool_calls ?? []).every((tc) => tc.index === 0)));
  assert.equal(up.requests[0].body.stream, true);
});

test('openai client -> anthropic: images as data URLs and URLs become image blocks', async (t) => {
  const { up, ai } = await setup(t);
  await ai.chat.completions.create({
    model: MODEL,
    messages: [{
      role: 'user',
      content: [
        { type: 'text', text: 'What are these?' },
        { type: 'image_url', image_url: { url: `data:image/png;base64,${PNG}` } },
        { type: 'image_url', image_url: { url: 'https://example.com/cat.jpg', detail: 'low' } },
      ],
    }],
  });
  const rec = up.requests[0];
  assert.equal(rec.rejected, undefined, rec.rejected);
  const blocks = rec.body.messages[0].content;
  assert.deepEqual(blocks.find((b) => b.type === 'text'), { type: 'text', text: 'What are these?' });
  const images = blocks.filter((b) => b.type === 'image');
  assert.deepEqual(images[0].source, { type: 'base64', media_type: 'image/png', data: PNG });
  assert.deepEqual(images[1].source, { type: 'url', url: 'https://example.com/cat.jpg' });
});

test('anthropic errors reach an OpenAI client in OpenAI\'s shape with the right status', async (t) => {
  const { f, up, ck, ai } = await setup(t);
  // A request Anthropic refuses: the client's fault, returned, not retried.
  up.behave('default', { type: 'error', status: 400, body: { type: 'error', error: { type: 'invalid_request_error', message: 'messages.0.content: prompt is too long: 210000 tokens > 200000 maximum' } } });
  const e400 = await sdkError(ai.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'x' }] }));
  assert.ok(e400 instanceof OpenAI.BadRequestError, String(e400));
  assert.match(e400.message, /prompt is too long/);
  assert.equal(e400.type, 'invalid_request_error');
  assert.equal(up.served(), 1);

  up.behave('default', 404);
  const r = await f.chat(ck.key, { model: MODEL, messages: [{ role: 'user', content: 'x' }] });
  assertOpenAIError(r, 404);

  // Every attempt rate limited: OpenAI's 429.
  up.behave('default', { type: 'error', status: 429, retryAfter: 30 });
  const e429 = await sdkError(ai.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'x' }] }));
  assert.ok(e429 instanceof OpenAI.RateLimitError, String(e429));
  assert.ok(!e429.message.includes(UPKEY) && !JSON.stringify(e429.error ?? {}).includes(UPKEY));
});

async function failoverSetup(t) {
  const f = await fusion(t);
  const claude = await f.upstream({ flavor: 'anthropic', name: 'claude' });
  const backup = await f.upstream({ name: 'openai-backup' });
  const hi = await f.group({ priority: 10 });
  const lo = await f.group({ priority: 0 });
  const pa = await f.provider(hi, claude, { models: [MODEL], keys: ['sk-ant-first-0000000000000001', 'sk-ant-second-000000000000002'] });
  await f.provider(lo, backup, { models: [MODEL] });
  const ck = await f.clientKey();
  const ai = f.openai(ck.key);
  const ask = () => within(10000, ai.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'x' }] }));
  return { f, claude, backup, pa, ask };
}

for (const status of [529, 500]) {
  test(`failover: an Anthropic ${status} moves to the next candidate (an OpenAI provider)`, async (t) => {
    const { claude, backup, ask } = await failoverSetup(t);
    claude.behave('default', status);
    assert.equal((await ask()).choices[0].message.content, 'Hello from the mock upstream.');
    assert.equal(claude.served(), 1, 'the next candidate, not the next key');
    assert.equal(backup.served(), 1);
    assert.equal(backup.requests[0].body.model, MODEL);
    assert.ok(backup.requests[0].headers.authorization?.startsWith('Bearer sk-up-'), 'the OpenAI backup gets its own key as Bearer');
  });
}

test('failover: an Anthropic 429 with retry-after cools the key for that long and moves on', async (t) => {
  const { f, claude, backup, pa, ask } = await failoverSetup(t);
  claude.behave('default', { type: 'error', status: 429, retryAfter: 40 });
  await ask();
  // One key, then the other key of the same provider, then the backup.
  assert.equal(claude.served(), 2);
  assert.equal(backup.served(), 1);
  for (const k of pa.keys) {
    const st = await f.keyState(k.id);
    assert.equal(st.status, 'cooldown');
    const left = (Date.parse(st.cooldown_until) - Date.now()) / 1000;
    assert.ok(left > 25 && left <= 41, `cooldown honours retry-after: ${left} s`);
  }
  const { data } = await f.waitLogs(1);
  assert.equal(data[0].attempts, 3);
  assert.deepEqual(data[0].trace.filter((s) => s.action === 'tried').map((s) => s.status), [429, 429, 200]);
  // Both keys cooling: the anthropic provider is skipped.
  await ask();
  assert.equal(claude.served(), 2);
  assert.equal(backup.served(), 2);
});

test('a broken Anthropic stream ends the OpenAI stream with an error, never a clean [DONE]', async (t) => {
  // Two keys: a key that failed may cool down before the second request.
  const { f, up, ck, ai } = await setup(t, { keys: [UPKEY, 'sk-ant-api03-upstream-key-000000000000002'] });
  up.behave('default', { type: 'stream_error', content: 'alpha beta gamma delta', chunks: 4, after: 2 });
  const stream = await ai.chat.completions.create({ model: MODEL, stream: true, messages: [{ role: 'user', content: 'x' }] });
  const { text, err } = await drainChat(stream);
  assert.ok(err, `the SDK saw a clean end after ${JSON.stringify(text)}`);
  assert.equal(text, 'alpha beta ');

  up.behave('default', { type: 'reset', content: 'alpha beta gamma delta', chunks: 4, after: 2 });
  const s = await f.stream(ck.key, { model: MODEL, stream: true, messages: [{ role: 'user', content: 'x' }] });
  assert.equal(s.done, false, 'no [DONE] after a reset');
  assert.equal(contentEvents(s.events).map((e) => e.json.choices[0].delta.content).join(''), 'alpha beta ');
  const last = s.events.at(-1)?.json;
  assert.ok(last?.error || s.error, `an error event or a broken response: ${s.text.slice(-300)}`);

  const { data } = await f.waitLogs(2);
  assert.ok(data.every((row) => row.outcome !== 'ok'), JSON.stringify(data.map((x) => [x.status, x.outcome])));
});

test('other /v1 endpoints never reach an anthropic provider', async (t) => {
  const { f, up, ck } = await setup(t, { models: [MODEL, 'text-embedding-3-small'] });
  const r = await f.v1('POST', '/embeddings', { key: ck.key, body: { model: 'text-embedding-3-small', input: 'x' } });
  assert.ok(r.status >= 400, r.text);
  assertOpenAIError(r, r.status);
  assert.equal(up.served(), 0);
});

test('anthropic stop reasons become OpenAI finish reasons, streamed or not', async (t) => {
  const { up, ai } = await setup(t);
  for (const [stopReason, finish] of [['max_tokens', 'length'], ['stop_sequence', 'stop'], ['end_turn', 'stop']]) {
    up.behave('default', { content: 'cut sho', stopReason });
    const r = await ai.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'x' }], max_tokens: 3 });
    assert.equal(r.choices[0].finish_reason, finish, stopReason);
    const s = await ai.chat.completions.create({ model: MODEL, stream: true, messages: [{ role: 'user', content: 'x' }], max_tokens: 3 });
    let got = null;
    for await (const c of s) got = c.choices[0]?.finish_reason ?? got;
    assert.equal(got, finish, `${stopReason}, streamed`);
  }
});

test('the admin provider test probes an anthropic provider through its own API', async (t) => {
  const { f, up, p } = await setup(t);
  const r = await f.must('POST', `/api/admin/providers/${p.id}/test`, {});
  assert.equal(r.ok, true, r.message);
  assert.equal(r.status, 200);
  assert.equal(up.requests.length, 1);
  const rec = up.requests[0];
  assert.equal(rec.path, '/v1/messages');
  assert.equal(rec.headers['x-api-key'], UPKEY);
  assert.equal(rec.rejected, undefined, `the upstream refused the probe: ${rec.rejected}`);
  assert.ok(!r.message.includes(UPKEY), 'the probe names the key masked only');
});
