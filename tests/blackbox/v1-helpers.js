// Helpers for the /v1 data-plane tests: raw HTTP and SSE readers that show
// headers, bytes and timing, and a small fixture that sets up groups,
// providers, upstream keys and client keys through the admin API.

import http from 'node:http';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { spawn } from 'node:child_process';
import OpenAI from 'openai';
import Anthropic from '@anthropic-ai/sdk';
import { gateway } from './harness.js';
import { mockUpstream } from './mock-upstream.js';

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function headersObject(res) {
  return res.headers;
}

// One HTTP request with node:http. Never rejects: a transport failure is
// in `error`. Bounded by timeoutMs.
export function rawRequest(url, { method = 'GET', headers = {}, body, raw, agent, timeoutMs = 15000 } = {}) {
  return new Promise((resolve) => {
    const h = { ...headers };
    let payload;
    if (raw !== undefined) payload = raw;
    else if (body !== undefined) payload = JSON.stringify(body);
    if (payload !== undefined) {
      if (!Object.keys(h).some((k) => k.toLowerCase() === 'content-type')) h['content-type'] = 'application/json';
      h['content-length'] = Buffer.byteLength(payload);
    }
    const out = { status: 0, headers: {}, text: '', json: undefined, error: null, localPort: null, rawHeaders: [] };
    let settled = false;
    const done = (err) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (err) out.error = err;
      try { out.json = out.text ? JSON.parse(out.text) : undefined; } catch { out.json = undefined; }
      resolve(out);
    };
    const req = http.request(url, { method, headers: h, agent: agent ?? false }, (res) => {
      out.status = res.statusCode;
      out.headers = headersObject(res);
      out.rawHeaders = res.rawHeaders;
      res.setEncoding('utf8');
      res.on('data', (d) => { out.text += d; });
      res.on('end', () => done());
      res.on('aborted', () => done(new Error('aborted')));
      res.on('error', (e) => done(e));
      res.on('close', () => { if (!res.complete) done(out.error || new Error('closed before the end')); else done(); });
    });
    req.on('socket', (s) => { s.on('connect', () => { out.localPort = s.localPort; }); if (s.localPort) out.localPort = s.localPort; });
    req.on('error', (e) => done(e));
    const timer = setTimeout(() => { req.destroy(); done(new Error(`timeout after ${timeoutMs} ms`)); }, timeoutMs);
    if (payload !== undefined) req.end(payload); else req.end();
  });
}

// Reads a server-sent event stream with node:http, noting when each event
// arrived. Resolves (never rejects) when the stream ends, breaks, stays
// silent for idleMs (then the request is dropped), when
// closeAfter(events) says so (then the client disconnects), or after
// timeoutMs.
//   { status, headers, events: [{ data, json, at }], done ([DONE] seen),
//     complete (the response ended cleanly), error, idle, timedOut,
//     closedByUs, firstByteAt, endedAt, text }
export function readSse(url, { method = 'POST', headers = {}, body, agent, idleMs = 0, timeoutMs = 15000, closeAfter } = {}) {
  return new Promise((resolve) => {
    const h = { accept: 'text/event-stream', ...headers };
    let payload;
    if (body !== undefined) {
      payload = JSON.stringify(body);
      h['content-type'] = 'application/json';
      h['content-length'] = Buffer.byteLength(payload);
    }
    const out = {
      status: 0, headers: {}, events: [], done: false, complete: false, error: null, idle: false,
      timedOut: false, closedByUs: false, firstByteAt: null, endedAt: null, text: '', localPort: null,
    };
    let buf = '';
    let settled = false;
    let idleTimer = null;
    const finish = () => {
      if (settled) return;
      settled = true;
      out.endedAt = Date.now();
      clearTimeout(timer);
      clearTimeout(idleTimer);
      resolve(out);
    };
    const armIdle = (req) => {
      if (!idleMs) return;
      clearTimeout(idleTimer);
      idleTimer = setTimeout(() => { out.idle = true; out.closedByUs = true; req.destroy(); finish(); }, idleMs);
    };
    const req = http.request(url, { method, headers: h, agent: agent ?? false }, (res) => {
      out.status = res.statusCode;
      out.headers = res.headers;
      res.setEncoding('utf8');
      armIdle(req);
      res.on('data', (d) => {
        const now = Date.now();
        if (out.firstByteAt === null) out.firstByteAt = now;
        out.text += d;
        buf += d;
        let i;
        while ((i = buf.search(/\r?\n\r?\n/)) >= 0) {
          const block = buf.slice(0, i);
          buf = buf.slice(i).replace(/^\r?\n\r?\n/, '');
          const data = block.split(/\r?\n/).filter((l) => l.startsWith('data:')).map((l) => l.slice(5).replace(/^ /, '')).join('\n');
          if (!block.trim() || (!data && !block.includes('data:'))) continue;
          if (data === '[DONE]') out.done = true;
          let json;
          try { json = JSON.parse(data); } catch { json = undefined; }
          out.events.push({ data, json, at: now });
          if (closeAfter && closeAfter(out.events)) {
            out.closedByUs = true;
            req.destroy();
            finish();
            return;
          }
        }
        armIdle(req);
      });
      res.on('end', () => { out.complete = true; finish(); });
      res.on('aborted', () => { out.error = out.error || new Error('aborted'); });
      res.on('error', (e) => { out.error = out.error || e; });
      res.on('close', () => { if (!res.complete && !out.closedByUs) out.error = out.error || new Error('closed before the end'); finish(); });
    });
    req.on('socket', (s) => { s.on('connect', () => { out.localPort = s.localPort; }); });
    req.on('error', (e) => { if (!out.closedByUs) out.error = out.error || e; finish(); });
    const timer = setTimeout(() => { out.timedOut = true; out.closedByUs = true; req.destroy(); finish(); }, timeoutMs);
    if (payload !== undefined) req.end(payload); else req.end();
  });
}

// Content events of a chat stream (choices[0].delta.content non-empty).
export const contentEvents = (events) => events.filter((e) => typeof e.json?.choices?.[0]?.delta?.content === 'string' && e.json.choices[0].delta.content !== '');

export function assertOpenAIError(r, status, code, type) {
  assert.equal(r.status, status, `${r.status} ${r.text}`);
  const e = r.json?.error;
  assert.ok(e && typeof e.message === 'string' && e.message.length > 0, `error body: ${r.text}`);
  assert.ok('type' in e && 'code' in e, `error body has type and code: ${r.text}`);
  if (code !== undefined) assert.equal(e.code, code, r.text);
  if (type !== undefined) assert.equal(e.type, type, r.text);
}

// An error in Anthropic's shape: {"type":"error","error":{type,message}}.
export function assertAnthropicError(r, status, type) {
  assert.equal(r.status, status, `${r.status} ${r.text}`);
  assert.equal(r.json?.type, 'error', r.text);
  const e = r.json.error;
  assert.ok(e && typeof e.message === 'string' && e.message.length > 0 && typeof e.type === 'string', `error body: ${r.text}`);
  if (type !== undefined) assert.equal(e.type, type, r.text);
}

// Awaits an SDK call expected to fail; returns the error.
export async function sdkError(promise) {
  try {
    await promise;
  } catch (e) {
    return e;
  }
  assert.fail('the request succeeded where it had to fail');
}

export const chatBody = (model = 'gpt-4o', extra = {}) => ({ model, messages: [{ role: 'user', content: 'Hello' }], ...extra });

// A gateway with the admin password changed, and builders for its setup.
//   const f = await fusion(t, { env });
//   const g = await f.group({ priority: 10 });
//   const up = await f.upstream({ models: ['gpt-4o'] });
//   const p = await f.provider(g, up, { models: ['gpt-4o'], keys: ['sk-a'] });
//   const ck = await f.clientKey();            // { id, key, ... }
//   const ai = f.openai(ck.key);               // OpenAI client, no retries
//   await f.chat(ck.key)                       // raw POST /v1/chat/completions
export async function fusion(t, { env = {} } = {}) {
  const gw = await gateway(t, { env });
  const token = await gw.admin();
  let n = 0;
  const call = async (method, path, body) => gw.api(method, path, { token, body });
  const must = async (method, path, body, status = [200, 201]) => {
    const r = await call(method, path, body);
    assert.ok([].concat(status).includes(r.status), `${method} ${path}: ${r.status} ${r.text}`);
    return r.json;
  };
  const f = {
    gw, token, call, must,
    async group(o = {}) {
      return must('POST', '/api/admin/groups', { name: `g${++n}`, priority: 0, enabled: true, strategy: 'round_robin', ...o });
    },
    async upstream(opts) {
      return mockUpstream(t, opts);
    },
    // keys: upstream keys to add (strings); returns the provider with
    // .keys = [{ id, key_masked, ..., secret }].
    async provider(group, up, o = {}) {
      const { keys = [`sk-up-${++n}-0000000000000000`], ...rest } = o;
      const p = await must('POST', '/api/admin/providers', {
        group_id: group.id, name: `p${++n}`, type: up?.flavor ?? 'openai', base_url: up ? up.url : rest.base_url,
        models: ['gpt-4o'], weight: 1, enabled: true, timeout_ms: 10000, ...rest,
      });
      p.keys = [];
      for (const k of keys) {
        const kr = await must('POST', '/api/admin/keys', { provider_id: p.id, key: k, label: `label-${k.slice(-4)}` });
        p.keys.push({ ...kr, secret: k });
      }
      return p;
    },
    async clientKey(o = {}) {
      return must('POST', '/api/admin/client-keys', { name: `client-${++n}`, ...o });
    },
    openai(apiKey, opts = {}) {
      return new OpenAI({ baseURL: `${gw.url}/v1`, apiKey, maxRetries: 0, timeout: 15000, ...opts });
    },
    // An Anthropic SDK client (it sends the key as Authorization: Bearer;
    // { headers: { 'x-api-key': k }, apiKey: null } for the other way).
    anthropic(apiKey, opts = {}) {
      return new Anthropic({ baseURL: gw.url, apiKey, maxRetries: 0, timeout: 15000, ...opts });
    },
    // A raw POST /v1/messages (or /v1/messages/count_tokens with
    // path) with the client key in x-api-key.
    messages(key, body, { path = '/messages', headers = {}, ...opts } = {}) {
      return f.v1('POST', path, { body, headers: { 'anthropic-version': '2023-06-01', ...(key ? { 'x-api-key': key } : {}), ...headers }, ...opts });
    },
    messagesStream(key, body, { headers = {}, ...opts } = {}) {
      return readSse(`${gw.url}/v1/messages`, { body: { ...body, stream: true }, headers: { 'anthropic-version': '2023-06-01', 'x-api-key': key, ...headers }, ...opts });
    },
    // A raw /v1 request with a client key (or none).
    v1(method, path, { key, body, raw, headers = {}, agent, timeoutMs } = {}) {
      const h = { ...headers };
      if (key) h.authorization = `Bearer ${key}`;
      return rawRequest(`${gw.url}/v1${path}`, { method, headers: h, body, raw, agent, timeoutMs });
    },
    chat(key, body = chatBody(), opts = {}) {
      return f.v1('POST', '/chat/completions', { key, body, ...opts });
    },
    stream(key, body = chatBody('gpt-4o', { stream: true }), opts = {}) {
      const { headers = {}, ...rest } = opts;
      return readSse(`${gw.url}/v1/chat/completions`, { body, headers: { authorization: `Bearer ${key}`, ...headers }, ...rest });
    },
    async keyState(id) {
      return must('GET', `/api/admin/keys/${id}`);
    },
    async logs(query = '') {
      return must('GET', `/api/admin/logs${query ? `?${query}` : ''}`);
    },
    // Waits (up to ms) until the log holds at least `count` rows for the
    // query, then waits a little longer and checks that no more arrive.
    async waitLogs(count, query = '', ms = 3000) {
      const until = Date.now() + ms;
      let r;
      for (;;) {
        r = await f.logs(query);
        if (r.total >= count || Date.now() > until) break;
        await sleep(100);
      }
      assert.ok(r.total >= count, `expected ${count} log rows for '${query}' within ${ms} ms, got ${r.total}`);
      return r;
    },
    dbText() {
      let s = fs.readFileSync(gw.dbPath).toString('latin1');
      for (const ext of ['-wal', '-shm', '-journal']) {
        if (fs.existsSync(gw.dbPath + ext)) s += fs.readFileSync(gw.dbPath + ext).toString('latin1');
      }
      return s;
    },
  };
  return f;
}

// A request a mock upstream recorded: the client key is in none of its
// headers, and the mock (which refuses what the real API refuses) took it.
export function assertNoClientKey(rec, ck) {
  assert.ok(!JSON.stringify(rec.headers).includes(ck.key), `the client key went upstream: ${JSON.stringify(rec.headers)}`);
  assert.equal(rec.rejected, undefined, `the upstream refused the request: ${rec.rejected}`);
}

// The text of an OpenAI SDK chat stream read to its end, and the error
// that ended it (null for a clean end).
export async function drainChat(stream) {
  let text = '';
  try {
    for await (const c of stream) text += c.choices[0]?.delta?.content ?? '';
  } catch (err) {
    return { text, err };
  }
  return { text, err: null };
}

// Another program (the sqlite3 shell) takes the database's write lock
// and keeps it until release() (which resolves once it has let go).
export async function holdDatabaseLock(t, dbPath) {
  const locker = spawn('sqlite3', [dbPath], { stdio: ['pipe', 'pipe', 'inherit'] });
  let out = '';
  locker.stdout.on('data', (d) => { out += d; });
  const gone = new Promise((r) => locker.on('exit', r));
  t.after(() => locker.kill());
  locker.stdin.write('BEGIN EXCLUSIVE;\nSELECT \'locked\';\n');
  while (!out.includes('locked')) await sleep(20);
  return {
    held: () => locker.exitCode === null,
    release: () => { locker.stdin.end('COMMIT;\n'); return gone; },
  };
}

// A request promise that fails the test if it does not settle in time:
// "never a hang".
export function within(ms, promise, what = 'request') {
  let timer;
  return Promise.race([
    promise,
    new Promise((_, reject) => { timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms`)), ms); }),
  ]).finally(() => clearTimeout(timer));
}

// One gateway with a provider of each kind, each serving its own model.
export async function everyProvider(t, behave = {}) {
  const f = await fusion(t);
  const ups = {
    responses: await f.upstream({ name: 'openai-responses', models: ['gpt-resp'] }),
    chat: await f.upstream({ name: 'openai-chat', models: ['gpt-chat'] }),
    anthropic: await f.upstream({ name: 'anthropic', flavor: 'anthropic' }),
    gemini: await f.upstream({ name: 'gemini', flavor: 'gemini', models: ['gemini-2.5-flash'] }),
  };
  const g = await f.group({ priority: 10 });
  const providers = {
    responses: await f.provider(g, ups.responses, { models: ['gpt-resp'] }),
    chat: await f.provider(g, ups.chat, { models: ['gpt-chat'], responses_api: false }),
    anthropic: await f.provider(g, ups.anthropic, { models: ['claude-x'], model_aliases: {} }),
    gemini: await f.provider(g, ups.gemini, { models: ['gemini-2.5-flash'] }),
  };
  for (const [k, b] of Object.entries(behave)) ups[k].behave('default', b);
  const ck = await f.clientKey();
  return { f, ups, providers, ck };
}

export const MODELS = { responses: 'gpt-resp', chat: 'gpt-chat', anthropic: 'claude-x', gemini: 'gemini-2.5-flash' };

export async function assertKeysActive(f, providers) {
  for (const p of Object.values(providers)) {
    for (const k of p.keys) {
      const s = await f.keyState(k.id);
      assert.equal(s.status, 'active', `key ${k.key_masked} of ${p.name} is ${s.status}: ${s.status_reason}`);
    }
  }
}

