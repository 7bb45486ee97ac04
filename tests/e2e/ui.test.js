// End to end: the admin SPA in Debian's headless Chromium, driven by
// playwright-core, against the real ./fusion binary and a mock upstream.
// One operator's first hour: log in, change the default password, create
// a group, a provider pointing at the mock, a key and a client key, send a
// chat request through the gateway, find it in the logs and on the
// dashboard, whose charts must draw without a CSP violation. Screenshots of every page (light and dark, desktop and phone)
// go to tests/artifacts/screenshots/.
//
// Steps run in order and share one browser; a step that fails leaves the
// next ones to report on their own.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { Gateway, ROOT, NEW_PASSWORD, freePort } from '../blackbox/harness.js';
import { openBrowser, stopGateway } from './browser.js';

const SHOTS = path.join(ROOT, 'tests/artifacts/screenshots');
const MODEL = 'gpt-e2e';
const NEW_MODEL = 'gpt-e2e-next';
const UPSTREAM_KEY = 'sk-upstream-e2e-0123456789abcdef';
const DESKTOP = { width: 1280, height: 800 };
const PHONE = { width: 390, height: 844 };
const STEP = { timeout: 60000 };

// A tiny OpenAI-compatible upstream that records what it was sent: its
// list of models (with a key), and chats, streamed when asked.
function mockUpstream() {
  const seen = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d) => { body += d; });
    req.on('end', () => {
      seen.push({ method: req.method, url: req.url, headers: req.headers, body });
      if (req.method === 'GET' && req.url === '/v1/models' && req.headers.authorization) {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ object: 'list', data: [MODEL, NEW_MODEL].map((id) => ({ id, object: 'model', created: 1, owned_by: 'e2e' })) }));
        return;
      }
      if (req.method !== 'POST' || req.url !== '/v1/chat/completions') {
        res.writeHead(404, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: { message: 'not found', type: 'invalid_request_error' } }));
        return;
      }
      let model = MODEL;
      let stream = false;
      try { ({ model = MODEL, stream = false } = JSON.parse(body)); } catch { /* keep defaults */ }
      if (stream) {
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        const chunk = (delta, extra = {}) => `data: ${JSON.stringify({ id: 'chatcmpl-e2e', object: 'chat.completion.chunk', created: 1, model, choices: [{ index: 0, delta, finish_reason: null }], ...extra })}\n\n`;
        res.write(chunk({ role: 'assistant', content: '' }));
        for (const piece of ['Hello ', 'from the ', 'mock.']) res.write(chunk({ content: piece }));
        res.write(`data: ${JSON.stringify({ id: 'chatcmpl-e2e', object: 'chat.completion.chunk', created: 1, model, choices: [], usage: { prompt_tokens: 11, completion_tokens: 5, total_tokens: 16 } })}\n\n`);
        res.end('data: [DONE]\n\n');
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({
        id: 'chatcmpl-e2e',
        object: 'chat.completion',
        created: Math.floor(Date.now() / 1000),
        model,
        choices: [{ index: 0, message: { role: 'assistant', content: 'Hello from the mock.' }, finish_reason: 'stop' }],
        usage: { prompt_tokens: 11, completion_tokens: 5, total_tokens: 16 },
      }));
    });
  });
  return { server, seen };
}

let gw;
let upstream;
let upstreamPort;
let browser;
let page;
let clientKey;
const problems = [];
// CSP violations, as the page's securitypolicyviolation events and as
// Chromium's console reports of them.
const violations = [];
const cspConsole = [];

async function shot(name, { phone = false, dark = false } = {}) {
  await page.setViewportSize(phone ? PHONE : DESKTOP);
  await page.evaluate((d) => localStorage.setItem('fusion.theme', d ? 'dark' : 'light'), dark);
  await page.reload();
  await page.waitForLoadState('networkidle');
  await page.locator('[role=status]').first().waitFor({ state: 'detached', timeout: 5000 }).catch(() => {});
  const file = `${name}-${dark ? 'dark' : 'light'}-${phone ? 'phone' : 'desktop'}.png`;
  await page.screenshot({ path: path.join(SHOTS, file), fullPage: true });
}

async function shots(name) {
  for (const phone of [false, true]) {
    for (const dark of [false, true]) await shot(name, { phone, dark });
  }
  await page.setViewportSize(DESKTOP);
  await page.evaluate(() => localStorage.setItem('fusion.theme', 'light'));
}

async function go(route) {
  await page.goto(`${gw.url}${route}`);
  await page.waitForLoadState('networkidle');
}

describe('admin UI in Chromium', { timeout: 240000 }, () => {
  before(async () => {
    fs.mkdirSync(SHOTS, { recursive: true });
    upstreamPort = await freePort();
    upstream = mockUpstream();
    await new Promise((r) => upstream.server.listen(upstreamPort, '127.0.0.1', r));
    gw = new Gateway();
    await gw.start();
    ({ browser, page } = await openBrowser({ viewport: DESKTOP, problems, violations, cspConsole }));
  });

  after(async () => {
    await browser?.close();
    upstream?.server.close();
    if (gw) await stopGateway(gw);
  });

  it('serves the SPA with security headers, ETags and client-side routes', STEP, async () => {
    const r = await fetch(`${gw.url}/groups`);
    assert.equal(r.status, 200);
    assert.match(r.headers.get('content-type'), /text\/html/);
    assert.match(r.headers.get('content-security-policy'), /default-src 'self'/);
    assert.equal(r.headers.get('x-frame-options'), 'DENY');
    assert.equal(r.headers.get('x-content-type-options'), 'nosniff');
    assert.equal(r.headers.get('referrer-policy'), 'no-referrer');
    const html = await r.text();
    assert.match(html, /src="\/assets\/app\.js"/);
    const js = await fetch(`${gw.url}/assets/app.js`);
    assert.equal(js.status, 200);
    assert.match(js.headers.get('content-type'), /javascript/);
    const etag = js.headers.get('etag');
    assert.ok(etag);
    const again = await fetch(`${gw.url}/assets/app.js`, { headers: { 'if-none-match': etag } });
    assert.equal(again.status, 304);
    assert.equal((await fetch(`${gw.url}/assets/missing.js`)).status, 404);
    const api = await fetch(`${gw.url}/api/no-such-thing`);
    assert.equal(api.status, 404);
    assert.match(api.headers.get('content-type'), /json/);
  });

  it('shows the login page and refuses a wrong password in words', STEP, async () => {
    await go('/');
    await page.waitForURL(/\/login/);
    await shots('login');
    await page.getByLabel('Password').fill('wrong-password');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('alert').filter({ hasText: 'wrong username or password' }).waitFor();
  });

  it('logs in with admin/admin and is made to change the password', STEP, async () => {
    await page.getByLabel('Username').fill('admin');
    await page.getByLabel('Password').fill('admin');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(/\/change-password/);
    // The admin API refuses work until the password changes.
    const status = await page.evaluate(async () => (await fetch('/api/admin/groups')).status);
    assert.equal(status, 403);
    await shots('change-password');
    await page.getByLabel('Current password').fill('admin');
    await page.getByLabel('New password', { exact: true }).fill(NEW_PASSWORD);
    await page.getByLabel('New password again').fill(NEW_PASSWORD);
    await page.getByRole('button', { name: 'Change password' }).click();
    await page.waitForURL((u) => u.pathname === '/');
    await page.getByTestId('stat-groups').waitFor();
  });

  it('creates a group', STEP, async () => {
    await go('/groups');
    await page.getByText('No groups yet').waitFor();
    // The dialog takes focus on its first field and locks the page behind
    // it (through element.style: the CSP refuses <style> elements);
    // Escape closes it and gives focus back to the button that opened it.
    const add = page.getByRole('button', { name: 'New Group' });
    await add.click();
    await page.getByRole('dialog', { name: 'New Group' }).getByLabel('Name', { exact: true }).waitFor();
    await page.waitForFunction(() => document.activeElement?.getAttribute('name') === 'name');
    assert.equal(await page.evaluate(() => getComputedStyle(document.documentElement).overflow), 'hidden');
    await page.keyboard.press('Escape');
    await page.getByRole('dialog').waitFor({ state: 'detached' });
    await page.waitForFunction(() => /New Group/.test(document.activeElement?.textContent ?? ''));
    assert.notEqual(await page.evaluate(() => getComputedStyle(document.documentElement).overflow), 'hidden');

    await add.click();
    const dlg = page.getByRole('dialog');
    await dlg.getByLabel('Name', { exact: true }).fill('e2e-group');
    await dlg.getByLabel('Priority').fill('10');
    await dlg.getByRole('button', { name: 'Create Group' }).click();
    await page.getByTestId('group-e2e-group').waitFor();
    await shots('groups');
  });

  it('creates a provider pointing at the mock upstream', STEP, async () => {
    await go('/providers');
    await page.getByRole('button', { name: 'New provider' }).click();
    const dlg = page.getByRole('dialog');
    await dlg.getByLabel('Name', { exact: true }).fill('mock');
    // Each provider type suggests its own default base URL.
    const type = dlg.getByRole('combobox', { name: /^Type/ });
    assert.deepEqual(await type.locator('option').evaluateAll((os) => os.map((o) => o.value)), ['openai', 'anthropic', 'gemini']);
    await type.selectOption('anthropic');
    assert.equal(await dlg.getByRole('textbox', { name: /^Base URL/ }).inputValue(), 'https://api.anthropic.com/v1');
    await page.screenshot({ path: path.join(SHOTS, 'provider-anthropic-light-desktop.png') });
    await type.selectOption('gemini');
    assert.equal(await dlg.getByRole('textbox', { name: /^Base URL/ }).inputValue(), 'https://generativelanguage.googleapis.com/v1beta');
    await type.selectOption('openai');
    assert.equal(await dlg.getByRole('textbox', { name: /^Base URL/ }).inputValue(), 'https://api.openai.com/v1');
    await dlg.getByRole('textbox', { name: /^Base URL/ }).fill(`http://127.0.0.1:${upstreamPort}/v1`);
    await dlg.getByRole('textbox', { name: /^Models/ }).fill(MODEL);
    await dlg.getByRole('button', { name: 'Create' }).click();
    await page.getByTestId('provider-mock').waitFor();
  });

  it('adds an upstream key, shown masked', STEP, async () => {
    await go('/keys');
    await page.getByRole('button', { name: 'Add keys' }).click();
    const dlg = page.getByRole('dialog');
    await dlg.getByRole('textbox', { name: /^Keys/ }).fill(UPSTREAM_KEY);
    await dlg.getByLabel('Label').fill('e2e');
    await dlg.getByRole('button', { name: /Add keys/ }).click();
    const row = page.getByTestId('key-row').first();
    await row.waitFor();
    const text = await row.innerText();
    assert.ok(!text.includes(UPSTREAM_KEY), 'the whole key must never be shown');
    assert.match(text, /active/);
    await shots('keys');
  });

  it('creates a client key, shown once', STEP, async () => {
    await go('/client-keys');
    await page.getByRole('button', { name: 'New client key' }).click();
    const dlg = page.getByRole('dialog');
    await dlg.getByLabel('Name', { exact: true }).fill('e2e-app');
    await dlg.getByRole('button', { name: 'Create' }).click();
    const code = page.getByTestId('new-client-key');
    await code.waitFor();
    clientKey = (await code.innerText()).trim();
    assert.match(clientKey, /^sk-fe-/);
    await page.screenshot({ path: path.join(SHOTS, 'client-key-created-light-desktop.png') });
    await page.getByRole('dialog').getByRole('button', { name: 'Close' }).click();
    await page.getByTestId('client-key-e2e-app').waitFor();
    await shots('client-keys');
  });

  it('imports prices from a JSON document on the Prices page', STEP, async () => {
    await go('/prices');
    await page.getByText(/No prices yet/).waitFor();
    const example = JSON.parse(fs.readFileSync(path.join(ROOT, 'conf/prices.example.json'), 'utf8'));
    example.prices.push({ model: MODEL, provider_id: null, input: 2000000, output: 8000000 });
    await page.getByTestId('prices-file').setInputFiles({
      name: 'prices.json', mimeType: 'application/json', buffer: Buffer.from(JSON.stringify(example)),
    });
    await page.getByText(`${example.prices.length} prices imported`).waitFor();
    const row = page.getByTestId(`price-${MODEL}`);
    await row.waitFor();
    assert.match(await row.innerText(), /2\.00[\s\S]*8\.00/);
    await shots('prices');
  });

  it('tests the provider from its card', STEP, async () => {
    await go('/providers');
    await page.getByTestId('provider-mock').getByRole('button', { name: 'Test' }).click();
    const result = page.getByTestId('provider-test-result');
    await result.waitFor();
    const outcome = await result.innerText();
    await shots('providers');
    assert.match(outcome, /^OK: HTTP 200/);
  });

  it('sends a chat request through the gateway with the client key', STEP, async () => {
    assert.ok(clientKey, 'no client key from the step before');
    const r = await fetch(`${gw.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${clientKey}` },
      body: JSON.stringify({ model: MODEL, messages: [{ role: 'user', content: 'Hello!' }] }),
    });
    const text = await r.text();
    assert.equal(r.status, 200, text);
    assert.equal(JSON.parse(text).choices[0].message.content, 'Hello from the mock.');
    const call = upstream.seen.find((s) => s.url === '/v1/chat/completions');
    assert.ok(call, 'the mock upstream was not called');
    assert.equal(call.headers.authorization, `Bearer ${UPSTREAM_KEY}`);
  });

  it('finds the request in the logs with its routing trace', STEP, async () => {
    // The log is written in batches: reload until the request is there.
    const row = page.getByTestId('log-row').first();
    for (let i = 0; i < 10; i++) {
      await go('/logs');
      try { await row.waitFor({ timeout: 1000 }); break; } catch { /* not yet */ }
    }
    await row.waitFor();
    assert.match(await row.innerText(), new RegExp(MODEL));
    await shots('logs');
    await row.click();
    await page.getByTestId('log-trace').waitFor();
    assert.match(await page.getByTestId('log-trace').innerText(), /mock/);
    // 11 prompt tokens at 2.00 and 5 completion tokens at 8.00 per million.
    assert.equal((await page.getByTestId('log-cost').innerText()).trim(), '0.000062 USD');
    await page.screenshot({ path: path.join(SHOTS, 'log-detail-light-desktop.png') });
  });

  it('shows the traffic on the dashboard', STEP, async () => {
    await go('/');
    await page.getByTestId('stat-groups').waitFor();
    assert.equal((await page.getByTestId('stat-groups').innerText()).trim(), '1');
    assert.equal((await page.getByTestId('stat-keys').innerText()).trim(), '1');
    await shots('dashboard');
    await page.getByTestId('stat-requests').waitFor({ timeout: 5000 });
    assert.ok(Number((await page.getByTestId('stat-requests').innerText()).trim()) >= 1);
    await page.getByRole('img', { name: 'Requests per minute' }).waitFor({ timeout: 5000 });
  });

  // Whether recharts meets the gateway's CSP (style-src 'self': no
  // <style> element, no style attribute): the charts drawn with data, the
  // tooltip shown, and not one violation. The canary at the end proves
  // the collectors see what such a library would do.
  it('draws the dashboard charts with recharts and no CSP violation', STEP, async () => {
    assert.match((await fetch(`${gw.url}/`)).headers.get('content-security-policy'), /style-src 'self';/);
    await go('/');
    const chart = page.getByRole('img', { name: 'Requests per minute' });
    await chart.waitFor();
    await page.locator('path.recharts-line-curve').nth(6).waitFor();
    assert.equal(await page.locator('path.recharts-line-curve').count(), 7);
    const box = await chart.boundingBox();
    assert.ok(box.width > 200 && box.height > 100, `chart drawn at ${box.width}x${box.height}`);
    await page.mouse.move(box.x + box.width - 20, box.y + box.height / 2);
    const tip = page.locator('.recharts-tooltip-wrapper').first();
    await tip.getByText(/Requests: \d/).waitFor();
    await page.screenshot({ path: path.join(SHOTS, 'dashboard-tooltip-light-desktop.png') });
    await page.evaluate(() => localStorage.setItem('fusion.theme', 'dark'));
    await page.reload();
    await page.locator('path.recharts-line-curve').nth(6).waitFor();
    await page.evaluate(() => localStorage.setItem('fusion.theme', 'light'));
    assert.deepEqual(violations, []);
    assert.deepEqual(cspConsole, []);

    await page.evaluate(() => {
      const s = document.createElement('style');
      s.textContent = 'body { outline: 1px solid red }';
      document.head.append(s);
      document.body.setAttribute('style', 'outline: 1px solid red');
    });
    for (let i = 0; i < 50 && (violations.length < 2 || cspConsole.length < 2); i++) await new Promise((r) => setTimeout(r, 100));
    assert.deepEqual(violations.map((v) => v.directive).sort(), ['style-src-attr', 'style-src-elem']);
    assert.equal(cspConsole.length, 2);
    // The canary's console reports are not the page's problems.
    for (const m of cspConsole) problems.splice(problems.findIndex((p) => p.includes(m)), 1);
    violations.length = 0;
    cspConsole.length = 0;
    await page.reload();
  });

  it('edits a provider\'s transport and probes, and syncs its models from the upstream', STEP, async () => {
    await go('/providers');
    const card = page.getByTestId('provider-mock');
    await card.getByRole('button', { name: 'Edit' }).click();
    let dlg = page.getByRole('dialog');
    await dlg.getByText('Transport, failover and probes').click();
    await dlg.getByRole('textbox', { name: /^Extra headers/ }).fill('X-E2E: yes');
    await dlg.getByRole('spinbutton', { name: /^Probe interval/ }).fill('30');
    await dlg.getByRole('textbox', { name: /^Fail over without cooldown on/ }).fill('503');
    await page.screenshot({ path: path.join(SHOTS, 'provider-advanced-light-desktop.png') });
    await dlg.getByRole('button', { name: 'Save' }).click();
    await dlg.waitFor({ state: 'detached' });
    await card.getByText('every 30 s').waitFor();

    await card.getByRole('button', { name: 'Sync models' }).click();
    dlg = page.getByRole('dialog', { name: 'Sync models of mock' });
    await dlg.getByTestId('sync-added').getByText(`+ ${NEW_MODEL}`).waitFor();
    await page.screenshot({ path: path.join(SHOTS, 'models-sync-light-desktop.png') });
    await dlg.getByRole('button', { name: 'Apply' }).click();
    await dlg.getByTestId('sync-applied').waitFor();
    await dlg.getByRole('button', { name: 'Close' }).click();
    await card.getByText(NEW_MODEL, { exact: true }).waitFor();
    const sync = upstream.seen.filter((s) => s.method === 'GET' && s.url === '/v1/models');
    assert.equal(sync.at(-1).headers.authorization, `Bearer ${UPSTREAM_KEY}`);
    assert.equal(sync.at(-1).headers['x-e2e'], 'yes');
  });

  it('tests an upstream key from its row', STEP, async () => {
    await go('/keys');
    const row = page.getByTestId('key-row').first();
    await row.getByRole('button', { name: 'Test' }).click();
    const result = row.getByTestId('key-test-result');
    await result.waitFor();
    assert.match(await result.innerText(), /^OK: HTTP 200/);
  });

  it('chats in the playground through the gateway, with the request\'s detail', STEP, async () => {
    await go('/playground');
    await page.getByRole('heading', { name: 'Playground' }).waitFor();
    await page.getByLabel('Model').selectOption(MODEL);
    await page.getByLabel('Message').fill('Hello from the browser');
    await page.getByRole('button', { name: 'Send' }).click();
    const answer = page.getByTestId('playground-answer');
    await answer.waitFor();
    assert.equal((await answer.innerText()).trim(), 'Hello from the mock.');
    const detail = page.getByTestId('playground-detail');
    await detail.waitFor();
    const text = await detail.innerText();
    assert.match(text, /mock/);
    assert.match(text, /sk-\.\.\.cdef/);
    assert.ok(!text.includes(UPSTREAM_KEY));
    assert.match(text, /11 \+ 5/);
    assert.match(text, /Admin: admin/);
    await detail.getByTestId('log-trace').waitFor();
    const call = upstream.seen.filter((s) => s.url === '/v1/chat/completions').at(-1);
    assert.equal(JSON.parse(call.body).stream, true);
    assert.equal(call.headers.authorization, `Bearer ${UPSTREAM_KEY}`);
    assert.equal(call.headers['x-e2e'], 'yes');
    await page.screenshot({ path: path.join(SHOTS, 'playground-chat-light-desktop.png'), fullPage: true });
    await shots('playground');
    await page.getByLabel('Language').first().selectOption('zh-CN');
    await page.getByRole('heading', { name: '演练场' }).waitFor();
    await page.screenshot({ path: path.join(SHOTS, 'playground-zh-light-desktop.png'), fullPage: true });
    await page.getByLabel('语言').first().selectOption('en');
  });

  it('switches to Simplified Chinese and back; settings page', STEP, async () => {
    await go('/settings');
    await page.getByRole('heading', { name: 'Settings' }).waitFor();
    await shots('settings');
    await page.getByLabel('Language').first().selectOption('zh-CN');
    await page.getByRole('heading', { name: '设置' }).waitFor();
    await go('/groups');
    await page.getByRole('heading', { name: '分组' }).waitFor();
    await page.screenshot({ path: path.join(SHOTS, 'groups-zh-light-desktop.png'), fullPage: true });
    // The heading's glyphs come from a font that has them (Debian's
    // fonts-noto-cjk), not from a fallback that draws empty boxes.
    const cdp = await page.context().newCDPSession(page);
    await cdp.send('DOM.enable');
    await cdp.send('CSS.enable');
    const { root } = await cdp.send('DOM.getDocument');
    const { nodeId } = await cdp.send('DOM.querySelector', { nodeId: root.nodeId, selector: 'main h1' });
    const { fonts } = await cdp.send('CSS.getPlatformFontsForNode', { nodeId });
    await cdp.detach();
    assert.ok(fonts.some((f) => /CJK/.test(f.familyName) && f.glyphCount >= 2), JSON.stringify(fonts));
    await page.getByLabel('语言').first().selectOption('en');
    await page.getByRole('heading', { name: 'Groups' }).waitFor();
  });

  it('logs out; a reload of a deep link asks to log in again', STEP, async () => {
    await go('/groups');
    await page.getByRole('button', { name: 'Log out' }).first().click();
    await page.waitForURL(/\/login/);
    await go('/client-keys');
    await page.waitForURL(/\/login\?next=%2Fclient-keys/);
  });

  it('ran without script errors or CSP violations', STEP, () => {
    assert.deepEqual(problems, []);
    assert.deepEqual(violations, []);
  });
});
