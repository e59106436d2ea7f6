// The admin API in cluster mode: three real nodes on a real Redis, each asked
// in turn. Whichever node is asked answers for the whole cluster (rooms, peer
// counts, members held by other nodes), a kick or close reaches a member held
// by another node exactly as on one node, a server message reaches members on
// every node, the room and peer gauges count the cluster, and with Redis gone
// the API says 503 (and comes back with it). Every response is validated
// against docs/openapi.yaml.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { closeAllClients, connectPeer, join, rawGet, uniqueRoom } from './lib/harness.mjs';
import { startCluster, waitReady } from './lib/cluster.mjs';
import { adminClient } from './lib/openapi.mjs';
import { startReceiver } from './lib/webhook-receiver.mjs';

const KEY = 'cluster-admin-key-0123456789';
const NODE_ARGS = ['--node-heartbeat-ms', '200', '--node-ttl-ms', '1000', '--resume-window-s', '5', '--threads', '2',
  '--admin-key', KEY];
let cluster;
let nodes = [];
let rx;  // every node sends its webhooks here
const api = (i) => adminClient(nodes[i], KEY);

before(async () => {
  rx = await startReceiver();
  cluster = await startCluster({ nodes: 3, args: [...NODE_ARGS, '--webhook-url', rx.url, '--webhook-secret', 'cluster-hook-secret', '--webhook-retry-ms', '50'] });
  ({ nodes } = cluster);
});

after(async () => {
  closeAllClients();
  await cluster?.stop();
  await rx?.close();
});

// One peer per node in `room`, each earlier one told of the later ones.
async function spread(room) {
  const peers = [];
  for (let i = 0; i < nodes.length; i++) {
    const p = await connectPeer(nodes[i], { name: `p${i}@${nodes[i].nodeId}`, claims: { sub: `user-${i}` } });
    await join(p, room);
    for (const q of peers) await q.next({ type: 'peer-joined', room, peer: p.peer });
    peers.push(p);
  }
  return peers;
}

// Polls `fn` (async, returns truthy when done) every 50 ms, at most `timeout` ms.
async function until(fn, what, timeout = 10000) {
  const deadline = Date.now() + timeout;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((res) => { setTimeout(res, 50); });
  }
}

test('every node lists every room with its cluster-wide peer count, and the peers in join order', async () => {
  const room = uniqueRoom('c-list');
  const peers = await spread(room);
  for (let i = 0; i < nodes.length; i++) {
    const list = await api(i).get('/v1/rooms');
    assert.equal(list.status, 200);
    const r = list.body.rooms.find((x) => x.name === room);
    assert.ok(r, `${nodes[i].nodeId} lists ${room}: ${JSON.stringify(list.body)}`);
    assert.equal(r.peers, 3);
    assert.equal(r.kind, 'meeting');
    const names = list.body.rooms.map((x) => x.name);
    assert.deepEqual(names, [...names].sort(), 'sorted by name');
    const one = await api(i).get(`/v1/rooms/${room}`);
    assert.deepEqual(one.body, r);
    const members = await api(i).get(`/v1/rooms/${room}/peers`);
    assert.equal(members.status, 200);
    assert.deepEqual(members.body.peers.map((p) => p.peer), peers.map((p) => p.peer), 'join order');
    assert.deepEqual(members.body.peers.map((p) => p.user), ['user-0', 'user-1', 'user-2']);
  }
  assert.equal((await api(1).get(`/v1/rooms/${uniqueRoom('none')}`)).status, 404);
  assert.equal((await api(2).get(`/v1/rooms/${uniqueRoom('none')}/peers`)).status, 404);
});

test('a kick asked of one node removes a peer held by another: kicked to it, peer-left to the others', async () => {
  const room = uniqueRoom('c-kick');
  const [a, b, c] = await spread(room);
  const r = await api(0).delete(`/v1/rooms/${room}/peers/${c.peer}`, { reason: 'be nice' });
  assert.equal(r.status, 204);
  const kicked = await c.next('kicked');
  assert.deepEqual({ room: kicked.room, reason: kicked.reason }, { room, reason: 'be nice' });
  for (const p of [a, b]) {
    const left = await p.next({ type: 'peer-left', peer: c.peer });
    assert.equal(left.reason, 'kicked');
  }
  // It is out of the room: its relays are refused, the others' to it too, and no node lists it.
  assert.equal((await c.request({ type: 'message', room, data: 'x' })).code, 'not-in-room');
  assert.equal((await a.request({ type: 'message', room, to: c.peer, data: 'x' })).code, 'peer-not-found');
  for (let i = 0; i < nodes.length; i++) {
    const members = await api(i).get(`/v1/rooms/${room}/peers`);
    assert.deepEqual(members.body.peers.map((p) => p.peer), [a.peer, b.peer]);
  }
  // Its session lives on: it may join again and is announced as new.
  await join(c, room);
  await a.next({ type: 'peer-joined', peer: c.peer });
  assert.equal((await api(1).delete(`/v1/rooms/${room}/peers/nobody`)).status, 404);
  assert.equal((await api(1).delete(`/v1/rooms/${uniqueRoom('none')}/peers/${a.peer}`)).status, 404);
});

test('a server message reaches every member on every node, or the one peer named', async () => {
  const room = uniqueRoom('c-msg');
  const peers = await spread(room);
  const all = await api(1).post(`/v1/rooms/${room}/messages`, { data: { notice: 'all' } });
  assert.deepEqual(all.body, { recipients: 3 });
  for (const p of peers) {
    const m = await p.next('message');
    assert.deepEqual({ from: m.from, room: m.room, data: m.data }, { from: 'server', room, data: { notice: 'all' } });
  }
  const one = await api(2).post(`/v1/rooms/${room}/messages`, { to: peers[0].peer, data: 'just you' });
  assert.deepEqual(one.body, { recipients: 1 });
  assert.equal((await peers[0].next('message')).data, 'just you');
  // The others got nothing more: a barrier on each, then no second message.
  for (const p of peers.slice(1)) {
    await p.barrier();
    assert.equal(p.received('message').length, 1, p.history());
  }
  assert.equal((await api(0).post(`/v1/rooms/${room}/messages`, { to: 'nobody', data: 1 })).status, 404);
  assert.equal((await api(0).post(`/v1/rooms/${uniqueRoom('none')}/messages`, { data: 1 })).status, 404);
});

test('a closed room is gone on every node; each member gets room-closed and no peer-left', async () => {
  const room = uniqueRoom('c-close');
  const peers = await spread(room);
  assert.equal((await api(2).delete(`/v1/rooms/${room}`)).status, 204);
  for (const p of peers) assert.equal((await p.next('room-closed')).room, room);
  for (let i = 0; i < nodes.length; i++) assert.equal((await api(i).get(`/v1/rooms/${room}`)).status, 404);
  for (const p of peers) {
    await p.barrier();
    assert.deepEqual(p.received((m) => m.type === 'peer-left'), [], p.history());
    assert.equal((await p.request({ type: 'message', room, data: 'x' })).code, 'not-in-room');
  }
  assert.equal((await api(0).delete(`/v1/rooms/${room}`)).status, 404);
});

test('a room made ahead on one node is joined through another with its settings; metadata set anywhere', async () => {
  const room = uniqueRoom('c-made');
  const made = await api(0).post('/v1/rooms', { name: room, kind: 'meeting', max_peers: 2, metadata: { topic: 'x' } });
  assert.equal(made.status, 201);
  assert.equal(made.body.persistent, true);
  assert.equal((await api(1).post('/v1/rooms', { name: room })).status, 409);
  const a = await connectPeer(nodes[1], { name: 'made-a' });
  const b = await connectPeer(nodes[2], { name: 'made-b' });
  const c = await connectPeer(nodes[0], { name: 'made-c' });
  await join(a, room);
  await join(b, room);
  assert.equal((await c.request({ type: 'join', room })).code, 'room-full', 'max_peers 2 holds across nodes');
  const patched = await api(2).patch(`/v1/rooms/${room}`, { metadata: { topic: 'y' } });
  assert.deepEqual(patched.body.metadata, { topic: 'y' });
  assert.deepEqual((await api(0).get(`/v1/rooms/${room}`)).body.metadata, { topic: 'y' });
  assert.equal((await api(1).patch(`/v1/rooms/${uniqueRoom('none')}`, { metadata: {} })).status, 404);
  // Persistent: it stays when its last member leaves.
  await a.close(1000);
  await b.close(1000);
  const left = await until(async () => {
    const r = await api(1).get(`/v1/rooms/${room}`);
    return r.body.peers === 0 && r;
  }, 'the members gone');
  assert.equal(left.status, 200);
  assert.equal((await api(0).delete(`/v1/rooms/${room}`)).status, 204);
});

test('webhooks of operators\' changes come once, from the node asked: room_started, peer_left, room_finished', async () => {
  const room = uniqueRoom('c-hooks');
  const forRoom = (event, extra = () => true) => (d) => d.body?.room?.name === room && d.body.event === event && extra(d);
  assert.equal((await api(0).post('/v1/rooms', { name: room, metadata: { plan: 'pro' } })).status, 201);
  assert.deepEqual((await rx.next(forRoom('room_started'))).body.room.metadata, { plan: 'pro' });
  const [a, b, c] = await spread(room);
  assert.equal((await api(1).delete(`/v1/rooms/${room}/peers/${c.peer}`)).status, 204);
  assert.equal((await rx.next(forRoom('peer_left', (d) => d.body.peer.peer === c.peer))).body.reason, 'kicked');
  assert.equal((await api(2).delete(`/v1/rooms/${room}`)).status, 204);
  for (const p of [a, b]) {
    await p.next('room-closed');
    assert.equal((await rx.next(forRoom('peer_left', (d) => d.body.peer.peer === p.peer))).body.reason, 'room-closed');
  }
  assert.equal((await rx.next(forRoom('room_finished'))).body.reason, 'closed');
  // Once each: no node reported the same change again (a last event through every node's queue first).
  const marker = uniqueRoom('c-hooks-end');
  assert.equal((await api(0).post('/v1/rooms', { name: marker })).status, 201);
  await rx.next((d) => d.body?.room?.name === marker && d.body.event === 'room_started');
  const count = (pred) => rx.deliveries.filter(pred).length;
  assert.equal(count(forRoom('peer_left')), 3);
  assert.equal(count(forRoom('room_finished')), 1);
  assert.equal(count(forRoom('room_started')), 1);
});

test('the room and peer gauges count the whole cluster on every node', async () => {
  const gauges = async (node) => {
    const text = (await rawGet(node, '/metrics')).body;
    const value = (name) => Number(text.match(new RegExp(`^${name} (\\d+)$`, 'm'))?.[1]);
    return { rooms: value('switchboard_rooms'), peers: value('switchboard_room_peers') };
  };
  const list = async () => (await api(0).get('/v1/rooms')).body.rooms;
  const room = uniqueRoom('c-gauge');
  await spread(room);
  // Every node says what Redis holds (refreshed every second).
  await until(async () => {
    const rooms = await list();
    const want = { rooms: rooms.length, peers: rooms.reduce((n, r) => n + r.peers, 0) };
    const seen = await Promise.all(nodes.map(gauges));
    return rooms.some((r) => r.name === room) && seen.every((g) => g.rooms === want.rooms && g.peers === want.peers);
  }, 'gauges equal to the listing on every node');
});

test('with Redis gone the admin API answers 503 on every node; back, and empty, it shows the rooms as they were', async () => {
  // A room held by nodes 1 and 2 whose metadata an operator set through node 0 (which holds none of it).
  const room = uniqueRoom('c-outage');
  const a = await connectPeer(nodes[1], { name: 'outage-a' });
  const b = await connectPeer(nodes[2], { name: 'outage-b' });
  await join(a, room);
  await join(b, room);
  assert.equal((await api(0).patch(`/v1/rooms/${room}`, { metadata: { topic: 'kept' } })).status, 200);
  await cluster.redis.kill();
  for (let i = 0; i < nodes.length; i++) {
    const r = await api(i).get('/v1/rooms');
    assert.equal(r.status, 503, JSON.stringify(r.body));
    assert.equal(r.body.error.code, 'unavailable');
  }
  await cluster.redis.restart();
  for (const n of nodes) await waitReady(n, true, { timeout: 20000 });
  assert.equal((await api(1).get('/v1/rooms')).status, 200);
  // Redis came back empty: the nodes put the room back as they knew it, the operator's metadata included.
  const back = await api(0).get(`/v1/rooms/${room}`);
  assert.equal(back.status, 200, JSON.stringify(back.body));
  assert.deepEqual(back.body.metadata, { topic: 'kept' });
  assert.equal(back.body.peers, 2);
});
