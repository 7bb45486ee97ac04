// A mock OpenAI-compatible upstream provider for the black-box tests.
//
//   const up = await startMockUpstream({ models: ['gpt-4o'] });
//   up.url                      base_url for a provider: http://127.0.0.1:P/v1
//   up.requests                 every request received, in order of arrival:
//       { n, method, path, query, headers, raw, body, key, at, behaviour,
//         usage (what the answer reported), aborted (the client closed the
//         connection before the answer ended), abortedAt, finished,
//         endedAt, chunksSent (content chunks streamed), chunkTimes
//         (when each was written), upstream (the mock's name) }
//   up.behave(key, b)           how requests with Bearer `key` are answered;
//   up.behave('default', b)     ... and those with any other (or no) key.
//   up.served(key?)             how many requests a key (or all keys) got
//   up.byKey()                  { key: count }
//   up.waitFor(pred, ms)        resolves with the first request matching pred
//   up.reset()                  forget requests and behaviours
//   up.close()                  stop listening and drop every connection
//
// A behaviour is a name, an object { type, ...options }, an array (used one
// per request in order; the last one then repeats) or a function
// (record) => behaviour. Types:
//
//   'ok'         a normal answer for the path (streamed when the request has
//                "stream": true). Options: content (the answer text), chunks
//                (number of content chunks when streaming, default 3),
//                chunkDelayMs (between chunks), usage ({prompt_tokens,
//                completion_tokens}), delayMs (before the headers),
//                headers (extra response headers).
//   'error'      status (default 500) with OpenAI's error body for it;
//                options: status, retryAfter (seconds, Retry-After header),
//                body (replaces the default body), delayMs.
//   'stall'      streams `after` content chunks (default 1) and then sends
//                nothing more and never ends. Not streaming: headers only.
//   'reset'      streams `after` content chunks (default 1), then destroys
//                the socket. Not streaming: half a JSON body, then destroy.
//   'hang'       never answers (no headers).
//   'malformed'  200, content-type application/json, a body that is not JSON.
//   'truncated'  200 with a content-length larger than what is sent, then
//                the connection is closed. Streaming: `after` content chunks
//                (default 1), then an event whose JSON is cut short, then
//                a clean end (no [DONE]).
//   'endless'    never finishes but never goes quiet: streaming, a content
//                chunk every intervalMs (default 100) until the client
//                leaves; not streaming, the start of a JSON body and then
//                a space every intervalMs.
//   'huge'       an answer of about `bytes` bytes (default 80 MiB):
//                not streaming, one chat completion whose content is that
//                long; streaming, the role chunk and then one event that
//                long, then [DONE].
//
// Shorthands: 'ok', 'hang', 'stall', 'reset', 'malformed', 'truncated' and
// numeric statuses: 500 or '500' is { type: 'error', status: 500 }.
//
// A refused connection is a closed port: freePort() from harness.js.

import http from 'node:http';
import crypto from 'node:crypto';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const rnd = (n = 24) => crypto.randomBytes(n).toString('base64url').replace(/[-_]/g, 'x').slice(0, n);

// OpenAI's error bodies, as the real API sends them.
export function openaiErrorBody(status, { key = '', model = 'gpt-4o', path = '/v1/chat/completions', method = 'POST' } = {}) {
  const e = (message, type, code = null, param = null) => ({ error: { message, type, param, code } });
  switch (Number(status)) {
    case 400: return e("'messages' must contain at least one message.", 'invalid_request_error', null, 'messages');
    case 401: return e(`Incorrect API key provided: ${key}. You can find your API key at https://platform.openai.com/account/api-keys.`,
      'invalid_request_error', 'invalid_api_key');
    case 403: return e('Country, region, or territory not supported', 'request_forbidden', 'unsupported_country_region_territory');
    case 404: return e(`The model \`${model}\` does not exist or you do not have access to it.`, 'invalid_request_error', 'model_not_found');
    case 413: return e('Request too large.', 'invalid_request_error', 'request_too_large');
    case 422: return e('Unprocessable Entity: the request could not be processed.', 'invalid_request_error', 'unprocessable_entity');
    case 429: return e(`Rate limit reached for ${model} in organization org-mock on requests per min (RPM): Limit 3, Used 3, Requested 1. Please try again in 20s. Visit https://platform.openai.com/account/rate-limits to learn more.`,
      'requests', 'rate_limit_exceeded');
    case 500: return e('The server had an error while processing your request. Sorry about that!', 'server_error');
    case 502: return { error: { code: 502, message: 'Bad gateway.', param: null, type: 'cf_bad_gateway' } };
    case 503: return e('The engine is currently overloaded, please try again later', 'server_error', 'engine_overloaded');
    case 504: return { error: { code: 504, message: 'Gateway timeout.', param: null, type: 'cf_gateway_timeout' } };
    default: return e(`Invalid URL (${method} ${path})`, 'invalid_request_error');
  }
}

// What OpenAI expects of each top-level chat field (null is allowed for
// the optional ones), and its answer to a value of another type.
const CHAT_TYPES = {
  model: ['string'], messages: ['array'], stream: ['boolean'], stream_options: ['object'],
  temperature: ['number'], top_p: ['number'], presence_penalty: ['number'], frequency_penalty: ['number'],
  n: ['integer'], max_tokens: ['integer'], max_completion_tokens: ['integer'], seed: ['integer'],
  stop: ['string', 'array'], logit_bias: ['object'], user: ['string'], tools: ['array'],
  tool_choice: ['string', 'object'], response_format: ['object'], logprobs: ['boolean'],
  top_logprobs: ['integer'], parallel_tool_calls: ['boolean'], metadata: ['object'], store: ['boolean'],
};
const jsonType = (v) => (v === null ? 'null' : Array.isArray(v) ? 'array' : Number.isInteger(v) ? 'integer' : typeof v);
export function chatTypeError(body) {
  for (const [field, want] of Object.entries(CHAT_TYPES)) {
    if (!(field in body) || (body[field] === null && field !== 'model' && field !== 'messages')) continue;
    const got = jsonType(body[field]);
    if (want.includes(got) || (got === 'integer' && want.includes('number'))) continue;
    const names = { string: 'a string', array: 'an array', object: 'an object', number: 'a decimal', integer: 'an integer', boolean: 'a boolean', null: 'null' };
    return { error: { message: `Invalid type for '${field}': expected ${want.map((w) => names[w]).join(' or ')}, but got ${names[got]} instead.`, type: 'invalid_request_error', param: field, code: 'invalid_type' } };
  }
  return null;
}

function normalise(b) {
  if (b === undefined || b === null) return { type: 'ok' };
  if (typeof b === 'number' || (typeof b === 'string' && /^\d{3}$/.test(b))) return { type: 'error', status: Number(b) };
  if (typeof b === 'string') return { type: b };
  if (typeof b === 'object' && !Array.isArray(b)) {
    if (!b.type) return b.status ? { type: 'error', ...b } : { type: 'ok', ...b };
    return b;
  }
  throw new Error(`bad behaviour ${JSON.stringify(b)}`);
}

// A rough, deterministic token count.
const tokens = (s) => Math.max(1, Math.ceil(String(s).length / 4));

function splitText(text, n) {
  const parts = [];
  const words = text.split(/(?<= )/);
  if (n <= 1 || words.length <= 1) return [text];
  const per = Math.ceil(words.length / n);
  for (let i = 0; i < words.length; i += per) parts.push(words.slice(i, i + per).join(''));
  while (parts.length < n) parts.push('');
  return parts;
}

function promptText(body) {
  if (!body || typeof body !== 'object') return '';
  if (Array.isArray(body.messages)) return body.messages.map((m) => (typeof m.content === 'string' ? m.content : JSON.stringify(m.content ?? ''))).join('\n');
  if (body.prompt !== undefined) return Array.isArray(body.prompt) ? body.prompt.join('\n') : String(body.prompt);
  if (body.input !== undefined) return typeof body.input === 'string' ? body.input : JSON.stringify(body.input);
  return '';
}

export async function startMockUpstream({ models = ['gpt-4o'], name = 'mock', defaultContent = 'Hello from the mock upstream.' } = {}) {
  const requests = [];
  const behaviours = new Map();
  const sockets = new Set();
  const waiters = new Set();
  const timers = new Set();
  let counter = 0;

  const later = (ms) => new Promise((r) => {
    const t = setTimeout(() => { timers.delete(t); r(); }, ms);
    timers.add(t);
  });

  function notify() {
    for (const w of [...waiters]) {
      const hit = requests.find(w.pred);
      if (hit) { waiters.delete(w); clearTimeout(w.timer); w.resolve(hit); }
    }
  }

  function pick(rec) {
    let b = behaviours.has(rec.key) ? behaviours.get(rec.key) : behaviours.get('default');
    if (Array.isArray(b?.queue)) {
      const q = b.queue;
      b = q.length > 1 ? q.shift() : q[0];
    }
    if (typeof b === 'function') b = b(rec);
    return normalise(b);
  }

  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (d) => chunks.push(d));
    req.on('end', () => { handle(req, res, Buffer.concat(chunks)).catch(() => res.destroy()); });
  });
  server.keepAliveTimeout = 5000;
  // A mock never keeps the test process alive by itself, even when a
  // failed test's later after-hooks (which close it) did not run.
  server.unref();
  server.on('connection', (s) => { s.unref(); sockets.add(s); s.on('close', () => sockets.delete(s)); });

  async function handle(req, res, rawBuf) {
    const url = new URL(req.url, 'http://x');
    const raw = rawBuf.toString('utf8');
    let body = raw;
    if (raw.length) { try { body = JSON.parse(raw); } catch { body = raw; } } else body = undefined;
    const auth = req.headers.authorization || '';
    const m = auth.match(/^Bearer\s+(.+)$/i);
    const rec = {
      n: ++counter, upstream: name, method: req.method, path: url.pathname, query: url.search,
      headers: { ...req.headers }, raw, body, key: m ? m[1] : null, at: Date.now(),
      aborted: false, abortedAt: null, finished: false, chunksSent: 0, chunkTimes: [], endedAt: null, usage: null, behaviour: null,
    };
    let closedByUs = false;
    res.on('close', () => {
      if (!res.writableFinished && !closedByUs) { rec.aborted = true; rec.abortedAt = Date.now(); }
      rec.finished = res.writableFinished;
      rec.endedAt = Date.now();
      notify();
    });
    requests.push(rec);
    const b = pick(rec);
    rec.behaviour = b;
    notify();

    const destroy = () => { closedByUs = true; res.socket?.destroy(); res.destroy(); };

    if (b.delayMs) await later(b.delayMs);
    if (res.destroyed) return;
    if (b.type === 'hang') return;

    const model = body && typeof body === 'object' && typeof body.model === 'string' ? body.model : models[0];
    const common = {
      'x-request-id': `req_${rnd(32)}`, 'openai-version': '2020-10-01', 'openai-processing-ms': '42',
      'openai-organization': 'org-mock', ...(b.headers || {}),
    };
    const sendJson = (status, obj, extra = {}) => {
      const text = JSON.stringify(obj);
      res.writeHead(status, {
        ...common, 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...extra,
      });
      res.end(text);
    };

    if (b.type === 'error') {
      const status = b.status || 500;
      const extra = {};
      if (b.retryAfter !== undefined) extra['retry-after'] = String(b.retryAfter);
      const errBody = b.body ?? openaiErrorBody(status, { key: rec.key || '', model, path: url.pathname, method: req.method });
      if (typeof errBody === 'string') {
        res.writeHead(status, { ...common, 'content-type': 'text/html', 'content-length': Buffer.byteLength(errBody), ...extra });
        res.end(errBody);
      } else sendJson(status, errBody, extra);
      return;
    }
    if (b.type === 'malformed') {
      const text = '{"id":"chatcmpl-broken","object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant","content":"never ends';
      res.writeHead(200, { ...common, 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
      res.end(text);
      return;
    }
    const wantsStream = typeof body === 'object' && body !== null && body.stream === true;
    if (b.type === 'truncated' && !wantsStream) {
      const text = '{"id":"chatcmpl-truncated","object":"chat.completion","choices":[';
      res.writeHead(200, { ...common, 'content-type': 'application/json', 'content-length': '4096' });
      res.write(text);
      await later(50);
      destroy();
      return;
    }

    // Normal answers by path.
    const created = Math.floor(Date.now() / 1000);
    const content = b.content ?? defaultContent;
    const prompt = promptText(body);
    const usageOut = (completion) => {
      const pt = b.usage?.prompt_tokens ?? tokens(prompt);
      const ct = b.usage?.completion_tokens ?? completion;
      return { prompt_tokens: pt, completion_tokens: ct, total_tokens: pt + ct };
    };
    const p = url.pathname;

    if (req.method === 'GET' && p === '/v1/models') {
      sendJson(200, { object: 'list', data: models.map((id) => ({ id, object: 'model', created: 1715367049, owned_by: 'system' })) });
      return;
    }
    if (req.method === 'GET' && p.startsWith('/v1/models/')) {
      const id = decodeURIComponent(p.slice('/v1/models/'.length));
      if (models.includes(id)) sendJson(200, { id, object: 'model', created: 1715367049, owned_by: 'system' });
      else sendJson(404, openaiErrorBody(404, { model: id }));
      return;
    }
    // Writes n bytes of filler, waiting when the socket is full.
    const filler = async (n) => {
      const piece = Buffer.alloc(64 * 1024, 'x');
      for (let left = n; left > 0 && !res.destroyed; left -= piece.length) {
        if (!res.write(left >= piece.length ? piece : piece.subarray(0, left))) {
          await new Promise((r) => { res.once('drain', r); res.once('close', r); });
        }
      }
    };
    if (b.type === 'huge' && !wantsStream) {
      const head = `{"id":"chatcmpl-huge","object":"chat.completion","created":1,"model":"${model}","choices":[{"index":0,"message":{"role":"assistant","content":"`;
      const tail = '"},"finish_reason":"stop"}]}';
      const n = b.bytes ?? 80 * 1024 * 1024;
      res.writeHead(200, { ...common, 'content-type': 'application/json', 'content-length': String(head.length + n + tail.length) });
      res.write(head);
      await filler(n);
      if (!res.destroyed) res.end(tail);
      return;
    }
    if (b.type === 'endless' && !wantsStream) {
      res.writeHead(200, { ...common, 'content-type': 'application/json' });
      res.write('{"id":"chatcmpl-endless","object":"chat.completion","choices":[');
      while (!res.destroyed) {
        await later(b.intervalMs ?? 100);
        if (!res.destroyed) res.write(' ');
      }
      return;
    }

    if (req.method !== 'POST') { sendJson(404, openaiErrorBody(0, { path: p, method: req.method })); return; }
    if (typeof body !== 'object' || body === null) {
      sendJson(400, { error: { message: "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your HTTP library correctly. The OpenAI API expects a JSON payload, but what was sent was not valid JSON. If you have trouble figuring out how to fix this, please contact us through our help center at help.openai.com.)", type: 'invalid_request_error', param: null, code: null } });
      return;
    }

    // Types of chat fields, checked as OpenAI does (400 invalid_type).
    if (p === '/v1/chat/completions') {
      const bad = chatTypeError(body);
      if (bad) { sendJson(400, bad); return; }
    }

    const streaming = body.stream === true;
    const includeUsage = body.stream_options?.include_usage === true;

    if (p === '/v1/chat/completions' || p === '/v1/completions') {
      const chat = p === '/v1/chat/completions';
      const id = chat ? `chatcmpl-${rnd(29)}` : `cmpl-${rnd(29)}`;
      const fp = 'fp_mock0001';
      if (!streaming) {
        if (b.type === 'stall' || b.type === 'reset') {
          const half = `{"id":"${id}","object":"${chat ? 'chat.completion' : 'text_completion'}","created":${created},`;
          res.writeHead(200, { ...common, 'content-type': 'application/json', 'content-length': String(half.length + 200) });
          res.write(half);
          if (b.type === 'reset') { await later(20); destroy(); }
          return;
        }
        const usage = usageOut(tokens(content));
        rec.usage = usage;
        if (chat) {
          sendJson(200, {
            id, object: 'chat.completion', created, model,
            choices: [{ index: 0, message: { role: 'assistant', content, refusal: null, annotations: [] }, logprobs: null, finish_reason: 'stop' }],
            usage: { ...usage, prompt_tokens_details: { cached_tokens: 0, audio_tokens: 0 }, completion_tokens_details: { reasoning_tokens: 0, audio_tokens: 0, accepted_prediction_tokens: 0, rejected_prediction_tokens: 0 } },
            service_tier: 'default', system_fingerprint: fp,
          });
        } else {
          sendJson(200, {
            id, object: 'text_completion', created, model,
            choices: [{ text: content, index: 0, logprobs: null, finish_reason: 'stop' }],
            usage, system_fingerprint: fp,
          });
        }
        return;
      }

      // Streaming, as OpenAI frames it.
      res.writeHead(200, {
        ...common, 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache',
      });
      res.flushHeaders();
      const nChunks = b.chunks ?? 3;
      const parts = splitText(content, nChunks);
      const base = chat
        ? { id, object: 'chat.completion.chunk', created, model, service_tier: 'default', system_fingerprint: fp }
        : { id, object: 'text_completion', created, model, system_fingerprint: fp };
      const u = includeUsage ? { usage: null } : {};
      const chunk = (text, finish, first = false) => (chat
        ? { ...base, choices: [{ index: 0, delta: first ? { role: 'assistant', content: '', refusal: null } : (finish ? {} : { content: text }), logprobs: null, finish_reason: finish }], ...u }
        : { ...base, choices: [{ text, index: 0, logprobs: null, finish_reason: finish }], ...u });
      const send = (obj) => { if (!res.destroyed) res.write(`data: ${JSON.stringify(obj)}\n\n`); };
      const delay = b.chunkDelayMs ?? 0;
      const stopAfter = (b.type === 'stall' || b.type === 'reset' || b.type === 'truncated') ? (b.after ?? 1) : Infinity;

      if (chat) send(chunk('', null, true));
      if (b.type === 'huge') {
        const head = `data: ${JSON.stringify(chunk('', null))}`;
        const cut = head.indexOf('"content":"') + '"content":"'.length;
        res.write(head.slice(0, cut));
        await filler(b.bytes ?? 80 * 1024 * 1024);
        if (!res.destroyed) res.end(`${head.slice(cut)}\n\ndata: [DONE]\n\n`);
        return;
      }
      if (b.type === 'endless') {
        while (!res.destroyed) {
          await later(b.intervalMs ?? 100);
          send(chunk('more ', null));
          rec.chunksSent++;
        }
        return;
      }
      for (let i = 0; i < parts.length; i++) {
        if (rec.chunksSent >= stopAfter) break;
        if (delay && (i > 0 || chat)) await later(delay);
        if (res.destroyed) return;
        send(chunk(parts[i], null));
        rec.chunksSent++;
        rec.chunkTimes.push(Date.now());
      }
      if (b.type === 'stall') return;
      if (b.type === 'reset') { await later(20); destroy(); return; }
      if (b.type === 'truncated') {
        if (!res.destroyed) res.end(`data: {"id":"${id}","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"cut sh`);
        return;
      }
      if (delay) await later(delay);
      if (res.destroyed) return;
      send(chunk('', 'stop'));
      const usage = usageOut(parts.length);
      rec.usage = usage;
      if (includeUsage) send({ ...base, choices: [], usage });
      if (!res.destroyed) res.end('data: [DONE]\n\n');
      return;
    }

    if (p === '/v1/embeddings') {
      const inputs = Array.isArray(body.input) ? body.input : [body.input];
      const usage = { prompt_tokens: b.usage?.prompt_tokens ?? tokens(prompt), total_tokens: 0 };
      usage.total_tokens = usage.prompt_tokens;
      rec.usage = { prompt_tokens: usage.prompt_tokens, completion_tokens: 0, total_tokens: usage.total_tokens };
      const dims = body.dimensions ?? 8;
      sendJson(200, {
        object: 'list',
        data: inputs.map((_, index) => ({ object: 'embedding', index, embedding: Array.from({ length: dims }, (_v, i) => Number(((index + 1) * 0.01 * (i + 1)).toFixed(6))) })),
        model, usage,
      });
      return;
    }

    if (p === '/v1/responses') {
      const usage = usageOut(tokens(content));
      rec.usage = usage;
      sendJson(200, {
        id: `resp_${rnd(40)}`, object: 'response', created_at: created, status: 'completed', error: null,
        incomplete_details: null, instructions: null, model,
        output: [{ type: 'message', id: `msg_${rnd(40)}`, status: 'completed', role: 'assistant',
          content: [{ type: 'output_text', text: content, annotations: [] }] }],
        parallel_tool_calls: true, tool_choice: 'auto', tools: [],
        usage: { input_tokens: usage.prompt_tokens, output_tokens: usage.completion_tokens, total_tokens: usage.total_tokens,
          input_tokens_details: { cached_tokens: 0 }, output_tokens_details: { reasoning_tokens: 0 } },
      });
      return;
    }

    if (p === '/v1/moderations') {
      sendJson(200, {
        id: `modr-${rnd(29)}`, model,
        results: [{ flagged: false, categories: { harassment: false, hate: false, violence: false },
          category_scores: { harassment: 0.0001, hate: 0.0001, violence: 0.0002 } }],
      });
      return;
    }

    sendJson(404, openaiErrorBody(0, { path: p, method: req.method }));
  }

  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address();

  const up = {
    name,
    port,
    origin: `http://127.0.0.1:${port}`,
    url: `http://127.0.0.1:${port}/v1`,
    requests,
    behave(key, b) {
      behaviours.set(key ?? 'default', Array.isArray(b) ? { queue: [...b] } : b);
      return up;
    },
    served(key) {
      return key === undefined ? requests.length : requests.filter((r) => r.key === key).length;
    },
    byKey() {
      const out = {};
      for (const r of requests) out[r.key] = (out[r.key] || 0) + 1;
      return out;
    },
    waitFor(pred = () => true, ms = 5000) {
      const hit = requests.find(pred);
      if (hit) return Promise.resolve(hit);
      return new Promise((resolve, reject) => {
        const w = { pred, resolve };
        w.timer = setTimeout(() => { waiters.delete(w); reject(new Error(`mock upstream ${name}: no matching request within ${ms} ms`)); }, ms);
        waiters.add(w);
      });
    },
    reset() {
      requests.length = 0;
      behaviours.clear();
    },
    async close() {
      for (const t of timers) clearTimeout(t);
      timers.clear();
      for (const w of waiters) clearTimeout(w.timer);
      waiters.clear();
      for (const s of sockets) s.destroy();
      await new Promise((r) => server.close(() => r()));
    },
  };
  return up;
}

// Starts a mock upstream for test t and closes it afterwards.
export async function mockUpstream(t, opts) {
  const up = await startMockUpstream(opts);
  t.after(() => up.close());
  return up;
}

export { sleep };
