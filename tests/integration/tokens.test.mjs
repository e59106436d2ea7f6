// Token verification with configured issuer/audience, and with PEM public keys
// (RS256 and ES256), including the HS256/RS256 confusion attack.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Client, assertError, closeAllClients } from './lib/harness.mjs';
import { claims, generateKeyFile, hsToken, signJwt } from './lib/jwt.mjs';
import { startServer, tmpDir } from './lib/server.mjs';

// hello with `token`; resolves with the reply and, on error, the close code.
async function tryHello(server, token) {
  const c = await Client.connect(server.wsUrl);
  const reply = await c.request({ type: 'hello', token });
  if (reply.type === 'welcome') { c.terminate(); return { reply }; }
  const { code } = await c.closed();
  return { reply, code };
}

async function assertAccepted(server, token, sub) {
  const { reply } = await tryHello(server, token);
  assert.equal(reply.type, 'welcome', `expected welcome, got ${JSON.stringify(reply)}`);
  if (sub) assert.equal(reply.user, sub);
}

async function assertRejected(server, token, what) {
  const { reply, code } = await tryHello(server, token);
  assert.equal(reply.type, 'error', `${what}: expected unauthorized, got ${JSON.stringify(reply)}`);
  assertError(reply, 'unauthorized');
  assert.equal(code, 4401, `${what}: close code`);
}

describe('issuer and audience', () => {
  let server;
  before(async () => {
    server = await startServer({ args: ['--jwt-audience', 'switchboard-test', '--jwt-issuer', 'https://issuer.test'] });
  });
  after(async () => { closeAllClients(); await server.shutdown(); });

  const good = { aud: 'switchboard-test', iss: 'https://issuer.test' };

  test('matching aud and iss → welcome', async () => {
    await assertAccepted(server, hsToken(server.secret, { ...good, sub: 'ok-user' }), 'ok-user');
  });

  test('wrong audience → unauthorized + 4401', async () => {
    await assertRejected(server, hsToken(server.secret, { ...good, aud: 'someone-else' }), 'wrong aud');
  });

  test('missing audience → unauthorized + 4401', async () => {
    await assertRejected(server, hsToken(server.secret, { ...good, aud: undefined }), 'missing aud');
  });

  test('wrong issuer → unauthorized + 4401', async () => {
    await assertRejected(server, hsToken(server.secret, { ...good, iss: 'https://evil.test' }), 'wrong iss');
  });
});

describe('PEM public keys (RS256, ES256), no HS256 secret', () => {
  let server;
  let rsa;
  let ec;
  let otherRsa;
  before(async () => {
    const dir = tmpDir();
    rsa = generateKeyFile('rsa', dir);
    ec = generateKeyFile('ec', dir);
    otherRsa = generateKeyFile('rsa', dir);
    server = await startServer({ secret: null, args: ['--jwt-public-key', rsa.pemPath, '--jwt-public-key', ec.pemPath] });
  });
  after(async () => { closeAllClients(); await server.shutdown(); });

  test('RS256 token signed with the configured key → welcome', async () => {
    await assertAccepted(server, signJwt(claims({ sub: 'rs-user' }), { alg: 'RS256', privateKey: rsa.privateKey }), 'rs-user');
  });

  test('ES256 token signed with the configured key → welcome', async () => {
    await assertAccepted(server, signJwt(claims({ sub: 'es-user' }), { alg: 'ES256', privateKey: ec.privateKey }), 'es-user');
  });

  test('RS256 token signed with another key → unauthorized + 4401', async () => {
    await assertRejected(server, signJwt(claims(), { alg: 'RS256', privateKey: otherRsa.privateKey }), 'other key');
  });

  test('expired RS256 token → unauthorized + 4401', async () => {
    const t = signJwt(claims({ exp: Math.floor(Date.now() / 1000) - 120 }), { alg: 'RS256', privateKey: rsa.privateKey });
    await assertRejected(server, t, 'expired RS256');
  });

  test('HS256 token whose HMAC key is the RSA public key PEM (alg confusion) → unauthorized + 4401', async () => {
    await assertRejected(server, signJwt(claims(), { alg: 'HS256', secret: rsa.publicPem }), 'HS/RS confusion');
  });

  test('ES256 signature presented as RS256 → unauthorized + 4401', async () => {
    const t = signJwt(claims(), { alg: 'ES256', privateKey: ec.privateKey });
    const [, p, sig] = t.split('.');
    const h = Buffer.from(JSON.stringify({ alg: 'RS256', typ: 'JWT' })).toString('base64url');
    await assertRejected(server, `${h}.${p}.${sig}`, 'ES as RS');
  });

  test('alg none → unauthorized + 4401', async () => {
    await assertRejected(server, signJwt(claims(), { alg: 'none' }), 'alg none');
  });
});

describe('HS256 secret and PEM key together', () => {
  let server;
  let rsa;
  before(async () => {
    rsa = generateKeyFile('rsa', tmpDir());
    server = await startServer({ args: ['--jwt-public-key', rsa.pemPath] });
  });
  after(async () => { closeAllClients(); await server.shutdown(); });

  test('both HS256 and RS256 tokens are accepted', async () => {
    await assertAccepted(server, hsToken(server.secret, { sub: 'hs' }), 'hs');
    await assertAccepted(server, signJwt(claims({ sub: 'rs' }), { alg: 'RS256', privateKey: rsa.privateKey }), 'rs');
  });

  test('HS256 signed with the RSA public key PEM is still rejected', async () => {
    await assertRejected(server, signJwt(claims(), { alg: 'HS256', secret: rsa.publicPem }), 'HS/RS confusion');
  });
});
