// The admin REST API against the real server: auth (API key, admin token),
// rooms (list, get, pre-create, metadata, close), peers (list, kick) and
// server-sent messages, each observed by real clients. Every response is
// validated against docs/openapi.yaml.
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { assertError, connectPeer, join, peersInRoom, serverFixture, uniqueRoom } from './lib/harness.mjs';
import { hsToken } from './lib/jwt.mjs';
import { adminClient, assertAllOperationsCovered } from './lib/openapi.mjs';

const KEY = 'test-admin-key-0123456789';
const server = serverFixture({ args: ['--admin-key', KEY, '--threads', '2'] });
const api = () => adminClient(server(), KEY);

after(() => assertAllOperationsCovered({ prefix: '/v1/rooms' }));

describe('authentication', () => {
  test('no credential → 401 with WWW-Authenticate; a wrong key → 401', async () => {
    const none = await adminClient(server(), null).get('/v1/rooms');
    assert.equal(none.status, 401);
    assert.equal(none.body.error.code, 'unauthorized');
    assert.match(none.headers.get('www-authenticate'), /^Bearer/);
    const wrong = await adminClient(server(), `${KEY}x`).get('/v1/rooms');
    assert.equal(wrong.status, 401);
  });

  test('a token with grants.admin is accepted; a valid token without it → 403', async () => {
    const admin = hsToken(server().secret, { sub: 'ops', grants: { admin: true } });
    assert.equal((await adminClient(server(), admin).get('/v1/rooms')).status, 200);
    const user = hsToken(server().secret, { sub: 'u', grants: { rooms: ['*'] } });
    const r = await adminClient(server(), user).get('/v1/rooms');
    assert.equal(r.status, 403);
    assert.equal(r.body.error.code, 'forbidden');
    const expired = hsToken(server().secret, { sub: 'ops', grants: { admin: true }, exp: 1000 });
    assert.equal((await adminClient(server(), expired).get('/v1/rooms')).status, 401);
  });
});

describe('rooms', () => {
  test('GET /v1/rooms lists live rooms with their peer counts; GET /v1/rooms/{room} shows one', async () => {
    const room = uniqueRoom('listed');
    await peersInRoom(server(), 2, room);
    const before = Math.floor(Date.now() / 1000);
    const list = await api().get('/v1/rooms');
    assert.equal(list.status, 200);
    const r = list.body.rooms.find((x) => x.name === room);
    assert.ok(r, `${room} not listed: ${JSON.stringify(list.body)}`);
    assert.equal(r.peers, 2);
    assert.equal(r.kind, 'meeting');
    assert.equal(r.persistent, false);
    assert.deepEqual(r.metadata, {});
    assert.ok(Math.abs(r.created_at - before) < 60);
    const names = list.body.rooms.map((x) => x.name);
    assert.deepEqual(names, [...names].sort(), 'sorted by name');
    const one = await api().get(`/v1/rooms/${room}`);
    assert.equal(one.status, 200);
    assert.deepEqual(one.body, r);
    const missing = await api().get(`/v1/rooms/${uniqueRoom('none')}`);
    assert.equal(missing.status, 404);
    assert.equal(missing.body.error.code, 'not-found');
    assert.equal((await api().get('/v1/rooms/bad%20name')).status, 400);
  });

  test('POST /v1/rooms pre-creates a room with its config; it stays empty until deleted', async () => {
    const room = uniqueRoom('precreated');
    const c = await api().post('/v1/rooms', { name: room, kind: 'meeting', max_peers: 2, metadata: { topic: 'standup' } });
    assert.equal(c.status, 201, JSON.stringify(c.body));
    assert.equal(c.headers.get('location'), `/v1/rooms/${room}`);
    assert.deepEqual({ ...c.body, created_at: 0 }, {
      name: room, kind: 'meeting', peers: 0, max_peers: 2, created_at: 0, persistent: true, metadata: { topic: 'standup' },
    });
    assert.equal((await api().post('/v1/rooms', { name: room })).status, 409);

    // max_peers applies to this room.
    const [a, b] = await peersInRoom(server(), 2, room);
    const third = await connectPeer(server());
    assertError(await third.request({ type: 'join', room }), 'room-full');
    assert.equal((await api().get(`/v1/rooms/${room}`)).body.peers, 2);
    // Empty again: the room stays.
    await a.request({ type: 'leave', room });
    await b.request({ type: 'leave', room });
    const still = await api().get(`/v1/rooms/${room}`);
    assert.equal(still.status, 200);
    assert.equal(still.body.peers, 0);
    assert.equal((await api().delete(`/v1/rooms/${room}`)).status, 204);
    assert.equal((await api().get(`/v1/rooms/${room}`)).status, 404);
  });

  test('POST /v1/rooms refuses bad input: 400, 413, 415', async () => {
    for (const body of [{}, { name: 'a b' }, { name: 'x', kind: 'webinar' }, { name: 'x', max_peers: 0 },
      { name: 'x', metadata: 'nope' }, { name: 'x', extra: 1 }]) {
      const r = await api().post('/v1/rooms', body);
      assert.equal(r.status, 400, JSON.stringify(body));
      assert.equal(r.body.error.code, 'bad-request');
    }
    const big = await api().post('/v1/rooms', { name: uniqueRoom(), metadata: { k: 'x'.repeat(5000) } });
    assert.equal(big.status, 413);
    assert.equal(big.body.error.code, 'too-large');
    const form = await api().call('POST', '/v1/rooms', undefined, {
      raw: 'name=x', headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    assert.equal(form.status, 415);
    const notJson = await api().call('POST', '/v1/rooms', undefined, { raw: '{"name":', headers: { 'content-type': 'application/json' } });
    assert.equal(notJson.status, 400);
  });

  test('PATCH /v1/rooms/{room} replaces the metadata', async () => {
    const room = uniqueRoom('patched');
    const [p] = await peersInRoom(server(), 1, room);
    const r = await api().patch(`/v1/rooms/${room}`, { metadata: { locked: true } });
    assert.equal(r.status, 200);
    assert.deepEqual(r.body.metadata, { locked: true });
    assert.deepEqual((await api().get(`/v1/rooms/${room}`)).body.metadata, { locked: true });
    assert.equal((await api().patch(`/v1/rooms/${room}`, {})).status, 400);
    assert.equal((await api().patch(`/v1/rooms/${uniqueRoom()}`, { metadata: {} })).status, 404);
    // Room metadata is for operators: peers are not told.
    await p.barrier();
    assert.deepEqual(p.pending(() => true), []);
  });

  test('DELETE /v1/rooms/{room}: every peer gets room-closed and is out; nothing more follows', async () => {
    const room = uniqueRoom('closed');
    const peers = await peersInRoom(server(), 3, room);
    const other = uniqueRoom('elsewhere');
    await join(peers[0], other);
    const r = await api().delete(`/v1/rooms/${room}`);
    assert.equal(r.status, 204);
    assert.equal(r.body, null);
    for (const p of peers) {
      const m = await p.next('room-closed');
      assert.deepEqual(Object.keys(m).sort(), ['room', 'seq', 'type']);
      assert.equal(m.room, room);
    }
    assert.equal((await api().get(`/v1/rooms/${room}`)).status, 404);
    // Out of the room: relays are refused, no peer-left follows; other rooms are untouched.
    assertError(await peers[1].request({ type: 'message', room, data: 1 }), 'not-in-room');
    assertError(await peers[1].request({ type: 'leave', room }), 'not-in-room');
    for (const p of peers) {
      await p.barrier();
      assert.deepEqual(p.pending(() => true), [], `${p.name} got more after room-closed`);
      assert.ok(p.isOpen);
      p.assertSeq();
    }
    assert.equal((await api().get(`/v1/rooms/${other}`)).body.peers, 1);
    // The name is free: a join makes a new, empty room.
    assert.deepEqual((await join(peers[2], room)).peers, []);
    assert.equal((await api().delete(`/v1/rooms/${uniqueRoom()}`)).status, 404);
  });
});

describe('peers', () => {
  test('GET /v1/rooms/{room}/peers lists peer, user, name, metadata and join time, in join order', async () => {
    const room = uniqueRoom('peers');
    const a = await connectPeer(server(), { claims: { name: 'Ann' } });
    await join(a, room, { role: 'host' });
    const b = await connectPeer(server());
    await join(b, room);
    const r = await api().get(`/v1/rooms/${room}/peers`);
    assert.equal(r.status, 200);
    assert.equal(r.body.room, room);
    assert.equal(r.body.peers.length, 2);
    assert.deepEqual({ ...r.body.peers[0], joined_at: 0 },
      { peer: a.peer, user: a.user, name: 'Ann', metadata: { role: 'host' }, joined_at: 0 });
    assert.equal(r.body.peers[1].peer, b.peer);
    assert.equal('name' in r.body.peers[1], false);
    assert.equal((await api().get(`/v1/rooms/${uniqueRoom()}/peers`)).status, 404);
  });

  test('DELETE /v1/rooms/{room}/peers/{peer}: kicked {room, reason} to the peer, peer-left "kicked" to the others', async () => {
    const room = uniqueRoom('kick');
    const [a, b, c] = await peersInRoom(server(), 3, room);
    const r = await api().delete(`/v1/rooms/${room}/peers/${b.peer}`, { reason: 'spamming' });
    assert.equal(r.status, 204);
    const k = await b.next('kicked');
    assert.equal(k.room, room);
    assert.equal(k.reason, 'spamming');
    for (const p of [a, c]) {
      const left = await p.next({ type: 'peer-left', peer: b.peer });
      assert.equal(left.reason, 'kicked');
      assert.equal(left.room, room);
    }
    const peers = (await api().get(`/v1/rooms/${room}/peers`)).body.peers.map((p) => p.peer);
    assert.deepEqual(peers, [a.peer, c.peer]);
    // The connection stays; the room is gone for it; the others' relays no longer reach it.
    assertError(await b.request({ type: 'message', room, data: 1 }), 'not-in-room');
    await a.request({ type: 'message', room, data: 'after' });
    await c.next({ type: 'message', data: 'after' });
    await b.barrier();
    assert.deepEqual(b.pending('message'), []);
    // Default reason; unknown peer and room.
    await api().delete(`/v1/rooms/${room}/peers/${c.peer}`);
    assert.equal((await c.next('kicked')).reason, 'kicked');
    assert.equal((await api().delete(`/v1/rooms/${room}/peers/${b.peer}`)).status, 404);
    assert.equal((await api().delete(`/v1/rooms/${uniqueRoom()}/peers/${a.peer}`)).status, 404);
    // Kicked, it may join again.
    await join(b, room);
    for (const p of [a, b, c]) p.assertSeq();
  });
});

describe('messages', () => {
  test('POST /v1/rooms/{room}/messages: from "server" to every peer, or to one with `to`', async () => {
    const room = uniqueRoom('announce');
    const [a, b] = await peersInRoom(server(), 2, room);
    const all = await api().post(`/v1/rooms/${room}/messages`, { data: { notice: 'closing in 5 min' } });
    assert.equal(all.status, 200);
    assert.deepEqual(all.body, { recipients: 2 });
    for (const p of [a, b]) {
      const m = await p.next('message');
      assert.deepEqual({ ...m, seq: 0 }, { type: 'message', room, from: 'server', data: { notice: 'closing in 5 min' }, seq: 0 });
    }
    const one = await api().post(`/v1/rooms/${room}/messages`, { to: b.peer, data: [1, 'two'] });
    assert.deepEqual(one.body, { recipients: 1 });
    assert.deepEqual((await b.next('message')).data, [1, 'two']);
    await a.barrier();
    assert.deepEqual(a.pending('message'), []);
    assert.equal((await api().post(`/v1/rooms/${room}/messages`, { to: 'nobody', data: 1 })).status, 404);
    assert.equal((await api().post(`/v1/rooms/${uniqueRoom()}/messages`, { data: 1 })).status, 404);
    assert.equal((await api().post(`/v1/rooms/${room}/messages`, { to: b.peer })).status, 400);
    assert.equal((await api().post(`/v1/rooms/${room}/messages`, { data: 'x'.repeat(61000) })).status, 413);
    for (const p of [a, b]) p.assertSeq();
  });
});

test('unknown admin paths → 404, wrong methods → 405 with Allow', async () => {
  const r = await fetch(`${server().httpUrl}/v1/rooms`, { method: 'PUT', headers: { authorization: `Bearer ${KEY}` } });
  assert.equal(r.status, 405);
  assert.equal(r.headers.get('allow'), 'GET, POST');
  await r.arrayBuffer();
  const n = await fetch(`${server().httpUrl}/v1/rooms/x/y/z`, { headers: { authorization: `Bearer ${KEY}` } });
  assert.equal(n.status, 404);
  await n.arrayBuffer();
});
