// Both listeners, and TLS 1.2 and 1.3 handshakes through Kore's key
// manager, checked with curl against the development certificate.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { gateway, ROOT } from './harness.js';

const CERT = path.join(ROOT, 'cert/server.pem');

function curl(args) {
  return execFileSync('curl', ['-sS', '--max-time', '10', ...args]).toString();
}

for (const version of ['1.2', '1.3']) {
  test(`TLS ${version} handshake succeeds and verifies against cert/server.pem`, async (t) => {
    const gw = await gateway(t);
    const out = curl([
      '--cacert', CERT, `--tlsv${version}`, '--tls-max', version,
      '-o', '/dev/null', '-w', '%{http_code} %{ssl_verify_result}',
      `${gw.tlsUrl}/api/auth/me`,
    ]);
    assert.equal(out, '401 0');

    // Several requests over one TLS connection (keep-alive).
    const many = curl([
      '--cacert', CERT, `--tlsv${version}`, '--tls-max', version,
      '-o', '/dev/null', '-o', '/dev/null', '-o', '/dev/null',
      '-w', '%{http_code} %{num_connects}\n',
      `${gw.tlsUrl}/api/auth/me`, `${gw.tlsUrl}/api/auth/me`, `${gw.tlsUrl}/api/auth/me`,
    ]);
    assert.deepEqual(many.trim().split('\n'), ['401 1', '401 0', '401 0']);
  });
}

test('the private key lives in the key manager process, which stays up', async (t) => {
  const gw = await gateway(t);
  for (let i = 0; i < 20; i++) {
    curl(['--cacert', CERT, '-o', '/dev/null', `${gw.tlsUrl}/api/auth/me`]);
  }
  const titles = gw.pids().map((p) => p.title);
  assert.ok(titles.some((x) => /\[keymgr\]/.test(x)), titles.join(', '));
  assert.equal(titles.filter((x) => /\[wrk/.test(x)).length, 2, titles.join(', '));
  // Signatures were made by the key manager for every handshake.
  assert.doesNotMatch(gw.output, /keymgr.*(died|gone)/);
});

test('TLS below 1.2 is refused and plain HTTP sends no HSTS', async (t) => {
  const gw = await gateway(t);
  assert.throws(() => curl(['--cacert', CERT, '--tlsv1.1', '--tls-max', '1.1', `${gw.tlsUrl}/`]));
  const headers = curl(['-D', '-', '-o', '/dev/null', `${gw.url}/api/auth/me`]);
  assert.doesNotMatch(headers, /strict-transport-security/i);
  assert.match(headers, /^server: fusion\r$/mi);
  // An unverified peer is not silently accepted by clients: wrong CA fails.
  assert.throws(() => curl(['-o', '/dev/null', `${gw.tlsUrl}/api/auth/me`]));
});
