// OpenAI clients in front of a Gemini provider: /v1/chat/completions
// translated to {base_url}/models/{model}:generateContent and
// :streamGenerateContent?alt=sse and back: system instructions, roles,
// generation config, function calling, images, response formats, usage
// from usageMetadata, Google's errors in OpenAI's shape, failover.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import { fusion, assertOpenAIError, sdkError, within, contentEvents, drainChat, assertNoClientKey } from './v1-helpers.js';

const MODEL = 'gemini-2.0-flash';
const UPKEY = 'AIzaSyMockUpstreamKey000000000000000001';
const WEATHER = {
  type: 'function',
  function: {
    name: 'get_weather', description: 'The weather in a city',
    parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
  },
};
const PNG = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==';

const partsText = (c) => (c?.parts ?? []).map((p) => p.text ?? '').join('');
const gen = (b) => b.generationConfig ?? b.generation_config ?? {};
const sysOf = (b) => b.systemInstruction ?? b.system_instruction;

async function setup(t, { models = [MODEL], aliases, keys = [UPKEY] } = {}) {
  const f = await fusion(t);
  const up = await f.upstream({ flavor: 'gemini', name: 'gemini', models });
  const g = await f.group();
  const p = await f.provider(g, up, { models, keys, ...(aliases ? { model_aliases: aliases } : {}) });
  const ck = await f.clientKey();
  return { f, up, g, p, ck, ai: f.openai(ck.key) };
}

function assertUpstream(rec, ck, method = 'generateContent', model = MODEL) {
  assert.equal(rec.method, 'POST');
  assert.equal(rec.path, `/v1beta/models/${model}:${method}`);
  if (method === 'streamGenerateContent') assert.match(rec.query, /(^\?|&)alt=sse(&|$)/);
  assert.equal(rec.headers['x-goog-api-key'], UPKEY);
  assert.ok(!/key=/.test(rec.query), 'the key is not in the URL');
  assert.ok(!('authorization' in rec.headers), `no Authorization upstream: ${rec.headers.authorization}`);
  assertNoClientKey(rec, ck);
}

test('openai client -> gemini: systemInstruction, user/model turns, generationConfig and the answer', async (t) => {
  const { f, up, p, ck, ai } = await setup(t, { aliases: { flash: MODEL } });
  up.behave('default', { content: 'Bonjour!', usage: { prompt_tokens: 17, completion_tokens: 3 } });
  const r = await ai.chat.completions.create({
    model: 'flash',
    messages: [
      { role: 'system', content: 'You are terse.' },
      { role: 'user', content: 'Hello' },
      { role: 'assistant', content: 'Hi.' },
      { role: 'user', content: 'Say hello in French.' },
    ],
    temperature: 0.3, top_p: 0.8, max_tokens: 200, stop: ['END', 'STOP'],
  });
  assert.equal(r.object, 'chat.completion');
  assert.equal(r.model, 'flash');
  assert.equal(r.choices[0].message.role, 'assistant');
  assert.equal(r.choices[0].message.content, 'Bonjour!');
  assert.equal(r.choices[0].finish_reason, 'stop');
  assert.deepEqual([r.usage.prompt_tokens, r.usage.completion_tokens, r.usage.total_tokens], [17, 3, 20]);

  const rec = up.requests[0];
  assertUpstream(rec, ck);
  const b = rec.body;
  assert.equal(partsText(sysOf(b)), 'You are terse.');
  assert.deepEqual(b.contents.map((c) => [c.role, partsText(c)]), [['user', 'Hello'], ['model', 'Hi.'], ['user', 'Say hello in French.']]);
  const g = gen(b);
  assert.equal(g.temperature, 0.3);
  assert.equal(g.topP ?? g.top_p, 0.8);
  assert.equal(g.maxOutputTokens ?? g.max_output_tokens, 200);
  assert.deepEqual(g.stopSequences ?? g.stop_sequences, ['END', 'STOP']);

  const { data } = await f.waitLogs(1);
  assert.equal(data[0].status, 200);
  assert.equal(data[0].provider_id, p.id);
  assert.equal(data[0].model, 'flash');
  assert.equal(data[0].upstream_model, MODEL);
  assert.equal(data[0].prompt_tokens, 17);
  assert.equal(data[0].completion_tokens, 3);
  assert.ok(!JSON.stringify(data).includes(UPKEY));
});

test('openai client -> gemini, streamed: streamGenerateContent?alt=sse chunks become OpenAI chunks, usage, [DONE]', async (t) => {
  const { f, up, ck, ai } = await setup(t);
  up.behave('default', { content: 'one two three four', chunks: 4, chunkDelayMs: 30, usage: { prompt_tokens: 12, completion_tokens: 5 } });
  const stream = await ai.chat.completions.create({
    model: MODEL, stream: true, stream_options: { include_usage: true },
    messages: [{ role: 'system', content: 'Count.' }, { role: 'user', content: 'Go' }],
  });
  const chunks = [];
  for await (const c of stream) chunks.push(c);
  assert.equal(chunks.map((c) => c.choices[0]?.delta?.content ?? '').join(''), 'one two three four');
  assert.ok(chunks.every((c) => c.object === 'chat.completion.chunk' && c.model === MODEL && c.id === chunks[0].id));
  const fin = chunks.filter((c) => c.choices[0]?.finish_reason);
  assert.equal(fin.length, 1);
  assert.equal(fin[0].choices[0].finish_reason, 'stop');
  assert.deepEqual(chunks.at(-1).choices, []);
  assert.equal(chunks.at(-1).usage.prompt_tokens, 12);
  assert.equal(chunks.at(-1).usage.completion_tokens, 5);
  assertUpstream(up.requests[0], ck, 'streamGenerateContent');
  assert.equal(partsText(sysOf(up.requests[0].body)), 'Count.');

  const s = await f.stream(ck.key, { model: MODEL, stream: true, messages: [{ role: 'user', content: 'Go' }] });
  assert.equal(s.status, 200);
  assert.match(s.headers['content-type'], /^text\/event-stream/);
  assert.equal(s.done, true);
  assert.equal(contentEvents(s.events).map((e) => e.json.choices[0].delta.content).join(''), 'one two three four');
  assert.ok(!s.text.includes('usageMetadata') && !s.text.includes('candidates'), 'nothing of Gemini\'s format reaches an OpenAI client');

  const { data } = await f.waitLogs(2);
  assert.ok(data.every((row) => row.stream === true && row.prompt_tokens === 12 && row.completion_tokens === 5), JSON.stringify(data));
});

test('openai client -> gemini: functionDeclarations out, functionCall back as tool_calls, the result as functionResponse', async (t) => {
  const { up, ck, ai } = await setup(t);
  up.behave('default', { toolCalls: [{ name: 'get_weather', arguments: { city: 'Paris' } }] });
  const ask = [{ role: 'user', content: 'Weather in Paris?' }];
  const r = await ai.chat.completions.create({ model: MODEL, messages: ask, tools: [WEATHER], tool_choice: 'auto' });
  assert.equal(r.choices[0].finish_reason, 'tool_calls', 'a function call is tool_calls, though Gemini says STOP');
  const msg = r.choices[0].message;
  assert.equal(msg.tool_calls.length, 1);
  const call = msg.tool_calls[0];
  assert.equal(call.type, 'function');
  assert.ok(typeof call.id === 'string' && call.id.length > 0, 'the gateway gives the call an id');
  assert.equal(call.function.name, 'get_weather');
  assert.deepEqual(JSON.parse(call.function.arguments), { city: 'Paris' });

  const sent = up.requests[0].body;
  assertUpstream(up.requests[0], ck);
  assert.equal(sent.tools.length, 1);
  const decls = sent.tools[0].functionDeclarations ?? sent.tools[0].function_declarations;
  assert.equal(decls.length, 1);
  assert.equal(decls[0].name, 'get_weather');
  assert.equal(decls[0].description, 'The weather in a city');
  assert.deepEqual(decls[0].parameters ?? decls[0].parametersJsonSchema, WEATHER.function.parameters);

  await ai.chat.completions.create({ model: MODEL, messages: ask, tools: [WEATHER], tool_choice: 'required' });
  const tc1 = up.requests[1].body.toolConfig ?? up.requests[1].body.tool_config;
  assert.equal((tc1.functionCallingConfig ?? tc1.function_calling_config).mode, 'ANY');
  await ai.chat.completions.create({ model: MODEL, messages: ask, tools: [WEATHER], tool_choice: { type: 'function', function: { name: 'get_weather' } } });
  const tc2 = up.requests[2].body.toolConfig ?? up.requests[2].body.tool_config;
  const fcc = tc2.functionCallingConfig ?? tc2.function_calling_config;
  assert.equal(fcc.mode, 'ANY');
  assert.deepEqual(fcc.allowedFunctionNames ?? fcc.allowed_function_names, ['get_weather']);

  // The result goes back under the function's name, as an object.
  up.behave('default', { content: 'It is 18 C.' });
  const back = await ai.chat.completions.create({
    model: MODEL, tools: [WEATHER],
    messages: [...ask, msg, { role: 'tool', tool_call_id: call.id, content: '18 C, sunny' }],
  });
  assert.equal(back.choices[0].message.content, 'It is 18 C.');
  const rec = up.requests[3];
  assert.equal(rec.rejected, undefined, rec.rejected);
  const [u0, m1, u2] = rec.body.contents;
  assert.equal(u0.role, 'user');
  assert.equal(m1.role, 'model');
  const fc = m1.parts.find((x) => x.functionCall ?? x.function_call);
  assert.deepEqual((fc.functionCall ?? fc.function_call).name, 'get_weather');
  assert.deepEqual((fc.functionCall ?? fc.function_call).args, { city: 'Paris' });
  assert.equal(u2.role, 'user');
  const fr = u2.parts.map((x) => x.functionResponse ?? x.function_response).find(Boolean);
  assert.equal(fr.name, 'get_weather');
  assert.ok(fr.response && typeof fr.response === 'object');
  assert.ok(JSON.stringify(fr.response).includes('18 C, sunny'));
});

test('openai client -> gemini, streamed function call', async (t) => {
  const { up, ai } = await setup(t);
  up.behave('default', { toolCalls: [{ name: 'get_weather', arguments: { city: 'Lyon' } }] });
  const done = await within(10000, ai.chat.completions.stream({ model: MODEL, messages: [{ role: 'user', content: 'Weather?' }], tools: [WEATHER] }).finalChatCompletion());
  const choice = done.choices[0];
  assert.equal(choice.finish_reason, 'tool_calls');
  assert.equal(choice.message.tool_calls.length, 1);
  assert.equal(choice.message.tool_calls[0].function.name, 'get_weather');
  assert.ok(choice.message.tool_calls[0].id);
  assert.deepEqual(JSON.parse(choice.message.tool_calls[0].function.arguments), { city: 'Lyon' });
  assert.equal(up.requests[0].path, `/v1beta/models/${MODEL}:streamGenerateContent`);
});

test('openai client -> gemini: a data URL image becomes inlineData; json_object becomes responseMimeType', async (t) => {
  const { up, ai } = await setup(t);
  await ai.chat.completions.create({
    model: MODEL,
    response_format: { type: 'json_object' },
    messages: [{
      role: 'user',
      content: [
        { type: 'text', text: 'Describe as JSON.' },
        { type: 'image_url', image_url: { url: `data:image/png;base64,${PNG}` } },
      ],
    }],
  });
  const rec = up.requests[0];
  assert.equal(rec.rejected, undefined, rec.rejected);
  const parts = rec.body.contents[0].parts;
  assert.deepEqual(parts.find((x) => x.text), { text: 'Describe as JSON.' });
  const img = parts.map((x) => x.inlineData ?? x.inline_data).find(Boolean);
  assert.equal(img.mimeType ?? img.mime_type, 'image/png');
  assert.equal(img.data, PNG);
  const g = gen(rec.body);
  assert.equal(g.responseMimeType ?? g.response_mime_type, 'application/json');
});

test('gemini errors reach an OpenAI client in OpenAI\'s shape with the right status', async (t) => {
  const { f, up, ck, ai } = await setup(t);
  up.behave('default', { type: 'error', status: 400, body: { error: { code: 400, message: 'The input token count (1200000) exceeds the maximum number of tokens allowed (1048576).', status: 'INVALID_ARGUMENT' } } });
  const e400 = await sdkError(ai.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'x' }] }));
  assert.ok(e400 instanceof OpenAI.BadRequestError, String(e400));
  assert.match(e400.message, /exceeds the maximum number of tokens/);
  assert.equal(up.served(), 1);

  up.behave('default', 404);
  assertOpenAIError(await f.chat(ck.key, { model: MODEL, messages: [{ role: 'user', content: 'x' }] }), 404);

  up.behave('default', { type: 'error', status: 429, retryAfter: 30 });
  const e429 = await sdkError(ai.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'x' }] }));
  assert.ok(e429 instanceof OpenAI.RateLimitError, String(e429));
  assert.ok(!e429.message.includes(UPKEY));
});

async function failoverSetup(t) {
  const f = await fusion(t);
  const gem = await f.upstream({ flavor: 'gemini', name: 'gemini' });
  const claude = await f.upstream({ flavor: 'anthropic', name: 'claude' });
  const hi = await f.group({ priority: 10 });
  const lo = await f.group({ priority: 0 });
  const pg = await f.provider(hi, gem, { models: [MODEL], keys: [UPKEY] });
  await f.provider(lo, claude, { models: [MODEL], keys: ['sk-ant-backup-00000000000000001'] });
  const ck = await f.clientKey();
  const ai = f.openai(ck.key);
  return { f, gem, claude, pg, ai };
}

for (const [label, bad] of [['500', 500], ['503', 503], ['a reset', 'reset'], ['429 with retry-after', { type: 'error', status: 429, retryAfter: 30 }]]) {
  test(`failover: Gemini ${label}, then an Anthropic provider answers the OpenAI client`, async (t) => {
    const { f, gem, claude, pg, ai } = await failoverSetup(t);
    gem.behave('default', bad);
    const r = await within(10000, ai.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'x' }] }));
    assert.equal(r.choices[0].message.content, 'Hello from the mock upstream.');
    assert.equal(gem.served(), 1);
    assert.equal(claude.served(), 1);
    assert.equal(claude.requests[0].rejected, undefined, claude.requests[0].rejected);
    assert.equal(claude.requests[0].body.model, MODEL);
    if (typeof bad === 'object') {
      const st = await f.keyState(pg.keys[0].id);
      assert.equal(st.status, 'cooldown');
      const left = (Date.parse(st.cooldown_until) - Date.now()) / 1000;
      assert.ok(left > 15 && left <= 31, `cooldown honours retry-after: ${left} s`);
    }
  });
}

test('a broken Gemini stream ends the OpenAI stream with an error, never a clean [DONE]', async (t) => {
  const { f, up, ck, ai } = await setup(t, { keys: [UPKEY, 'AIzaSyMockUpstreamKey000000000000000002'] });
  up.behave('default', { type: 'stream_error', content: 'alpha beta gamma delta', chunks: 4, after: 2 });
  const stream = await ai.chat.completions.create({ model: MODEL, stream: true, messages: [{ role: 'user', content: 'x' }] });
  const { text, err } = await drainChat(stream);
  assert.ok(err, `the SDK saw a clean end after ${JSON.stringify(text)}`);
  assert.equal(text, 'alpha beta ');

  up.behave('default', { type: 'reset', content: 'alpha beta gamma delta', chunks: 4, after: 2 });
  const s = await f.stream(ck.key, { model: MODEL, stream: true, messages: [{ role: 'user', content: 'x' }] });
  assert.equal(s.done, false, 'no [DONE] after a reset');
  assert.equal(contentEvents(s.events).map((e) => e.json.choices[0].delta.content).join(''), 'alpha beta ');
  assert.ok(s.events.at(-1)?.json?.error || s.error, `an error event or a broken response: ${s.text.slice(-300)}`);
});

test('gemini finish reasons become OpenAI finish reasons, streamed or not', async (t) => {
  const { up, ai } = await setup(t);
  for (const [finishReason, finish] of [['MAX_TOKENS', 'length'], ['SAFETY', 'content_filter'], ['STOP', 'stop']]) {
    up.behave('default', { content: 'cut sho', finishReason });
    const r = await ai.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'x' }], max_tokens: 3 });
    assert.equal(r.choices[0].finish_reason, finish, finishReason);
    const s = await ai.chat.completions.create({ model: MODEL, stream: true, messages: [{ role: 'user', content: 'x' }], max_tokens: 3 });
    let got = null;
    for await (const c of s) got = c.choices[0]?.finish_reason ?? got;
    assert.equal(got, finish, `${finishReason}, streamed`);
  }
});

test('gemini 3: the thoughtSignature of a function call survives the round trip through an OpenAI client and an Anthropic one', async (t) => {
  const G3 = 'gemini-3-pro-preview';
  const { f, up, ck, ai } = await setup(t, { models: [G3] });
  up.behave('default', { toolCalls: [{ name: 'get_weather', arguments: { city: 'Paris' } }] });
  const ask = [{ role: 'user', content: 'Weather in Paris?' }];
  const r = await ai.chat.completions.create({ model: G3, messages: ask, tools: [WEATHER] });
  const msg = r.choices[0].message;
  assert.equal(msg.tool_calls[0].function.name, 'get_weather');
  up.behave('default', { content: 'Sunny.' });
  const back = await ai.chat.completions.create({
    model: G3, tools: [WEATHER],
    messages: [...ask, msg, { role: 'tool', tool_call_id: msg.tool_calls[0].id, content: '18 C' }],
  });
  assert.equal(up.requests[1].rejected, undefined, up.requests[1].rejected);
  assert.equal(back.choices[0].message.content, 'Sunny.');

  // Streamed, and with the Anthropic SDK.
  up.behave('default', { toolCalls: [{ name: 'get_weather', arguments: { city: 'Nice' } }] });
  const claude = f.anthropic(ck.key);
  const tools = [{ name: 'get_weather', description: 'The weather in a city', input_schema: WEATHER.function.parameters }];
  const m = await within(10000, claude.messages.stream({ model: G3, max_tokens: 100, tools, messages: [{ role: 'user', content: 'Weather in Nice?' }] }).finalMessage());
  const use = m.content.find((b) => b.type === 'tool_use');
  assert.ok(use, JSON.stringify(m.content));
  up.behave('default', { content: 'Mild.' });
  await claude.messages.create({
    model: G3, max_tokens: 100, tools,
    messages: [{ role: 'user', content: 'Weather in Nice?' }, { role: 'assistant', content: m.content },
      { role: 'user', content: [{ type: 'tool_result', tool_use_id: use.id, content: '20 C' }] }],
  });
  assert.equal(up.requests[3].rejected, undefined, up.requests[3].rejected);
});

test('a Gemini key it does not know (400 API_KEY_INVALID) is disabled like a 401, and the next key answers', async (t) => {
  const BAD = 'AIzaSyMockUpstreamKeyBad00000000000001';
  const { f, up, p, ai } = await setup(t, { keys: [BAD, UPKEY] });
  up.behave(BAD, 'bad_key');
  for (let i = 0; i < 4; i++) {
    const r = await within(10000, ai.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'x' }] }));
    assert.equal(r.choices[0].message.content, 'Hello from the mock upstream.');
  }
  assert.equal(up.served(BAD), 1, 'tried once, then left alone');
  assert.equal(up.served(UPKEY), 4);
  const k = await f.keyState(p.keys[0].id);
  assert.equal(k.status, 'disabled');

  // A plain 400 (the request's fault) is returned and damages no key.
  up.behave(UPKEY, { type: 'error', status: 400 });
  const e = await sdkError(ai.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'x' }] }));
  assert.ok(e instanceof OpenAI.BadRequestError, String(e));
  assert.equal((await f.keyState(p.keys[1].id)).status, 'active');
});

test('the admin provider test probes a gemini provider through its own API', async (t) => {
  const { f, up, p } = await setup(t);
  const r = await f.must('POST', `/api/admin/providers/${p.id}/test`, {});
  assert.equal(r.ok, true, r.message);
  assert.equal(up.requests.length, 1);
  assert.equal(up.requests[0].path, `/v1beta/models/${MODEL}:generateContent`);
  assert.equal(up.requests[0].headers['x-goog-api-key'], UPKEY);
  assert.equal(up.requests[0].rejected, undefined, `the upstream refused the probe: ${up.requests[0].rejected}`);
});
