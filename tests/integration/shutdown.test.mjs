// SIGINT: every client gets going-away {reason: "shutdown"} and a close 1001 at
// once. SIGTERM drains: /readyz says 503, each client gets going-away {reason:
// "draining", reconnect: true} and a close 1001 at its own moment within
// --drain-spread-s. The process exits 0.
import assert from 'node:assert/strict';
import { afterEach, test } from 'node:test';
import { Client, closeAllClients, connectPeer, join, peersInRoom, rawGet, uniqueRoom } from './lib/harness.mjs';
import { startServer } from './lib/server.mjs';

const servers = [];
afterEach(async () => {
  closeAllClients();
  for (const s of servers.splice(0)) await s.stop({ signal: 'SIGKILL' }).catch(() => {});
});

for (const [signal, reason, reconnect] of [['SIGTERM', 'draining', true], ['SIGINT', 'shutdown', undefined]]) {
  test(`${signal} → going-away {reason: "${reason}"} then close 1001 to every client; exit code 0`, async () => {
    const server = await startServer({ args: ['--drain-spread-s', '2'] });
    servers.push(server);
    const room = uniqueRoom();
    const inRoom = await peersInRoom(server, 3, room);
    const idle = await connectPeer(server);
    const other = await connectPeer(server);
    await join(other, uniqueRoom());
    await other.request({ type: 'ping' });
    const clients = [...inRoom, idle, other];

    const exit = await server.stop({ signal, timeout: 15000 });
    assert.deepEqual(exit, { code: 0, signal: null }, `exit status ${JSON.stringify(exit)}`);

    for (const c of clients) {
      const { code } = await c.closed();
      assert.equal(code, 1001, `${c.name}: close code`);
      const ga = c.received('going-away');
      assert.equal(ga.length, 1, `${c.name}: going-away received ${ga.length} times\n${c.history()}`);
      assert.equal(ga[0].reason, reason);
      assert.equal(ga[0].reconnect, reconnect);
      assert.equal(c.frames[c.frames.length - 1].msg.type, 'going-away', 'going-away is the last message');
      c.assertSeq();
    }
  });
}

test('SIGTERM drain: not ready at once, connections stay usable until their turn, new ones are sent away', async () => {
  const server = await startServer({ args: ['--drain-spread-s', '3', '--threads', '1'] });
  servers.push(server);
  const room = uniqueRoom();
  const [a, b] = await peersInRoom(server, 2, room);
  const draining = server.waitForLine('stderr', /shutting down \(draining\)/);
  const stopped = server.stop({ signal: 'SIGTERM', timeout: 15000 });
  await draining;
  assert.equal((await rawGet(server, '/readyz')).status, 503);
  // The first connection goes at once, the second later (3 s / 2): until then it still works.
  const first = await Promise.race([a.next('going-away'), b.next('going-away')]);
  assert.deepEqual({ reason: first.reason, reconnect: first.reconnect }, { reason: 'draining', reconnect: true });
  const stays = a.received('going-away').length ? b : a;
  assert.equal((await stays.request({ type: 'ping' })).type, 'pong');
  // A new WebSocket during the drain is sent away at once.
  const late = await Client.connect(server.wsUrl);
  assert.deepEqual(await late.next('going-away'), { type: 'going-away', reason: 'draining', reconnect: true, seq: 1 });
  assert.equal((await late.closed()).code, 1001);
  assert.equal((await stays.closed({ timeout: 10000 })).code, 1001);
  assert.deepEqual(stays.received('going-away').map((m) => m.reason), ['draining']);
  assert.equal((await stopped).code, 0);
});

test('SIGTERM also closes a connection that has not said hello yet with 1001', async () => {
  const server = await startServer();
  servers.push(server);
  const c = await Client.connect(server.wsUrl);
  const helloed = await connectPeer(server);
  const exit = await server.stop();
  assert.equal(exit.code, 0);
  assert.equal((await c.closed()).code, 1001);
  assert.equal((await helloed.closed()).code, 1001);
});
