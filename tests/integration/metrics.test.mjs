// GET /metrics against the real server: valid exposition (promtool), and each
// family moved by exactly what the clients did. Tests in this file run one
// after another against one server, so deltas between two scrapes are theirs.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import net from 'node:net';
import { describe, test } from 'node:test';
import { Client, assertError, connectPeer, join, peersInRoom, serverFixture, uniqueRoom } from './lib/harness.mjs';
import { hsToken, nowS } from './lib/jwt.mjs';
import { promtoolCheck, scrape, value, waitForMetrics } from './lib/metrics.mjs';
import { BIN, startServer } from './lib/server.mjs';

const server = serverFixture({ args: ['--threads', '2'] });
const v = value;

describe('/metrics', () => {
  test('is valid Prometheus text (promtool check metrics) after some traffic', async () => {
    const room = uniqueRoom();
    const [a, b] = await peersInRoom(server(), 2, room);
    await a.request({ type: 'offer', room, to: b.peer, data: { sdp: 'x' } });
    await b.next('offer');
    const m = await scrape(server());
    const r = promtoolCheck(m.text);
    assert.ok(r.ok, `promtool check metrics failed:\n${r.output}\n--- exposition ---\n${m.text}`);
    for (const family of ['switchboard_connections', 'switchboard_sessions', 'switchboard_rooms',
      'switchboard_room_peers', 'switchboard_relay_latency_seconds', 'switchboard_event_loop_lag_seconds',
      'process_resident_memory_bytes', 'process_cpu_seconds_total']) {
      assert.ok(m.types.has(family), `family ${family} missing`);
    }
    assert.equal(m.types.get('switchboard_relay_latency_seconds'), 'histogram');
  });

  test('messages relayed and delivered, by type, move by exactly what was sent; the latency histogram counts each delivery', async () => {
    const room = uniqueRoom();
    const [a, b, c] = await peersInRoom(server(), 3, room);
    const before = await scrape(server());
    for (let i = 0; i < 3; i++) await a.request({ type: 'offer', room, to: b.peer, data: { i } });
    await b.request({ type: 'answer', room, to: a.peer, data: {} });
    for (let i = 0; i < 2; i++) await a.request({ type: 'ice-candidate', room, to: c.peer, data: null });
    await c.request({ type: 'message', room, data: 'to all' }); // 2 deliveries
    await c.request({ type: 'message', room, to: a.peer, data: 'to a' });
    for (let i = 0; i < 3; i++) await b.next('offer');
    await a.next('answer');
    for (let i = 0; i < 2; i++) await c.next('ice-candidate');
    await a.next({ type: 'message', data: 'to all' });
    await b.next({ type: 'message', data: 'to all' });
    await a.next({ type: 'message', data: 'to a' });
    const after = await scrape(server());
    const d = (s) => v(after, s) - v(before, s);
    assert.equal(d('switchboard_messages_relayed_total{type="offer"}'), 3);
    assert.equal(d('switchboard_messages_relayed_total{type="answer"}'), 1);
    assert.equal(d('switchboard_messages_relayed_total{type="ice-candidate"}'), 2);
    assert.equal(d('switchboard_messages_relayed_total{type="message"}'), 2);
    assert.equal(d('switchboard_relay_deliveries_total{type="offer"}'), 3);
    assert.equal(d('switchboard_relay_deliveries_total{type="message"}'), 3);
    assert.equal(d('switchboard_messages_received_total{type="offer"}'), 3);
    assert.equal(d('switchboard_relay_latency_seconds_count'), 9);
    assert.equal(d('switchboard_relay_latency_seconds_bucket{le="+Inf"}'), 9);
    assert.ok(d('switchboard_relay_latency_seconds_sum') > 0);
    assert.ok(d('switchboard_relay_latency_seconds_bucket{le="1"}') === 9, 'loopback relays take well under a second');
    assert.ok(d('switchboard_websocket_received_bytes_total') > 0);
    assert.ok(d('switchboard_websocket_sent_bytes_total') > d('switchboard_websocket_received_bytes_total') / 2);
  });

  test('connections, sessions, rooms and peers gauges follow the clients; closes are counted by code', async () => {
    // The clients of the tests before were terminated after each of them; wait
    // until the server has seen all of them go, so the deltas below are ours.
    const before = await waitForMetrics(server(), (m) => v(m, 'switchboard_connections') === 0,
      { what: 'no connection left from earlier tests' });
    const room = uniqueRoom();
    const [a, b] = await peersInRoom(server(), 2, room);
    const raw = await Client.connect(server().wsUrl); // no hello: a connection, not a session
    // The client sees the upgrade's 101 before the server's handshake completion
    // has counted the connection: wait until it has.
    const mid = await waitForMetrics(server(),
      (m) => v(m, 'switchboard_connections_opened_total') - v(before, 'switchboard_connections_opened_total') >= 3,
      { what: 'the third connection counted' });
    const d = (m, s) => v(m, s) - v(before, s);
    assert.equal(d(mid, 'switchboard_connections'), 3);
    assert.equal(d(mid, 'switchboard_connections_opened_total'), 3);
    assert.equal(d(mid, 'switchboard_sessions'), 2);
    assert.equal(d(mid, 'switchboard_sessions_started_total'), 2);
    assert.equal(d(mid, 'switchboard_rooms'), 1);
    assert.equal(d(mid, 'switchboard_room_peers'), 2);

    await a.close(1000);
    b.send({ type: 'hello', token: 'x' }); // second hello: bad-request, no close
    raw.send({ type: 'hello', token: 'not-a-jwt' }); // unauthorized, close 4401
    assert.equal((await raw.closed()).code, 4401);
    b.terminate(); // no close frame: 1006
    const after = await waitForMetrics(server(), (m) => v(m, 'switchboard_connections') === v(before, 'switchboard_connections'),
      { what: 'connections back to where they were' });
    const code = (c, r) => `switchboard_connections_closed_total{code="${c}",reason="${r}"}`;
    assert.equal(d(after, code(1000, 'normal')), 1);
    assert.equal(d(after, code(4401, 'unauthorized')), 1);
    assert.equal(d(after, code(1006, 'abnormal')), 1);
    // b dropped without a close frame: its session is parked for resume (30 s), still in its room.
    assert.equal(d(after, 'switchboard_sessions'), 1);
    assert.equal(d(after, 'switchboard_rooms'), 1);
    assert.equal(d(after, 'switchboard_room_peers'), 1);
  });

  test('errors sent by code and auth failures by reason', async () => {
    const before = await scrape(server());
    const room = uniqueRoom();
    const p = await connectPeer(server(), { claims: { grants: { rooms: ['only-this'] } } });
    assertError(await p.request({ type: 'join', room }), 'forbidden');
    assertError(await p.request({ type: 'leave', room }), 'not-in-room');
    assertError(await p.request({ type: 'leave', room }), 'not-in-room');
    assertError(await p.request({ type: 'join' }), 'bad-request');
    await join(p, 'only-this');
    assertError(await p.request({ type: 'offer', room: 'only-this', to: '0123456789abcdef00', data: 1 }), 'peer-not-found');

    const expired = await Client.connect(server().wsUrl);
    assertError(await expired.request({ type: 'hello', token: hsToken(server().secret, { exp: nowS() - 3600 }) }), 'unauthorized');
    const forged = await Client.connect(server().wsUrl);
    assertError(await forged.request({ type: 'hello', token: hsToken('another-secret', {}) }), 'unauthorized');
    const missing = await Client.connect(server().wsUrl);
    assertError(await missing.request({ type: 'hello' }), 'unauthorized');
    await Promise.all([expired.closed(), forged.closed(), missing.closed()]);

    const after = await scrape(server());
    const d = (s) => v(after, s) - v(before, s);
    assert.equal(d('switchboard_errors_sent_total{code="forbidden"}'), 1);
    assert.equal(d('switchboard_errors_sent_total{code="not-in-room"}'), 2);
    assert.equal(d('switchboard_errors_sent_total{code="bad-request"}'), 1);
    assert.equal(d('switchboard_errors_sent_total{code="peer-not-found"}'), 1);
    assert.equal(d('switchboard_errors_sent_total{code="unauthorized"}'), 3);
    assert.equal(d('switchboard_auth_failures_total{reason="expired"}'), 1);
    assert.equal(d('switchboard_auth_failures_total{reason="bad-signature"}'), 1);
    assert.equal(d('switchboard_auth_failures_total{reason="missing"}'), 1);
    assert.equal(d('switchboard_auth_failures_total{reason="malformed"}'), 0);
  });

  test('event-loop lag is measured on every loop', async () => {
    const m = await waitForMetrics(server(), (x) => v(x, 'switchboard_event_loop_lag_seconds_count{shard="0"}') > 0
      && v(x, 'switchboard_event_loop_lag_seconds_count{shard="1"}') > 0, { what: 'a lag probe on both loops' });
    assert.equal(v(m, 'switchboard_event_loops'), 2);
    assert.ok(v(m, 'switchboard_event_loop_lag_seconds_sum{shard="0"}') >= 0);
  });

  test('process metrics are real numbers', async () => {
    const m = await scrape(server());
    assert.ok(v(m, 'process_resident_memory_bytes') > 1e6);
    assert.ok(v(m, 'process_open_fds') > 3);
    assert.ok(v(m, 'process_start_time_seconds') > nowS() - 3600);
    assert.ok(v(m, 'process_cpu_seconds_total') >= 0);
    assert.equal(v(m, 'switchboard_ready'), 1);
    // build_info carries the version the binary reports.
    const version = execFileSync(BIN, ['--version'], { encoding: 'utf8' }).trim().split(' ')[1];
    assert.match(version, /^\d+\.\d+\.\d+/);
    assert.equal(v(m, `switchboard_build_info{version="${version}"}`), 1);
  });
});

// One raw keep-alive HTTP connection, to ask /readyz again after SIGTERM
// (the listener is closed by then; open connections are still answered).
function keepAlive(server) {
  const sock = net.connect(server.port, server.host);
  let buf = '';
  const waiters = [];
  sock.setEncoding('latin1');
  sock.on('data', (d) => {
    buf += d;
    for (;;) {
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) return;
      const len = Number(/content-length: (\d+)/i.exec(buf.slice(0, end))?.[1] ?? 0);
      if (buf.length < end + 4 + len) return;
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(buf)[1]);
      const body = buf.slice(end + 4, end + 4 + len);
      buf = buf.slice(end + 4 + len);
      waiters.shift()?.({ status, body });
    }
  });
  const ready = new Promise((resolve, reject) => { sock.once('connect', resolve); sock.once('error', reject); });
  return {
    async get(path, timeout = 5000) {
      await ready;
      let timer;
      const p = new Promise((resolve, reject) => {
        waiters.push((r) => { clearTimeout(timer); resolve(r); });
        timer = setTimeout(() => reject(new Error(`GET ${path}: no answer within ${timeout} ms`)), timeout);
      });
      sock.write(`GET ${path} HTTP/1.1\r\nHost: x\r\n\r\n`);
      return p;
    },
    close() { sock.destroy(); },
  };
}

test('/readyz is 200 while serving and 503 once shutdown has begun', async () => {
  // One loop: the keep-alive connection and the stuck WebSocket share it, so it
  // keeps running until the WebSocket's closing handshake times out.
  const s = await startServer({ args: ['--threads', '1'] });
  const http = keepAlive(s);
  try {
    assert.deepEqual(await http.get('/readyz'), { status: 200, body: 'ready\n' });
    // A WebSocket that will not answer the closing handshake keeps the server in shutdown for a while.
    const stuck = net.connect(s.port, s.host);
    await new Promise((resolve) => { stuck.once('connect', resolve); });
    stuck.write(`GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n`
      + 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n');
    await new Promise((resolve) => { stuck.once('data', resolve); });
    stuck.pause();
    const stopped = s.stop({ signal: 'SIGTERM', timeout: 15000 });
    await s.waitForLine('stderr', /shutting down/);
    const r = await http.get('/readyz');
    assert.equal(r.status, 503);
    assert.equal(r.body, 'not ready\n');
    stuck.destroy();
    assert.equal((await stopped).code, 0);
  } finally {
    http.close();
  }
});
