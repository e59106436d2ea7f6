// hello / welcome, tokens (HS256 in hello or query parameter), the hello
// timeout, messages before hello, second hello, seq and id rules.
import assert from 'node:assert/strict';
import test from 'node:test';
import { isDeepStrictEqual } from 'node:util';
import { Client, assertError, connectPeer, join, serverFixture, uniqueRoom } from './lib/harness.mjs';
import { claims, hsToken, nowS, signJwt } from './lib/jwt.mjs';

const HELLO_TIMEOUT_S = 1;
const server = serverFixture({ args: ['--hello-timeout-s', String(HELLO_TIMEOUT_S)] });

test('welcome carries session, peer, user, name, heartbeat_s, ice_servers and the hello id', async () => {
  const c = await Client.connect(server().wsUrl);
  const token = hsToken(server().secret, { sub: 'alice', name: 'Alice A.' });
  c.send({ type: 'hello', token, id: 'h-1' });
  const w = await c.next('welcome');
  assert.equal(w.id, 'h-1');
  assert.equal(w.seq, 1);
  assert.equal(typeof w.session, 'string');
  assert.ok(w.session.length > 0);
  assert.equal(typeof w.peer, 'string');
  assert.ok(w.peer.length > 0);
  assert.equal(w.user, 'alice');
  assert.equal(w.name, 'Alice A.');
  assert.equal(w.heartbeat_s, 20, 'default heartbeat is 20 s');
  assert.deepEqual(w.ice_servers, []);
});

test('welcome has no name when the token has none', async () => {
  const c = await Client.connect(server().wsUrl);
  c.send({ type: 'hello', token: hsToken(server().secret, { sub: 'bob' }) });
  const w = await c.next('welcome');
  assert.equal(w.user, 'bob');
  assert.ok(!('name' in w), `unexpected name in ${JSON.stringify(w)}`);
  assert.ok(!('id' in w), 'no id in the reply to a message without id');
});

test('peer ids (and sessions) are unique per connection, even for the same user', async () => {
  const a = await connectPeer(server(), { claims: { sub: 'same-user' } });
  const b = await connectPeer(server(), { claims: { sub: 'same-user' } });
  assert.equal(a.user, 'same-user');
  assert.equal(b.user, 'same-user');
  assert.notEqual(a.peer, b.peer);
  assert.notEqual(a.welcome.session, b.welcome.session);
});

test('token in the access_token query parameter when hello has none', async () => {
  const token = hsToken(server().secret, { sub: 'query-user' });
  const c = await Client.connect(`${server().wsUrl}?access_token=${encodeURIComponent(token)}`);
  const w = await c.request({ type: 'hello', id: 1 });
  assert.equal(w.type, 'welcome');
  assert.equal(w.user, 'query-user');
  assert.equal(w.id, 1);
});

test('hello with a token takes precedence over the query parameter', async () => {
  const qtoken = hsToken(server().secret, { sub: 'from-query' });
  const c = await Client.connect(`${server().wsUrl}?access_token=${encodeURIComponent(qtoken)}`);
  const w = await c.request({ type: 'hello', token: hsToken(server().secret, { sub: 'from-hello' }) });
  assert.equal(w.type, 'welcome');
  assert.equal(w.user, 'from-hello');
});

test('hello without any token → unauthorized, then close 4401', async () => {
  const c = await Client.connect(server().wsUrl);
  const e = await c.request({ type: 'hello', id: 'no-token' });
  assertError(e, 'unauthorized', 'no-token');
  assert.equal(e.seq, 1);
  assert.equal((await c.closed()).code, 4401);
});

test('no hello within hello-timeout → close 4401', async () => {
  const c = await Client.connect(server().wsUrl);
  const { code } = await c.closed({ timeout: 5000 });
  const elapsed = c.closedAt - c.openedAt;
  assert.equal(code, 4401);
  assert.ok(elapsed >= HELLO_TIMEOUT_S * 1000 - 200, `closed after ${elapsed} ms, before the hello timeout`);
  assert.equal(c.frames.length, 0, 'nothing is sent before the close');
});

test('a message before hello → unauthorized (with id); the connection stays open and hello still works', async () => {
  const c = await Client.connect(server().wsUrl);
  const e1 = await c.request({ type: 'join', room: 'lobby', id: 'early' });
  assertError(e1, 'unauthorized', 'early');
  const e2 = await c.request({ type: 'ping', id: 42 });
  assertError(e2, 'unauthorized', 42);
  assert.ok(c.isOpen, 'connection must stay open after a pre-hello message');
  const w = await c.request({ type: 'hello', token: hsToken(server().secret, { sub: 'late' }) });
  assert.equal(w.type, 'welcome');
  assert.equal(w.user, 'late');
  c.assertSeq(); // 1, 2 for the errors, 3 for welcome
});

test('a message before hello, then no hello → close 4401 at the hello timeout', async () => {
  const c = await Client.connect(server().wsUrl);
  assertError(await c.request({ type: 'join', room: 'lobby' }), 'unauthorized');
  assert.equal((await c.closed({ timeout: 5000 })).code, 4401);
});

test('a second hello → bad-request; the session stays usable', async () => {
  const c = await connectPeer(server());
  const e = await c.request({ type: 'hello', token: hsToken(server().secret), id: 'again' });
  assertError(e, 'bad-request', 'again');
  const pong = await c.request({ type: 'ping', id: 'after' });
  assert.equal(pong.type, 'pong');
  assert.ok(c.isOpen);
});

test('seq starts at 1 and grows by exactly 1 per message, errors included, across a session', async () => {
  const room = uniqueRoom();
  const a = await connectPeer(server());
  const b = await connectPeer(server());
  await join(a, room, { n: 1 });
  await join(b, room);
  await a.next('peer-joined');
  assertError(await a.request({ type: 'nope' }), 'bad-request');
  await a.request({ type: 'ping' });
  a.sendRaw('{not json');
  await a.next('error');
  b.send({ type: 'message', room, data: { hello: 1 } });
  await a.next('message');
  await a.request({ type: 'update', room, metadata: { n: 2 } });
  await b.next('peer-updated');
  assertError(await a.request({ type: 'leave', room: 'not-joined-here' }), 'not-in-room');
  await a.request({ type: 'leave', room });
  await b.next('peer-left');
  assert.ok(a.frames.length >= 9);
  a.assertSeq();
  b.assertSeq();
});

test('id echo: string and integer ids on replies and errors', async () => {
  const c = await connectPeer(server());
  const room = uniqueRoom();
  assert.deepEqual((await c.request({ type: 'ping', id: 'abc' })).id, 'abc');
  const p = await c.request({ type: 'ping', id: 7 });
  assert.equal(p.type, 'pong');
  assert.equal(p.id, 7);
  assert.equal(typeof p.id, 'number', 'an integer id is echoed as an integer, not a string');
  const j = await c.request({ type: 'join', room, id: 8 });
  assert.equal(j.type, 'joined');
  assert.equal(j.id, 8);
  const a = await c.request({ type: 'update', room, metadata: {}, id: 'u-1' });
  assert.equal(a.type, 'ack');
  assert.equal(a.id, 'u-1');
  assertError(await c.request({ type: 'join', room, id: 9 }), 'already-joined', 9);
  assertError(await c.request({ type: 'bogus', id: 'e-1' }), 'bad-request', 'e-1');
  const l = await c.request({ type: 'leave', room, id: 0 });
  assert.equal(l.type, 'ack');
  assert.equal(l.id, 0);
});

test('id of 64 chars is echoed; a longer or non-string/non-integer id → bad-request', async () => {
  const c = await connectPeer(server());
  const id64 = 'i'.repeat(64);
  const p = await c.request({ type: 'ping', id: id64 });
  assert.equal(p.type, 'pong');
  assert.equal(p.id, id64);
  for (const bad of ['i'.repeat(65), { x: 1 }, [1], true, 1.5]) {
    c.send({ type: 'ping', id: bad });
    const e = await c.next((m) => m.type === 'error' || m.type === 'pong');
    assertError(e, 'bad-request');
  }
  assert.equal(c.pending('pong').length, 0);
  assert.ok(c.isOpen);
});

test('every error carries the id of the message it answers (wrong-typed and missing fields included)', async () => {
  const room = uniqueRoom();
  const a = await connectPeer(server(), { claims: { grants: { rooms: [room, 'other-*'] } } });
  const b = await connectPeer(server(), { claims: { grants: { rooms: [room] } } });
  await join(a, room);
  await join(b, room);
  await a.next('peer-joined');
  const cases = [
    // [message, expected code]
    [{ type: 'no-such-type' }, 'bad-request'],
    [{ type: 5 }, 'bad-request'],
    [{ type: 'hello', token: hsToken(server().secret) }, 'bad-request'],
    [{ type: 'join' }, 'bad-request'],
    [{ type: 'join', room: 5 }, 'bad-request'],
    [{ type: 'join', room: 'bad room' }, 'bad-request'],
    [{ type: 'join', room: 'other-x', metadata: [] }, 'bad-request'],
    [{ type: 'join', room: 'other-y', metadata: 'm' }, 'bad-request'],
    [{ type: 'join', room: 'other-z', metadata: { k: 'v'.repeat(5000) } }, 'too-large'],
    [{ type: 'join', room: 'forbidden-room' }, 'forbidden'],
    [{ type: 'join', room }, 'already-joined'],
    [{ type: 'leave' }, 'bad-request'],
    [{ type: 'leave', room: ['x'] }, 'bad-request'],
    [{ type: 'leave', room: 'other-q' }, 'not-in-room'],
    [{ type: 'update', room }, 'bad-request'],
    [{ type: 'update', room, metadata: 1 }, 'bad-request'],
    [{ type: 'update', room: 'other-q', metadata: {} }, 'not-in-room'],
    [{ type: 'offer', room, data: {} }, 'bad-request'],
    [{ type: 'offer', room, to: 5, data: {} }, 'bad-request'],
    [{ type: 'offer', room: 5, to: b.peer, data: {} }, 'bad-request'],
    [{ type: 'offer', room, to: b.peer }, 'bad-request'],
    [{ type: 'offer', room, to: a.peer, data: {} }, 'bad-request'],
    [{ type: 'message', to: b.peer, data: {} }, 'bad-request'],
    [{ type: 'message', room }, 'bad-request'],
    [{ type: 'message', room, to: 'nobody', data: {} }, 'peer-not-found'],
    [{ type: 'message', room: 'other-q', data: {} }, 'not-in-room'],
  ];
  assert.ok(cases.filter(([, code]) => code === 'bad-request').length < 20, 'stay below the bad-request limit');
  const missing = [];
  for (const [i, [msg, code]] of cases.entries()) {
    const id = i % 2 ? `case-${i}` : 1000 + i; // string and integer ids
    const e = await a.requestError({ ...msg, id });
    assertError(e, code);
    if (!isDeepStrictEqual(e.id, id)) missing.push(`${JSON.stringify({ ...msg, id }).slice(0, 100)} → ${JSON.stringify(e)}`);
  }
  assert.ok(a.isOpen);
  assert.deepEqual(missing, [], `errors without the request's id:\n${missing.join('\n')}`);
});

test('ping → pong, with and without id', async () => {
  const c = await connectPeer(server());
  c.send({ type: 'ping' });
  const p = await c.next('pong');
  assert.ok(!('id' in p));
  const q = await c.request({ type: 'ping', id: 'p' });
  assert.equal(q.type, 'pong');
  assert.equal(q.id, 'p');
});

test('HS256 token claims: expired, nbf, missing exp/sub, bad signature, alg none, malformed → unauthorized + 4401', async () => {
  const s = server().secret;
  const cases = {
    'bad signature': hsToken('some-other-secret'),
    expired: hsToken(s, { exp: nowS() - 120 }),
    'not yet valid (nbf)': hsToken(s, { nbf: nowS() + 120 }),
    'missing exp': hsToken(s, { exp: undefined }),
    'missing sub': hsToken(s, { sub: undefined }),
    'empty sub': hsToken(s, { sub: '' }),
    'alg none': signJwt(claims(), { alg: 'none' }),
    'alg none with the HS signature kept': (() => {
      const good = hsToken(s);
      const [, payload, sig] = good.split('.');
      const h = Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url');
      return `${h}.${payload}.${sig}`;
    })(),
    'payload tampered': (() => {
      const [h, , sig] = hsToken(s, { sub: 'x' }).split('.');
      return `${h}.${Buffer.from(JSON.stringify(claims({ sub: 'admin' }))).toString('base64url')}.${sig}`;
    })(),
    'not a JWT': 'hello.world',
    'empty string': '',
  };
  for (const [what, token] of Object.entries(cases)) {
    const c = await Client.connect(server().wsUrl, { name: what });
    const e = await c.request({ type: 'hello', token, id: what });
    assert.equal(e.type, 'error', `${what}: expected an error, got ${JSON.stringify(e)}`);
    assertError(e, 'unauthorized', what);
    const { code } = await c.closed();
    assert.equal(code, 4401, `${what}: close code`);
  }
});

test('exp and nbf are checked with 30 s leeway', async () => {
  const s = server().secret;
  for (const over of [{ exp: nowS() - 10 }, { nbf: nowS() + 10 }]) {
    const c = await Client.connect(server().wsUrl);
    const w = await c.request({ type: 'hello', token: hsToken(s, over) });
    assert.equal(w.type, 'welcome', `${JSON.stringify(over)} is within the leeway: ${JSON.stringify(w)}`);
  }
});

test('a bad token in the query parameter → unauthorized + 4401', async () => {
  const token = hsToken('wrong-secret');
  const c = await Client.connect(`${server().wsUrl}?access_token=${encodeURIComponent(token)}`);
  assertError(await c.request({ type: 'hello' }), 'unauthorized');
  assert.equal((await c.closed()).code, 4401);
});
