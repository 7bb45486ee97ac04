// The Docker image, built and run by a Docker engine this test starts
// itself: Debian's docker.io with its own dockerd (its own data root and
// socket, no iptables, no bridge; containers on the host's network),
// base images made with debootstrap from the machine's Debian mirror
// when no registry is reachable, and the build stage handed the host's
// CA bundle as a BuildKit secret (npm is reached through a
// TLS-inspecting proxy here).
//
// The engine's data root (images and build cache) and the debootstrap
// tarball are kept in FUSION_DOCKER_CACHE (default ~/.cache/fusion-docker)
// between runs. Skipped, with the reason, where no engine can start
// (not root, no docker.io, no mirror).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { ROOT, CA, freePort, NEW_PASSWORD } from '../blackbox/harness.js';
import { startMockUpstream } from '../blackbox/mock-upstream.js';

const DOCKER = '/usr/bin/docker';
const DOCKERD = '/usr/sbin/dockerd';
const CACHE = process.env.FUSION_DOCKER_CACHE
  || path.join(process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache'), 'fusion-docker');
const IMAGE = 'llm-fusion-engine:test';
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

let diag = (msg) => process.stdout.write(`docker: ${msg}\n`);
const log = (msg) => diag(msg);

// The machine's Debian mirror, from its apt sources (bookworm, main).
function debianMirror() {
  if (process.env.FUSION_DEBIAN_MIRROR) return process.env.FUSION_DEBIAN_MIRROR;
  const texts = [];
  for (const f of ['/etc/apt/sources.list', ...fs.readdirSync('/etc/apt/sources.list.d').map((x) => `/etc/apt/sources.list.d/${x}`)]) {
    try { texts.push(fs.readFileSync(f, 'utf8')); } catch { /* none */ }
  }
  for (const text of texts) {
    // One-line format: deb URI bookworm main
    for (const m of text.matchAll(/^deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+bookworm\s+.*\bmain\b/gm)) return m[1];
    // deb822 format: a stanza naming Suites: bookworm
    for (const stanza of text.split(/\n\s*\n/)) {
      const uri = stanza.match(/^URIs:\s*(\S+)/m);
      const suites = stanza.match(/^Suites:\s*(.*)$/m);
      if (uri && suites && suites[1].split(/\s+/).includes('bookworm') && !/security/.test(uri[1])) return uri[1];
    }
  }
  return null;
}

// Mounts dockerd leaves under dir (its network namespace's bind mount).
function unmountUnder(dir) {
  const mounts = fs.readFileSync('/proc/self/mounts', 'utf8').split('\n').map((l) => l.split(' ')[1]).filter((m) => m && m.startsWith(`${dir}/`));
  for (const m of mounts.sort().reverse()) execFileSync('umount', ['-l', m]);
}

// Runs a command; resolves { code, out } (stdout and stderr together).
function run(cmd, args, { timeoutMs = 600000, logFile } = {}) {
  return new Promise((resolve) => {
    const p = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, DOCKER_BUILDKIT: '1' } });
    let out = '';
    const sink = logFile ? fs.createWriteStream(logFile) : null;
    const take = (d) => { out += d; if (sink) sink.write(d); if (out.length > 4e6) out = out.slice(-2e6); };
    p.stdout.on('data', take);
    p.stderr.on('data', take);
    const timer = setTimeout(() => p.kill('SIGKILL'), timeoutMs);
    p.on('close', (code) => { clearTimeout(timer); if (sink) sink.end(); resolve({ code, out }); });
    p.stdin.end();
  });
}

// A directory of this run's own (short: dockerd's sockets live under it).
const RUN = fs.mkdtempSync('/tmp/fusion-docker-');
const SOCK = path.join(RUN, 'docker.sock');
const docker = (args, opts) => run(DOCKER, ['-H', `unix://${SOCK}`, ...args], opts);

// The cache is one engine's data root: one run at a time holds it.
function lockCache() {
  const lock = path.join(CACHE, 'lock');
  fs.mkdirSync(CACHE, { recursive: true });
  for (;;) {
    try {
      fs.writeFileSync(lock, String(process.pid), { flag: 'wx' });
      return () => fs.rmSync(lock, { force: true });
    } catch {
      const pid = Number(fs.readFileSync(lock, 'utf8'));
      try { process.kill(pid, 0); } catch { fs.rmSync(lock, { force: true }); continue; }
      return null;
    }
  }
}

async function startEngine() {
  const dlog = fs.openSync(path.join(RUN, 'dockerd.log'), 'w');
  const d = spawn(DOCKERD, [
    `--data-root=${path.join(CACHE, 'data')}`, `--exec-root=${path.join(RUN, 'exec')}`,
    `--pidfile=${path.join(RUN, 'dockerd.pid')}`, `--host=unix://${SOCK}`,
    '--iptables=false', '--ip6tables=false', '--ip-masq=false', '--bridge=none',
  ], { stdio: ['ignore', dlog, dlog], detached: true });
  const until = Date.now() + 60000;
  while (Date.now() < until) {
    if (d.exitCode !== null) break;
    if ((await docker(['version'], { timeoutMs: 10000 })).code === 0) return d;
    await sleep(250);
  }
  try { process.kill(d.pid, 'SIGKILL'); } catch { /* gone */ }
  return { failed: fs.readFileSync(path.join(RUN, 'dockerd.log'), 'utf8').split('\n').slice(-15).join('\n') };
}

async function stopEngine(d) {
  const gone = new Promise((r) => { if (d.exitCode !== null) r(); else d.on('exit', r); });
  try { process.kill(d.pid, 'SIGTERM'); } catch { return; }
  if (await Promise.race([gone.then(() => 'ok'), sleep(30000)]) !== 'ok') {
    try { process.kill(d.pid, 'SIGKILL'); } catch { /* gone */ }
    await gone;
  }
}

// debian:bookworm and debian:bookworm-slim, made with debootstrap (the
// tarball is kept) when the engine does not have them.
async function baseImages(mirror) {
  const have = async (tag) => (await docker(['image', 'inspect', tag], { timeoutMs: 30000 })).code === 0;
  if (await have('debian:bookworm') && await have('debian:bookworm-slim')) return 'cached';
  const tarball = path.join(CACHE, 'bookworm-minbase.tar');
  const slim = path.join(CACHE, 'bookworm-minbase-slim.tar');
  if (!fs.existsSync(tarball) || !fs.existsSync(slim)) {
    const root = path.join(RUN, 'rootfs');
    const t0 = Date.now();
    const r = await run('debootstrap', ['--variant=minbase', 'bookworm', root, mirror], { timeoutMs: 1200000, logFile: path.join(RUN, 'debootstrap.log') });
    assert.equal(r.code, 0, `debootstrap failed:\n${r.out.slice(-3000)}`);
    // What apt fetched to install stays out of the images; the slim one
    // also goes without documentation and locales.
    const lean = ['--exclude=./var/cache/apt/archives/*.deb', '--exclude=./var/lib/apt/lists/*_Packages',
      '--exclude=./var/lib/apt/lists/*_Translation-*'];
    const slimmer = ['--exclude=./usr/share/doc/*', '--exclude=./usr/share/man/*', '--exclude=./usr/share/locale/*',
      '--exclude=./usr/share/info/*'];
    for (const [file, excl] of [[tarball, lean], [slim, [...lean, ...slimmer]]]) {
      const tr = await run('tar', ['-C', root, ...excl, '-cf', `${file}.tmp`, '.']);
      assert.equal(tr.code, 0, tr.out);
      fs.renameSync(`${file}.tmp`, file);
    }
    fs.rmSync(root, { recursive: true, force: true });
    log(`debootstrap of bookworm (minbase): ${((Date.now() - t0) / 1000).toFixed(0)} s`);
  }
  for (const [file, tag] of [[tarball, 'debian:bookworm'], [slim, 'debian:bookworm-slim']]) {
    const r = await docker(['import', file, tag]);
    assert.equal(r.code, 0, r.out);
  }
  return 'imported';
}

function httpsGet(url) {
  return new Promise((resolve, reject) => {
    https.get(url, { ca: CA }, (res) => {
      let text = '';
      res.on('data', (d) => { text += d; });
      res.on('end', () => resolve({ status: res.statusCode, text }));
    }).on('error', reject);
  });
}

async function api(base, method, p, { token, body } = {}) {
  const r = await fetch(`${base}${p}`, {
    method, headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await r.text();
  let json;
  try { json = JSON.parse(text); } catch { json = undefined; }
  return { status: r.status, json, text };
}

async function waitHealthy(base, ms = 60000) {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    try {
      const r = await fetch(`${base}/healthz`);
      if (r.status === 200) return true;
    } catch { /* not yet */ }
    await sleep(250);
  }
  return false;
}

// Processes of the container as the host sees them: { pid, args, uid }.
async function containerProcesses(ctr) {
  const r = await docker(['top', ctr, '-eo', 'pid,args']);
  assert.equal(r.code, 0, r.out);
  return r.out.trim().split('\n').slice(1).map((l) => {
    const m = l.trim().match(/^(\d+)\s+(.*)$/);
    const status = fs.readFileSync(`/proc/${m[1]}/status`, 'utf8');
    return { pid: Number(m[1]), args: m[2], uid: Number(status.match(/^Uid:\s+(\d+)/m)[1]) };
  });
}

test('the Docker image builds behind the TLS-inspecting proxy, runs privilege-separated with its data in a volume, and keeps its configuration across a restart', { timeout: 45 * 60 * 1000 }, async (t) => {
  diag = (msg) => t.diagnostic(`docker: ${msg}`);
  const skip = (why) => { log(`skipped: ${why}`); t.skip(why); };
  // Undone last first, whatever fails on the way.
  const undo = [() => fs.rmSync(RUN, { recursive: true, force: true }), () => unmountUnder(RUN)];
  const defer = (fn) => undo.push(fn);
  t.after(async () => {
    for (const fn of undo.reverse()) {
      try { await fn(); } catch (err) { log(`clean-up: ${err.message}`); }
    }
  });
  if (process.getuid?.() !== 0) return skip('starting a Docker engine needs root');
  for (const bin of [DOCKER, DOCKERD, '/usr/sbin/debootstrap']) {
    if (!fs.existsSync(bin)) return skip(`${bin} is missing (make deps installs docker.io and debootstrap)`);
  }
  const mirror = debianMirror();
  if (!mirror) return skip('no Debian bookworm mirror in the apt sources (set FUSION_DEBIAN_MIRROR)');
  const unlock = lockCache();
  if (!unlock) return skip(`another run holds the Docker cache in ${CACHE}`);
  defer(unlock);

  const engine = await startEngine();
  if (engine.failed) return skip(`dockerd did not start here:\n${engine.failed}`);
  defer(() => stopEngine(engine));

  const t0 = Date.now();
  const base = await baseImages(mirror);
  const tBase = Date.now();
  log(`base images: ${base} (${((tBase - t0) / 1000).toFixed(0)} s)`);

  // The build, with the host's CA bundle as a BuildKit secret.
  fs.mkdirSync(path.join(ROOT, 'tests/artifacts'), { recursive: true });
  const build = await docker(['build', '--network', 'host', '--progress', 'plain',
    '--secret', 'id=ca_bundle,src=/etc/ssl/certs/ca-certificates.crt', '-t', IMAGE, ROOT],
  { timeoutMs: 40 * 60 * 1000, logFile: path.join(ROOT, 'tests/artifacts/docker-build.log') });
  assert.equal(build.code, 0, `docker build failed:\n${build.out.slice(-4000)}`);
  const tBuild = Date.now();
  log(`image build: ${((tBuild - tBase) / 1000).toFixed(0)} s`);
  // The secret never lands in the image.
  const hist = await docker(['history', '--no-trunc', IMAGE]);
  assert.doesNotMatch(hist.out, /BEGIN CERTIFICATE|ca_bundle.*COPY/);

  const up = await startMockUpstream({ models: ['gpt-4o'], defaultContent: 'Hello from the host.' });
  defer(() => up.close());
  const port = await freePort();
  const tlsPort = await freePort();
  const ctr = `fusion-test-${process.pid}`;
  const volume = `${ctr}-data`;
  const gw = `http://127.0.0.1:${port}`;
  defer(async () => {
    const logs = await docker(['logs', ctr]);
    fs.writeFileSync(path.join(ROOT, 'tests/artifacts/docker-container.log'), logs.out);
    await docker(['rm', '-f', ctr]);
    await docker(['volume', 'rm', '-f', volume]);
    // The cache keeps what the next build reuses, within a bound.
    await docker(['image', 'prune', '-f']);
    await docker(['builder', 'prune', '-f', '--keep-storage', '6GB']);
  });
  const r = await docker(['run', '-d', '--name', ctr, '--network', 'host', '-v', `${volume}:/app/data`,
    '-e', `PORT=${port}`, '-e', `TLS_PORT=${tlsPort}`, '-e', 'BIND_ADDRESS=127.0.0.1', '-e', 'WORKERS=2', IMAGE]);
  assert.equal(r.code, 0, r.out);
  assert.ok(await waitHealthy(gw), `the container did not answer /healthz:\n${(await docker(['logs', ctr])).out}`);
  const h = await fetch(`${gw}/healthz`);
  assert.deepEqual(await h.json(), { status: 'ok' });
  assert.equal((await httpsGet(`https://localhost:${tlsPort}/healthz`)).status, 200, 'HTTPS answers too');

  // Privilege separation: the parent is root, workers and key manager
  // are the image's user "fusion".
  const fusionUid = Number((await docker(['exec', ctr, 'id', '-u', 'fusion'])).out.trim());
  assert.ok(fusionUid > 0);
  const procs = await containerProcesses(ctr);
  const workers = procs.filter((p) => /\[wrk \d+\]/.test(p.args));
  assert.equal(workers.length, 2, JSON.stringify(procs));
  for (const p of [...workers, ...procs.filter((x) => /\[keymgr\]/.test(x.args))]) {
    assert.equal(p.uid, fusionUid, `${p.args} runs as uid ${p.uid}`);
  }
  assert.equal(procs.find((p) => /\[parent\]/.test(p.args)).uid, 0);

  // An operator's first minutes: log in, change the password, add a
  // provider pointing at the host, answer a /v1 request.
  let token = (await api(gw, 'POST', '/api/auth/login', { body: { username: 'admin', password: 'admin' } })).json.token;
  assert.equal((await api(gw, 'PUT', '/api/auth/password', { token, body: { old_password: 'admin', new_password: NEW_PASSWORD } })).status, 200);
  token = (await api(gw, 'POST', '/api/auth/login', { body: { username: 'admin', password: NEW_PASSWORD } })).json.token;
  const g = (await api(gw, 'POST', '/api/admin/groups', { token, body: { name: 'docker', priority: 1 } })).json;
  const p = (await api(gw, 'POST', '/api/admin/providers', { token, body: { group_id: g.id, name: 'host-mock', base_url: up.url, models: ['gpt-4o'] } })).json;
  assert.equal((await api(gw, 'POST', '/api/admin/keys', { token, body: { provider_id: p.id, key: 'sk-up-docker-000000000001' } })).status, 201);
  const ck = (await api(gw, 'POST', '/api/admin/client-keys', { token, body: { name: 'docker-client' } })).json;
  const chat = async () => api(gw, 'POST', '/v1/chat/completions', { token: ck.key, body: { model: 'gpt-4o', messages: [{ role: 'user', content: 'Hi' }] } });
  let c = await chat();
  assert.equal(c.status, 200, c.text);
  assert.equal(c.json.choices[0].message.content, 'Hello from the host.');
  assert.equal(up.requests.at(-1).key, 'sk-up-docker-000000000001');

  // Restarted, it finds its configuration (and its password) in the volume.
  assert.equal((await docker(['restart', ctr])).code, 0);
  assert.ok(await waitHealthy(gw), 'healthy after the restart');
  assert.equal((await api(gw, 'POST', '/api/auth/login', { body: { username: 'admin', password: 'admin' } })).status, 401);
  token = (await api(gw, 'POST', '/api/auth/login', { body: { username: 'admin', password: NEW_PASSWORD } })).json.token;
  const providers = (await api(gw, 'GET', '/api/admin/providers', { token })).json;
  assert.deepEqual(providers.data.map((x) => x.name), ['host-mock']);
  c = await chat();
  assert.equal(c.status, 200, c.text);
  assert.equal((await api(gw, 'GET', '/readyz')).status, 200);
  log(`run checks: ${((Date.now() - tBuild) / 1000).toFixed(0)} s; total ${((Date.now() - t0) / 1000).toFixed(0)} s`);
});
