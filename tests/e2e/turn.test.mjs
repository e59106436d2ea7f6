// TURN credentials against a real coturn: two Chromium pages forced through the relay
// (iceTransportPolicy "relay") connect with the credentials from welcome.ice_servers, and fail to
// allocate (coturn answers 401) when the password is tampered with. coturn, the server and Chromium
// all run in the test's network namespace, where 127.0.0.1:3478 is free.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import readline from 'node:readline';
import { startEnv, mintToken, waitFor } from './lib/env.mjs';

const TURN_BIN = process.env.TURNSERVER_BIN || 'turnserver';
const TURN_URL = 'turn:127.0.0.1:3478?transport=udp';

/** Starts coturn in the namespace with the REST-API shared secret; resolves once it listens. */
async function startCoturn(env, secret) {
  const argv = env.inNs([TURN_BIN, '-n', '--use-auth-secret', `--static-auth-secret=${secret}`,
    '--realm=switchboard.test', '--listening-ip=127.0.0.1', '--relay-ip=127.0.0.1', '--listening-port=3478',
    '--min-port=49152', '--max-port=49252', '--no-tls', '--no-dtls', '--no-tcp', '--allow-loopback-peers',
    '--no-cli', '--no-software-attribute', '--fingerprint', '--log-file=stdout', '--simple-log', '--verbose',
    `--pidfile=/tmp/sb-turn-${process.pid}.pid`]);
  const proc = spawn(argv[0], argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
  const log = [];
  const waiters = new Set();
  for (const stream of [proc.stdout, proc.stderr]) {
    readline.createInterface({ input: stream }).on('line', (l) => {
      log.push(l);
      if (log.length > 2000) log.shift();
      for (const w of waiters) w();
    });
  }
  const exited = new Promise((resolve) => proc.on('exit', resolve));
  env.cleanups.push(async () => {
    proc.kill('SIGTERM');
    const timer = setTimeout(() => proc.kill('SIGKILL'), 3000);
    await exited;
    clearTimeout(timer);
  });
  const turn = {
    log,
    /** Resolves with the first log line matching `re`, looking at past lines too; bounded by `timeout`. */
    waitLine(re, timeout = 15000, what = String(re)) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const hit = log.find((l) => re.test(l));
          if (hit) { waiters.delete(check); clearTimeout(timer); resolve(hit); }
        };
        const timer = setTimeout(() => { waiters.delete(check); reject(new Error(`coturn: no ${what} within ${timeout} ms:\n${log.slice(-30).join('\n')}`)); }, timeout);
        waiters.add(check);
        check();
      });
    },
  };
  await Promise.race([
    turn.waitLine(/IPv4\. UDP listener opened on\s*:?\s*127\.0\.0\.1:3478/, 15000, 'UDP listener on 127.0.0.1:3478'),
    exited.then((code) => { throw new Error(`turnserver exited (${code}):\n${log.join('\n')}`); }),
  ]);
  return turn;
}

/**
 * In `page`: connects with `token`, joins `room` and calls everyone there with the SDK's Call, relay
 * only. `tamper` replaces every TURN credential with a wrong one (through rtcConfig). Records ICE
 * candidate errors and the types of the local candidates gathered.
 */
function joinRelayCall(page, origin, { token, room, tamper = false }) {
  return page.evaluate(async ({ token, room, tamper }) => {
    const { Switchboard, Call } = await import('/sdk/switchboard.js');
    const client = new Switchboard({ token });
    const welcome = await client.connect();
    const options = { iceTransportPolicy: 'relay' };
    if (tamper) {
      options.rtcConfig = {
        iceTransportPolicy: 'relay',
        // the first character changed (to 'x', or 'y' if it was an 'x': one credential in 64 starts with 'x')
        iceServers: welcome.ice_servers.map((s) => (s.credential ? { ...s, credential: `${s.credential[0] === 'x' ? 'y' : 'x'}${s.credential.slice(1)}` } : s)),
      };
    }
    const stream = await navigator.mediaDevices.getUserMedia({ audio: false, video: true });
    const call = new Call(client, room, { localStream: stream, ...options });
    const state = { candidateErrors: [], candidateTypes: [], welcome };
    call.on('peer', ({ pc }) => {
      pc.addEventListener('icecandidateerror', (e) => state.candidateErrors.push({ code: e.errorCode, url: e.url }));
      pc.addEventListener('icecandidate', (e) => { if (e.candidate) state.candidateTypes.push(e.candidate.type); });
    });
    window.__turn = { client, call, state };
    await call.join({});
  }, { token, room, tamper });
}

const pcStates = (page) => page.evaluate(() => [...window.__turn.call.peers.values()].map((p) => ({
  connection: p.pc.connectionState, ice: p.pc.iceConnectionState, gathering: p.pc.iceGatheringState,
})));

/** The type of the local candidate of the selected (nominated, succeeded) pair, per connection. */
const selectedLocalTypes = (page) => page.evaluate(async () => {
  const out = [];
  for (const p of window.__turn.call.peers.values()) {
    const stats = await p.pc.getStats();
    stats.forEach((s) => {
      if (s.type === 'candidate-pair' && s.nominated && s.state === 'succeeded') out.push(stats.get(s.localCandidateId)?.candidateType);
    });
  }
  return out;
});

test('a call forced through coturn connects with the issued TURN credentials, and not with a tampered password', { timeout: 120000 }, async (t) => {
  const secret = crypto.randomBytes(24).toString('hex');
  const turnSecret = crypto.randomBytes(16).toString('hex');
  if (spawnSync(TURN_BIN, ['--help'], { encoding: 'utf8' }).error) {
    t.skip(`SKIPPED: ${TURN_BIN} not installed (apt-get install coturn)`);
    return;
  }
  const env = await startEnv(t, {
    server: { dev: false, args: ['--jwt-hs256-secret', secret, '--turn-url', TURN_URL, '--turn-secret', turnSecret] },
  });
  if (!env.ns) {
    t.skip('SKIPPED: network namespaces not permitted here; coturn needs the namespace\'s private 127.0.0.1:3478');
    return;
  }
  let turn;
  try {
    turn = await startCoturn(env, turnSecret);

    // 1. Good credentials: both sides relay-only, the call connects over relay candidates.
    const a = await env.newPage('alice');
    const b = await env.newPage('bob');
    await a.goto(env.origin);
    await b.goto(env.origin);
    await joinRelayCall(a, env.origin, { token: mintToken(secret, 'alice', { rooms: ['relay-ok'] }), room: 'relay-ok' });
    const welcome = await a.evaluate(() => window.__turn.state.welcome);
    assert.equal(welcome.ice_servers.length, 1);
    assert.deepEqual(welcome.ice_servers[0].urls, [TURN_URL]);
    assert.match(welcome.ice_servers[0].username, /^\d+:alice$/);
    await joinRelayCall(b, env.origin, { token: mintToken(secret, 'bob', { rooms: ['relay-ok'] }), room: 'relay-ok' });
    for (const page of [a, b]) {
      await waitFor(async () => {
        const s = await pcStates(page);
        return s.length === 1 && s[0].connection === 'connected';
      }, { timeout: 30000, what: `${page.label} connected through the relay (${JSON.stringify(await pcStates(page).catch(() => null))})` });
      // Chromium may report `connected` a moment before getStats() shows the
      // nominated pair as succeeded: wait for the pair, then check its type.
      await waitFor(async () => (await selectedLocalTypes(page)).length > 0,
        { timeout: 10000, what: `${page.label}'s selected candidate pair in getStats()` });
      assert.deepEqual(await selectedLocalTypes(page), ['relay']);
      const types = await page.evaluate(() => window.__turn.state.candidateTypes);
      assert.ok(types.length > 0 && types.every((x) => x === 'relay'), `only relay candidates: ${types}`);
    }
    // coturn saw an authenticated allocation for alice's REST username.
    await turn.waitLine(new RegExp(`user <${welcome.ice_servers[0].username.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}>.*(ALLOCATE|allocate).*success`, 'i'),
      15000, 'a successful allocation for alice');

    // 2. Tampered password: coturn answers 401, no relay candidate, the connection never forms.
    const c = await env.newPage('carol');
    const d = await env.newPage('dave');
    await c.goto(env.origin);
    await d.goto(env.origin);
    await joinRelayCall(c, env.origin, { token: mintToken(secret, 'carol', { rooms: ['relay-bad'] }), room: 'relay-bad', tamper: true });
    await joinRelayCall(d, env.origin, { token: mintToken(secret, 'dave', { rooms: ['relay-bad'] }), room: 'relay-bad', tamper: true });
    for (const page of [c, d]) {
      const errors = await waitFor(async () => {
        const st = await page.evaluate(() => window.__turn.state);
        return st.candidateErrors.some((e) => e.code === 401) && st.candidateErrors;
      }, { timeout: 30000, what: `${page.label}: ICE candidate error 401 from coturn` });
      assert.ok(errors.length > 0);
      await waitFor(async () => (await pcStates(page)).every((s) => s.gathering === 'complete'),
        { timeout: 30000, what: `${page.label}: gathering complete` });
      assert.deepEqual(await page.evaluate(() => window.__turn.state.candidateTypes), [], 'no relay candidate');
      assert.ok((await pcStates(page)).every((s) => s.connection !== 'connected'), 'never connected');
    }
    await turn.waitLine(/user <\d+:(carol|dave)>.*401/, 15000, "coturn's 401 for the tampered credential");
  } catch (err) {
    t.diagnostic(env.dump());
    if (turn) t.diagnostic(`--- coturn log (tail) ---\n${turn.log.slice(-40).join('\n')}`);
    throw err;
  }
});
