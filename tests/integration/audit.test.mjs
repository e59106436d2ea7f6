// --audit-log: admin actions and refusals, token rejections at hello, to a file and to stdout.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Client, closeAllClients } from './lib/client.mjs';
import { claims, nowS, signJwt } from './lib/jwt.mjs';
import { startServer, tmpDir } from './lib/server.mjs';

const KEY = 'audit-admin-key';

function lines(text) {
  return text.split('\n').filter((l) => l.startsWith('{"time"')).map((l) => JSON.parse(l));
}

async function waitLine(read, pred, what, timeout = 5000) {
  const deadline = Date.now() + timeout;
  for (;;) {
    const hit = lines(read()).find(pred);
    if (hit) return hit;
    if (Date.now() > deadline) throw new Error(`no audit line for ${what} in:\n${read()}`);
    await new Promise((r) => { setTimeout(r, 25); });
  }
}

describe('audit log to a file', () => {
  const file = path.join(tmpDir(), 'audit.log');
  let server;
  before(async () => { server = await startServer({ args: ['--admin-key', KEY, '--audit-log', file] }); });
  after(async () => { closeAllClients(); await server.shutdown(); });
  const read = () => (fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '');

  test('admin actions with their status, refusals, and reads not logged', async () => {
    const auth = { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' };
    assert.equal((await fetch(`${server.httpUrl}/v1/rooms`, { method: 'POST', headers: auth, body: '{"name":"audited"}' })).status, 201);
    assert.equal((await fetch(`${server.httpUrl}/v1/rooms`, { headers: auth })).status, 200);
    assert.equal((await fetch(`${server.httpUrl}/v1/rooms/audited`, { method: 'DELETE', headers: auth })).status, 204);
    assert.equal((await fetch(`${server.httpUrl}/v1/rooms/nope`, { method: 'DELETE', headers: auth })).status, 404);
    assert.equal((await fetch(`${server.httpUrl}/v1/rooms`, { headers: { authorization: 'Bearer wrong' } })).status, 401);
    await waitLine(read, (l) => l.event === 'admin' && l.outcome === 'success' && l.detail === 'POST /v1/rooms 201' && l.remote === '127.0.0.1', 'create');
    await waitLine(read, (l) => l.event === 'admin' && l.detail === 'DELETE /v1/rooms/audited 204', 'delete');
    await waitLine(read, (l) => l.event === 'admin' && l.outcome === 'failure' && l.detail === 'DELETE /v1/rooms/nope 404', 'failed delete');
    await waitLine(read, (l) => l.event === 'admin' && l.outcome === 'denied' && l.reason === 'unauthorized', 'refusal');
    assert.ok(!lines(read()).some((l) => l.event === 'admin' && l.detail?.startsWith('GET ') && l.outcome === 'success'));
    assert.ok(!read().includes(KEY) && !read().includes('Bearer'));
  });

  test('hello with an expired token: the TokenError reason', async () => {
    const token = signJwt(claims({ sub: 'late', iat: nowS() - 600, exp: nowS() - 300 }), { secret: server.secret });
    const c = await Client.connect(server.wsUrl);
    const reply = await c.request({ type: 'hello', token });
    assert.equal(reply.type, 'error');
    await waitLine(read, (l) => l.event === 'hello' && l.outcome === 'failure' && l.reason === 'expired', 'expired hello');
    assert.ok(!read().includes(token.split('.')[2]));
  });
});

describe('audit log to stdout', () => {
  let server;
  before(async () => { server = await startServer({ args: ['--audit-log', 'stdout'] }); });
  after(async () => { closeAllClients(); await server.shutdown(); });

  test('a join denial is one JSON line on stdout', async () => {
    const token = signJwt(claims({ sub: 'limited', grants: { rooms: ['mine'] } }), { secret: server.secret });
    const c = await Client.connect(server.wsUrl);
    assert.equal((await c.request({ type: 'hello', token })).type, 'welcome');
    assert.equal((await c.request({ type: 'join', room: 'theirs' })).code, 'forbidden');
    const line = await server.waitForLine('stdout', /"event":"join"/);
    const l = JSON.parse(line);
    assert.deepEqual([l.outcome, l.reason, l.user, l.room], ['denied', 'room-not-granted', 'limited', 'theirs']);
    assert.ok(l.peer);
  });
});
