// HTTP/1.x over a plain socket, byte for byte: what an HTTP library
// would not let a test send (pipelined requests, headers past the limits,
// chunked bodies cut anywhere, HTTP/1.0) and what it would hide in what
// comes back (each answer's head, whether the gateway closed).

import net from 'node:net';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Parses HTTP/1.x responses (content-length or chunked bodies) off a
// stream of bytes; returns the complete ones and the bytes left over.
// An answer with neither (an HTTP/1.0 stream) ends with the connection:
// pass closed to take what is left as its body.
export function parseResponses(buf, closed = false) {
  const out = [];
  let rest = buf;
  for (;;) {
    const end = rest.indexOf('\r\n\r\n');
    if (end < 0) break;
    const head = rest.subarray(0, end).toString('latin1').split('\r\n');
    const [version, status] = head[0].split(' ');
    const headers = {};
    for (const l of head.slice(1)) {
      const i = l.indexOf(':');
      headers[l.slice(0, i).toLowerCase()] = l.slice(i + 1).trim();
    }
    let body;
    let next;
    if (headers['transfer-encoding'] === 'chunked') {
      let pos = end + 4;
      const parts = [];
      for (;;) {
        const le = rest.indexOf('\r\n', pos);
        if (le < 0) return { out, rest };
        const size = parseInt(rest.subarray(pos, le).toString(), 16);
        if (rest.length < le + 2 + size + 2) return { out, rest };
        parts.push(rest.subarray(le + 2, le + 2 + size));
        pos = le + 2 + size + 2;
        if (size === 0) break;
      }
      body = Buffer.concat(parts);
      next = pos;
    } else if (headers['content-length'] === undefined && Number(status) >= 200 && Number(status) !== 204 && Number(status) !== 304) {
      if (!closed) break;
      body = rest.subarray(end + 4);
      next = rest.length;
    } else {
      const len = Number(headers['content-length'] || 0);
      if (rest.length < end + 4 + len) break;
      body = rest.subarray(end + 4, end + 4 + len);
      next = end + 4 + len;
    }
    const text = body.toString('utf8');
    let json;
    try { json = JSON.parse(text); } catch { json = undefined; }
    out.push({ version, status: Number(status), headers, text, json });
    rest = rest.subarray(next);
  }
  return { out, rest };
}

// Writes bytes on a fresh connection and collects what comes back until
// `count` responses arrived, the gateway closed, or ms passed.
//   { responses, closed, after (ms), raw }
export function exchange(port, data, { count = 1, ms = 5000, gap = 0 } = {}) {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    let buf = Buffer.alloc(0);
    const t0 = Date.now();
    let settled = false;
    const done = (closed) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      const { out } = parseResponses(buf, closed);
      s.destroy();
      resolve({ responses: out, closed, after: Date.now() - t0, raw: buf.toString('latin1') });
    };
    s.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      if (parseResponses(buf).out.length >= count) done(false);
    });
    s.on('close', () => done(true));
    s.on('error', () => {});
    const timer = setTimeout(() => done(false), ms);
    // gap: milliseconds between the parts, so that each arrives alone.
    const parts = [].concat(data);
    if (!gap) {
      for (const part of parts) s.write(part);
      return;
    }
    (async () => {
      for (const part of parts) {
        if (settled) return;
        s.write(part);
        await sleep(gap);
      }
    })();
  });
}

// The bytes of one HTTP/1.1 request: a JSON body (a string, a Buffer or
// an object) gets its content-type and content-length.
export const request = (method, path, { key, body, headers = {} } = {}) => {
  const b = body === undefined ? undefined : Buffer.isBuffer(body) ? body : Buffer.from(typeof body === 'string' ? body : JSON.stringify(body));
  let h = `${method} ${path} HTTP/1.1\r\nhost: 127.0.0.1\r\n`;
  if (key) h += `authorization: Bearer ${key}\r\n`;
  for (const [k, v] of Object.entries(headers)) h += `${k}: ${v}\r\n`;
  if (b) h += `content-type: application/json\r\ncontent-length: ${b.length}\r\n`;
  return Buffer.concat([Buffer.from(`${h}\r\n`), b ?? Buffer.alloc(0)]);
};
