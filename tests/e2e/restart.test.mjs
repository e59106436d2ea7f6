// The server restarts under a running call (SIGTERM, then a new process on the same address, with a new
// dev secret): both pages get going-away, reconnect with backoff, fetch a new token when the old one is
// refused, re-join, and the call and chat work again.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startEnv, joinViaUrl, selfId, waitFor, waitConnectedTo, waitVideoFlowing } from './lib/env.mjs';

test('server restart: everyone reconnects and the call comes back', { timeout: 90000 }, async (t) => {
  const env = await startEnv(t);
  try {
    const a = await env.newPage('a');
    const b = await env.newPage('b');
    await joinViaUrl(a, env.origin, 'Ana', 'e2e-restart');
    await joinViaUrl(b, env.origin, 'Bo', 'e2e-restart');
    const [oldA, oldB] = [await selfId(a), await selfId(b)];
    await Promise.all([waitConnectedTo(a, [oldB]), waitConnectedTo(b, [oldA])]);

    const { code } = await env.restartServer();
    assert.equal(code, 0, 'server exits 0 on SIGTERM');
    for (const p of [a, b]) await p.locator('.toast', { hasText: 'restarting' }).waitFor({ timeout: 5000 });

    const reconnected = async (p, old) => waitFor(async () => {
      const s = await p.evaluate(() => ({ state: window.__switchboard.client.state, peer: window.__switchboard.client.peerId }));
      return s.state === 'open' && s.peer !== old && s.peer;
    }, { timeout: 30000, what: `${p.label} back online` });
    const [newA, newB] = await Promise.all([reconnected(a, oldA), reconnected(b, oldB)]);
    await Promise.all([waitConnectedTo(a, [newB]), waitConnectedTo(b, [newA])]);
    await Promise.all([waitVideoFlowing(a, newB), waitVideoFlowing(b, newA)]);
    for (const p of [a, b]) {
      assert.equal(await p.locator('#grid .tile').count(), 2);
      await p.locator('#conn[data-state="open"]').waitFor();
    }
    await b.locator('#chat-input').fill('we survived a restart');
    await b.locator('#chat-input').press('Enter');
    await a.locator('#messages .msg', { hasText: 'we survived a restart' }).waitFor({ timeout: 10000 });
  } catch (err) {
    t.diagnostic(env.dump());
    throw err;
  }
});
