// End to end: Settings in Debian's headless Chromium (playwright-core)
// against the real ./fusion binary. The retention the gateway was started
// with; an export downloaded as a file (without secrets, then with the
// upstream keys sealed to a passphrase); that document edited, picked as
// a file for import, its difference checked (in English and Chinese)
// before anything changes, applied after a confirmation, the client key
// it created shown once and usable, and the edit on the providers page.
// Screenshots go to tests/artifacts/screenshots/ (settings-import-*).
//
// Steps run in order and share one browser.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { Gateway, ROOT, NEW_PASSWORD } from '../blackbox/harness.js';
import { openBrowser, stopGateway } from './browser.js';

const SHOTS = path.join(ROOT, 'tests/artifacts/screenshots');
const UPSTREAM_KEY = 'sk-upstream-settings-0123456789abcdef';
const PASSPHRASE = 'a long enough passphrase';
const EDITED_URL = 'http://127.0.0.1:9/v2-edited';
const STEP = { timeout: 60000 };

let gw;
let token;
let browser;
let page;
let exported;
let edited;
const problems = [];
const violations = [];

async function go(route) {
  await page.goto(`${gw.url}${route}`);
  await page.waitForLoadState('networkidle');
}

// Clicks the export button and reads the file the browser saved.
async function download() {
  const [file] = await Promise.all([page.waitForEvent('download'), page.getByTestId('export-download').click()]);
  const text = fs.readFileSync(await file.path(), 'utf8');
  return { name: file.suggestedFilename(), text, doc: JSON.parse(text) };
}

// Picks the document as a file, as an operator would, and checks it.
async function preview(doc) {
  await page.getByTestId('import-file').setInputFiles({
    name: 'fusion-config.json', mimeType: 'application/json', buffer: Buffer.from(JSON.stringify(doc, null, 2)),
  });
  await page.getByTestId('import-preview').click();
  await page.getByTestId('import-diff').waitFor();
}

async function provider() {
  const r = await gw.api('GET', '/api/admin/providers', { token });
  return r.json.data.find((p) => p.name === 'openai-main');
}

describe('settings in Chromium', { timeout: 240000 }, () => {
  before(async () => {
    fs.mkdirSync(SHOTS, { recursive: true });
    gw = new Gateway({ env: { LOG_RETENTION_DAYS: '14', LOG_MAX_MB: '0' } });
    await gw.start();
    token = await gw.admin();
    const g = await gw.api('POST', '/api/admin/groups', { token, body: { name: 'primary', priority: 10 } });
    assert.equal(g.status, 201, g.text);
    const p = await gw.api('POST', '/api/admin/providers', {
      token,
      body: { group_id: g.json.id, name: 'openai-main', type: 'openai', base_url: 'http://127.0.0.1:9/v1', models: ['gpt-e2e'] },
    });
    assert.equal(p.status, 201, p.text);
    const k = await gw.api('POST', '/api/admin/keys', { token, body: { provider_id: p.json.id, key: UPSTREAM_KEY, label: 'team' } });
    assert.equal(k.status, 201, k.text);
    const c = await gw.api('POST', '/api/admin/client-keys', { token, body: { name: 'app' } });
    assert.equal(c.status, 201, c.text);

    ({ browser, page } = await openBrowser({ viewport: { width: 1280, height: 800 }, problems, violations }));
  });

  after(async () => {
    await browser?.close();
    if (gw) await stopGateway(gw);
  });

  it('logs in and shows the retention the gateway was started with', STEP, async () => {
    await go('/login');
    await page.getByLabel('Username').fill('admin');
    await page.getByLabel('Password').fill(NEW_PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL((u) => u.pathname === '/');
    await go('/settings');
    await page.getByRole('heading', { name: 'Retention' }).waitFor();
    const row = (f) => page.getByTestId(`setting-${f}`);
    assert.equal(await page.getByTestId('setting-log_retention_days-value').textContent(), '14 days');
    assert.match(await row('log_retention_days').textContent(), /LOG_RETENTION_DAYS.*0 keeps them forever/);
    assert.equal(await page.getByTestId('setting-rollup_retention_days-value').textContent(), '400 days');
    assert.match(await row('rollup_retention_days').textContent(), /ROLLUP_RETENTION_DAYS/);
    assert.equal(await page.getByTestId('setting-log_max_mb-value').textContent(), 'No limit (0)');
    assert.match(await row('log_max_mb').textContent(), /LOG_MAX_MB/);
  });

  it('downloads the export without secrets', STEP, async () => {
    const file = await download();
    assert.match(file.name, /^fusion-config-\d{4}-\d\d-\d\d\.json$/);
    const api = await gw.api('GET', '/api/admin/export', { token });
    assert.deepEqual(file.doc, api.json);
    const prov = file.doc.groups[0].providers[0];
    assert.equal(prov.name, 'openai-main');
    assert.equal(prov.keys.length, 1);
    assert.equal(prov.keys[0].label, 'team');
    assert.equal(prov.keys[0].secret, undefined);
    assert.equal(file.doc.secrets, undefined);
    assert.ok(!file.text.includes(UPSTREAM_KEY));
    exported = file.doc;
    await page.getByText(`Saved as ${file.name}.`).waitFor();
  });

  it('exports the upstream keys sealed, only behind a passphrase of 12 characters', STEP, async () => {
    await page.getByLabel(/Include the upstream keys/).check();
    const button = page.getByTestId('export-download');
    assert.equal(await button.isDisabled(), true);
    await page.locator('input[name=export_passphrase]').fill('too-short');
    await page.getByText('The passphrase needs at least 12 characters.').waitFor();
    assert.equal(await button.isDisabled(), true);
    await page.locator('input[name=export_passphrase]').fill(PASSPHRASE);
    await page.locator('input[name=export_passphrase_again]').fill(PASSPHRASE);
    const file = await download();
    assert.match(file.name, /-secrets\.json$/);
    assert.equal(file.doc.secrets.kdf, 'argon2id13');
    const key = file.doc.groups[0].providers[0].keys[0];
    assert.equal(typeof key.secret, 'string');
    assert.ok(!file.text.includes(UPSTREAM_KEY));
    // The passphrase opens it: a dry run of it changes nothing.
    const r = await gw.api('POST', '/api/admin/import?dry_run=true', {
      token, body: file.doc, headers: { 'x-fusion-passphrase': PASSPHRASE },
    });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.created + r.json.updated, 0);
    await page.getByLabel(/Include the upstream keys/).uncheck();
  });

  it('shows the API refusal of a bad document in words', STEP, async () => {
    const bad = structuredClone(exported);
    bad.groups[0].strategy = 'fastest';
    await page.getByLabel('Document (JSON)').fill(JSON.stringify(bad));
    await page.getByTestId('import-preview').click();
    await page.getByRole('alert').filter({ hasText: 'groups[0]' }).waitFor();
    assert.match(await page.getByRole('alert').textContent(), /strategy/);
    assert.equal(await page.getByTestId('import-apply').isDisabled(), true);
  });

  it('dry-runs the edited document: the difference, and nothing changed yet', STEP, async () => {
    edited = structuredClone(exported);
    edited.groups[0].providers[0].base_url = EDITED_URL;
    edited.client_keys.push({ ...exported.client_keys[0], name: 'imported-app' });
    await preview(edited);
    const diff = page.getByTestId('import-diff');
    assert.match(await diff.textContent(), /1 to create.*1 to update/);
    const rows = page.getByTestId('import-change');
    assert.equal(await rows.count(), 2);
    const update = rows.filter({ hasText: 'primary/openai-main' });
    assert.match(await update.textContent(), /update.*provider.*primary\/openai-main.*base_url/);
    assert.match(await rows.filter({ hasText: 'imported-app' }).textContent(), /create.*client key.*imported-app/);
    assert.equal((await provider()).base_url, 'http://127.0.0.1:9/v1');
    await page.screenshot({ path: path.join(SHOTS, 'settings-import-en-light-desktop.png'), fullPage: true });
  });

  it('shows the same difference in Chinese', STEP, async () => {
    await page.getByLabel('Language').first().selectOption('zh-CN');
    await page.getByRole('heading', { name: '设置' }).waitFor();
    await go('/settings');
    assert.equal(await page.getByTestId('setting-log_retention_days-value').textContent(), '14 天');
    await preview(edited);
    assert.match(await page.getByTestId('import-diff').textContent(), /将新建 1.*将修改 1/);
    assert.match(await page.getByTestId('import-change').filter({ hasText: 'openai-main' }).textContent(), /修改.*提供商/);
    await page.screenshot({ path: path.join(SHOTS, 'settings-import-zh-light-desktop.png'), fullPage: true });
    await page.getByLabel('语言').first().selectOption('en');
    await page.getByRole('heading', { name: 'Settings' }).waitFor();
  });

  it('applies after a confirmation and shows the new client key once', STEP, async () => {
    await page.getByTestId('import-apply').click();
    const confirm = page.getByRole('alertdialog');
    assert.match(await confirm.textContent(), /1 records will be created and 1 changed/);
    await confirm.getByRole('button', { name: 'Cancel' }).click();
    await confirm.waitFor({ state: 'detached' });
    assert.equal((await provider()).base_url, 'http://127.0.0.1:9/v1');

    await page.getByTestId('import-apply').click();
    await page.getByRole('alertdialog').getByRole('button', { name: 'Apply' }).click();
    // Headless UI's dialog root has no box of its own: wait for its content.
    const keys = page.getByRole('dialog', { name: 'Client keys created' });
    await keys.getByTestId('imported-key-imported-app').waitFor();
    assert.match(await keys.getByRole('alert').textContent(), /shown only once/);
    const secret = (await keys.getByTestId('imported-key-imported-app').textContent()).trim();
    assert.match(secret, /^sk-fe-/);
    // The key the import made is a working client key.
    const models = await fetch(`${gw.url}/v1/models`, { headers: { authorization: `Bearer ${secret}` } });
    assert.equal(models.status, 200);
    await keys.getByRole('button', { name: 'Close' }).click();
    await keys.waitFor({ state: 'detached' });
    await page.getByText('Applied: 1 created, 1 updated.').waitFor();
    assert.equal(await page.getByTestId('import-apply').isDisabled(), true);
    assert.equal((await provider()).base_url, EDITED_URL);
  });

  it('shows the change on the providers page', STEP, async () => {
    await go('/providers');
    await page.getByTestId('provider-openai-main').getByText(EDITED_URL).waitFor();
    await go('/client-keys');
    await page.getByText('imported-app').first().waitFor();
  });

  it('ran without script errors or CSP violations', STEP, () => {
    assert.deepEqual(problems, []);
    assert.deepEqual(violations, []);
  });
});
