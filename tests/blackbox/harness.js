// Starts the real fusion binary on loopback with a temporary database and
// talks to it as a client would. Every gateway started here is stopped by
// the test that started it (t.after), and its log is checked for crashed
// workers and sanitizer reports before the test may pass.

import { spawn, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import https from 'node:https';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const BIN = path.resolve(ROOT, process.env.FUSION_BIN || 'fusion');
export const CA = fs.readFileSync(path.join(ROOT, 'cert/server.pem'));
export const NEW_PASSWORD = 'correct-horse-battery';

// A port nobody listens on right now.
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

export function tempDir(prefix = 'fusion-test-') {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Resolves with 'timeout' after ms without keeping the process alive.
const deadline = (ms) => new Promise((r) => setTimeout(r, ms, 'timeout').unref());

// Lines that mean something went wrong inside the gateway even when every
// response looked right.
const BAD_LOG = [
  /AddressSanitizer/, /LeakSanitizer/, /runtime error:/, /died from/,
  /sandbox violation/, /worker \d+ \(pid: \d+\).*gone/, /SIGSEGV|SIGABRT/,
];

export class Gateway {
  constructor(opts = {}) {
    this.dir = opts.dir || tempDir();
    this.dbPath = opts.dbPath || path.join(this.dir, 'fusion.db');
    this.env = opts.env || {};
    this.args = opts.args || ['-fnr'];
    // Where it runs: the TLS certificate and key are read from cert/ there.
    this.cwd = opts.cwd || ROOT;
    this.ca = fs.readFileSync(path.join(this.cwd, 'cert/server.pem'));
    this.output = '';
    this.exitCode = undefined;
    this.allowBadLog = opts.allowBadLog || false;
  }

  // Ports come from freePort(), so another test may take one between the
  // check and the bind: a start that fails on that alone tries new ports.
  async start(opts = {}) {
    for (let tries = 1; ; tries++) {
      try {
        return await this.startOnce(opts);
      } catch (err) {
        if (tries === 3 || this.env.PORT || !/Address already in use/.test(this.output)) throw err;
        this.output = '';
        this.exitCode = undefined;
      }
    }
  }

  async startOnce({ expectExit = false, timeoutMs = 20000 } = {}) {
    this.port = this.env.PORT ? Number(this.env.PORT) : await freePort();
    this.tlsPort = this.env.TLS_PORT ? Number(this.env.TLS_PORT) : await freePort();
    this.url = `http://127.0.0.1:${this.port}`;
    this.tlsUrl = `https://localhost:${this.tlsPort}`;
    const asanLog = path.join(this.dir, 'sanitizer');
    this.proc = spawn(BIN, this.args, {
      cwd: this.cwd,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        PATH: process.env.PATH,
        BIND_ADDRESS: '127.0.0.1',
        WORKERS: '2',
        PID_FILE: path.join(this.dir, 'fusion.pid'),
        // Well inside stop()'s own patience; shutdown tests set their own.
        SHUTDOWN_GRACE_SECONDS: '2',
        ASAN_OPTIONS: `detect_leaks=0:abort_on_error=1:log_path=${asanLog}`,
        UBSAN_OPTIONS: `print_stacktrace=1:halt_on_error=1:log_path=${asanLog}`,
        ...this.env,
        PORT: String(this.port),
        TLS_PORT: String(this.tlsPort),
        DB_PATH: this.dbPath,
      },
    });
    this.proc.stdout.on('data', (d) => { this.output += d; });
    this.proc.stderr.on('data', (d) => { this.output += d; });
    // Resolved once the output the process wrote is read too ('exit' can
    // come first), or a second after it when a child still holds a pipe.
    const drained = (s) => new Promise((r) => (s.closed ? r() : s.once('close', r)));
    const output = Promise.all([drained(this.proc.stdout), drained(this.proc.stderr)]);
    this.exited = new Promise((resolve) => {
      this.proc.on('exit', (code, signal) => {
        this.exitCode = code ?? signal;
        Promise.race([output, sleep(1000)]).then(() => resolve(this.exitCode));
      });
    });

    if (expectExit) {
      const r = await Promise.race([this.exited, deadline(timeoutMs)]);
      if (r === 'timeout') {
        await this.stop();
        throw new Error('gateway kept running where it had to refuse to start');
      }
      return r;
    }

    const until = Date.now() + timeoutMs;
    while (Date.now() < until) {
      if (this.exitCode !== undefined) {
        throw new Error(`gateway exited (${this.exitCode}) during start:\n${this.output}`);
      }
      try {
        // Ready when both listeners answer: workers get the TLS
        // certificate from the key manager shortly after they start.
        const r = await fetch(`${this.url}/api/auth/me`);
        await r.arrayBuffer();
        for (let i = 0; i < 4; i++) await httpsRequest(`${this.tlsUrl}/api/auth/me`, 'GET', {}, undefined, this.ca);
        return this;
      } catch {
        await sleep(50);
      }
    }
    await this.stop();
    throw new Error(`gateway did not answer within ${timeoutMs} ms:\n${this.output}`);
  }

  // The pids of this gateway's processes (parent first).
  pids() {
    if (this.exitCode !== undefined) return [];
    const out = execFileSync('ps', ['-o', 'pid=,args=', '-g', String(this.proc.pid)]).toString();
    return out.trim().split('\n').filter(Boolean).map((l) => {
      const m = l.trim().match(/^(\d+)\s+(.*)$/);
      return { pid: Number(m[1]), title: m[2] };
    });
  }

  async stop({ signal = 'SIGTERM', graceMs = 8000 } = {}) {
    if (!this.proc || this.exitCode !== undefined) return this.exitCode;
    try { process.kill(-this.proc.pid, signal); } catch { /* gone */ }
    if (await Promise.race([this.exited, deadline(graceMs)]) === 'timeout') {
      try { process.kill(-this.proc.pid, 'SIGKILL'); } catch { /* gone */ }
      await this.exited;
      throw new Error(`gateway ignored ${signal} for ${graceMs} ms`);
    }
    // Workers are in the same process group; make sure none is left. Only
    // while the group has members: an empty group's id may already belong
    // to another test's gateway (pids wrap around at 32768 here).
    if (groupAlive(this.proc.pid)) {
      try { process.kill(-this.proc.pid, 'SIGKILL'); } catch { /* all gone */ }
    }
    return this.exitCode;
  }

  // Stop and start again on the same database (new ports); the log of
  // both runs is kept.
  async restart() {
    const code = await this.stop();
    if (code !== 0) throw new Error(`gateway exited with ${code} on SIGTERM`);
    this.exitCode = undefined;
    return this.start();
  }

  // Problems the log shows: crashes, sandbox kills, sanitizer reports.
  problems() {
    const found = [];
    for (const line of this.output.split('\n')) {
      if (BAD_LOG.some((re) => re.test(line))) found.push(line);
    }
    for (const f of fs.readdirSync(this.dir)) {
      if (f.startsWith('sanitizer')) {
        found.push(fs.readFileSync(path.join(this.dir, f), 'utf8'));
      }
    }
    return found;
  }

  async api(method, urlPath, { token, body, raw, headers = {}, tls = false } = {}) {
    const h = { ...headers };
    if (token) h.authorization = `Bearer ${token}`;
    let payload;
    if (raw !== undefined) {
      payload = raw;
      if (!h['content-type']) h['content-type'] = 'application/json';
    } else if (body !== undefined) {
      payload = JSON.stringify(body);
      h['content-type'] = 'application/json';
    } else if (method !== 'GET' && method !== 'HEAD' && method !== 'DELETE') {
      payload = '';
    }
    if (tls) return httpsRequest(`${this.tlsUrl}${urlPath}`, method, h, payload, this.ca);
    const r = await fetch(`${this.url}${urlPath}`, { method, headers: h, body: payload });
    const text = await r.text();
    let json;
    try { json = text ? JSON.parse(text) : undefined; } catch { json = undefined; }
    return { status: r.status, headers: r.headers, text, json };
  }

  async login(password = 'admin', username = 'admin') {
    const r = await this.api('POST', '/api/auth/login', { body: { username, password } });
    if (r.status !== 200) throw new Error(`login failed: ${r.status} ${r.text}`);
    return r.json.token;
  }

  // A session with the default password already changed.
  async admin() {
    const token = await this.login();
    const r = await this.api('PUT', '/api/auth/password', {
      token, body: { old_password: 'admin', new_password: NEW_PASSWORD },
    });
    if (r.status !== 200) throw new Error(`password change failed: ${r.status} ${r.text}`);
    return token;
  }

  sql(query) {
    return execFileSync('sqlite3', [this.dbPath, query]).toString().trim();
  }
}

// Does any process still belong to process group pgid?
function groupAlive(pgid) {
  try {
    return execFileSync('ps', ['-o', 'pid=', '-g', String(pgid)]).toString().trim() !== '';
  } catch {
    return false;
  }
}

function httpsRequest(url, method, headers, payload, ca = CA) {
  return new Promise((resolve, reject) => {
    const req = https.request(url, { method, headers, ca }, (res) => {
      let text = '';
      res.on('data', (d) => { text += d; });
      res.on('end', () => {
        let json;
        try { json = text ? JSON.parse(text) : undefined; } catch { json = undefined; }
        const h = new Headers();
        for (const [k, v] of Object.entries(res.headers)) {
          for (const one of [].concat(v)) h.append(k, one);
        }
        resolve({ status: res.statusCode, headers: h, text, json });
      });
    });
    req.on('error', reject);
    if (payload !== undefined) req.end(payload); else req.end();
  });
}

// The worker holding each established connection to `port`: socket
// inodes from /proc/net/tcp, matched against each worker's open files.
export function connectionsPerWorker(gw, port) {
  const hex = port.toString(16).toUpperCase().padStart(4, '0');
  const inodes = new Set();
  for (const line of fs.readFileSync('/proc/net/tcp', 'utf8').split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    // local address 127.0.0.1:port, state 01 (established), inode
    if (f.length > 9 && f[1] === `0100007F:${hex}` && f[3] === '01') inodes.add(f[9]);
  }
  return gw.pids().filter((p) => /\[wrk/.test(p.title)).map((p) =>
    fs.readdirSync(`/proc/${p.pid}/fd`).filter((fd) => {
      try {
        const m = fs.readlinkSync(`/proc/${p.pid}/fd/${fd}`).match(/^socket:\[(\d+)\]$/);
        return m !== null && inodes.has(m[1]);
      } catch { return false; }
    }).length);
}


// Start a gateway for test t and stop it (and check its log) afterwards.
export async function gateway(t, opts = {}) {
  const gw = new Gateway(opts);
  await gw.start();
  t.after(async () => {
    await gw.stop();
    // Every gateway's log is kept as a test artifact, for the post mortem.
    const logs = path.join(ROOT, 'tests/artifacts/gateways');
    fs.mkdirSync(logs, { recursive: true });
    const name = `${t.name}`.replace(/[^A-Za-z0-9]+/g, '-').slice(0, 80);
    fs.writeFileSync(path.join(logs, `${name}-${gw.port}.log`), gw.output);
    const problems = gw.allowBadLog ? [] : gw.problems();
    fs.rmSync(gw.dir, { recursive: true, force: true });
    if (problems.length) {
      throw new Error(`gateway log shows problems:\n${problems.join('\n')}`);
    }
  });
  return gw;
}
