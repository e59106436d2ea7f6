// A server that is not in dev mode: /v1/dev-token is 404, so the app asks for a token; a pasted
// token gets you in, and a token without a grant for the room is refused with a clear message.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { startEnv, mintToken } from './lib/env.mjs';

test('not in dev mode: the app asks for a token and uses the pasted one', { timeout: 60000 }, async (t) => {
  const secret = crypto.randomBytes(24).toString('hex');
  const env = await startEnv(t, { server: { dev: false, args: ['--jwt-hs256-secret', secret] } });
  try {
    const page = await env.newPage('page');
    await page.goto(env.origin);
    await page.locator('#name').fill('Margaret');
    await page.locator('#room').fill('apollo');
    await page.locator('#join').click();
    await page.locator('#token-field').waitFor({ state: 'visible' });
    assert.match(await page.locator('#lobby-error').textContent(), /not in dev mode/);

    // A token for other rooms only: forbidden, said plainly, still in the lobby.
    await page.locator('#token').fill(mintToken(secret, 'margaret', { name: 'Margaret', rooms: ['gemini-*'] }));
    await page.locator('#join').click();
    await page.locator('#lobby-error', { hasText: 'does not allow joining this room' }).waitFor();
    assert.ok(await page.locator('#lobby').isVisible());

    await page.locator('#token').fill(mintToken(secret, 'margaret', { name: 'Margaret', rooms: ['apollo'] }));
    await page.locator('#join').click();
    await page.locator('#conn[data-state="open"]').waitFor({ timeout: 15000 });
    assert.equal(await page.evaluate(() => window.__switchboard.client.welcome.user), 'margaret');
    assert.equal(await page.locator('#room-name').textContent(), 'apollo');
  } catch (err) {
    t.diagnostic(env.dump());
    throw err;
  }
});
