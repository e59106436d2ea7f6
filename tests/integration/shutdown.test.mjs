// SIGTERM / SIGINT: every client gets going-away {reason: "shutdown"} and a
// close 1001; the process exits 0.
import assert from 'node:assert/strict';
import { afterEach, test } from 'node:test';
import { Client, closeAllClients, connectPeer, join, peersInRoom, uniqueRoom } from './lib/harness.mjs';
import { startServer } from './lib/server.mjs';

const servers = [];
afterEach(async () => {
  closeAllClients();
  for (const s of servers.splice(0)) await s.stop({ signal: 'SIGKILL' }).catch(() => {});
});

for (const signal of ['SIGTERM', 'SIGINT']) {
  test(`${signal} → going-away {reason: "shutdown"} then close 1001 to every client; exit code 0`, async () => {
    const server = await startServer();
    servers.push(server);
    const room = uniqueRoom();
    const inRoom = await peersInRoom(server, 3, room);
    const idle = await connectPeer(server);
    const other = await connectPeer(server);
    await join(other, uniqueRoom());
    await other.request({ type: 'ping' });
    const clients = [...inRoom, idle, other];

    const exit = await server.stop({ signal });
    assert.deepEqual(exit, { code: 0, signal: null }, `exit status ${JSON.stringify(exit)}`);

    for (const c of clients) {
      const { code } = await c.closed();
      assert.equal(code, 1001, `${c.name}: close code`);
      const ga = c.received('going-away');
      assert.equal(ga.length, 1, `${c.name}: going-away received ${ga.length} times\n${c.history()}`);
      assert.equal(ga[0].reason, 'shutdown');
      assert.equal(c.frames[c.frames.length - 1].msg.type, 'going-away', 'going-away is the last message');
      c.assertSeq();
    }
  });
}

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
