// Password sign-in in the demo app: a user made with `switchboard user add`, a server that is not in
// dev mode, the form's username and password fields -> POST /v1/token -> joined call. A wrong
// password is refused with a plain message and the lobby stays.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import crypto from 'node:crypto';
import { SERVER_BIN, startEnv } from './lib/env.mjs';

// `switchboard user add NAME --db DB ...` with the password on stdin.
function addUser(db, name, password, extra) {
  return new Promise((resolve, reject) => {
    const p = spawn(SERVER_BIN, ['user', 'add', name, '--db', db, ...extra], { stdio: ['pipe', 'pipe', 'pipe'] });
    let err = '';
    p.stderr.on('data', (d) => { err += d; });
    p.on('error', reject);
    p.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`user add: exit ${code}: ${err}`))));
    p.stdin.end(`${password}\n`);
  });
}

test('not in dev mode: sign in with a username and password from the user store', { timeout: 90000 }, async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sb-e2e-login-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const db = path.join(dir, 'users.db');
  await addUser(db, 'grace', 'hopper-1906', ['--display-name', 'Grace', '--rooms', 'navy-*']);
  const secret = crypto.randomBytes(24).toString('hex');
  const env = await startEnv(t, { server: { dev: false, args: ['--jwt-hs256-secret', secret, '--user-db', db] } });
  try {
    const page = await env.newPage('page');
    await page.goto(env.origin);
    await page.locator('#name').fill('Grace');
    await page.locator('#room').fill('navy-cobol');
    await page.locator('#join').click();
    // No dev token here: the app offers the sign-in fields.
    await page.locator('#login-fields').waitFor({ state: 'visible' });

    await page.locator('#username').fill('grace');
    await page.locator('#password').fill('wrong password');
    await page.locator('#join').click();
    await page.locator('#lobby-error', { hasText: 'Wrong username or password' }).waitFor();
    assert.ok(await page.locator('#lobby').isVisible());

    await page.locator('#password').fill('hopper-1906');
    await page.locator('#join').click();
    await page.locator('#conn[data-state="open"]').waitFor({ timeout: 20000 });
    assert.equal(await page.evaluate(() => window.__switchboard.client.welcome.user), 'grace');
    assert.equal(await page.locator('#room-name').textContent(), 'navy-cobol');
  } catch (err) {
    t.diagnostic(env.dump());
    throw err;
  }
});
