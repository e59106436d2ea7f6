import test from 'node:test';
import { serverFixture, connectPeer } from '../integration/lib/harness.mjs';
const server = serverFixture();
test('probe sizes', async () => {
  const res = {};
  for (const size of [65537, 128*1024, 256 * 1024, 1024*1024, 4 * 1024 * 1024]) {
    res[size] = {};
    for (let k = 0; k < 15; k++) {
      const c = await connectPeer(server());
      c.sendRaw(JSON.stringify({ type: 'ping', pad: 'z'.repeat(size) }));
      const code = (await c.closed()).code; res[size][code] = (res[size][code] || 0) + 1;
    }
  }
  console.log(JSON.stringify(res));
});
