#!/usr/bin/env node
// Switchboard bot: joins a room, prints every event as one line, optionally says something.
//
//   node examples/bot.mjs --server http://127.0.0.1:8080 --room lobby [--name Bot] [--say "hello"] [--token JWT]
//
// Without --token (or $SWITCHBOARD_TOKEN) it asks the server for a dev token (server started with --dev).
// See examples/README.md.
import { parseArgs } from 'node:util';
import { Switchboard } from '../web/sdk/switchboard.js';

const { values: opt } = parseArgs({
  options: {
    server: { type: 'string', default: process.env.SWITCHBOARD_URL || 'http://127.0.0.1:8080' },
    room: { type: 'string', default: 'lobby' },
    name: { type: 'string', default: 'Bot' },
    token: { type: 'string', default: process.env.SWITCHBOARD_TOKEN },
    say: { type: 'string' },
    exit: { type: 'boolean', default: false }, // leave and exit after --say was acknowledged
    json: { type: 'boolean', default: false }, // print raw event objects as JSON lines
    help: { type: 'boolean', short: 'h', default: false },
  },
});

if (opt.help) {
  console.log(`usage: node examples/bot.mjs [--server URL] [--room ROOM] [--name NAME] [--token JWT] [--say TEXT] [--exit] [--json]
  --server  http(s):// or ws(s):// address of the server (default $SWITCHBOARD_URL or http://127.0.0.1:8080)
  --token   JWT to connect with (default $SWITCHBOARD_TOKEN; else a dev token from /v1/dev-token)
  --say     send TEXT as a chat message to everyone in the room once joined
  --exit    leave and exit once --say was delivered
  --json    print events as JSON lines instead of text`);
  process.exit(0);
}

/** Node ≥ 22 has a global WebSocket; otherwise use the `ws` package (installed or the test suite's copy). */
async function loadWebSocket() {
  if (globalThis.WebSocket) return globalThis.WebSocket;
  for (const spec of ['ws', new URL('../tests/node_modules/ws/wrapper.mjs', import.meta.url).href]) {
    try {
      const m = await import(spec);
      return m.WebSocket || m.default;
    } catch { /* try the next one */ }
  }
  throw new Error('no WebSocket implementation: use Node ≥ 22, or `npm install ws`');
}

const base = new URL(opt.server.replace(/^ws/, 'http'));
const wsUrl = new URL('/ws', base);
wsUrl.protocol = base.protocol === 'https:' ? 'wss:' : 'ws:';

async function devToken() {
  const res = await fetch(new URL(`/v1/dev-token?name=${encodeURIComponent(opt.name)}`, base));
  if (res.status === 404) throw new Error('the server is not in dev mode: pass --token or set SWITCHBOARD_TOKEN');
  if (!res.ok) throw new Error(`dev token: HTTP ${res.status}`);
  return (await res.json()).token;
}

const time = () => new Date().toISOString().slice(11, 23);
const names = new Map();
const who = (peer) => (names.has(peer) ? `${names.get(peer)} (${peer})` : peer);
const print = (type, text, detail) =>
  console.log(opt.json ? JSON.stringify({ event: type, ...detail }) : `${time()} ${type.padEnd(13)} ${text}`);
const short = (v) => { const s = JSON.stringify(v); return s.length > 120 ? `${s.slice(0, 117)}...` : s; };

// A given token is used as is; dev tokens are fetched per connection (each is a new guest, so no `refresh`).
const auth = opt.token ? { token: opt.token } : { getToken: devToken, refreshTokens: false };
const client = new Switchboard({ url: wsUrl.href, ...auth, WebSocket: await loadWebSocket() });

client.on('state', (d) => print('state', `${d.previous} → ${d.state}`, d));
client.on('welcome', (w) => print('welcome', `peer ${w.peer}, user ${w.user}, heartbeat ${w.heartbeat_s}s`, w));
client.on('rejoined', (d) => print('rejoined', `${d.room} with ${d.peers.length} other peer(s)`, d));
client.on('peer-joined', (p) => {
  names.set(p.peer, p.metadata?.name || p.name || p.user);
  print('peer-joined', `${who(p.peer)} user=${p.user} metadata=${short(p.metadata)}`, p);
});
client.on('peer-updated', (p) => {
  names.set(p.peer, p.metadata?.name || p.name || p.user);
  print('peer-updated', `${who(p.peer)} metadata=${short(p.metadata)}`, p);
});
client.on('peer-left', (p) => print('peer-left', `${who(p.peer)} (${p.reason})`, p));
client.on('message', (m) =>
  print('message', typeof m.data?.text === 'string' ? `${who(m.from)}: ${m.data.text}` : `${who(m.from)} ${short(m.data)}`, m));
for (const type of ['offer', 'answer', 'ice-candidate']) client.on(type, (m) => print(type, `from ${who(m.from)} ${short(m.data)}`, m));
client.on('going-away', (d) => print('going-away', d.reason, d));
client.on('error', (e) => print('error', `${e.code}: ${e.message}`, e));

try {
  await client.connect();
  const { peers } = await client.join(opt.room, { name: opt.name, bot: true });
  for (const p of peers) names.set(p.peer, p.metadata?.name || p.name || p.user);
  print('joined', `${opt.room}: ${peers.length ? peers.map((p) => who(p.peer)).join(', ') : 'nobody else here yet'}`, { room: opt.room, peers });
  if (opt.say !== undefined) {
    // With an id the server acks once the message was handed out for delivery.
    await client.request({ type: 'message', room: opt.room, data: { text: opt.say, name: opt.name } });
    print('said', opt.say, { text: opt.say });
  }
  if (opt.exit) {
    await client.leave(opt.room);
    client.close();
  }
} catch (err) {
  console.error(`bot: ${err.code ? `${err.code}: ` : ''}${err.message}`);
  client.close();
  process.exitCode = 1;
}

for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, async () => {
    await client.leave(opt.room).catch(() => {});
    client.close();
    process.exit(0);
  });
}
