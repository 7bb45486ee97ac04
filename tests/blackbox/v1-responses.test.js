// The Responses API (POST /v1/responses) through the official openai SDK,
// to every provider type: passed through to an openai provider that has
// it (no stream_options added, its stream ending with response.completed
// and no [DONE]), translated through chat completions for an
// openai-compatible provider without it (responses_api false), for
// Anthropic and for Gemini. Each stream test checks that the key is
// still active afterwards: a stream that ended normally never counts
// against its key.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fusion, readSse, sdkError, everyProvider, assertKeysActive, MODELS } from './v1-helpers.js';

test('responses.create to every provider type: the answer, its usage, store false where nothing is stored', async (t) => {
  const { f, ups, providers, ck } = await everyProvider(t, {
    responses: { content: 'one two three', usage: { prompt_tokens: 20, completion_tokens: 3, cached_tokens: 5, reasoning_tokens: 1 } },
    chat: { content: 'one two three', usage: { prompt_tokens: 20, completion_tokens: 3, cached_tokens: 5 } },
    anthropic: { content: 'one two three', usage: { prompt_tokens: 15, completion_tokens: 3, cached_tokens: 5 } },
    gemini: { content: 'one two three', usage: { prompt_tokens: 20, completion_tokens: 3, cached_tokens: 5 } },
  });
  const ai = f.openai(ck.key);
  for (const [kind, model] of Object.entries(MODELS)) {
    const r = await ai.responses.create({ model, input: 'Say one two three', instructions: 'Be brief.', store: true });
    assert.equal(r.object, 'response', kind);
    assert.equal(r.status, 'completed', kind);
    assert.equal(r.output_text, 'one two three', kind);
    assert.equal(r.usage.input_tokens, 20, `${kind}: ${JSON.stringify(r.usage)}`);
    assert.equal(r.usage.input_tokens_details.cached_tokens, 5, kind);
    assert.equal(r.usage.output_tokens, 3, kind);
    if (kind !== 'responses') assert.equal(r.store, false, `${kind} stores nothing and says so`);
  }
  const rec = ups.responses.requests.at(-1);
  assert.equal(rec.path, '/v1/responses');
  assert.equal(rec.rejected, undefined);
  assert.equal(ups.chat.requests.at(-1).path, '/v1/chat/completions');
  assert.equal(ups.chat.requests.at(-1).body.messages[0].role, 'system');
  assert.equal(ups.anthropic.requests.at(-1).body.system, 'Be brief.');
  assert.equal(ups.anthropic.requests.at(-1).rejected, undefined);
  assert.equal(ups.gemini.requests.at(-1).rejected, undefined);

  const logs = await f.waitLogs(4);
  for (const row of logs.data) {
    assert.equal(row.outcome, 'ok');
    assert.equal(row.prompt_tokens, 20, JSON.stringify(row));
    assert.equal(row.cached_tokens, 5, `${row.provider_name}: cached tokens logged`);
    assert.equal(row.completion_tokens, 3);
    assert.equal(row.usage_estimated, false);
  }
  assert.equal(logs.data.find((r) => r.provider_id === providers.responses.id).reasoning_tokens, 1);
});

test('responses.stream to every provider type: the full event sequence, response.completed last, the key still active', async (t) => {
  const { f, ups, providers, ck } = await everyProvider(t, {
    responses: { content: 'alpha beta gamma' }, chat: { content: 'alpha beta gamma' },
    anthropic: { content: 'alpha beta gamma' }, gemini: { content: 'alpha beta gamma' },
  });
  const ai = f.openai(ck.key);
  for (const [kind, model] of Object.entries(MODELS)) {
    const types = [];
    let text = '';
    const stream = ai.responses.stream({ model, input: 'Say alpha beta gamma' });
    for await (const ev of stream) {
      types.push(ev.type);
      if (ev.type === 'response.output_text.delta') text += ev.delta;
    }
    const final = await stream.finalResponse();
    assert.equal(text, 'alpha beta gamma', kind);
    assert.equal(final.output_text, 'alpha beta gamma', kind);
    for (const want of ['response.created', 'response.output_item.added', 'response.output_text.delta', 'response.output_item.done']) {
      assert.ok(types.includes(want), `${kind}: no ${want} in ${types.join(' ')}`);
    }
    assert.equal(types.at(-1), 'response.completed', `${kind}: ${types.join(' ')}`);
    assert.ok(final.usage.output_tokens > 0, kind);
  }
  const rec = ups.responses.requests.at(-1);
  assert.equal(rec.body.stream, true);
  assert.equal(rec.body.stream_options, undefined, 'stream_options sent to the Responses API');
  assert.equal(rec.rejected, undefined);
  assert.equal(ups.chat.requests.at(-1).body.stream_options.include_usage, true, 'chat completions asked for the usage');
  await assertKeysActive(f, providers);
  const logs = await f.waitLogs(4);
  for (const row of logs.data) {
    assert.equal(row.outcome, 'ok', JSON.stringify(row));
    assert.equal(row.stream, true);
    assert.ok(row.completion_tokens > 0);
  }
});

test('raw Responses streams: no [DONE], each event named by its type, response.completed last', async (t) => {
  const { f, ups, providers, ck } = await everyProvider(t);
  for (const model of Object.values(MODELS)) {
    const r = await readSse(`${f.gw.url}/v1/responses`, {
      headers: { authorization: `Bearer ${ck.key}` },
      body: { model, input: 'hi', stream: true },
    });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.done, false, 'a [DONE] in a Responses stream');
    assert.match(r.text, /^event: response\.created\n/);
    for (const block of r.text.trim().split(/\n\n/)) {
      const ev = block.match(/^event: (\S+)\ndata: (.*)$/s);
      assert.ok(ev, `not an event: ${block}`);
      assert.equal(JSON.parse(ev[2]).type, ev[1]);
    }
    assert.equal(r.events.at(-1).json.type, 'response.completed');
  }
  assert.equal(ups.responses.requests.at(-1).rejected, undefined, ups.responses.requests.at(-1).rejected);
  await assertKeysActive(f, providers);
});

test('previous_response_id on a translated provider: 400 naming the field; passed through where the provider has the API', async (t) => {
  const { f, ups, ck } = await everyProvider(t);
  const ai = f.openai(ck.key);
  for (const model of [MODELS.chat, MODELS.anthropic, MODELS.gemini]) {
    const e = await sdkError(ai.responses.create({ model, input: 'more', previous_response_id: 'resp_123' }));
    assert.equal(e.status, 400, String(e));
    assert.match(e.message, /previous_response_id/);
  }
  assert.equal(ups.chat.requests.length + ups.anthropic.requests.length + ups.gemini.requests.length, 0);
  const r = await ai.responses.create({ model: MODELS.responses, input: 'more', previous_response_id: 'resp_123' });
  assert.equal(r.status, 'completed');
  assert.equal(ups.responses.requests.at(-1).body.previous_response_id, 'resp_123');
});

test('an error event right after response.created fails over like an HTTP error: the next key answers, the first cools down', async (t) => {
  const f = await fusion(t);
  const up = await f.upstream({ name: 'openai', models: ['gpt-resp'] });
  const g = await f.group({ priority: 10 });
  const p = await f.provider(g, up, { models: ['gpt-resp'], keys: ['sk-quota-000000000000', 'sk-good-0000000000000'] });
  up.behave('sk-quota-000000000000', { type: 'event_error', code: 'insufficient_quota' });
  up.behave('sk-good-0000000000000', { content: 'from the good key' });
  const ck = await f.clientKey();
  const ai = f.openai(ck.key);
  for (let i = 0; i < 2; i++) {
    let text = '';
    for await (const ev of ai.responses.stream({ model: 'gpt-resp', input: 'hi' })) {
      if (ev.type === 'response.output_text.delta') text += ev.delta;
      assert.notEqual(ev.type, 'error', JSON.stringify(ev));
    }
    assert.equal(text, 'from the good key');
  }
  const bad = await f.keyState(p.keys[0].id);
  assert.equal(bad.status, 'cooldown', 'insufficient_quota is a 429 for the key');
  assert.equal((await f.keyState(p.keys[1].id)).status, 'active');

  // response.failed (server_error) with a single key: a clear 502.
  up.behave('default', { type: 'event_error', event: 'response.failed', code: 'server_error' });
  up.behave('sk-good-0000000000000', { type: 'event_error', event: 'response.failed', code: 'server_error' });
  const r = await readSse(`${f.gw.url}/v1/responses`, { headers: { authorization: `Bearer ${ck.key}` }, body: { model: 'gpt-resp', input: 'x', stream: true } });
  assert.equal(r.status, 502, r.text);
  assert.match(JSON.parse(r.text).error.message, /quota|server_error|failed/);
});

test('a Responses stream broken after its first event ends with an error event and response.failed, never response.completed', async (t) => {
  const { f, ck } = await everyProvider(t, {
    responses: { type: 'reset', after: 1, content: 'a b c d e f' },
    anthropic: { type: 'reset', after: 1, content: 'a b c d e f' },
  });
  for (const model of [MODELS.responses, MODELS.anthropic]) {
    const r = await readSse(`${f.gw.url}/v1/responses`, { headers: { authorization: `Bearer ${ck.key}` }, body: { model, input: 'x', stream: true } });
    assert.equal(r.status, 200);
    const types = r.events.map((e) => e.json?.type);
    assert.deepEqual(types.slice(-2), ['error', 'response.failed'], `${model}: ${types.join(' ')}`);
    assert.ok(!types.includes('response.completed'));
  }
  const logs = await f.waitLogs(2);
  for (const row of logs.data) {
    assert.equal(row.outcome, 'error');
    assert.equal(row.usage_estimated, true, 'what was relayed is an estimate');
    assert.ok(row.completion_tokens > 0);
  }
});

test('tools through the Responses API: a function call out, its output back in, to every provider type', async (t) => {
  const call = { name: 'get_weather', arguments: { city: 'Paris' }, id: 'call_weather_1' };
  const { f, ups, ck } = await everyProvider(t);
  const turn = (rec) => {
    const text = JSON.stringify(rec.body);
    return /sunny|function_call_output|tool_result|functionResponse|"role":"tool"/.test(text) && /sunny/.test(text)
      ? { content: 'It is sunny in Paris.' } : { toolCalls: [call] };
  };
  for (const up of Object.values(ups)) up.behave('default', turn);
  const ai = f.openai(ck.key);
  const tools = [{ type: 'function', name: 'get_weather', description: 'Weather of a city', parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } }];
  for (const [kind, model] of Object.entries(MODELS)) {
    const first = await ai.responses.create({ model, input: 'Weather in Paris?', tools, tool_choice: 'auto' });
    const fc = first.output.find((o) => o.type === 'function_call');
    assert.ok(fc, `${kind}: no function_call in ${JSON.stringify(first.output)}`);
    assert.equal(fc.name, 'get_weather');
    assert.deepEqual(JSON.parse(fc.arguments), { city: 'Paris' });
    const second = await ai.responses.create({
      model, tools,
      input: [{ role: 'user', content: 'Weather in Paris?' }, fc, { type: 'function_call_output', call_id: fc.call_id, output: 'sunny' }],
    });
    assert.equal(second.output_text, 'It is sunny in Paris.', kind);
  }
  for (const up of Object.values(ups)) assert.equal(up.requests.filter((r) => r.rejected).length, 0, up.requests.map((r) => r.rejected).join());
});
