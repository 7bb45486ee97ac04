// TLS session resumption on every worker (conf/kore-22-ticket-keys): a
// client that reconnects with its session skips the full handshake (and
// the key manager's signature) whichever worker accepts it, for TLS 1.2
// and 1.3, and the ticket keys behind that rotate.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import tls from 'node:tls';
import { gateway, connectionsPerWorker, CA } from './harness.js';
import { sleep } from './v1-helpers.js';

// One TLS connection that has made a request and read the answer (TLS
// 1.3 tickets arrive after the handshake). Resolves with the socket, still
// open, and the last session the gateway gave it.
function connect(port, version, session) {
  return new Promise((resolve, reject) => {
    let last = null;
    const s = tls.connect({
      host: '127.0.0.1', port, servername: 'localhost', ca: CA,
      minVersion: `TLSv${version}`, maxVersion: `TLSv${version}`, session,
    });
    const timer = setTimeout(() => { s.destroy(); reject(new Error('no answer in 10 s')); }, 10000);
    s.on('session', (sess) => { last = sess; });
    s.once('error', (err) => { clearTimeout(timer); reject(err); });
    s.once('secureConnect', () => {
      s.write('GET /api/auth/me HTTP/1.1\r\nhost: localhost\r\n\r\n');
    });
    s.once('data', () => {
      // A TLS 1.3 ticket may follow the first answer by a moment.
      setTimeout(() => { clearTimeout(timer); resolve({ s, session: last ?? session }); }, 20);
    });
  });
}

for (const version of ['1.2', '1.3']) {
  test(`TLS ${version}: reconnections resume on every worker`, async (t) => {
    const gw = await gateway(t, { env: { WORKERS: '2' } });
    const socks = [];
    t.after(() => { for (const s of socks) s.destroy(); });

    const first = await connect(gw.tlsPort, version);
    socks.push(first.s);
    assert.equal(first.s.isSessionReused(), false);
    assert.ok(first.session, 'the gateway gave the first connection a session');

    // Held open and opened one at a time, so that the accept lock hands
    // them to both workers (conf/kore-17-accept-balance).
    const before = connectionsPerWorker(gw, gw.tlsPort);
    const n = 16;
    const reused = [];
    for (let i = 0; i < n; i++) {
      const c = await connect(gw.tlsPort, version, first.session);
      socks.push(c.s);
      reused.push(c.s.isSessionReused());
      await sleep(20);
    }
    const counts = connectionsPerWorker(gw, gw.tlsPort).map((c, i) => c - before[i]);
    assert.equal(counts.length, 2);
    assert.equal(counts[0] + counts[1], n, `all ${n} connections found: ${counts}`);
    assert.ok(counts[0] >= 4 && counts[1] >= 4, `connections per worker: ${counts}`);
    assert.deepEqual(reused, Array(n).fill(true),
      `resumed: ${reused.filter(Boolean).length} of ${n}`);
  });
}

// One TLS 1.2 connection, closed again: was it resumed, the name of the
// key that sealed its ticket (the first 16 bytes of an OpenSSL ticket),
// and the session to come back with (getSession(): a ticket renewed on
// resumption raises no 'session' event).
async function visit(port, session) {
  const c = await connect(port, '1.2', session);
  const r = {
    reused: c.s.isSessionReused(),
    name: c.s.getTLSTicket().subarray(0, 16).toString('hex'),
    session: c.s.getSession(),
  };
  c.s.destroy();
  return r;
}

test('ticket keys rotate, and a ticket still resumes across a rotation', { timeout: 60000 }, async (t) => {
  const rotate = 2;
  const gw = await gateway(t, { env: { WORKERS: '2', TLS_TICKET_ROTATE_SECONDS: String(rotate) } });
  const first = await visit(gw.tlsPort);

  // A chain of reconnections, each with the session the one before got,
  // for three periods: every one resumes, also right after a rotation,
  // when the ticket's key has just become the previous one (the gateway
  // then renews the ticket under the new key).
  let session = first.session;
  const names = [];
  const until = Date.now() + 3 * rotate * 1000;
  while (Date.now() < until) {
    const c = await visit(gw.tlsPort, session);
    names.push(c.name);
    assert.equal(c.reused, true, `reconnection ${names.length} resumed`);
    session = c.session;
    await sleep(100);
  }
  // New keys came, and a key once replaced never came back.
  const runs = names.filter((x, i) => i === 0 || x !== names[i - 1]);
  assert.ok(runs.length >= 2, `key names seen: ${runs.join(', ')}`);
  assert.equal(new Set(runs).size, runs.length, `key names seen: ${runs.join(', ')}`);

  // The first ticket's key is gone by now (more than two periods):
  // that ticket gets a full handshake, and a new ticket.
  const old = await visit(gw.tlsPort, first.session);
  assert.equal(old.reused, false, 'a ticket of a retired key does not resume');
  assert.notEqual(old.name, first.name);
});
