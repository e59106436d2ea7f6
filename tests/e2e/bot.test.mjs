// examples/bot.mjs next to a browser: the bot is listed as a participant but gets no video tile,
// it prints the page's events, chat goes both ways, and SIGTERM makes it leave cleanly.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import readline from 'node:readline';
import { REPO, startEnv, joinViaUrl, waitFor } from './lib/env.mjs';

test('examples/bot.mjs in a room with a browser', { timeout: 60000 }, async (t) => {
  const env = await startEnv(t);
  const out = [];
  try {
    const page = await env.newPage('page');
    await joinViaUrl(page, env.origin, 'Hedy Lamarr', 'e2e-bot');

    const argv = env.inNs([process.execPath, path.join(REPO, 'examples/bot.mjs'), '--server', env.origin, '--room', 'e2e-bot',
      '--name', 'Robo', '--say', 'beep boop']);
    const bot = spawn(argv[0], argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
    const exited = new Promise((resolve) => bot.on('exit', (code) => resolve(code)));
    t.after(() => { if (bot.exitCode === null) bot.kill('SIGKILL'); });
    readline.createInterface({ input: bot.stdout }).on('line', (l) => out.push(l));
    readline.createInterface({ input: bot.stderr }).on('line', (l) => out.push(`stderr: ${l}`));
    const printed = (re) => waitFor(() => out.some((l) => re.test(l)), { timeout: 15000, what: `bot output ${re}` });

    await printed(/joined\s+e2e-bot: Hedy Lamarr/);
    await printed(/said\s+beep boop/);
    await page.locator('#messages .msg', { hasText: 'beep boop' }).locator('.who', { hasText: 'Robo' }).waitFor();
    await page.locator('#people li', { hasText: 'Robo (bot)' }).waitFor();
    assert.equal(await page.locator('#grid .tile').count(), 1, 'a bot gets no video tile');
    assert.equal(await page.evaluate(() => window.__switchboard.call.peers.size), 0, 'and no RTCPeerConnection');

    await page.locator('#chat-input').fill('hello robot');
    await page.locator('#chat-input').press('Enter');
    await printed(/message\s+Hedy Lamarr \(\S+\): hello robot/);

    bot.kill('SIGTERM');
    assert.equal(await exited, 0);
    await page.locator('#messages .system', { hasText: 'Robo left' }).waitFor();
    await page.locator('#people li', { hasText: 'Robo' }).waitFor({ state: 'detached' });
  } catch (err) {
    t.diagnostic(`bot output:\n${out.join('\n')}\n${env.dump()}`);
    throw err;
  }
});
