// Slowloris and half-open connections: TCP connections that say nothing, HTTP
// requests that never finish (or finish a byte at a time), idle keep-alive
// connections, oversized headers, and WebSockets that never send hello.
// Timeouts are shortened for speed: --upgrade-timeout-s 1 --hello-timeout-s 1.
import assert from 'node:assert/strict';
import test from 'node:test';
import { Client, assertError, serverFixture } from '../integration/lib/harness.mjs';
import { rawSocket, rawWebSocket } from './lib/attack.mjs';
import { underAttack } from './lib/honest.mjs';

const UPGRADE_S = 1;
const HELLO_S = 1;
const server = serverFixture({ args: ['--upgrade-timeout-s', String(UPGRADE_S), '--hello-timeout-s', String(HELLO_S)] });

// The server must close it after `s` seconds: not much before, not much after
// (the sweep that enforces hello runs every second).
function assertClosedAfter(openedAt, closedAt, s, what) {
  const ms = closedAt - openedAt;
  assert.ok(ms >= s * 1000 - 150, `${what}: closed after only ${ms} ms`);
  assert.ok(ms <= s * 1000 + 2500, `${what}: closed after ${ms} ms (timeout ${s} s)`);
}

test('half-open TCP connections that never send a byte are closed after the upgrade timeout', async (t) => {
  await underAttack(server(), async () => {
    const socks = await Promise.all(Array.from({ length: 50 }, () => rawSocket(server())));
    for (const s of socks) {
      const { at } = await s.closed({ timeout: UPGRADE_S * 1000 + 5000 });
      assertClosedAfter(s.openedAt, at, UPGRADE_S, 'silent TCP connection');
      assert.equal(s.text(), '', 'the server answered a request nobody sent');
    }
  }, { t });
});

test('slowloris: a partial HTTP request, or one dribbled a byte at a time, is cut at the upgrade timeout', async (t) => {
  await underAttack(server(), async () => {
    // An idle keep-alive connection after a complete request is cut as well.
    const ka = await rawSocket(server());
    ka.sock.write(`GET /healthz HTTP/1.1\r\nHost: ${server().host}\r\n\r\n`);
    const partial = await Promise.all(Array.from({ length: 20 }, () => rawSocket(server())));
    for (const [i, s] of partial.entries()) {
      s.sock.write(i % 2 ? 'GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n' : 'GET /healthz HT');
    }
    // dribblers: one more header byte every 100 ms (the attacker's behaviour, not a wait)
    const dribblers = await Promise.all(Array.from({ length: 5 }, () => rawSocket(server())));
    const header = `GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nX-Pad: ${'d'.repeat(200)}`;
    const timers = dribblers.map((s) => {
      let i = 0;
      const timer = setInterval(() => {
        if (s.closedAt || i >= header.length) { clearInterval(timer); return; }
        s.sock.write(header[i++]);
      }, 100);
      return timer;
    });
    try {
      for (const s of [...partial, ...dribblers]) {
        const { at } = await s.closed({ timeout: UPGRADE_S * 1000 + 5000 });
        assertClosedAfter(s.openedAt, at, UPGRADE_S, 'incomplete request');
      }
    } finally {
      for (const timer of timers) clearInterval(timer);
    }
    const { at } = await ka.closed({ timeout: UPGRADE_S * 1000 + 5000 });
    assert.match(ka.text(), /^HTTP\/1\.1 200 /);
    assert.ok(at - ka.openedAt >= UPGRADE_S * 1000 - 150, 'idle keep-alive closed too early');
  }, { t });
});

test('a request header over 8 KiB → 431 or 400 and close', async (t) => {
  await underAttack(server(), async () => {
    for (const req of [
      `GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nX-Big: ${'h'.repeat(16 * 1024)}\r\n\r\n`,
      `GET /ws?${'q'.repeat(16 * 1024)} HTTP/1.1\r\nHost: x\r\n\r\n`,
      `GET /ws HTTP/1.1\r\nHost: x\r\n${Array.from({ length: 1000 }, (_, i) => `X-H${i}: v`).join('\r\n')}\r\n\r\n`,
    ]) {
      const s = await rawSocket(server());
      s.sock.write(req);
      await s.closed({ timeout: 5000 });
      const status = /^HTTP\/1\.1 (\d{3})/.exec(s.text());
      assert.ok(status && ['431', '400'].includes(status[1]), `expected 431 or 400, got ${JSON.stringify(s.text().slice(0, 100))}`);
    }
  }, { t });
});

test('WebSockets that never send hello → 4401 after the hello timeout (also when they send other frames)', async (t) => {
  await underAttack(server(), async () => {
    const silent = await Promise.all(Array.from({ length: 20 }, (_, i) => Client.connect(server().wsUrl, { name: `no-hello-${i}` })));
    const talkers = await Promise.all(Array.from({ length: 5 }, (_, i) => Client.connect(server().wsUrl, { name: `no-hello-talker-${i}` })));
    for (const c of talkers) {
      for (const type of ['ping', 'join', 'message', 'offer']) {
        assertError(await c.request({ type, room: 'r', to: 'p', data: 1 }), 'unauthorized');
      }
    }
    // Half-open at the WebSocket level: upgraded, then silent and not reading.
    const raw = await rawWebSocket(server());
    raw.sock.pause();
    for (const c of [...silent, ...talkers]) {
      const { code } = await c.closed({ timeout: HELLO_S * 1000 + 5000 });
      assert.equal(code, 4401, c.name);
      assertClosedAfter(c.openedAt, c.closedAt, HELLO_S, c.name);
    }
    raw.sock.resume();
    assert.equal(await raw.nextCloseFrame({ timeout: 5000 }), 4401);
    raw.sock.destroy();
  }, { t });
});
