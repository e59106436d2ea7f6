// Hostile frames: malformed and truncated JSON, deep nesting, huge numbers and
// strings, invalid UTF-8, binary frames, frames over the limit (also with a
// header that lies about its length), fragmented messages. Each test runs while
// honest peers relay a numbered stream (lib/honest.mjs), and checks the
// attacker's error / close code, the honest stream, and the server's memory.
import assert from 'node:assert/strict';
import test from 'node:test';
import { Client, assertError, connectPeer, join, serverFixture, uniqueRoom } from '../integration/lib/harness.mjs';
import { rawWebSocket } from './lib/attack.mjs';
import { underAttack } from './lib/honest.mjs';

const server = serverFixture();

// A peer pair outside the honest rooms: the attacker and a receiver it may reach.
async function attackerPair() {
  const room = uniqueRoom('attack');
  const attacker = await connectPeer(server(), { name: 'attacker' });
  const sink = await connectPeer(server(), { name: 'sink' });
  await join(attacker, room);
  await join(sink, room);
  await attacker.next({ type: 'peer-joined', peer: sink.peer });
  return { attacker, sink, room };
}

const VALID = (room, to) => JSON.stringify({
  type: 'message', room, to, id: 'v1', data: { a: [1, -2.5e3, 's\u00e9\u{1F600}', true, false, null], b: { c: {} } },
});

test('malformed and truncated JSON → bad-request each; the 20th bad-request closes 4400', async (t) => {
  await underAttack(server(), async () => {
    const { attacker, sink, room } = await attackerPair();
    const valid = VALID(room, sink.peer);
    // proper prefixes of a valid relay frame (40 of them, evenly spread) are malformed JSON
    const truncated = [];
    for (let n = 1; n < valid.length; n += Math.ceil(valid.length / 40)) truncated.push(valid.slice(0, n));
    const garbage = ['', ' ', '\n', '{', '}', '{{}}', '{"type"}', '{"type":}', '{"type":"ping",}', '{"type":"ping" "id":1}',
      "{'type':'ping'}", '{type:"ping"}', '{"type":"ping"}}', '{"type":"ping"} {"type":"ping"}', '{"type":"ping"}x',
      '\ufeff{"type":"ping"}', '{"type":"ping","x":[}', '{"type":"ping","x":"\u0001"}', '[]', '[{"type":"ping"}]',
      'null', '0', '"ping"', '{"type":"ping","id":{"o":1}}', '{"type":"ping","id":1.5}', '{"type":"ping","id":"' + 'i'.repeat(65) + '"}',
      '\u0000', '{"type":"ping"\u0000}', '{"type":"message","room":"' + room + '","to":"' + sink.peer + '"}'];
    const corpus = [...truncated, ...garbage];
    assert.ok(corpus.length > 60);

    // Spread over connections of 19 frames each: every frame is a bad-request, none closes.
    const conns = [attacker];
    for (let i = 1; i < Math.ceil(corpus.length / 19); i++) {
      const c = await connectPeer(server(), { name: `malformed-${i}` });
      await join(c, room);
      conns.push(c);
    }
    for (let i = 0; i < corpus.length; i++) conns[Math.floor(i / 19)].sendRaw(corpus[i]);
    for (let i = 0; i < corpus.length; i++) {
      const c = conns[Math.floor(i / 19)];
      const e = await c.next((m) => m.type === 'error' || m.type === 'pong');
      assertError(e, 'bad-request');
    }
    for (const c of conns) {
      await c.barrier();
      assert.ok(c.isOpen, `${c.name} closed after fewer than 20 bad requests: ${JSON.stringify(c.closeInfo)}`);
    }
    // the sink got none of it
    await sink.barrier();
    assert.deepEqual(sink.pending('message'), []);

    // One more bad frame on a connection that already had 19 → error, then 4400.
    conns[0].sendRaw('{"type":"message","room":');
    assertError(await conns[0].next('error'), 'bad-request');
    assert.equal((await conns[0].closed()).code, 4400);

    // Before hello: same budget, same close.
    const anon = await Client.connect(server().wsUrl, { name: 'malformed-anon' });
    for (let i = 0; i < 20; i++) anon.sendRaw(truncated[i % truncated.length]);
    for (let i = 0; i < 20; i++) assertError(await anon.next('error'), 'bad-request');
    assert.equal((await anon.closed()).code, 4400);
    for (const c of [...conns, sink]) c.terminate();
    await Promise.all([...conns, sink].map((c) => c.closed()));
  }, { t });
});

// Reported: invalid JSON inside a field the server does not read (an unknown
// field) is accepted: simdjson On Demand skips such values without validating
// them (src/proto/parser.cpp: "Unknown fields are ignored ... On Demand skips them").
test('invalid JSON inside an ignored field → bad-request', async () => {
  const c = await connectPeer(server(), { name: 'lenient' });
  const frames = ['{"type":"ping","x":tru}', '{"type":"ping","x":nul}', '{"type":"ping","x":{"a" 1}}', '{"type":"ping","x":01}',
    '{"type":"ping","x":]}', '{"type":"ping","x":{]}', '{"type":"ping","x":"\\q"}', '{"type":"ping","x":1.}', '{"type":"ping","x":-}',
    '{"type":"ping","x":+1}', '{"type":"ping","x":NaN}'];
  const wrong = [];
  for (const raw of frames) {
    c.sendRaw(raw);
    const m = await c.next((x) => x.type === 'error' || x.type === 'pong');
    if (m.type !== 'error' || m.code !== 'bad-request') wrong.push(`${raw} → ${JSON.stringify(m)}`);
  }
  assert.deepEqual(wrong, [], 'frames that are not JSON were accepted');
});

test('deep nesting: 100k "[" → 1009; 60k "[" and deeply nested data / metadata → bad-request, nothing relayed', async (t) => {
  await underAttack(server(), async () => {
    const { attacker, sink, room } = await attackerPair();
    // [frame, accepted replies]: too deep where the server reads the value → bad-request;
    // well-formed but deep in a field the server ignores → bad-request or pong.
    const frames = [
      ['['.repeat(60000), ['bad-request']],
      ['{"a":'.repeat(10000) + '1' + '}'.repeat(10000), ['bad-request']],
      [`{"type":"message","room":"${room}","to":"${sink.peer}","data":${'['.repeat(30000)}${']'.repeat(30000)}}`, ['bad-request']],
      [`{"type":"message","room":"${room}","data":${'{"a":'.repeat(6000)}1${'}'.repeat(6000)}}`, ['bad-request']],
      [`{"type":"message","room":"${room}","data":${'['.repeat(60000)}}`, ['bad-request']],
      [`{"type":"update","room":"${room}","metadata":${'{"a":'.repeat(500)}1${'}'.repeat(500)}}`, ['bad-request']],
      [`{"type":"ping","x":${'['.repeat(60000)}}`, ['bad-request']],
      [`{"type":"ping","x":${'['.repeat(30000)}${']'.repeat(30000)}}`, ['bad-request', 'pong']],
    ];
    for (const [f, accepted] of frames) {
      assert.ok(Buffer.byteLength(f) <= 65536, `${Buffer.byteLength(f)} bytes`);
      attacker.sendRaw(f);
      const e = await attacker.next((m) => m.type === 'error' || m.type === 'pong' || m.type === 'ack');
      assert.ok(accepted.includes(e.type === 'error' ? e.code : e.type), `${f.slice(0, 60)}… → ${JSON.stringify(e)}`);
    }
    // moderate nesting still relays, byte for byte
    const data = `${'['.repeat(32)}"deep"${']'.repeat(32)}`;
    attacker.sendRaw(`{"type":"message","room":"${room}","to":"${sink.peer}","id":"ok","data":${data}}`);
    assert.equal((await attacker.next({ id: 'ok' })).type, 'ack');
    const got = await sink.nextFrame('message');
    assert.ok(got.raw.includes(`"data":${data}`), got.raw.slice(0, 200));
    await sink.barrier();
    assert.deepEqual(sink.pending('message'), [], 'a rejected frame was relayed');
    assert.ok(attacker.isOpen);

    attacker.sendRaw('['.repeat(100000));
    assert.equal((await attacker.closed()).code, 1009);
    sink.terminate();
    await sink.closed();
  }, { t });
});

test('huge numbers and huge strings within 64 KiB: relayed byte for byte when valid, bad-request / peer-not-found otherwise', async (t) => {
  await underAttack(server(), async () => {
    const { attacker, sink, room } = await attackerPair();
    const payloads = [
      '9'.repeat(60000),
      `-${'1'.repeat(30000)}.${'0'.repeat(20000)}e-${'9'.repeat(5000)}`,
      '1e999999999999999999',
      '-0.0000000000000000000000000000000000000000000000000000000001E+400',
      `"${'x'.repeat(60000)}"`,
      `"${'\\u0000'.repeat(10000)}"`,
      `"${'\\ud83d\\ude00'.repeat(5000)}"`,
      `"${'\u{1F600}'.repeat(15000)}"`,
      `[${Array.from({ length: 10000 }, (_, i) => i).join(',')}]`,
    ];
    let n = 0;
    for (const data of payloads) {
      n += 1;
      const frame = `{"type":"message","room":"${room}","to":"${sink.peer}","id":"h${n}","data":${data}}`;
      assert.ok(Buffer.byteLength(frame) <= 65536, `payload ${n} is ${Buffer.byteLength(frame)} bytes`);
      attacker.sendRaw(frame);
      assert.equal((await attacker.next({ id: `h${n}` })).type, 'ack', `payload ${n}`);
      const got = await sink.nextFrame('message');
      assert.ok(got.raw.includes(`"data":${data}`), `payload ${n} was not relayed byte for byte`);
      assert.equal(got.msg.from, attacker.peer);
    }
    // huge values where they are not allowed
    const bad = [
      [`{"type":"ping","id":${'7'.repeat(60000)}}`, 'bad-request'],
      [`{"type":"ping","id":"${'i'.repeat(60000)}"}`, 'bad-request'],
      [`{"type":"${'t'.repeat(60000)}"}`, 'bad-request'],
      [`{"type":"join","room":"${'r'.repeat(60000)}"}`, 'bad-request'],
      [`{"type":"join","room":${'1'.repeat(60000)}}`, 'bad-request'],
      [`{"type":"message","room":"${room}","to":"${'p'.repeat(60000)}","data":1}`, 'peer-not-found'],
      [`{"type":"message","room":"${room}","to":${'9'.repeat(60000)},"data":1}`, 'bad-request'],
      [`{"type":"join","room":"${uniqueRoom()}","metadata":{"m":"${'m'.repeat(60000)}"}}`, 'too-large'],
    ];
    for (const [frame, code] of bad) {
      attacker.sendRaw(frame);
      assertError(await attacker.next('error'), code);
    }
    await sink.barrier();
    assert.deepEqual(sink.pending('message'), []);
    assert.ok(attacker.isOpen);
    for (const c of [attacker, sink]) c.terminate();
    await Promise.all([attacker, sink].map((c) => c.closed()));
  }, { t });
});

test('invalid UTF-8 in a text frame → 1007 (in data, in a key, overlong, surrogate, truncated, split across fragments)', async (t) => {
  await underAttack(server(), async () => {
    const room = uniqueRoom('utf8');
    const cases = [
      [Buffer.from(`{"type":"message","room":"${room}","data":"`), Buffer.from([0xc3, 0x28]), Buffer.from('"}')],
      [Buffer.from('{"'), Buffer.from([0xff, 0xfe]), Buffer.from('":1,"type":"ping"}')],
      [Buffer.from('{"type":"ping","x":"'), Buffer.from([0xc0, 0xaf]), Buffer.from('"}')],
      [Buffer.from('{"type":"ping","x":"'), Buffer.from([0xed, 0xa0, 0x80]), Buffer.from('"}')],
      [Buffer.from('{"type":"ping","x":"'), Buffer.from([0xf4, 0x90, 0x80, 0x80]), Buffer.from('"}')],
      [Buffer.from('{"type":"ping","x":"a"}'), Buffer.from([0xe2, 0x82])],
    ];
    const clients = [];
    for (const parts of cases) {
      const c = await connectPeer(server(), { name: 'bad-utf8' });
      c.sendRaw(Buffer.concat(parts), { binary: false });
      clients.push(c);
    }
    // before hello as well
    const anon = await Client.connect(server().wsUrl, { name: 'bad-utf8-anon' });
    anon.sendRaw(Buffer.from([0x7b, 0xff, 0x7d]), { binary: false });
    clients.push(anon);
    const frag = await connectPeer(server(), { name: 'bad-utf8-fragmented' });
    // split across fragments: a 3-byte sequence starts in one fragment and goes wrong in the next
    frag.ws.send(Buffer.from([...Buffer.from('{"type":"ping","x":"ab'), 0xe2]), { fin: false, binary: false });
    frag.ws.send(Buffer.from([0x28, 0xa1, ...Buffer.from('"}')]), { fin: true });
    clients.push(frag);
    for (const c of clients) assert.equal((await c.closed()).code, 1007, c.name);

    // a valid multi-byte character split across fragments is fine
    const ok = await connectPeer(server(), { name: 'split-char' });
    const euro = Buffer.from('€');
    ok.ws.send(Buffer.concat([Buffer.from('{"type":"ping","id":"split","x":"'), euro.subarray(0, 1)]), { fin: false, binary: false });
    ok.ws.send(euro.subarray(1, 2), { fin: false });
    ok.ws.send(Buffer.concat([euro.subarray(2), Buffer.from('"}')]), { fin: true });
    assert.equal((await ok.next({ id: 'split' })).type, 'pong');
    ok.terminate();
    await ok.closed();
  }, { t });
});

test('binary frames → 4400 (before and after hello, empty, JSON inside, in a fragmented message)', async (t) => {
  await underAttack(server(), async () => {
    const clients = [];
    const a = await connectPeer(server(), { name: 'binary-json' });
    a.sendRaw(Buffer.from(JSON.stringify({ type: 'ping', id: 'b' })), { binary: true });
    clients.push(a);
    const b = await connectPeer(server(), { name: 'binary-empty' });
    b.sendRaw(Buffer.alloc(0), { binary: true });
    clients.push(b);
    const c = await Client.connect(server().wsUrl, { name: 'binary-anon' });
    c.sendRaw(Buffer.from(JSON.stringify({ type: 'hello', token: 'x' })), { binary: true });
    clients.push(c);
    const d = await connectPeer(server(), { name: 'binary-big' });
    d.sendRaw(Buffer.alloc(60000, 0xff), { binary: true });
    clients.push(d);
    const e = await connectPeer(server(), { name: 'binary-fragmented' });
    e.ws.send(Buffer.from('{"type":'), { fin: false, binary: true });
    e.ws.send(Buffer.from('"ping"}'), { fin: true, binary: true });
    clients.push(e);
    for (const x of clients) {
      assert.equal((await x.closed()).code, 4400, x.name);
      assert.equal(x.received('pong').length, 0, `${x.name}: a binary frame was processed`);
    }
  }, { t });
});

test('frames over the limit → 1009, also when the header lies about the length', async (t) => {
  await underAttack(server(), async () => {
    const clients = [];
    // (a client still writing when the server fails the connection may not see the
    // code: see the todo test below; up to 1 MiB the whole frame is in flight at once)
    for (const size of [65537, 256 * 1024, 1024 * 1024]) {
      const c = await connectPeer(server(), { name: `oversize-${size}` });
      c.sendRaw(JSON.stringify({ type: 'ping', pad: 'z'.repeat(size) }));
      clients.push(c);
    }
    for (const c of clients) assert.equal((await c.closed()).code, 1009, c.name);
    // Raw frames whose header announces up to 2^53 bytes, followed by a few bytes only:
    // the server must refuse at the header, without waiting or allocating.
    for (const length of [65537, 2 ** 31, 2 ** 53]) {
      const r = await rawWebSocket(server());
      r.frame(1, Buffer.from('{"type":"ping"}'), { length });
      assert.equal(await r.closeFrame(), 1009, `declared length ${length}`);
    }
  }, { peakMiB: 32, t });
});

test('fragmented frames: a message in 2000 fragments is relayed intact; > 64 KiB in total → 1009', async (t) => {
  await underAttack(server(), async () => {
    const { attacker, sink, room } = await attackerPair();
    const data = JSON.stringify({ s: 'é'.repeat(5000), n: [1, 2, 3] });
    const buf = Buffer.from(`{"type":"message","room":"${room}","to":"${sink.peer}","id":"frag","data":${data}}`);
    const pieces = 2000;
    const step = Math.ceil(buf.length / pieces);
    for (let i = 0; i < buf.length; i += step) {
      attacker.ws.send(buf.subarray(i, i + step), { fin: i + step >= buf.length, binary: false });
      if (i === step * 1000) attacker.ws.ping();  // a control frame between fragments is legal
    }
    assert.equal((await attacker.next({ id: 'frag' })).type, 'ack');
    const got = await sink.nextFrame('message');
    assert.ok(got.raw.includes(`"data":${data}`), 'the fragmented message was not relayed byte for byte');

    // 10,000 one-byte fragments
    const tiny = Buffer.from(JSON.stringify({ type: 'ping', id: 'tiny', pad: 't'.repeat(9950) }));
    for (let i = 0; i < tiny.length; i++) attacker.ws.send(tiny.subarray(i, i + 1), { fin: i === tiny.length - 1, binary: false });
    assert.equal((await attacker.next({ id: 'tiny' })).type, 'pong');

    // 65 fragments of 1 KiB (and the sender stops there): over 64 KiB → 1009
    const over = await connectPeer(server(), { name: 'fragmented-oversize' });
    over.ws.send(Buffer.from('{"type":"ping","x":"'), { fin: false, binary: false });
    for (let i = 0; i < 65; i++) over.ws.send(Buffer.alloc(1024, 0x61), { fin: false });
    assert.equal((await over.closed()).code, 1009);
    for (const c of [attacker, sink]) c.terminate();
    await Promise.all([attacker, sink].map((c) => c.closed()));
  }, { t });
});

// When the client is still sending as the server fails the connection (1009 /
// 1007), the server must read to the client's FIN before closing: a close with
// unread input sends RST, and the client then loses the close frame and sees
// 1006 (src/service/tcp_stream.h).
test('a client that keeps sending past the limit still gets 1009 / 1007 (10 tries each)', async () => {
  const codes = { 1009: [], 1007: [], '1009 (one 4 MiB frame)': [] };
  for (let k = 0; k < 10; k++) {
    const w = await connectPeer(server(), { name: 'oversize-4MiB' });
    w.sendRaw(JSON.stringify({ type: 'ping', pad: 'z'.repeat(4 * 1024 * 1024) }));
    codes['1009 (one 4 MiB frame)'].push((await w.closed()).code);
    const c = await connectPeer(server(), { name: 'keeps-sending-1009' });
    c.ws.send(Buffer.from('{"type":"ping","x":"'), { fin: false, binary: false });
    for (let i = 0; i < 200; i++) c.ws.send(Buffer.alloc(1024, 0x61), { fin: false });
    c.ws.send(Buffer.from('"}'), { fin: true });
    codes[1009].push((await c.closed()).code);
    const d = await connectPeer(server(), { name: 'keeps-sending-1007' });
    d.ws.send(Buffer.from([0x7b, 0x22, 0xff]), { fin: false, binary: false });
    for (let i = 0; i < 200; i++) d.ws.send(Buffer.alloc(1024, 0x61), { fin: false });
    d.ws.send(Buffer.from('"}'), { fin: true });
    codes[1007].push((await d.closed()).code);
  }
  assert.deepEqual(codes, { 1009: Array(10).fill(1009), 1007: Array(10).fill(1007), '1009 (one 4 MiB frame)': Array(10).fill(1009) });
});

// Frames that break RFC 6455 itself fail the connection with 1002, each found
// at its header; a ping's payload comes back in the pong; the honest stream
// runs on.
test('frames that break RFC 6455 → 1002 (unmasked, reserved bits and opcodes, bad control frames, stray continuation, long length forms)', async (t) => {
  await underAttack(server(), async () => {
    const mask = Buffer.from([1, 2, 3, 4]);
    const masked = (b) => Buffer.from(b.map((x, i) => x ^ mask[i & 3]));
    const cases = {
      unmasked: (r) => r.sock.write(Buffer.from([0x81, 0x02, 0x7b, 0x7d])),
      rsv1: (r) => r.sock.write(Buffer.concat([Buffer.from([0xc1, 0x82]), mask, masked([0x7b, 0x7d])])),
      'opcode 3': (r) => r.frame(3, Buffer.from('{}')),
      'opcode 11': (r) => r.frame(11),
      'fragmented ping': (r) => r.frame(9, Buffer.from('p'), { fin: false }),
      'ping of 126 bytes': (r) => r.frame(9, Buffer.alloc(126, 0x70)),
      'continuation of nothing': (r) => r.frame(0, Buffer.from('{}')),
      'text inside a fragmented text': (r) => { r.frame(1, Buffer.from('{"type":'), { fin: false }); r.frame(1, Buffer.from('{}')); },
      'close with one byte': (r) => r.frame(8, Buffer.from([3])),
      'close code 1005': (r) => r.frame(8, Buffer.from([0x03, 0xed])),
      '16-bit length form for 5 bytes': (r) => r.sock.write(Buffer.concat([Buffer.from([0x81, 0xfe, 0x00, 0x05]), mask, masked([0x7b, 0x7d, 0x20, 0x20, 0x20])])),
    };
    for (const [name, send] of Object.entries(cases)) {
      const r = await rawWebSocket(server());
      send(r);
      assert.equal(await r.closeFrame(), 1002, name);
    }
    // A ping with a payload is answered by a pong that carries it back.
    const p = await rawWebSocket(server());
    p.frame(9, Buffer.from('are you there'));
    p.frame(8, Buffer.from([0x03, 0xe8]));
    assert.equal(await p.closeFrame(), 1000);
    const pong = p.serverFrames().find((f) => f.opcode === 10);
    assert.ok(pong, 'no pong');
    assert.equal(pong.payload.toString(), 'are you there');
  }, { t });
});
