// Frame-level rules: malformed input, bad-request accounting, and the close
// codes for binary frames (4400), oversize frames (1009) and invalid UTF-8 (1007).
import assert from 'node:assert/strict';
import test from 'node:test';
import { Client, assertError, connectPeer, peersInRoom, serverFixture, uniqueRoom } from './lib/harness.mjs';

const server = serverFixture();

// An "innocent bystander": two peers in a room who must keep working while
// another client misbehaves.
async function bystanders() {
  const room = uniqueRoom('bystand');
  const [a, b] = await peersInRoom(server(), 2, room);
  return {
    async check() {
      const ack = await a.request({ type: 'message', room, to: b.peer, data: 'still here' });
      assert.equal(ack.type, 'ack');
      assert.equal((await b.next('message')).data, 'still here');
      assert.ok(a.isOpen && b.isOpen);
    },
  };
}

test('malformed JSON, non-object JSON, missing / non-string / unknown type → bad-request, connection stays open', async () => {
  const c = await connectPeer(server());
  const bad = ['{not json', '{"type":"ping"', '', ' ', '[]', '[{"type":"ping"}]', '1', '"ping"', 'null', 'true',
    '{}', '{"type":5}', '{"type":null}', '{"type":["ping"]}', '{"type":"PING"}', '{"type":"no-such-type"}'];
  for (const raw of bad) {
    c.sendRaw(raw);
    const e = await c.next((m) => m.type === 'error' || m.type === 'pong');
    assertError(e, 'bad-request');
    assert.ok(!('id' in e) || e.id === undefined);
  }
  assert.ok(c.isOpen);
  await c.barrier();
  c.assertSeq();
});

test('unknown type with an id → bad-request with that id', async () => {
  const c = await connectPeer(server());
  assertError(await c.request({ type: 'subscribe-all', id: 'u1' }), 'bad-request', 'u1');
  assertError(await c.request({ type: 'welcome', id: 2 }), 'bad-request', 2);
});

test('a binary frame → close 4400; others unaffected', async () => {
  const by = await bystanders();
  const c = await connectPeer(server());
  c.sendRaw(Buffer.from(JSON.stringify({ type: 'ping' })), { binary: true });
  assert.equal((await c.closed()).code, 4400);
  await by.check();
});

test('a binary frame before hello → close 4400', async () => {
  const c = await Client.connect(server().wsUrl);
  c.sendRaw(Buffer.from([1, 2, 3]), { binary: true });
  assert.equal((await c.closed()).code, 4400);
});

test('a frame of exactly 65536 bytes is accepted; 65537 bytes → close 1009; others unaffected', async () => {
  const by = await bystanders();
  const room = uniqueRoom();
  const [a, b] = await peersInRoom(server(), 2, room);
  const overhead = (id) => `{"type":"message","room":"${room}","to":"${b.peer}","id":"${id}","data":""}`.length;
  const frameOf = (n, id) => `{"type":"message","room":"${room}","to":"${b.peer}","id":"${id}","data":"${'p'.repeat(n - overhead(id))}"}`;
  const ok = frameOf(65536, 'fits');
  assert.equal(Buffer.byteLength(ok), 65536);
  a.sendRaw(ok);
  assert.equal((await a.next({ id: 'fits' })).type, 'ack');
  assert.equal((await b.next('message')).data.length, 65536 - overhead('fits'));

  const tooBig = frameOf(65537, 'over');
  assert.equal(Buffer.byteLength(tooBig), 65537);
  a.sendRaw(tooBig);
  assert.equal((await a.closed()).code, 1009);
  assert.equal(a.received({ id: 'over' }).length, 0);
  await b.barrier();
  assert.equal(b.received('message').length, 1, 'the oversize frame was not relayed');
  await by.check();
});

test('a much larger frame (200 KiB) → close 1009', async () => {
  const c = await connectPeer(server());
  c.sendRaw(JSON.stringify({ type: 'ping', pad: 'z'.repeat(200 * 1024) }));
  assert.equal((await c.closed()).code, 1009);
});

test('a text frame that is not valid UTF-8 → close 1007; others unaffected', async () => {
  const by = await bystanders();
  const c = await connectPeer(server());
  const room = uniqueRoom();
  c.sendRaw(Buffer.concat([Buffer.from(`{"type":"join","room":"${room}","metadata":{"x":"`),
    Buffer.from([0xc3, 0x28, 0xff, 0xfe]), Buffer.from('"}}')]), { binary: false });
  assert.equal((await c.closed()).code, 1007);
  await by.check();
});

test('overlong / surrogate UTF-8 encodings → close 1007', async () => {
  for (const bytes of [[0xc0, 0xaf], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80]]) {
    const c = await connectPeer(server());
    c.sendRaw(Buffer.concat([Buffer.from('{"type":"ping","x":"'), Buffer.from(bytes), Buffer.from('"}')]), { binary: false });
    assert.equal((await c.closed()).code, 1007, `bytes ${bytes.map((b) => b.toString(16))}`);
  }
});

test('19 bad requests keep the connection; the 20th bad-request is answered, then close 4400', async () => {
  const by = await bystanders();
  const c = await connectPeer(server());
  for (let i = 1; i <= 19; i++) {
    c.send({ type: `bogus-${i}`, id: i });
    assertError(await c.next({ id: i }), 'bad-request', i);
  }
  // errors other than bad-request do not count
  for (let i = 0; i < 5; i++) {
    assertError(await c.request({ type: 'leave', room: uniqueRoom() }), 'not-in-room');
  }
  await c.barrier();
  assert.ok(c.isOpen, 'still open after 19 bad requests');
  c.send({ type: 'bogus-20', id: 20 });
  assertError(await c.next({ id: 20 }), 'bad-request', 20);
  assert.equal((await c.closed()).code, 4400);
  await by.check();
});

test('all kinds of bad-request count toward the 20', async () => {
  const c = await connectPeer(server());
  const kinds = ['{oops', '[]', '{"type":"nope"}', '{"type":"join","room":"bad room"}',
    '{"type":"join","room":"r","metadata":[]}', '{"type":"leave"}', '{"type":"ping","id":{"o":1}}'];
  for (let i = 0; i < 19; i++) {
    c.sendRaw(kinds[i % kinds.length]);
    assertError(await c.next('error'), 'bad-request');
  }
  assert.ok(c.isOpen);
  c.sendRaw('{oops');
  assertError(await c.next('error'), 'bad-request');
  assert.equal((await c.closed()).code, 4400);
});
