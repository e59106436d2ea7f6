// A broadcast room in the demo app, in real Chromium: one publisher (a dev token, which grants publish) and two
// viewers (pasted tokens without publish). The publisher connects to both viewers and they decode its video; the
// viewers never connect to each other, never offer, and send no media.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startEnv, joinViaUrl, selfId, callPeers, waitConnectedTo, waitVideoFlowing } from './lib/env.mjs';

const SECRET = crypto.randomBytes(24).toString('hex');

/** HS256 token for `sub` granting every room, without `publish`. */
function viewerToken(sub) {
  const b64 = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const now = Math.floor(Date.now() / 1000);
  const body = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64({ sub, name: sub, iat: now, exp: now + 3600, grants: { rooms: ['*'], publish: false } })}`;
  return `${body}.${crypto.createHmac('sha256', SECRET).update(body).digest('base64url')}`;
}

/** Joins with a pasted token, like a person who was given one. */
async function joinWithToken(page, origin, name, room, token) {
  await page.goto(origin);
  await page.locator('#name').fill(name);
  await page.locator('#room').fill(room);
  await page.evaluate(() => { document.getElementById('token-field').hidden = false; });
  await page.locator('#token').fill(token);
  await page.locator('#join').click();
  await page.locator('#call').waitFor({ state: 'visible', timeout: 15000 });
  await page.locator('#conn[data-state="open"]').waitFor({ timeout: 15000 });
}

test('broadcast room: the publisher reaches every viewer, viewers do not see each other', { timeout: 120000 }, async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sb-e2e-broadcast-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const config = path.join(dir, 'switchboard.toml');
  fs.writeFileSync(config, '[rooms."e2e-live-*"]\nkind = "broadcast"\n');
  const env = await startEnv(t, { server: { args: ['--jwt-hs256-secret', SECRET, '--config', config] } });
  try {
    const room = `e2e-live-${crypto.randomBytes(3).toString('hex')}`;
    const host = await env.newPage('host');
    await joinViaUrl(host, env.origin, 'Host', room);
    const viewers = [];
    for (const name of ['Vic', 'Val']) {
      const page = await env.newPage(name.toLowerCase());
      await joinWithToken(page, env.origin, name, room, viewerToken(name));
      viewers.push(page);
    }
    const [hostId, ...viewerIds] = await Promise.all([host, ...viewers].map(selfId));
    assert.equal(await host.evaluate((r) => window.__switchboard.client.roomKind(r), room), 'broadcast');
    for (const v of viewers) assert.equal(await v.evaluate((r) => window.__switchboard.client.isPublisher(r), room), false);

    await waitConnectedTo(host, viewerIds);
    await Promise.all(viewers.map((v) => waitConnectedTo(v, [hostId])));
    await Promise.all(viewers.map((v) => waitVideoFlowing(v, hostId)));
    for (const v of viewers) {
      assert.deepEqual((await callPeers(v)).map((p) => p.peer), [hostId], 'a viewer is connected to the publisher only');
      assert.equal(await v.locator('#grid .tile').count(), 2, 'itself and the publisher');
      // nothing sent: no local track on any of its senders
      const sending = await v.evaluate(() => [...window.__switchboard.call.peers.values()]
        .flatMap((p) => p.pc.getSenders()).filter((s) => s.track).length);
      assert.equal(sending, 0);
    }
    const errors = [host, ...viewers].flatMap((p) => p.consoleLog.filter((l) => /pageerror|forbidden/.test(l)));
    assert.deepEqual(errors, []);
  } catch (err) {
    t.diagnostic(env.dump());
    throw err;
  }
});
