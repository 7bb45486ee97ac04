// Anthropic clients (the official @anthropic-ai/sdk and raw HTTP) on
// POST /v1/messages and /v1/messages/count_tokens: passed through to
// Anthropic providers with only the model replaced, translated to
// /chat/completions for OpenAI providers and to generateContent for Gemini
// ones, streams included; the client key in x-api-key or Authorization;
// errors in Anthropic's shape; failover across provider types; usage in
// the log.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import Anthropic from '@anthropic-ai/sdk';
import { fusion, assertAnthropicError, sdkError, within, assertNoClientKey } from './v1-helpers.js';

const CLAUDE = 'claude-sonnet-4-6';
const UPKEY = 'sk-ant-api03-upstream-key-000000000000009';
const WEATHER = { name: 'get_weather', description: 'The weather in a city', input_schema: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } };
const PNG = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==';
const ask = (model = CLAUDE, extra = {}) => ({ model, max_tokens: 512, messages: [{ role: 'user', content: 'Hello' }], ...extra });

const textOf = (c) => (typeof c === 'string' ? c : (c ?? []).map((b) => (typeof b === 'string' ? b : b.text ?? '')).join(''));

// A gateway with one provider of the given type serving `model`.
async function setup(t, flavor, { model = CLAUDE, keys, aliases } = {}) {
  const f = await fusion(t);
  const up = await f.upstream({ flavor, name: flavor, models: [model] });
  const g = await f.group();
  const p = await f.provider(g, up, { models: [model], ...(keys ? { keys } : {}), ...(aliases ? { model_aliases: aliases } : {}) });
  const ck = await f.clientKey();
  return { f, up, g, p, ck, claude: f.anthropic(ck.key) };
}

test('anthropic sdk -> anthropic provider: passed through with the upstream model name, its key and the client\'s version headers', async (t) => {
  const { f, up, p, ck, claude } = await setup(t, 'anthropic', { keys: [UPKEY], aliases: { claude: CLAUDE } });
  up.behave('default', { content: 'Hi there.', usage: { prompt_tokens: 31, completion_tokens: 5 } });
  const body = {
    model: 'claude', max_tokens: 300, system: [{ type: 'text', text: 'Be brief.' }],
    messages: [{ role: 'user', content: [{ type: 'text', text: 'Hello' }, { type: 'image', source: { type: 'base64', media_type: 'image/png', data: PNG } }] }],
    temperature: 0.2, top_k: 5, stop_sequences: ['END'], metadata: { user_id: 'u-42' },
  };
  const m = await claude.messages.create(body, { headers: { 'anthropic-beta': 'token-efficient-tools-2025-02-19' } });
  assert.equal(m.type, 'message');
  assert.equal(m.role, 'assistant');
  assert.deepEqual(m.content, [{ type: 'text', text: 'Hi there.' }]);
  assert.equal(m.stop_reason, 'end_turn');
  assert.equal(m.usage.input_tokens, 31);
  assert.equal(m.usage.output_tokens, 5);

  const rec = up.requests[0];
  assert.equal(rec.path, '/v1/messages');
  assert.deepEqual(rec.body, { ...body, model: CLAUDE }, 'only the model changes');
  assert.equal(rec.headers['x-api-key'], UPKEY);
  assert.equal(rec.headers['anthropic-version'], '2026-10-21', 'the SDK\'s own version is passed on');
  assert.equal(rec.headers['anthropic-beta'], 'token-efficient-tools-2025-02-19');
  assert.ok(!rec.headers.authorization?.includes(ck.key));
  assertNoClientKey(rec, ck);

  // The key in x-api-key works the same, with the default version.
  const viaHeader = f.anthropic(null, { defaultHeaders: { 'x-api-key': ck.key } });
  const m2 = await viaHeader.messages.create(ask('claude'));
  assert.equal(m2.content[0].text, 'Hi there.');
  const raw = await f.messages(ck.key, ask('claude'));
  assert.equal(raw.status, 200, raw.text);
  assert.equal(raw.json.type, 'message');
  assert.equal(up.requests[2].headers['anthropic-version'], '2023-06-01');
  assertNoClientKey(up.requests[1], ck);

  const { data } = await f.waitLogs(3);
  for (const row of data) {
    assert.equal(row.path, '/v1/messages');
    assert.equal(row.status, 200);
    assert.equal(row.provider_id, p.id);
    assert.equal(row.model, 'claude');
    assert.equal(row.upstream_model, CLAUDE);
    assert.equal(row.prompt_tokens, 31);
    assert.equal(row.completion_tokens, 5);
  }
});

test('anthropic sdk -> anthropic provider, streamed: the events pass as they are, the SDK helpers work, usage is logged', async (t) => {
  const { f, up, ck, claude } = await setup(t, 'anthropic');
  up.behave('default', { content: 'one two three four', chunks: 4, chunkDelayMs: 30, usage: { prompt_tokens: 14, completion_tokens: 8 } });
  const texts = [];
  const stream = claude.messages.stream(ask()).on('text', (d) => texts.push(d));
  const msg = await within(10000, stream.finalMessage());
  assert.deepEqual(texts, ['one ', 'two ', 'three ', 'four']);
  assert.equal(msg.content[0].text, 'one two three four');
  assert.equal(msg.stop_reason, 'end_turn');
  assert.equal(msg.usage.output_tokens, 8);
  assert.equal(up.requests[0].body.stream, true);
  assertNoClientKey(up.requests[0], ck);

  const s = await f.messagesStream(ck.key, ask());
  assert.equal(s.status, 200);
  assert.match(s.headers['content-type'], /^text\/event-stream/);
  assert.equal(s.complete, true);
  const names = [...s.text.matchAll(/^event: (\w+)$/gm)].map((x) => x[1]);
  assert.deepEqual(names, ['message_start', 'content_block_start', 'ping', 'content_block_delta', 'content_block_delta',
    'content_block_delta', 'content_block_delta', 'content_block_stop', 'message_delta', 'message_stop']);
  assert.ok(!s.text.includes('[DONE]'));

  const { data } = await f.waitLogs(2);
  assert.ok(data.every((row) => row.stream === true && row.prompt_tokens === 14 && row.completion_tokens === 8), JSON.stringify(data));
});

test('anthropic sdk -> anthropic provider: a tool round trip, streamed', async (t) => {
  const { up, claude } = await setup(t, 'anthropic');
  up.behave('default', { content: 'Let me check.', toolCalls: [{ id: 'toolu_01RT', name: 'get_weather', arguments: { city: 'Oslo' } }] });
  const jsons = [];
  const msg = await claude.messages.stream({ ...ask(), tools: [WEATHER] }).on('inputJson', (d) => jsons.push(d)).finalMessage();
  assert.equal(msg.stop_reason, 'tool_use');
  assert.deepEqual(msg.content[1], { type: 'tool_use', id: 'toolu_01RT', name: 'get_weather', input: { city: 'Oslo' } });
  assert.equal(jsons.join(''), '{"city":"Oslo"}');
  up.behave('default', { content: 'Cold.' });
  const back = await claude.messages.create({
    ...ask(), tools: [WEATHER],
    messages: [...ask().messages, { role: 'assistant', content: msg.content },
      { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_01RT', content: '-3 C' }] }],
  });
  assert.equal(back.content[0].text, 'Cold.');
  assert.equal(up.requests[1].rejected, undefined, up.requests[1].rejected);
});

test('count_tokens: passed to an anthropic provider, translated to Gemini\'s countTokens, refused for OpenAI providers', async (t) => {
  const f = await fusion(t);
  const ant = await f.upstream({ flavor: 'anthropic', name: 'anthropic' });
  const gem = await f.upstream({ flavor: 'gemini', name: 'gemini' });
  const oai = await f.upstream({ name: 'openai' });
  const g = await f.group();
  await f.provider(g, ant, { models: [CLAUDE] });
  await f.provider(g, gem, { models: ['gemini-2.0-flash'] });
  await f.provider(g, oai, { models: ['gpt-4o'] });
  const ck = await f.clientKey();
  const claude = f.anthropic(ck.key);
  const countBody = (model) => ({ model, system: 'Be brief.', messages: [{ role: 'user', content: 'How many tokens is this?' }], tools: [WEATHER] });

  ant.behave('default', { usage: { prompt_tokens: 123 } });
  const a = await claude.messages.countTokens(countBody(CLAUDE));
  assert.deepEqual(a, { input_tokens: 123 });
  assert.equal(ant.requests[0].path, '/v1/messages/count_tokens');
  assert.deepEqual(ant.requests[0].body, countBody(CLAUDE));
  assertNoClientKey(ant.requests[0], ck);

  gem.behave('default', { usage: { prompt_tokens: 77 } });
  const gc = await claude.messages.countTokens(countBody('gemini-2.0-flash'));
  assert.equal(gc.input_tokens, 77);
  const rec = gem.requests[0];
  assert.equal(rec.path, '/v1beta/models/gemini-2.0-flash:countTokens');
  assertNoClientKey(rec, ck);
  assert.ok(JSON.stringify(rec.body).includes('How many tokens is this?'), JSON.stringify(rec.body));

  const r = await f.messages(ck.key, countBody('gpt-4o'), { path: '/messages/count_tokens' });
  assert.ok(r.status >= 400 && r.status < 500, `${r.status} ${r.text}`);
  assertAnthropicError(r, r.status);
  assert.equal(oai.served(), 0);
});

test('anthropic sdk -> openai provider: translated to /chat/completions and back', async (t) => {
  const { f, up, ck, claude } = await setup(t, 'openai', { model: 'gpt-4o' });
  up.behave('default', { content: 'Translated hello.', usage: { prompt_tokens: 19, completion_tokens: 3 } });
  const m = await claude.messages.create({
    model: 'gpt-4o', max_tokens: 200, system: 'You are terse.', temperature: 0.4, stop_sequences: ['END'],
    messages: [
      { role: 'user', content: 'Hello' },
      { role: 'assistant', content: 'Hi.' },
      { role: 'user', content: [{ type: 'text', text: 'What is this?' }, { type: 'image', source: { type: 'base64', media_type: 'image/png', data: PNG } }] },
    ],
  });
  assert.equal(m.type, 'message');
  assert.equal(m.role, 'assistant');
  assert.match(m.id, /^msg_/);
  assert.equal(m.model, 'gpt-4o');
  assert.deepEqual(m.content, [{ type: 'text', text: 'Translated hello.' }]);
  assert.equal(m.stop_reason, 'end_turn');
  assert.equal(m.usage.input_tokens, 19);
  assert.equal(m.usage.output_tokens, 3);

  const rec = up.requests[0];
  assert.equal(rec.path, '/v1/chat/completions');
  assert.ok(rec.headers.authorization?.startsWith('Bearer sk-up-'), 'the provider\'s own key as Bearer');
  assertNoClientKey(rec, ck);
  const b = rec.body;
  assert.equal(b.model, 'gpt-4o');
  assert.deepEqual(b.messages.slice(0, 3).map((x) => [x.role, textOf(x.content)]), [['system', 'You are terse.'], ['user', 'Hello'], ['assistant', 'Hi.']]);
  const last = b.messages[3];
  assert.equal(last.role, 'user');
  assert.deepEqual(last.content.find((x) => x.type === 'text'), { type: 'text', text: 'What is this?' });
  assert.equal(last.content.find((x) => x.type === 'image_url').image_url.url, `data:image/png;base64,${PNG}`);
  assert.equal(b.max_tokens ?? b.max_completion_tokens, 200);
  assert.equal(b.temperature, 0.4);
  assert.deepEqual([].concat(b.stop), ['END']);

  const { data } = await f.waitLogs(1);
  assert.equal(data[0].path, '/v1/messages');
  assert.equal(data[0].prompt_tokens, 19);
  assert.equal(data[0].completion_tokens, 3);
});

test('anthropic sdk -> openai provider, streamed: OpenAI chunks become Anthropic events', async (t) => {
  const { f, up, ck, claude } = await setup(t, 'openai', { model: 'gpt-4o' });
  up.behave('default', { content: 'one two three', chunks: 3, chunkDelayMs: 30, usage: { prompt_tokens: 10, completion_tokens: 4 } });
  const texts = [];
  const msg = await within(10000, claude.messages.stream(ask('gpt-4o')).on('text', (d) => texts.push(d)).finalMessage());
  assert.equal(texts.join(''), 'one two three');
  assert.ok(texts.length >= 3, 'text arrives as it streams');
  assert.equal(msg.content[0].text, 'one two three');
  assert.equal(msg.stop_reason, 'end_turn');
  assert.equal(msg.usage.output_tokens, 4);
  const sent = up.requests[0].body;
  assert.equal(sent.stream, true);
  assert.equal(sent.stream_options?.include_usage, true);

  const s = await f.messagesStream(ck.key, ask('gpt-4o'));
  assert.equal(s.status, 200);
  assert.equal(s.complete, true);
  const names = [...s.text.matchAll(/^event: (\w+)$/gm)].map((x) => x[1]).filter((n) => n !== 'ping');
  assert.equal(names[0], 'message_start');
  assert.deepEqual(names.slice(-2), ['message_delta', 'message_stop']);
  assert.ok(names.includes('content_block_start') && names.includes('content_block_stop'));
  assert.ok(!s.text.includes('[DONE]') && !s.text.includes('chat.completion'), 'nothing of OpenAI\'s format reaches an Anthropic client');
  for (const e of s.events) assert.ok(typeof e.json?.type === 'string', e.data);

  const { data } = await f.waitLogs(2);
  assert.ok(data.every((row) => row.stream === true && row.prompt_tokens === 10 && row.completion_tokens === 4), JSON.stringify(data));
});

test('anthropic sdk -> openai provider: tools out, tool_calls back as tool_use, tool_result back as a tool message', async (t) => {
  const { up, claude } = await setup(t, 'openai', { model: 'gpt-4o' });
  // The mock answers 200 with this completion as it is.
  up.behave('default', {
    status: 200,
    body: {
      id: 'chatcmpl-tools0000000000000000000001', object: 'chat.completion', created: 1750000000, model: 'gpt-4o',
      choices: [{
        index: 0, finish_reason: 'tool_calls', logprobs: null,
        message: { role: 'assistant', content: null, refusal: null, tool_calls: [{ id: 'call_abc123', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Rome"}' } }] },
      }],
      usage: { prompt_tokens: 50, completion_tokens: 12, total_tokens: 62 },
    },
  });
  const m = await claude.messages.create({ ...ask('gpt-4o'), tools: [WEATHER], tool_choice: { type: 'any' } });
  assert.equal(m.stop_reason, 'tool_use');
  const use = m.content.find((b) => b.type === 'tool_use');
  assert.deepEqual(use, { type: 'tool_use', id: 'call_abc123', name: 'get_weather', input: { city: 'Rome' } });

  const sent = up.requests[0].body;
  assert.deepEqual(sent.tools, [{ type: 'function', function: { name: 'get_weather', description: 'The weather in a city', parameters: WEATHER.input_schema } }]);
  assert.equal(sent.tool_choice, 'required');

  up.behave('default', { content: 'Warm.' });
  const back = await claude.messages.create({
    ...ask('gpt-4o'), tools: [WEATHER],
    messages: [...ask().messages, { role: 'assistant', content: m.content },
      { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'call_abc123', content: [{ type: 'text', text: '25 C' }] }] }],
  });
  assert.equal(back.content[0].text, 'Warm.');
  const msgs = up.requests[1].body.messages;
  const asst = msgs.find((x) => x.role === 'assistant');
  assert.equal(asst.tool_calls.length, 1);
  assert.equal(asst.tool_calls[0].id, 'call_abc123');
  assert.equal(asst.tool_calls[0].type, 'function');
  assert.equal(asst.tool_calls[0].function.name, 'get_weather');
  assert.deepEqual(JSON.parse(asst.tool_calls[0].function.arguments), { city: 'Rome' });
  const tool = msgs.find((x) => x.role === 'tool');
  assert.equal(tool.tool_call_id, 'call_abc123');
  assert.equal(textOf(tool.content), '25 C');
});

test('anthropic sdk -> gemini provider: translated both ways, streamed, with function calls', async (t) => {
  const { f, up, ck, claude } = await setup(t, 'gemini', { model: 'gemini-2.0-flash', keys: ['AIzaSyMessagesToGemini000000000001'] });
  up.behave('default', { content: 'Gemini says hi.', usage: { prompt_tokens: 9, completion_tokens: 4 } });
  const m = await claude.messages.create({ ...ask('gemini-2.0-flash'), system: 'Be brief.' });
  assert.equal(m.type, 'message');
  assert.deepEqual(m.content, [{ type: 'text', text: 'Gemini says hi.' }]);
  assert.equal(m.stop_reason, 'end_turn');
  assert.equal(m.usage.input_tokens, 9);
  assert.equal(m.usage.output_tokens, 4);
  const rec = up.requests[0];
  assert.equal(rec.path, '/v1beta/models/gemini-2.0-flash:generateContent');
  assert.equal(rec.headers['x-goog-api-key'], 'AIzaSyMessagesToGemini000000000001');
  assertNoClientKey(rec, ck);
  const si = rec.body.systemInstruction ?? rec.body.system_instruction;
  assert.equal(si.parts.map((x) => x.text).join(''), 'Be brief.');
  assert.deepEqual(rec.body.contents, [{ role: 'user', parts: [{ text: 'Hello' }] }]);
  const gc = rec.body.generationConfig ?? rec.body.generation_config;
  assert.equal(gc.maxOutputTokens ?? gc.max_output_tokens, 512);

  up.behave('default', { content: 'a b c', chunks: 3 });
  const texts = [];
  const msg = await within(10000, claude.messages.stream(ask('gemini-2.0-flash')).on('text', (d) => texts.push(d)).finalMessage());
  assert.equal(texts.join(''), 'a b c');
  assert.equal(msg.stop_reason, 'end_turn');
  assert.equal(up.requests[1].path, '/v1beta/models/gemini-2.0-flash:streamGenerateContent');
  assert.match(up.requests[1].query, /alt=sse/);

  up.behave('default', { toolCalls: [{ name: 'get_weather', arguments: { city: 'Bern' } }] });
  const tm = await claude.messages.create({ ...ask('gemini-2.0-flash'), tools: [WEATHER] });
  assert.equal(tm.stop_reason, 'tool_use');
  const use = tm.content.find((b) => b.type === 'tool_use');
  assert.equal(use.name, 'get_weather');
  assert.deepEqual(use.input, { city: 'Bern' });
  assert.ok(use.id);
  const decl = (up.requests[2].body.tools[0].functionDeclarations ?? up.requests[2].body.tools[0].function_declarations)[0];
  assert.equal(decl.name, 'get_weather');

  up.behave('default', { content: 'Mild.' });
  await claude.messages.create({
    ...ask('gemini-2.0-flash'), tools: [WEATHER],
    messages: [...ask().messages, { role: 'assistant', content: tm.content },
      { role: 'user', content: [{ type: 'tool_result', tool_use_id: use.id, content: '12 C' }] }],
  });
  const last = up.requests[3];
  assert.equal(last.rejected, undefined, last.rejected);
  const fr = last.body.contents.flatMap((c) => c.parts).map((x) => x.functionResponse ?? x.function_response).find(Boolean);
  assert.equal(fr.name, 'get_weather', 'the result goes back under the function\'s name');

  const { data } = await f.waitLogs(4);
  const first = data.find((row) => row.completion_tokens === 4 && row.stream === false);
  assert.ok(first, JSON.stringify(data));
  assert.equal(first.prompt_tokens, 9);
  assert.equal(first.path, '/v1/messages');
});

test('errors on /v1/messages are in Anthropic\'s shape and the SDK raises the matching class', async (t) => {
  const { f, up, ck, claude } = await setup(t, 'anthropic', { keys: ['sk-ant-only-key-000000000000001'] });

  // The client's own mistakes.
  const bad = await sdkError(f.anthropic('sk-fe-not-a-real-key-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa').messages.create(ask()));
  assert.ok(bad instanceof Anthropic.AuthenticationError, String(bad));
  assert.equal(bad.status, 401);
  assert.equal(bad.error?.type, 'error');
  assert.equal(bad.error?.error?.type, 'authentication_error');
  assertAnthropicError(await f.messages('sk-fe-not-a-real-key-bbbbbbbbbbbbbbbbbbbbbbbbbbbbbb', ask()), 401, 'authentication_error');
  assertAnthropicError(await f.messages(undefined, ask()), 401, 'authentication_error');
  assertAnthropicError(await f.messages(ck.key, { model: CLAUDE, max_tokens: 10 }), 400, 'invalid_request_error');
  assertAnthropicError(await f.messages(ck.key, undefined, { raw: '{"model":' }), 400, 'invalid_request_error');
  const nf = await sdkError(claude.messages.create(ask('no-such-model')));
  assert.ok(nf instanceof Anthropic.NotFoundError, String(nf));
  assert.equal(nf.error?.error?.type, 'not_found_error');
  assert.equal(up.served(), 0, 'none of that reached the upstream');

  // The upstream's refusal comes back as it is.
  up.behave('default', { type: 'error', status: 400, body: { type: 'error', error: { type: 'invalid_request_error', message: 'prompt is too long: 250000 tokens > 200000 maximum' } } });
  const e400 = await sdkError(claude.messages.create(ask()));
  assert.ok(e400 instanceof Anthropic.BadRequestError, String(e400));
  assert.match(e400.message, /prompt is too long/);

  // Every attempt overloaded: a 5xx in Anthropic's shape.
  up.behave('default', 529);
  const e5 = await within(10000, sdkError(claude.messages.create(ask())));
  assert.ok(e5 instanceof Anthropic.InternalServerError, String(e5));
  assert.equal(e5.error?.type, 'error');
  assert.ok(typeof e5.error?.error?.type === 'string');
});

test('rate limited everywhere: Anthropic.RateLimitError, whatever the provider types', async (t) => {
  const f = await fusion(t);
  const ant = await f.upstream({ flavor: 'anthropic', name: 'anthropic' });
  const oai = await f.upstream({ name: 'openai' });
  const g = await f.group();
  await f.provider(g, ant, { models: [CLAUDE] });
  await f.provider(g, oai, { models: [CLAUDE] });
  ant.behave('default', { type: 'error', status: 429, retryAfter: 30 });
  oai.behave('default', { type: 'error', status: 429, retryAfter: 30 });
  const ck = await f.clientKey();
  const e = await within(10000, sdkError(f.anthropic(ck.key).messages.create(ask())));
  assert.ok(e instanceof Anthropic.RateLimitError, String(e));
  assert.equal(e.error?.error?.type, 'rate_limit_error');
  assert.equal(ant.served() + oai.served(), 2);
});

for (const [from, to, bad] of [
  ['anthropic', 'gemini', 529],
  ['anthropic', 'openai', { type: 'error', status: 429, retryAfter: 20 }],
  ['gemini', 'anthropic', { type: 'error', status: 429, retryAfter: 20 }],
  ['openai', 'anthropic', 500],
  ['gemini', 'openai', 503],
]) {
  const label = typeof bad === 'object' ? bad.status : bad;
  test(`failover on /v1/messages: ${from} ${label}, then ${to} answers the Anthropic client`, async (t) => {
    const f = await fusion(t);
    const first = await f.upstream({ flavor: from, name: from });
    const second = await f.upstream({ flavor: to, name: to });
    const hi = await f.group({ priority: 10 });
    const lo = await f.group({ priority: 0 });
    // Two keys: after a 5xx the second request still tries this provider.
    await f.provider(hi, first, { models: [CLAUDE], keys: ['sk-first-a-0000000000000000001', 'sk-first-b-0000000000000000002'] });
    await f.provider(lo, second, { models: [CLAUDE] });
    first.behave('default', bad);
    second.behave('default', { content: `from ${to}` });
    const ck = await f.clientKey();
    const claude = f.anthropic(ck.key);
    const m = await within(10000, claude.messages.create(ask()));
    assert.equal(m.type, 'message');
    assert.deepEqual(m.content, [{ type: 'text', text: `from ${to}` }]);
    // A 429 tries the provider's other key first; a 5xx moves on at once.
    const tries = label === 429 ? 2 : 1;
    assert.equal(first.served(), tries);
    assert.equal(second.served(), 1);
    assert.equal(second.requests[0].rejected, undefined, second.requests[0].rejected);

    const { data } = await f.waitLogs(1);
    assert.equal(data[0].status, 200);
    assert.equal(data[0].attempts, tries + 1);
    assert.equal(data[0].path, '/v1/messages');

    // Streamed too: a failure before the first byte went out moves on.
    // (After a 429 both keys may cool down and the provider is skipped.)
    const msg = await within(10000, claude.messages.stream(ask()).finalMessage());
    assert.equal(msg.content[0].text, `from ${to}`);
    if (label >= 500) assert.equal(first.served(), 2, 'the other key was tried');
    assert.equal(second.served(), 2);
    assert.equal(second.requests[1].body?.stream ?? true, true);
  });
}

for (const flavor of ['anthropic', 'openai', 'gemini']) {
  test(`a ${flavor} stream broken mid-way: the Anthropic SDK sees an error, not a clean end`, async (t) => {
    const { f, up, p, claude } = await setup(t, flavor, { keys: ['sk-broken-000000000000000000001', 'sk-broken-000000000000000000002'] });
    const cooling = async () => (await Promise.all(p.keys.map((k) => f.keyState(k.id)))).filter((k) => k.status === 'cooldown').length;
    let broken = 0;
    for (const type of ['reset', ...(flavor === 'openai' ? [] : ['stream_error'])]) {
      up.behave('default', { type, content: 'alpha beta gamma delta', chunks: 4, after: 2 });
      const texts = [];
      const err = await within(10000, claude.messages.stream(ask()).on('text', (d) => texts.push(d)).finalMessage().then(() => null, (e) => e));
      assert.ok(err instanceof Error, `${type}: the stream ended cleanly after ${JSON.stringify(texts)}`);
      assert.equal(texts.join(''), 'alpha beta ', type);
      if (flavor === 'anthropic' && type === 'stream_error') {
        assert.ok(err instanceof Anthropic.APIError, String(err));
        assert.equal(err.type, 'overloaded_error');
      }
      // The upstream's fault either way: the key that served it cools down.
      assert.equal(await cooling(), ++broken, `${type}: the key that served the broken stream cools down`);
    }
  });
}
