// Production mode: started as root without -n/-r, the workers run
// chrooted into the database directory as an unprivileged user, and the
// key manager (which alone holds the TLS private key) runs apart.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { Gateway, gateway, tempDir, ROOT } from './harness.js';
import { mockUpstream } from './mock-upstream.js';

const asRoot = process.geteuid() === 0;

function procInfo(pid) {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const uid = Number(status.match(/^Uid:\s+(\d+)/m)[1]);
  return { uid, root: fs.readlinkSync(`/proc/${pid}/root`) };
}

test('privilege separation: chrooted unprivileged workers serve HTTP, TLS and admin writes', { skip: !asRoot && 'needs root' }, async (t) => {
  const dir = tempDir();
  fs.chmodSync(dir, 0o755);
  const gw = await gateway(t, { dir, args: ['-f'] });

  const token = await gw.login();
  const changed = await gw.api('PUT', '/api/auth/password', { tls: true, token, body: { old_password: 'admin', new_password: 'privsep-password' } });
  assert.equal(changed.status, 200, changed.text);
  const g = await gw.api('POST', '/api/admin/groups', { tls: true, token, body: { name: 'written-by-nobody' } });
  assert.equal(g.status, 201, g.text);
  assert.equal(gw.sql('SELECT name FROM groups'), 'written-by-nobody');

  const procs = gw.pids();
  const workers = procs.filter((p) => /\[wrk/.test(p.title));
  const keymgr = procs.filter((p) => /\[keymgr\]/.test(p.title));
  assert.equal(workers.length, 2, JSON.stringify(procs));
  assert.equal(keymgr.length, 1, JSON.stringify(procs));
  for (const w of workers) {
    const info = procInfo(w.pid);
    assert.notEqual(info.uid, 0, 'worker runs as root');
    assert.equal(info.root, fs.realpathSync(dir));
  }
  const km = procInfo(keymgr[0].pid);
  assert.notEqual(km.uid, 0, 'key manager runs as root');
  assert.equal(km.root, ROOT);
  // The master key file stays root's alone.
  assert.equal(fs.statSync(`${gw.dbPath}.key`).uid, 0);
  assert.equal(fs.statSync(`${gw.dbPath}.key`).mode & 0o777, 0o600);
});

test('privilege separation refuses a database directory the worker user cannot enter', { skip: !asRoot && 'needs root' }, async (t) => {
  const dir = tempDir();
  fs.chmodSync(dir, 0o700);
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const gw = new Gateway({ dir, args: ['-f'] });
  assert.notEqual(await gw.start({ expectExit: true }), 0);
  assert.match(gw.output, /must be searchable by user 'nobody'/);
});

// A name /etc/hosts maps to 127.0.0.1, other than localhost (which curl
// resolves by itself, without the system's resolver).
function loopbackHostName() {
  for (const line of fs.readFileSync('/etc/hosts', 'utf8').split('\n')) {
    const [addr, ...names] = line.replace(/#.*/, '').trim().split(/\s+/);
    if (addr !== '127.0.0.1') continue;
    const name = names.find((n) => n && !/^localhost$/i.test(n) && !/\.localhost$/i.test(n));
    if (name) return name;
  }
  return null;
}

test('privilege separation: chrooted workers resolve upstream host names (resolver files copied into the chroot)', { skip: !asRoot && 'needs root' }, async (t) => {
  const dir = tempDir();
  fs.chmodSync(dir, 0o755);
  const gw = await gateway(t, { dir, args: ['-f'] });
  for (const f of ['resolv.conf', 'hosts']) {
    if (fs.existsSync(`/etc/${f}`)) assert.equal(fs.readFileSync(`${dir}/etc/${f}`, 'utf8'), fs.readFileSync(`/etc/${f}`, 'utf8'));
  }
  const name = loopbackHostName();
  if (!name) {
    t.diagnostic('no name besides localhost maps to 127.0.0.1 in /etc/hosts: the resolution itself is not tried');
    return;
  }
  const token = await gw.login();
  await gw.api('PUT', '/api/auth/password', { token, body: { old_password: 'admin', new_password: 'privsep-password' } });
  const up = await mockUpstream(t);
  const g = await gw.api('POST', '/api/admin/groups', { token, body: { name: 'g' } });
  const p = await gw.api('POST', '/api/admin/providers', { token, body: { group_id: g.json.id, name: 'by-name', base_url: `http://${name}:${up.port}/v1`, models: ['gpt-4o'] } });
  await gw.api('POST', '/api/admin/keys', { token, body: { provider_id: p.json.id, key: 'sk-privsep-by-name-000000001' } });
  const ck = (await gw.api('POST', '/api/admin/client-keys', { token, body: { name: 'app' } })).json.key;
  const body = { model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] };
  const r = await gw.api('POST', '/v1/chat/completions', { headers: { authorization: `Bearer ${ck}` }, body });
  assert.equal(r.status, 200, r.text);
  const s = await gw.api('POST', '/v1/chat/completions', { tls: true, headers: { authorization: `Bearer ${ck}` }, body: { ...body, stream: true } });
  assert.equal(s.status, 200, s.text);
  assert.match(s.text, /data: \[DONE\]/);
  assert.equal(up.served(), 2);
});
