// POST /v1/token against the real server with a real SQLite user store made by
// the real CLI: tokens, errors, throttling, TTL and room narrowing, ES256, the
// audit log.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Client, closeAllClients } from './lib/client.mjs';
import { assertAllOperationsCovered, validate } from './lib/openapi.mjs';
import { startServer, tmpDir } from './lib/server.mjs';
import { addUser, jwtHeader, jwtPayload, login } from './lib/users.mjs';

const PASSWORD = 'correct horse battery staple';

after(() => assertAllOperationsCovered({ prefix: '/v1/token' }));

// Validates a /v1/token response against docs/openapi.yaml and returns it.
function checked(r) {
  validate('POST', '/v1/token', r.status, r.body, r.headers);
  return r;
}

async function hello(server, token) {
  const c = await Client.connect(server.wsUrl);
  const reply = await c.request({ type: 'hello', token });
  return { c, reply };
}

// Waits until `file` holds a line matching `pred` (bounded).
async function auditLine(file, pred, timeout = 5000) {
  const deadline = Date.now() + timeout;
  for (;;) {
    const lines = fs.existsSync(file) ? fs.readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l)) : [];
    const hit = lines.find(pred);
    if (hit) return hit;
    if (Date.now() > deadline) throw new Error(`no audit line matching ${pred} in:\n${lines.map((l) => JSON.stringify(l)).join('\n')}`);
    await new Promise((r) => { setTimeout(r, 25); });
  }
}

describe('token service with the user store (HS256)', () => {
  const dir = tmpDir();
  const db = path.join(dir, 'users.db');
  const audit = path.join(dir, 'audit.log');
  let server;
  before(async () => {
    await addUser(db, 'alice', PASSWORD, ['--display-name', 'Alice', '--rooms', 'team-*,lobby']);
    await addUser(db, 'bob', 'bobs password', ['--rooms', '*']);
    server = await startServer({
      args: ['--user-db', db, '--jwt-issuer', 'https://sb.test', '--token-max-ttl-s', '7200',
        '--login-failure-burst', '3', '--login-failure-refill-s', '60', '--audit-log', audit],
    });
  });
  after(async () => { closeAllClients(); await server.shutdown(); });

  test('good credentials: a token with sub, name, iss, iat, exp and the grants; it works at /ws', async () => {
    const r = checked(await login(server, { username: 'alice', password: PASSWORD }));
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('cache-control'), 'no-store');
    const p = jwtPayload(r.body.token);
    assert.equal(jwtHeader(r.body.token).alg, 'HS256');
    assert.equal(p.sub, 'alice');
    assert.equal(p.name, 'Alice');
    assert.equal(p.iss, 'https://sb.test');
    assert.equal(p.exp, r.body.expires_at);
    assert.equal(p.exp - p.iat, 3600);  // the default TTL
    assert.deepEqual(p.grants.rooms, ['team-*', 'lobby']);
    const { c, reply } = await hello(server, r.body.token);
    assert.equal(reply.type, 'welcome', JSON.stringify(reply));
    assert.equal(reply.user, 'alice');
    assert.equal((await c.request({ type: 'join', room: 'team-red' })).type, 'joined');
    const denied = await c.request({ type: 'join', room: 'elsewhere' });
    assert.equal(denied.code, 'forbidden');
  });

  test('wrong password and unknown user: the same 401 and body', async () => {
    const wrong = checked(await login(server, { username: 'bob', password: 'nope' }));
    const unknown = checked(await login(server, { username: 'nobody-here', password: 'nope' }));
    assert.equal(wrong.status, 401);
    assert.equal(unknown.status, 401);
    assert.equal(wrong.body.error.code, 'invalid-credentials');
    assert.deepEqual(wrong.body, unknown.body);
    assert.equal(wrong.text, unknown.text);
  });

  test('repeated failures for one name: 429 with Retry-After, before the password is checked', async () => {
    const name = 'carol';  // need not exist: the throttle must not reveal that
    for (let i = 0; i < 3; i++) assert.equal((await login(server, { username: name, password: `guess-${i}` })).status, 401);
    const r = checked(await login(server, { username: name, password: 'guess-x' }));
    assert.equal(r.status, 429);
    assert.equal(r.body.error.code, 'rate-limited');
    const retry = Number(r.headers.get('retry-after'));
    assert.ok(retry >= 1 && retry <= 60, `Retry-After ${retry}`);
    // Another name from the same address is still served.
    assert.equal((await login(server, { username: 'bob', password: 'bobs password' })).status, 200);
  });

  test('ttl_s is honoured up to the maximum, and capped beyond', async () => {
    let r = checked(await login(server, { username: 'bob', password: 'bobs password', ttl_s: 60 }));
    let p = jwtPayload(r.body.token);
    assert.equal(p.exp - p.iat, 60);
    r = checked(await login(server, { username: 'bob', password: 'bobs password', ttl_s: 999999 }));
    p = jwtPayload(r.body.token);
    assert.equal(p.exp - p.iat, 7200);
  });

  test('room narrows grants.rooms to that room; a room outside the grants is 403', async () => {
    const r = checked(await login(server, { username: 'alice', password: PASSWORD, room: 'team-blue' }));
    assert.deepEqual(jwtPayload(r.body.token).grants.rooms, ['team-blue']);
    const { c, reply } = await hello(server, r.body.token);
    assert.equal(reply.type, 'welcome');
    assert.equal((await c.request({ type: 'join', room: 'team-blue' })).type, 'joined');
    assert.equal((await c.request({ type: 'join', room: 'team-red' })).code, 'forbidden');
    const no = checked(await login(server, { username: 'alice', password: PASSWORD, room: 'private' }));
    assert.equal(no.status, 403);
    assert.equal(no.body.error.code, 'forbidden');
  });

  test('malformed requests: 400, 405, 415', async () => {
    assert.equal(checked(await login(server, { username: 'alice' })).status, 400);
    assert.equal(checked(await login(server, '{not json')).status, 400);
    assert.equal(checked(await login(server, { username: 'a', password: 'b', extra: 1 })).status, 400);
    const r415 = checked(await login(server, { username: 'a', password: 'b' }, { headers: { 'content-type': 'text/plain' } }));
    assert.equal(r415.status, 415);
    const get = await fetch(`${server.httpUrl}/v1/token`);
    assert.equal(get.status, 405);
    assert.equal(get.headers.get('allow'), 'POST');
  });

  test('audit log: logins, failures, token rejection and join denial; never a password or token', async () => {
    const ok = await login(server, { username: 'bob', password: 'bobs password' });
    await login(server, { username: 'bob', password: 'the-wrong-one' });
    const [h, p, sig] = ok.body.token.split('.');
    const forged = `${h}.${p}.${sig[0] === 'A' ? 'B' : 'A'}${sig.slice(1)}`;
    const { c, reply } = await hello(server, forged);
    assert.equal(reply.type, 'error');
    await c.closed();
    const good = await hello(server, ok.body.token);
    await good.c.request({ type: 'refresh', token: ok.body.token });
    await auditLine(audit, (l) => l.event === 'login' && l.outcome === 'success' && l.user === 'bob' && l.remote === '127.0.0.1');
    await auditLine(audit, (l) => l.event === 'login' && l.outcome === 'failure' && l.reason === 'invalid-credentials' && l.user === 'bob');
    await auditLine(audit, (l) => l.event === 'login' && l.reason === 'rate-limited' && l.user === 'carol');
    await auditLine(audit, (l) => l.event === 'hello' && l.outcome === 'failure' && l.reason === 'bad-signature');
    await auditLine(audit, (l) => l.event === 'join' && l.outcome === 'denied' && l.user === 'alice' && l.room === 'elsewhere');
    await auditLine(audit, (l) => l.event === 'refresh' && l.outcome === 'success' && l.user === 'bob');
    const text = fs.readFileSync(audit, 'utf8');
    for (const secret of [PASSWORD, 'bobs password', 'the-wrong-one', 'guess-1', ok.body.token, ok.body.token.split('.')[2]]) {
      assert.ok(!text.includes(secret), `the audit log contains a secret: ${secret.slice(0, 12)}...`);
    }
    for (const line of text.trim().split('\n')) {
      const l = JSON.parse(line);
      assert.match(l.time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
      assert.ok(typeof l.event === 'string' && typeof l.outcome === 'string');
    }
  });
});

describe('token service with an ES256 signing key', () => {
  const dir = tmpDir();
  const db = path.join(dir, 'users.db');
  const keyFile = path.join(dir, 'signing.pem');
  let server;
  let publicKey;
  before(async () => {
    const { privateKey, publicKey: pub } = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
    fs.writeFileSync(keyFile, privateKey.export({ type: 'pkcs8', format: 'pem' }));
    publicKey = pub;
    await addUser(db, 'erin', PASSWORD, ['--rooms', '*']);
    // No HS256 secret at all: the server verifies with the signing key's public half.
    server = await startServer({ secret: null, args: ['--user-db', db, '--token-signing-key', keyFile] });
  });
  after(async () => { closeAllClients(); await server.shutdown(); });

  test('tokens are ES256, verify with the public key, and are accepted by the server\'s own /ws', async () => {
    const r = checked(await login(server, { username: 'erin', password: PASSWORD }));
    assert.equal(r.status, 200);
    assert.equal(jwtHeader(r.body.token).alg, 'ES256');
    const [h, p, s] = r.body.token.split('.');
    assert.ok(crypto.verify('sha256', Buffer.from(`${h}.${p}`), { key: publicKey, dsaEncoding: 'ieee-p1363' },
      Buffer.from(s, 'base64url')));
    const { c, reply } = await hello(server, r.body.token);
    assert.equal(reply.type, 'welcome', JSON.stringify(reply));
    assert.equal((await c.request({ type: 'join', room: 'anything' })).type, 'joined');
  });
});

describe('without a user store or backend', () => {
  let server;
  before(async () => { server = await startServer(); });
  after(async () => { await server.shutdown(); });
  test('POST /v1/token is 404 not-found', async () => {
    const r = checked(await login(server, { username: 'a', password: 'b' }));
    assert.equal(r.status, 404);
  });
});
