// Two people join one room through the UI: both RTCPeerConnections connect, each sees the other's
// video decoding, chat goes across, and a screenshot of the call is saved to build/e2e/.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { ARTIFACTS, startEnv, joinViaUi, selfId, waitConnectedTo, waitVideoFlowing } from './lib/env.mjs';

test('two-party call: media flows both ways and chat is delivered', { timeout: 90000 }, async (t) => {
  const env = await startEnv(t);
  try {
    const ada = await env.newPage('ada');
    const grace = await env.newPage('grace');
    await joinViaUi(ada, env.origin, 'Ada Lovelace', 'e2e-two');
    await joinViaUi(grace, env.origin, 'Grace Hopper', 'e2e-two');
    const [adaId, graceId] = [await selfId(ada), await selfId(grace)];
    assert.notEqual(adaId, graceId);

    await Promise.all([waitConnectedTo(ada, [graceId]), waitConnectedTo(grace, [adaId])]);
    const [a, g] = await Promise.all([waitVideoFlowing(ada, graceId), waitVideoFlowing(grace, adaId)]);
    t.diagnostic(`ada sees grace ${a.width}x${a.height} (${a.frames} frames); grace sees ada ${g.width}x${g.height} (${g.frames} frames)`);

    // Name labels and the participant list show the other person.
    await ada.locator(`.tile[data-peer="${graceId}"] .name`, { hasText: 'Grace Hopper' }).waitFor();
    await grace.locator('#people li', { hasText: 'Ada Lovelace' }).waitFor();

    // Chat: type in one page, press Enter, it appears in the other.
    await ada.locator('#chat-input').fill('Hi Grace! Can you see me?');
    await ada.locator('#chat-input').press('Enter');
    const received = grace.locator('#messages .msg', { hasText: 'Hi Grace! Can you see me?' });
    await received.waitFor({ timeout: 10000 });
    assert.equal((await received.locator('.who').textContent()).trim(), 'Ada Lovelace');
    await grace.locator('#chat-input').fill('Loud and clear — über gut');
    await grace.locator('#chat-input').press('Enter');
    await ada.locator('#messages .msg', { hasText: 'Loud and clear' }).waitFor({ timeout: 10000 });

    fs.mkdirSync(ARTIFACTS, { recursive: true });
    const shot = path.join(ARTIFACTS, 'two-party-call.png');
    await ada.screenshot({ path: shot });
    t.diagnostic(`screenshot: ${shot}`);

    // Grace mutes her mic and turns her camera off: Ada sees it on the tile and in the list.
    await grace.locator('#toggle-mic').click();
    await grace.locator('#toggle-cam').click();
    assert.equal(await grace.locator('#toggle-mic').getAttribute('aria-pressed'), 'false');
    assert.equal(await grace.evaluate(() => window.__switchboard.stream.getTracks().map((t) => t.enabled).join()), 'false,false');
    const tile = ada.locator(`.tile[data-peer="${graceId}"]`);
    await ada.locator(`.tile[data-peer="${graceId}"][data-audio="off"][data-video="off"]`).waitFor({ timeout: 10000 });
    assert.ok(await tile.locator('.avatar').isVisible(), 'camera off shows the avatar');
    assert.ok(await tile.locator('.mic-off').isVisible(), 'muted shows the mic-off icon');
    await grace.locator('#toggle-mic').click();
    await ada.locator(`.tile[data-peer="${graceId}"][data-audio="on"]`).waitFor({ timeout: 10000 });
  } catch (err) {
    t.diagnostic(env.dump());
    throw err;
  }
});
