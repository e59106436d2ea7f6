// The SDK (web/sdk/switchboard.js) when an operator acts through the admin API:
// `kicked` and `room-closed` drop the room from the client's state (so a
// reconnect would not re-join it) after reporting its peers as gone, and a
// message from "server" arrives as a `message`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { WebSocket } from 'ws';
import { Switchboard } from '../../web/sdk/switchboard.js';
import { startServer, mintToken } from './lib/env.mjs';

function next(emitter, type, pred = () => true, timeout = 10000) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { off(); reject(new Error(`no ${type} event within ${timeout} ms`)); }, timeout);
    const off = emitter.on(type, (d) => { if (pred(d)) { clearTimeout(timer); off(); resolve(d); } });
  });
}

test('SDK: kicked, room-closed and server messages', { timeout: 30000 }, async (t) => {
  const SECRET = crypto.randomBytes(24).toString('hex');
  const KEY = crypto.randomBytes(16).toString('hex');
  const server = await startServer(t, { dev: false, args: ['--jwt-hs256-secret', SECRET, '--admin-key', KEY] });
  const url = `${server.origin.replace(/^http/, 'ws')}/ws`;
  const admin = (method, p, body) => fetch(`${server.origin}${p}`, {
    method,
    headers: { authorization: `Bearer ${KEY}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const a = new Switchboard({ url, WebSocket, token: mintToken(SECRET, 'ann') });
  const b = new Switchboard({ url, WebSocket, token: mintToken(SECRET, 'ben') });
  t.after(() => { a.close(); b.close(); });
  await a.connect();
  await b.connect();
  await a.join('ops-room');
  const joined = next(a, 'peer-joined');
  await b.join('ops-room');
  await joined;

  // A message from the operator.
  const msg = next(b, 'message');
  assert.equal((await admin('POST', '/v1/rooms/ops-room/messages', { data: { hi: 1 } })).status, 200);
  const m = await msg;
  assert.equal(m.from, 'server');
  assert.deepEqual(m.data, { hi: 1 });

  // b is kicked: it forgets the room (its peers reported first); a sees b leave.
  const gone = next(b, 'peer-left', (d) => d.peer === a.peerId);
  const kicked = next(b, 'kicked');
  const left = next(a, 'peer-left', (d) => d.peer === b.peerId);
  assert.equal((await admin('DELETE', `/v1/rooms/ops-room/peers/${b.peerId}`, { reason: 'bye' })).status, 204);
  assert.deepEqual(await kicked, { type: 'kicked', room: 'ops-room', reason: 'bye' });
  assert.equal((await gone).reason, 'kicked');
  assert.equal((await left).reason, 'kicked');
  assert.equal(b.rooms.has('ops-room'), false);
  assert.equal(a.rooms.get('ops-room').peers.size, 0);

  // The room is closed: a forgets it.
  const closed = next(a, 'room-closed');
  assert.equal((await admin('DELETE', '/v1/rooms/ops-room')).status, 204);
  assert.deepEqual(await closed, { type: 'room-closed', room: 'ops-room' });
  assert.equal(a.rooms.has('ops-room'), false);
});
