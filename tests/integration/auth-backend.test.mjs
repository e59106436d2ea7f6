// POST /v1/token with --auth-backend-url: a real HTTP server on loopback
// decides; the server turns its answers into tokens or precise errors.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import path from 'node:path';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';
import { Client, closeAllClients } from './lib/client.mjs';
import { validate } from './lib/openapi.mjs';
import { startServer, tmpDir } from './lib/server.mjs';
import { jwtPayload, login } from './lib/users.mjs';

function checked(r) {
  validate('POST', '/v1/token', r.status, r.body, r.headers);
  return r;
}

// The backend: knows dave/pw1; "broken" gets a 500, "garbage" a 200 without a user,
// "slow" no answer at all. Records every request body.
async function startBackend() {
  const seen = [];
  const server = http.createServer((req, res) => {
    let raw = '';
    req.on('data', (c) => { raw += c; });
    req.on('end', () => {
      const body = JSON.parse(raw);
      seen.push({ headers: req.headers, body, method: req.method, url: req.url });
      const send = (status, obj) => { res.writeHead(status, { 'content-type': 'application/json' }); res.end(JSON.stringify(obj)); };
      if (body.username === 'slow') return;  // never answers
      if (body.username === 'broken') return send(500, { oops: true });
      if (body.username === 'garbage') return send(200, { name: 'no user field' });
      if (body.username === 'dave' && body.password === 'pw1') {
        return send(200, { user: 'user-dave', name: 'Dave', grants: { rooms: ['ops-*'], data: false } });
      }
      return send(401, { error: 'no' });
    });
  });
  await new Promise((r) => { server.listen(0, '127.0.0.1', r); });
  return { seen, url: `http://127.0.0.1:${server.address().port}/check`, close: () => new Promise((r) => { server.closeAllConnections(); server.close(r); }) };
}

describe('external auth backend', () => {
  let backend;
  let server;
  before(async () => {
    backend = await startBackend();
    server = await startServer({ args: ['--auth-backend-url', backend.url, '--auth-backend-timeout-ms', '500'] });
  });
  after(async () => { closeAllClients(); await server.shutdown(); await backend.close(); });

  test('a 200 {user, name, grants} becomes the token; the backend got the credentials as JSON', async () => {
    const r = checked(await login(server, { username: 'dave', password: 'pw1', room: 'ops-1' }));
    assert.equal(r.status, 200);
    const p = jwtPayload(r.body.token);
    assert.equal(p.sub, 'user-dave');
    assert.equal(p.name, 'Dave');
    assert.deepEqual(p.grants.rooms, ['ops-1']);
    assert.equal(p.grants.data, false);
    const last = backend.seen.at(-1);
    assert.equal(last.method, 'POST');
    assert.equal(last.url, '/check');
    assert.match(last.headers['content-type'], /^application\/json/);
    assert.deepEqual(last.body, { username: 'dave', password: 'pw1' });
    const c = await Client.connect(server.wsUrl);
    const welcome = await c.request({ type: 'hello', token: r.body.token });
    assert.equal(welcome.type, 'welcome');
    assert.equal(welcome.user, 'user-dave');
  });

  test('a 4xx is invalid-credentials (401)', async () => {
    const r = checked(await login(server, { username: 'dave', password: 'wrong' }));
    assert.equal(r.status, 401);
    assert.equal(r.body.error.code, 'invalid-credentials');
  });

  test('a 5xx or a malformed 200 is 502 auth-backend-error', async () => {
    for (const username of ['broken', 'garbage']) {
      const r = checked(await login(server, { username, password: 'x' }));
      assert.equal(r.status, 502, username);
      assert.equal(r.body.error.code, 'auth-backend-error');
    }
  });

  test('no answer within the timeout is 503 auth-backend-unavailable with Retry-After', async () => {
    const r = checked(await login(server, { username: 'slow', password: 'x' }));
    assert.equal(r.status, 503);
    assert.equal(r.body.error.code, 'auth-backend-unavailable');
    assert.ok(Number(r.headers.get('retry-after')) >= 1);
  });
});

describe('unreachable auth backend', () => {
  let server;
  before(async () => {
    // A port that was free a moment ago: connections are refused.
    const probe = net.createServer();
    await new Promise((r) => { probe.listen(0, '127.0.0.1', r); });
    const port = probe.address().port;
    await new Promise((r) => { probe.close(r); });
    server = await startServer({ args: ['--auth-backend-url', `http://127.0.0.1:${port}/`] });
  });
  after(async () => { await server.shutdown(); });

  test('connection refused is 503 auth-backend-unavailable', async () => {
    const r = checked(await login(server, { username: 'dave', password: 'pw1' }));
    assert.equal(r.status, 503);
    assert.equal(r.body.error.code, 'auth-backend-unavailable');
  });
});

describe('configuration', () => {
  test('--user-db and --auth-backend-url together are refused', async () => {
    await assert.rejects(startServer({ args: ['--user-db', '/tmp/x.db', '--auth-backend-url', 'http://127.0.0.1:1/'], timeout: 3000 }),
      /exited|exclude/);
  });
});

describe('https auth backend', () => {
  // A self-signed certificate for 127.0.0.1 (IP SAN): trusted only through --auth-backend-ca.
  const dir = tmpDir();
  const certFile = path.join(dir, 'backend.crt');
  const keyFile = path.join(dir, 'backend.key');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
    '-keyout', keyFile, '-out', certFile, '-days', '2', '-subj', '/CN=auth-backend',
    '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' });
  let backend;
  before(async () => {
    backend = https.createServer({ cert: fs.readFileSync(certFile), key: fs.readFileSync(keyFile) }, (req, res) => {
      let raw = '';
      req.on('data', (c) => { raw += c; });
      req.on('end', () => {
        const b = JSON.parse(raw);
        res.writeHead(b.password === 'tls-pw' ? 200 : 403, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ user: b.username, grants: { rooms: ['*'] } }));
      });
    });
    await new Promise((r) => { backend.listen(0, '127.0.0.1', r); });
  });
  after(() => new Promise((r) => { backend.closeAllConnections(); backend.close(r); }));

  test('with --auth-backend-ca the backend is trusted; without it the call fails as unavailable', async () => {
    const url = `https://127.0.0.1:${backend.address().port}/login`;
    const s = await startServer({ args: ['--auth-backend-url', url, '--auth-backend-ca', certFile] });
    try {
      assert.equal(checked(await login(s, { username: 'tls-user', password: 'tls-pw' })).status, 200);
      assert.equal(checked(await login(s, { username: 'tls-user', password: 'nope' })).status, 401);
    } finally { await s.shutdown(); }
    const untrusting = await startServer({ args: ['--auth-backend-url', url] });
    try {
      const r = checked(await login(untrusting, { username: 'tls-user', password: 'tls-pw' }));
      assert.equal(r.status, 503);
      assert.equal(r.body.error.code, 'auth-backend-unavailable');
    } finally { await untrusting.shutdown(); }
  });
});
