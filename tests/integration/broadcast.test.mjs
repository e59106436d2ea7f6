// Room kinds against the real server: broadcast rooms created from the token's
// room_config, from a named-room entry in a TOML file, and by the admin API;
// viewers see and signal only publishers; the kind and cap cannot be changed by
// a later joiner; broadcast rooms have their own cap.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import WebSocket from 'ws';
import { Switchboard } from '../../web/sdk/switchboard.js';
import { assertError, connectPeer, join, serverFixture, uniqueRoom } from './lib/harness.mjs';
import { hsToken } from './lib/jwt.mjs';
import { tmpDir } from './lib/server.mjs';

const KEY = 'broadcast-test-admin-key-0123456789';
const configFile = path.join(tmpDir('switchboard-broadcast-'), 'switchboard.toml');
fs.writeFileSync(configFile, `
[limits]
max_room_peers = 3
max_broadcast_peers = 4

[rooms.town-hall]
kind = "broadcast"

[rooms."stage-*"]
kind = "broadcast"
max_peers = 2
`);
const server = serverFixture({ args: ['--threads', '2', '--config', configFile, '--admin-key', KEY] });

const BROADCAST = { kind: 'broadcast' };
const publisher = (roomConfig) => connectPeer(server(), { claims: roomConfig ? { room_config: roomConfig } : {} });
const viewer = (roomConfig) => connectPeer(server(), {
  claims: { grants: { rooms: ['*'], publish: false }, ...(roomConfig ? { room_config: roomConfig } : {}) },
});

// A publisher p (creating the room from its token) and two viewers v1, v2, joined in that order;
// p has consumed the viewers' peer-joined.
async function stage() {
  const room = uniqueRoom('live');
  const p = await publisher(BROADCAST);
  const jp = await join(p, room);
  const v1 = await viewer();
  const j1 = await join(v1, room);
  await p.next({ type: 'peer-joined', peer: v1.peer });
  const v2 = await viewer();
  const j2 = await join(v2, room);
  await p.next({ type: 'peer-joined', peer: v2.peer });
  return { room, p, v1, v2, jp, j1, j2 };
}

describe('broadcast rooms from the token room_config', () => {
  test('joined says kind and role; viewers see only publishers, publishers see everyone', async () => {
    const { room, p, v1, v2, jp, j1, j2 } = await stage();
    assert.equal(jp.kind, 'broadcast');
    assert.equal(jp.publisher, true);
    assert.deepEqual(jp.peers, []);
    for (const j of [j1, j2]) {
      assert.equal(j.kind, 'broadcast');
      assert.equal(j.publisher, false);
      assert.deepEqual(j.peers.map((x) => [x.peer, x.publisher]), [[p.peer, true]], 'only the publisher is listed');
    }
    await v1.barrier();
    assert.equal(v1.pending('peer-joined').length, 0, 'a viewer is not told about another viewer');

    // a second publisher sees both viewers and is announced to everyone
    const p2 = await publisher();
    const jp2 = await join(p2, room);
    assert.deepEqual(jp2.peers.map((x) => [x.peer, x.publisher]).sort(),
      [[p.peer, true], [v1.peer, false], [v2.peer, false]].sort());
    for (const c of [p, v1, v2]) {
      const pj = await c.next({ type: 'peer-joined', peer: p2.peer });
      assert.equal(pj.publisher, true);
    }
  });

  test('viewer updates and leaves reach only the publishers', async () => {
    const { room, p, v1, v2 } = await stage();
    assert.equal((await v1.request({ type: 'update', room, metadata: { hand: 'up' } })).type, 'ack');
    const pu = await p.next({ type: 'peer-updated', peer: v1.peer });
    assert.equal(pu.publisher, false);
    assert.deepEqual(pu.metadata, { hand: 'up' });
    assert.equal((await v1.request({ type: 'leave', room })).type, 'ack');
    await p.next({ type: 'peer-left', peer: v1.peer, reason: 'left' });
    v2.ws.close();
    await p.next({ type: 'peer-left', peer: v2.peer, reason: 'disconnected' });
    await v2.closed();
    // v2 was in the room with v1 all along and heard nothing of it
    assert.equal(v2.pending((m) => m && m.peer === v1.peer).length, 0);
  });

  test('publisher ↔ viewer signalling works; viewer → viewer is forbidden', async () => {
    const { room, p, v1, v2 } = await stage();
    assert.equal((await p.request({ type: 'offer', room, to: v1.peer, data: { sdp: 'o' } })).type, 'ack');
    await v1.next({ type: 'offer', from: p.peer });
    assert.equal((await v1.request({ type: 'answer', room, to: p.peer, data: { sdp: 'a' } })).type, 'ack');
    await p.next({ type: 'answer', from: v1.peer });
    assert.equal((await v1.request({ type: 'ice-candidate', room, to: p.peer, data: null })).type, 'ack');
    await p.next({ type: 'ice-candidate', from: v1.peer });
    for (const type of ['answer', 'ice-candidate', 'message']) {
      const r = await v1.request({ type, room, to: v2.peer, data: 1, id: `vv-${type}` });
      assertError(r, 'forbidden', `vv-${type}`);
      assert.equal(r.message, 'broadcast room: a viewer may signal only publishers');
    }
    const offer = await v1.request({ type: 'offer', room, to: p.peer, data: 1, id: 'vo' });
    assertError(offer, 'forbidden', 'vo');
    assert.equal(offer.message, 'missing grant: publish', 'a viewer is a peer without publish');
    await v2.barrier();
    assert.equal(v2.pending((m) => m && m.from === v1.peer).length, 0);
  });

  test('room-wide messages: a viewer reaches the publishers only, a publisher reaches everyone', async () => {
    const { room, p, v1, v2 } = await stage();
    assert.equal((await v1.request({ type: 'message', room, data: 'question' })).type, 'ack');
    await p.next({ type: 'message', from: v1.peer, data: 'question' });
    assert.equal((await p.request({ type: 'message', room, data: 'answer' })).type, 'ack');
    await v1.next({ type: 'message', from: p.peer, data: 'answer' });
    await v2.next({ type: 'message', from: p.peer, data: 'answer' });
    assert.equal(v2.pending({ type: 'message', from: v1.peer }).length, 0, 'checked after p\'s later message arrived');
  });
});

describe('the kind is fixed when the room is created', () => {
  test('a later joiner\'s room_config cannot turn a meeting into a broadcast room', async () => {
    const room = uniqueRoom('meet');
    const a = await publisher();
    assert.equal((await join(a, room)).kind, 'meeting');
    const b = await viewer({ kind: 'broadcast', max_peers: 1 });
    const jb = await join(b, room);
    assert.equal(jb.kind, 'meeting');
    assert.ok(!('publisher' in jb), 'meeting rooms carry no publisher flag');
    assert.deepEqual(Object.keys(jb.peers[0]).sort(), ['metadata', 'peer', 'user']);
    const c = await viewer();
    await join(c, room);  // b's max_peers: 1 was ignored
    assert.equal((await c.request({ type: 'answer', room, to: b.peer, data: 1 })).type, 'ack',
      'in a meeting, peers without publish still talk to each other');
  });

  test('nor a broadcast room into a meeting', async () => {
    const { room, v1 } = await stage();
    const v3 = await viewer({ kind: 'meeting' });
    const j = await join(v3, room);
    assert.equal(j.kind, 'broadcast');
    assert.equal(j.peers.length, 1);
    assertError(await v3.request({ type: 'message', room, to: v1.peer, data: 1 }), 'forbidden');
  });

  test('an invalid room_config is a bad-request naming the problem, and creates nothing', async () => {
    const c = await viewer({ kind: 'webinar' });
    const r = await c.request({ type: 'join', room: uniqueRoom(), id: 'bad' });
    assertError(r, 'bad-request', 'bad');
    assert.equal(r.message, 'invalid token claim: room_config.kind must be "meeting" or "broadcast"');
    const d = await viewer({ max_peers: 0 });
    assert.match((await d.request({ type: 'join', room: uniqueRoom() })).message, /room_config\.max_peers/);
  });
});

describe('named rooms from the configuration file', () => {
  test('[rooms.town-hall] makes a broadcast room whatever the token asks', async () => {
    const p = await publisher({ kind: 'meeting' });
    const jp = await join(p, 'town-hall');
    assert.equal(jp.kind, 'broadcast');
    const v = await viewer();
    const jv = await join(v, 'town-hall');
    assert.equal(jv.publisher, false);
    assert.deepEqual(jv.peers.map((x) => x.peer), [p.peer]);
    await p.next({ type: 'peer-joined', peer: v.peer, publisher: false });
  });

  test('[rooms."stage-*"] applies to every matching room, with its own max_peers', async () => {
    const room = uniqueRoom('stage');
    const [a, b, c] = [await viewer(), await viewer(), await viewer()];
    assert.equal((await join(a, room)).kind, 'broadcast');
    await join(b, room);
    assertError(await c.request({ type: 'join', room }), 'room-full');
    assert.equal((await join(c, uniqueRoom('other'))).kind, 'meeting');
  });
});

describe('caps', () => {
  test('broadcast rooms have their own cap (4 here), meeting rooms keep theirs (3 here)', async () => {
    const live = uniqueRoom('big');
    const meet = uniqueRoom('small');
    const peers = [];
    for (let i = 0; i < 5; i++) peers.push(await publisher(BROADCAST));
    for (let i = 0; i < 4; i++) await join(peers[i], live);
    const full = await peers[4].request({ type: 'join', room: live, id: 'f' });
    assertError(full, 'room-full', 'f');
    assert.equal(full.message, 'room is full (4 peers)');
    const plain = [];
    for (let i = 0; i < 4; i++) plain.push(await publisher());
    for (let i = 0; i < 3; i++) await join(plain[i], meet);
    assertError(await plain[3].request({ type: 'join', room: meet }), 'room-full');
  });

  test('a token\'s max_peers above the server cap is lowered to it', async () => {
    const room = uniqueRoom('wish');
    const peers = [];
    for (let i = 0; i < 5; i++) peers.push(await publisher({ kind: 'broadcast', max_peers: 100000 }));
    for (let i = 0; i < 4; i++) await join(peers[i], room);
    assertError(await peers[4].request({ type: 'join', room }), 'room-full');
  });
});

describe('admin API', () => {
  test('a room created from a token room_config shows its kind, cap and metadata', async () => {
    const room = uniqueRoom('shown');
    const p = await publisher({ kind: 'broadcast', max_peers: 3, metadata: { title: 'Launch' } });
    await join(p, room);
    const res = await fetch(`${server().httpUrl}/v1/rooms/${room}`, { headers: { authorization: `Bearer ${KEY}` } });
    assert.equal(res.status, 200);
    const body = await res.json();
    assert.equal(body.kind, 'broadcast');
    assert.equal(body.max_peers, 3);
    assert.deepEqual(body.metadata, { title: 'Launch' });
  });

  test('POST /v1/rooms with kind broadcast pre-creates a broadcast room', async () => {
    const room = uniqueRoom('pre');
    const res = await fetch(`${server().httpUrl}/v1/rooms`, {
      method: 'POST',
      headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: room, kind: 'broadcast' }),
    });
    assert.equal(res.status, 201);
    const body = await res.json();
    assert.equal(body.kind, 'broadcast');
    assert.equal(body.max_peers, 4, 'the broadcast cap');
    const v = await viewer({ kind: 'meeting' });
    const j = await join(v, room);
    assert.equal(j.kind, 'broadcast');
    assert.equal(j.publisher, false);
  });
});

describe('SDK', () => {
  test('the JS client exposes the room kind, its own role and each peer\'s publisher flag', async () => {
    const sdk = (claims) => new Switchboard({
      url: server().wsUrl, WebSocket, reconnect: false, token: hsToken(server().secret, claims),
    });
    const room = uniqueRoom('sdk');
    const pub = sdk({ sub: 'sdk-pub', room_config: BROADCAST });
    const view = sdk({ sub: 'sdk-view', grants: { rooms: ['*'], publish: false } });
    try {
      await pub.connect();
      await view.connect();
      const jp = await pub.join(room);
      assert.equal(jp.kind, 'broadcast');
      assert.equal(pub.roomKind(room), 'broadcast');
      assert.equal(pub.isPublisher(room), true);
      const joinedEvent = new Promise((resolve) => { const off = pub.on('peer-joined', (d) => { off(); resolve(d); }); });
      await view.join(room);
      assert.equal(view.isPublisher(room), false);
      assert.deepEqual(view.peers(room).map((x) => [x.user, x.publisher]), [['sdk-pub', true]]);
      const pj = await joinedEvent;
      assert.equal(pj.user, 'sdk-view');
      assert.equal(pj.publisher, false);
      assert.equal(pub.peers(room)[0].publisher, false);
      const meet = uniqueRoom('sdk-meet');
      await view.join(meet);
      assert.equal(view.roomKind(meet), 'meeting');
      assert.equal(view.isPublisher(meet), true);
    } finally {
      pub.close();
      view.close();
    }
  });
});
