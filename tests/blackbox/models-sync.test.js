// Model sync: POST /api/admin/providers/:id/models/sync asks the
// upstream for its own list of models (OpenAI /models, Anthropic
// /v1/models, Gemini models, every page) and answers the difference with
// the provider's models; ?apply=true applies it. Aliases stay as they
// are; names differing only in case are two models.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fusion, chatBody } from './v1-helpers.js';

const sync = (f, p, query = '') => f.call('POST', `/api/admin/providers/${p.id}/models/sync${query}`);

test('OpenAI: the difference, applied only when asked; case counts; aliases untouched', async (t) => {
  const f = await fusion(t);
  const g = await f.group();
  const up = await f.upstream({ models: ['gpt-4o', 'gpt-4o-mini', 'GPT-4O', 'o3'] });
  const p = await f.provider(g, up, { models: ['gpt-4o', 'old-model', 'gpt-4o-MINI'], model_aliases: { fast: 'gpt-4o-mini', legacy: 'old-model' } });

  let r = await sync(f, p);
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.json, {
    provider_id: p.id,
    upstream: ['gpt-4o', 'gpt-4o-mini', 'GPT-4O', 'o3'],
    removed: ['old-model', 'gpt-4o-MINI'],
    added: ['gpt-4o-mini', 'GPT-4O', 'o3'],
    applied: false,
    models: ['gpt-4o', 'old-model', 'gpt-4o-MINI'],
  });
  const rec = up.requests.at(-1);
  assert.equal(`${rec.method} ${rec.path}`, 'GET /v1/models');
  assert.equal(rec.headers.authorization, `Bearer ${p.keys[0].secret}`);
  assert.deepEqual((await f.must('GET', `/api/admin/providers/${p.id}`)).models, ['gpt-4o', 'old-model', 'gpt-4o-MINI']);

  r = await sync(f, p, '?apply=true');
  assert.equal(r.json.applied, true);
  assert.deepEqual(r.json.models, ['gpt-4o', 'gpt-4o-mini', 'GPT-4O', 'o3']);
  const after = await f.must('GET', `/api/admin/providers/${p.id}`);
  assert.deepEqual(after.models, ['gpt-4o', 'gpt-4o-mini', 'GPT-4O', 'o3']);
  assert.deepEqual(after.model_aliases, { fast: 'gpt-4o-mini', legacy: 'old-model' });

  // The gateway serves the new models at once.
  const ck = await f.clientKey();
  const c = await f.chat(ck.key, chatBody('GPT-4O'));
  assert.equal(c.status, 200, c.text);
  assert.equal(up.requests.at(-1).body.model, 'GPT-4O');

  // In sync now: nothing to add or remove, nothing written.
  r = await sync(f, p, '?apply=true');
  assert.deepEqual([r.json.added, r.json.removed, r.json.applied], [[], [], false]);
  const audit = (await f.must('GET', '/api/admin/audit')).data.filter((a) => a.action === 'models_sync');
  assert.equal(audit.length, 1);
  assert.equal(audit[0].target, `provider ${p.id}`);
  assert.equal(audit[0].username, 'admin');
});

test('Anthropic and Gemini: every page is read; Gemini lists only what can generateContent', async (t) => {
  const f = await fusion(t);
  const g = await f.group();
  const claude = Array.from({ length: 25 }, (_, i) => `claude-model-${String(i).padStart(2, '0')}`);
  const an = await f.upstream({ flavor: 'anthropic', models: claude, modelsPageMax: 10 });
  const pa = await f.provider(g, an, { models: ['claude-model-00', 'claude-gone'] });
  let r = await sync(f, pa);
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.json.upstream, claude);
  assert.deepEqual(r.json.removed, ['claude-gone']);
  assert.equal(r.json.added.length, 24);
  const pages = an.requests.filter((x) => x.path === '/v1/models');
  assert.deepEqual(pages.map((x) => x.query), ['?limit=1000', '?limit=1000&after_id=claude-model-09', '?limit=1000&after_id=claude-model-19']);
  assert.ok(pages.every((x) => x.headers['x-api-key'] === pa.keys[0].secret && x.headers['anthropic-version'] === '2023-06-01'));

  const gem = ['gemini-2.0-flash', 'gemini-2.5-pro', 'text-embedding-004', 'gemini-2.5-flash'];
  const ge = await f.upstream({ flavor: 'gemini', models: gem, modelsPageMax: 2 });
  const pg = await f.provider(g, ge, { models: ['gemini-2.0-flash'] });
  r = await sync(f, pg, '?apply=true');
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.json.upstream, ['gemini-2.0-flash', 'gemini-2.5-pro', 'gemini-2.5-flash']);
  assert.deepEqual(r.json.added, ['gemini-2.5-pro', 'gemini-2.5-flash']);
  assert.equal(ge.requests.filter((x) => x.path === '/v1beta/models').length, 2);
  assert.equal(ge.requests.at(-1).headers['x-goog-api-key'], pg.keys[0].secret);
  assert.deepEqual((await f.must('GET', `/api/admin/providers/${pg.id}`)).models, ['gemini-2.0-flash', 'gemini-2.5-pro', 'gemini-2.5-flash']);
});

test('a sync that cannot read the list says why and changes nothing', async (t) => {
  const f = await fusion(t);
  const g = await f.group();
  const up = await f.upstream({ models: ['gpt-4o'] });
  const p = await f.provider(g, up, { models: ['gpt-4o', 'keep-me'] });

  up.behave('default', 401);
  let r = await sync(f, p, '?apply=true');
  assert.equal(r.status, 502, r.text);
  assert.match(r.json.error.message, /Incorrect API key/);
  assert.ok(!r.text.includes(p.keys[0].secret));
  up.behave('default', 'malformed');
  r = await sync(f, p, '?apply=true');
  assert.equal(r.status, 502, r.text);
  assert.deepEqual((await f.must('GET', `/api/admin/providers/${p.id}`)).models, ['gpt-4o', 'keep-me']);
  // A sync probes no health: the key is as it was.
  assert.equal((await f.keyState(p.keys[0].id)).status, 'active');

  assert.equal((await sync(f, p, '?apply=yes')).status, 400);
  assert.equal((await sync(f, { id: 999 })).status, 404);
  const bare = await f.must('POST', '/api/admin/providers', { group_id: g.id, name: 'no-keys', base_url: up.url });
  const nk = await sync(f, bare);
  assert.equal(nk.status, 400);
  assert.equal(nk.json.error.code, 'no_keys');
  assert.equal((await f.gw.api('POST', `/api/admin/providers/${p.id}/models/sync`)).status, 401);
});
