// Rooms: join / joined / peer-joined, validation, grants, caps, leave, update,
// disconnects, and the lifetime of a room.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  assertError, closeAllClients, connectPeer, join, peersInRoom, serverFixture, uniqueRoom,
} from './lib/harness.mjs';
import { startServer } from './lib/server.mjs';

describe('rooms', () => {
  // A connection that drops (no close frame) keeps its session for the resume
  // window before the others see peer-left; 1 s keeps these tests short.
  const server = serverFixture({ args: ['--resume-window-s', '1'] });

  test('join → joined with the other peers; the others get peer-joined with user, name and metadata', async () => {
    const room = uniqueRoom();
    const a = await connectPeer(server(), { claims: { sub: 'u-alice', name: 'Alice' } });
    const b = await connectPeer(server(), { claims: { sub: 'u-bob' } });
    const ja = await a.request({ type: 'join', room, metadata: { role: 'host', n: [1, 2] }, id: 'ja' });
    assert.equal(ja.type, 'joined');
    assert.equal(ja.id, 'ja');
    assert.equal(ja.room, room);
    assert.deepEqual(ja.peers, []);

    const jb = await b.request({ type: 'join', room, metadata: { role: 'guest' } });
    assert.equal(jb.type, 'joined');
    assert.equal(jb.room, room);
    assert.equal(jb.peers.length, 1);
    assert.deepEqual(jb.peers[0], { peer: a.peer, user: 'u-alice', name: 'Alice', metadata: { role: 'host', n: [1, 2] } });

    const pj = await a.next('peer-joined');
    assert.equal(pj.room, room);
    assert.equal(pj.peer, b.peer);
    assert.equal(pj.user, 'u-bob');
    assert.ok(!('name' in pj), 'no name for a token without one');
    assert.deepEqual(pj.metadata, { role: 'guest' });
    assert.equal(typeof pj.seq, 'number');
    await b.barrier();
    assert.equal(b.pending('peer-joined').length, 0, 'a joiner gets no peer-joined about itself');
  });

  test('metadata defaults to {}', async () => {
    const room = uniqueRoom();
    const [a] = await peersInRoom(server(), 1, room);
    const b = await connectPeer(server());
    const jb = await join(b, room);
    assert.deepEqual(jb.peers[0].metadata, {});
    const pj = await a.next({ type: 'peer-joined', peer: b.peer });
    assert.deepEqual(pj.metadata, {});
  });

  test('a third peer sees both others in joined.peers', async () => {
    const room = uniqueRoom();
    const [a, b] = await peersInRoom(server(), 2, room);
    const c = await connectPeer(server());
    const jc = await join(c, room);
    assert.deepEqual(jc.peers.map((p) => p.peer).sort(), [a.peer, b.peer].sort());
    await a.next({ type: 'peer-joined', peer: c.peer });
    await b.next({ type: 'peer-joined', peer: c.peer });
  });

  test('room names: 1-64 chars of [A-Za-z0-9._-], else bad-request', async () => {
    const c = await connectPeer(server());
    for (const ok of ['a', 'A.b_c-9', 'x'.repeat(64), uniqueRoom('Z')]) {
      const r = await c.request({ type: 'join', room: ok });
      assert.equal(r.type, 'joined', `${ok} is a valid room name: ${JSON.stringify(r)}`);
      assert.equal((await c.request({ type: 'leave', room: ok })).type, 'ack');
    }
    for (const bad of ['', 'x'.repeat(65), 'a b', 'a/b', 'a*', 'caf\u00e9', 'a\u0000', 123, null, ['a'], { r: 1 }]) {
      assertError(await c.requestError({ type: 'join', room: bad }), 'bad-request');
    }
    assertError(await c.requestError({ type: 'join' }), 'bad-request');
    assert.ok(c.isOpen);
  });

  test('metadata that is not an object → bad-request', async () => {
    const c = await connectPeer(server());
    const room = uniqueRoom();
    for (const bad of [[1, 2], 'str', 12, true]) {
      assertError(await c.requestError({ type: 'join', room, metadata: bad }), 'bad-request');
    }
    // the failed joins left no trace: a join now succeeds
    await join(c, room, {});
  });

  test('metadata of at most 4096 bytes as sent; one byte more → too-large', async () => {
    const c = await connectPeer(server());
    const pad = (n) => `{"k":"${'m'.repeat(n - 8)}"}`; // exactly n bytes
    assert.equal(pad(4096).length, 4096);
    const room1 = uniqueRoom();
    let id = 'big-ok';
    c.sendRaw(`{"type":"join","room":"${room1}","id":"${id}","metadata":${pad(4096)}}`);
    const ok = await c.next({ id });
    assert.equal(ok.type, 'joined', `4096 bytes must be accepted: ${JSON.stringify(ok).slice(0, 200)}`);

    const room2 = uniqueRoom();
    id = 'big-ko';
    c.sendRaw(`{"type":"join","room":"${room2}","id":"${id}","metadata":${pad(4097)}}`);
    assertError(await c.next({ id }), 'too-large', id);

    // "as sent": whitespace counts
    id = 'big-ws';
    c.sendRaw(`{"type":"join","room":"${room2}","id":"${id}","metadata":{"a":1${' '.repeat(4100)}}}`);
    assertError(await c.next({ id }), 'too-large', id);

    // the metadata of update obeys the same limit
    id = 'big-upd';
    c.sendRaw(`{"type":"update","room":"${room1}","id":"${id}","metadata":${pad(4097)}}`);
    assertError(await c.next({ id }), 'too-large', id);
    assert.ok(c.isOpen);
  });

  test('grants.rooms: exact names and prefix-* patterns; other rooms → forbidden', async () => {
    const c = await connectPeer(server(), { claims: { grants: { rooms: ['lobby-exact', 'team-*'] } } });
    assert.equal((await c.request({ type: 'join', room: 'lobby-exact' })).type, 'joined');
    assert.equal((await c.request({ type: 'join', room: 'team-a' })).type, 'joined');
    assert.equal((await c.request({ type: 'join', room: 'team-b.c' })).type, 'joined');
    for (const room of ['lobby-exact2', 'lobby-exac', 'team', 'teamx', 'other', 'xteam-a']) {
      assertError(await c.request({ type: 'join', room, id: room }), 'forbidden', room);
    }
  });

  test('no grants.rooms (or no grants) → every join is forbidden', async () => {
    const c1 = await connectPeer(server(), { claims: { grants: {} } });
    assertError(await c1.request({ type: 'join', room: 'lobby' }), 'forbidden');
    const c2 = await connectPeer(server(), { claims: { grants: undefined } });
    assertError(await c2.request({ type: 'join', room: 'lobby' }), 'forbidden');
    const c3 = await connectPeer(server(), { claims: { grants: { rooms: [] } } });
    assertError(await c3.request({ type: 'join', room: 'lobby' }), 'forbidden');
  });

  test('"*" grants every room', async () => {
    const c = await connectPeer(server(), { claims: { grants: { rooms: ['*'] } } });
    assert.equal((await c.request({ type: 'join', room: uniqueRoom('any') })).type, 'joined');
  });

  test('joining a room twice → already-joined, nobody is told twice', async () => {
    const room = uniqueRoom();
    const [a, b] = await peersInRoom(server(), 2, room);
    assertError(await b.request({ type: 'join', room, id: 'again' }), 'already-joined', 'again');
    await b.barrier();
    await a.barrier();
    assert.equal(a.pending('peer-joined').length, 0);
  });

  test('leave → ack; the others get peer-left reason "left"', async () => {
    const room = uniqueRoom();
    const [a, b, c] = await peersInRoom(server(), 3, room);
    const ack = await b.request({ type: 'leave', room, id: 'bye' });
    assert.equal(ack.type, 'ack');
    assert.equal(ack.id, 'bye');
    for (const p of [a, c]) {
      const pl = await p.next('peer-left');
      assert.equal(pl.room, room);
      assert.equal(pl.peer, b.peer);
      assert.equal(pl.reason, 'left');
    }
    await b.barrier();
    assert.equal(b.pending('peer-left').length, 0);
    // b is no longer in the room: leave again → not-in-room; a relay from b → not-in-room
    assertError(await b.request({ type: 'leave', room }), 'not-in-room');
    assertError(await b.request({ type: 'message', room, data: 1 }), 'not-in-room');
  });

  test('leave of a room never joined → not-in-room', async () => {
    const c = await connectPeer(server());
    assertError(await c.request({ type: 'leave', room: uniqueRoom(), id: 'x' }), 'not-in-room', 'x');
  });

  test('disconnect → peer-left reason "disconnected" in every room it was in', async () => {
    const r1 = uniqueRoom();
    const r2 = uniqueRoom();
    const a = await connectPeer(server());
    const b = await connectPeer(server());
    const x = await connectPeer(server());
    await join(a, r1);
    await join(b, r2);
    await join(x, r1);
    await join(x, r2);
    await a.next({ type: 'peer-joined', peer: x.peer });
    await b.next({ type: 'peer-joined', peer: x.peer });
    x.terminate();
    const pa = await a.next('peer-left');
    assert.deepEqual({ room: pa.room, peer: pa.peer, reason: pa.reason }, { room: r1, peer: x.peer, reason: 'disconnected' });
    const pb = await b.next('peer-left');
    assert.deepEqual({ room: pb.room, peer: pb.peer, reason: pb.reason }, { room: r2, peer: x.peer, reason: 'disconnected' });
  });

  test('a clean WebSocket close also produces peer-left "disconnected"', async () => {
    const room = uniqueRoom();
    const [a, x] = await peersInRoom(server(), 2, room);
    await x.close();
    const pl = await a.next('peer-left');
    assert.equal(pl.peer, x.peer);
    assert.equal(pl.reason, 'disconnected');
  });

  test('update → ack; the others get peer-updated; later joiners see the new metadata', async () => {
    const room = uniqueRoom();
    const [a, b] = await peersInRoom(server(), 2, room, { claims: { name: 'Named' } });
    const ack = await a.request({ type: 'update', room, metadata: { muted: true }, id: 'u' });
    assert.equal(ack.type, 'ack');
    assert.equal(ack.id, 'u');
    const pu = await b.next('peer-updated');
    assert.equal(pu.room, room);
    assert.equal(pu.peer, a.peer);
    assert.equal(pu.user, a.user);
    assert.equal(pu.name, 'Named');
    assert.deepEqual(pu.metadata, { muted: true });
    await a.barrier();
    assert.equal(a.pending('peer-updated').length, 0, 'no peer-updated to the updater');
    const c = await connectPeer(server());
    const jc = await join(c, room);
    assert.deepEqual(jc.peers.find((p) => p.peer === a.peer).metadata, { muted: true });
  });

  test('update errors: not-in-room, metadata not an object, missing metadata', async () => {
    const room = uniqueRoom();
    const c = await connectPeer(server());
    assertError(await c.request({ type: 'update', room, metadata: {} }), 'not-in-room');
    await join(c, room);
    assertError(await c.requestError({ type: 'update', room, metadata: [1] }), 'bad-request');
    assertError(await c.requestError({ type: 'update', room }), 'bad-request');
  });

  test('a room is removed when empty (all left): rejoining shows no stale peers', async () => {
    const room = uniqueRoom();
    const [a, b] = await peersInRoom(server(), 2, room);
    assert.equal((await b.request({ type: 'leave', room })).type, 'ack');
    assert.equal((await a.request({ type: 'leave', room })).type, 'ack');
    const ja = await join(a, room);
    assert.deepEqual(ja.peers, [], 'no stale peers after the room emptied');
    const jb = await join(b, room);
    assert.deepEqual(jb.peers.map((p) => p.peer), [a.peer]);
  });

  test('a room is removed when empty (last peer disconnected): rejoining shows no stale peers', async () => {
    const room = uniqueRoom();
    const [a, x] = await peersInRoom(server(), 2, room);
    x.terminate();
    await a.next({ type: 'peer-left', peer: x.peer, reason: 'disconnected' }, { timeout: 10000 });
    await a.request({ type: 'leave', room });
    const c = await connectPeer(server());
    const jc = await join(c, room);
    assert.deepEqual(jc.peers, [], 'no stale peers after the room emptied');
  });

  test('rejoin after leave works', async () => {
    const room = uniqueRoom();
    const [a, b] = await peersInRoom(server(), 2, room);
    await a.request({ type: 'leave', room });
    await b.next({ type: 'peer-left', peer: a.peer });
    const ja = await join(a, room, { again: true });
    assert.deepEqual(ja.peers.map((p) => p.peer), [b.peer]);
    const pj = await b.next('peer-joined');
    assert.equal(pj.peer, a.peer);
    assert.deepEqual(pj.metadata, { again: true });
  });

  test('a peer can be in several rooms and events are per room', async () => {
    const r1 = uniqueRoom();
    const r2 = uniqueRoom();
    const a = await connectPeer(server());
    const b = await connectPeer(server());
    await join(a, r1);
    await join(a, r2);
    await join(b, r1);
    const pj = await a.next('peer-joined');
    assert.equal(pj.room, r1);
    b.send({ type: 'message', room: r1, data: 'hi' });
    const m = await a.next('message');
    assert.equal(m.room, r1);
    await a.request({ type: 'update', room: r2, metadata: { x: 1 } });
    await b.barrier();
    assert.equal(b.pending('peer-updated').length, 0, 'b is not in r2');
  });
});

describe('room cap (--max-room-peers 2)', () => {
  let srv;
  before(async () => { srv = await startServer({ args: ['--max-room-peers', '2'] }); });
  after(async () => { closeAllClients(); await srv.shutdown(); });

  test('third join → room-full; after a leave there is room again', async () => {
    const room = uniqueRoom();
    const [a, b] = await peersInRoom(srv, 2, room);
    const c = await connectPeer(srv);
    assertError(await c.request({ type: 'join', room, id: 'full' }), 'room-full', 'full');
    await a.barrier();
    assert.equal(a.pending('peer-joined').length, 0, 'a rejected join is not announced');
    await b.request({ type: 'leave', room });
    const jc = await join(c, room);
    assert.deepEqual(jc.peers.map((p) => p.peer), [a.peer]);
    // another room is not affected by this one being full
    const d = await connectPeer(srv);
    await join(d, uniqueRoom());
  });
});
