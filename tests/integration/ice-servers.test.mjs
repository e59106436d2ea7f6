// TURN credentials (coturn REST scheme) and STUN urls, in welcome.ice_servers
// and from GET /v1/ice-servers. The expected credentials are recomputed here
// with node:crypto, independently of the server's OpenSSL code.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import test, { after } from 'node:test';
import { Client, serverFixture } from './lib/harness.mjs';
import { hsToken, nowS } from './lib/jwt.mjs';
import { assertAllOperationsCovered, validate } from './lib/openapi.mjs';
import { startServer, tmpDir } from './lib/server.mjs';

const NORTH = ['turn:127.0.0.1:3478?transport=udp', 'turn:127.0.0.1:3478?transport=tcp'];
const SOUTH = ['turns:south.example.org:5349'];
const STUN = 'stun:127.0.0.1:3478';
const TTL = 600;

const server = serverFixture({
  args: ['--turn-url', NORTH.join(','), '--turn-url', SOUTH[0], '--turn-secret', 'shared-relay-secret',
    '--stun-url', STUN, '--turn-ttl-s', String(TTL)],
});

after(() => assertAllOperationsCovered({ prefix: '/v1/ice-servers' }));

const hmac = (secret, username) => crypto.createHmac('sha1', secret).update(username).digest('base64');

// Checks the list for `user`, issued between `before` and `after` (unix seconds).
function checkList(list, user, secrets, { before, after }) {
  assert.deepEqual(list[0], { urls: [STUN] }, 'STUN first, without credentials');
  assert.equal(list.length, 1 + secrets.length);
  let expiry;
  for (const [i, secret] of secrets.entries()) {
    const e = list[i + 1];
    assert.deepEqual(Object.keys(e).sort(), ['credential', 'urls', 'username']);
    const [exp, ...rest] = e.username.split(':');
    assert.equal(rest.join(':'), user);
    expiry = Number(exp);
    assert.ok(expiry >= before + TTL && expiry <= after + TTL, `expiry ${expiry} is now + ${TTL}`);
    assert.equal(e.credential, hmac(secret, e.username), 'credential is base64(HMAC-SHA1(secret, username))');
  }
  assert.deepEqual(list[1].urls, NORTH);
  assert.deepEqual(list[2].urls, SOUTH);
  return expiry;
}

async function getIce(srv, authorization) {
  const headers = authorization === undefined ? {} : { authorization };
  const r = await fetch(`${srv.httpUrl}/v1/ice-servers`, { headers });
  const body = await r.json();
  validate('GET', '/v1/ice-servers', r.status, body, r.headers);
  return { status: r.status, body, headers: r.headers };
}

test('welcome.ice_servers has STUN and per-user TURN credentials for the token sub', async () => {
  const before = nowS();
  const c = await Client.connect(server().wsUrl);
  c.send({ type: 'hello', token: hsToken(server().secret, { sub: 'alice' }) });
  const w = await c.next('welcome');
  checkList(w.ice_servers, 'alice', ['shared-relay-secret', 'shared-relay-secret'], { before, after: nowS() });
});

test('GET /v1/ice-servers with a Bearer token returns the same list and its expiry', async () => {
  const before = nowS();
  const r = await getIce(server(), `Bearer ${hsToken(server().secret, { sub: 'bob' })}`);
  assert.equal(r.status, 200);
  assert.equal(r.headers.get('cache-control'), 'no-store');
  const expiry = checkList(r.body.ice_servers, 'bob', ['shared-relay-secret', 'shared-relay-secret'],
    { before, after: nowS() });
  assert.equal(r.body.expires_at, expiry);
});

test('GET /v1/ice-servers refuses a missing, foreign or expired token with 401', async () => {
  const missing = await getIce(server());
  assert.equal(missing.status, 401);
  assert.equal(missing.body.error.code, 'unauthorized');
  const foreign = await getIce(server(), `Bearer ${hsToken('another-secret', { sub: 'mallory' })}`);
  assert.equal(foreign.status, 401);
  assert.match(foreign.body.error.message, /bad-signature/);
  const expired = await getIce(server(), `Bearer ${hsToken(server().secret, { sub: 'bob', exp: nowS() - 3600 })}`);
  assert.equal(expired.status, 401);
  assert.match(expired.body.error.message, /expired/);
  const basic = await getIce(server(), 'Basic Ym9iOnB3');
  assert.equal(basic.status, 401);
});

test('several TURN servers with their own secrets from the TOML file', async () => {
  const dir = tmpDir();
  const file = path.join(dir, 'ice.toml');
  fs.writeFileSync(file, `
[ice]
stun_urls = ["${STUN}"]
turn_ttl_s = ${TTL}

[[ice.turn]]
urls = ${JSON.stringify(NORTH)}
secret = "north-secret"

[[ice.turn]]
urls = ${JSON.stringify(SOUTH)}
secret = "south-secret"
`);
  const srv = await startServer({ args: ['--config', file] });
  try {
    const before = nowS();
    const r = await getIce(srv, `Bearer ${hsToken(srv.secret, { sub: 'carol' })}`);
    assert.equal(r.status, 200);
    checkList(r.body.ice_servers, 'carol', ['north-secret', 'south-secret'], { before, after: nowS() });
  } finally {
    await srv.shutdown();
  }
});

test('a TURN server without a secret is a configuration error', async () => {
  await assert.rejects(startServer({ args: ['--turn-url', 'turn:127.0.0.1:3478'], timeout: 5000 }), /exited|secret/);
});

test('without ICE configuration the list is empty and expires_at null', async () => {
  const srv = await startServer();
  try {
    const r = await getIce(srv, `Bearer ${hsToken(srv.secret, { sub: 'dave' })}`);
    assert.deepEqual(r.body, { ice_servers: [], expires_at: null });
  } finally {
    await srv.shutdown();
  }
});
