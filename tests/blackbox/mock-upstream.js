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
// startMockUpstream({ models, name, defaultContent, flavor, modelsPageMax }):
// models is what GET /models lists (and, for OpenAI, the default model);
// modelsPageMax caps a page of Anthropic's and Gemini's paged lists below
// what the client asked for, so that a client has to follow the pages.
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
//                headers (extra response headers). Any type: gate (a
//                promise the answer waits for before anything else).
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

export async function startMockUpstream({ models: givenModels, name = 'mock', defaultContent = 'Hello from the mock upstream.', flavor = 'openai', modelsPageMax = 1000 } = {}) {
  const models = givenModels ?? (flavor === 'anthropic' ? ['claude-sonnet-4-5-20250929', 'claude-3-5-haiku-20241022'] : ['gpt-4o']);
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
    if (flavor !== 'openai') rec.key = flavorKey(flavor, req.headers, url);
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

    if (b.gate) await b.gate;
    if (b.delayMs) await later(b.delayMs);
    if (res.destroyed) return;
    if (b.type === 'hang') return;
    if (flavor === 'anthropic') return anthropicAnswer({ req, res, rec, b, body, url, later, destroy, defaultContent, models, modelsPageMax });
    if (flavor === 'gemini') return geminiAnswer({ req, res, rec, b, body, url, later, destroy, defaultContent, models, modelsPageMax });

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
      if (!rec.key) {
        sendJson(401, { error: { message: "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY), or as the password field (with blank username) if you're accessing the API from your browser and are prompted for a username and password. You can obtain an API key from https://platform.openai.com/account/api-keys.", type: 'invalid_request_error', param: null, code: null } });
        return;
      }
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
    if (/^multipart\/form-data/.test(req.headers['content-type'] || '')) {
      await multipartAnswer({ req, res, rec, b, raw: rawBuf, p, sendJson, common, later });
      return;
    }
    if (p === '/v1/audio/speech' && typeof body === 'object' && body !== null) {
      // MP3 bytes in pieces, as OpenAI streams speech.
      res.writeHead(200, { ...common, 'content-type': 'audio/mpeg', 'transfer-encoding': 'chunked' });
      rec.audio = Buffer.alloc(0);
      for (let i = 0; i < (b.chunks ?? 4); i++) {
        const piece = Buffer.from([0xff, 0xfb, 0x90, i, ...crypto.randomBytes(60)]);
        rec.audio = Buffer.concat([rec.audio, piece]);
        res.write(piece);
        rec.chunksSent++;
        if (b.chunkDelayMs) await later(b.chunkDelayMs);
      }
      res.end();
      return;
    }
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
          const calls = openaiToolCalls(b);
          const message = { role: 'assistant', content: calls.length && !b.content ? null : content, refusal: null, annotations: [] };
          if (calls.length) message.tool_calls = calls;
          sendJson(200, {
            id, object: 'chat.completion', created, model,
            choices: [{ index: 0, message, logprobs: null, finish_reason: calls.length ? 'tool_calls' : 'stop' }],
            usage: { ...usage, prompt_tokens_details: { cached_tokens: b.usage?.cached_tokens ?? 0, audio_tokens: 0 }, completion_tokens_details: { reasoning_tokens: b.usage?.reasoning_tokens ?? 0, audio_tokens: 0, accepted_prediction_tokens: 0, rejected_prediction_tokens: 0 } },
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
      const calls = chat ? openaiToolCalls(b) : [];
      for (const [index, tc] of calls.entries()) {
        const delta = (d) => send({ ...base, choices: [{ index: 0, delta: { tool_calls: [{ index, ...d }] }, logprobs: null, finish_reason: null }], ...u });
        delta({ id: tc.id, type: 'function', function: { name: tc.function.name, arguments: '' } });
        for (const piece of splitN(tc.function.arguments, 3)) if (piece) delta({ function: { arguments: piece } });
      }
      send(chunk('', calls.length ? 'tool_calls' : 'stop'));
      const usage = usageOut(parts.length);
      rec.usage = usage;
      if (includeUsage) {
        const details = {
          ...(b.usage?.cached_tokens === undefined ? {} : { prompt_tokens_details: { cached_tokens: b.usage.cached_tokens } }),
          ...(b.usage?.reasoning_tokens === undefined ? {} : { completion_tokens_details: { reasoning_tokens: b.usage.reasoning_tokens } }),
        };
        send({ ...base, choices: [], usage: { ...usage, ...details } });
      }
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
      await responsesAnswer({ res, rec, b, body, model, content, prompt, sendJson, common, later, destroy });
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
    // A deep accept queue (node's default is 511): thousands of streams
    // may connect at once (streams-held.test.js).
    server.listen(0, '127.0.0.1', 4096, resolve);
  });
  const { port } = server.address();

  const up = {
    name,
    flavor,
    port,
    origin: `http://127.0.0.1:${port}`,
    url: `http://127.0.0.1:${port}${flavor === 'gemini' ? '/v1beta' : '/v1'}`,
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

// OpenAI's multipart endpoints: audio transcriptions and translations
// (streamed with stream=true: transcript.text.delta events and
// transcript.text.done, no [DONE]) and image edits and variations. The
// form is parsed as the real API does; rec.form holds its fields and
// rec.files the files' names and sizes.
async function multipartAnswer({ req, res, rec, b, raw, p, sendJson, common }) {
  const form = await new Request('http://x', { method: 'POST', headers: { 'content-type': req.headers['content-type'] }, body: raw }).formData().catch(() => null);
  if (!form) { sendJson(400, { error: { message: 'Could not parse multipart form', type: 'invalid_request_error', param: null, code: null } }); return; }
  rec.form = {};
  rec.files = {};
  for (const [k, v] of form.entries()) {
    if (typeof v === 'string') rec.form[k] = v;
    else rec.files[k] = { name: v.name, size: v.size };
  }
  const need = p.startsWith('/v1/audio/') ? 'file' : 'image';
  if (!rec.files[need] && !rec.files[`${need}[]`]) {
    rec.rejected = `Missing required parameter: '${need}'.`;
    sendJson(400, { error: { message: rec.rejected, type: 'invalid_request_error', param: need, code: 'missing_required_parameter' } });
    return;
  }
  const text = b.content ?? 'Transcribed speech.';
  if (p === '/v1/audio/transcriptions' || p === '/v1/audio/translations') {
    if (rec.form.stream === 'true') {
      res.writeHead(200, { ...common, 'content-type': 'text/event-stream; charset=utf-8' });
      for (const piece of splitText(text, 3)) res.write(`data: ${JSON.stringify({ type: 'transcript.text.delta', delta: piece })}\n\n`);
      res.end(`data: ${JSON.stringify({ type: 'transcript.text.done', text, usage: { type: 'tokens', input_tokens: 14, output_tokens: 4, total_tokens: 18 } })}\n\n`);
      return;
    }
    sendJson(200, { text, usage: { type: 'tokens', input_tokens: 14, output_tokens: 4, total_tokens: 18 } });
    return;
  }
  if (p === '/v1/images/edits' || p === '/v1/images/variations') {
    sendJson(200, { created: Math.floor(Date.now() / 1000), data: [{ b64_json: Buffer.from('png').toString('base64') }] });
    return;
  }
  sendJson(404, openaiErrorBody(0, { path: p }));
}

// The tool calls of a behaviour as OpenAI chat's tool_calls.
function openaiToolCalls(b) {
  return (b.toolCalls ?? []).map((tc) => ({ id: tc.id ?? `call_${rnd(24)}`, type: 'function', function: { name: tc.name, arguments: JSON.stringify(tc.arguments ?? {}) } }));
}

const RESPONSES_TOP = new Set(['model', 'input', 'instructions', 'tools', 'tool_choice', 'text', 'max_output_tokens', 'temperature',
  'top_p', 'reasoning', 'stream', 'store', 'previous_response_id', 'include', 'metadata', 'parallel_tool_calls', 'truncation', 'user',
  'service_tier', 'background', 'prompt', 'prompt_cache_key', 'safety_identifier', 'max_tool_calls', 'top_logprobs', 'conversation']);

// OpenAI's Responses API: POST /v1/responses, whole or streamed. As the
// real one, it refuses parameters it does not have (stream_options among
// them: 400 unknown_parameter) and ends its streams with
// response.completed, never [DONE]. Behaviours: 'ok' (content, chunks,
// toolCalls, usage with cached_tokens and reasoning_tokens), and
// { type: 'event_error', code, event: 'error' | 'response.failed' }, an
// error event right after response.created.
async function responsesAnswer({ res, rec, b, body, model, content, prompt, sendJson, common, later }) {
  for (const k of Object.keys(body)) {
    if (!RESPONSES_TOP.has(k)) {
      rec.rejected = `Unknown parameter: '${k}'.`;
      sendJson(400, { error: { message: rec.rejected, type: 'invalid_request_error', param: k, code: 'unknown_parameter' } });
      return;
    }
  }
  if (typeof body.model !== 'string' || body.input === undefined) {
    rec.rejected = "Missing required parameter: 'input'.";
    sendJson(400, { error: { message: rec.rejected, type: 'invalid_request_error', param: 'input', code: 'missing_required_parameter' } });
    return;
  }
  const id = `resp_${rnd(40)}`;
  const created = Math.floor(Date.now() / 1000);
  const calls = (b.toolCalls ?? []).map((tc) => ({ type: 'function_call', id: `fc_${rnd(40)}`, call_id: tc.id ?? `call_${rnd(24)}`, name: tc.name, arguments: JSON.stringify(tc.arguments ?? {}), status: 'completed' }));
  const text = b.content ?? (calls.length ? '' : content);
  const pt = b.usage?.prompt_tokens ?? tokens(prompt);
  const ct = b.usage?.completion_tokens ?? tokens(text || JSON.stringify(calls));
  const usage = { input_tokens: pt, input_tokens_details: { cached_tokens: b.usage?.cached_tokens ?? 0 }, output_tokens: ct,
    output_tokens_details: { reasoning_tokens: b.usage?.reasoning_tokens ?? 0 }, total_tokens: pt + ct };
  const msgId = `msg_${rnd(40)}`;
  const message = { type: 'message', id: msgId, status: 'completed', role: 'assistant', content: [{ type: 'output_text', text, annotations: [], logprobs: [] }] };
  const output = [...(text ? [message] : []), ...calls];
  const response = (status, out, u) => ({
    id, object: 'response', created_at: created, status, background: false, error: null, incomplete_details: null,
    instructions: body.instructions ?? null, max_output_tokens: body.max_output_tokens ?? null, model, output: out,
    parallel_tool_calls: true, previous_response_id: null, reasoning: { effort: null, summary: null }, store: body.store ?? true,
    temperature: 1, text: { format: { type: 'text' } }, tool_choice: 'auto', tools: body.tools ?? [], top_p: 1, truncation: 'disabled',
    usage: u, user: null, metadata: {},
  });
  if (body.stream !== true) {
    rec.usage = { prompt_tokens: pt, completion_tokens: ct, total_tokens: pt + ct };
    sendJson(200, response('completed', output, usage));
    return;
  }
  res.writeHead(200, { ...common, 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' });
  res.flushHeaders();
  let seq = 0;
  const send = (type, obj) => { if (!res.destroyed) res.write(`event: ${type}\ndata: ${JSON.stringify({ type, sequence_number: seq++, ...obj })}\n\n`); };
  const delay = b.chunkDelayMs ?? 0;
  send('response.created', { response: response('in_progress', [], null) });
  if (b.type === 'event_error') {
    const code = b.code ?? 'insufficient_quota';
    const message = 'You exceeded your current quota, please check your plan and billing details.';
    if (b.event === 'response.failed') send('response.failed', { response: { ...response('failed', [], null), error: { code, message } } });
    else send('error', { code, message, param: null });
    res.end();
    return;
  }
  send('response.in_progress', { response: response('in_progress', [], null) });
  let index = 0;
  if (text) {
    send('response.output_item.added', { output_index: index, item: { ...message, status: 'in_progress', content: [] } });
    send('response.content_part.added', { item_id: msgId, output_index: index, content_index: 0, part: { type: 'output_text', text: '', annotations: [] } });
    for (const [i, piece] of splitText(text, b.chunks ?? 3).entries()) {
      if (rec.chunksSent >= ((b.type === 'stall' || b.type === 'reset') ? (b.after ?? 1) : Infinity)) {
        if (b.type === 'reset') { await later(20); res.socket?.destroy(); }
        return;
      }
      if (delay && i > 0) await later(delay);
      if (res.destroyed) return;
      send('response.output_text.delta', { item_id: msgId, output_index: index, content_index: 0, delta: piece, logprobs: [] });
      rec.chunksSent++;
      rec.chunkTimes.push(Date.now());
    }
    send('response.output_text.done', { item_id: msgId, output_index: index, content_index: 0, text, logprobs: [] });
    send('response.content_part.done', { item_id: msgId, output_index: index, content_index: 0, part: { type: 'output_text', text, annotations: [] } });
    send('response.output_item.done', { output_index: index, item: message });
    index++;
  }
  for (const call of calls) {
    send('response.output_item.added', { output_index: index, item: { ...call, arguments: '', status: 'in_progress' } });
    for (const piece of splitN(call.arguments, 3)) if (piece) send('response.function_call_arguments.delta', { item_id: call.id, output_index: index, delta: piece });
    send('response.function_call_arguments.done', { item_id: call.id, output_index: index, arguments: call.arguments });
    send('response.output_item.done', { output_index: index, item: call });
    index++;
  }
  rec.usage = { prompt_tokens: pt, completion_tokens: ct, total_tokens: pt + ct };
  send('response.completed', { response: response('completed', output, usage) });
  if (!res.destroyed) res.end();
}

// Starts a mock upstream for test t and closes it afterwards.
export async function mockUpstream(t, opts) {
  const up = await startMockUpstream(opts);
  t.after(() => up.close());
  return up;
}

export { sleep };

// ---------------------------------------------------------------------------
// Other providers' wire formats: startMockUpstream({ flavor }) with
//   'anthropic'  Anthropic's Messages API under /v1 (POST /v1/messages,
//                /v1/messages/count_tokens, GET /v1/models); the key is read
//                from x-api-key, else from Authorization: Bearer.
//   'gemini'     Google's Gemini API under /v1beta (POST
//                /v1beta/models/{model}:generateContent,
//                :streamGenerateContent (?alt=sse for SSE, a JSON array
//                without), :countTokens, GET /v1beta/models); the key is
//                read from x-goog-api-key (or ?key=).
// up.url is then the base_url of such a provider. Requests are recorded and
// behaviours chosen exactly as for the OpenAI mock (rec.key is the key from
// the provider's own header; rec.usage is { prompt_tokens,
// completion_tokens, total_tokens } whatever the format). The mocks check
// requests the way the real APIs do (unknown fields, roles, content block
// types, tool definitions, tool results without their call, missing
// headers) and answer with the real 400 bodies, so an untranslated field
// shows up as the error the real provider would give.
//
// Behaviour types and options, in addition to the common ones ('ok',
// 'error', 'stall', 'reset', 'hang', 'malformed', 'truncated', delayMs,
// headers):
//   'ok'            content, chunks, chunkDelayMs, usage ({prompt_tokens,
//                   completion_tokens}), toolCalls ([{ name, arguments
//                   (object), id? }]: the answer calls tools; the text comes
//                   first when content is set), stopReason (Anthropic) /
//                   finishReason (Gemini) to override the stop reason.
//   'error'         status with the provider's own error body and
//                   retryAfter (the retry-after header; Gemini's 429 also
//                   carries a RetryInfo detail).
//   Gemini 3 models (gemini-3*) put a thoughtSignature on the first
//   functionCall part of an answer and, as the real API does, refuse a
//   history whose model turn has a functionCall without the signature it
//   was given (signatures are derived from the call, so the check needs no
//   state: geminiSignature(name, args)).
//   'bad_key'       Gemini only: the 400 INVALID_ARGUMENT / API_KEY_INVALID
//                   that Google sends for a wrong key.
//   'stream_error'  streams `after` (default 1) text deltas, then the
//                   provider's in-stream error (Anthropic: event: error
//                   with overloaded_error; Gemini: a data: chunk holding
//                   {"error":{...}}), then ends the response properly.

function flavorKey(flavor, headers, url) {
  // The API takes a key in x-api-key or, as the SDK sends it since API
  // version 2026-10-21, as Authorization: Bearer.
  if (flavor === 'anthropic') return headers['x-api-key'] ?? (headers.authorization ?? '').match(/^Bearer\s+(.+)$/i)?.[1] ?? null;
  if (flavor === 'gemini') return headers['x-goog-api-key'] ?? url.searchParams.get('key') ?? null;
  return null;
}

function usageFor(b, prompt, completion) {
  const pt = b.usage?.prompt_tokens ?? tokens(prompt);
  const ct = b.usage?.completion_tokens ?? completion;
  return { prompt_tokens: pt, completion_tokens: ct, total_tokens: pt + ct };
}

// Splits a string into n pieces (the last ones may be empty).
function splitN(s, n) {
  const out = [];
  const per = Math.max(1, Math.ceil(s.length / n));
  for (let i = 0; i < n; i++) out.push(s.slice(i * per, (i + 1) * per));
  return out;
}

// --- Anthropic Messages ----------------------------------------------------

const ANTHROPIC_ERRORS = {
  400: ['invalid_request_error', 'messages: field required'],
  401: ['authentication_error', 'invalid x-api-key'],
  403: ['permission_error', 'Your API key does not have permission to use the specified resource.'],
  404: ['not_found_error', 'Not found'],
  413: ['request_too_large', 'Request exceeds the maximum allowed number of bytes.'],
  429: ['rate_limit_error', 'This request would exceed the rate limit for your organization (mock) of 50 input tokens per minute. For details, refer to: https://docs.claude.com/en/api/rate-limits. You can see the response headers for current usage. Please reduce the prompt length or the maximum tokens requested, or try again later. You may also contact sales at https://www.anthropic.com/contact-sales to discuss your options for a rate limit increase.'],
  500: ['api_error', 'Internal server error'],
  529: ['overloaded_error', 'Overloaded'],
};

// Anthropic's error body for a status (or a given type and message).
export function anthropicErrorBody(status, message, type) {
  const [t, m] = ANTHROPIC_ERRORS[Number(status)] ?? (Number(status) >= 500 ? ['api_error', 'Internal server error'] : ['invalid_request_error', 'Invalid request']);
  return { type: 'error', error: { type: type ?? t, message: message ?? m }, request_id: `req_011C${rnd(20)}` };
}

const ANTHROPIC_TOP = new Set(['model', 'messages', 'max_tokens', 'system', 'metadata', 'stop_sequences', 'stream', 'temperature',
  'top_p', 'top_k', 'tools', 'tool_choice', 'thinking', 'service_tier', 'container', 'mcp_servers', 'context_management']);
const ANTHROPIC_COUNT_TOP = new Set(['model', 'messages', 'system', 'tools', 'tool_choice', 'thinking', 'mcp_servers', 'context_management']);
const ANTHROPIC_BLOCKS = ['text', 'image', 'document', 'search_result', 'thinking', 'redacted_thinking', 'tool_use', 'tool_result',
  'server_tool_use', 'web_search_tool_result'];

// What the real API answers with 400 for a request body, or null.
export function anthropicCheck(body, { count = false } = {}) {
  if (!body || typeof body !== 'object' || Array.isArray(body)) return 'There was an error parsing the body of your request';
  for (const k of Object.keys(body)) {
    if (!(count ? ANTHROPIC_COUNT_TOP : ANTHROPIC_TOP).has(k)) return `${k}: Extra inputs are not permitted`;
  }
  if (typeof body.model !== 'string' || !body.model) return 'model: Field required';
  if (!count && !Number.isInteger(body.max_tokens)) return body.max_tokens === undefined ? 'max_tokens: Field required' : 'max_tokens: Input should be a valid integer';
  if (!count && body.max_tokens < 1) return 'max_tokens: Input should be greater than or equal to 1';
  if (!Array.isArray(body.messages)) return 'messages: Field required';
  if (body.temperature !== undefined && (typeof body.temperature !== 'number' || body.temperature < 0 || body.temperature > 1)) {
    return 'temperature: Input should be less than or equal to 1';
  }
  if (body.system !== undefined && typeof body.system !== 'string') {
    if (!Array.isArray(body.system)) return 'system: Input should be a valid list';
    for (const [j, blk] of body.system.entries()) {
      if (blk?.type !== 'text' || typeof blk.text !== 'string') return `system.${j}: Input should be a valid dictionary or object to extract fields from`;
      if (!blk.text) return 'system: text content blocks must be non-empty';
    }
  }
  if (body.stop_sequences !== undefined && (!Array.isArray(body.stop_sequences) || body.stop_sequences.some((x) => typeof x !== 'string'))) {
    return 'stop_sequences: Input should be a valid list';
  }
  if (body.tools !== undefined) {
    if (!Array.isArray(body.tools)) return 'tools: Input should be a valid list';
    for (const [i, tl] of body.tools.entries()) {
      if (!tl || typeof tl !== 'object') return `tools.${i}: Input should be a valid dictionary`;
      if (tl.type !== undefined && tl.type !== 'custom') continue; // server tools
      for (const k of Object.keys(tl)) {
        if (!['name', 'description', 'input_schema', 'type', 'cache_control'].includes(k)) return `tools.${i}.custom.${k}: Extra inputs are not permitted`;
      }
      if (typeof tl.name !== 'string' || !/^[a-zA-Z0-9_-]{1,128}$/.test(tl.name)) return `tools.${i}.custom.name: String should match pattern '^[a-zA-Z0-9_-]{1,128}$'`;
      if (!tl.input_schema || typeof tl.input_schema !== 'object') return `tools.${i}.custom.input_schema: Field required`;
      if (tl.input_schema.type !== 'object') return `tools.${i}.custom.input_schema.type: Input should be 'object'`;
    }
  }
  if (body.tool_choice !== undefined) {
    const tc = body.tool_choice;
    if (!tc || typeof tc !== 'object' || Array.isArray(tc)) return 'tool_choice: Input should be a valid dictionary';
    if (!['auto', 'any', 'tool', 'none'].includes(tc.type)) return "tool_choice: Input tag found using 'type' does not match any of the expected tags: 'auto', 'any', 'tool', 'none'";
    if (tc.type === 'tool' && typeof tc.name !== 'string') return 'tool_choice.tool.name: Field required';
  }
  let prevToolUses = new Set();
  for (const [i, m] of body.messages.entries()) {
    if (!m || typeof m !== 'object') return `messages.${i}: Input should be a valid dictionary`;
    if (m.role === 'system') return 'messages: Unexpected role "system". The Messages API accepts a top-level `system` parameter, not "system" as an input message role.';
    if (m.role !== 'user' && m.role !== 'assistant') return `messages.${i}.role: Input should be 'user' or 'assistant'`;
    for (const k of Object.keys(m)) if (k !== 'role' && k !== 'content') return `messages.${i}.${k}: Extra inputs are not permitted`;
    const last = i === body.messages.length - 1;
    const toolUses = new Set();
    if (typeof m.content === 'string') {
      if (!m.content && !(last && m.role === 'assistant')) return `messages.${i}: all messages must have non-empty content except for the optional final assistant message`;
    } else if (Array.isArray(m.content)) {
      if (!m.content.length && !(last && m.role === 'assistant')) return `messages.${i}: all messages must have non-empty content except for the optional final assistant message`;
      for (const [j, c] of m.content.entries()) {
        const at = `messages.${i}.content.${j}`;
        if (!c || typeof c !== 'object' || !ANTHROPIC_BLOCKS.includes(c.type)) {
          return `${at}: Input tag '${c?.type}' found using 'type' does not match any of the expected tags: ${ANTHROPIC_BLOCKS.map((x) => `'${x}'`).join(', ')}`;
        }
        if (c.type === 'text') {
          if (typeof c.text !== 'string') return `${at}.text.text: Field required`;
          if (!c.text) return 'messages: text content blocks must be non-empty';
        }
        if (c.type === 'image') {
          const src = c.source;
          if (!src || typeof src !== 'object') return `${at}.image.source: Field required`;
          if (src.type === 'base64') {
            if (!['image/jpeg', 'image/png', 'image/gif', 'image/webp'].includes(src.media_type)) {
              return `${at}.image.source.base64.media_type: Input should be 'image/jpeg', 'image/png', 'image/gif' or 'image/webp'`;
            }
            if (typeof src.data !== 'string' || !src.data || /[^A-Za-z0-9+/=]/.test(src.data)) return `${at}.image.source.base64: The image data is not valid base64`;
          } else if (src.type === 'url') {
            if (typeof src.url !== 'string' || !/^https?:\/\//.test(src.url)) return `${at}.image.source.url.url: Field required`;
          } else return `${at}.image.source: Input tag '${src.type}' found using 'type' does not match any of the expected tags: 'base64', 'url', 'file'`;
        }
        if (c.type === 'tool_use') {
          if (m.role !== 'assistant') return `${at}: tool_use blocks can only be in assistant messages`;
          if (typeof c.id !== 'string' || !c.id) return `${at}.tool_use.id: Field required`;
          if (typeof c.name !== 'string' || !c.name) return `${at}.tool_use.name: Field required`;
          if (!c.input || typeof c.input !== 'object' || Array.isArray(c.input)) return `${at}.tool_use.input: Input should be a valid dictionary`;
          toolUses.add(c.id);
        }
        if (c.type === 'tool_result') {
          if (m.role !== 'user') return `${at}: tool_result blocks can only be in user messages`;
          if (!prevToolUses.has(c.tool_use_id)) {
            return `${at}: unexpected \`tool_use_id\` found in \`tool_result\` blocks: ${c.tool_use_id}. Each \`tool_result\` block must have a corresponding \`tool_use\` block in the previous message.`;
          }
        }
      }
    } else return `messages.${i}.content: Input should be a valid string or list`;
    prevToolUses = toolUses;
  }
  return null;
}

function anthropicPromptText(body) {
  const parts = [];
  const text = (c) => (typeof c === 'string' ? c : Array.isArray(c) ? c.map((x) => x?.text ?? (x?.input ? JSON.stringify(x.input) : '') ?? '').join('\n') : '');
  if (body?.system) parts.push(text(body.system));
  for (const m of body?.messages ?? []) parts.push(text(m?.content));
  return parts.join('\n');
}

async function anthropicAnswer({ req, res, rec, b, body, url, later, destroy, defaultContent, models, modelsPageMax }) {
  const p = url.pathname;
  const common = {
    'request-id': `req_011C${rnd(20)}`, 'anthropic-organization-id': '5d0e7c1a-0000-4000-8000-00000000m0ck',
    'anthropic-ratelimit-requests-limit': '50', 'anthropic-ratelimit-requests-remaining': '49',
    via: '1.1 google', 'cf-cache-status': 'DYNAMIC', ...(b.headers || {}),
  };
  const sendJson = (status, obj, extra = {}) => {
    const text = JSON.stringify(obj);
    res.writeHead(status, { ...common, 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...extra });
    res.end(text);
  };
  const model = typeof body?.model === 'string' ? body.model : 'claude-sonnet-4-5-20250929';

  if (b.type === 'error') {
    const status = b.status || 500;
    const extra = {};
    if (b.retryAfter !== undefined) extra['retry-after'] = String(b.retryAfter);
    if (status === 429) Object.assign(extra, { 'anthropic-ratelimit-requests-remaining': '0', 'anthropic-ratelimit-requests-reset': new Date(Date.now() + 1000 * (b.retryAfter ?? 20)).toISOString() });
    if (status === 529) extra['x-should-retry'] = 'true';
    const errBody = b.body ?? anthropicErrorBody(status);
    if (typeof errBody === 'string') {
      res.writeHead(status, { ...common, 'content-type': 'text/html', 'content-length': Buffer.byteLength(errBody), ...extra });
      res.end(errBody);
    } else sendJson(status, errBody, extra);
    return;
  }
  if (b.type === 'malformed') {
    const text = '{"id":"msg_broken","type":"message","role":"assistant","content":[{"type":"text","text":"never ends';
    res.writeHead(200, { ...common, 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
    res.end(text);
    return;
  }
  if (b.type === 'truncated') {
    res.writeHead(200, { ...common, 'content-type': 'application/json', 'content-length': '4096' });
    res.write('{"id":"msg_truncated","type":"message","role":"assistant","content":[');
    await later(50);
    destroy();
    return;
  }

  // GET /v1/models: a key and a version, pages of ?limit= (1 to 1000,
  // default 20) after ?after_id=; newest first as the API lists them.
  if (req.method === 'GET' && p === '/v1/models') {
    if (!rec.key) { sendJson(401, anthropicErrorBody(401, 'x-api-key header is required')); return; }
    if (!req.headers['anthropic-version']) { sendJson(400, anthropicErrorBody(400, 'anthropic-version: header is required')); return; }
    const limit = Number(url.searchParams.get('limit') ?? 20);
    if (!Number.isInteger(limit) || limit < 1 || limit > 1000) { sendJson(400, anthropicErrorBody(400, 'limit: Input should be less than or equal to 1000')); return; }
    const after = url.searchParams.get('after_id');
    const start = after === null ? 0 : models.indexOf(after) + 1;
    if (after !== null && start === 0) { sendJson(404, anthropicErrorBody(404, `model: ${after}`)); return; }
    const page = models.slice(start, start + Math.min(limit, modelsPageMax));
    const data = page.map((id) => ({ type: 'model', id, display_name: id, created_at: '2025-02-19T00:00:00Z' }));
    sendJson(200, { data, has_more: start + page.length < models.length, first_id: data[0]?.id ?? null, last_id: data.at(-1)?.id ?? null });
    return;
  }
  if (req.method !== 'POST' || (p !== '/v1/messages' && p !== '/v1/messages/count_tokens')) {
    sendJson(404, anthropicErrorBody(404, `${req.method} ${p} not found`));
    return;
  }
  if (!rec.key) { sendJson(401, anthropicErrorBody(401, 'x-api-key header is required')); return; }
  if (!req.headers['anthropic-version']) { sendJson(400, anthropicErrorBody(400, 'anthropic-version: header is required')); return; }
  if (!/^application\/json/.test(req.headers['content-type'] || '')) { sendJson(400, anthropicErrorBody(400, 'Content-Type must be application/json')); return; }
  const count = p === '/v1/messages/count_tokens';
  const problem = anthropicCheck(body, { count });
  if (problem) { rec.rejected = problem; sendJson(400, anthropicErrorBody(400, problem)); return; }
  const prompt = anthropicPromptText(body);

  if (count) {
    const n = b.usage?.prompt_tokens ?? tokens(prompt) + (body.tools ? 40 * body.tools.length : 0);
    sendJson(200, { input_tokens: n });
    return;
  }

  const id = `msg_01${rnd(22)}`;
  const toolCalls = (b.toolCalls ?? []).map((tc) => ({ id: tc.id ?? `toolu_01${rnd(22)}`, name: tc.name, input: tc.arguments ?? {} }));
  const content = b.content ?? (toolCalls.length ? '' : defaultContent);
  const stopReason = b.stopReason ?? (toolCalls.length ? 'tool_use' : 'end_turn');
  const blocks = [];
  if (content) blocks.push({ type: 'text', text: content });
  for (const tc of toolCalls) blocks.push({ type: 'tool_use', ...tc });
  const usageBase = { cache_creation_input_tokens: b.usage?.cache_write_tokens ?? 0, cache_read_input_tokens: b.usage?.cached_tokens ?? 0 };

  if (body.stream !== true) {
    if (b.type === 'stall' || b.type === 'reset') {
      const half = `{"id":"${id}","type":"message","role":"assistant","model":"${model}",`;
      res.writeHead(200, { ...common, 'content-type': 'application/json', 'content-length': String(half.length + 200) });
      res.write(half);
      if (b.type === 'reset') { await later(20); destroy(); }
      return;
    }
    const u = usageFor(b, prompt, tokens(content + JSON.stringify(toolCalls)));
    rec.usage = u;
    sendJson(200, {
      id, type: 'message', role: 'assistant', model, content: blocks, stop_reason: stopReason, stop_sequence: null,
      usage: { input_tokens: u.prompt_tokens, ...usageBase, output_tokens: u.completion_tokens, service_tier: 'standard' },
    });
    return;
  }

  // Streaming, as Anthropic frames it: a named event and its data.
  res.writeHead(200, { ...common, 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' });
  res.flushHeaders();
  const send = (type, obj) => { if (!res.destroyed) res.write(`event: ${type}\ndata: ${JSON.stringify({ type, ...obj })}\n\n`); };
  const delay = b.chunkDelayMs ?? 0;
  const stopAfter = ['stall', 'reset', 'stream_error'].includes(b.type) ? (b.after ?? 1) : Infinity;
  const u = usageFor(b, prompt, 0);
  send('message_start', {
    message: { id, type: 'message', role: 'assistant', model, content: [], stop_reason: null, stop_sequence: null,
      usage: { input_tokens: u.prompt_tokens, ...usageBase, output_tokens: 1, service_tier: 'standard' } },
  });
  let index = 0;
  let outTokens = 0;
  const interrupted = async () => {
    if (b.type === 'stall') return true;
    if (b.type === 'reset') { await later(20); destroy(); return true; }
    if (b.type === 'stream_error') {
      send('error', { error: { type: 'overloaded_error', message: 'Overloaded' }, request_id: common['request-id'] });
      if (!res.destroyed) res.end();
      return true;
    }
    return false;
  };
  const stepDelta = async () => {
    if (rec.chunksSent >= stopAfter) return (await interrupted()) ? 'stop' : null;
    if (delay) await later(delay);
    return res.destroyed ? 'stop' : null;
  };
  if (content) {
    send('content_block_start', { index, content_block: { type: 'text', text: '' } });
    send('ping', {});
    for (const part of splitText(content, b.chunks ?? 3)) {
      if (await stepDelta()) return;
      send('content_block_delta', { index, delta: { type: 'text_delta', text: part } });
      rec.chunksSent++;
      rec.chunkTimes.push(Date.now());
      outTokens += tokens(part);
    }
    send('content_block_stop', { index });
    index++;
  } else send('ping', {});
  for (const tc of toolCalls) {
    send('content_block_start', { index, content_block: { type: 'tool_use', id: tc.id, name: tc.name, input: {} } });
    const json = JSON.stringify(tc.input);
    for (const part of ['', ...splitN(json, 3)]) {
      if (await stepDelta()) return;
      send('content_block_delta', { index, delta: { type: 'input_json_delta', partial_json: part } });
      rec.chunksSent++;
      rec.chunkTimes.push(Date.now());
    }
    outTokens += tokens(json);
    send('content_block_stop', { index });
    index++;
  }
  if (rec.chunksSent >= stopAfter && await interrupted()) return;
  if (delay) await later(delay);
  if (res.destroyed) return;
  const final = usageFor(b, prompt, Math.max(1, outTokens));
  rec.usage = final;
  send('message_delta', { delta: { stop_reason: stopReason, stop_sequence: null }, usage: { output_tokens: final.completion_tokens } });
  send('message_stop', {});
  if (!res.destroyed) res.end();
}

// --- Gemini ------------------------------------------------------------------

const GEMINI_ERRORS = {
  400: ['INVALID_ARGUMENT', 'Request contains an invalid argument.'],
  401: ['UNAUTHENTICATED', 'Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential.'],
  403: ['PERMISSION_DENIED', 'Permission denied: Consumer has been suspended.'],
  404: ['NOT_FOUND', 'models/unknown is not found for API version v1beta, or is not supported for generateContent. Call ListModels to see the list of available models and their supported methods.'],
  429: ['RESOURCE_EXHAUSTED', 'You exceeded your current quota, please check your plan and billing details. For more information on this error, head to: https://ai.google.dev/gemini-api/docs/rate-limits.'],
  500: ['INTERNAL', 'An internal error has occurred. Please retry or report in https://developers.generativeai.google/guide/troubleshooting'],
  503: ['UNAVAILABLE', 'The model is overloaded. Please try again later.'],
  504: ['DEADLINE_EXCEEDED', 'Deadline expired before operation could complete.'],
};

// Google's error body for a status (or a given message and status name).
export function geminiErrorBody(status, message, statusName, { retryAfter } = {}) {
  const code = Number(status);
  const [s, m] = GEMINI_ERRORS[code] ?? (code >= 500 ? ['INTERNAL', GEMINI_ERRORS[500][1]] : ['INVALID_ARGUMENT', GEMINI_ERRORS[400][1]]);
  const error = { code, message: message ?? m, status: statusName ?? s };
  if (code === 429) {
    error.details = [
      { '@type': 'type.googleapis.com/google.rpc.QuotaFailure', violations: [{ quotaMetric: 'generativelanguage.googleapis.com/generate_content_free_tier_requests', quotaId: 'GenerateRequestsPerMinutePerProjectPerModel-FreeTier', quotaDimensions: { location: 'global', model: 'gemini-2.0-flash' }, quotaValue: '15' }] },
      { '@type': 'type.googleapis.com/google.rpc.Help', links: [{ description: 'Learn more about Gemini API quotas', url: 'https://ai.google.dev/gemini-api/docs/rate-limits' }] },
      { '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: `${retryAfter ?? 20}s` },
    ];
  }
  return { error };
}

const GEMINI_TOP = ['contents', 'systemInstruction', 'system_instruction', 'tools', 'toolConfig', 'tool_config', 'safetySettings',
  'safety_settings', 'generationConfig', 'generation_config', 'cachedContent', 'cached_content', 'labels', 'model'];
const GEMINI_GEN = ['stopSequences', 'responseMimeType', 'responseSchema', 'responseJsonSchema', 'candidateCount', 'maxOutputTokens',
  'temperature', 'topP', 'topK', 'seed', 'presencePenalty', 'frequencyPenalty', 'responseLogprobs', 'logprobs', 'thinkingConfig',
  'responseModalities', 'mediaResolution', 'speechConfig', 'enableEnhancedCivicAnswers'];
const GEMINI_PART = ['text', 'inlineData', 'fileData', 'functionCall', 'functionResponse', 'thought', 'thoughtSignature',
  'executableCode', 'codeExecutionResult', 'videoMetadata'];
const GEMINI_TOOL = ['functionDeclarations', 'googleSearch', 'googleSearchRetrieval', 'codeExecution', 'urlContext'];
const GEMINI_DECL = ['name', 'description', 'parameters', 'parametersJsonSchema', 'response', 'responseJsonSchema', 'behavior'];

// proto3 JSON accepts lowerCamelCase and the proto's snake_case names.
const camel = (k) => k.replace(/_([a-z])/g, (_, c) => c.toUpperCase());
const unknown = (k, at) => `Invalid JSON payload received. Unknown name "${k}"${at ? ` at '${at}'` : ''}: Cannot find field.`;

// The thoughtSignature the mock gives a function call (opaque base64 to
// clients, like the real one).
export function geminiSignature(name, args) {
  return Buffer.from(`mock-thought:${name}:${JSON.stringify(args ?? {})}`).toString('base64');
}

// Gemini 3: every functionCall in the model turns must carry its signature.
function geminiCheckSignatures(contents) {
  for (const [i, c] of (contents ?? []).entries()) {
    if (c?.role !== 'model') continue;
    let first = true;
    for (const [j, part] of (c.parts ?? []).entries()) {
      const fc = part?.functionCall ?? part?.function_call;
      if (!fc) continue;
      const sig = part.thoughtSignature ?? part.thought_signature;
      if (first && sig !== geminiSignature(fc.name, fc.args)) {
        return `Function call is missing a thought_signature in functionCall parts. This is required for tools to work correctly, and missing thought_signature may lead to degraded model performance. Additional data, function call \`default_api:${fc.name}\` , position ${i + 1}.${j}. Please refer to https://ai.google.dev/gemini-api/docs/thought-signatures for more details.`;
      }
      first = false;
    }
  }
  return null;
}

function geminiCheckContents(contents, at) {
  if (!Array.isArray(contents) || contents.length === 0) return '* GenerateContentRequest.contents: contents is not specified\n';
  for (const [i, c] of contents.entries()) {
    if (!c || typeof c !== 'object') return `Invalid value at '${at}[${i}]'`;
    for (const k of Object.keys(c)) if (k !== 'role' && k !== 'parts') return unknown(k, `${at}[${i}]`);
    if (c.role !== undefined && c.role !== 'user' && c.role !== 'model') return 'Please use a valid role: user, model.';
    if (!Array.isArray(c.parts) || c.parts.length === 0) return `* GenerateContentRequest.${at}[${i}].parts: contents.parts must not be empty.\n`;
    for (const [j, part] of c.parts.entries()) {
      const keys = Object.keys(part ?? {});
      for (const k of keys) if (!GEMINI_PART.includes(camel(k))) return unknown(k, `${at}[${i}].parts[${j}]`);
      const data = keys.filter((k) => !['thought', 'thoughtSignature', 'thought_signature', 'videoMetadata'].includes(k));
      if (data.length !== 1) return `Invalid value at '${at}[${i}].parts[${j}].data' (oneof), oneof field 'data' is already set. Cannot set '${data[1] ?? 'data'}'`;
      const inl = part.inlineData ?? part.inline_data;
      if (inl && (typeof (inl.mimeType ?? inl.mime_type) !== 'string' || typeof inl.data !== 'string' || /[^A-Za-z0-9+/=_-]/.test(inl.data))) {
        return `Invalid value at '${at}[${i}].parts[${j}].inline_data.data' (TYPE_BYTES), Base64 decoding failed`;
      }
      const fc = part.functionCall ?? part.function_call;
      if (fc && (typeof fc.name !== 'string' || (fc.args !== undefined && (typeof fc.args !== 'object' || Array.isArray(fc.args))))) {
        return `Invalid value at '${at}[${i}].parts[${j}].function_call'`;
      }
      const fr = part.functionResponse ?? part.function_response;
      if (fr && (typeof fr.name !== 'string' || !fr.name)) return `* GenerateContentRequest.${at}[${i}].parts[${j}].function_response.name: Name cannot be empty.\n`;
      if (fr && (typeof fr.response !== 'object' || fr.response === null || Array.isArray(fr.response))) {
        return `Invalid value at '${at}[${i}].parts[${j}].function_response.response' (type.googleapis.com/google.protobuf.Struct), ${JSON.stringify(fr.response)}`;
      }
    }
  }
  return null;
}

// What Gemini answers for a key it does not know: 400, not 401.
export function geminiBadKeyBody() {
  return {
    error: {
      code: 400, message: 'API key not valid. Please pass a valid API key.', status: 'INVALID_ARGUMENT',
      details: [
        { '@type': 'type.googleapis.com/google.rpc.ErrorInfo', reason: 'API_KEY_INVALID', domain: 'googleapis.com', metadata: { service: 'generativelanguage.googleapis.com' } },
        { '@type': 'type.googleapis.com/google.rpc.LocalizedMessage', locale: 'en-US', message: 'API key not valid. Please pass a valid API key.' },
      ],
    },
  };
}

// What the real API answers with 400 for a generateContent body, or null.
export function geminiCheck(body) {
  if (!body || typeof body !== 'object' || Array.isArray(body)) return 'Invalid JSON payload received. Expected an object.';
  for (const k of Object.keys(body)) if (!GEMINI_TOP.includes(k)) return unknown(k);
  const problem = geminiCheckContents(body.contents, 'contents');
  if (problem) return problem;
  const si = body.systemInstruction ?? body.system_instruction;
  if (si !== undefined) {
    if (!si || typeof si !== 'object' || !Array.isArray(si.parts)) return "Invalid value at 'system_instruction'";
    for (const k of Object.keys(si)) if (k !== 'role' && k !== 'parts') return unknown(k, 'system_instruction');
  }
  const gc = body.generationConfig ?? body.generation_config;
  if (gc !== undefined) {
    if (!gc || typeof gc !== 'object') return "Invalid value at 'generation_config'";
    for (const k of Object.keys(gc)) if (!GEMINI_GEN.includes(camel(k))) return unknown(k, 'generation_config');
  }
  if (body.tools !== undefined) {
    if (!Array.isArray(body.tools)) return "Invalid value at 'tools'";
    for (const [i, tl] of body.tools.entries()) {
      for (const k of Object.keys(tl ?? {})) if (!GEMINI_TOOL.includes(camel(k))) return unknown(k, `tools[${i}]`);
      const decls = tl.functionDeclarations ?? tl.function_declarations ?? [];
      for (const [j, d] of decls.entries()) {
        for (const k of Object.keys(d ?? {})) if (!GEMINI_DECL.includes(camel(k))) return unknown(k, `tools[${i}].function_declarations[${j}]`);
        if (typeof d.name !== 'string' || !/^[a-zA-Z_][a-zA-Z0-9_.:-]{0,63}$/.test(d.name)) {
          return `* GenerateContentRequest.tools[${i}].function_declarations[${j}].name: Invalid function name. Must start with a letter or an underscore. Must be alphameric (a-z, A-Z, 0-9), underscores (_), dots (.), colons (:), or dashes (-), with a maximum length of 64.\n`;
        }
      }
    }
  }
  const tc = body.toolConfig ?? body.tool_config;
  if (tc !== undefined) {
    const fcc = tc.functionCallingConfig ?? tc.function_calling_config;
    for (const k of Object.keys(tc)) if (!['functionCallingConfig', 'retrievalConfig'].includes(camel(k))) return unknown(k, 'tool_config');
    if (fcc && fcc.mode !== undefined && !['AUTO', 'ANY', 'NONE', 'VALIDATED', 'MODE_UNSPECIFIED'].includes(fcc.mode)) {
      return `Invalid value at 'tool_config.function_calling_config.mode' (type.googleapis.com/google.ai.generativelanguage.v1beta.FunctionCallingConfig.Mode), "${fcc.mode}"`;
    }
  }
  return null;
}

function geminiPromptText(body) {
  const parts = [];
  const si = body?.systemInstruction ?? body?.system_instruction;
  for (const c of [...(si ? [si] : []), ...(body?.contents ?? [])]) {
    for (const part of c?.parts ?? []) {
      if (typeof part?.text === 'string') parts.push(part.text);
      else if (part?.functionCall || part?.functionResponse) parts.push(JSON.stringify(part));
    }
  }
  return parts.join('\n');
}

async function geminiAnswer({ req, res, rec, b, body, url, later, destroy, defaultContent, models, modelsPageMax }) {
  const p = url.pathname;
  const common = { vary: 'Origin, X-Origin, Referer', server: 'scaffolding on HTTPServer2', 'x-xss-protection': '0', 'x-content-type-options': 'nosniff', ...(b.headers || {}) };
  const sendJson = (status, obj, extra = {}) => {
    const text = JSON.stringify(obj, null, 2);
    res.writeHead(status, { ...common, 'content-type': 'application/json; charset=UTF-8', 'content-length': Buffer.byteLength(text), ...extra });
    res.end(text);
  };

  if (b.type === 'bad_key') { sendJson(400, geminiBadKeyBody()); return; }
  if (b.type === 'error') {
    const status = b.status || 500;
    const extra = {};
    if (b.retryAfter !== undefined) extra['retry-after'] = String(b.retryAfter);
    const errBody = b.body ?? geminiErrorBody(status, undefined, undefined, { retryAfter: b.retryAfter });
    if (typeof errBody === 'string') {
      res.writeHead(status, { ...common, 'content-type': 'text/html; charset=UTF-8', 'content-length': Buffer.byteLength(errBody), ...extra });
      res.end(errBody);
    } else sendJson(status, errBody, extra);
    return;
  }
  if (b.type === 'malformed') {
    const text = '{\n  "candidates": [\n    {\n      "content": {\n        "parts": [\n          {\n            "text": "never ends';
    res.writeHead(200, { ...common, 'content-type': 'application/json; charset=UTF-8', 'content-length': Buffer.byteLength(text) });
    res.end(text);
    return;
  }
  if (b.type === 'truncated') {
    res.writeHead(200, { ...common, 'content-type': 'application/json; charset=UTF-8', 'content-length': '4096' });
    res.write('{\n  "candidates": [\n');
    await later(50);
    destroy();
    return;
  }

  // GET /v1beta/models: a key, pages of ?pageSize= (default 50, at most
  // 1000) from ?pageToken=; embedding models only embed.
  if (req.method === 'GET' && p === '/v1beta/models') {
    if (!rec.key) { sendJson(403, geminiErrorBody(403, "Method doesn't allow unregistered callers (callers without established identity). Please use API Key or other form of API consumer identity to call this API.", 'PERMISSION_DENIED')); return; }
    const size = Math.min(Number(url.searchParams.get('pageSize') ?? 50), 1000, modelsPageMax);
    const start = Number(url.searchParams.get('pageToken') ? Buffer.from(url.searchParams.get('pageToken'), 'base64url').toString() : 0);
    const page = models.slice(start, start + size);
    const methods = (m) => (/embedding/.test(m) ? ['embedContent'] : ['generateContent', 'countTokens']);
    const out = { models: page.map((m) => ({ name: `models/${m}`, version: '001', displayName: m, inputTokenLimit: 1048576, outputTokenLimit: 8192, supportedGenerationMethods: methods(m) })) };
    if (start + size < models.length) out.nextPageToken = Buffer.from(String(start + size)).toString('base64url');
    sendJson(200, out);
    return;
  }
  const m = p.match(/^\/v1beta\/models\/([^/:]+):(generateContent|streamGenerateContent|countTokens)$/);
  if (req.method !== 'POST' || !m) {
    const text = `<!DOCTYPE html>\n<html lang=en>\n  <meta charset=utf-8>\n  <title>Error 404 (Not Found)!!1</title>\n  <p><b>404.</b> <ins>That’s an error.</ins>\n  <p>The requested URL <code>${p}</code> was not found on this server.  <ins>That’s all we know.</ins>\n`;
    res.writeHead(404, { ...common, 'content-type': 'text/html; charset=UTF-8', 'content-length': Buffer.byteLength(text) });
    res.end(text);
    return;
  }
  const model = decodeURIComponent(m[1]);
  rec.model = model;
  const method = m[2];
  if (!rec.key) {
    sendJson(403, geminiErrorBody(403, "Method doesn't allow unregistered callers (callers without established identity). Please use API Key or other form of API consumer identity to call this API.", 'PERMISSION_DENIED'));
    return;
  }
  if (typeof body !== 'object' || body === null) {
    sendJson(400, geminiErrorBody(400, `Invalid JSON payload received. Unexpected token.\n${String(body ?? '').slice(0, 20)}\n^`));
    return;
  }

  if (method === 'countTokens') {
    for (const k of Object.keys(body)) {
      if (!['contents', 'generateContentRequest', 'generate_content_request'].includes(k)) { rec.rejected = unknown(k); sendJson(400, geminiErrorBody(400, rec.rejected)); return; }
    }
    const inner = body.generateContentRequest ?? body.generate_content_request;
    const problem = inner ? geminiCheck(inner) : geminiCheckContents(body.contents, 'contents');
    if (problem) { rec.rejected = problem; sendJson(400, geminiErrorBody(400, problem)); return; }
    const n = b.usage?.prompt_tokens ?? tokens(geminiPromptText(inner ?? body));
    sendJson(200, { totalTokens: n, promptTokensDetails: [{ modality: 'TEXT', tokenCount: n }] });
    return;
  }

  const gemini3 = /^gemini-3/.test(model);
  const problem = geminiCheck(body) ?? (gemini3 ? geminiCheckSignatures(body.contents) : null);
  if (problem) { rec.rejected = problem; sendJson(400, geminiErrorBody(400, problem)); return; }

  const prompt = geminiPromptText(body);
  const responseId = rnd(22);
  const modelVersion = model;
  const toolCalls = (b.toolCalls ?? []).map((tc, i) => ({
    functionCall: { name: tc.name, args: tc.arguments ?? {} },
    ...(gemini3 && i === 0 ? { thoughtSignature: geminiSignature(tc.name, tc.arguments ?? {}) } : {}),
  }));
  const content = b.content ?? (toolCalls.length ? '' : defaultContent);
  const finishReason = b.finishReason ?? 'STOP';
  const usageMeta = (u, done = true) => ({
    promptTokenCount: u.prompt_tokens,
    ...(done || u.completion_tokens ? { candidatesTokenCount: u.completion_tokens } : {}),
    totalTokenCount: u.prompt_tokens + u.completion_tokens,
    ...(b.usage?.cached_tokens ? { cachedContentTokenCount: b.usage.cached_tokens } : {}),
    promptTokensDetails: [{ modality: 'TEXT', tokenCount: u.prompt_tokens }],
  });
  const response = (parts, finish, u) => ({
    candidates: [{ content: { parts, role: 'model' }, ...(finish ? { finishReason: finish } : {}), index: 0 }],
    usageMetadata: usageMeta(u, !!finish),
    modelVersion, responseId,
  });

  if (method === 'generateContent') {
    if (b.type === 'stall' || b.type === 'reset') {
      const half = '{\n  "candidates": [\n    {\n      "content": {\n';
      res.writeHead(200, { ...common, 'content-type': 'application/json; charset=UTF-8', 'content-length': String(half.length + 200) });
      res.write(half);
      if (b.type === 'reset') { await later(20); destroy(); }
      return;
    }
    const u = usageFor(b, prompt, tokens(content + JSON.stringify(toolCalls)));
    rec.usage = u;
    const parts = [...(content ? [{ text: content }] : []), ...toolCalls];
    sendJson(200, response(parts, finishReason, u));
    return;
  }

  // streamGenerateContent: each chunk a whole GenerateContentResponse with
  // the usage so far; SSE with ?alt=sse (events end in \r\n\r\n), else one
  // JSON array written piece by piece.
  const sse = url.searchParams.get('alt') === 'sse';
  res.writeHead(200, { ...common, 'content-type': sse ? 'text/event-stream' : 'application/json; charset=UTF-8', 'cache-control': 'no-cache' });
  res.flushHeaders();
  let first = true;
  const send = (obj) => {
    if (res.destroyed) return;
    if (sse) res.write(`data: ${JSON.stringify(obj)}\r\n\r\n`);
    else { res.write(`${first ? '[' : ',\r\n'}${JSON.stringify(obj, null, 2)}`); first = false; }
  };
  const delay = b.chunkDelayMs ?? 0;
  const stopAfter = ['stall', 'reset', 'stream_error'].includes(b.type) ? (b.after ?? 1) : Infinity;
  const pieces = [...(content ? splitText(content, b.chunks ?? 3).map((text) => [{ text }]) : []), ...(toolCalls.length ? [toolCalls] : [])];
  const finalUsage = usageFor(b, prompt, tokens(content + JSON.stringify(toolCalls)));
  let out = 0;
  for (const [i, parts] of pieces.entries()) {
    if (rec.chunksSent >= stopAfter) {
      if (b.type === 'stall') return;
      if (b.type === 'reset') { await later(20); destroy(); return; }
      send({ error: { code: 503, message: 'The model is overloaded. Please try again later.', status: 'UNAVAILABLE' } });
      if (!res.destroyed) res.end(sse ? '' : ']');
      return;
    }
    if (delay && i > 0) await later(delay);
    if (res.destroyed) return;
    const last = i === pieces.length - 1;
    out += parts[0].text !== undefined ? tokens(parts[0].text) : 0;
    const u = last ? finalUsage : { prompt_tokens: finalUsage.prompt_tokens, completion_tokens: Math.min(out, finalUsage.completion_tokens) };
    send(response(parts, last ? finishReason : null, u));
    rec.chunksSent++;
    rec.chunkTimes.push(Date.now());
  }
  rec.usage = finalUsage;
  if (!res.destroyed) res.end(sse ? '' : ']');
}
