// Relay: offer / answer / ice-candidate / message, byte-for-byte data, `from`
// stamping, broadcast, acks, relay errors and ordering guarantees.
import assert from 'node:assert/strict';
import test from 'node:test';
import { assertError, connectPeer, join, peersInRoom, serverFixture, uniqueRoom } from './lib/harness.mjs';

const server = serverFixture();

// Builds a relay frame by hand so that `dataRaw` goes on the wire exactly as written.
function relayFrame({ type, room, to, id, dataRaw, extra = '' }) {
  let s = `{"type":${JSON.stringify(type)},"room":${JSON.stringify(room)}`;
  if (to !== undefined) s += `,"to":${JSON.stringify(to)}`;
  if (id !== undefined) s += `,"id":${JSON.stringify(id)}`;
  s += extra;
  s += `,"data":${dataRaw}}`;
  return s;
}

const ODD_DATA = [
  '{ "sdp" :"v=0\\r\\no=- 46117 2 IN IP4 127.0.0.1\\r\\n",\n\t"type":  "offer" ,"z":1,"a":[ 1 ,2.50, -0.0e+2 ,null,true ] }',
  '{"candidate":"candidate:1 1 UDP 2122252543 192.168.1.2 54321 typ host","sdpMid":"0","sdpMLineIndex":0,"usernameFragment":null}',
  '"caf\\u00e9 \u00e9\\n\\"quoted\\" \\/ \ud83d\ude00"',
  '  1.50E+03  ',
  '[ ]',
  '{"nested":{"deep":{"deeper":[{"k":"v"},{}]}} , "emptyStr":"" }',
  'false',
];

for (const type of ['offer', 'answer', 'ice-candidate']) {
  test(`${type}: forwarded to \`to\` with from stamped and data byte for byte`, async () => {
    const room = uniqueRoom();
    const [a, b, c] = await peersInRoom(server(), 3, room);
    for (const [i, dataRaw] of ODD_DATA.entries()) {
      const id = `${type}-${i}`;
      a.sendRaw(relayFrame({ type, room, to: b.peer, id, dataRaw }));
      const ack = await a.next({ type: 'ack', id });
      assert.equal(typeof ack.seq, 'number');
      const f = await b.nextFrame(type);
      assert.equal(f.msg.room, room);
      assert.equal(f.msg.from, a.peer);
      assert.equal(typeof f.msg.seq, 'number');
      assert.ok(!('id' in f.msg), 'the sender\'s id is not forwarded to the recipient');
      assert.ok(!('to' in f.msg) || f.msg.to === b.peer);
      assert.deepEqual(f.msg.data, JSON.parse(dataRaw));
      assert.ok(f.raw.includes(dataRaw.trim()),
        `data not forwarded byte for byte\n sent: ${dataRaw}\n recv: ${f.raw}`);
    }
    await c.barrier();
    assert.equal(c.pending(type).length, 0, 'a unicast reaches only its recipient');
    await a.barrier();
    assert.equal(a.pending(type).length, 0, 'not echoed to the sender');
  });
}

test('data: surrounding whitespace aside, the exact text of data appears in the received frame', async () => {
  const room = uniqueRoom();
  const [a, b] = await peersInRoom(server(), 2, room);
  const dataRaw = '{"b" : 2 ,   "a":1,"a":3,"u":"\\u0041\\u00e9","n":1.000,"e":-0.5E-7}';
  a.sendRaw(relayFrame({ type: 'message', room, to: b.peer, id: 'w', dataRaw }));
  assert.equal((await a.next({ id: 'w' })).type, 'ack');
  const f = await b.nextFrame('message');
  assert.ok(f.raw.includes(dataRaw), `sent ${dataRaw}\nrecv ${f.raw}`);
});

test('data: numbers beyond double / 64-bit range are valid JSON and forwarded verbatim', async () => {
  const room = uniqueRoom();
  const [a, b] = await peersInRoom(server(), 2, room);
  for (const dataRaw of ['123456789012345678901234567890', '{"big":-98765432109876543210987654321}', '1e400', '[18446744073709551616]']) {
    a.sendRaw(relayFrame({ type: 'message', room, to: b.peer, id: 'num', dataRaw }));
    const r = await a.next({ id: 'num' });
    assert.equal(r.type, 'ack', `data ${dataRaw} rejected: ${JSON.stringify(r)}`);
    const f = await b.nextFrame('message');
    assert.ok(f.raw.includes(dataRaw), `sent ${dataRaw}\nrecv ${f.raw}`);
  }
});

test('data: null is a JSON value and is forwarded', async () => {
  const room = uniqueRoom();
  const [a, b] = await peersInRoom(server(), 2, room);
  a.sendRaw(relayFrame({ type: 'message', room, to: b.peer, id: 'n', dataRaw: 'null' }));
  assert.equal((await a.next({ id: 'n' })).type, 'ack');
  const m = await b.next('message');
  assert.ok('data' in m);
  assert.equal(m.data, null);
});

test('from is stamped by the server; a client-supplied from is ignored', async () => {
  const room = uniqueRoom();
  const [a, b, c] = await peersInRoom(server(), 3, room);
  a.sendRaw(relayFrame({ type: 'offer', room, to: b.peer, extra: `,"from":${JSON.stringify(c.peer)}`, dataRaw: '{"sdp":"x"}' }));
  const o = await b.next('offer');
  assert.equal(o.from, a.peer);
  a.send({ type: 'message', room, from: 'someone-else', data: 1 });
  assert.equal((await b.next('message')).from, a.peer);
  assert.equal((await c.next('message')).from, a.peer);
});

test('message without to → every other peer in the room, not echoed to the sender; ack with id', async () => {
  const room = uniqueRoom();
  const [a, b, c] = await peersInRoom(server(), 3, room);
  const other = await connectPeer(server());
  await join(other, uniqueRoom());
  const dataRaw = '{"chat" : "hi all",  "n":1}';
  a.sendRaw(relayFrame({ type: 'message', room, id: 'bc', dataRaw }));
  const ack = await a.next({ id: 'bc' });
  assert.equal(ack.type, 'ack');
  for (const p of [b, c]) {
    const f = await p.nextFrame('message');
    assert.equal(f.msg.from, a.peer);
    assert.equal(f.msg.room, room);
    assert.ok(f.raw.includes(dataRaw));
  }
  await a.barrier();
  assert.equal(a.received('message').length, 0, 'a broadcast is not echoed to its sender');
  await other.barrier();
  assert.equal(other.received('message').length, 0, 'nothing leaks to another room');
});

test('message with to → only that peer', async () => {
  const room = uniqueRoom();
  const [a, b, c] = await peersInRoom(server(), 3, room);
  assert.equal((await a.request({ type: 'message', room, to: c.peer, data: { dm: true } })).type, 'ack');
  const m = await c.next('message');
  assert.deepEqual(m.data, { dm: true });
  assert.equal(m.from, a.peer);
  await b.barrier();
  assert.equal(b.received('message').length, 0);
});

test('no ack without id (unicast and broadcast)', async () => {
  const room = uniqueRoom();
  const [a, b] = await peersInRoom(server(), 2, room);
  a.send({ type: 'offer', room, to: b.peer, data: { sdp: 'o' } });
  a.send({ type: 'message', room, data: 'bcast' });
  await b.next('offer');
  await b.next('message');
  await a.barrier();
  assert.equal(a.received('ack').length, 0, `unexpected ack: ${JSON.stringify(a.received('ack'))}`);
});

test('integer ids are echoed in relay acks', async () => {
  const room = uniqueRoom();
  const [a, b] = await peersInRoom(server(), 2, room);
  const ack = await a.request({ type: 'ice-candidate', room, to: b.peer, data: {}, id: 123 });
  assert.equal(ack.type, 'ack');
  assert.equal(ack.id, 123);
});

test('relay from a peer not in the room → not-in-room', async () => {
  const room = uniqueRoom();
  const [b] = await peersInRoom(server(), 1, room);
  const a = await connectPeer(server());
  assertError(await a.request({ type: 'offer', room, to: b.peer, data: {}, id: 'nr' }), 'not-in-room', 'nr');
  assertError(await a.request({ type: 'message', room, data: {} }), 'not-in-room');
  await b.barrier();
  assert.equal(b.received('offer').length + b.received('message').length, 0);
});

test('relay to an unknown peer id → peer-not-found', async () => {
  const room = uniqueRoom();
  const [a] = await peersInRoom(server(), 1, room);
  for (const type of ['offer', 'answer', 'ice-candidate', 'message']) {
    assertError(await a.request({ type, room, to: 'no-such-peer', data: {}, id: type }), 'peer-not-found', type);
  }
});

test('relay to a peer that is in another room → peer-not-found, nothing delivered', async () => {
  const r1 = uniqueRoom();
  const r2 = uniqueRoom();
  const a = await connectPeer(server());
  const b = await connectPeer(server());
  await join(a, r1);
  await join(b, r2);
  assertError(await a.request({ type: 'offer', room: r1, to: b.peer, data: {} }), 'peer-not-found');
  assertError(await a.request({ type: 'message', room: r1, to: b.peer, data: {} }), 'peer-not-found');
  await b.barrier();
  assert.equal(b.received('offer').length + b.received('message').length, 0);
});

test('relay to a peer that has left → peer-not-found', async () => {
  const room = uniqueRoom();
  const [a, b] = await peersInRoom(server(), 2, room);
  await b.request({ type: 'leave', room });
  assertError(await a.request({ type: 'answer', room, to: b.peer, data: {} }), 'peer-not-found');
});

test('to = own peer id → bad-request', async () => {
  const room = uniqueRoom();
  const [a] = await peersInRoom(server(), 2, room);
  for (const type of ['offer', 'message']) {
    assertError(await a.request({ type, room, to: a.peer, data: {}, id: `self-${type}` }), 'bad-request', `self-${type}`);
  }
});

test('offer / answer / ice-candidate without to → bad-request', async () => {
  const room = uniqueRoom();
  const [a, b] = await peersInRoom(server(), 2, room);
  for (const type of ['offer', 'answer', 'ice-candidate']) {
    assertError(await a.request({ type, room, data: {}, id: type }), 'bad-request', type);
  }
  await b.barrier();
  assert.equal(b.frames.filter((f) => ['offer', 'answer', 'ice-candidate'].includes(f.msg?.type)).length, 0);
});

test('relay without data → bad-request', async () => {
  const room = uniqueRoom();
  const [a, b] = await peersInRoom(server(), 2, room);
  for (const type of ['offer', 'answer', 'ice-candidate', 'message']) {
    assertError(await a.request({ type, room, to: b.peer, id: `nodata-${type}` }), 'bad-request', `nodata-${type}`);
  }
  assertError(await a.request({ type: 'message', room }), 'bad-request');
  await b.barrier();
  assert.equal(b.received((m) => ['offer', 'answer', 'ice-candidate', 'message'].includes(m.type)).length, 0);
});

test('relay with a wrong-typed room or to → bad-request', async () => {
  const room = uniqueRoom();
  const [a, b] = await peersInRoom(server(), 2, room);
  assertError(await a.requestError({ type: 'offer', room: 5, to: b.peer, data: {} }), 'bad-request');
  assertError(await a.requestError({ type: 'offer', room, to: 5, data: {} }), 'bad-request');
  assertError(await a.requestError({ type: 'message', to: b.peer, data: {} }), 'bad-request');
});

test('a 60 KiB relay frame is accepted and delivered intact', async () => {
  const room = uniqueRoom();
  const [a, b] = await peersInRoom(server(), 2, room);
  const big = 'x'.repeat(60 * 1024);
  const ack = await a.request({ type: 'message', room, to: b.peer, data: { big } });
  assert.equal(ack.type, 'ack');
  const m = await b.next('message');
  assert.equal(m.data.big, big);
});

test('per sender, messages arrive in the order sent', async () => {
  const room = uniqueRoom();
  const [a, b, c] = await peersInRoom(server(), 3, room);
  const N = 300;
  for (let i = 0; i < N; i++) {
    if (i % 3 === 0) a.send({ type: 'message', room, data: i });
    else a.send({ type: i % 3 === 1 ? 'offer' : 'ice-candidate', room, to: b.peer, data: i });
  }
  a.send({ type: 'message', room, data: 'end', id: 'end' });
  await a.next({ id: 'end' });
  const got = (p, pred) => p.next((m) => m.type === 'message' && m.data === 'end', { timeout: 10000 })
    .then(() => p.received(pred).map((m) => m.data));
  const inB = await got(b, (m) => ['message', 'offer', 'ice-candidate'].includes(m.type) && m.data !== 'end');
  assert.deepEqual(inB, Array.from({ length: N }, (_, i) => i));
  const inC = await got(c, (m) => m.type === 'message' && m.data !== 'end');
  assert.deepEqual(inC, Array.from({ length: N }, (_, i) => i).filter((i) => i % 3 === 0));
  b.assertSeq();
  c.assertSeq();
});

test('a peer sees peer-joined of X before any relay from X', async () => {
  for (let round = 0; round < 10; round++) {
    const room = uniqueRoom();
    const [a] = await peersInRoom(server(), 1, room);
    const x = await connectPeer(server());
    // pipelined: the relay is sent right after join, without waiting for joined
    x.send({ type: 'join', room });
    x.send({ type: 'message', room, data: 'first' });
    x.send({ type: 'message', room, to: a.peer, data: 'second', id: 's' });
    await x.next({ id: 's' });
    const m = await a.next((mm) => mm.type === 'message' && mm.data === 'second');
    assert.equal(m.from, x.peer);
    const order = a.frames.map((f) => f.msg.type);
    const iJoined = a.frames.findIndex((f) => f.msg.type === 'peer-joined' && f.msg.peer === x.peer);
    const iFirst = a.frames.findIndex((f) => f.msg.type === 'message' && f.msg.from === x.peer);
    assert.ok(iJoined >= 0, `no peer-joined: ${order}`);
    assert.ok(iJoined < iFirst, `peer-joined after a relay from that peer: ${order}`);
    assert.equal(a.frames[iFirst].msg.data, 'first');
  }
});
