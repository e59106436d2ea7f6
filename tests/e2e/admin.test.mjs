// The demo app when an operator steps in (admin API): a kicked participant is
// taken back to the lobby and told why; the others see them leave; closing the
// room takes everyone back to the lobby. Admin requests are made from inside a
// page (same origin), which reaches the server wherever it runs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { startEnv, joinViaUi, selfId, waitFor } from './lib/env.mjs';

const KEY = crypto.randomBytes(16).toString('hex');

/** Calls the admin API from `page`; resolves with the HTTP status. */
const admin = (page, method, path, body) => page.evaluate(async ({ method, path, body, key }) => {
  const r = await fetch(path, {
    method,
    headers: { authorization: `Bearer ${key}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  return r.status;
}, { method, path, body, key: KEY });

test('demo app: kicked → back to the lobby with a notice; room closed → everyone back', { timeout: 90000 }, async (t) => {
  const env = await startEnv(t, { server: { args: ['--admin-key', KEY] } });
  try {
    const room = `ops-${crypto.randomBytes(3).toString('hex')}`;
    const ann = await env.newPage('ann');
    const ben = await env.newPage('ben');
    await joinViaUi(ann, env.origin, 'Ann', room);
    await joinViaUi(ben, env.origin, 'Ben', room);
    const benId = await selfId(ben);
    await ann.locator(`.tile[data-peer="${benId}"]`).waitFor({ timeout: 15000 });

    assert.equal(await admin(ann, 'DELETE', `/v1/rooms/${room}/peers/${benId}`, { reason: 'test' }), 204);
    await ben.locator('#lobby').waitFor({ state: 'visible', timeout: 10000 });
    await ben.locator('.toast', { hasText: 'You were removed from the call.' }).waitFor({ timeout: 5000 });
    await ann.locator(`.tile[data-peer="${benId}"]`).waitFor({ state: 'detached', timeout: 10000 });
    assert.ok(await ann.locator('#call').isVisible(), 'the others stay in the call');

    assert.equal(await admin(ann, 'DELETE', `/v1/rooms/${room}`), 204);
    await ann.locator('#lobby').waitFor({ state: 'visible', timeout: 10000 });
    await ann.locator('.toast', { hasText: 'ended by an operator' }).waitFor({ timeout: 5000 });
    await waitFor(async () => (await admin(ann, 'GET', `/v1/rooms/${room}`)) === 404, { what: 'the room to be gone' });
  } catch (err) {
    t.diagnostic(env.dump());
    throw err;
  }
});
