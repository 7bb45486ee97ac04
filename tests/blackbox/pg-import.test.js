// --import-sqlite (issue 16): a gateway's SQLite file, made with real
// configuration and traffic, copied into a fresh PostgreSQL database (a
// private server, tests/blackbox/postgres.js) row for row, sealed keys
// byte for byte, the master-key check value with them; and every refusal
// (the wrong master key among them) leaves the target as it was.

import test from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

import { BIN, Gateway, ROOT, tempDir } from './harness.js';
import { postgres } from './postgres.js';
import { fusion, chatBody } from './v1-helpers.js';

const PASSWORD = 'pg-Secret-4711';

function runImport(file, url, env = {}) {
  const r = spawnSync(BIN, ['--import-sqlite', file], {
    cwd: ROOT,
    env: { PATH: process.env.PATH, ...(url === undefined ? {} : { DATABASE_URL: url }), ...env },
    encoding: 'utf8',
    timeout: 60000,
  });
  return { status: r.status, out: r.stdout + r.stderr, stdout: r.stdout };
}

const sqlite = (db, sql) => execFileSync('sqlite3', ['-json', db, sql]).toString();
const sqliteRows = (db, sql) => JSON.parse(sqlite(db, sql) || '[]');

// A table's columns in SQLite: [{ name, blob }].
const sqliteColumns = (db, table) => sqliteRows(db, `PRAGMA table_info("${table}")`)
  .map((c) => ({ name: c.name, blob: /BLOB/i.test(c.type) }));

const sqliteTables = (db) => sqliteRows(db, "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name").map((r) => r.name);

// Every row of table, columns by SQLite's names, blobs as hex, in one
// order both databases agree on.
function sqliteDump(db, table) {
  const cols = sqliteColumns(db, table);
  const list = cols.map((c) => (c.blob ? `CASE WHEN "${c.name}" IS NULL THEN NULL ELSE lower(hex("${c.name}")) END AS "${c.name}"` : `"${c.name}"`)).join(', ');
  const order = cols.map((c) => `"${c.name}"`).join(', ');
  return sqliteRows(db, `SELECT ${list} FROM "${table}" ORDER BY ${order}`);
}

function pgDump(pg, dbname, table, cols) {
  const list = cols.map((c) => (c.blob ? `encode("${c.name}", 'hex') AS "${c.name}"` : `"${c.name}"`)).join(', ');
  const order = cols.map((c) => `"${c.name}"`).join(', ');
  // json_agg puts a newline between rows: one value, read whole.
  return JSON.parse(pg.psql(dbname, ['-A', '-t', '-c', `SELECT coalesce(json_agg(dump_row), '[]') FROM (SELECT ${list} FROM "${table}" ORDER BY ${order}) dump_row`]));
}

const pgRelations = (pg, dbname) => pg.query(dbname, "SELECT c.relname FROM pg_class c JOIN pg_namespace s ON s.oid = c.relnamespace WHERE s.nspname NOT IN ('pg_catalog', 'information_schema') AND s.nspname NOT LIKE 'pg_toast%' ORDER BY 1").map((r) => r[0]);

// A gateway on SQLite with configuration and logged traffic, stopped;
// returns its database file and what was made.
async function populatedFile(t) {
  const f = await fusion(t);
  const up = await f.upstream({ models: ['gpt-4o'] });
  const g = await f.group({ priority: 10 });
  const p = await f.provider(g, up, { models: ['gpt-4o'], keys: ['sk-up-one-0123456789abcdef', 'sk-up-two-0123456789abcdef'] });
  await f.must('POST', '/api/admin/prices', { model: 'gpt-4o', input: 2500000, output: 10000000 });
  await f.must('POST', '/api/admin/prices', { model: 'gpt-4o', provider_id: p.id, input: 1, output: 2, reasoning: 3 });
  const ck = await f.clientKey({ rpm_limit: 100, budget_total: 5000000 });
  await f.clientKey();
  // Text COPY must escape: newlines (a PEM), quotes and a backslash.
  await f.provider(g, up, { name: 'second', ca_cert: fs.readFileSync(path.join(ROOT, 'cert/server.pem'), 'utf8'), extra_headers: { 'X-Note': 'a "quoted" \\ back\\slash' } });
  for (let i = 0; i < 3; i++) {
    const r = await f.chat(ck.key, chatBody('gpt-4o', { messages: [{ role: 'user', content: `line one\nline ${i}\ttab` }] }));
    assert.equal(r.status, 200, r.text);
  }
  const s = await f.stream(ck.key);
  assert.ok(s.status === 200 && s.done, JSON.stringify(s));
  assert.equal((await f.chat(ck.key, chatBody('no-such-model'))).status, 404);
  await f.waitLogs(5);
  await f.gw.stop();
  // Its files stay until the test ends (the gateway's t.after).
  const file = path.join(tempDir('fusion-pg-src-'), 'fusion.db');
  t.after(() => fs.rmSync(path.dirname(file), { recursive: true, force: true }));
  for (const ext of ['', '-wal', '-shm', '.key']) {
    if (fs.existsSync(f.gw.dbPath + ext)) fs.copyFileSync(f.gw.dbPath + ext, file + ext);
  }
  return { file, keyFile: `${file}.key`, provider: p };
}

test('--import-sqlite copies every table of a used gateway into an empty database, sealed keys byte-equal', async (t) => {
  const pg = await postgres(t);
  if (!pg) return;
  const { file, provider } = await populatedFile(t);
  pg.createDatabase('target');

  const r = runImport(file, pg.url('target', { password: PASSWORD }));
  assert.equal(r.status, 0, r.out);
  assert.ok(!r.out.includes(PASSWORD), `the password shows: ${r.out}`);

  // The same tables, the same columns, the same rows.
  const tables = sqliteTables(file);
  for (const name of ['users', 'sessions', 'groups', 'providers', 'upstream_keys', 'client_keys', 'prices', 'request_log', 'audit_log', 'rollups']) {
    assert.ok(tables.includes(name), `${name} in ${tables}`);
  }
  assert.deepEqual(pgRelations(pg, 'target').filter((n) => tables.includes(n)), tables);
  for (const table of tables) {
    const cols = sqliteColumns(file, table);
    const pgCols = pg.query('target', `SELECT column_name FROM information_schema.columns WHERE table_schema = 'public' AND table_name = '${table}' ORDER BY 1`).map((x) => x[0]);
    assert.deepEqual(pgCols, cols.map((c) => c.name).sort(), `columns of ${table}`);
    const rows = sqliteDump(file, table);
    assert.deepEqual(pgDump(pg, 'target', table, cols), rows, `rows of ${table}`);
    const line = r.stdout.split('\n').find((l) => l.split(/\s+/)[0] === table);
    assert.ok(line, `no count printed for ${table}:\n${r.stdout}`);
    assert.equal(Number(line.split(/\s+/)[1]), rows.length, line);
  }
  for (const [table, least] of Object.entries({ upstream_keys: 2, client_keys: 2, prices: 2, request_log: 5, audit_log: 1, rollups: 1 })) {
    assert.ok(sqliteDump(file, table).length >= least, `${table} has rows to copy`);
  }

  // Sealed upstream keys arrive as the same bytes, not as the secret.
  const sealed = sqliteRows(file, `SELECT id, lower(hex(secret)) AS s FROM upstream_keys WHERE provider_id = ${provider.id} ORDER BY id`);
  assert.equal(sealed.length, 2);
  const pgSealed = pg.query('target', `SELECT id, encode(secret, 'hex') FROM upstream_keys WHERE provider_id = ${provider.id} ORDER BY id`);
  assert.deepEqual(pgSealed, sealed.map((s) => [String(s.id), s.s]));
  assert.equal(pg.query('target', "SELECT count(*) FROM upstream_keys WHERE position('sk-up-one'::bytea in secret) > 0")[0][0], '0');

  // The master-key check value goes along: nodes on it must have the key.
  assert.deepEqual(pg.query('target', "SELECT name FROM store_meta"), [['master_key_check']]);

  // One version means the same tables: PostgreSQL's matches the file's.
  const [{ user_version: version }] = sqliteRows(file, 'PRAGMA user_version');
  assert.deepEqual(pg.query('target', 'SELECT version FROM schema_version'), [[String(version)]]);

  // New rows get ids past the copied ones.
  const [[maxId]] = pg.query('target', 'SELECT max(id) FROM client_keys');
  const [[newId]] = pg.query('target', "INSERT INTO client_keys (name, key_hash, key_prefix, created_at, updated_at) VALUES ('new', 'h', 'p', 0, 0) RETURNING id");
  assert.ok(Number(newId) > Number(maxId), `${newId} > ${maxId}`);
  assert.match(r.stdout, new RegExp(`imported ${tables.length} tables`));
});

test('--import-sqlite refuses a non-empty target, a bad URL, a missing or foreign file, and changes nothing', async (t) => {
  const pg = await postgres(t);
  if (!pg) return;
  const { file } = await populatedFile(t);

  // Not empty: one table of someone else's.
  pg.createDatabase('busy');
  pg.query('busy', 'CREATE TABLE theirs (a integer); INSERT INTO theirs VALUES (1)');
  let r = runImport(file, pg.url('busy', { password: PASSWORD }));
  assert.notEqual(r.status, 0);
  assert.match(r.out, /not empty/);
  assert.ok(!r.out.includes(PASSWORD), r.out);
  assert.deepEqual(pgRelations(pg, 'busy'), ['theirs']);
  assert.deepEqual(pg.query('busy', 'SELECT a FROM theirs'), [['1']]);

  pg.createDatabase('empty');
  const notSqlite = path.join(path.dirname(file), 'notes.txt');
  fs.writeFileSync(notSqlite, 'not a database\n'.repeat(100));
  const before = fs.readFileSync(file);
  const fileKey = { FUSION_MASTER_KEY: fs.readFileSync(`${file}.key`, 'utf8').trim() };
  const refusals = [
    // Bad URLs: another scheme, one libpq cannot parse, no such database.
    [file, `mysql://root:${PASSWORD}@127.0.0.1/fusion`, /must start with postgresql:\/\/ or postgres:\/\//],
    [file, `postgresql://postgres:${PASSWORD}@[::1/fusion`, /not a valid PostgreSQL URL/],
    [file, pg.url('nosuchdb', { password: PASSWORD, scheme: 'postgres' }), /"nosuchdb" does not exist/],
    [file, undefined, /needs DATABASE_URL/],
    // Files: missing, a directory, not SQLite.
    [path.join(path.dirname(file), 'missing.db'), pg.url('empty'), /missing\.db: No such file/],
    [path.dirname(file), pg.url('empty'), /not a regular file/, fileKey],
    [notSqlite, pg.url('empty'), /not a SQLite database/, fileKey],
    // The master key: another one, or none (the file's key is not made anew).
    [file, pg.url('empty'), /different master key than the one loaded/, { FUSION_MASTER_KEY: 'ab'.repeat(32) }],
    [file, pg.url('empty'), /no master key .*nowhere\.key/, { FUSION_MASTER_KEY_FILE: path.join(path.dirname(file), 'nowhere.key') }],
  ];
  for (const [src, url, why, env] of refusals) {
    r = runImport(src, url, env);
    assert.equal(r.status, 1, `${src} ${url}: ${r.out}`);
    assert.match(r.out, why);
    assert.ok(!r.out.includes(PASSWORD), `the password shows: ${r.out}`);
    assert.deepEqual(pgRelations(pg, 'empty'), [], `${src} ${url} changed the target`);
  }
  assert.ok(fs.readFileSync(file).equals(before), 'a refusal changed the file');
  assert.ok(!fs.existsSync(path.join(path.dirname(file), 'nowhere.key')));

  // And the empty database still takes the import.
  r = runImport(file, pg.url('empty'));
  assert.equal(r.status, 0, r.out);
});

test('a gateway started with DATABASE_URL refuses: serving from PostgreSQL is not built yet', async (t) => {
  const dir = tempDir();
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const gw = new Gateway({ dir, env: { DATABASE_URL: `postgresql://fusion:${PASSWORD}@127.0.0.1:1/fusion` } });
  const code = await gw.start({ expectExit: true });
  assert.notEqual(code, 0, gw.output);
  assert.match(gw.output, /DATABASE_URL is set, but serving from PostgreSQL is not built yet/);
  assert.ok(!gw.output.includes(PASSWORD), gw.output);
  // Not quietly on SQLite instead: no database, no key file.
  assert.ok(!fs.existsSync(gw.dbPath) && !fs.existsSync(`${gw.dbPath}.key`), fs.readdirSync(dir).join(' '));
});

test('--import-sqlite migrates a file of an older release first, then copies it', async (t) => {
  const pg = await postgres(t);
  if (!pg) return;
  const dir = tempDir();
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  // The first schema, as the first release left it, with a group in it.
  const old = new Gateway({ dir, env: { FUSION_SCHEMA_TARGET: '1' } });
  assert.equal(await old.start({ expectExit: true }), 0, old.output);
  old.sql("INSERT INTO groups (name, priority, enabled, strategy, created_at, updated_at) VALUES ('old', 7, 1, 'weighted', 1, 2)");
  assert.equal(old.sql('PRAGMA user_version'), '1');

  pg.createDatabase('target');
  const r = runImport(old.dbPath, pg.url('target'));
  assert.equal(r.status, 0, r.out);
  const version = old.sql('PRAGMA user_version');
  assert.ok(Number(version) > 1, version);
  assert.deepEqual(pg.query('target', 'SELECT version FROM schema_version'), [[version]]);
  assert.deepEqual(pg.query('target', 'SELECT name, priority, strategy, affinity FROM groups'), [['old', '7', 'weighted', 'none']]);
  assert.match(r.stdout, /^groups\s+1 rows$/m);
});
