// Grants against the real server: `rooms`, `publish`, `subscribe`, `data` and
// `admin`, each allowed and denied, and the defaults when a grant is absent.
// Every denial is `forbidden` with the request's id and names the grant.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { assertError, connectPeer, join, serverFixture, uniqueRoom } from './lib/harness.mjs';
import { hsToken } from './lib/jwt.mjs';

const KEY = 'grants-test-admin-key-0123456789';
const server = serverFixture({ args: ['--threads', '2', '--admin-key', KEY] });

// A peer whose grants are `grants` plus every room.
const withGrants = (grants) => connectPeer(server(), { claims: { grants: { rooms: ['*'], ...grants } } });

// a and b in a fresh room; a has `grantsA`, b `grantsB`. b has consumed nothing; a consumed b's peer-joined.
async function pair(grantsA = {}, grantsB = {}) {
  const room = uniqueRoom('grants');
  const a = await withGrants(grantsA);
  const b = await withGrants(grantsB);
  await join(a, room);
  await join(b, room);
  await a.next({ type: 'peer-joined', peer: b.peer });
  return { room, a, b };
}

function assertForbidden(reply, id, message) {
  assertError(reply, 'forbidden', id);
  assert.equal(reply.message, message);
}

describe('defaults: publish, subscribe and data are granted, admin is not, no room is', () => {
  test('a token with only rooms may offer, receive offers, answer, trickle and message', async () => {
    const { room, a, b } = await pair();
    for (const [from, to, type] of [[a, b, 'offer'], [b, a, 'answer'], [a, b, 'ice-candidate'], [b, a, 'offer'],
      [a, b, 'message']]) {
      const r = await from.request({ type, room, to: to.peer, data: { t: type } });
      assert.equal(r.type, 'ack', `${type}: ${JSON.stringify(r)}`);
      const got = await to.next({ type, from: from.peer });
      assert.deepEqual(got.data, { t: type });
    }
    assert.equal((await a.request({ type: 'message', room, data: 'all' })).type, 'ack');
    assert.equal((await b.next({ type: 'message', from: a.peer, data: 'all' })).room, room);
  });

  test('without grants.rooms no room may be joined: forbidden naming the rooms grant', async () => {
    const c = await connectPeer(server(), { claims: { grants: { publish: true } } });
    const r = await c.request({ type: 'join', room: uniqueRoom(), id: 'j1' });
    assertError(r, 'forbidden', 'j1');
    assert.match(r.message, /^missing grant: rooms/);
    const none = await connectPeer(server(), { claims: { grants: undefined } });
    assertError(await none.request({ type: 'join', room: uniqueRoom() }), 'forbidden');
  });

  test('grants.admin defaults to false: such a token is refused by the admin API, an admin token is not', async () => {
    const get = (token) => fetch(`${server().httpUrl}/v1/rooms`, { headers: { authorization: `Bearer ${token}` } });
    const user = hsToken(server().secret, { sub: 'plain', grants: { rooms: ['*'] } });
    assert.equal((await get(user)).status, 403);
    const admin = hsToken(server().secret, { sub: 'ops', grants: { admin: true } });
    assert.equal((await get(admin)).status, 200);
  });
});

describe('rooms', () => {
  test('exact names and prefix patterns: inside joins, outside is forbidden and names the room', async () => {
    const prefix = uniqueRoom('team');
    const c = await connectPeer(server(), { claims: { grants: { rooms: [`${prefix}-*`, 'lobby-exact'] } } });
    await join(c, `${prefix}-blue`);
    await join(c, 'lobby-exact');
    const r = await c.request({ type: 'join', room: 'lobby-exact2', id: 5 });
    assertError(r, 'forbidden', 5);
    assert.equal(r.message, 'missing grant: rooms (the token does not grant room "lobby-exact2")');
    assertError(await c.request({ type: 'join', room: prefix }), 'forbidden');
  });
});

describe('publish', () => {
  test('without publish an offer is forbidden and reaches nobody; answer, candidates and messages pass', async () => {
    const { room, a, b } = await pair({ publish: false });
    const r = await a.request({ type: 'offer', room, to: b.peer, data: { sdp: 'x' }, id: 'o1' });
    assertForbidden(r, 'o1', 'missing grant: publish');
    for (const type of ['answer', 'ice-candidate', 'message']) {
      assert.equal((await a.request({ type, room, to: b.peer, data: type })).type, 'ack', type);
      await b.next({ type, from: a.peer, data: type });
    }
    await b.barrier();
    assert.equal(b.pending('offer').length, 0, 'the refused offer was not relayed');
    // the error has the same shape without an id, and the connection stays usable
    a.send({ type: 'offer', room, to: b.peer, data: {} });
    const e = await a.next('error');
    assert.ok(!('id' in e));
    assert.equal(e.message, 'missing grant: publish');
    assert.ok(a.isOpen);
  });

  test('with publish the offer is relayed', async () => {
    const { room, a, b } = await pair({ publish: true });
    assert.equal((await a.request({ type: 'offer', room, to: b.peer, data: 1 })).type, 'ack');
    await b.next({ type: 'offer', from: a.peer });
  });
});

describe('subscribe', () => {
  test('an offer to a peer without subscribe: forbidden to the sender, nothing to the peer', async () => {
    const { room, a, b } = await pair({}, { subscribe: false });
    const r = await a.request({ type: 'offer', room, to: b.peer, data: { sdp: 'x' }, id: 9 });
    assertForbidden(r, 9, 'recipient is missing grant: subscribe');
    await b.barrier();
    assert.equal(b.pending('offer').length, 0);
  });

  test('a peer without subscribe still publishes, and gets answers, candidates and messages', async () => {
    const { room, a, b } = await pair({}, { subscribe: false });
    assert.equal((await b.request({ type: 'offer', room, to: a.peer, data: 'o' })).type, 'ack');
    await a.next({ type: 'offer', from: b.peer });
    for (const type of ['answer', 'ice-candidate', 'message']) {
      assert.equal((await a.request({ type, room, to: b.peer, data: type })).type, 'ack', type);
      await b.next({ type, from: a.peer });
    }
  });
});

describe('data', () => {
  test('without data both room-wide and addressed messages are forbidden', async () => {
    const { room, a, b } = await pair({ data: false });
    assertForbidden(await a.request({ type: 'message', room, data: 'all', id: 'm1' }), 'm1', 'missing grant: data');
    assertForbidden(await a.request({ type: 'message', room, to: b.peer, data: 'one', id: 'm2' }), 'm2',
      'missing grant: data');
    await b.barrier();
    assert.equal(b.pending('message').length, 0);
    // offers are not data
    assert.equal((await a.request({ type: 'offer', room, to: b.peer, data: 1 })).type, 'ack');
    // and it still receives messages from others
    assert.equal((await b.request({ type: 'message', room, data: 'hi' })).type, 'ack');
    await a.next({ type: 'message', from: b.peer, data: 'hi' });
  });
});

describe('refresh', () => {
  test('a refreshed token brings its grants: publish revoked by refresh → the next offer is forbidden', async () => {
    const { room, a, b } = await pair();
    assert.equal((await a.request({ type: 'offer', room, to: b.peer, data: 1 })).type, 'ack');
    const token = hsToken(server().secret, { sub: a.user, grants: { rooms: ['*'], publish: false } });
    assert.equal((await a.request({ type: 'refresh', token })).type, 'ack');
    assertForbidden(await a.request({ type: 'offer', room, to: b.peer, data: 2, id: 'after' }), 'after',
      'missing grant: publish');
  });
});
