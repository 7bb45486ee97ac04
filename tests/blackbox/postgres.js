// A private PostgreSQL 15 server for a test file: initdb in a temporary
// directory, the server on a Unix socket in that directory only (no TCP),
// run as an unprivileged user (initdb refuses root: under root the
// server runs as `nobody`). Never a system cluster. The test that starts
// it stops it by its pid (t.after) and removes the directory.
//
//   const pg = await postgres(t);          // skips the test without it
//   pg.createDatabase('x'); pg.url('x');   // postgresql://...?host=dir
//   pg.query('x', 'SELECT 1');             // psql, unaligned rows

import { spawn, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

import { tempDir } from './harness.js';

export const PG_BIN = process.env.PG_BIN || '/usr/lib/postgresql/15/bin';
const PSQL = '/usr/bin/psql';
const PORT = 5432;	// names the socket file; no TCP listener

// Why PostgreSQL tests cannot run here, or null when they can.
export function postgresMissing() {
  for (const f of [path.join(PG_BIN, 'initdb'), path.join(PG_BIN, 'postgres'), PSQL]) {
    if (!fs.existsSync(f)) return `PostgreSQL 15 is not installed (${f} missing; apt-get install postgresql)`;
  }
  return null;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
// Resolves after ms without keeping the process alive.
const deadline = (ms) => new Promise((r) => setTimeout(r, ms, 'timeout').unref());

// The uid and gid the server runs as: ours, or nobody's under root.
function serverUser() {
  if (process.getuid() !== 0) return {};
  const uid = Number(execFileSync('id', ['-u', 'nobody']).toString());
  const gid = Number(execFileSync('id', ['-g', 'nobody']).toString());
  return { uid, gid };
}

export class Postgres {
  constructor() {
    this.dir = tempDir('fusion-pg-');
    this.data = path.join(this.dir, 'data');
    this.user = serverUser();
    this.output = '';
    this.proc = null;
  }

  async start() {
    const { uid, gid } = this.user;
    if (uid !== undefined) {
      fs.chownSync(this.dir, uid, gid);
    }
    // The socket directory: reachable by the gateway, writable by the server.
    fs.chmodSync(this.dir, 0o755);
    execFileSync(path.join(PG_BIN, 'initdb'), ['-D', this.data, '-U', 'postgres',
      '-A', 'trust', '-E', 'UTF8', '--locale=C', '--no-sync'],
    { uid, gid, stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, HOME: this.dir } });
    this.proc = spawn(path.join(PG_BIN, 'postgres'), ['-D', this.data, '-k', this.dir,
      '-p', String(PORT), '-c', 'listen_addresses=', '-c', 'fsync=off',
      '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off'],
    { uid, gid, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, HOME: this.dir } });
    this.proc.stdout.on('data', (d) => { this.output += d; });
    this.proc.stderr.on('data', (d) => { this.output += d; });
    this.exited = new Promise((r) => this.proc.on('exit', r));
    for (let i = 0; i < 200; i++) {
      if (this.proc.exitCode !== null) break;
      try {
        this.psql('postgres', ['-c', 'SELECT 1']);
        return this;
      } catch { await sleep(50); }
    }
    throw new Error(`postgres did not start:\n${this.output}`);
  }

  // Fast shutdown by pid, then the directory goes.
  async stop() {
    if (this.proc && this.proc.exitCode === null) {
      process.kill(this.proc.pid, 'SIGINT');
      const r = await Promise.race([this.exited, deadline(10000)]);
      if (r === 'timeout') {
        process.kill(this.proc.pid, 'SIGKILL');
        await this.exited;
      }
    }
    fs.rmSync(this.dir, { recursive: true, force: true });
  }

  psql(db, args) {
    return execFileSync(PSQL, ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-h', this.dir,
      '-p', String(PORT), '-U', 'postgres', '-d', db, ...args],
    { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, PGCONNECT_TIMEOUT: '5' } }).toString();
  }

  // The rows of sql as arrays of text (NULL as null), tab separated.
  query(db, sql) {
    const out = this.psql(db, ['-A', '-t', '-F', '\t', '-P', 'null=\\N', '-c', sql]);
    return out.split('\n').filter((l) => l !== '')
      .map((l) => l.split('\t').map((v) => (v === '\\N' ? null : v)));
  }

  createDatabase(name) {
    this.psql('postgres', ['-c', `CREATE DATABASE "${name}"`]);
  }

  // A libpq URL for database db on the socket; password only decorates
  // it (trust authentication), to check it never shows.
  url(db, { scheme = 'postgresql', password } = {}) {
    const cred = password ? `postgres:${encodeURIComponent(password)}` : 'postgres';
    return `${scheme}://${cred}@/${db}?host=${encodeURIComponent(this.dir)}&port=${PORT}`;
  }
}

// A started server stopped after the test; skips the test (t.skip) and
// returns null when PostgreSQL is not installed.
export async function postgres(t) {
  const why = postgresMissing();
  if (why) {
    t.skip(why);
    return null;
  }
  const pg = new Postgres();
  t.after(() => pg.stop());
  return pg.start();
}
