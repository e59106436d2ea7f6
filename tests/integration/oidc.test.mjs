// OpenID Connect end to end against a real OpenID provider (oidc-provider, in
// this process, on 127.0.0.1): JWT access tokens (RFC 9068, typ at+jwt) from
// the client_credentials grant, and ID tokens from an authorization code flow,
// are accepted in hello, grants come from the configured claim mapping, foreign / wrong-audience / expired tokens are
// refused with their reason, and a key rotation is picked up with at most one
// JWKS refetch per interval.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import test, { after, before } from 'node:test';
import { Client, assertError } from './lib/harness.mjs';
import { makeKey, signWith, startIdp } from './lib/idp.mjs';
import { hsToken, nowS } from './lib/jwt.mjs';
import { startServer, tmpDir } from './lib/server.mjs';

const AUDIENCE = 'urn:switchboard';
const CLIENTS = {
  'kiosk-app': { secret: 'kiosk-secret-kiosk-secret-kiosk-secret-0' },
  'web-app': { secret: 'web-secret-web-secret-web-secret-web-sec00' },
  'teacher-app': { secret: 'teacher-secret-teacher-secret-teacher-00', claims: { groups: ['teachers', 'staff'], name: 'Ms. Frizzle' } },
};

let idp;
let other; // a second, unrelated provider
let server;
let idServer; // accepts ID tokens: audience = the client id
const rsa1 = makeKey('rsa-1');

before(async () => {
  idp = await startIdp({ keys: [rsa1], clients: CLIENTS });
  other = await startIdp({ keys: [makeKey('rsa-1')], clients: CLIENTS }); // same kid, other key
  const dir = tmpDir();
  const config = path.join(dir, 'oidc.toml');
  fs.writeFileSync(config, `
[jwt]
issuer = "switchboard-local"

[oidc]
issuer = "${idp.issuer}"
audience = "${AUDIENCE}"
refetch_interval_s = 3600

[[oidc.grants]]
claim = "scope"
value = "room.join"
rooms = ["lobby"]

[[oidc.grants]]
claim = "scope"
value = "switchboard.admin"
admin = true

[[oidc.grants]]
claim = "groups"
value = "teachers"
rooms = ["class-*"]
publish = true
`);
  server = await startServer({ args: ['--config', config] });
  await server.waitForLine('stderr', /oidc: 1 signing key from/, { timeout: 10000 });

  const idConfig = path.join(dir, 'oidc-id.toml');
  fs.writeFileSync(idConfig, `
[oidc]
issuer = "${idp.issuer}"
audience = "web-app"

[[oidc.grants]]
claim = "groups"
value = "teachers"
rooms = ["class-*"]
publish = true

[[oidc.grants]]
claim = "groups"
value = "students"
rooms = ["class-*"]
publish = false
`);
  idServer = await startServer({ args: ['--config', idConfig], secret: null });
  await idServer.waitForLine('stderr', /oidc: 1 signing key from/, { timeout: 10000 });
});

after(async () => {
  await server?.shutdown();
  await idServer?.shutdown();
  await idp?.close();
  await other?.close();
});

/** hello with `token`; resolves with the welcome, or the error and the close. */
async function hello(token, srv = server) {
  const c = await Client.connect(srv.wsUrl);
  c.send({ type: 'hello', token, id: 'h' });
  const reply = await c.next();
  if (reply.type === 'welcome') return { client: c, welcome: reply };
  const closed = await c.closed();
  return { error: reply, closed };
}

async function refused(token, reason, srv = server) {
  const r = await hello(token, srv);
  assert.ok(r.error, `expected refusal (${reason}), got ${JSON.stringify(r.welcome)}`);
  assertError(r.error, 'unauthorized', 'h');
  assert.equal(r.error.message, `invalid token: ${reason}`);
  assert.equal(r.closed.code, 4401);
}

test('an access token from the provider is accepted; sub is the user; scope maps to rooms', async () => {
  const token = await idp.accessToken('kiosk-app', { scope: 'room.join' });
  assert.equal(JSON.parse(Buffer.from(token.split('.')[0], 'base64url')).typ, 'at+jwt');
  const { client, welcome } = await hello(token);
  assert.ok(welcome, 'welcome');
  assert.equal(welcome.user, 'kiosk-app');
  client.send({ type: 'join', room: 'lobby', id: 'j1' });
  assert.equal((await client.next()).type, 'joined');
  client.send({ type: 'join', room: 'class-1', id: 'j2' });
  assertError(await client.next(), 'forbidden', 'j2');
});

test('groups map to rooms by pattern; name comes from the token', async () => {
  const { client, welcome } = await hello(await idp.accessToken('teacher-app', { scope: 'room.join' }));
  assert.equal(welcome.user, 'teacher-app');
  assert.equal(welcome.name, 'Ms. Frizzle');
  client.send({ type: 'join', room: 'class-7b', id: 'j1' });
  assert.equal((await client.next()).type, 'joined');
  client.send({ type: 'join', room: 'lobby', id: 'j2' });
  assert.equal((await client.next()).type, 'joined');
});

test('a scope maps to admin: the admin API takes the token; without the scope it is 403', async () => {
  const admin = await idp.accessToken('kiosk-app', { scope: 'switchboard.admin' });
  const { client } = await hello(admin);
  client.send({ type: 'join', room: 'lobby', id: 'j' });
  assertError(await client.next(), 'forbidden', 'j'); // no room scope, no rooms
  const ok = await fetch(`${server.httpUrl}/v1/rooms`, { headers: { authorization: `Bearer ${admin}` } });
  assert.equal(ok.status, 200);
  const plain = await idp.accessToken('kiosk-app', { scope: 'room.join' });
  const no = await fetch(`${server.httpUrl}/v1/rooms`, { headers: { authorization: `Bearer ${plain}` } });
  assert.equal(no.status, 403);
});

test('a token for another audience is refused: wrong-audience', async () => {
  await refused(await idp.accessToken('kiosk-app', { resource: 'urn:another-api' }), 'wrong-audience');
});

test('a token of another issuer is refused: wrong-issuer', async () => {
  await refused(await other.accessToken('kiosk-app'), 'wrong-issuer');
});

test("a token claiming our issuer but signed by another provider's key is refused: bad-signature", async () => {
  const forged = await other.accessToken('kiosk-app');
  const [h, p, s] = forged.split('.');
  const claims = { ...JSON.parse(Buffer.from(p, 'base64url')), iss: idp.issuer };
  await refused(`${h}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.${s}`, 'bad-signature');
});

test("an expired token signed with the provider's own key is refused: expired", async () => {
  const t = nowS() - 3600;
  await refused(signWith(rsa1, { iss: idp.issuer, aud: AUDIENCE, sub: 'kiosk-app', iat: t, exp: t + 300, scope: 'room.join' }),
    'expired');
});

test('HS256 tokens claiming the issuer are refused: unsupported-alg; server tokens still work', async () => {
  await refused(hsToken(server.secret, { sub: 'x', iss: idp.issuer, aud: AUDIENCE }), 'unsupported-alg');
  const { welcome } = await hello(hsToken(server.secret, { sub: 'local-user', iss: 'switchboard-local' }));
  assert.equal(welcome.user, 'local-user');
});

test('GET /v1/ice-servers accepts the provider token too', async () => {
  const token = await idp.accessToken('kiosk-app');
  const r = await fetch(`${server.httpUrl}/v1/ice-servers`, { headers: { authorization: `Bearer ${token}` } });
  assert.equal(r.status, 200);
  assert.deepEqual(await r.json(), { ice_servers: [], expires_at: null });
});

test('ID tokens from an authorization code flow: name from the token, groups map to grants', async () => {
  const alice = await idp.idToken('web-app', 'alice');
  assert.equal(JSON.parse(Buffer.from(alice.split('.')[1], 'base64url')).aud, 'web-app');
  const a = await hello(alice, idServer);
  assert.ok(a.welcome, 'welcome');
  assert.equal(a.welcome.user, 'alice');
  assert.equal(a.welcome.name, 'Alice Liddell');
  a.client.send({ type: 'join', room: 'class-3', id: 'j' });
  assert.equal((await a.client.next()).type, 'joined');

  // bob has no name claim: preferred_username; as a student he gets the class rooms only.
  // (The server runs with no key of its own: --oidc-issuer alone is enough.)
  const b = await hello(await idp.idToken('web-app', 'bob'), idServer);
  assert.equal(b.welcome.name, 'bob');
  b.client.send({ type: 'join', room: 'class-3', id: 'j1' });
  assert.equal((await b.client.next()).type, 'joined');
  b.client.send({ type: 'join', room: 'lobby', id: 'j2' });
  assertError(await b.client.next(), 'forbidden', 'j2');

  // The same ID token is refused by the server that expects access tokens for its API.
  await refused(alice, 'wrong-audience');
  // An access token is refused by the ID-token server (its audience is the API, not the client).
  await refused(await idp.accessToken('kiosk-app'), 'wrong-audience', idServer);
});

test('a provider that is down at start: the server starts, and the first token fetches the keys', async () => {
  const late = await startIdp({ keys: [makeKey('late-1', 'ES256'), makeKey('late-2')], clients: CLIENTS });
  late.down = true;
  const srv = await startServer({ args: ['--oidc-issuer', late.issuer, '--oidc-audience', AUDIENCE] });
  try {
    await srv.waitForLine('stderr', /oidc: key fetch \(start\) failed, keeping the previous keys: discovery .*HTTP 503/);
    late.down = false;
    const token = await late.accessToken('kiosk-app');
    const jwksBefore = late.requests('/jwks');
    const { welcome } = await hello(token, srv);
    assert.equal(welcome?.user, 'kiosk-app');
    assert.equal(late.requests('/jwks'), jwksBefore + 1);
  } finally {
    await srv.shutdown();
    await late.close();
  }
});

// Last: it changes the provider's keys.
test('key rotation: a new kid triggers one JWKS refetch; another within the interval does not', async () => {
  const fetchesBefore = idp.requests('/jwks');
  idp.rotate([makeKey('ec-2', 'ES256'), makeKey('rsa-2')]);
  const token = await idp.accessToken('kiosk-app');
  assert.equal(JSON.parse(Buffer.from(token.split('.')[0], 'base64url')).kid, 'ec-2');
  const { welcome } = await hello(token);
  assert.ok(welcome, 'the hello waited for the refetch and then succeeded');
  assert.equal(welcome.user, 'kiosk-app');
  assert.equal(idp.requests('/jwks'), fetchesBefore + 1, 'exactly one JWKS fetch');

  // A second rotation within refetch_interval_s: no new fetch, the unknown kid is refused.
  idp.rotate([makeKey('rsa-3')]);
  await refused(await idp.accessToken('kiosk-app'), 'no-key');
  assert.equal(idp.requests('/jwks'), fetchesBefore + 1, 'no second JWKS fetch within the interval');
  await server.waitForLine('stderr', /refetched less than 3600 s ago/);
});
