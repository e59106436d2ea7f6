// Test environment for the browser suite: a network namespace with only loopback in it, the real
// server and Chromium both running inside, and helpers to open pages and wait on conditions.
import { spawn, spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
export const SERVER_BIN = process.env.SWITCHBOARD_BIN || path.join(REPO, 'build/switchboard');
export const CHROMIUM = process.env.CHROMIUM_BIN || '/usr/bin/chromium';
export const ARTIFACTS = path.join(REPO, 'build/e2e');

const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--allow-loopback-in-peer-connection',
  '--use-fake-device-for-media-stream',
  '--use-fake-ui-for-media-stream',
  '--autoplay-policy=no-user-gesture-required',
];

let envCount = 0;

/** An HS256 JWT signed with `secret`, for servers started with --jwt-hs256-secret. */
export function mintToken(secret, sub, { ttl = 3600, name, rooms = ['*'] } = {}) {
  const b64 = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const now = Math.floor(Date.now() / 1000);
  const body = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64({ sub, name, iat: now, exp: now + ttl, grants: { rooms } })}`;
  return `${body}.${crypto.createHmac('sha256', secret).update(body).digest('base64url')}`;
}

/** Polls `fn` until it returns a truthy value; throws `what` after `timeout` ms. */
export async function waitFor(fn, { timeout = 20000, interval = 100, what = 'condition' } = {}) {
  const deadline = Date.now() + timeout;
  let last;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
      last = v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeout} ms waiting for ${what} (last: ${last})`);
    await new Promise((r) => setTimeout(r, interval));
  }
}

/** Reads lines of a child's stream until `re` matches one; resolves with the match. */
function waitForLine(stream, re, timeout, what, log) {
  return new Promise((resolve, reject) => {
    const rl = readline.createInterface({ input: stream });
    const timer = setTimeout(() => reject(new Error(`no "${what}" within ${timeout} ms:\n${log.join('\n')}`)), timeout);
    rl.on('line', (line) => {
      const m = line.match(re);
      if (m) { clearTimeout(timer); resolve(m); }
    });
    rl.on('close', () => { clearTimeout(timer); reject(new Error(`stream closed before "${what}":\n${log.join('\n')}`)); });
  });
}

function tryNetns(name) {
  if (process.env.SWITCHBOARD_E2E_NO_NETNS) return { ok: false, why: 'SWITCHBOARD_E2E_NO_NETNS is set' };
  const add = spawnSync('ip', ['netns', 'add', name], { encoding: 'utf8' });
  if (add.status !== 0) return { ok: false, why: (add.stderr || add.error?.message || 'failed').trim() };
  const up = spawnSync('ip', ['-n', name, 'link', 'set', 'lo', 'up'], { encoding: 'utf8' });
  if (up.status !== 0) {
    spawnSync('ip', ['netns', 'del', name]);
    return { ok: false, why: up.stderr.trim() };
  }
  return { ok: true };
}

/**
 * Starts the server (`--dev --listen 127.0.0.1:0 --log-format json` + `args`) and resolves once it
 * logged its address. Stopped with SIGTERM by `stop()` or at the end of the test.
 * @param {import('node:test').TestContext} t
 */
export async function startServer(t, { args = [], dev = true, listen = '127.0.0.1:0', inNs = (a) => a, cleanups = null } = {}) {
  if (!fs.existsSync(SERVER_BIN)) throw new Error(`server binary not found: ${SERVER_BIN} (build it, or set SWITCHBOARD_BIN)`);
  const argv = inNs([SERVER_BIN, ...(dev ? ['--dev'] : []), '--listen', listen, '--web-root', path.join(REPO, 'web'), '--log-format', 'json', '--drain-spread-s', '1', ...args]);
  const child = spawn(argv[0], argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
  const log = [];
  readline.createInterface({ input: child.stderr }).on('line', (l) => { log.push(l); if (log.length > 400) log.shift(); });
  child.stdout.resume();
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    const r = await exited;
    clearTimeout(timer);
    return r;
  };
  if (cleanups) cleanups.push(stop);
  else t.after(stop);
  const [, origin] = await waitForLine(child.stderr, /listening on (http:\/\/[0-9.:\[\]a-z]+)/, 15000, 'listening on', log);
  return { origin, log, stop, child };
}

/**
 * Starts tests/e2e/lib/tcp-proxy.mjs in front of `target` (HOST:PORT). Resolves with the proxy's
 * origin and `cut()`, which resets every connection open through it and resolves with their count.
 */
export async function startProxy(target, { inNs = (a) => a, cleanups } = {}) {
  const argv = inNs([process.execPath, path.join(REPO, 'tests/e2e/lib/tcp-proxy.mjs'), target]);
  const proxy = spawn(argv[0], argv.slice(1), { stdio: ['pipe', 'pipe', 'inherit'] });
  cleanups.push(async () => { proxy.stdin.end(); proxy.kill(); });
  const waiters = [];
  readline.createInterface({ input: proxy.stdout }).on('line', (l) => waiters.shift()?.(l));
  const next = () => new Promise((resolve) => waiters.push(resolve));
  const [, port] = (await next()).match(/listening (\d+)/);
  return {
    origin: `http://127.0.0.1:${port}`,
    cut: async () => {
      const reply = next();
      proxy.stdin.write('cut\n');
      return Number((await reply).split(' ')[1]);
    },
  };
}

/**
 * Starts the environment. `t` is the node:test context (for diagnostics and cleanup).
 * `server` options go to startServer (e.g. `{dev: false, args: [...]}`).
 * @param {import('node:test').TestContext} t
 */
export async function startEnv(t, { server: serverOptions = {} } = {}) {
  const cleanups = [];
  const env = { ns: null, origin: '', pages: [], cleanups };
  t.after(async () => {
    for (const fn of cleanups.reverse()) await fn().catch((err) => t.diagnostic(`cleanup: ${err.message}`));
  });

  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sb-e2e-'));
  cleanups.push(async () => fs.rmSync(tmp, { recursive: true, force: true }));

  // 1. Network namespace with only loopback, so WebRTC can use nothing but 127.0.0.1.
  const ns = `sb-e2e-${process.pid}-${++envCount}`;
  const netns = tryNetns(ns);
  if (netns.ok) {
    env.ns = ns;
    cleanups.push(async () => { spawnSync('ip', ['netns', 'del', ns]); });
  } else {
    t.diagnostic(`FALLBACK: network namespaces not permitted here (${netns.why}); running server and Chromium on the host loopback`);
  }
  /** Runs argv inside the namespace when there is one. */
  env.inNs = (argv) => (env.ns ? ['ip', 'netns', 'exec', env.ns, ...argv] : argv);

  // 2. The server.
  let server = await startServer(t, { ...serverOptions, inNs: env.inNs, cleanups });
  env.server = server;
  /** Stops the server (SIGTERM) and starts a new one on the same address, like `make run` again. */
  env.restartServer = async () => {
    const stopped = await server.stop();
    server = await startServer(t, { ...serverOptions, inNs: env.inNs, cleanups, listen: new URL(origin).host });
    env.server = server;
    return stopped;
  };
  const origin = server.origin;
  env.origin = origin;

  // 3. Chromium, through a wrapper that enters the namespace (Playwright drives it over a pipe).
  let executablePath = CHROMIUM;
  if (env.ns) {
    executablePath = path.join(tmp, 'chromium-in-netns.sh');
    fs.writeFileSync(executablePath, `#!/bin/sh\nexec ip netns exec ${env.ns} ${CHROMIUM} "$@"\n`, { mode: 0o755 });
  }
  const browser = await launchBrowser(executablePath);
  cleanups.push(() => browser.close());
  env.browser = browser;

  /** Opens a new page in its own browser context (own storage, own fake camera). */
  env.newPage = async (label) => {
    const page = await openPage(browser, label);
    env.pages.push(page);
    return page;
  };

  /** Starts a TCP proxy to the server inside the namespace; `cut()` resets its open connections. */
  env.startProxy = () => startProxy(new URL(origin).host, { inNs: env.inNs, cleanups });

  /** Dumps page consoles and the server log tail; call when a test fails. */
  env.dump = () => [
    ...env.pages.flatMap((p) => p.consoleLog.slice(-30)),
    '--- server log (tail) ---',
    ...env.server.log.slice(-40),
  ].join('\n');

  return env;
}

/** Headless Chromium with the flags the suite needs (fake camera and microphone, loopback ICE). */
export function launchBrowser(executablePath = CHROMIUM) {
  return chromium.launch({ executablePath, headless: true, args: CHROMIUM_ARGS, timeout: 30000 });
}

/** A new page in its own browser context (own storage, own fake camera); its console kept in `page.consoleLog`. */
export async function openPage(browser, label) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 720 } });
  const page = await context.newPage();
  page.label = label;
  page.consoleLog = [];
  page.on('console', (m) => page.consoleLog.push(`[${label}] ${m.type()}: ${m.text()}`));
  page.on('pageerror', (e) => page.consoleLog.push(`[${label}] pageerror: ${e.message}`));
  return page;
}

// ---- page helpers ------------------------------------------------------------------------------

/** Joins like a person: types the name and room, clicks Join. */
export async function joinViaUi(page, origin, name, room) {
  await page.goto(origin);
  await page.locator('#name').fill(name);
  await page.locator('#room').fill(room);
  await page.locator('#join').click();
  await page.locator('#call').waitFor({ state: 'visible', timeout: 15000 });
  await page.locator('#conn[data-state="open"]').waitFor({ timeout: 15000 });
}

/** Joins through the invite-style URL (?room=&name= auto-joins). */
export async function joinViaUrl(page, origin, name, room) {
  await page.goto(`${origin}/?room=${encodeURIComponent(room)}&name=${encodeURIComponent(name)}`);
  await page.locator('#call').waitFor({ state: 'visible', timeout: 15000 });
  await page.locator('#conn[data-state="open"]').waitFor({ timeout: 15000 });
}

/** Our own peer id in the page. */
export const selfId = (page) => page.evaluate(() => window.__switchboard.client.peerId);

/** The remote peers the page's Call has connections to, with their connection states. */
export const callPeers = (page) =>
  page.evaluate(() => [...window.__switchboard.call.peers.values()].map((p) => ({ peer: p.peer, state: p.pc.connectionState })));

/** Waits until the page has exactly `ids` as remote peers, all `connected`. */
export async function waitConnectedTo(page, ids, timeout = 30000) {
  const want = [...ids].sort().join(',');
  return waitFor(async () => {
    const peers = await callPeers(page);
    return peers.map((p) => p.peer).sort().join(',') === want && peers.every((p) => p.state === 'connected');
  }, { timeout, what: `${page.label} connected to [${want}] (has ${JSON.stringify(await callPeers(page).catch(() => []))})` });
}

/** Inbound video stats for the connection to `peer`: decoded frames and the tile's video size. */
export const videoStats = (page, peer) =>
  page.evaluate(async (peer) => {
    const p = window.__switchboard.call.peers.get(peer);
    if (!p) return null;
    let frames = 0;
    (await p.pc.getStats()).forEach((s) => {
      if (s.type === 'inbound-rtp' && s.kind === 'video') frames += s.framesDecoded ?? s.totalFramesDecoded ?? 0;
    });
    const video = document.querySelector(`.tile[data-peer="${CSS.escape(peer)}"] video`);
    return { frames, width: video?.videoWidth ?? 0, height: video?.videoHeight ?? 0, visible: !!video?.checkVisibility?.() };
  }, peer);

/** Waits until the page shows `peer`'s video (videoWidth > 0) and its decoded frame count keeps growing. */
export async function waitVideoFlowing(page, peer, timeout = 30000) {
  let first = null;
  return waitFor(async () => {
    const s = await videoStats(page, peer);
    if (!s || s.width === 0 || s.frames === 0) return false;
    if (!first) { first = s; return false; }
    return s.frames >= first.frames + 10 ? s : false;
  }, { timeout, interval: 200, what: `${page.label} decoding video from ${peer}` });
}
