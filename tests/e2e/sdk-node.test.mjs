// The SDK (web/sdk/switchboard.js) driven from Node against the real server: replies matched by id,
// errors carrying the protocol code, relays, the heartbeat, reconnect + re-join with metadata
// (and a token fetched again), session resume, and going-away on shutdown. No browser needed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { WebSocket } from 'ws';
import { Switchboard, SwitchboardError } from '../../web/sdk/switchboard.js';
import { startServer, startProxy, mintToken, waitFor } from './lib/env.mjs';
import { startCluster } from '../integration/lib/cluster.mjs';

/** Resolves with the detail of the next `type` event on `emitter` matching `pred`. */
function next(emitter, type, pred = () => true, timeout = 10000) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { off(); reject(new Error(`no ${type} event within ${timeout} ms`)); }, timeout);
    const off = emitter.on(type, (d) => { if (pred(d)) { clearTimeout(timer); off(); resolve(d); } });
  });
}

const SECRET = crypto.randomBytes(24).toString('hex');
const mint = (sub, opts) => mintToken(SECRET, sub, opts);

/** `ws` answers WebSocket pings by itself; this one does not, like a frozen tab would not. */
class NoAutoPong extends WebSocket {
  constructor(url, protocols) { super(url, protocols, { autoPong: false }); }
}

test('SDK in Node against the server', { timeout: 60000 }, async (t) => {
  // A dropped session is kept 3 s for a resume (the default is 30 s), so that the re-join path can be shown too.
  const server = await startServer(t, { args: ['--heartbeat-s', '1', '--jwt-hs256-secret', SECRET, '--resume-window-s', '3'] });
  const wsUrl = `${server.origin.replace(/^http/, 'ws')}/ws`;
  const devToken = async (name) => (await (await fetch(`${server.origin}/v1/dev-token?name=${name}`)).json()).token;
  const cleanups = [];
  const clients = [];
  t.after(async () => {
    for (const c of clients) c.close();
    for (const fn of cleanups) await fn();
  });
  const client = (opts) => {
    const c = new Switchboard({ url: wsUrl, WebSocket: NoAutoPong, ...opts });
    clients.push(c);
    return c;
  };
  const room = 'sdk-room';
  const a = client({ token: await devToken('Ann') });
  const b = client({ token: await devToken('Ben') });

  await t.test('connect and join; replies matched by id; errors reject with their code', async () => {
    const welcome = await a.connect();
    assert.equal(a.state, 'open');
    assert.equal(welcome.heartbeat_s, 1);
    assert.equal(welcome.name, 'Ann');
    assert.equal(a.peerId, welcome.peer);
    assert.deepEqual((await a.join(room, { name: 'Ann' })).peers, []);

    await b.connect();
    const joinedEvent = next(a, 'peer-joined');
    const joined = await b.join(room, { name: 'Ben', role: 'x' });
    assert.deepEqual(joined.peers.map((p) => [p.peer, p.metadata.name]), [[a.peerId, 'Ann']]);
    const pj = await joinedEvent;
    assert.equal(pj.peer, b.peerId);
    assert.deepEqual(pj.metadata, { name: 'Ben', role: 'x' });
    assert.deepEqual(a.peers(room).map((p) => p.peer), [b.peerId]);

    const code = (c) => (err) => err instanceof SwitchboardError && err.code === c;
    await assert.rejects(a.join(room), code('already-joined'));
    await assert.rejects(a.join('no spaces allowed'), code('bad-request'));
    await assert.rejects(a.leave('never-joined'), code('not-in-room'));
    await assert.rejects(a.request({ type: 'message', room, to: 'nobody', data: 1 }), code('peer-not-found'));
    // Concurrent requests each get their own reply.
    const [p1, p2, p3] = await Promise.all([a.ping(), a.request({ type: 'ping' }), a.request({ type: 'ping' })]);
    assert.equal(p1, undefined);
    assert.notEqual(p2.id, p3.id);
    assert.equal(a.state, 'open');
  });

  await t.test('relays and metadata updates', async () => {
    const msg = next(a, 'message');
    assert.equal(b.sendMessage(room, { text: 'hi', name: 'Ben' }), true);
    const { seq, ...m } = await msg;
    assert.ok(Number.isInteger(seq));
    assert.deepEqual(m, { type: 'message', room, from: b.peerId, data: { text: 'hi', name: 'Ben' } });

    const offer = next(a, 'offer');
    b.sendOffer(room, a.peerId, { type: 'offer', sdp: 'v=0' });
    assert.deepEqual((await offer).data, { type: 'offer', sdp: 'v=0' });
    const cand = next(b, 'ice-candidate');
    a.sendCandidate(room, b.peerId, { candidate: 'candidate:1 1 udp 1 127.0.0.1 9 typ host', sdpMid: '0' });
    assert.equal((await cand).from, a.peerId);

    const ack = await b.request({ type: 'message', room, to: a.peerId, data: [1, 2] });
    assert.equal(ack.type, 'ack');

    const updated = next(b, 'peer-updated');
    await a.update(room, { name: 'Ann', muted: true });
    assert.deepEqual((await updated).metadata, { name: 'Ann', muted: true });
    assert.deepEqual(b.peers(room)[0].metadata, { name: 'Ann', muted: true });
  });

  await t.test('heartbeat: the SDK keeps a connection alive that never answers WebSocket pings', async () => {
    // Control: a bare socket that does not pong is closed after 2 x heartbeat (4408)...
    const raw = new NoAutoPong(wsUrl);
    raw.on('open', async () => raw.send(JSON.stringify({ type: 'hello', token: await devToken('Raw') })));
    const closeCode = await new Promise((resolve) => raw.on('close', resolve));
    assert.equal(closeCode, 4408);
    // ...while the SDK clients (same socket class) stayed open all along, thanks to their `ping` frames.
    assert.equal(a.state, 'open');
    assert.equal(b.state, 'open');
    assert.equal((await a.request({ type: 'ping' })).type, 'pong');
  });

  await t.test('reconnect: new token fetched, re-hello, re-join with metadata, vanished peers reported', async () => {
    const proxy = await startProxy(new URL(server.origin).host, { cleanups });
    let tokens = 0;
    let aSawLeft;
    const c = client({
      url: `${proxy.origin.replace(/^http/, 'ws')}/ws`,
      // The second token only once the old session is gone (its resume window passed): a re-join then
      // finds the room without it.
      getToken: async () => { tokens++; if (tokens > 1) await aSawLeft; return devToken('Cid'); },
      minBackoffMs: 200,
      resume: false, // the path taken when a session cannot be resumed
    });
    await c.connect();
    await c.join(room, { name: 'Cid', n: 1 });
    const oldPeer = c.peerId;
    assert.equal(c.peers(room).length, 2);

    const states = [];
    c.on('state', ({ state }) => states.push(state));
    aSawLeft = next(a, 'peer-left', (d) => d.peer === oldPeer);
    const aSawJoin = next(a, 'peer-joined', (d) => d.peer !== oldPeer && d.metadata.name === 'Cid');
    const gone = next(c, 'peer-left', (d) => d.peer === b.peerId);
    const rejoined = next(c, 'rejoined');
    assert.equal(await proxy.cut(), 1);
    await b.leave(room); // while c is away: c must learn that b is gone when it comes back

    const r = await rejoined;
    assert.deepEqual(states.slice(0, 2), ['reconnecting', 'open']);
    assert.equal(tokens, 2);
    assert.notEqual(c.peerId, oldPeer);
    assert.deepEqual(r.peers.map((p) => p.peer), [a.peerId]);
    assert.deepEqual(await gone, { room, peer: b.peerId, reason: 'gone' });
    assert.equal((await aSawLeft).reason, 'disconnected');
    assert.deepEqual((await aSawJoin).metadata, { name: 'Cid', n: 1 });
    assert.deepEqual(c.peers(room).map((p) => p.peer), [a.peerId]);
    // Works as before.
    const msg = next(a, 'message');
    c.sendMessage(room, 'still here');
    assert.equal((await msg).from, c.peerId);
  });

  await t.test('resume: same peer id and rooms, missed events replayed once, others see nothing', async () => {
    const proxy = await startProxy(new URL(server.origin).host, { cleanups });
    const d = client({ url: `${proxy.origin.replace(/^http/, 'ws')}/ws`, token: await devToken('Dee'), minBackoffMs: 200 });
    await d.connect();
    const r2 = 'sdk-resume';
    await d.join(r2, { name: 'Dee' });
    const peer = d.peerId;
    await b.join(r2, { name: 'Ben' });
    await next(d, 'peer-joined', (x) => x.peer === b.peerId);
    const bSawLeft = [];
    const offLeft = b.on('peer-left', (x) => bSawLeft.push(x));
    const welcome = next(d, 'welcome');
    const messages = [];
    d.on('message', (m) => messages.push(m.data));
    assert.equal(await proxy.cut(), 1);
    for (let n = 1; n <= 3; n++) await b.request({ type: 'message', room: r2, to: peer, data: n }); // acked: kept for d
    const w = await welcome;
    assert.equal(w.resumed, true);
    assert.equal(d.peerId, peer);
    while (messages.length < 3) await next(d, 'message');
    assert.deepEqual(messages, [1, 2, 3]);
    const back = next(b, 'message', (m) => m.data === 'back');
    d.sendMessage(r2, 'back');
    assert.equal((await back).from, peer);
    offLeft();
    assert.deepEqual(bSawLeft, []);
    await b.leave(r2);
    await d.leave(r2);
  });

  await t.test('token refresh: automatic before exp, same user only', async () => {
    const asks = [];
    // exp in 62 s: the SDK must refresh at least 60 s before, i.e. within ~2 s.
    const r = client({
      getToken: (info) => { asks.push(info); return mint('rita', { ttl: asks.length === 1 ? 62 : 3600 }); },
    });
    await r.connect();
    await r.join('refresh-room');
    await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no refresh asked: ${JSON.stringify(asks)}`)), 8000);
      const poll = setInterval(() => { if (asks.length >= 2) { clearInterval(poll); clearTimeout(timer); resolve(); } }, 50);
    });
    assert.deepEqual(asks, [{ refused: false, refresh: false }, { refused: false, refresh: true }]);
    assert.equal((await r.request({ type: 'ping' })).type, 'pong');
    assert.equal(r.state, 'open');
    await r.refresh(mint('rita')); // explicit refresh with a token for the same user
    await assert.rejects(r.refresh(mint('someone-else')), (err) => err.code === 'forbidden');
    await assert.rejects(r.refresh('garbage'), (err) => err.code === 'unauthorized');
    assert.ok(r.rooms.has('refresh-room'));
    r.close();
  });

  await t.test('connect() twice shares one attempt; close() during connect rejects it', async () => {
    let sockets = 0;
    class Counting extends NoAutoPong { constructor(url) { super(url); sockets++; } }
    const d = client({ getToken: () => devToken('Dee'), WebSocket: Counting });
    const [w1, w2] = await Promise.all([d.connect(), d.connect()]);
    assert.equal(w1, w2);
    assert.equal(sockets, 1);
    d.close();
    const e = client({ getToken: () => devToken('Eve') });
    const pending = e.connect();
    e.close();
    await assert.rejects(pending, (err) => err.code === 'disconnected');
    assert.equal(e.state, 'closed');
  });

  await t.test('a refused token fails connect() with unauthorized and does not retry', async () => {
    const bad = client({ token: 'not-a-jwt' });
    await assert.rejects(bad.connect(), (err) => err.code === 'unauthorized');
    assert.equal(bad.state, 'closed');
  });

  await t.test('shutdown: going-away, then the client keeps trying to reconnect', async () => {
    const away = next(a, 'going-away');
    const reconnecting = next(a, 'state', (d) => d.state === 'reconnecting');
    const { code } = await server.stop();
    assert.equal(code, 0);
    const ga = await away;
    assert.equal(ga.reason, 'draining'); // SIGTERM drains: come back (elsewhere) and resume
    assert.equal(ga.reconnect, true);
    await reconnecting;
    a.close();
    assert.equal(a.state, 'closed');
  });
});

test('SDK in a cluster: after going-away (drain), relays and requests wait for the resumed session', { timeout: 60000 }, async (t) => {
  // Two nodes on one Redis behind HAProxy; the SDK client lands on one of them, which is then drained.
  const cl = await startCluster({
    nodes: 2, haproxy: true,
    args: ['--resume-window-s', '10', '--drain-spread-s', '1', '--node-heartbeat-ms', '200', '--node-ttl-ms', '1000'],
  });
  const clients = [];
  let drained = null;
  t.after(async () => {
    for (const c of clients) c.close();
    await cl.stop({ expectedDown: drained ? [drained] : [] });
  });
  // Records what the SDK writes on each socket.
  const sockets = [];
  class Recording extends WebSocket {
    constructor(url, protocols) { super(url, protocols); this.written = []; sockets.push(this); }
    send(data, ...rest) { this.written.push(JSON.parse(data)); return super.send(data, ...rest); }
  }
  const room = 'sdk-drain';
  const d = new Switchboard({ url: cl.lb.wsUrl, token: mintToken(cl.secret, 'dee'), WebSocket: Recording, minBackoffMs: 50 });
  clients.push(d);
  await d.connect();
  await d.join(room);
  const peer = d.peerId;
  drained = cl.nodeOf(peer);
  const other = cl.nodes.find((n) => n !== drained);
  const b = new Switchboard({ url: other.wsUrl, token: mintToken(cl.secret, 'ben'), WebSocket });
  clients.push(b);
  await b.connect();
  await b.join(room);
  const got = [];
  b.on('message', (m) => got.push(m));
  const bSawMembership = [];
  b.on('peer-left', (x) => bSawMembership.push(x));
  b.on('peer-joined', (x) => bSawMembership.push(x));

  // The application sends as soon as it hears going-away: one relay, one request.
  let closing = null;
  let relayed;
  let acked;
  const away = new Promise((resolve) => {
    const off = d.on('going-away', (ga) => {
      off();
      closing = d.ws;
      relayed = d.sendMessage(room, 'held relay', b.peerId);
      acked = d.request({ type: 'message', room, to: b.peerId, data: 'held request' });
      resolve(ga);
    });
  });
  const welcome = next(d, 'welcome', () => true, 20000);
  const exited = drained.stop({ signal: 'SIGTERM', timeout: 15000 });
  const ga = await away;
  assert.deepEqual({ reason: ga.reason, reconnect: ga.reconnect }, { reason: 'draining', reconnect: true });
  assert.equal(relayed, true, 'a relay after going-away is held, not refused');
  const w = await welcome;
  assert.equal((await acked).type, 'ack', 'the held request is answered on the new session');
  await waitFor(() => got.length >= 2, { timeout: 10000, what: 'b receiving the held frames' });
  await b.ping();
  assert.deepEqual(got.map((m) => m.data), ['held relay', 'held request'], 'both arrive, once each, in order');
  assert.ok(got.every((m) => m.from === d.peerId));
  // Nothing was written on the closing socket after going-away; both went out on the socket of the new session.
  const after = (s) => s.written.filter((f) => f.type === 'message');
  assert.deepEqual(after(closing), [], 'nothing sent on the closing socket');
  const last = sockets.at(-1);
  assert.equal(last, d.ws);
  // hello, (the re-join when the session was not resumed), then the held frames in order
  assert.deepEqual(last.written.map((f) => f.type), ['hello', ...(w.resumed ? [] : ['join']), 'message', 'message']);
  assert.equal((await exited).code, 0);
  // Resumed on the other node: same peer, nobody saw it leave.
  assert.equal(w.resumed, true, `resumed on the other node: ${JSON.stringify(w)}`);
  assert.equal(d.peerId, peer);
  assert.deepEqual(bSawMembership, []);
});
