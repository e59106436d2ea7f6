// Baseline: the protocol v1 subset the benchmark uses, on Bun.serve — Bun's
// built-in WebSocket server (uWebSockets inside), written the way a Bun user
// would: server.upgrade() in fetch, per-socket state in ws.data, JSON.parse /
// JSON.stringify per message, Maps for rooms, HS256 verified with node:crypto
// (native in Bun), Bun's own pings and idle timeout for liveness. Room-wide
// messages are sent per member rather than with ws.publish(): every server
// message carries that connection's own seq, so each copy differs.
//
// Subset: hello (HS256 JWT, exp/nbf, sub, name, grants.rooms), join (with
// metadata), leave, offer/answer/ice-candidate/message with `to`, room-wide
// message, joined/peer-joined/peer-left, ack when an id is given, ping/pong,
// errors, and a per-connection seq on every server message.
//
//   bun server.ts --listen 127.0.0.1:0 --jwt-hs256-secret S
// Prints `listening on http://HOST:PORT` on stderr once listening.
import { createHmac, randomUUID, timingSafeEqual } from "node:crypto";
import type { ServerWebSocket } from "bun";

function arg(name: string, fallback?: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i > 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}

const listen = arg("--listen", `127.0.0.1:${process.env.PORT ?? 8080}`)!;
const secret = arg("--jwt-hs256-secret", process.env.SWITCHBOARD_JWT_HS256_SECRET);
const heartbeatS = Number(arg("--heartbeat-s", "20"));
const helloTimeoutS = 10;
const maxRoomPeers = 50;
if (!secret) {
  console.error("--jwt-hs256-secret (or SWITCHBOARD_JWT_HS256_SECRET) is required");
  process.exit(2);
}
const colon = listen.lastIndexOf(":");
const hostname = listen.slice(0, colon);
const port = Number(listen.slice(colon + 1));

const ROOM_RE = /^[A-Za-z0-9._-]{1,64}$/;
const RELAY = new Set(["offer", "answer", "ice-candidate", "message"]);

interface Claims {
  sub: string;
  name?: string;
  exp: number;
  nbf?: number;
  grants?: { rooms?: string[] };
}

interface PeerData {
  id: string;
  seq: number;
  claims: Claims | null;
  rooms: Map<string, unknown>; // room -> this peer's metadata there
  helloTimer?: Timer;
}

type Peer = ServerWebSocket<PeerData>;
type Msg = Record<string, any>;

const rooms = new Map<string, Map<string, Peer>>();

function verifyToken(token: unknown): Claims | null {
  if (typeof token !== "string") return null;
  const parts = token.split(".");
  if (parts.length !== 3) return null;
  try {
    const header = JSON.parse(Buffer.from(parts[0], "base64url").toString());
    if (header.alg !== "HS256") return null;
    const expected = createHmac("sha256", secret!).update(`${parts[0]}.${parts[1]}`).digest();
    const signature = Buffer.from(parts[2], "base64url");
    if (signature.length !== expected.length || !timingSafeEqual(signature, expected)) return null;
    const claims = JSON.parse(Buffer.from(parts[1], "base64url").toString());
    const now = Date.now() / 1000;
    if (typeof claims.exp !== "number" || claims.exp + 30 < now) return null;
    if (typeof claims.nbf === "number" && claims.nbf - 30 > now) return null;
    if (typeof claims.sub !== "string" || claims.sub === "") return null;
    return claims;
  } catch {
    return null;
  }
}

function mayJoin(claims: Claims, room: string): boolean {
  const allowed = claims.grants?.rooms;
  if (!Array.isArray(allowed)) return false;
  return allowed.some((g) => g === "*" || g === room || (g.endsWith("-*") && room.startsWith(g.slice(0, -1))));
}

function send(ws: Peer, msg: Msg) {
  msg.seq = ++ws.data.seq;
  ws.send(JSON.stringify(msg));
}

function error(ws: Peer, id: unknown, code: string, message: string) {
  const msg: Msg = { type: "error", code, message };
  if (id !== undefined) msg.id = id;
  send(ws, msg);
}

function withId(msg: Msg, id: unknown): Msg {
  if (id !== undefined) msg.id = id;
  return msg;
}

function describe(ws: Peer, room: string): Msg {
  const c = ws.data.claims!;
  const d: Msg = { peer: ws.data.id, user: c.sub };
  if (c.name) d.name = c.name;
  d.metadata = ws.data.rooms.get(room);
  return d;
}

function hello(ws: Peer, msg: Msg) {
  const claims = verifyToken(msg.token);
  if (!claims) {
    error(ws, msg.id, "unauthorized", "invalid token");
    ws.close(4401, "invalid token");
    return;
  }
  clearTimeout(ws.data.helloTimer);
  ws.data.claims = claims;
  const welcome = withId({ type: "welcome", session: randomUUID(), peer: ws.data.id, user: claims.sub }, msg.id);
  if (claims.name) welcome.name = claims.name;
  welcome.heartbeat_s = heartbeatS;
  welcome.ice_servers = [];
  send(ws, welcome);
}

function join(ws: Peer, msg: Msg) {
  const room = msg.room;
  if (typeof room !== "string" || !ROOM_RE.test(room)) return error(ws, msg.id, "bad-request", "invalid room");
  const metadata = msg.metadata ?? {};
  if (typeof metadata !== "object" || Array.isArray(metadata) || metadata === null)
    return error(ws, msg.id, "bad-request", "metadata must be an object");
  if (!mayJoin(ws.data.claims!, room)) return error(ws, msg.id, "forbidden", "token does not grant this room");
  if (ws.data.rooms.has(room)) return error(ws, msg.id, "already-joined", "already in this room");
  let members = rooms.get(room);
  if (!members) rooms.set(room, (members = new Map()));
  if (members.size >= maxRoomPeers) return error(ws, msg.id, "room-full", "room is full");
  const others = [...members.values()];
  members.set(ws.data.id, ws);
  ws.data.rooms.set(room, metadata);
  send(ws, withId({ type: "joined", room, peers: others.map((o) => describe(o, room)) }, msg.id));
  for (const other of others) send(other, { type: "peer-joined", room, ...describe(ws, room) });
}

function leaveRoom(ws: Peer, room: string, reason: string) {
  ws.data.rooms.delete(room);
  const members = rooms.get(room);
  if (!members) return;
  members.delete(ws.data.id);
  if (members.size === 0) {
    rooms.delete(room);
    return;
  }
  for (const other of members.values()) send(other, { type: "peer-left", room, peer: ws.data.id, reason });
}

function relay(ws: Peer, msg: Msg) {
  const { room, to } = msg;
  if (typeof room !== "string") return error(ws, msg.id, "bad-request", "room is required");
  if (!("data" in msg)) return error(ws, msg.id, "bad-request", "data is required");
  if (!ws.data.rooms.has(room)) return error(ws, msg.id, "not-in-room", "not in this room");
  const members = rooms.get(room)!;
  const out = { type: msg.type, room, from: ws.data.id, data: msg.data };
  if (to === undefined) {
    if (msg.type !== "message") return error(ws, msg.id, "bad-request", "to is required");
    for (const other of members.values()) if (other !== ws) send(other, { ...out });
  } else {
    if (to === ws.data.id) return error(ws, msg.id, "bad-request", "cannot relay to yourself");
    const target = members.get(to);
    if (!target) return error(ws, msg.id, "peer-not-found", "no such peer in this room");
    send(target, out);
  }
  if (msg.id !== undefined) send(ws, { type: "ack", id: msg.id });
}

function onMessage(ws: Peer, data: string | Buffer) {
  if (typeof data !== "string") return ws.close(4400, "binary frames are not accepted");
  let msg: any;
  try {
    msg = JSON.parse(data);
  } catch {
    return error(ws, undefined, "bad-request", "not JSON");
  }
  if (typeof msg !== "object" || msg === null || Array.isArray(msg) || typeof msg.type !== "string")
    return error(ws, undefined, "bad-request", "not a message object");
  if (!ws.data.claims) {
    if (msg.type === "hello") return hello(ws, msg);
    return error(ws, msg.id, "unauthorized", "send hello with a token first");
  }
  if (RELAY.has(msg.type)) return relay(ws, msg);
  switch (msg.type) {
    case "join":
      return join(ws, msg);
    case "leave":
      if (!ws.data.rooms.has(msg.room)) return error(ws, msg.id, "not-in-room", "not in this room");
      leaveRoom(ws, msg.room, "left");
      return send(ws, { type: "ack", id: msg.id });
    case "ping":
      return send(ws, withId({ type: "pong" }, msg.id));
    case "hello":
      return error(ws, msg.id, "bad-request", "already authenticated");
    default:
      return error(ws, msg.id, "bad-request", "unknown type");
  }
}

const server = Bun.serve<PeerData>({
  hostname,
  port,
  fetch(req, server) {
    const { pathname } = new URL(req.url);
    if (pathname === "/ws") {
      const data: PeerData = { id: randomUUID(), seq: 0, claims: null, rooms: new Map() };
      if (server.upgrade(req, { data })) return;
      return new Response("expected a WebSocket upgrade", { status: 400 });
    }
    if (pathname === "/healthz") return new Response("ok");
    return new Response("not found", { status: 404 });
  },
  websocket: {
    maxPayloadLength: 64 * 1024,
    idleTimeout: 2 * heartbeatS, // Bun pings idle sockets itself and closes silent ones
    open(ws) {
      ws.data.helloTimer = setTimeout(() => ws.close(4401, "no hello in time"), helloTimeoutS * 1000);
    },
    message: onMessage,
    close(ws) {
      clearTimeout(ws.data.helloTimer);
      for (const room of [...ws.data.rooms.keys()]) leaveRoom(ws, room, "disconnected");
    },
  },
});

console.error(`listening on http://${server.hostname}:${server.port}`);

function shutdown() {
  server.stop(true);
  process.exit(0);
}
process.on("SIGTERM", shutdown);
process.on("SIGINT", shutdown);
