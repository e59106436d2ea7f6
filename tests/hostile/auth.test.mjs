// Identity and authorisation attacks: forged, expired and alg-confused tokens,
// joining rooms outside the grants, relaying into rooms one is not in, spoofed
// `from`, and other peers' session ids offered for resume. The server has both an
// HS256 secret and an RSA public key (--jwt-public-key), so that HS/RS confusion
// has something to confuse.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import test from 'node:test';
import { Client, assertError, connectPeer, join, serverFixture, uniqueRoom } from '../integration/lib/harness.mjs';
import { b64url, claims, generateKeyFile, nowS, signJwt } from '../integration/lib/jwt.mjs';
import { tmpDir } from '../integration/lib/server.mjs';
import { underAttack } from './lib/honest.mjs';

const dir = tmpDir('switchboard-hostile-');
const rsa = generateKeyFile('rsa', dir);
const server = serverFixture({ args: ['--jwt-public-key', rsa.pemPath] });

const hs = (c, secret = server().secret) => signJwt(c, { alg: 'HS256', secret });

// hello with `token` (or none), then the error reply and the close.
async function expectRejected(token, { viaQuery = false, name = 'forger' } = {}) {
  const url = viaQuery ? `${server().wsUrl}?access_token=${encodeURIComponent(token)}` : server().wsUrl;
  const c = await Client.connect(url, { name });
  const reply = await c.request(viaQuery ? { type: 'hello' } : { type: 'hello', token });
  const { code } = await c.closed();
  return { reply, code };
}

test('forged, expired and alg-confused tokens → error unauthorized, then close 4401', async (t) => {
  await underAttack(server(), async () => {
    const pem = fs.readFileSync(rsa.pemPath);
    const otherRsa = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
    const ec = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
    const good = claims({ sub: 'mallory' });
    const valid = hs(good);
    const [vh, vp, vs] = valid.split('.');
    const rsValid = signJwt(good, { alg: 'RS256', privateKey: rsa.privateKey });
    const hsWith = (secret, header = {}) => signJwt(good, { alg: 'HS256', secret, header });
    const forged = {
      'alg none': signJwt(good, { alg: 'none' }),
      'alg none, HS signature kept': `${b64url(JSON.stringify({ alg: 'none', typ: 'JWT' }))}.${vp}.${vs}`,
      'alg None': signJwt(good, { alg: 'none', header: { alg: 'None' } }),
      'alg NONE, no signature part': `${b64url(JSON.stringify({ alg: 'NONE' }))}.${vp}`,
      'alg hs256 (lower case)': hsWith(server().secret, { alg: 'hs256' }),
      'HS256 signed with the RSA public key PEM': hsWith(pem),
      'HS256 signed with the PEM, no trailing newline': hsWith(pem.toString().trim()),
      'HS256 signed with the DER public key': hsWith(rsa.publicKey.export({ type: 'spki', format: 'der' })),
      'HS256 signed with the PKCS#1 PEM': hsWith(rsa.publicKey.export({ type: 'pkcs1', format: 'pem' })),
      'HS256, wrong secret': hsWith('not-the-secret'),
      'HS256, empty secret': hsWith(''),
      'RS256 signed by another key': signJwt(good, { alg: 'RS256', privateKey: otherRsa }),
      'RS256 signature under an HS256 header': `${vh}.${rsValid.split('.')[1]}.${rsValid.split('.')[2]}`,
      'ES256 (no EC key configured)': signJwt(good, { alg: 'ES256', privateKey: ec }),
      'RS256 with a jku pointing elsewhere': signJwt(good, { alg: 'RS256', privateKey: otherRsa, header: { jku: 'http://127.0.0.1:1/jwks', kid: 'x' } }),
      'RS256 with an embedded jwk': signJwt(good, { alg: 'RS256', privateKey: otherRsa, header: { jwk: otherRsa.export({ format: 'jwk' }) } }),
      'expired an hour ago': hs(claims({ sub: 'mallory', exp: nowS() - 3600 })),
      'expired beyond the 30 s leeway': hs(claims({ sub: 'mallory', exp: nowS() - 60 })),
      'not valid for an hour (nbf)': hs(claims({ sub: 'mallory', nbf: nowS() + 3600 })),
      'no exp': hs(claims({ sub: 'mallory', exp: undefined })),
      'exp as a string': hs(claims({ sub: 'mallory', exp: String(nowS() + 300) })),
      'no sub': hs(claims({ sub: undefined })),
      'payload swapped, signature kept': `${vh}.${b64url(JSON.stringify(claims({ sub: 'admin', grants: { rooms: ['*'], admin: true } })))}.${vs}`,
      'signature truncated': `${vh}.${vp}.${vs.slice(0, -4)}`,
      'signature bit-flipped': `${vh}.${vp}.${vs.slice(0, -1)}${vs.endsWith('A') ? 'B' : 'A'}`,
      'four parts': `${valid}.${vs}`,
      'garbage': 'not-a-jwt',
      'huge': `${vh}.${b64url('x'.repeat(40000))}.${vs}`,
      'header not JSON': `${b64url('{alg:HS256')}.${vp}.${vs}`,
    };
    for (const [what, token] of Object.entries(forged)) {
      const { reply, code } = await expectRejected(token, { name: what });
      assertError(reply, 'unauthorized');
      assert.equal(code, 4401, `${what}: close code`);
    }
    // the same through ?access_token=
    for (const what of ['alg none', 'HS256 signed with the RSA public key PEM', 'expired an hour ago']) {
      const { reply, code } = await expectRejected(forged[what], { viaQuery: true, name: `${what} (query)` });
      assertError(reply, 'unauthorized');
      assert.equal(code, 4401, `${what} (query): close code`);
    }
    // hello without any token, and with a token of the wrong type
    for (const hello of [{ type: 'hello' }, { type: 'hello', token: '' }]) {
      const c = await Client.connect(server().wsUrl, { name: 'no-token' });
      assertError(await c.request(hello), 'unauthorized');
      assert.equal((await c.closed()).code, 4401);
    }
    // Controls: the genuine tokens of both kinds are accepted (so the rejections above are about forgery).
    for (const token of [valid, rsValid]) {
      const c = await Client.connect(server().wsUrl, { name: 'control' });
      assert.equal((await c.request({ type: 'hello', token })).type, 'welcome');
      c.terminate();
      await c.closed();
    }
  }, { t });
});

test('joining rooms outside the grants → forbidden; honest rooms see no one join', async (t) => {
  await underAttack(server(), async (h) => {
    const c = await connectPeer(server(), { name: 'grant-escaper', claims: { sub: 'mallory', grants: { rooms: ['lobby-*', 'exact'] } } });
    const tries = [h.rooms.A, h.rooms.B, 'lobby', 'LOBBY-1', 'lobb', 'exact2', 'xexact', 'exac', 'lobby_1', '.lobby-1', 'Exact'];
    for (const room of tries) assertError(await c.request({ type: 'join', room }), 'forbidden', undefined);
    for (const room of ['lobby-*', '*', 'lobby-1*', '../lobby-1', 'lobby-1/..', 'lobby-1 ', 'lobby-\u00e9']) {
      assertError(await c.request({ type: 'join', room }), 'bad-request');
    }
    assert.equal((await c.request({ type: 'join', room: 'lobby-1' })).type, 'joined');
    assert.equal((await c.request({ type: 'join', room: 'exact' })).type, 'joined');
    // escalation by refresh: another user's token, a forged token → refused, grants unchanged
    assertError(await c.request({ type: 'refresh', token: hs(claims({ sub: 'someone-else' })) }), 'forbidden');
    assertError(await c.request({ type: 'refresh', token: hs(claims({ sub: 'mallory' }), 'wrong-secret') }), 'unauthorized');
    assertError(await c.request({ type: 'refresh', token: signJwt(claims({ sub: 'mallory' }), { alg: 'none' }) }), 'unauthorized');
    assertError(await c.request({ type: 'join', room: h.rooms.A }), 'forbidden');
    // tokens with no rooms granted at all
    for (const grants of [undefined, {}, { rooms: [] }, { rooms: [''] }]) {
      const n = await connectPeer(server(), { name: 'no-grants', claims: { sub: 'mallory', grants } });
      assertError(await n.request({ type: 'join', room: h.rooms.A }), 'forbidden');
      n.terminate();
      await n.closed();
    }
    assert.ok(c.isOpen);
    c.terminate();
    await c.closed();
  }, { t });
});

test('room flood: the 17th room of one connection → forbidden (joined-room limit); leaving frees a slot', async (t) => {
  await underAttack(server(), async () => {
    const c = await connectPeer(server(), { name: 'room-hoarder' });
    const rooms = Array.from({ length: 16 }, () => uniqueRoom('hoard'));
    for (const room of rooms) await join(c, room);
    for (let i = 0; i < 5; i++) assertError(await c.request({ type: 'join', room: uniqueRoom('hoard') }), 'forbidden');
    assert.equal((await c.request({ type: 'leave', room: rooms[0] })).type, 'ack');
    await join(c, uniqueRoom('hoard'));
    assertError(await c.request({ type: 'join', room: uniqueRoom('hoard') }), 'forbidden');
    assert.ok(c.isOpen);
    c.terminate();
    await c.closed();
  }, { t });
});

test('relaying into rooms one is not in → not-in-room / peer-not-found; the victims receive nothing', async (t) => {
  await underAttack(server(), async (h) => {
    const { h0, h1, h3 } = h.peers;
    const own = uniqueRoom('mallory');
    const c = await connectPeer(server(), { name: 'intruder' });
    await join(c, own);
    const cases = [
      [{ type: 'offer', room: h.rooms.A, to: h1.peer, data: { sdp: 'x' } }, 'not-in-room'],
      [{ type: 'answer', room: h.rooms.B, to: h3.peer, data: { sdp: 'x' } }, 'not-in-room'],
      [{ type: 'ice-candidate', room: h.rooms.A, to: h0.peer, data: {} }, 'not-in-room'],
      [{ type: 'message', room: h.rooms.A, data: 'to everyone' }, 'not-in-room'],
      [{ type: 'message', room: h.rooms.B, to: h3.peer, data: 'hi' }, 'not-in-room'],
      [{ type: 'offer', room: own, to: h1.peer, data: { sdp: 'x' } }, 'peer-not-found'],
      [{ type: 'message', room: own, to: h0.peer, data: 'hi' }, 'peer-not-found'],
      [{ type: 'message', room: own, to: `${h0.peer.slice(0, 16)}ff`, data: 'hi' }, 'peer-not-found'],
      [{ type: 'message', room: own, to: `${h0.peer.slice(0, 16)}zz`, data: 'hi' }, 'peer-not-found'],
      [{ type: 'message', room: own, to: h0.peer.toUpperCase(), data: 'hi' }, 'peer-not-found'],
      [{ type: 'message', room: own, to: `${h0.peer} `, data: 'hi' }, 'peer-not-found'],
      [{ type: 'message', room: own, to: '0'.repeat(18), data: 'hi' }, 'peer-not-found'],
      [{ type: 'update', room: h.rooms.A, metadata: { evil: true } }, 'not-in-room'],
      [{ type: 'leave', room: h.rooms.A }, 'not-in-room'],
    ];
    for (const [msg, code] of cases) {
      const id = Client.newId('x');
      assertError(await c.request({ ...msg, id }), code, id);
    }
    // after leaving a shared room, the former room-mate is out of reach
    const shared = uniqueRoom('shared');
    const v = await connectPeer(server(), { name: 'victim' });
    await join(v, shared);
    await join(c, shared);
    await v.next({ type: 'peer-joined', peer: c.peer });
    assert.equal((await c.request({ type: 'leave', room: shared })).type, 'ack');
    await v.next({ type: 'peer-left', peer: c.peer });
    assertError(await c.request({ type: 'offer', room: shared, to: v.peer, data: 1 }), 'not-in-room');
    assertError(await c.request({ type: 'message', room: shared, data: 1 }), 'not-in-room');
    await v.barrier();
    assert.deepEqual(v.received((m) => ['offer', 'answer', 'ice-candidate', 'message'].includes(m.type)), []);
    for (const x of [c, v]) x.terminate();
    await Promise.all([c, v].map((x) => x.closed()));
  }, { t });
});

test('spoofed from (and envelope injection through data): the recipient always sees the real sender', async (t) => {
  await underAttack(server(), async (h) => {
    const room = uniqueRoom('spoof');
    const victim = await connectPeer(server(), { name: 'victim' });
    const bystander = await connectPeer(server(), { name: 'bystander' });
    const c = await connectPeer(server(), { name: 'spoofer' });
    await join(victim, room);
    await join(bystander, room);
    await join(c, room);
    await victim.next({ type: 'peer-joined', peer: bystander.peer });
    await victim.next({ type: 'peer-joined', peer: c.peer });
    await bystander.next({ type: 'peer-joined', peer: c.peer });
    const spoofs = [bystander.peer, victim.peer, h.peers.h0.peer, 'server', '', null, 42, { peer: bystander.peer }];
    let n = 0;
    for (const from of spoofs) {
      for (const type of ['offer', 'message']) {
        n += 1;
        c.send({ type, room, to: victim.peer, from, data: { n }, id: `s${n}` });
        assert.equal((await c.next({ id: `s${n}` })).type, 'ack');
      }
    }
    // raw frames: `from` before `type`, twice, and a spoofed seq / room-wide message
    c.sendRaw(`{"from":"${bystander.peer}","type":"message","room":"${room}","to":"${victim.peer}","from":"${bystander.peer}","data":{"n":${++n}},"id":"s${n}"}`);
    assert.equal((await c.next({ id: `s${n}` })).type, 'ack');
    c.send({ type: 'message', room, from: bystander.peer, seq: 1, data: { n: ++n }, id: `s${n}` });
    assert.equal((await c.next({ id: `s${n}` })).type, 'ack');

    // Attempts to break out of `data` into the envelope the server builds around it → bad-request, nothing relayed.
    for (const data of ['1/*,"from":"victim"*/', '[1]],"from":"victim"', '1 2', '"x"yy', '{"a":1}}', 'tru', '"a\\u00"']) {
      c.sendRaw(`{"type":"message","room":"${room}","to":"${victim.peer}","data":${data}}`);
      assertError(await c.next('error'), 'bad-request');
    }

    await victim.barrier();
    assert.ok(victim.frames.every((f) => f.msg !== null), 'the victim received a frame that is not JSON');
    const got = victim.frames.filter((f) => f.msg && ['offer', 'message'].includes(f.msg.type));
    assert.equal(got.length, n);
    for (const f of got) {
      assert.equal(f.msg.from, c.peer, `spoofed from accepted: ${f.raw}`);
      assert.equal((f.raw.match(/"from":/g) || []).length, 1, `more than one from in ${f.raw}`);
    }
    assert.deepEqual(got.map((f) => f.msg.data.n), Array.from({ length: n }, (_, i) => i + 1));
    victim.assertSeq();
    // the broadcast reached the bystander, also from the real sender
    const b = await bystander.next('message');
    assert.equal(b.from, c.peer);
    for (const x of [victim, bystander, c]) x.terminate();
    await Promise.all([victim, bystander, c].map((x) => x.closed()));
  }, { t });
});

test("resume with another peer's session id → a new session and peer id, never the victim's", async (t) => {
  await underAttack(server(), async (h) => {
    const room = uniqueRoom('victim');
    const victim = await connectPeer(server(), { name: 'victim', claims: { sub: 'alice' } });
    await join(victim, room);
    const friend = await connectPeer(server(), { name: 'friend' });
    await join(friend, room);
    await victim.next({ type: 'peer-joined', peer: friend.peer });
    const targets = [victim.welcome, h.peers.h0.welcome];
    const attackers = [];
    for (const w of targets) {
      for (const sub of ['mallory', w.user]) {  // also with a token for the victim's own user
        const c = await Client.connect(server().wsUrl, { name: `resumer-${sub}` });
        const token = hs(claims({ sub, grants: { rooms: ['mallory-*'] } }));
        const welcome = await c.request({ type: 'hello', token, resume: { session: w.session, resume_token: 'guess', last_seq: 0 } });
        assert.equal(welcome.type, 'welcome', JSON.stringify(welcome));
        assert.notEqual(welcome.session, w.session, 'the attacker got the victim\'s session');
        assert.notEqual(welcome.peer, w.peer, 'the attacker got the victim\'s peer id');
        assert.equal(welcome.user, sub);
        assert.ok(!('resumed' in welcome) || welcome.resumed === false, JSON.stringify(welcome));
        // not in the victim's rooms
        assertError(await c.request({ type: 'message', room, data: 'hi' }), 'not-in-room');
        assertError(await c.request({ type: 'offer', room: h.rooms.A, to: h.peers.h1.peer, data: 1 }), 'not-in-room');
        assertError(await c.request({ type: 'leave', room }), 'not-in-room');
        attackers.push(c);
      }
    }
    // resume with a bad token is still a bad token; a malformed resume is a bad request
    const bad = await Client.connect(server().wsUrl, { name: 'resumer-forged' });
    assertError(await bad.request({ type: 'hello', token: 'x.y.z', resume: { session: victim.welcome.session, resume_token: 'guess', last_seq: 0 } }), 'unauthorized');
    assert.equal((await bad.closed()).code, 4401);
    const odd = await Client.connect(server().wsUrl, { name: 'resumer-odd' });
    assertError(await odd.request({ type: 'hello', token: hs(claims({ sub: 'mallory' })), resume: victim.welcome.session }), 'bad-request');

    // The victim's traffic still goes to the victim only.
    assert.equal((await friend.request({ type: 'message', room, to: victim.peer, data: 'for alice' })).type, 'ack');
    assert.equal((await victim.next('message')).data, 'for alice');
    assert.equal((await friend.request({ type: 'message', room, data: 'room-wide' })).type, 'ack');
    assert.equal((await victim.next('message')).data, 'room-wide');
    for (const c of attackers) {
      await c.barrier();
      assert.deepEqual(c.received((m) => !['welcome', 'error', 'pong'].includes(m.type)), [], `${c.name} received victim traffic`);
    }
    await victim.barrier();
    assert.deepEqual(victim.pending((m) => m.type !== 'pong'), [], 'the victim saw something from the resumers');
    assert.ok(victim.isOpen);
    for (const x of [...attackers, odd, victim, friend]) x.terminate();
    await Promise.all([...attackers, odd, victim, friend].map((x) => x.closed()));
  }, { t });
});
