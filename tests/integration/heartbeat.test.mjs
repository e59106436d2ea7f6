// Heartbeat: server pings every heartbeat_s, close 4408 after 2 × heartbeat_s
// of silence (no frame, no pong). Run with --heartbeat-s 1 to stay fast.
import assert from 'node:assert/strict';
import test from 'node:test';
import { connectPeer, join, peersInRoom, serverFixture, uniqueRoom } from './lib/harness.mjs';

const HB = 1;
// A session dropped by a heartbeat timeout is kept for a resume first: a 1 s
// window makes its peer-left come soon after.
const server = serverFixture({ args: ['--heartbeat-s', String(HB), '--resume-window-s', '1'] });

test('welcome.heartbeat_s is the configured interval', async () => {
  const c = await connectPeer(server());
  assert.equal(c.welcome.heartbeat_s, HB);
});

test('the server sends WebSocket pings every heartbeat_s', async () => {
  const c = await connectPeer(server());
  const t0 = Date.now();
  await c.waitPings(3, { timeout: 3 * HB * 1000 + 3000 });
  const elapsed = Date.now() - t0;
  // three pings at a 1 s interval cannot all arrive within the first second
  assert.ok(elapsed >= 1500, `3 pings after ${elapsed} ms: interval too short`);
  assert.ok(c.isOpen);
});

test('a client that sends nothing and does not answer pings → close 4408 after 2 × heartbeat_s; live clients stay', async () => {
  const room = uniqueRoom();
  const [watcher] = await peersInRoom(server(), 1, room);
  const dead = await connectPeer(server(), { connect: { autoPong: false }, name: 'dead' });
  await join(dead, room);
  await watcher.next({ type: 'peer-joined', peer: dead.peer });

  // silent but answering pings (ws answers automatically)
  const ponger = await connectPeer(server(), { name: 'ponger' });
  // not answering pings, but sending an application frame twice per heartbeat
  // (this interval is the simulated client's behaviour, not a synchronisation)
  const talker = await connectPeer(server(), { connect: { autoPong: false }, name: 'talker' });
  const talk = setInterval(() => { if (talker.isOpen) talker.send({ type: 'ping' }); }, (HB * 1000) / 2);
  try {
    const { code } = await dead.closed({ timeout: 2 * HB * 1000 + 5000 });
    assert.equal(code, 4408);
    const silentFor = dead.closedAt - dead.lastSentAt;
    assert.ok(silentFor >= 2 * HB * 1000 - 500, `closed after only ${silentFor} ms of silence`);
    assert.ok(dead.pings >= 1, 'the dead client was pinged before being dropped');

    const left = await watcher.next({ type: 'peer-left', peer: dead.peer });
    assert.equal(left.reason, 'disconnected');

    // the live ones survive well past 2 × heartbeat_s
    // the ponger receives a ping every heartbeat_s: 4 of them span more than 2 × heartbeat_s
    await ponger.waitPings(4, { timeout: 8000 });
    assert.ok(talker.isOpen, `talker closed: ${JSON.stringify(talker.closeInfo)}`);
    await talker.barrier();
  } finally {
    clearInterval(talk); // also when an assertion above fails: a live interval would keep the test process up
  }
  assert.ok(ponger.isOpen, `ponger closed: ${JSON.stringify(ponger.closeInfo)}`);
  assert.ok(watcher.isOpen);
  assert.ok(Date.now() - talker.openedAt > 2 * HB * 1000 + 500);
});
