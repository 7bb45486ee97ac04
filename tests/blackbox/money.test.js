// Money (issue 17): prices through the admin API, the cost of each request
// in the log (streams cancelled half way, failover, Anthropic cache reads
// and writes, Gemini cached tokens), budgets of client keys under
// concurrency, and the usage export against the stats.
//
// Prices are micro-units per million tokens: 1000000 is one micro-unit
// per token, so the figures below are easy to compute by hand.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { Gateway, NEW_PASSWORD } from './harness.js';
import { fusion, readSse, rawRequest, chatBody, sleep, assertOpenAIError, assertAnthropicError } from './v1-helpers.js';

const PER_TOKEN = 1000000;

// The cost of a log row's tokens at price p, by the formula,
// rounded half up on micro-units.
function costOf(row, p) {
  const reasoning = p.reasoning ?? p.output;
  const num = (row.prompt_tokens - row.cached_tokens - row.cache_write_tokens) * p.input +
    row.cached_tokens * (p.cached_input ?? 0) + row.cache_write_tokens * (p.cache_write ?? 0) +
    (row.completion_tokens - row.reasoning_tokens) * p.output + row.reasoning_tokens * reasoning;
  return Math.floor((num + 500000) / 1000000) + (p.per_request ?? 0);
}

async function logRow(f, pred, what, ms = 5000) {
  const until = Date.now() + ms;
  for (;;) {
    const r = await f.logs('limit=100');
    const row = r.data.find(pred);
    if (row) return row;
    assert.ok(Date.now() < until, `no log row for ${what}: ${JSON.stringify(r.data)}`);
    await sleep(100);
  }
}

test('prices: CRUD, null provider and reasoning, wildcards, bulk PUT all or nothing', async (t) => {
  const f = await fusion(t);
  const g = await f.group();
  const up = await f.upstream({ models: ['gpt-4o'] });
  const p = await f.provider(g, up);

  const a = await f.must('POST', '/api/admin/prices', { model: 'gpt-4o*', input: 2500000, output: 10000000 });
  assert.equal(a.provider_id, null);
  assert.equal(a.reasoning, null);
  assert.equal(a.cached_input, 0);
  const b = await f.must('POST', '/api/admin/prices', { model: 'gpt-4o', provider_id: p.id, input: 1, output: 2, reasoning: 3 });
  assert.equal(b.provider_id, p.id);
  assert.equal(b.reasoning, 3);

  // Bad input is refused and changes nothing.
  let r = await f.call('POST', '/api/admin/prices', { model: 'gpt*-4o', input: 1 });
  assert.equal(r.status, 400, r.text);
  assert.match(r.json.error.message, /model/);
  r = await f.call('POST', '/api/admin/prices', { model: 'x', input: 1.5 });
  assert.equal(r.status, 400, r.text);
  r = await f.call('POST', '/api/admin/prices', { model: 'x', provider_id: 999 });
  assert.equal(r.status, 404, r.text);
  r = await f.call('POST', '/api/admin/prices', { model: 'gpt-4o*', input: 5 });
  assert.equal(r.status, 409, r.text);
  r = await f.call('POST', '/api/admin/prices', { model: 'x', bogus: 1 });
  assert.equal(r.status, 400, r.text);

  const patched = await f.must('PATCH', `/api/admin/prices/${b.id}`, { reasoning: null });
  assert.equal(patched.reasoning, null);
  assert.equal(patched.output, 2);

  // A bulk document with a bad entry: 400 naming it, nothing changed.
  r = await f.call('PUT', '/api/admin/prices', { currency: 'USD', prices: [{ model: 'a', input: 1 }, { model: 'b', input: -1 }] });
  assert.equal(r.status, 400, r.text);
  assert.match(r.json.error.message, /prices\[1\]/);
  r = await f.call('PUT', '/api/admin/prices', { prices: [{ model: 'a' }, { model: 'a' }] });
  assert.equal(r.status, 400, r.text);
  assert.match(r.json.error.message, /prices\[1\]/);
  r = await f.call('PUT', '/api/admin/prices', { currency: 'EUR', prices: [] });
  assert.equal(r.status, 400, r.text);
  assert.match(r.json.error.message, /USD/);
  let list = await f.must('GET', '/api/admin/prices');
  assert.equal(list.total, 2);

  // The export (GET) imports as it is; the example document too.
  const exported = await f.must('GET', '/api/admin/prices');
  r = await f.call('PUT', '/api/admin/prices', exported);
  assert.equal(r.status, 200, r.text);
  list = await f.must('GET', '/api/admin/prices');
  assert.deepEqual(list.data.map((x) => [x.model, x.provider_id, x.input, x.output, x.reasoning]),
    exported.data.map((x) => [x.model, x.provider_id, x.input, x.output, x.reasoning]));
  const fs = await import('node:fs');
  const example = JSON.parse(fs.readFileSync(new URL('../../conf/prices.example.json', import.meta.url)));
  r = await f.call('PUT', '/api/admin/prices', example);
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.replaced, example.prices.length);
  assert.ok(example.prices.length >= 12);
  list = await f.must('GET', '/api/admin/prices?limit=1000');
  assert.equal(list.total, example.prices.length);
  const settings = await f.must('GET', '/api/admin/settings');
  assert.equal(settings.currency, 'USD');
});

const METRICS_TOKEN = 'metrics-token-0123456789';

test('cost per request: streamed chat and Responses cancelled half way, failover after a 500, Anthropic cache, Gemini cached tokens', async (t) => {
  const f = await fusion(t, { env: { METRICS_TOKEN } });
  const g = await f.group({ priority: 10 });
  const low = await f.group({ priority: 1 });
  const ups = {
    chat: await f.upstream({ name: 'chat', models: ['gpt-4o'] }),
    failing: await f.upstream({ name: 'failing', models: ['gpt-fo'] }),
    backup: await f.upstream({ name: 'backup', models: ['gpt-fo'] }),
    anthropic: await f.upstream({ name: 'anthropic', flavor: 'anthropic' }),
    gemini: await f.upstream({ name: 'gemini', flavor: 'gemini', models: ['gemini-2.5-flash'] }),
  };
  const chat = await f.provider(g, ups.chat, { models: ['gpt-4o', 'gpt-resp'] });
  const failing = await f.provider(g, ups.failing, { models: ['gpt-fo'] });
  const backup = await f.provider(low, ups.backup, { models: ['gpt-fo'] });
  await f.provider(g, ups.anthropic, { models: ['claude-x'], model_aliases: {} });
  await f.provider(g, ups.gemini, { models: ['gemini-2.5-flash'] });

  const prices = {
    chat: { model: 'gpt-4o', input: 3 * PER_TOKEN, output: 7 * PER_TOKEN },
    resp: { model: 'gpt-r*', input: 2 * PER_TOKEN + 500000, output: 9 * PER_TOKEN },
    any: { model: 'gpt-fo', input: 100 * PER_TOKEN, output: 100 * PER_TOKEN },
    failing: { model: 'gpt-fo', provider_id: failing.id, input: 1000 * PER_TOKEN, output: 1000 * PER_TOKEN },
    backup: { model: 'gpt-f*', provider_id: backup.id, input: 5 * PER_TOKEN, output: 11 * PER_TOKEN, per_request: 13 },
    claude: { model: 'claude-*', input: 3 * PER_TOKEN, cached_input: 300000, cache_write: 3750000, output: 15 * PER_TOKEN },
    gemini: { model: 'gemini-2.5-flash', input: 300000, cached_input: 75000, output: 2500000, reasoning: 3500000 },
  };
  const r = await f.call('PUT', '/api/admin/prices', { prices: Object.values(prices) });
  assert.equal(r.status, 200, r.text);
  const ck = await f.clientKey();

  // A streamed chat the client leaves after two content chunks of ten.
  ups.chat.behave('default', { type: 'ok', content: 'one two three four five six seven eight nine ten', chunks: 10, chunkDelayMs: 150 });
  const s = await f.stream(ck.key, chatBody('gpt-4o', { stream: true }), {
    closeAfter: (ev) => ev.filter((e) => e.json?.choices?.[0]?.delta?.content).length >= 2,
  });
  assert.equal(s.closedByUs, true);
  let row = await logRow(f, (x) => x.model === 'gpt-4o' && x.outcome === 'cancelled', 'the cancelled chat');
  assert.equal(row.usage_estimated, true);
  assert.equal(row.cost_estimated, true);
  assert.ok(row.completion_tokens >= 2, JSON.stringify(row));
  assert.ok(row.cost > 0);
  assert.equal(row.cost, costOf(row, prices.chat), JSON.stringify(row));
  assert.equal(row.currency, 'USD');

  // A streamed Responses call the client leaves half way.
  ups.chat.behave('default', { type: 'ok', content: 'alpha beta gamma delta epsilon zeta eta theta', chunks: 8, chunkDelayMs: 150 });
  const rs = await readSse(`${f.gw.url}/v1/responses`, {
    headers: { authorization: `Bearer ${ck.key}` }, body: { model: 'gpt-resp', input: 'Say the Greek letters', stream: true },
    closeAfter: (ev) => ev.filter((e) => e.json?.type === 'response.output_text.delta').length >= 2,
  });
  assert.equal(rs.closedByUs, true, rs.text);
  row = await logRow(f, (x) => x.model === 'gpt-resp', 'the cancelled Responses stream');
  assert.equal(row.outcome, 'cancelled');
  assert.equal(row.cost_estimated, true);
  assert.ok(row.cost > 0);
  assert.equal(row.cost, costOf(row, prices.resp), JSON.stringify(row));

  // A 500 from the first provider, then the backup answers: the backup's
  // price for the backup's tokens, per_request once.
  ups.failing.behave('default', 500);
  ups.backup.behave('default', { type: 'ok', usage: { prompt_tokens: 120, completion_tokens: 30 } });
  const fo = await f.chat(ck.key, chatBody('gpt-fo'));
  assert.equal(fo.status, 200, fo.text);
  row = await logRow(f, (x) => x.model === 'gpt-fo', 'the failed-over chat');
  assert.equal(row.attempts, 2);
  assert.equal(row.provider_id, backup.id);
  assert.equal(row.prompt_tokens, 120);
  assert.equal(row.cost, 120 * 5 + 30 * 11 + 13);
  assert.equal(row.cost_estimated, false);

  // Anthropic reports cache reads and writes outside input_tokens.
  ups.anthropic.behave('default', { type: 'ok', usage: { prompt_tokens: 100, cached_tokens: 40, cache_write_tokens: 20, completion_tokens: 30 } });
  const an = await f.messages(ck.key, { model: 'claude-x', max_tokens: 100, messages: [{ role: 'user', content: 'Hi' }] });
  assert.equal(an.status, 200, an.text);
  row = await logRow(f, (x) => x.model === 'claude-x', 'the Anthropic request');
  assert.equal(row.prompt_tokens, 160);
  assert.equal(row.cached_tokens, 40);
  assert.equal(row.cache_write_tokens, 20);
  // 100 x 3 + 40 x 0.3 + 20 x 3.75 + 30 x 15
  assert.equal(row.cost, 300 + 12 + 75 + 450);

  // Gemini's cached tokens are part of its prompt count.
  ups.gemini.behave('default', { type: 'ok', usage: { prompt_tokens: 1001, cached_tokens: 400, completion_tokens: 7 } });
  const ge = await f.v1('POST', '/chat/completions', { key: ck.key, body: chatBody('gemini-2.5-flash') });
  assert.equal(ge.status, 200, ge.text);
  row = await logRow(f, (x) => x.model === 'gemini-2.5-flash', 'the Gemini request');
  assert.equal(row.prompt_tokens, 1001);
  assert.equal(row.cached_tokens, 400);
  // (601 x 0.3 + 400 x 0.075 + 7 x 2.5) = 180.3 + 30 + 17.5 = 227.8 -> 228
  assert.equal(row.cost, 228);
  assert.equal(row.cost, costOf(row, prices.gemini));

  // The stats and the metric carry the same money.
  const logs = await f.logs('limit=100');
  const total = logs.data.reduce((a, x) => a + x.cost, 0);
  let stats;
  for (let i = 0; i < 50; i++) {
    stats = await f.must('GET', '/api/admin/stats');
    if (stats.cost === total) break;
    await sleep(100);
  }
  assert.equal(stats.currency, 'USD');
  assert.equal(stats.cost, total);
  assert.equal(stats.providers.reduce((a, x) => a + x.cost, 0), total);
  assert.equal(stats.models.reduce((a, x) => a + x.cost, 0), total);
  // gpt-fo: 120 x 5 + 30 x 11 + 13 = 943, claude-x: 837.
  assert.deepEqual(stats.models.slice(0, 2).map((x) => x.model), ['gpt-fo', 'claude-x'], 'most costly model first');
  assert.equal(stats.upstream_keys.reduce((a, x) => a + x.cost, 0), total);
  assert.equal(stats.clients.find((c) => c.id === ck.id).cost, total);
  const m = await f.gw.api('GET', '/metrics', { token: METRICS_TOKEN });
  const metricSum = [...m.text.matchAll(/^fusion_cost_total\{[^}]*\} (\d+)$/gm)].reduce((a, x) => a + Number(x[1]), 0);
  assert.equal(metricSum, total, m.text.split('\n').filter((l) => l.includes('cost')).join('\n'));
  const key = await f.must('GET', `/api/admin/client-keys/${ck.id}`);
  assert.equal(key.spent_total, total);
  assert.equal(key.spent_today, total);
  assert.equal(key.spent_month, total);
});

test('budgets: 50 concurrent requests against a budget for 10; spent_total is the sum of the log', async (t) => {
  const f = await fusion(t);
  const g = await f.group();
  const up = await f.upstream({ models: ['gpt-4o', 'text-embedding-3-small'] });
  await f.provider(g, up, { models: ['gpt-4o', 'text-embedding-3-small', 'claude-x'] });
  await f.must('PUT', '/api/admin/prices', { prices: [{ model: '*', input: PER_TOKEN, output: PER_TOKEN }] });
  up.behave('default', { type: 'ok', delayMs: 150, usage: { prompt_tokens: 10, completion_tokens: 10 } });
  // Each request costs 20 micro-units: the budget covers 10.
  const ck = await f.clientKey({ budget_total: 200, budget_daily: 1000000 });
  assert.equal(ck.budget_total, 200);
  assert.equal(ck.spent_total, 0);

  const body = chatBody('gpt-4o', { max_tokens: 10 });
  const burst = await Promise.all(Array.from({ length: 50 }, () => f.chat(ck.key, body)));
  let ok = burst.filter((x) => x.status === 200).length;
  for (const x of burst.filter((y) => y.status !== 200)) assertOpenAIError(x, 429, 'insufficient_quota');
  // What the burst left is still usable, up to the budget.
  let last;
  let sent = burst.length;
  for (let i = 0; i < 20; i++) {
    last = await f.chat(ck.key, body);
    sent++;
    if (last.status !== 200) break;
    ok++;
  }
  assertOpenAIError(last, 429, 'insufficient_quota');
  assert.match(last.json.error.message, /total budget .*0\.000200 USD/);
  // At most the requests admitted while room was left: each reserves
  // more than it costs, so one past the budget at most.
  assert.ok(ok >= 10 && ok <= 11, `${ok} requests succeeded`);

  const logs = await f.waitLogs(sent, 'limit=1000');
  assert.equal(logs.total, sent);
  const costs = logs.data.filter((x) => x.status === 200).map((x) => x.cost);
  assert.equal(costs.length, ok);
  assert.ok(costs.every((c) => c === 20), JSON.stringify(costs));
  assert.ok(logs.data.filter((x) => x.status === 429).every((x) => x.cost === 0));
  const key = await f.must('GET', `/api/admin/client-keys/${ck.id}`);
  assert.equal(key.spent_total, costs.reduce((a, c) => a + c, 0));

  // Every path is refused in its own API's shape.
  const an = await f.messages(ck.key, { model: 'claude-x', max_tokens: 10, messages: [{ role: 'user', content: 'Hi' }] });
  assertAnthropicError(an, 429);
  const em = await f.v1('POST', '/embeddings', { key: ck.key, body: { model: 'text-embedding-3-small', input: 'x' } });
  assertOpenAIError(em, 429, 'insufficient_quota');
  const rs = await f.v1('POST', '/responses', { key: ck.key, body: { model: 'gpt-4o', input: 'x' } });
  assertOpenAIError(rs, 429, 'insufficient_quota');

  // A daily budget says when it resets; raising the budget lets it go on.
  const ck2 = await f.clientKey({ budget_daily: 20 });
  assert.equal((await f.chat(ck2.key, body)).status, 200);
  const day = await f.chat(ck2.key, body);
  assertOpenAIError(day, 429, 'insufficient_quota');
  assert.match(day.json.error.message, /daily budget .* resets at \d{4}-\d\d-\d\dT00:00:00Z \(UTC\)/);
  assert.ok(Number(day.headers['retry-after']) > 0);
  await f.must('PATCH', `/api/admin/client-keys/${ck2.id}`, { budget_daily: 1000 });
  assert.equal((await f.chat(ck2.key, body)).status, 200);

  // What was spent survives a restart: the budget stays used up.
  const spent = key.spent_total;
  await f.gw.restart();
  f.token = await f.gw.login(NEW_PASSWORD);
  const again = await f.gw.api('GET', `/api/admin/client-keys/${ck.id}`, { token: f.token });
  assert.equal(again.json.spent_total, spent, again.text);
  assert.equal(again.json.spent_today, spent);
  const after = await rawRequest(`${f.gw.url}/v1/chat/completions`, { method: 'POST', headers: { authorization: `Bearer ${ck.key}` }, body });
  assertOpenAIError(after, 429, 'insufficient_quota');
});

test('usage.csv: per client key, model, provider and day, summing to the stats', async (t) => {
  const f = await fusion(t);
  const g = await f.group();
  const up = await f.upstream({ models: ['gpt-4o', 'gpt-4o-mini'] });
  const p = await f.provider(g, up, { models: ['gpt-4o', 'gpt-4o-mini'] });
  await f.must('PUT', '/api/admin/prices', { prices: [
    { model: 'gpt-4o', input: 2500000, output: 10000000 },
    { model: 'gpt-4o-mini', input: 150000, output: 600000 },
  ] });
  up.behave('default', { type: 'ok', usage: { prompt_tokens: 1234, completion_tokens: 567 } });
  const a = await f.clientKey({ name: 'alpha, "quoted"' });
  const b = await f.clientKey();
  for (const [k, model] of [[a, 'gpt-4o'], [a, 'gpt-4o-mini'], [b, 'gpt-4o'], [b, 'gpt-4o'], [b, 'gpt-4o-mini']]) {
    assert.equal((await f.chat(k.key, chatBody(model))).status, 200);
  }
  await f.waitLogs(5);
  let stats;
  for (let i = 0; i < 50; i++) {
    stats = await f.must('GET', '/api/admin/stats');
    if (stats.requests === 5) break;
    await sleep(100);
  }
  // 1234 x 2.5 + 567 x 10 = 8755; 1234 x 0.15 + 567 x 0.6 = 525.3 -> 525
  assert.equal(stats.cost, 3 * 8755 + 2 * 525);

  const csv = async (q) => {
    const r = await f.gw.api('GET', `/api/admin/usage.csv?${q}`, { token: f.token });
    assert.equal(r.status, 200, r.text);
    assert.match(r.headers.get('content-type'), /^text\/csv/);
    const [head, ...rows] = r.text.trim().split('\r\n');
    const cols = head.split(',');
    return rows.map((line) => {
      const cells = line.match(/("([^"]|"")*"|[^,]*)(,|$)/g).map((c) => c.replace(/,$/, ''));
      return Object.fromEntries(cols.map((c, i) => [c, cells[i]]));
    });
  };
  const from = Math.floor(Date.now() / 1000) - 7200;
  const to = Math.floor(Date.now() / 1000) + 3600;
  for (const group of ['client_key', 'model', 'provider', 'day']) {
    const rows = await csv(`from=${from}&to=${to}&group_by=${group}`);
    assert.equal(rows.reduce((s, x) => s + Number(x.cost_micros), 0), stats.cost, `${group}: ${JSON.stringify(rows)}`);
    assert.equal(rows.reduce((s, x) => s + Number(x.requests), 0), 5, group);
    assert.ok(rows.every((x) => x.currency === 'USD'));
  }
  const models = await csv(`from=${from}&to=${to}&group_by=model`);
  assert.deepEqual(models.map((x) => [x.model, x.cost]), [['"gpt-4o"', '0.026265'], ['"gpt-4o-mini"', '0.001050']]);
  const clients = await csv(`from=${from}&to=${to}&group_by=client_key`);
  assert.ok(clients.some((x) => x.name === '"alpha, ""quoted"""'), JSON.stringify(clients));
  const providers = await csv(`from=${new Date((from) * 1000).toISOString().replace(/\.\d+Z$/, 'Z')}&group_by=provider`);
  assert.equal(providers[0].provider_id, String(p.id));

  const bad = await f.gw.api('GET', '/api/admin/usage.csv?group_by=week', { token: f.token });
  assert.equal(bad.status, 400);
  assert.match(bad.json.error.message, /group_by/);
});

test('BUDGET_TIMEZONE with daylight saving (Europe/Berlin): a daily budget resets at the zone\'s midnight; a zone that does not exist stops the start', async (t) => {
  const f = await fusion(t, { env: { BUDGET_TIMEZONE: 'Europe/Berlin' } });
  assert.equal((await f.must('GET', '/api/admin/settings')).budget_timezone, 'Europe/Berlin');
  const up = await f.upstream();
  await f.provider(await f.group(), up);
  await f.must('PUT', '/api/admin/prices', { prices: [{ model: '*', input: PER_TOKEN, output: PER_TOKEN }] });
  up.behave('default', { type: 'ok', usage: { prompt_tokens: 10, completion_tokens: 10 } });
  const ck = await f.clientKey({ budget_daily: 20 });
  const body = chatBody('gpt-4o', { max_tokens: 10 });
  assert.equal((await f.chat(ck.key, body)).status, 200);
  const day = await f.chat(ck.key, body);
  assertOpenAIError(day, 429, 'insufficient_quota');
  const m = day.json.error.message.match(/daily budget .* resets at (\S+) \(Europe\/Berlin\)/);
  assert.ok(m, day.json.error.message);

  // The reset is the next midnight in Berlin, whatever its offset today.
  const reset = new Date(m[1]);
  const berlin = new Intl.DateTimeFormat('en-GB', { timeZone: 'Europe/Berlin', hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23' });
  assert.equal(berlin.format(reset), '00:00:00', `${m[1]} in Berlin`);
  const left = reset.getTime() - Date.now();
  assert.ok(left > 0 && left <= 25 * 3600 * 1000, `${left} ms to the reset`);
  const ra = Number(day.headers['retry-after']);
  assert.ok(Math.abs(ra * 1000 - left) < 5000, `Retry-After ${ra}`);
  // The workers count the day the same way: what was spent is today's.
  const key = await f.must('GET', `/api/admin/client-keys/${ck.id}`);
  assert.equal(key.spent_today, 20);

  for (const zone of ['Mars/Olympus_Mons', '../../etc/passwd', 'Europe/Berlin/x']) {
    const bad = new Gateway({ env: { BUDGET_TIMEZONE: zone } });
    t.after(() => fs.rmSync(bad.dir, { recursive: true, force: true }));
    assert.notEqual(await bad.start({ expectExit: true }), 0, zone);
    assert.match(bad.output, /BUDGET_TIMEZONE: .* is neither UTC, an offset such as UTC\+08:00, nor a time zone/);
  }
});
