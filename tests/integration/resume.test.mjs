// Session resume: after a drop, hello {token, resume: {session, resume_token,
// last_seq}} continues the session (same session and peer id, same rooms, no
// leave/join for the others), replays every frame with seq > last_seq exactly
// once and in order, then welcome {resumed: true}. Past the window, with a wrong
// secret or for another user: a new session (resumed: false). A parked session
// whose buffer overflows ends (peer-left "resume-overflow"). A resume of a
// session whose old connection is still open takes over (old one: close 4409).
import assert from 'node:assert/strict';
import { afterEach, test } from 'node:test';
import { Client, closeAllClients, connectPeer, join, uniqueRoom } from './lib/harness.mjs';
import { hsToken } from './lib/jwt.mjs';
import { startServer } from './lib/server.mjs';

const servers = [];
afterEach(async () => {
  closeAllClients();
  for (const s of servers.splice(0)) await s.stop({ signal: 'SIGKILL' }).catch(() => {});
});

// At debug level: the tests wait for the park and resume lines, which are per session.
async function start(args = []) {
  const s = await startServer({ args: ['--log-level', 'debug', ...args] });
  servers.push(s);
  return s;
}

const shardOf = (peer) => parseInt(peer.slice(-2), 16);
const lastSeq = (c) => c.frames.reduce((m, f) => Math.max(m, f.msg?.seq ?? 0), 0);
const escape = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

// Two peers in one room; `a` is the one that will drop.
async function pair(server, room = uniqueRoom('resume')) {
  const a = await connectPeer(server, { name: 'a', claims: { sub: 'alice' } });
  await join(a, room);
  const b = await connectPeer(server, { name: 'b', claims: { sub: 'bob' } });
  await join(b, room);
  await a.next({ type: 'peer-joined', room, peer: b.peer });
  return { a, b, room };
}

// b sends messages numbered from..to to a; each is acked (a peer-not-found would fail).
async function sendNumbered(b, room, to, from, last) {
  for (let n = from; n <= last; n++) {
    const r = await b.request({ type: 'message', room, to, data: { n } });
    assert.equal(r.type, 'ack', `message ${n}: ${JSON.stringify(r)}`);
  }
}

// Drops `c` without a closing handshake and waits until the server has parked its session.
async function drop(server, c) {
  const parked = server.waitForLine('stderr', new RegExp(`parked peer=${escape(c.peer)}`));
  c.terminate();
  await parked;
}

// A new connection that resumes; resolves with {c, welcome, before} where
// `before` are the frames that came before the welcome (the replay).
async function resume(server, { sub, session, resume_token, last_seq, url }) {
  const c = await Client.connect(url ?? server.wsUrl, { name: `resume-${sub}` });
  const token = hsToken(server.secret, { sub });
  const welcome = await c.request({ type: 'hello', token, resume: { session, resume_token, last_seq } });
  assert.equal(welcome.type, 'welcome', JSON.stringify(welcome));
  const at = c.frames.findIndex((f) => f.msg?.type === 'welcome');
  return { c, welcome, before: c.frames.slice(0, at).map((f) => f.msg) };
}

test('welcome carries resume_token and resumed: false on a new session', async () => {
  const server = await start();
  const a = await connectPeer(server);
  assert.equal(typeof a.welcome.resume_token, 'string');
  // At least 128 bits: 22 base64url characters carry 132.
  assert.match(a.welcome.resume_token, /^[A-Za-z0-9_-]{22,}$/, 'the secret has at least 128 bits');
  assert.equal(a.welcome.resumed, false);
  const b = await connectPeer(server);
  assert.notEqual(a.welcome.resume_token, b.welcome.resume_token);
});

test('resume within the window: missed frames replayed exactly once, in order; others see no leave/join', async () => {
  const server = await start();
  const { a, b, room } = await pair(server);
  await sendNumbered(b, room, a.peer, 1, 6);
  for (let n = 1; n <= 6; n++) assert.deepEqual((await a.next('message')).data, { n });
  // The client "read" only up to message 3: 4..6 were received by the socket, not by the application.
  const seen = a.received('message').find((m) => m.data.n === 3).seq;
  await drop(server, a);
  await sendNumbered(b, room, a.peer, 7, 12); // while a is away: kept for it
  const { c, welcome, before } = await resume(server, {
    sub: 'alice', session: a.welcome.session, resume_token: a.welcome.resume_token, last_seq: seen,
  });
  assert.equal(welcome.resumed, true);
  assert.equal(welcome.session, a.welcome.session);
  assert.equal(welcome.peer, a.peer);
  assert.equal(typeof welcome.resume_token, 'string');
  assert.deepEqual(before.map((m) => m.data), [4, 5, 6, 7, 8, 9, 10, 11, 12].map((n) => ({ n })), c.history());
  before.forEach((m, i) => assert.equal(m.seq, seen + 1 + i, 'replayed frames keep their seq'));
  assert.equal(welcome.seq, seen + before.length + 1, 'the welcome gets the next seq');
  // Same rooms: new traffic both ways, continuing seq.
  await sendNumbered(b, room, a.peer, 13, 13);
  const m13 = await c.next((m) => m.type === 'message' && m.data.n === 13);
  assert.equal(m13.seq, welcome.seq + 1);
  assert.equal((await c.request({ type: 'message', room, to: b.peer, data: 'back' })).type, 'ack');
  assert.equal((await b.next('message')).from, a.peer);
  await b.barrier();
  assert.deepEqual(b.received((m) => m.type === 'peer-left' || m.type === 'peer-joined'), [], b.history());
  // Exactly once: every number arrived once over both connections, in order.
  const got = [...a.received('message'), ...c.received('message')].map((m) => m.data.n);
  assert.deepEqual(got, [1, 2, 3, 4, 5, 6, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13]);
  const afterSeen = [...a.received('message').filter((m) => m.seq > seen), ...c.received('message')];
  assert.deepEqual([...new Set(afterSeen.map((m) => m.seq))].length, afterSeen.length - 3, 'only 4..6 seen twice (the unread ones)');
});

test('resume after the window: a new session (resumed: false), and the others saw peer-left "disconnected"', async () => {
  const server = await start(['--resume-window-s', '1']);
  const { a, b, room } = await pair(server);
  await drop(server, a);
  const left = await b.next({ type: 'peer-left', room, peer: a.peer }, { timeout: 10000 });
  assert.equal(left.reason, 'disconnected');
  const { welcome, before } = await resume(server, {
    sub: 'alice', session: a.welcome.session, resume_token: a.welcome.resume_token, last_seq: lastSeq(a),
  });
  assert.equal(welcome.resumed, false);
  assert.notEqual(welcome.peer, a.peer);
  assert.notEqual(welcome.session, a.welcome.session);
  assert.equal(welcome.seq, 1);
  assert.deepEqual(before, []);
});

test('--resume-window-s 0 turns resume off: no resume_token, a drop is a leave', async () => {
  const server = await start(['--resume-window-s', '0']);
  const { a, b, room } = await pair(server);
  assert.equal(a.welcome.resume_token, undefined);
  a.terminate();
  assert.equal((await b.next({ type: 'peer-left', room, peer: a.peer })).reason, 'disconnected');
});

test('a wrong resume_token or another user never takes the session over', async () => {
  const server = await start();
  const { a, b, room } = await pair(server);
  const w = a.welcome;
  const flipped = w.resume_token.slice(0, -1) + (w.resume_token.endsWith('0') ? '1' : '0');
  const attempts = [
    { sub: 'alice', resume_token: flipped, last_seq: 0 },            // right user, wrong secret
    { sub: 'mallory', resume_token: w.resume_token, last_seq: 0 },   // right secret, other user
    { sub: 'mallory', resume_token: flipped, last_seq: 0 },
  ];
  for (const x of attempts) {
    const { c, welcome, before } = await resume(server, { ...x, session: w.session });
    assert.equal(welcome.resumed, false, JSON.stringify(x));
    assert.notEqual(welcome.session, w.session);
    assert.notEqual(welcome.peer, a.peer);
    assert.deepEqual(before, []);
    const r = await c.request({ type: 'message', room, data: 'intrude' });
    assert.equal(r.code, 'not-in-room');
  }
  // a is still connected and still the one that gets its traffic.
  assert.equal(a.closeInfo, null);
  await sendNumbered(b, room, a.peer, 1, 1);
  assert.deepEqual((await a.next('message')).data, { n: 1 });
  // Also after a drop: a parked session stays parked for its owner.
  await drop(server, a);
  const x = await resume(server, { sub: 'mallory', session: w.session, resume_token: w.resume_token, last_seq: lastSeq(a) });
  assert.equal(x.welcome.resumed, false);
  const ok = await resume(server, { sub: 'alice', session: w.session, resume_token: w.resume_token, last_seq: lastSeq(a) });
  assert.equal(ok.welcome.resumed, true);
  assert.equal(ok.welcome.peer, a.peer);
  await b.barrier();
  assert.deepEqual(b.received('peer-left'), []);
});

test('a last_seq the session never sent is refused: a new session', async () => {
  const server = await start();
  const { a } = await pair(server);
  await drop(server, a);
  const { welcome } = await resume(server, {
    sub: 'alice', session: a.welcome.session, resume_token: a.welcome.resume_token, last_seq: lastSeq(a) + 100,
  });
  assert.equal(welcome.resumed, false);
});

test('malformed resume objects are bad requests', async () => {
  const server = await start();
  const token = hsToken(server.secret, { sub: 'alice' });
  const bad = [
    { session: 's', resume_token: 't', last_seq: -1 },
    { session: 's', resume_token: 't', last_seq: 1.5 },
    { session: 's', resume_token: 't', last_seq: '3' },
    { session: 's', resume_token: 't' },
    { session: '', resume_token: 't', last_seq: 0 },
    { session: 7, resume_token: 't', last_seq: 0 },
    { session: 's', resume_token: ['t'], last_seq: 0 },
    'session',
  ];
  const c = await Client.connect(server.wsUrl);
  for (const resumeField of bad) {
    const r = await c.request({ type: 'hello', token, resume: resumeField });
    assert.equal(r.type, 'error', JSON.stringify(resumeField));
    assert.equal(r.code, 'bad-request', JSON.stringify(r));
  }
  const ok = await c.request({ type: 'hello', token, resume: { session: 's', resume_token: 't', last_seq: 0, extra: [1] } });
  assert.equal(ok.type, 'welcome');
  assert.equal(ok.resumed, false);
});

test('overflow while parked ends the session: peer-left "resume-overflow", then resumed: false', async () => {
  const server = await start(['--resume-buffer-messages', '5']);
  const { a, b, room } = await pair(server);
  await drop(server, a);
  // Up to 5 frames are kept; the 6th overflows. Relays accepted before the end are acked.
  for (let n = 1; n <= 6; n++) {
    const r = await b.request({ type: 'message', room, to: a.peer, data: { n } });
    assert.equal(r.type, 'ack', JSON.stringify(r));
  }
  const left = await b.next({ type: 'peer-left', room, peer: a.peer });
  assert.equal(left.reason, 'resume-overflow');
  const r = await b.request({ type: 'message', room, to: a.peer, data: 'late' });
  assert.equal(r.code, 'peer-not-found');
  const { welcome } = await resume(server, {
    sub: 'alice', session: a.welcome.session, resume_token: a.welcome.resume_token, last_seq: lastSeq(a),
  });
  assert.equal(welcome.resumed, false);
});

test('resume across event loops: the connection lands on the other loop, the session stays on its home', async () => {
  const server = await start(['--threads', '2']);
  const { a, b, room } = await pair(server);
  const home = shardOf(a.peer);
  await sendNumbered(b, room, a.peer, 1, 2);
  await a.next((m) => m.type === 'message' && m.data.n === 2);
  const seen = lastSeq(a);
  await drop(server, a);
  await sendNumbered(b, room, a.peer, 3, 4);
  // Connections are handed to the loops round robin: after a probe lands on the
  // home loop, the next connection lands on the other one.
  for (let i = 0; i < 4; i++) {
    const probe = await connectPeer(server, { name: `probe-${i}` });
    if (shardOf(probe.peer) === home) break;
    assert.ok(i < 3, 'no probe landed on the home loop');
  }
  const line = server.waitForLine('stderr', new RegExp(`resumed peer=${escape(a.peer)} .*from_loop=(\\d+) home_loop=(\\d+)`));
  const { c, welcome, before } = await resume(server, {
    sub: 'alice', session: a.welcome.session, resume_token: a.welcome.resume_token, last_seq: seen,
  });
  const m = /from_loop=(\d+) home_loop=(\d+)/.exec(await line);
  assert.notEqual(Number(m[1]), Number(m[2]), `resumed on the home loop: ${m[0]}`);
  assert.equal(Number(m[2]), home);
  assert.equal(welcome.resumed, true);
  assert.equal(welcome.peer, a.peer);
  assert.deepEqual(before.map((f) => f.data), [{ n: 3 }, { n: 4 }]);
  // Traffic keeps flowing both ways through the other loop, seq continuing.
  await sendNumbered(b, room, a.peer, 5, 7);
  const next = [];
  for (let n = 5; n <= 7; n++) next.push(await c.next((f) => f.type === 'message' && f.data.n === n));
  assert.deepEqual(next.map((f) => f.data.n), [5, 6, 7]);
  assert.deepEqual(next.map((f) => f.seq), [welcome.seq + 1, welcome.seq + 2, welcome.seq + 3]);
  assert.equal((await c.request({ type: 'message', room, data: 'to the room' })).type, 'ack');
  assert.equal((await b.next('message')).from, a.peer);
  // A second drop and resume, now from the foreign loop's connection.
  const seen2 = lastSeq(c);
  await sendNumbered(b, room, a.peer, 8, 8);
  await c.next((f) => f.type === 'message' && f.data.n === 8);
  c.terminate();
  await sendNumbered(b, room, a.peer, 9, 9);
  const again = await resume(server, { sub: 'alice', session: a.welcome.session, resume_token: a.welcome.resume_token, last_seq: seen2 });
  assert.equal(again.welcome.resumed, true);
  assert.deepEqual(again.before.map((f) => f.data.n), [8, 9]);
  await b.barrier();
  assert.deepEqual(b.received((f) => f.type === 'peer-left' || f.type === 'peer-joined'), []);
});

test('resume of a session whose connection is still open takes it over: old one closed 4409', async () => {
  const server = await start(['--threads', '2']);
  const { a, b, room } = await pair(server);
  await sendNumbered(b, room, a.peer, 1, 1);
  await a.next('message');
  const { c, welcome, before } = await resume(server, {
    sub: 'alice', session: a.welcome.session, resume_token: a.welcome.resume_token, last_seq: lastSeq(a),
  });
  assert.equal(welcome.resumed, true);
  assert.equal(welcome.peer, a.peer);
  assert.deepEqual(before, []);
  const closed = await a.closed();
  assert.equal(closed.code, 4409);
  assert.equal(closed.reason, 'resumed elsewhere');
  await sendNumbered(b, room, a.peer, 2, 2);
  assert.deepEqual((await c.next('message')).data, { n: 2 });
  // The takeover can be taken over again (a third connection).
  const third = await resume(server, { sub: 'alice', session: a.welcome.session, resume_token: a.welcome.resume_token, last_seq: lastSeq(c) });
  assert.equal(third.welcome.resumed, true);
  assert.equal((await c.closed()).code, 4409);
  await sendNumbered(b, room, a.peer, 3, 3);
  assert.deepEqual((await third.c.next('message')).data, { n: 3 });
  await b.barrier();
  assert.deepEqual(b.received((f) => f.type === 'peer-left' || f.type === 'peer-joined'), []);
});

test('a client that closes with 1000 has left: no parking, peer-left at once', async () => {
  const server = await start();
  const { a, b, room } = await pair(server);
  await a.close(1000);
  assert.equal((await b.next({ type: 'peer-left', room, peer: a.peer })).reason, 'disconnected');
});

test('room broadcasts and membership events while parked are replayed too', async () => {
  const server = await start(['--threads', '2']);
  const { a, b, room } = await pair(server);
  const seen = lastSeq(a);
  await drop(server, a);
  assert.equal((await b.request({ type: 'message', room, data: 'to all' })).type, 'ack');
  const c = await connectPeer(server, { name: 'c', claims: { sub: 'carol' } });
  await join(c, room);
  await b.next({ type: 'peer-joined', room, peer: c.peer });
  assert.equal((await b.request({ type: 'update', room, metadata: { mic: false } })).type, 'ack');
  await b.request({ type: 'leave', room });
  const r = await resume(server, { sub: 'alice', session: a.welcome.session, resume_token: a.welcome.resume_token, last_seq: seen });
  assert.equal(r.welcome.resumed, true);
  assert.deepEqual(r.before.map((m) => [m.type, m.peer ?? m.from]), [
    ['message', b.peer], ['peer-joined', c.peer], ['peer-updated', b.peer], ['peer-left', b.peer],
  ]);
  assert.equal(r.before.at(-1).reason, 'left');
  // c joined while a was away, and sees a as a member all along.
  const joined = c.received('joined')[0];
  assert.ok(joined.peers.some((p) => p.peer === a.peer), JSON.stringify(joined));
});
