// Shared building blocks for the integration tests: a per-file server fixture,
// connected-and-greeted peers, joining rooms, unique room names, raw HTTP.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import net from 'node:net';
import { after, afterEach, before } from 'node:test';
import { Client, closeAllClients } from './client.mjs';
import { hsToken } from './jwt.mjs';
import { startServer } from './server.mjs';

export { Client, closeAllClients };

// Starts a server before the file's tests and stops it after them; terminates
// every client after each test. Returns a function giving the running server.
export function serverFixture(opts = {}) {
  let server;
  before(async () => { server = await startServer(opts); });
  afterEach(() => closeAllClients());
  after(async () => {
    closeAllClients();
    if (server) await server.shutdown();
  });
  return () => server;
}

let roomCounter = 0;
export function uniqueRoom(prefix = 'room') {
  roomCounter += 1;
  return `${prefix}-${roomCounter}-${crypto.randomBytes(3).toString('hex')}`;
}

let userCounter = 0;

// Connects to `server`, sends hello with an HS256 token built from `claims`
// (sub defaults to a fresh user id, grants to every room) and waits for welcome.
// Returns the client with .welcome, .peer (peer id) and .user.
export async function connectPeer(server, { claims = {}, name, url, connect = {} } = {}) {
  userCounter += 1;
  const sub = claims.sub ?? `user-${userCounter}`;
  const token = hsToken(server.secret, { sub, ...claims });
  const c = await Client.connect(url ?? server.wsUrl, { name: name ?? sub, ...connect });
  const welcome = await c.request({ type: 'hello', token });
  assert.equal(welcome.type, 'welcome', `hello failed: ${JSON.stringify(welcome)}`);
  c.welcome = welcome;
  c.peer = welcome.peer;
  c.user = welcome.user;
  return c;
}

// Sends join and asserts the reply is `joined`; returns it.
export async function join(client, room, metadata) {
  const msg = { type: 'join', room };
  if (metadata !== undefined) msg.metadata = metadata;
  const reply = await client.request(msg);
  assert.equal(reply.type, 'joined', `${client.name} join ${room} failed: ${JSON.stringify(reply)}`);
  return reply;
}

// Connects `n` peers and joins them all to `room` one after the other; each
// earlier peer consumes the peer-joined of the later ones.
export async function peersInRoom(server, n, room, opts = {}) {
  const peers = [];
  for (let i = 0; i < n; i++) {
    const p = await connectPeer(server, opts);
    await join(p, room);
    for (const q of peers) await q.next({ type: 'peer-joined', room, peer: p.peer });
    peers.push(p);
  }
  return peers;
}

// Asserts that `reply` is an error with `code` (and `id` when given).
export function assertError(reply, code, id) {
  assert.equal(reply.type, 'error', `expected error ${code}, got ${JSON.stringify(reply)}`);
  assert.equal(reply.code, code, `expected error code ${code}, got ${JSON.stringify(reply)}`);
  assert.equal(typeof reply.message, 'string', 'error.message must be a string');
  if (id !== undefined) assert.deepEqual(reply.id, id);
}

// A raw HTTP/1.1 GET, path sent verbatim (no client-side normalisation of ../).
// Resolves with {status, headers (raw text), body}.
export function rawGet(server, path, { timeout = 5000 } = {}) {
  return new Promise((resolve, reject) => {
    const sock = net.connect(server.port, server.host);
    const chunks = [];
    const timer = setTimeout(() => { sock.destroy(); reject(new Error(`GET ${path}: timeout`)); }, timeout);
    sock.on('connect', () => {
      sock.write(`GET ${path} HTTP/1.1\r\nHost: ${server.host}:${server.port}\r\nConnection: close\r\n\r\n`);
    });
    sock.on('data', (d) => chunks.push(d));
    sock.on('error', (e) => { clearTimeout(timer); reject(e); });
    sock.on('close', () => {
      clearTimeout(timer);
      const text = Buffer.concat(chunks).toString('latin1');
      const m = /^HTTP\/1\.[01] (\d{3})/.exec(text);
      if (!m) { reject(new Error(`GET ${path}: no HTTP status line in ${JSON.stringify(text.slice(0, 200))}`)); return; }
      const sep = text.indexOf('\r\n\r\n');
      resolve({ status: Number(m[1]), headers: text.slice(0, sep), body: sep >= 0 ? text.slice(sep + 4) : '' });
    });
  });
}
