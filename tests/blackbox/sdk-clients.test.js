// Today's client libraries as they are, pointed at the gateway with its
// base URL and a client key only: the Vercel AI SDK (its default OpenAI
// model speaks the Responses API, .chat() chat completions), the OpenAI
// Agents SDK (the Responses API) and Google's @google/genai (Gemini's
// own API), each against openai, anthropic and gemini providers, tools
// and streams included. After every run the providers' keys must still
// be active: a stream that ended normally never counts against its key.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import { createOpenAI } from '@ai-sdk/openai';
import { generateText, streamText, tool, stepCountIs, jsonSchema } from 'ai';
import { Agent, Runner, OpenAIProvider, tool as agentTool, setTracingDisabled } from '@openai/agents';
import { GoogleGenAI } from '@google/genai';
import { everyProvider, assertKeysActive } from './v1-helpers.js';

setTracingDisabled(true);

const KINDS = { openai: 'gpt-resp', anthropic: 'claude-x', gemini: 'gemini-2.5-flash' };
const WEATHER = { name: 'get_weather', arguments: { city: 'Paris' }, id: 'call_weather_1' };

// A conversation that has the tool's result gets the answer; one that
// does not gets the call.
const weatherTurn = (rec) => (/sunny/.test(JSON.stringify(rec.body)) ? { content: 'It is sunny in Paris.' } : { toolCalls: [WEATHER] });

async function setup(t, behave) {
  const s = await everyProvider(t);
  for (const up of Object.values(s.ups)) up.behave('default', behave);
  s.ai = createOpenAI({ baseURL: `${s.f.gw.url}/v1`, apiKey: s.ck.key });
  return s;
}

function noRejections(ups) {
  for (const up of Object.values(ups)) {
    const bad = up.requests.filter((r) => r.rejected).map((r) => r.rejected);
    assert.deepEqual(bad, [], `${up.name} refused what the gateway sent`);
  }
}

test('AI SDK: generateText and streamText, Responses model and .chat(), to every provider type', async (t) => {
  const { f, ups, providers, ai } = await setup(t, { content: 'Hello from the mock upstream.' });
  for (const [kind, name] of Object.entries(KINDS)) {
    for (const model of [ai(name), ai.chat(name)]) {
      const r = await generateText({ model, prompt: 'Say hello', maxRetries: 0 });
      assert.equal(r.text, 'Hello from the mock upstream.', `${kind} ${model.modelId} ${model.provider}`);
      assert.ok(r.usage.inputTokens > 0 && r.usage.outputTokens > 0, `${kind}: ${JSON.stringify(r.usage)}`);
      const s = streamText({ model, prompt: 'Say hello', maxRetries: 0 });
      let text = '';
      for await (const part of s.textStream) text += part;
      assert.equal(text, 'Hello from the mock upstream.', `${kind} ${model.provider} stream`);
      assert.equal(await s.finishReason, 'stop', kind);
    }
  }
  assert.ok(ups.responses.requests.some((r) => r.path === '/v1/responses'), 'the Responses model went to /v1/responses');
  noRejections(ups);
  await assertKeysActive(f, providers);
});

test('AI SDK: a streamed tool call and a tool round trip, to every provider type', async (t) => {
  const { f, ups, providers, ai } = await setup(t, weatherTurn);
  const schema = jsonSchema({ type: 'object', properties: { city: { type: 'string' } }, required: ['city'] });
  for (const [kind, name] of Object.entries(KINDS)) {
    for (const model of [ai(name), ai.chat(name)]) {
      const s = streamText({ model, prompt: 'Weather in Paris?', tools: { get_weather: tool({ description: 'Weather of a city', inputSchema: schema }) }, maxRetries: 0 });
      const calls = [];
      for await (const part of s.fullStream) {
        if (part.type === 'tool-call') calls.push(part);
        assert.notEqual(part.type, 'error', `${kind}: ${JSON.stringify(part.error ?? part)}`);
      }
      assert.equal(calls.length, 1, `${kind} ${model.provider}: one streamed tool call`);
      assert.equal(calls[0].toolName, 'get_weather');
      assert.deepEqual(calls[0].input, { city: 'Paris' });

      const r = await generateText({
        model, prompt: 'Weather in Paris?', maxRetries: 0, stopWhen: stepCountIs(3),
        tools: { get_weather: tool({ description: 'Weather of a city', inputSchema: schema, execute: async ({ city }) => `sunny in ${city}` }) },
      });
      assert.equal(r.text, 'It is sunny in Paris.', `${kind} ${model.provider}: the round trip`);
      assert.equal(r.steps.length, 2);
    }
  }
  noRejections(ups);
  await assertKeysActive(f, providers);
});

test('OpenAI Agents SDK: a plain run, a streamed run and a run with a function tool, to every provider type', async (t) => {
  const { f, ups, providers, ck } = await setup(t, weatherTurn);
  const client = new OpenAI({ baseURL: `${f.gw.url}/v1`, apiKey: ck.key, maxRetries: 0 });
  const runner = new Runner({ modelProvider: new OpenAIProvider({ openAIClient: client }), tracingDisabled: true });
  const getWeather = agentTool({
    name: 'get_weather', description: 'Weather of a city', strict: true,
    parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'], additionalProperties: false },
    execute: async ({ city }) => `sunny in ${city}`,
  });
  for (const [kind, model] of Object.entries(KINDS)) {
    ups.responses.behave('default', { content: 'Plain answer.' });
    for (const up of [ups.anthropic, ups.gemini]) up.behave('default', { content: 'Plain answer.' });
    const plain = await runner.run(new Agent({ name: 'plain', instructions: 'Answer briefly.', model }), 'Hello');
    assert.equal(plain.finalOutput, 'Plain answer.', kind);

    const streamed = await runner.run(new Agent({ name: 'streamer', instructions: 'Answer briefly.', model }), 'Hello', { stream: true });
    let text = '';
    for await (const chunk of streamed.toTextStream()) text += chunk;
    await streamed.completed;
    assert.equal(text, 'Plain answer.', `${kind} streamed`);
    assert.equal(streamed.finalOutput, 'Plain answer.');

    for (const up of Object.values(ups)) up.behave('default', weatherTurn);
    const withTool = await runner.run(new Agent({ name: 'weather', instructions: 'Use tools.', model, tools: [getWeather] }), 'Weather in Paris?');
    assert.equal(withTool.finalOutput, 'It is sunny in Paris.', `${kind} with a tool`);
    assert.ok(withTool.newItems.some((i) => i.type === 'tool_call_output_item'), kind);
  }
  noRejections(ups);
  await assertKeysActive(f, providers);
});

test('@google/genai: generateContent, a stream and countTokens through Gemini\'s own API, to every provider type', async (t) => {
  const { f, ups, providers, ck } = await setup(t, { content: 'one two three' });
  const genai = new GoogleGenAI({ apiKey: ck.key, httpOptions: { baseUrl: f.gw.url } });
  for (const [kind, model] of Object.entries({ ...KINDS, openai: 'gpt-chat' })) {
    const r = await genai.models.generateContent({ model, contents: 'Say one two three', config: { systemInstruction: 'Be brief.', temperature: 0.2 } });
    assert.equal(r.text, 'one two three', kind);
    assert.equal(r.candidates[0].finishReason, 'STOP');
    assert.ok(r.usageMetadata.promptTokenCount > 0, kind);

    let text = '';
    let last;
    for await (const chunk of await genai.models.generateContentStream({ model, contents: 'Say one two three' })) {
      text += chunk.text ?? '';
      last = chunk;
    }
    assert.equal(text, 'one two three', `${kind} stream`);
    assert.equal(last.candidates[0].finishReason, 'STOP', `${kind}: the last chunk carries the finish reason`);
    assert.ok(last.usageMetadata.candidatesTokenCount > 0, kind);
  }
  for (const model of [KINDS.anthropic, KINDS.gemini]) {
    const c = await genai.models.countTokens({ model, contents: 'How many tokens is this?' });
    assert.ok(c.totalTokens > 0, `${model}: ${JSON.stringify(c)}`);
  }
  // An OpenAI-compatible provider cannot count: a clear error in Gemini's shape.
  const e = await genai.models.countTokens({ model: 'gpt-chat', contents: 'x' }).then(() => null, (err) => err);
  assert.ok(e, 'counting through an openai provider succeeded');
  assert.match(String(e.message), /count/i);
  noRejections(ups);
  await assertKeysActive(f, providers);
  // Three models, each answered whole and streamed, two counts and the refused one.
  const logs = await f.waitLogs(9);
  assert.ok(logs.data.every((r) => r.path.startsWith('/v1beta/models/')), 'Gemini paths are logged');
  assert.equal(logs.data.filter((r) => r.outcome === 'ok').length, 8);
});

test('@google/genai tools: a function call and its response, to every provider type', async (t) => {
  const { ups, ck, f, providers } = await setup(t, weatherTurn);
  const genai = new GoogleGenAI({ apiKey: ck.key, httpOptions: { baseUrl: f.gw.url } });
  const tools = [{ functionDeclarations: [{ name: 'get_weather', description: 'Weather of a city', parameters: { type: 'OBJECT', properties: { city: { type: 'STRING' } }, required: ['city'] } }] }];
  for (const [kind, model] of Object.entries({ ...KINDS, openai: 'gpt-chat' })) {
    const r = await genai.models.generateContent({ model, contents: 'Weather in Paris?', config: { tools } });
    assert.equal(r.functionCalls?.length, 1, `${kind}: ${JSON.stringify(r.candidates)}`);
    assert.equal(r.functionCalls[0].name, 'get_weather');
    assert.deepEqual(r.functionCalls[0].args, { city: 'Paris' });
    const second = await genai.models.generateContent({
      model, config: { tools },
      contents: [
        { role: 'user', parts: [{ text: 'Weather in Paris?' }] },
        { role: 'model', parts: [{ functionCall: r.functionCalls[0] }] },
        { role: 'user', parts: [{ functionResponse: { name: 'get_weather', response: { result: 'sunny' } } }] },
      ],
    });
    assert.equal(second.text, 'It is sunny in Paris.', kind);
  }
  noRejections(ups);
  await assertKeysActive(f, providers);
});

test('Gemini API errors come in Gemini\'s shape: no key, a wrong key, an unknown model, an unknown path', async (t) => {
  const { f, ck } = await setup(t, { content: 'x' });
  const post = (path, headers = {}, body = { contents: [{ parts: [{ text: 'hi' }] }] }) => fetch(`${f.gw.url}${path}`, {
    method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body),
  }).then(async (r) => ({ status: r.status, json: await r.json().catch(() => null) }));
  const shape = (r, code, status) => {
    assert.equal(r.status, code, JSON.stringify(r.json));
    assert.equal(r.json.error.code, code);
    assert.equal(r.json.error.status, status);
    assert.ok(r.json.error.message.length > 0);
  };
  shape(await post('/v1beta/models/gemini-2.5-flash:generateContent'), 401, 'UNAUTHENTICATED');
  shape(await post('/v1beta/models/gemini-2.5-flash:generateContent', { 'x-goog-api-key': 'sk-wrong' }), 401, 'UNAUTHENTICATED');
  shape(await post('/v1beta/models/nope:generateContent', { 'x-goog-api-key': ck.key }), 404, 'NOT_FOUND');
  shape(await post('/v1beta/models/gemini-2.5-flash:teleport', { 'x-goog-api-key': ck.key }), 404, 'NOT_FOUND');
  shape(await post('/v1beta/tunedModels/x:generateContent', { 'x-goog-api-key': ck.key }), 404, 'NOT_FOUND');
  shape(await post('/v1beta/models/gemini-2.5-flash:generateContent', { 'x-goog-api-key': ck.key }, { contents: [] }), 400, 'INVALID_ARGUMENT');
  // The key in ?key= and as a bearer token works too.
  assert.equal((await post(`/v1beta/models/gemini-2.5-flash:generateContent?key=${ck.key}`)).status, 200);
  assert.equal((await post('/v1beta/models/gemini-2.5-flash:generateContent', { authorization: `Bearer ${ck.key}` })).status, 200);
  const list = await fetch(`${f.gw.url}/v1beta/models`, { headers: { 'x-goog-api-key': ck.key } }).then((r) => r.json());
  assert.ok(list.models.some((m) => m.name === 'models/gemini-2.5-flash'), JSON.stringify(list));
});
