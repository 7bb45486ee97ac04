// Client keys on /v1: who may call, which models and groups they may use,
// their request rate and token quota. A rejected request never reaches
// an upstream.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import { fusion, assertOpenAIError, chatBody, sdkError } from './v1-helpers.js';

async function setup(t) {
  const f = await fusion(t);
  const up = await f.upstream();
  const g1 = await f.group({ priority: 10 });
  const g2 = await f.group({ priority: 0 });
  await f.provider(g1, up, { models: ['gpt-4o', 'gpt-4o-mini'] });
  await f.provider(g2, up, { models: ['claude-3-5-sonnet'] });
  return { f, up, g1, g2 };
}

test('missing, malformed and unknown client keys are 401 invalid_api_key', async (t) => {
  const { f, up } = await setup(t);
  assertOpenAIError(await f.chat(undefined), 401, 'invalid_api_key');
  assertOpenAIError(await f.chat('sk-fe-not-a-real-key-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa'), 401, 'invalid_api_key');
  assertOpenAIError(await f.v1('POST', '/chat/completions', { body: chatBody(), headers: { authorization: 'Basic YWRtaW46YWRtaW4=' } }), 401, 'invalid_api_key');
  assertOpenAIError(await f.v1('POST', '/chat/completions', { body: chatBody(), headers: { authorization: 'Bearer ' } }), 401, 'invalid_api_key');
  // An admin session token is not a client key.
  assertOpenAIError(await f.chat(f.token), 401, 'invalid_api_key');
  assertOpenAIError(await f.v1('POST', '/embeddings', { key: 'nope', body: { model: 'gpt-4o', input: 'x' } }), 401, 'invalid_api_key');

  const e = await sdkError(f.openai('sk-fe-wrong').chat.completions.create(chatBody()));
  assert.ok(e instanceof OpenAI.AuthenticationError, String(e));
  assert.equal(e.status, 401);
  assert.equal(e.code, 'invalid_api_key');
  assert.equal(up.requests.length, 0);
});

test('a disabled client key is 401 api_key_disabled; enabled again, it works', async (t) => {
  const { f, up } = await setup(t);
  const ck = await f.clientKey({ enabled: false });
  assertOpenAIError(await f.chat(ck.key), 401, 'api_key_disabled');
  const e = await sdkError(f.openai(ck.key).chat.completions.create(chatBody()));
  assert.ok(e instanceof OpenAI.AuthenticationError);
  assert.equal(e.code, 'api_key_disabled');
  assert.equal(up.requests.length, 0);
  await f.must('PATCH', `/api/admin/client-keys/${ck.id}`, { enabled: true });
  const r = await f.chat(ck.key);
  assert.equal(r.status, 200, `${r.status} ${r.text}`);
});

test('an expired client key is 401 api_key_expired', async (t) => {
  const { f, up } = await setup(t);
  const ck = await f.clientKey({ expires_at: '2001-01-01T00:00:00Z' });
  assertOpenAIError(await f.chat(ck.key), 401, 'api_key_expired');
  assertOpenAIError(await f.v1('GET', '/models', { key: ck.key }), 401, 'api_key_expired');
  const soon = await f.clientKey({ expires_at: new Date(Date.now() + 2500).toISOString().replace(/\.\d+Z$/, 'Z') });
  assert.equal((await f.chat(soon.key)).status, 200);
  await new Promise((r) => setTimeout(r, 3000));
  assertOpenAIError(await f.chat(soon.key), 401, 'api_key_expired');
  assert.equal(up.requests.length, 1);
});

test('allowed_models and allowed_groups: 403 model_not_allowed', async (t) => {
  const { f, up, g2 } = await setup(t);
  const onlyMini = await f.clientKey({ allowed_models: ['gpt-4o-mini'] });
  assertOpenAIError(await f.chat(onlyMini.key, chatBody('gpt-4o')), 403, 'model_not_allowed');
  const e = await sdkError(f.openai(onlyMini.key).chat.completions.create(chatBody('gpt-4o')));
  assert.ok(e instanceof OpenAI.PermissionDeniedError, String(e));
  assert.equal(e.code, 'model_not_allowed');
  assert.equal((await f.chat(onlyMini.key, chatBody('gpt-4o-mini'))).status, 200);

  // No candidate for gpt-4o in the allowed groups.
  const onlyG2 = await f.clientKey({ allowed_groups: [g2.id] });
  assertOpenAIError(await f.chat(onlyG2.key, chatBody('gpt-4o')), 403, 'model_not_allowed');
  assert.equal((await f.chat(onlyG2.key, chatBody('claude-3-5-sonnet'))).status, 200);
  assert.equal(up.requests.length, 2);
});

test('rpm_limit: requests over the limit in a rolling minute are 429 rate_limit_exceeded with Retry-After', async (t) => {
  const { f, up } = await setup(t);
  const ck = await f.clientKey({ rpm_limit: 3 });
  const other = await f.clientKey({ rpm_limit: 3 });
  // Both workers count together.
  for (let i = 0; i < 3; i++) assert.equal((await f.chat(ck.key)).status, 200);
  for (let i = 0; i < 3; i++) {
    const r = await f.chat(ck.key);
    assertOpenAIError(r, 429, 'rate_limit_exceeded');
    const ra = Number(r.headers['retry-after']);
    assert.ok(Number.isInteger(ra) && ra >= 1 && ra <= 60, `Retry-After: ${r.headers['retry-after']}`);
  }
  const e = await sdkError(f.openai(ck.key).chat.completions.create(chatBody()));
  assert.ok(e instanceof OpenAI.RateLimitError, String(e));
  assert.equal(e.code, 'rate_limit_exceeded');
  // Another key has its own budget.
  assert.equal((await f.chat(other.key)).status, 200);
  assert.equal(up.requests.length, 4);
});

test('token_quota: once tokens_used reaches it, 429 insufficient_quota; tokens_used counts upstream usage', async (t) => {
  const { f, up } = await setup(t);
  up.behave('default', { usage: { prompt_tokens: 7, completion_tokens: 5 } });
  const ck = await f.clientKey({ token_quota: 20 });
  assert.equal((await f.chat(ck.key)).status, 200); // 12 used
  // Usage may be written in batches: within 2 s.
  const used = async (id, want) => {
    let got;
    for (const until = Date.now() + 2500; Date.now() < until;) {
      got = (await f.must('GET', `/api/admin/client-keys/${id}`)).tokens_used;
      if (got === want) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(got, want, 'tokens_used');
  };
  await used(ck.id, 12);
  assert.equal((await f.chat(ck.key)).status, 200); // 24 used: over, but it was allowed when it started
  await used(ck.id, 24);
  for (let i = 0; i < 2; i++) assertOpenAIError(await f.chat(ck.key), 429, 'insufficient_quota');
  const e = await sdkError(f.openai(ck.key).chat.completions.create(chatBody()));
  assert.ok(e instanceof OpenAI.RateLimitError);
  assert.equal(e.code, 'insufficient_quota');
  assert.equal(up.requests.length, 2);

  // The operator resets the counter: allowed again.
  await f.must('PATCH', `/api/admin/client-keys/${ck.id}`, { tokens_used: 0 });
  assert.equal((await f.chat(ck.key)).status, 200);

  // A quota of 0 means no quota.
  const free = await f.clientKey({ token_quota: 0 });
  for (let i = 0; i < 3; i++) assert.equal((await f.chat(free.key)).status, 200);
  await used(free.id, 36);
});
