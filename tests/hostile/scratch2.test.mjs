import test from 'node:test';
import { serverFixture, connectPeer, join, peersInRoom, uniqueRoom } from '../integration/lib/harness.mjs';
const server = serverFixture({ args: ['--heartbeat-s', '1', '--max-queued-bytes', '262144'] });
test('slow reader never resumed', async () => {
  const room = uniqueRoom('busy');
  const feeders = await peersInRoom(server(), 2, room);
  const slow = await connectPeer(server(), { name: 'slow' });
  await join(slow, room);
  for (const f of feeders) await f.next('peer-joined');
  slow.ws._socket.pause();
  const big = 'x'.repeat(60000);
  let n = 0; const t0 = Date.now();
  let got = false; server().waitForLine('stderr', /slow reader/, { timeout: 20000 }).then(() => { got = true; });
  while (!got && Date.now() - t0 < 15000 && n < 2000) {
    for (const f of feeders) { f.sendRaw(JSON.stringify({ type: 'message', room, data: big })); n++; }
    await new Promise((r) => setTimeout(r, 5));
  }
  console.log('slow reader log after', Date.now() - t0);
  try { const m = await feeders[0].next({ type: 'peer-left', peer: slow.peer }, { timeout: 30000 }); console.log('peer-left', m, Date.now() - t0); }
  catch (e) { console.log('no peer-left after', Date.now() - t0); }
  console.log(require_ss());
});
import { execSync } from 'node:child_process';
function require_ss() { try { return execSync(`ss -tnp | grep switchboard | head`).toString(); } catch (e) { return String(e); } }
