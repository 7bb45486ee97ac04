// Configuration as a file: GET /api/admin/export, POST /api/admin/import
// (with ?dry_run=true) and CONFIG_FILE at start.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { Gateway, gateway, NEW_PASSWORD } from './harness.js';
import { fusion } from './v1-helpers.js';

const PASS = 'correct horse battery staple';

// A configuration of every kind of record.
async function configure(f) {
  const up = await f.upstream();
  const g1 = await f.group({ name: 'primary', priority: 10, strategy: 'weighted' });
  const g2 = await f.group({ name: 'backup', priority: 0, enabled: false });
  const p1 = await f.provider(g1, up, {
    name: 'openai-main', models: ['gpt-4o', 'gpt-4o-mini'], model_aliases: { fast: 'gpt-4o-mini' }, weight: 3,
    keys: ['sk-up-first-key-000000000001', 'sk-up-second-key-00000000002'],
  });
  await f.must('PATCH', `/api/admin/keys/${p1.keys[1].id}`, { enabled: false });
  await f.provider(g2, null, { name: 'spare', type: 'anthropic', base_url: 'https://api.anthropic.com/v1', models: ['claude-x'], keys: [] });
  await f.clientKey({ name: 'app', allowed_groups: [g1.id, g2.id], allowed_models: ['gpt-4o'], rpm_limit: 60, expires_at: '2031-01-01T00:00:00Z' });
  await f.clientKey({ name: 'batch', token_quota: 1000000, budget_daily: 5000000 });
  // A price of every provider, and one of a provider that wins over it.
  await f.must('POST', '/api/admin/prices', { model: 'gpt-4o*', input: 2500000, output: 10000000 });
  await f.must('POST', '/api/admin/prices', { model: 'gpt-4o', provider_id: p1.id, input: 1, output: 2, reasoning: 3, per_request: 5 });
  return { up, p1 };
}

async function exported(f, { secrets = false, pass = PASS } = {}) {
  const r = await f.call('GET', `/api/admin/export${secrets ? '?secrets=true' : ''}`, undefined);
  if (secrets) {
    const rr = await f.gw.api('GET', '/api/admin/export?secrets=true', { token: f.token, headers: { 'x-fusion-passphrase': pass } });
    assert.equal(rr.status, 200, rr.text);
    return rr.json;
  }
  assert.equal(r.status, 200, r.text);
  return r.json;
}

function importDoc(f, doc, { dryRun = false, pass } = {}) {
  return f.gw.api('POST', `/api/admin/import${dryRun ? '?dry_run=true' : ''}`, {
    token: f.token, body: doc, headers: pass ? { 'x-fusion-passphrase': pass } : {},
  });
}

test('export -> import into a fresh gateway -> export gives the same document, and the imported keys work', async (t) => {
  const a = await fusion(t);
  const { up } = await configure(a);
  const doc = await exported(a);
  const sealed = await exported(a, { secrets: true });

  // Named, not numbered; no secret and no runtime state without ?secrets.
  assert.deepEqual(doc.groups.map((g) => g.name), ['backup', 'primary']);
  assert.deepEqual(doc.client_keys.find((c) => c.name === 'app').allowed_groups, ['primary', 'backup']);
  const text = JSON.stringify(doc);
  for (const s of ['sk-up-first-key', 'sk-up-second-key', '"id"', 'tokens_used', '"status"', '"requests"', 'secret', 'key_prefix']) {
    assert.ok(!text.includes(s), `${s} in the export`);
  }
  const keys = sealed.groups.find((g) => g.name === 'primary').providers[0].keys;
  assert.equal(keys.length, 2);
  assert.ok(keys.every((k) => typeof k.secret === 'string' && k.secret.length > 40));
  assert.ok(!JSON.stringify(sealed).includes('sk-up-first-key'), 'secrets are sealed');
  assert.equal(sealed.secrets.kdf, 'argon2id13');
  // Prices name their provider by group and name, in the gateway's currency.
  assert.equal(doc.currency, 'USD');
  assert.deepEqual(doc.prices, [
    { model: 'gpt-4o', input: 1, cached_input: 0, cache_write: 0, output: 2, reasoning: 3, per_request: 5, group: 'primary', provider: 'openai-main' },
    { model: 'gpt-4o*', input: 2500000, cached_input: 0, cache_write: 0, output: 10000000, reasoning: null, per_request: 0 },
  ]);
  assert.equal(doc.client_keys.find((c) => c.name === 'batch').budget_daily, 5000000);

  const b = await fusion(t);
  const dry = await importDoc(b, sealed, { dryRun: true, pass: PASS });
  assert.equal(dry.status, 200, dry.text);
  assert.equal(dry.json.dry_run, true);
  assert.equal(dry.json.created, 2 + 2 + 2 + 2 + 2);
  assert.deepEqual(dry.json.changes.filter((c) => c.kind === 'group').map((c) => [c.action, c.name]), [['create', 'backup'], ['create', 'primary']]);
  assert.equal(dry.json.client_keys, undefined, 'a dry run makes no key');
  assert.deepEqual((await exported(b)).groups, [], 'the dry run changed nothing');

  const applied = await importDoc(b, sealed, { pass: PASS });
  assert.equal(applied.status, 200, applied.text);
  assert.equal(applied.json.created, 10);
  assert.deepEqual(applied.json.warnings, []);
  assert.deepEqual(await exported(b), doc, 'the same document');

  // Importing it again changes nothing.
  const again = await importDoc(b, sealed, { pass: PASS });
  assert.equal(again.json.created + again.json.updated, 0);
  assert.equal(again.json.unchanged, 10);

  // The upstream key came across whole; the client keys are new ones.
  const app = applied.json.client_keys.find((c) => c.name === 'app');
  assert.match(app.key, /^sk-fe-/);
  const r = await b.chat(app.key);
  assert.equal(r.status, 200, r.text);
  assert.equal(up.requests.at(-1).key, 'sk-up-first-key-000000000001');

  // Exports with secrets are audited; without a passphrase there is none.
  const audit = await a.must('GET', '/api/admin/audit');
  assert.ok(audit.data.some((e) => e.action === 'export' && /passphrase/.test(e.detail)));
  assert.ok(!JSON.stringify(audit).includes(PASS));
  const nopass = await a.gw.api('GET', '/api/admin/export?secrets=true', { token: a.token });
  assert.equal(nopass.status, 400);
  assert.equal(nopass.json.error.code, 'passphrase_required');
  assert.equal((await b.must('GET', '/api/admin/audit')).data.filter((e) => e.action === 'import').length, 2);
});

test('import: a dry run answers the difference and changes nothing; applying it makes exactly that change', async (t) => {
  const f = await fusion(t);
  await configure(f);
  const before = await exported(f);
  const doc = structuredClone(before);
  doc.groups.find((g) => g.name === 'primary').priority = 50;
  doc.groups.find((g) => g.name === 'primary').providers[0].weight = 7;
  doc.groups.push({ name: 'new-group', priority: 1, providers: [{ name: 'n1', base_url: 'http://127.0.0.1:9/v1' }] });
  doc.client_keys.find((c) => c.name === 'batch').rpm_limit = 5;
  doc.prices[0].input = 7;
  doc.prices.push({ model: 'claude-x', group: 'backup', provider: 'spare', input: 3000000, output: 15000000 });

  const dry = await importDoc(f, doc, { dryRun: true });
  assert.equal(dry.status, 200, dry.text);
  assert.deepEqual(dry.json.changes, [
    { action: 'update', kind: 'group', name: 'primary', fields: ['priority'] },
    { action: 'update', kind: 'provider', name: 'primary/openai-main', fields: ['weight'] },
    { action: 'create', kind: 'group', name: 'new-group' },
    { action: 'create', kind: 'provider', name: 'new-group/n1' },
    { action: 'update', kind: 'client_key', name: 'batch', fields: ['rpm_limit'] },
    { action: 'update', kind: 'price', name: 'gpt-4o @ primary/openai-main', fields: ['input'] },
    { action: 'create', kind: 'price', name: 'claude-x @ backup/spare' },
  ]);
  assert.deepEqual(await exported(f), before);

  const applied = await importDoc(f, doc);
  assert.equal(applied.status, 200);
  assert.deepEqual(applied.json.changes, dry.json.changes);
  const after = await exported(f);
  // Defaults of what the new records left out, as the admin API gives them.
  const n1 = after.groups.find((g) => g.name === 'new-group').providers[0];
  assert.equal(n1.timeout_ms, 60000);
  assert.equal(n1.type, 'openai');
  doc.groups.find((g) => g.name === 'new-group').providers[0] = n1;
  doc.groups.find((g) => g.name === 'new-group').enabled = true;
  doc.groups.find((g) => g.name === 'new-group').strategy = 'round_robin';
  doc.groups.find((g) => g.name === 'new-group').affinity = 'none';
  doc.groups.find((g) => g.name === 'new-group').latency_half_life_seconds = 10;
  doc.groups.sort((x, y) => x.name.localeCompare(y.name));
  Object.assign(doc.prices[2], { cached_input: 0, cache_write: 0, reasoning: null, per_request: 0 });
  doc.prices.sort((x, y) => x.model.localeCompare(y.model));
  assert.deepEqual(after, doc);
  // The imported price is the one the provider's requests cost.
  const spare = (await f.must('GET', '/api/admin/prices')).data.find((x) => x.model === 'claude-x');
  assert.equal(spare.output, 15000000);
  assert.ok(spare.provider_id > 0);

  // A key the document has without its secret is matched, not made.
  const warn = structuredClone(after);
  warn.groups.find((g) => g.name === 'primary').providers[0].keys.push({ key_masked: 'sk-...9999', label: 'other', enabled: true });
  const w = await importDoc(f, warn);
  assert.equal(w.status, 200);
  assert.equal(w.json.warnings.length, 1);
  assert.match(w.json.warnings[0], /no secret/);
});

test('import: a bad document is refused whole with a reason naming the record, and changes nothing', async (t) => {
  const f = await fusion(t);
  await configure(f);
  const before = await exported(f);
  const sealed = await exported(f, { secrets: true });
  const good = { name: 'would-be-created', providers: [] };
  const cases = [
    [{ fusion_config: 1, groups: [good, { name: 'x', providers: [{ name: 'p', base_url: 'http://h/v1', bogus: 1 }] }] }, /groups\[1\]\.providers\[0\]: unknown field 'bogus'/],
    [{ fusion_config: 1, groups: [good, { name: 'y', priority: 'high' }] }, /groups\[1\]: field 'priority' must be a whole number/],
    [{ fusion_config: 1, groups: [good, { name: 'z', providers: [{ name: 'p', base_url: 'ftp://h' }] }] }, /base_url/],
    [{ fusion_config: 1, groups: [good, good] }, /names 'would-be-created' twice/],
    [{ fusion_config: 1, groups: [good], client_keys: [{ name: 'c', allowed_groups: ['nope'] }] }, /no group 'nope'/],
    [{ fusion_config: 2, groups: [] }, /fusion_config/],
    [{ groups: [], extra: true }, /unknown field 'extra'/],
    [{ fusion_config: 1, groups: [good], prices: [{ model: 'm', group: 'primary', provider: 'nope', input: 1 }] }, /prices\[0\]: names no provider 'primary\/nope'/],
    [{ fusion_config: 1, groups: [good], prices: [{ model: 'm', provider: 'openai-main' }] }, /prices\[0\]: fields 'group' and 'provider'/],
    [{ fusion_config: 1, groups: [good], prices: [{ model: 'm', input: 1 }, { model: 'm', input: 2 }] }, /prices\[1\]: the price of 'm' is given twice/],
    [{ fusion_config: 1, groups: [good], prices: [{ model: 'm', provider_id: 1 }] }, /prices\[0\]: unknown field 'provider_id'/],
    [{ fusion_config: 1, groups: [good], prices: [{ model: 'm', input: -1 }] }, /prices\[0\]: field 'input'/],
    [{ fusion_config: 1, groups: [good], currency: 'EUR', prices: [] }, /currency.*USD/],
  ];
  for (const [doc, re] of cases) {
    const r = await importDoc(f, doc);
    assert.equal(r.status, 400, JSON.stringify(doc));
    assert.equal(r.json.error.code, 'invalid_config');
    assert.match(r.json.error.message, re);
  }
  const wrong = await importDoc(f, sealed, { pass: 'not the passphrase at all' });
  assert.equal(wrong.status, 400);
  assert.match(wrong.json.error.message, /passphrase does not open/);
  const none = await importDoc(f, sealed);
  assert.equal(none.status, 400);
  assert.match(none.json.error.message, /passphrase/);
  assert.deepEqual(await exported(f), before);
  assert.equal((await f.gw.api('POST', '/api/admin/import', { token: f.token, raw: '[1]' })).status, 400);
  assert.equal((await f.gw.api('POST', '/api/admin/import', { body: before })).status, 401);
});

test('CONFIG_FILE: applied at every start, the file wins for what it names and the rest is left alone', async (t) => {
  const a = await fusion(t);
  await configure(a);
  const sealed = await exported(a, { secrets: true });
  const file = path.join(a.gw.dir, 'fusion-config.json');
  fs.writeFileSync(file, JSON.stringify(sealed));

  const gw = await gateway(t, { env: { CONFIG_FILE: file, CONFIG_PASSPHRASE: PASS, ADMIN_PASSWORD: NEW_PASSWORD } });
  const token = await gw.login(NEW_PASSWORD);
  const call = (m, p, body) => gw.api(m, p, { token, body });
  const b = { gw, token, call };
  const first = await exported(b);
  assert.deepEqual(first, await exported(a));
  assert.match(gw.output, /CONFIG_FILE .* applied: 10 records created or changed/);

  // An operator changes a named record and adds one of their own.
  const primary = (await call('GET', '/api/admin/groups')).json.data.find((g) => g.name === 'primary');
  assert.equal((await call('PATCH', `/api/admin/groups/${primary.id}`, { priority: 99 })).status, 200);
  assert.equal((await call('POST', '/api/admin/groups', { name: 'operators-own' })).status, 201);

  await gw.stop();
  gw.output = '';
  gw.exitCode = undefined;
  await gw.start();
  const t2 = await gw.login(NEW_PASSWORD);
  const groups = (await gw.api('GET', '/api/admin/groups', { token: t2 })).json.data;
  assert.equal(groups.find((g) => g.name === 'primary').priority, 10, 'the file wins');
  assert.ok(groups.some((g) => g.name === 'operators-own'), 'what it does not name stays');
  assert.match(gw.output, /applied: 1 records created or changed/);
  assert.ok(!gw.output.includes('sk-up-first-key'));

  // A file that does not apply stops the start with the reason.
  fs.writeFileSync(file, JSON.stringify({ fusion_config: 1, groups: [{ name: 'bad', priority: 'x' }] }));
  const bad = new Gateway({ env: { CONFIG_FILE: file } });
  t.after(() => { fs.rmSync(bad.dir, { recursive: true, force: true }); });
  assert.notEqual(await bad.start({ expectExit: true }), 0);
  assert.match(bad.output, /CONFIG_FILE .*groups\[0\]: field 'priority' must be a whole number/);
});
