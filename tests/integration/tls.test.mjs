// TLS served directly: wss:// and https:// with a certificate the test makes,
// TLS 1.2+ only, and a certificate reload on SIGHUP that keeps open connections.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import https from 'node:https';
import path from 'node:path';
import test, { after, before } from 'node:test';
import tls from 'node:tls';
import { Client, closeAllClients } from './lib/client.mjs';
import { hsToken } from './lib/jwt.mjs';
import { startServer, tmpDir } from './lib/server.mjs';

const dir = tmpDir('switchboard-tls-');
const certPath = path.join(dir, 'cert.pem');
const keyPath = path.join(dir, 'key.pem');

// A self-signed certificate for 127.0.0.1 with a given common name.
function makeCert(cn) {
  const cert = path.join(dir, `${cn}.crt`);
  const key = path.join(dir, `${cn}.key`);
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
    '-keyout', key, '-out', cert, '-days', '2', '-subj', `/CN=${cn}`,
    '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' });
  return { cert: fs.readFileSync(cert), key: fs.readFileSync(key) };
}

function install({ cert, key }) {
  // Write-then-rename so the server never reads a half-written file.
  fs.writeFileSync(`${certPath}.tmp`, cert);
  fs.writeFileSync(`${keyPath}.tmp`, key);
  fs.renameSync(`${certPath}.tmp`, certPath);
  fs.renameSync(`${keyPath}.tmp`, keyPath);
}

// Connects with TLS and resolves with the server certificate's subject CN.
function peerCN(port, ca, extra = {}) {
  return new Promise((resolve, reject) => {
    const s = tls.connect({ host: '127.0.0.1', port, ca, ...extra }, () => {
      const cn = s.getPeerCertificate().subject.CN;
      s.end();
      resolve(cn);
    });
    s.on('error', reject);
  });
}

const first = makeCert('first');
const second = makeCert('second');
let server;
let port;

before(async () => {
  install(first);
  server = await startServer({ args: ['--tls-cert', certPath, '--tls-key', keyPath] });
  port = server.port;
});
after(async () => {
  closeAllClients();
  if (server) await server.shutdown();
  fs.rmSync(dir, { recursive: true, force: true });
});

async function wssPeer(ca, sub) {
  const c = await Client.connect(`wss://127.0.0.1:${port}/ws`, { name: sub, ca });
  const welcome = await c.request({ type: 'hello', token: hsToken(server.secret, { sub }) });
  assert.equal(welcome.type, 'welcome');
  c.peer = welcome.peer;
  return c;
}

test('logs an https:// listening address', () => {
  assert.ok(server.stderrLines.some((l) => l.includes(`listening on https://127.0.0.1:${port}`)));
});

test('https:// serves /healthz with the configured certificate', async () => {
  const body = await new Promise((resolve, reject) => {
    https.get({ host: '127.0.0.1', port, path: '/healthz', ca: first.cert }, (res) => {
      let d = '';
      res.on('data', (x) => { d += x; });
      res.on('end', () => resolve({ status: res.statusCode, d }));
    }).on('error', reject);
  });
  assert.equal(body.status, 200);
});

// Two wss:// peers in `room`, named `${prefix}-a` and `${prefix}-b`, once a has seen b join.
async function wssPair(room, prefix) {
  const a = await wssPeer(first.cert, `${prefix}-a`);
  const b = await wssPeer(first.cert, `${prefix}-b`);
  await a.request({ type: 'join', room });
  await b.request({ type: 'join', room });
  await a.next({ type: 'peer-joined', peer: b.peer });
  return [a, b];
}

test('wss:// carries protocol v1: two peers relay an offer', async () => {
  const [a, b] = await wssPair('tls-room', 'tls');
  a.send({ type: 'offer', room: 'tls-room', to: b.peer, data: { type: 'offer', sdp: 'v=0' } });
  const offer = await b.next({ type: 'offer' });
  assert.equal(offer.from, a.peer);
  assert.deepEqual(offer.data, { type: 'offer', sdp: 'v=0' });
});

test('wss://: a 60 KiB message arrives whole, a burst keeps its order, oversize is 1009, a client close is answered', async () => {
  const [a, b] = await wssPair('tls-big', 'tls-big');
  const sdp = 'a'.repeat(60 * 1024);
  a.send({ type: 'offer', room: 'tls-big', to: b.peer, data: { type: 'offer', sdp } });
  assert.equal((await b.next({ type: 'offer' })).data.sdp, sdp);
  // 200 messages sent back to back are delivered in order (several frames per TLS record and write).
  for (let i = 0; i < 200; i++) a.send({ type: 'message', room: 'tls-big', to: b.peer, data: { i } });
  for (let i = 0; i < 200; i++) assert.equal((await b.next({ type: 'message' })).data.i, i);
  a.sendRaw(JSON.stringify({ type: 'ping', pad: 'z'.repeat(70 * 1024) }));
  assert.equal((await a.closed()).code, 1009);
  b.ws.close(1000);
  assert.equal((await b.closed()).code, 1000);
});

test('plain ws:// is not served on a TLS port', async () => {
  await assert.rejects(Client.connect(`ws://127.0.0.1:${port}/ws`, { timeout: 5000 }));
});

test('TLS 1.1 and older are refused; TLS 1.2 and 1.3 are accepted', async () => {
  await assert.rejects(peerCN(port, first.cert, { maxVersion: 'TLSv1.1', minVersion: 'TLSv1' }));
  assert.equal(await peerCN(port, first.cert, { maxVersion: 'TLSv1.2', minVersion: 'TLSv1.2' }), 'first');
  assert.equal(await peerCN(port, first.cert, { minVersion: 'TLSv1.3' }), 'first');
});

test('weak TLS 1.2 ciphers are refused', async () => {
  await assert.rejects(peerCN(port, first.cert, { maxVersion: 'TLSv1.2', ciphers: 'AES128-SHA' }));
});

test('SIGHUP reloads the certificate without dropping open connections', async () => {
  const a = await wssPeer(first.cert, 'hup-a');
  await a.request({ type: 'join', room: 'hup' });
  install(second);
  const seen = server.stderrLines.length;
  server.proc.kill('SIGHUP');
  await server.waitForLine('stderr', /TLS certificate reloaded/);
  assert.ok(server.stderrLines.length > seen);
  // New connections see the new certificate...
  assert.equal(await peerCN(port, second.cert), 'second');
  const b = await wssPeer(second.cert, 'hup-b');
  await b.request({ type: 'join', room: 'hup' });
  // ...and the connection opened before the reload still works both ways.
  const joined = await a.next({ type: 'peer-joined', peer: b.peer });
  assert.equal(joined.peer, b.peer);
  a.send({ type: 'message', room: 'hup', data: 'still here' });
  assert.equal((await b.next({ type: 'message' })).data, 'still here');
  assert.equal((await a.request({ type: 'ping' })).type, 'pong');
});

test('a broken certificate on SIGHUP keeps the previous one', async () => {
  fs.writeFileSync(certPath, 'not a certificate');
  server.proc.kill('SIGHUP');
  await server.waitForLine('stderr', /TLS reload failed/);
  assert.equal(await peerCN(port, second.cert), 'second');
  install(second);
});

test('a bad certificate at start-up is a clear error', async () => {
  const bad = path.join(dir, 'bad.pem');
  fs.writeFileSync(bad, 'nope');
  await assert.rejects(startServer({ args: ['--tls-cert', bad, '--tls-key', keyPath], timeout: 5000 }),
    /TLS certificate/);
});

