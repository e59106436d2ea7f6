// Floods: WebSocket pings, a million-frame flood from one client (and from
// several at once), a byte flood, and slow readers. Each runs while honest peers
// relay a numbered stream; the server's memory must stay bounded during the
// attack and come back afterwards.
import assert from 'node:assert/strict';
import test from 'node:test';
import { Client, assertError, connectPeer, join, peersInRoom, serverFixture, uniqueRoom } from '../integration/lib/harness.mjs';
import { flood } from './lib/attack.mjs';
import { underAttack, waitUntil } from './lib/honest.mjs';

// Defaults from docs (limits): 200 frames/s burst 1000, 1 MiB/s burst 4 MiB, the
// 100th rate-limited frame within 10 s closes 4429, 4 MiB send queue.
const BURST = 1000;
const RATE = 200;
const CLOSE_AFTER = 100;
const server = serverFixture();

test('ping flood: 20,000 WebSocket pings are answered and the server keeps serving', async (t) => {
  await underAttack(server(), async () => {
    const c = await connectPeer(server(), { name: 'ping-flooder' });
    let pongs = 0;
    c.ws.on('pong', () => { pongs += 1; });
    const payload = Buffer.alloc(125, 0x70);
    const r = await flood(c, () => { c.ws.ping(payload); }, { max: 20000, timeoutMs: 10000 });
    assert.equal(r.sent, 20000);
    await c.barrier({ timeout: 10000 });  // the connection still works, after every ping before it
    assert.ok(c.isOpen, `closed: ${JSON.stringify(c.closeInfo)}`);
    assert.ok(pongs > 0, 'no pong at all');
    c.terminate();
    await c.closed();
  }, { peakMiB: 16, t });
});

test('ping flood from a client that never reads: the server stops reading it, memory stays bounded', async (t) => {
  await underAttack(server(), async () => {
    const c = await connectPeer(server(), { name: 'ping-flooder-deaf' });
    c.ws._socket.pause();
    const payload = Buffer.alloc(125, 0x70);
    const r = await flood(c, () => { c.ws.ping(payload); }, { max: 200000, timeoutMs: 8000, stopOnStall: true });
    assert.ok(r.stalled || r.sent === 200000, `flood: ${JSON.stringify(r)}`);
    c.terminate();
    await c.closed();
  }, { peakMiB: 16, t });
});

test('million-frame flood from one client → rate-limited, then close 4429 quickly; fan-out bounded by the limit', async (t) => {
  await underAttack(server(), async () => {
    const room = uniqueRoom('flood');
    const [sink, flooder] = await peersInRoom(server(), 2, room);
    flooder.name = 'flooder';
    const frame = JSON.stringify({ type: 'message', room, data: { x: 'flood' } });
    const t0 = Date.now();
    const r = await flood(flooder, () => frame, { max: 1_000_000, timeoutMs: 10000 });
    const { code } = await flooder.closed({ timeout: 5000 });
    const elapsed = (flooder.closedAt - t0) / 1000;
    assert.equal(code, 4429);
    assert.ok(r.sent < 1_000_000, 'the flood ran to a million frames without being stopped');
    assert.ok(elapsed < 3, `closed only after ${elapsed} s`);
    const limited = flooder.received({ type: 'error', code: 'rate-limited' });
    assert.equal(limited.length, CLOSE_AFTER, `rate-limited errors before the close: ${limited.length}`);
    for (const e of limited) {
      assertError(e, 'rate-limited');
      assert.ok(!('id' in e));
    }
    // What reached the sink is bounded by the bucket: burst + rate × time (+ slack).
    await sink.barrier();
    const got = sink.received('message').length;
    assert.ok(got <= BURST + RATE * elapsed + 50, `the sink got ${got} frames in ${elapsed} s`);
    assert.ok(got >= BURST - 50, `the sink got only ${got} frames: the burst was not honoured`);
    assert.ok(sink.received('message').every((m) => m.from === flooder.peer));
    const left = await sink.next({ type: 'peer-left', peer: flooder.peer });
    assert.equal(left.reason, 'disconnected');
    sink.terminate();
    await sink.closed();
    return { sent: r.sent, elapsed, got };
  }, { peakMiB: 32, t });
});

test('five clients flooding at once (two of them before hello) are all closed 4429', async (t) => {
  await underAttack(server(), async () => {
    const flooders = [];
    for (let i = 0; i < 3; i++) flooders.push(await connectPeer(server(), { name: `flooder-${i}` }));
    for (let i = 3; i < 5; i++) flooders.push(await Client.connect(server().wsUrl, { name: `flooder-anon-${i}` }));
    const frame = JSON.stringify({ type: 'ping' });
    const results = await Promise.all(flooders.map((f) => flood(f, () => frame, { max: 200000, timeoutMs: 10000 })));
    for (const [i, f] of flooders.entries()) {
      assert.equal((await f.closed({ timeout: 5000 })).code, 4429, `${f.name}: ${JSON.stringify(results[i])}`);
      assert.equal(f.received({ code: 'rate-limited' }).length, CLOSE_AFTER);
    }
  }, { peakMiB: 32, t });
});

test('byte flood (60 KB frames) → rate-limited, then close 4429', async (t) => {
  await underAttack(server(), async () => {
    const room = uniqueRoom('bytes');
    const [sink, flooder] = await peersInRoom(server(), 2, room);
    const frame = JSON.stringify({ type: 'message', room, to: sink.peer, data: 'b'.repeat(60000) });
    const t0 = Date.now();
    const r = await flood(flooder, () => frame, { max: 100000, timeoutMs: 10000, batch: 20, highWater: 4 << 20 });
    assert.equal((await flooder.closed({ timeout: 5000 })).code, 4429, JSON.stringify(r));
    const elapsed = (flooder.closedAt - t0) / 1000;
    assert.ok(flooder.received({ code: 'rate-limited' }).length >= 1);
    await sink.barrier();
    const bytes = sink.received('message').length * 60000;
    // 4 MiB burst + 1 MiB/s (+ one frame of slack)
    assert.ok(bytes <= 4 * 2 ** 20 + 2 ** 20 * elapsed + 60000, `the sink got ${bytes} bytes in ${elapsed} s`);
    sink.terminate();
    await sink.closed();
  }, { peakMiB: 32, t });
});

// A busy room: feeders broadcast 60 KB messages; `slow` is in the room but its
// socket is paused. Resolves once the server logged that it is closing `slow`
// as a slow reader (the event), or fails after the feeders' bounded budget.
async function fillSlowReader() {
  const room = uniqueRoom('busy');
  const feeders = await peersInRoom(server(), 4, room);
  const slow = await connectPeer(server(), { name: 'slow-reader' });
  await join(slow, room);
  for (const f of feeders) await f.next({ type: 'peer-joined', peer: slow.peer });
  slow.ws._socket.pause();
  const logged = server().waitForLine('stderr', new RegExp(`closing slow reader peer=${slow.peer}`), { timeout: 15000 });
  let closing = false;
  logged.then(() => { closing = true; }, () => {});
  const big = 'f'.repeat(60000);
  // Each feeder stays within its 4 MiB byte burst (60 frames); 4 feeders = 14 MB,
  // far more than the kernel buffers plus the 4 MiB queue.
  // Feeders 0-2 send it data directly, feeder 3 broadcasts to the room.
  await Promise.all(feeders.map((f, k) => flood(f, (i) => (closing ? undefined
    : JSON.stringify({ type: 'message', room, ...(k < 3 ? { to: slow.peer } : {}), data: { k, i, big } })),
    { max: 60, batch: 4, timeoutMs: 10000, highWater: 2 << 20 })));
  await logged;
  // Once the server gives up on the slow reader, relays to it are refused
  // (peer-not-found) rather than acked and dropped; nothing else may fail.
  for (const f of feeders) {
    const errors = f.received('error');
    assert.ok(errors.every((e) => e.code === 'peer-not-found'), `${f.name}: ${JSON.stringify(errors)}`);
  }
  return { room, feeders, slow };
}

test('slow reader in a busy room: the server closes it with 1008 once its queue is full; memory bounded', async (t) => {
  await underAttack(server(), async () => {
    const { feeders, slow } = await fillSlowReader();
    // The server has given up on it; once it reads again it gets what was
    // queued before, in order, then the close.
    slow.ws._socket.resume();
    const { code, reason } = await slow.closed({ timeout: 10000 });
    assert.equal(code, 1008);
    assert.match(reason, /queue/);
    slow.assertSeq();
    const got = slow.received('message');
    for (let k = 0; k < feeders.length; k++) {
      const is = got.filter((m) => m.data.k === k).map((m) => m.data.i);
      assert.deepEqual(is, is.map((_, j) => j), `feeder ${k}: frames to the slow reader lost or reordered before the close`);
    }
    for (const f of feeders) {
      assert.equal((await f.next({ type: 'peer-left', peer: slow.peer })).reason, 'disconnected');
      assert.ok(f.isOpen);
    }
    for (const f of feeders) f.terminate();
    await Promise.all(feeders.map((f) => f.closed()));
  }, { peakMiB: 24, t });
});

// Reported: a slow reader that never reads again is never disconnected: the
// session stays in its rooms and holds its socket (and its per-address slot).
test('a slow reader that never reads again is disconnected anyway (peers see peer-left)', async () => {
  const { feeders, slow } = await fillSlowReader();
  try {
    const left = await feeders[0].next({ type: 'peer-left', peer: slow.peer }, { timeout: 7000 });
    assert.equal(left.reason, 'disconnected');
  } finally {
    slow.terminate();
    for (const f of feeders) f.terminate();
    await waitUntil([slow, ...feeders], () => [slow, ...feeders].every((c) => c.closeInfo), { timeout: 5000 });
  }
});
