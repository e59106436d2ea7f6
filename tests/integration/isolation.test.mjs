// A misbehaving client never affects the others: while several clients flood
// the server with bad frames, two peers relay a numbered stream with no loss,
// in order.
import assert from 'node:assert/strict';
import test from 'node:test';
import { Client, connectPeer, join, peersInRoom, serverFixture, uniqueRoom } from './lib/harness.mjs';

// Rate limits off: the honest stream here is 2,000 frames as fast as the socket
// allows; rate limiting has tests of its own.
const server = serverFixture({ args: ['--max-msgs-per-s', '0'] });

test('bad-frame floods from other clients do not disturb a relayed stream', async () => {
  const room = uniqueRoom('stream');
  const [sender, receiver] = await peersInRoom(server(), 2, room);
  const N = 2000;

  // flooder 1: in the same room, sends bad requests until closed with 4400
  const f1 = await connectPeer(server(), { name: 'flood-bad-request' });
  await join(f1, room);
  // flooder 2: errors that never close (not-in-room, peer-not-found)
  const f2 = await connectPeer(server(), { name: 'flood-errors' });
  await join(f2, room);
  // flooder 3: binary frame → 4400;  flooder 4: oversize → 1009;  flooder 5: bad UTF-8 → 1007
  const f3 = await connectPeer(server(), { name: 'flood-binary' });
  const f4 = await connectPeer(server(), { name: 'flood-oversize' });
  const f5 = await connectPeer(server(), { name: 'flood-utf8' });
  // flooder 6: never says hello
  const f6 = await Client.connect(server().wsUrl, { name: 'flood-no-hello' });

  const streamDone = (async () => {
    for (let i = 0; i < N; i++) {
      sender.send({ type: 'message', room, to: receiver.peer, data: { n: i } });
      if (i % 200 === 199) await sender.barrier({ timeout: 10000 }); // keep the socket buffer bounded
    }
    const ack = await sender.request({ type: 'message', room, to: receiver.peer, data: { n: N }, id: 'last' }, { timeout: 10000 });
    assert.equal(ack.type, 'ack');
  })();

  const flood = (async () => {
    for (let i = 0; i < 200 && f1.isOpen; i++) f1.sendRaw(i % 2 ? '{garbage' : '{"type":"nope"}');
    for (let i = 0; i < 500; i++) {
      f2.send({ type: 'message', room: 'not-mine', data: i });
      f2.send({ type: 'offer', room, to: 'nobody', data: i });
    }
    f3.sendRaw(Buffer.alloc(1000, 7), { binary: true });
    f4.sendRaw(`{"type":"ping","x":"${'o'.repeat(100000)}"}`);
    f5.sendRaw(Buffer.from([0x7b, 0xff, 0xfe, 0x7d]), { binary: false });
    for (let i = 0; i < 100; i++) f6.send({ type: 'join', room });
  })();

  await Promise.all([streamDone, flood]);
  await receiver.next((m) => m.type === 'message' && m.data.n === N, { timeout: 10000 });
  const got = receiver.received('message').map((m) => m.data.n);
  assert.equal(got.length, N + 1, `lost ${N + 1 - got.length} messages`);
  assert.deepEqual(got, Array.from({ length: N + 1 }, (_, i) => i), 'messages out of order');
  assert.ok(receiver.received('message').every((m) => m.from === sender.peer));
  receiver.assertSeq();

  assert.equal((await f1.closed({ timeout: 10000 })).code, 4400);
  assert.equal((await f3.closed()).code, 4400);
  assert.equal((await f4.closed()).code, 1009);
  assert.equal((await f5.closed()).code, 1007);
  await f2.barrier({ timeout: 10000 });
  assert.ok(f2.isOpen, 'non-bad-request errors never close the connection');
  assert.equal(f2.received('error').length, 1000);
  // (rate-limited is a legitimate answer to a flood; nothing else is)
  assert.ok(f2.received('error').every((e) => ['not-in-room', 'peer-not-found', 'rate-limited'].includes(e.code)));
  assert.ok(f6.received('error').every((e) => e.code === 'unauthorized'));

  // f1 was in the room: the receiver saw it leave as disconnected, and nothing else from it
  await receiver.next({ type: 'peer-left', peer: f1.peer });
  assert.ok(receiver.isOpen && sender.isOpen);
});
