// The settings page: retention as the gateway runs it, the export (with
// the passphrase rule) and the import's difference, confirmation and the
// client keys it creates.
import { fireEvent, screen, waitFor, within } from '@testing-library/react';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ImportResult } from '../lib/api';
import { ME, mockApi, renderApp, renderAt } from '../test-utils';
import { ImportDiff, parseDocument, passphraseProblem, readText } from './config-transfer';

afterEach(() => {
  vi.unstubAllGlobals();
  vi.restoreAllMocks();
});

// Both cards have a passphrase: find each by its name.
const field = (name: string) => document.querySelector<HTMLInputElement>(`input[name="${name}"]`) as HTMLInputElement;

const SETTINGS = { 'GET /api/admin/settings': { body: { log_retention_days: 30, rollup_retention_days: 0, log_max_mb: 0 } } };

const DOC = {
  fusion_config: 1,
  groups: [{ name: 'primary', priority: 10, enabled: true, strategy: 'round_robin', providers: [{ name: 'oa', base_url: 'http://new/v1' }] }],
  client_keys: [{ name: 'app' }],
};

const DIFF: ImportResult = {
  dry_run: true,
  created: 1,
  updated: 1,
  unchanged: 3,
  changes: [
    { action: 'update', kind: 'provider', name: 'primary/oa', fields: ['base_url', 'timeout_ms'] },
    { action: 'create', kind: 'client_key', name: 'app' },
  ],
  warnings: ['groups[0].providers[0].keys[0] (primary/oa/sk-a...bcd): not created, the document has no secret for it (export with ?secrets=true)'],
};

describe('passphrase rule', () => {
  it('asks for at least 12 characters, counted as characters', () => {
    expect(passphraseProblem('')).toBe('cfg.passShort');
    expect(passphraseProblem('eleven-char')).toBe('cfg.passShort');
    expect(passphraseProblem('twelve-chars')).toBeNull();
    // Four characters are 12 bytes of UTF-8: still too short.
    expect(passphraseProblem('口令口令')).toBe('cfg.passShort');
    expect(passphraseProblem('这是一个足够长的中文口令啊')).toBeNull();
  });

  it('refuses what a header cannot carry as typed', () => {
    expect(passphraseProblem(' twelve-chars')).toBe('cfg.passSpaces');
    expect(passphraseProblem('twelve-chars ')).toBe('cfg.passSpaces');
    expect(passphraseProblem('twelve\tchars!')).toBe('cfg.passControl');
    expect(passphraseProblem('twelve\nchars!')).toBe('cfg.passControl');
    expect(passphraseProblem('inner spaces ok')).toBeNull();
  });
});

describe('import document', () => {
  it('says why a text is not a document', () => {
    expect(parseDocument('  ')).toEqual({ error: 'empty' });
    expect(parseDocument('[1]')).toEqual({ error: 'not an object' });
    expect(parseDocument('{"groups": [')).toHaveProperty('error');
    expect(parseDocument('{"groups": []}')).toEqual({ doc: { groups: [] } });
  });
});

describe('import difference', () => {
  it('shows the counts, each change with action, kind, name and fields, and the warnings', () => {
    renderAt(<ImportDiff result={DIFF} />);
    const diff = screen.getByTestId('import-diff');
    expect(diff).toHaveTextContent('1 to create');
    expect(diff).toHaveTextContent('1 to update');
    expect(diff).toHaveTextContent('3 unchanged');
    const rows = screen.getAllByTestId('import-change');
    expect(rows).toHaveLength(2);
    expect(rows[0]).toHaveTextContent(/update.*provider.*primary\/oa.*base_url, timeout_ms/);
    expect(rows[1]).toHaveTextContent(/create.*client key.*app.*new record/);
    const warn = screen.getByTestId('import-warnings');
    expect(warn).toHaveTextContent('Warnings (1)');
    expect(warn).toHaveTextContent('not created, the document has no secret for it');
  });

  it('says when nothing changes, and what was applied after an apply', () => {
    const { unmount } = renderAt(<ImportDiff result={{ ...DIFF, created: 0, updated: 0, changes: [], warnings: [] }} />);
    expect(screen.getByText(/already matches the document/)).toBeInTheDocument();
    expect(screen.queryByTestId('import-warnings')).toBeNull();
    unmount();
    renderAt(<ImportDiff result={{ ...DIFF, dry_run: false }} />);
    expect(screen.getByTestId('import-diff')).toHaveTextContent(/1 created.*1 updated/);
  });

  it('caps a long list and says how many more there are', () => {
    const many = Array.from({ length: 520 }, (_, i) => ({ action: 'create' as const, kind: 'key' as const, name: `g/p/k${i}` }));
    renderAt(<ImportDiff result={{ ...DIFF, created: 520, updated: 0, changes: many }} />);
    expect(screen.getAllByTestId('import-change')).toHaveLength(500);
    expect(screen.getByText('and 20 more changes')).toBeInTheDocument();
  });

  it('is in Chinese too', () => {
    renderAt(<ImportDiff result={DIFF} />, '/', 'zh-CN');
    expect(screen.getByTestId('import-diff')).toHaveTextContent('将新建 1');
    expect(screen.getAllByTestId('import-change')[0]).toHaveTextContent(/修改.*提供商/);
  });
});

describe('settings page', () => {
  it('shows retention with the variable that sets it and what 0 means', async () => {
    mockApi({ ...ME, ...SETTINGS });
    renderApp('/settings');
    expect(await screen.findByTestId('setting-log_retention_days-value')).toHaveTextContent('30 days');
    expect(screen.getByTestId('setting-log_retention_days')).toHaveTextContent('LOG_RETENTION_DAYS');
    expect(screen.getByTestId('setting-rollup_retention_days-value')).toHaveTextContent('Kept forever (0)');
    expect(screen.getByTestId('setting-rollup_retention_days')).toHaveTextContent('ROLLUP_RETENTION_DAYS');
    expect(screen.getByTestId('setting-log_max_mb-value')).toHaveTextContent('No limit (0)');
    expect(screen.getByTestId('setting-log_max_mb')).toHaveTextContent('LOG_MAX_MB');
  });

  it('exports without secrets, and with them only behind a long enough passphrase', async () => {
    const blobs: Blob[] = [];
    vi.stubGlobal('URL', Object.assign(URL, { createObjectURL: (b: Blob) => (blobs.push(b), 'blob:x'), revokeObjectURL: () => {} }));
    const names: string[] = [];
    vi.spyOn(HTMLAnchorElement.prototype, 'click').mockImplementation(function (this: HTMLAnchorElement) {
      names.push(this.download);
    });
    const calls = mockApi({ ...ME, ...SETTINGS, 'GET /api/admin/export': { body: DOC } });
    renderApp('/settings');
    fireEvent.click(await screen.findByTestId('export-download'));
    await screen.findByText(/Saved as fusion-config-.*\.json/);
    const plain = calls.find((c) => c.url.startsWith('/api/admin/export'));
    expect(plain?.url).toBe('/api/admin/export');
    expect(plain?.headers?.['x-fusion-passphrase']).toBeUndefined();
    expect(JSON.parse(await readText(blobs[0]))).toEqual(DOC);
    expect(names[0]).toMatch(/^fusion-config-\d{4}-\d\d-\d\d\.json$/);

    fireEvent.click(screen.getByLabelText(/Include the upstream keys/));
    const button = screen.getByTestId('export-download');
    expect(button).toBeDisabled();
    fireEvent.change(field('export_passphrase'), { target: { value: 'too-short' } });
    expect(screen.getByText('The passphrase needs at least 12 characters.')).toBeInTheDocument();
    expect(button).toBeDisabled();
    const pass = '足够长的口令-correct-horse';
    fireEvent.change(field('export_passphrase'), { target: { value: pass } });
    fireEvent.change(field('export_passphrase_again'), { target: { value: pass + 'x' } });
    expect(screen.getByText('The two passphrases differ.')).toBeInTheDocument();
    expect(button).toBeDisabled();
    fireEvent.change(field('export_passphrase_again'), { target: { value: pass } });
    expect(button).toBeEnabled();
    fireEvent.click(button);
    await screen.findByText(/-secrets\.json\. It holds your upstream keys/);
    const sealed = calls.filter((c) => c.url.startsWith('/api/admin/export'))[1];
    expect(sealed.url).toBe('/api/admin/export?secrets=true');
    // The header carries the passphrase's UTF-8 bytes, as the gateway reads them.
    const bytes = Uint8Array.from(sealed.headers?.['x-fusion-passphrase'] ?? '', (c) => c.charCodeAt(0));
    expect(new TextDecoder().decode(bytes)).toBe(pass);
  });

  it('shows the export error the API gives', async () => {
    mockApi({
      ...ME,
      ...SETTINGS,
      'GET /api/admin/export': { status: 500, body: { error: { message: "the passphrase's key could not be derived" } } },
    });
    renderApp('/settings');
    fireEvent.click(await screen.findByTestId('export-download'));
    expect(await screen.findByRole('alert')).toHaveTextContent("the passphrase's key could not be derived");
  });

  it('dry-runs an import, shows the difference, applies the same document after a confirmation and shows new client keys once', async () => {
    const calls = mockApi({
      ...ME,
      ...SETTINGS,
      'POST /api/admin/import?dry_run=true': { body: DIFF },
      'POST /api/admin/import': {
        body: { ...DIFF, dry_run: false, client_keys: [{ name: 'app', key: 'sk-fe-imported-secret' }] },
      },
    });
    renderApp('/settings');
    const apply = await screen.findByTestId('import-apply');
    expect(apply).toBeDisabled();
    fireEvent.change(screen.getByLabelText('Document (JSON)'), { target: { value: JSON.stringify(DOC) } });
    fireEvent.click(screen.getByTestId('import-preview'));
    expect(await screen.findByTestId('import-diff')).toHaveTextContent('1 to update');
    const dry = calls.filter((c) => c.url.startsWith('/api/admin/import'));
    expect(dry).toHaveLength(1);
    expect(dry[0].url).toBe('/api/admin/import?dry_run=true');
    expect(dry[0].body).toEqual(DOC);

    fireEvent.click(apply);
    const confirm = await screen.findByRole('alertdialog');
    expect(confirm).toHaveTextContent('1 records will be created and 1 changed');
    // Nothing is applied before the confirmation.
    expect(calls.filter((c) => c.url === '/api/admin/import')).toHaveLength(0);
    fireEvent.click(within(confirm).getByRole('button', { name: 'Apply' }));

    const keys = await screen.findByRole('dialog', { name: 'Client keys created' });
    expect(within(keys).getByTestId('imported-key-app')).toHaveTextContent('sk-fe-imported-secret');
    expect(within(keys).getByRole('alert')).toHaveTextContent(/shown only once/);
    expect(within(keys).getByRole('button', { name: 'Copy' })).toBeInTheDocument();
    const real = calls.filter((c) => c.url === '/api/admin/import');
    expect(real).toHaveLength(1);
    expect(real[0].body).toEqual(DOC);
    fireEvent.click(within(keys).getByRole('button', { name: 'Close' }));
    await waitFor(() => expect(screen.queryByTestId('imported-key-app')).toBeNull());
    expect(screen.getByText('Applied: 1 created, 1 updated.')).toBeInTheDocument();
    expect(screen.getByTestId('import-apply')).toBeDisabled();
  });

  it('forgets the difference when the document changes', async () => {
    mockApi({ ...ME, ...SETTINGS, 'POST /api/admin/import?dry_run=true': { body: DIFF } });
    renderApp('/settings');
    const text = await screen.findByLabelText('Document (JSON)');
    fireEvent.change(text, { target: { value: JSON.stringify(DOC) } });
    fireEvent.click(screen.getByTestId('import-preview'));
    await screen.findByTestId('import-diff');
    expect(screen.getByTestId('import-apply')).toBeEnabled();
    fireEvent.change(text, { target: { value: JSON.stringify({ ...DOC, client_keys: [] }) } });
    expect(screen.queryByTestId('import-diff')).toBeNull();
    expect(screen.getByTestId('import-apply')).toBeDisabled();
  });

  it('refuses text that is not JSON without asking the API, and shows the API refusal', async () => {
    const calls = mockApi({
      ...ME,
      ...SETTINGS,
      'POST /api/admin/import?dry_run=true': {
        status: 400,
        body: { error: { message: 'groups[0].strategy: must be one of round_robin, weighted, least_latency', code: 'invalid_config' } },
      },
    });
    renderApp('/settings');
    const text = await screen.findByLabelText('Document (JSON)');
    fireEvent.change(text, { target: { value: '{"groups": [' } });
    fireEvent.click(screen.getByTestId('import-preview'));
    expect(await screen.findByRole('alert')).toHaveTextContent('This is not a JSON document');
    expect(calls.some((c) => c.url.startsWith('/api/admin/import'))).toBe(false);

    fireEvent.change(text, { target: { value: '{"secrets": {"kdf": "argon2id13"}}' } });
    fireEvent.click(screen.getByTestId('import-preview'));
    expect(await screen.findByRole('alert')).toHaveTextContent('give the passphrase it was exported with');
    expect(calls.some((c) => c.url.startsWith('/api/admin/import'))).toBe(false);

    fireEvent.change(text, { target: { value: '{"groups": [{"name": "g", "strategy": "fastest"}]}' } });
    fireEvent.click(screen.getByTestId('import-preview'));
    expect(await screen.findByRole('alert')).toHaveTextContent('groups[0].strategy: must be one of');
    expect(screen.getByTestId('import-apply')).toBeDisabled();
  });

  it('reads a picked file into the document', async () => {
    const calls = mockApi({ ...ME, ...SETTINGS, 'POST /api/admin/import?dry_run=true': { body: DIFF } });
    renderApp('/settings');
    const input = await screen.findByTestId('import-file');
    const file = new File([JSON.stringify(DOC)], 'fusion-config.json', { type: 'application/json' });
    fireEvent.change(input, { target: { files: [file] } });
    await waitFor(() => expect(screen.getByLabelText('Document (JSON)')).toHaveValue(JSON.stringify(DOC)));
    expect(screen.getByText(/Read from fusion-config\.json/)).toBeInTheDocument();
    fireEvent.click(screen.getByTestId('import-preview'));
    await screen.findByTestId('import-diff');
    expect(calls.find((c) => c.url.startsWith('/api/admin/import'))?.body).toEqual(DOC);
  });
});
