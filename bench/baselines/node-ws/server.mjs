// Baseline: the protocol v1 subset the benchmark uses, on Node.js + ws — the
// stack of the article Switchboard was seeded from, written the way a Node
// user would: ws's WebSocketServer on node:http, JSON.parse/JSON.stringify per
// message, Maps for rooms and peers, HS256 verified with node:crypto, the ws
// heartbeat recipe (ping every heartbeat, terminate if no pong). bufferutil is
// installed, as ws's README recommends for speed.
//
// Subset: hello (HS256 JWT, exp/nbf, sub, name, grants.rooms), join (with
// metadata), leave, offer/answer/ice-candidate/message with `to`, room-wide
// message, joined/peer-joined/peer-left, ack when an id is given, ping/pong,
// errors, and a per-connection seq on every server message.
//
//   node server.mjs --listen 127.0.0.1:0 --jwt-hs256-secret S
// Prints `listening on http://HOST:PORT` on stderr once listening.
import { createServer } from 'node:http';
import { createHmac, randomUUID, timingSafeEqual } from 'node:crypto';
import { WebSocketServer } from 'ws';

function arg(name, fallback) {
  const i = process.argv.indexOf(name);
  return i > 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}

const listen = arg('--listen', `127.0.0.1:${process.env.PORT ?? 8080}`);
const secret = arg('--jwt-hs256-secret', process.env.SWITCHBOARD_JWT_HS256_SECRET);
const heartbeatS = Number(arg('--heartbeat-s', 20));
const helloTimeoutS = 10;
const maxRoomPeers = 50;
if (!secret) {
  console.error('--jwt-hs256-secret (or SWITCHBOARD_JWT_HS256_SECRET) is required');
  process.exit(2);
}
const colon = listen.lastIndexOf(':');
const host = listen.slice(0, colon);
const port = Number(listen.slice(colon + 1));

const ROOM_RE = /^[A-Za-z0-9._-]{1,64}$/;
const RELAY = new Set(['offer', 'answer', 'ice-candidate', 'message']);

/** @type {Map<string, Map<string, Peer>>} room name -> members by peer id */
const rooms = new Map();

function verifyToken(token) {
  if (typeof token !== 'string') return null;
  const parts = token.split('.');
  if (parts.length !== 3) return null;
  try {
    const header = JSON.parse(Buffer.from(parts[0], 'base64url').toString());
    if (header.alg !== 'HS256') return null;
    const expected = createHmac('sha256', secret).update(`${parts[0]}.${parts[1]}`).digest();
    const signature = Buffer.from(parts[2], 'base64url');
    if (signature.length !== expected.length || !timingSafeEqual(signature, expected)) return null;
    const claims = JSON.parse(Buffer.from(parts[1], 'base64url').toString());
    const now = Date.now() / 1000;
    if (typeof claims.exp !== 'number' || claims.exp + 30 < now) return null;
    if (typeof claims.nbf === 'number' && claims.nbf - 30 > now) return null;
    if (typeof claims.sub !== 'string' || claims.sub === '') return null;
    return claims;
  } catch {
    return null;
  }
}

function mayJoin(claims, room) {
  const allowed = claims.grants?.rooms;
  if (!Array.isArray(allowed)) return false;
  return allowed.some((g) => g === '*' || g === room || (g.endsWith('-*') && room.startsWith(g.slice(0, -1))));
}

class Peer {
  constructor(ws) {
    this.ws = ws;
    this.id = randomUUID();
    this.seq = 0;
    this.claims = null;
    this.rooms = new Set();
    this.alive = true;
    this.helloTimer = setTimeout(() => ws.close(4401, 'no hello in time'), helloTimeoutS * 1000);
  }

  send(msg) {
    msg.seq = ++this.seq;
    this.ws.send(JSON.stringify(msg));
  }

  error(id, code, message) {
    const msg = { type: 'error', code, message };
    if (id !== undefined) msg.id = id;
    this.send(msg);
  }

  describe(metadata) {
    const d = { peer: this.id, user: this.claims.sub };
    if (this.claims.name) d.name = this.claims.name;
    d.metadata = metadata;
    return d;
  }
}

function withId(msg, id) {
  if (id !== undefined) msg.id = id;
  return msg;
}

function hello(peer, msg) {
  const claims = verifyToken(msg.token);
  if (!claims) {
    peer.error(msg.id, 'unauthorized', 'invalid token');
    peer.ws.close(4401, 'invalid token');
    return;
  }
  clearTimeout(peer.helloTimer);
  peer.claims = claims;
  const welcome = withId({ type: 'welcome', session: randomUUID(), peer: peer.id, user: claims.sub }, msg.id);
  if (claims.name) welcome.name = claims.name;
  welcome.heartbeat_s = heartbeatS;
  welcome.ice_servers = [];
  peer.send(welcome);
}

function join(peer, msg) {
  const { room } = msg;
  if (typeof room !== 'string' || !ROOM_RE.test(room)) return peer.error(msg.id, 'bad-request', 'invalid room');
  const metadata = msg.metadata ?? {};
  if (typeof metadata !== 'object' || Array.isArray(metadata) || metadata === null)
    return peer.error(msg.id, 'bad-request', 'metadata must be an object');
  if (!mayJoin(peer.claims, room)) return peer.error(msg.id, 'forbidden', 'token does not grant this room');
  if (peer.rooms.has(room)) return peer.error(msg.id, 'already-joined', 'already in this room');
  let members = rooms.get(room);
  if (!members) rooms.set(room, (members = new Map()));
  if (members.size >= maxRoomPeers) return peer.error(msg.id, 'room-full', 'room is full');
  const others = [...members.values()];
  members.set(peer.id, peer);
  peer.rooms.add(room);
  peer.metadata ??= new Map();
  peer.metadata.set(room, metadata);
  peer.send(withId({ type: 'joined', room, peers: others.map((o) => o.describe(o.metadata.get(room))) }, msg.id));
  for (const other of others) other.send({ type: 'peer-joined', room, ...peer.describe(metadata) });
}

function leaveRoom(peer, room, reason) {
  const members = rooms.get(room);
  peer.rooms.delete(room);
  peer.metadata?.delete(room);
  if (!members) return;
  members.delete(peer.id);
  if (members.size === 0) {
    rooms.delete(room);
    return;
  }
  for (const other of members.values()) other.send({ type: 'peer-left', room, peer: peer.id, reason });
}

function relay(peer, msg) {
  const { room, to } = msg;
  if (typeof room !== 'string') return peer.error(msg.id, 'bad-request', 'room is required');
  if (!('data' in msg)) return peer.error(msg.id, 'bad-request', 'data is required');
  if (!peer.rooms.has(room)) return peer.error(msg.id, 'not-in-room', 'not in this room');
  const members = rooms.get(room);
  const out = { type: msg.type, room, from: peer.id, data: msg.data };
  if (to === undefined) {
    if (msg.type !== 'message') return peer.error(msg.id, 'bad-request', 'to is required');
    for (const other of members.values()) if (other !== peer) other.send({ ...out });
  } else {
    if (to === peer.id) return peer.error(msg.id, 'bad-request', 'cannot relay to yourself');
    const target = members.get(to);
    if (!target) return peer.error(msg.id, 'peer-not-found', 'no such peer in this room');
    target.send(out);
  }
  if (msg.id !== undefined) peer.send({ type: 'ack', id: msg.id });
}

function onMessage(peer, data, isBinary) {
  peer.alive = true;
  if (isBinary) return peer.ws.close(4400, 'binary frames are not accepted');
  let msg;
  try {
    msg = JSON.parse(data);
  } catch {
    return peer.error(undefined, 'bad-request', 'not JSON');
  }
  if (typeof msg !== 'object' || msg === null || Array.isArray(msg) || typeof msg.type !== 'string')
    return peer.error(undefined, 'bad-request', 'not a message object');
  if (!peer.claims) {
    if (msg.type === 'hello') return hello(peer, msg);
    return peer.error(msg.id, 'unauthorized', 'send hello with a token first');
  }
  if (RELAY.has(msg.type)) return relay(peer, msg);
  switch (msg.type) {
    case 'join':
      return join(peer, msg);
    case 'leave':
      if (!peer.rooms.has(msg.room)) return peer.error(msg.id, 'not-in-room', 'not in this room');
      leaveRoom(peer, msg.room, 'left');
      return peer.send({ type: 'ack', id: msg.id });
    case 'ping':
      return peer.send(withId({ type: 'pong' }, msg.id));
    case 'hello':
      return peer.error(msg.id, 'bad-request', 'already authenticated');
    default:
      return peer.error(msg.id, 'bad-request', 'unknown type');
  }
}

const server = createServer((req, res) => {
  if (req.url === '/healthz') return res.end('ok');
  res.writeHead(404).end();
});
const wss = new WebSocketServer({ server, path: '/ws', maxPayload: 64 * 1024 });

wss.on('connection', (ws) => {
  const peer = new Peer(ws);
  ws.on('message', (data, isBinary) => onMessage(peer, data, isBinary));
  ws.on('pong', () => (peer.alive = true));
  ws.on('error', () => {});
  ws.on('close', () => {
    clearTimeout(peer.helloTimer);
    for (const room of [...peer.rooms]) leaveRoom(peer, room, 'disconnected');
  });
  ws.peer = peer;
});

// ws's documented heartbeat: ping everyone each period, drop who did not answer the last one.
const heartbeat = setInterval(() => {
  for (const ws of wss.clients) {
    if (!ws.peer.alive) {
      ws.terminate();
      continue;
    }
    ws.peer.alive = false;
    ws.ping();
  }
}, heartbeatS * 1000);

server.listen(port, host, () => {
  const a = server.address();
  console.error(`listening on http://${a.address}:${a.port}`);
});

function shutdown() {
  clearInterval(heartbeat);
  for (const ws of wss.clients) ws.close(1001, 'shutdown');
  server.close(() => process.exit(0));
  setTimeout(() => process.exit(0), 2000).unref();
}
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
