// Cluster mode: three real nodes sharing a real Redis. Peers of one room on
// different nodes see what they would see on one node: the same membership
// events, relays in order per sender, the same errors; a lost node's peers
// leave with reason node-lost; a Redis outage stops joins (unavailable) and
// /readyz, not the relays among one node's own peers, and the cluster comes
// back as it was when Redis returns empty.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { closeAllClients, connectPeer, join, rawGet, uniqueRoom } from './lib/harness.mjs';
import { startCluster, startNode, waitReady } from './lib/cluster.mjs';
import { startHaproxy } from './lib/loadbalancer.mjs';

const NODE_ARGS = ['--node-heartbeat-ms', '200', '--node-ttl-ms', '1000', '--resume-window-s', '1', '--threads', '2',
  '--max-room-peers', '4'];
let cluster;
let redis;
let nodes = [];

before(async () => {
  cluster = await startCluster({ nodes: 3, args: NODE_ARGS });
  ({ redis, nodes } = cluster);
});

after(async () => {
  closeAllClients();
  await cluster?.stop();
});

// One peer per node, all in one room; each earlier peer saw the later ones join.
async function spread(room, count = 3) {
  const peers = [];
  for (let i = 0; i < count; i++) {
    const p = await connectPeer(nodes[i % nodes.length], { name: `p${i}@n${(i % nodes.length) + 1}` });
    const joined = await join(p, room);
    assert.deepEqual(joined.peers.map((x) => x.peer), peers.map((q) => q.peer),
      `p${i} sees the earlier members in join order`);
    for (const q of peers) await q.next({ type: 'peer-joined', room, peer: p.peer });
    peers.push(p);
  }
  return peers;
}

test('behind HAProxy (deploy/haproxy.cfg): peers land on every node and meet in one room', async () => {
  const lb = await startHaproxy({ backends: nodes.map((n) => ({ host: n.host, port: n.port })), tls: false });
  try {
    const room = uniqueRoom('lb');
    const peers = [];
    for (let i = 0; i < 3; i++) {
      const p = await connectPeer(nodes[0], { url: lb.wsUrl, name: `lb${i}` });
      const joined = await join(p, room);
      assert.deepEqual(joined.peers.map((x) => x.peer), peers.map((q) => q.peer));
      for (const q of peers) await q.next({ type: 'peer-joined', room, peer: p.peer });
      peers.push(p);
    }
    // Round robin: the three peer ids carry three different node tags (digits 13-16).
    assert.equal(new Set(peers.map((p) => p.peer.slice(12, 16))).size, 3, 'one peer per node');
    for (const from of peers)
      for (const to of peers) {
        if (from === to) continue;
        assert.equal((await from.request({ type: 'offer', room, to: to.peer, data: { sdp: from.name } })).type, 'ack');
        assert.deepEqual((await to.next({ type: 'offer', room, from: from.peer })).data, { sdp: from.name });
      }
  } finally {
    await lb.stop();
  }
});

test('peers on three nodes: joined lists, peer-joined, offer/answer/candidate relay with acks', async () => {
  const room = uniqueRoom('cl');
  const [a, b, c] = await spread(room);
  const offer = await a.request({ type: 'offer', room, to: c.peer, data: { sdp: 'v=0 offer' } });
  assert.equal(offer.type, 'ack');
  const got = await c.next({ type: 'offer', room, from: a.peer });
  assert.deepEqual(got.data, { sdp: 'v=0 offer' });
  assert.equal((await c.request({ type: 'answer', room, to: a.peer, data: { sdp: 'v=0 answer' } })).type, 'ack');
  assert.deepEqual((await a.next({ type: 'answer', room, from: c.peer })).data, { sdp: 'v=0 answer' });
  assert.equal((await b.request({ type: 'ice-candidate', room, to: a.peer, data: { candidate: 'x' } })).type, 'ack');
  assert.deepEqual((await a.next({ type: 'ice-candidate', room, from: b.peer })).data, { candidate: 'x' });
});

test('order per sender holds across nodes, unicast and room-wide, each frame exactly once', async () => {
  const room = uniqueRoom('order');
  const [a, b, c] = await spread(room);
  const N = 60;
  for (let n = 0; n < N; n++) {
    // Interleaved: unicast to b, room-wide to everyone; no waiting in between.
    a.send({ type: 'message', room, to: b.peer, data: { n, kind: 'u' } });
    a.send({ type: 'message', room, data: { n, kind: 'r' } });
  }
  await a.barrier();
  const seen = async (client, filter, count) => {
    const out = [];
    while (out.length < count) out.push(await client.next((m) => m.type === 'message' && m.from === a.peer && filter(m)));
    return out.map((m) => `${m.data.kind}${m.data.n}`);
  };
  const want = [];
  for (let n = 0; n < N; n++) want.push(`u${n}`, `r${n}`);
  assert.deepEqual(await seen(b, () => true, 2 * N), want, 'b: unicast and room frames in send order');
  assert.deepEqual(await seen(c, () => true, N), want.filter((x) => x.startsWith('r')), 'c: room frames in order');
  await b.barrier();
  await c.barrier();
  assert.equal(b.frames.filter((f) => f.msg?.type === 'message').length, 2 * N, 'no duplicates at b');
  assert.equal(c.frames.filter((f) => f.msg?.type === 'message').length, N, 'no duplicates at c');
  assert.equal(a.frames.filter((f) => f.msg?.type === 'message').length, 0, 'the sender gets no copy');
});

test('errors across nodes: room-full, already-joined, peer-not-found; update and leave are told', async () => {
  const room = uniqueRoom('err');
  const peers = await spread(room, 4); // the cap is 4 (--max-room-peers)
  const extra = await connectPeer(nodes[1]);
  const full = await extra.request({ type: 'join', room });
  assert.equal(full.type, 'error');
  assert.equal(full.code, 'room-full');
  const again = await peers[0].request({ type: 'join', room });
  assert.equal(again.code, 'already-joined');
  const ghost = await peers[0].request({ type: 'offer', room, to: '000000000000ffff00', data: {} });
  assert.equal(ghost.code, 'peer-not-found');
  const outsider = await extra.request({ type: 'message', room, to: peers[0].peer, data: {} });
  assert.equal(outsider.code, 'not-in-room');

  assert.equal((await peers[1].request({ type: 'update', room, metadata: { mic: false } })).type, 'ack');
  for (const p of [peers[0], peers[2], peers[3]])
    assert.deepEqual((await p.next({ type: 'peer-updated', room, peer: peers[1].peer })).metadata, { mic: false });

  assert.equal((await peers[2].request({ type: 'leave', room })).type, 'ack');
  for (const p of [peers[0], peers[1], peers[3]])
    await p.next({ type: 'peer-left', room, peer: peers[2].peer, reason: 'left' });
  // The place is free again, whichever node asks.
  await join(extra, room);
  // A relay to the peer that left is refused on every node.
  const gone = await peers[0].request({ type: 'message', room, to: peers[2].peer, data: {} });
  assert.equal(gone.code, 'peer-not-found');
});

test('a room-wide relay is published once, whatever the number of peers and nodes', async () => {
  const room = uniqueRoom('fan');
  // The sender on n1, two peers on n2, one on n3 (the cap is 4): one publication
  // on the room's channel carries it to both nodes, each delivers to its own peers.
  const a = await connectPeer(nodes[0]);
  await join(a, room);
  const others = [];
  for (const n of [nodes[1], nodes[1], nodes[2]]) {
    const p = await connectPeer(n);
    await join(p, room);
    others.push(p);
  }
  const publishes = async () => {
    const stats = await redis.cli('INFO', 'commandstats');
    return Number(/cmdstat_publish:calls=(\d+)/.exec(stats)?.[1] ?? 0);
  };
  const before = await publishes();
  a.send({ type: 'message', room, data: { hello: 'all' } });
  for (const p of others) await p.next({ type: 'message', room, from: a.peer });
  assert.equal(await publishes() - before, 1, 'one PUBLISH for three recipients on two other nodes');
});

test('SIGKILL of a node: the others see its peers leave with reason node-lost', async () => {
  const room = uniqueRoom('lost');
  const victim = await startNode({ redis, secret: cluster.secret, id: 'n4', args: NODE_ARGS });
  const a = await connectPeer(nodes[0]);
  await join(a, room);
  const b = await connectPeer(nodes[1]);
  await join(b, room);
  await a.next({ type: 'peer-joined', room, peer: b.peer });
  const v = await connectPeer(victim);
  await join(v, room);
  await a.next({ type: 'peer-joined', room, peer: v.peer });
  await b.next({ type: 'peer-joined', room, peer: v.peer });
  await victim.stop({ signal: 'SIGKILL' });
  // TTL 1 s, then the resume window (1 s) before the survivors reap it.
  await a.next({ type: 'peer-left', room, peer: v.peer, reason: 'node-lost' }, { timeout: 10000 });
  await b.next({ type: 'peer-left', room, peer: v.peer, reason: 'node-lost' }, { timeout: 10000 });
  const r = await a.request({ type: 'message', room, to: v.peer, data: {} });
  assert.equal(r.code, 'peer-not-found');
  assert.equal(await redis.cli('SISMEMBER', 'sb:nodes', 'n4'), '0');
});

test('a survivor that claimed a lost node and died before cleaning up is replaced by another', async () => {
  const cl = await startCluster({ nodes: 3, args: ['--node-heartbeat-ms', '200', '--node-ttl-ms', '1000',
    '--resume-window-s', '2', '--threads', '1'] });
  const down = [];
  try {
    const room = uniqueRoom('reaper');
    const peers = [];
    for (const n of cl.nodes) {
      const p = await connectPeer(n, { name: `r@${n.nodeId}` });
      await join(p, room);
      for (const q of peers) await q.next({ type: 'peer-joined', room, peer: p.peer });
      peers.push(p);
    }
    const [n1, n2, n3] = cl.nodes;
    const claimed = Promise.any([n2, n3].map((n) =>
      n.waitForLine('stderr', /node n1 lost \(no heartbeat\)/, { timeout: 15000 }).then(() => n)));
    down.push(n1);
    await n1.stop({ signal: 'SIGKILL' });
    const claimer = await claimed;
    // Within its 2 s grace period: it never cleans up after n1.
    down.push(claimer);
    await claimer.stop({ signal: 'SIGKILL' });
    const survivor = claimer === n2 ? n3 : n2;
    const s = peers[cl.nodes.indexOf(survivor)];
    // Once the dead claimer's claim expires, the survivor claims n1 (and the claimer) and reaps both.
    const gone = new Set();
    while (gone.size < 2) {
      const left = await s.next({ type: 'peer-left', room, reason: 'node-lost' }, { timeout: 20000 });
      gone.add(left.peer);
    }
    assert.deepEqual([...gone].sort(), [peers[0].peer, peers[cl.nodes.indexOf(claimer)].peer].sort());
    for (const id of [n1.nodeId, claimer.nodeId]) assert.equal(await cl.redis.cli('SISMEMBER', 'sb:nodes', id), '0');
  } finally {
    await cl.stop({ expectedDown: down });
  }
});

test('Redis outage: not ready, joins unavailable, local relays go on; then everything comes back', async () => {
  const room = uniqueRoom('outage');
  const a = await connectPeer(nodes[0]);
  await join(a, room);
  const a2 = await connectPeer(nodes[0]);
  await join(a2, room);
  await a.next({ type: 'peer-joined', room, peer: a2.peer });
  const b = await connectPeer(nodes[1]);
  await join(b, room);
  await a.next({ type: 'peer-joined', room, peer: b.peer });
  await a2.next({ type: 'peer-joined', room, peer: b.peer });

  const metrics = await rawGet(nodes[0], '/metrics');
  assert.match(metrics.body, /^switchboard_redis_rtt_seconds \d/m, 'Redis round trip measured');
  assert.match(metrics.body, /^switchboard_cluster_nodes 3$/m, 'three live nodes');
  await redis.kill();
  for (const n of nodes) await waitReady(n, false);
  // The node's own peers still reach each other.
  assert.equal((await a.request({ type: 'message', room, to: a2.peer, data: { during: 1 } })).type, 'ack');
  assert.deepEqual((await a2.next({ type: 'message', room, from: a.peer })).data, { during: 1 });
  // Joins need Redis.
  const late = await connectPeer(nodes[2]);
  const refused = await late.request({ type: 'join', room });
  assert.equal(refused.code, 'unavailable');

  await redis.restart(); // empty: the nodes put their members back
  for (const n of nodes) await waitReady(n, true);
  const joined = await join(late, room);
  assert.deepEqual(joined.peers.map((p) => p.peer).sort(), [a.peer, a2.peer, b.peer].sort(),
    'the restored room lists every member');
  for (const p of [a, a2, b]) await p.next({ type: 'peer-joined', room, peer: late.peer });
  // Cross-node relays work again, both ways.
  assert.equal((await b.request({ type: 'message', room, to: a.peer, data: { after: 1 } })).type, 'ack');
  assert.deepEqual((await a.next({ type: 'message', room, from: b.peer })).data, { after: 1 });
  assert.equal((await late.request({ type: 'offer', room, to: b.peer, data: { sdp: 'x' } })).type, 'ack');
  await b.next({ type: 'offer', room, from: late.peer });
  // Nobody was told that anyone left or joined again because of the outage.
  for (const p of [a, a2, b]) {
    await p.barrier();
    assert.equal(p.frames.filter((f) => f.msg?.type === 'peer-left').length, 0, `${p.name}: no peer-left`);
  }
});
