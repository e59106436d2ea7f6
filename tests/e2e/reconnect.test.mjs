// One page reaches the server through a TCP proxy; the test resets that page's connections (an
// abnormal close, no WebSocket close frame: what a dying network or server looks like). The SDK must
// notice, reconnect with backoff, resume its session (same peer id and room), and the call goes on.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startEnv, joinViaUrl, selfId, waitFor, waitConnectedTo, waitVideoFlowing } from './lib/env.mjs';

test('signaling socket killed: SDK reconnects and resumes, the call goes on', { timeout: 90000 }, async (t) => {
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

    // The SDK notices, shows it, reconnects and resumes its session: same peer id, same room.
    await proxied.locator('#conn[data-state="reconnecting"], #conn[data-state="open"]').first().waitFor();
    await waitFor(async () => {
      const s = await proxied.evaluate(() => {
        const c = window.__switchboard.client;
        return { state: c.state, resumed: !!c.welcome?.resumed };
      });
      return s.state === 'open' && s.resumed;
    }, { timeout: 20000, what: 'the proxied page to reconnect and resume its session' });
    const states = await proxied.evaluate(() => window.__states);
    t.diagnostic(`proxied page states after the cut: ${states.join(' → ')}`);
    assert.ok(states.includes('reconnecting'), `went through "reconnecting": ${states}`);
    assert.equal(await selfId(proxied), oldId, 'the resumed session keeps its peer id');
    assert.ok(await proxied.evaluate(() => window.__switchboard.client.rooms.has('e2e-reconnect')), 'still in the room');

    // The other side saw nothing: same tile, and the call goes on.
    await Promise.all([waitConnectedTo(direct, [oldId]), waitConnectedTo(proxied, [directId])]);
    await Promise.all([waitVideoFlowing(direct, oldId), waitVideoFlowing(proxied, directId)]);
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
