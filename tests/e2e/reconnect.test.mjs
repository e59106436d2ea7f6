// One page reaches the server through a TCP proxy; the test resets that page's connections (an
// abnormal close, no WebSocket close frame: what a dying network or server looks like). The SDK must
// notice, reconnect with backoff, say hello again, re-join the room, and the call must recover.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startEnv, joinViaUrl, selfId, waitFor, waitConnectedTo, waitVideoFlowing } from './lib/env.mjs';

test('signaling socket killed: SDK reconnects, re-joins, call recovers', { timeout: 90000 }, async (t) => {
  const env = await startEnv(t);
  try {
    const proxy = await env.startProxy();
    const direct = await env.newPage('direct');
    const proxied = await env.newPage('proxied');
    await joinViaUrl(direct, env.origin, 'Dora Direct', 'e2e-reconnect');
    await joinViaUrl(proxied, proxy.origin, 'Paul Proxied', 'e2e-reconnect');
    const directId = await selfId(direct);
    const oldId = await selfId(proxied);
    await Promise.all([waitConnectedTo(direct, [oldId]), waitConnectedTo(proxied, [directId])]);
    await Promise.all([waitVideoFlowing(direct, oldId), waitVideoFlowing(proxied, directId)]);

    // Record the proxied client's state changes from here on.
    await proxied.evaluate(() => {
      window.__states = [];
      window.__switchboard.client.on('state', ({ state }) => window.__states.push(state));
    });
    const cut = await proxy.cut();
    assert.ok(cut >= 1, `the proxy had ${cut} connections to cut`);

    // The SDK notices, shows it, reconnects and re-joins with a new peer id.
    await proxied.locator('#conn[data-state="reconnecting"], #conn[data-state="open"]').first().waitFor();
    const newId = await waitFor(async () => {
      const s = await proxied.evaluate(() => ({ state: window.__switchboard.client.state, peer: window.__switchboard.client.peerId }));
      return s.state === 'open' && s.peer !== oldId && s.peer;
    }, { timeout: 20000, what: 'the proxied page to reconnect with a new session' });
    const states = await proxied.evaluate(() => window.__states);
    t.diagnostic(`proxied page states after the cut: ${states.join(' → ')}; peer ${oldId} → ${newId}`);
    assert.ok(states.includes('reconnecting'), `went through "reconnecting": ${states}`);
    await proxied.locator('#conn[data-state="open"]').waitFor();
    assert.ok(await proxied.evaluate(() => window.__switchboard.client.rooms.has('e2e-reconnect')), 're-joined the room');

    // The other side dropped the old peer's tile and connection, and the call recovered on new ones.
    await direct.locator(`.tile[data-peer="${oldId}"]`).waitFor({ state: 'detached', timeout: 15000 });
    await Promise.all([waitConnectedTo(direct, [newId]), waitConnectedTo(proxied, [directId])]);
    await Promise.all([waitVideoFlowing(direct, newId), waitVideoFlowing(proxied, directId)]);
    assert.equal(await direct.locator('#grid .tile').count(), 2);
    assert.equal(await proxied.locator('#grid .tile').count(), 2);

    // And chat works again over the new session.
    await proxied.locator('#chat-input').fill('back online');
    await proxied.locator('#chat-input').press('Enter');
    await direct.locator('#messages .msg', { hasText: 'back online' }).waitFor({ timeout: 10000 });
  } catch (err) {
    t.diagnostic(env.dump());
    throw err;
  }
});
