// Both listeners, and TLS 1.2 and 1.3 handshakes through Kore's key
// manager, checked with curl against the development certificate.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import tls from 'node:tls';
import { gateway, ROOT, tempDir } from './harness.js';

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

test('an ECDSA P-256 certificate: TLS 1.2 and 1.3 handshakes through the key manager', async (t) => {
  // A directory of its own to run in, whose cert/ holds a P-256
  // certificate for 127.0.0.1 (and the development DH parameters).
  const dir = tempDir();
  fs.mkdirSync(path.join(dir, 'cert'));
  const cert = path.join(dir, 'cert/server.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1',
    '-nodes', '-days', '2', '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1',
    '-keyout', path.join(dir, 'cert/key.pem'), '-out', cert], { stdio: 'ignore' });
  fs.copyFileSync(path.join(ROOT, 'cert/dh2048.pem'), path.join(dir, 'cert/dh2048.pem'));
  const gw = await gateway(t, { cwd: dir, dir });

  for (const version of ['1.2', '1.3']) {
    const out = curl([
      '--cacert', cert, `--tlsv${version}`, '--tls-max', version,
      '-o', '/dev/null', '-w', '%{http_code} %{ssl_verify_result}',
      `${gw.tlsUrl}/api/auth/me`,
    ]);
    assert.equal(out, '401 0', `TLS ${version}`);
  }
  // The certificate served is the P-256 one, signed for by the key manager.
  const peer = await new Promise((resolve, reject) => {
    const s = tls.connect({ host: '127.0.0.1', port: gw.tlsPort, servername: 'localhost', ca: fs.readFileSync(cert) },
      () => { resolve(s.getPeerCertificate()); s.destroy(); });
    s.on('error', reject);
  });
  assert.equal(peer.asn1Curve, 'prime256v1');
  assert.ok(gw.pids().some((p) => /\[keymgr\]/.test(p.title)));
});
