// Token lifetime over the socket: a session ends with `token-expired` + 4401
// when its token expires, unless the client sends `refresh` with a new token
// for the same user first.
import assert from 'node:assert/strict';
import test from 'node:test';
import { assertError, connectPeer, join, serverFixture, uniqueRoom } from './lib/harness.mjs';
import { hsToken, nowS } from './lib/jwt.mjs';

// Tokens get 30 s of leeway; exp = now - 29 expires for good about a second from now.
const almostExpired = () => nowS() - 29;
// Heartbeat 2 s: pings mark time below, with margin for a loaded machine.
const server = serverFixture({ args: ['--heartbeat-s', '2'] });

test('an expired token ends the session: error token-expired, close 4401; room peers see peer-left', async () => {
  const room = uniqueRoom();
  const watcher = await connectPeer(server());
  await join(watcher, room);
  const c = await connectPeer(server(), { claims: { exp: almostExpired() } });
  await join(c, room);
  await watcher.next({ type: 'peer-joined', peer: c.peer });
  const err = await c.next({ type: 'error', code: 'token-expired' }, { timeout: 5000 });
  assertError(err, 'token-expired');
  const { code } = await c.closed();
  assert.equal(code, 4401);
  const left = await watcher.next({ type: 'peer-left', peer: c.peer });
  assert.equal(left.reason, 'disconnected');
});

test('refresh with a new token for the same user keeps the session past the old expiry', async () => {
  const s = server();
  const c = await connectPeer(s, { claims: { sub: 'refresher', exp: almostExpired() } });
  const ack = await c.request({ type: 'refresh', token: hsToken(s.secret, { sub: 'refresher' }) });
  assert.equal(ack.type, 'ack');
  // Two server pings (about 4 s) take us past the old token's end (about 1 s away).
  await c.waitPings(2, { timeout: 10000 });
  const pong = await c.request({ type: 'ping' });
  assert.equal(pong.type, 'pong');
  assert.ok(c.isOpen);
  assert.equal(c.received({ type: 'error' }).length, 0);
});

test('refresh for another user is forbidden and changes nothing', async () => {
  const s = server();
  const c = await connectPeer(s, { claims: { sub: 'alice' } });
  const err = await c.requestError({ type: 'refresh', token: hsToken(s.secret, { sub: 'mallory' }) });
  assertError(err, 'forbidden');
  assert.ok(c.isOpen);
});

test('refresh with an invalid token is unauthorized and keeps the session', async () => {
  const c = await connectPeer(server());
  const err = await c.requestError({ type: 'refresh', token: hsToken('wrong-secret', {}) });
  assertError(err, 'unauthorized');
  const pong = await c.request({ type: 'ping' });
  assert.equal(pong.type, 'pong');
});
