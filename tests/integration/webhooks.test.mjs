// Webhooks against a real HTTP receiver on loopback: each event (room_started,
// peer_joined, peer_left, room_finished) arrives signed (HMAC-SHA256 of the
// exact body) with its id and timestamp; failures are retried with backoff, a
// bounded number of times; the metrics count all of it.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { closeAllClients, connectPeer, join, peersInRoom, uniqueRoom } from './lib/harness.mjs';
import { scrape, value, waitForMetrics } from './lib/metrics.mjs';
import { adminClient } from './lib/openapi.mjs';
import { startServer, tmpDir } from './lib/server.mjs';
import { startReceiver } from './lib/webhook-receiver.mjs';

const SECRET = 'whsec-test-4711';
const KEY = 'admin-key-for-webhooks';
const ATTEMPTS = 3;

let rx;
let server;
before(async () => {
  rx = await startReceiver();
  server = await startServer({
    args: ['--webhook-url', rx.url, '--webhook-secret', SECRET, '--webhook-retry-ms', '50',
      '--webhook-max-attempts', String(ATTEMPTS), '--admin-key', KEY, '--threads', '2'],
  });
});
after(async () => {
  closeAllClients();
  if (server) await server.shutdown();
  if (rx) await rx.close();
});

const forRoom = (room, event, extra = () => true) => (d) => d.body?.room?.name === room && d.body.event === event && extra(d);

// Checks what every delivery must be: a signed JSON POST whose headers agree with its body.
function assertSigned(d) {
  assert.equal(d.method, 'POST');
  assert.equal(d.path, '/hook?src=switchboard');
  assert.match(d.headers['content-type'], /^application\/json/);
  const expected = `sha256=${crypto.createHmac('sha256', SECRET).update(d.raw).digest('hex')}`;
  assert.equal(d.headers['x-switchboard-signature'], expected, 'signature over the exact body');
  assert.equal(d.headers['x-switchboard-id'], d.body.id);
  assert.match(d.body.id, /^[0-9a-f]{32}$/);
  assert.equal(Number(d.headers['x-switchboard-timestamp']), d.body.created_at);
  assert.equal(d.headers['x-switchboard-event'], d.body.event);
  assert.ok(Math.abs(d.body.created_at - Date.now() / 1000) < 60, 'created_at is now, in Unix seconds');
}

describe('events', () => {
  test('room_started, peer_joined, peer_left (left, disconnected), room_finished, each signed', async () => {
    const room = uniqueRoom('wh');
    const a = await connectPeer(server, { claims: { name: 'Ann' } });
    await join(a, room, { role: 'host' });
    const b = await connectPeer(server);
    await join(b, room);

    const started = await rx.next(forRoom(room, 'room_started'));
    assertSigned(started);
    assert.deepEqual(Object.keys(started.body).sort(), ['created_at', 'event', 'id', 'room']);
    assert.deepEqual({ ...started.body.room, created_at: 0 }, { name: room, kind: 'meeting', created_at: 0, metadata: {} });

    const joinedA = await rx.next(forRoom(room, 'peer_joined', (d) => d.body.peer.peer === a.peer));
    assertSigned(joinedA);
    assert.deepEqual({ ...joinedA.body.peer, joined_at: 0 },
      { peer: a.peer, user: a.user, name: 'Ann', metadata: { role: 'host' }, joined_at: 0 });
    const joinedB = await rx.next(forRoom(room, 'peer_joined', (d) => d.body.peer.peer === b.peer));
    assertSigned(joinedB);
    assert.notEqual(joinedA.body.id, joinedB.body.id, 'every event has its own id');

    await b.request({ type: 'leave', room });
    const leftB = await rx.next(forRoom(room, 'peer_left', (d) => d.body.peer.peer === b.peer));
    assertSigned(leftB);
    assert.equal(leftB.body.reason, 'left');

    await a.close();
    const leftA = await rx.next(forRoom(room, 'peer_left', (d) => d.body.peer.peer === a.peer));
    assert.equal(leftA.body.reason, 'disconnected');
    const finished = await rx.next(forRoom(room, 'room_finished'));
    assertSigned(finished);
    assert.equal(finished.body.reason, 'empty');
    assert.equal(rx.all(forRoom(room, 'room_started')).length, 1, 'one room_started per room');
  });

  test('operators: pre-create → room_started; kick → peer_left "kicked"; close → peer_left "room-closed" and room_finished "closed"', async () => {
    const room = uniqueRoom('wh-admin');
    const api = adminClient(server, KEY);
    assert.equal((await api.post('/v1/rooms', { name: room, metadata: { plan: 'pro' } })).status, 201);
    const started = await rx.next(forRoom(room, 'room_started'));
    assertSigned(started);
    assert.deepEqual(started.body.room.metadata, { plan: 'pro' });

    const [a, b] = await peersInRoom(server, 2, room);
    await api.delete(`/v1/rooms/${room}/peers/${a.peer}`);
    const kicked = await rx.next(forRoom(room, 'peer_left', (d) => d.body.peer.peer === a.peer));
    assert.equal(kicked.body.reason, 'kicked');

    await api.delete(`/v1/rooms/${room}`);
    await b.next('room-closed');
    const closedB = await rx.next(forRoom(room, 'peer_left', (d) => d.body.peer.peer === b.peer));
    assert.equal(closedB.body.reason, 'room-closed');
    const finished = await rx.next(forRoom(room, 'room_finished'));
    assert.equal(finished.body.reason, 'closed');
  });
});

describe('delivery', () => {
  test('a 500 is retried with the same id and body; the retry is counted', async () => {
    const room = uniqueRoom('wh-retry');
    const before = await scrape(server);
    let failedOnce = false;
    rx.respond = (d) => {
      if (!failedOnce && d.body?.room?.name === room && d.body.event === 'room_started') {
        failedOnce = true;
        return 500;
      }
      return 204;
    };
    try {
      const p = await connectPeer(server);
      await join(p, room);
      const first = await rx.next(forRoom(room, 'room_started'));
      const second = await rx.next(forRoom(room, 'room_started'));
      assert.equal(first.status, 500);
      assert.equal(second.status, 204);
      assert.equal(first.headers['x-switchboard-attempt'], '1');
      assert.equal(second.headers['x-switchboard-attempt'], '2');
      assert.equal(second.raw, first.raw, 'the same body');
      assert.equal(second.headers['x-switchboard-id'], first.headers['x-switchboard-id']);
      assertSigned(second);
      assert.ok(second.at - first.at >= 40, `retried after the backoff (${second.at - first.at} ms)`);
      const m = await waitForMetrics(server, (x) => value(x, 'switchboard_webhook_queue') === 0, { what: 'an empty webhook queue' });
      assert.equal(value(m, 'switchboard_webhook_retries_total') - value(before, 'switchboard_webhook_retries_total'), 1);
      assert.ok(value(m, 'switchboard_webhooks_delivered_total') > value(before, 'switchboard_webhooks_delivered_total'));
      assert.ok(value(m, 'switchboard_webhooks_enqueued_total') > value(before, 'switchboard_webhooks_enqueued_total'));
    } finally {
      rx.respond = () => 204;
    }
  });

  test(`a receiver that keeps failing gets exactly ${ATTEMPTS} attempts, with growing delays; then the delivery is counted as failed`, async () => {
    const room = uniqueRoom('wh-fail');
    const before = await scrape(server);
    rx.respond = (d) => (d.body?.room?.name === room && d.body.event === 'room_started' ? 503 : 204);
    try {
      const p = await connectPeer(server);
      await join(p, room);
      const tries = [];
      for (let i = 0; i < ATTEMPTS; i++) tries.push(await rx.next(forRoom(room, 'room_started')));
      assert.deepEqual(tries.map((t) => t.headers['x-switchboard-attempt']), ['1', '2', '3']);
      const gap1 = tries[1].at - tries[0].at;
      const gap2 = tries[2].at - tries[1].at;
      assert.ok(gap1 >= 40 && gap2 >= 90, `backoff 50 ms then 100 ms (got ${gap1}, ${gap2})`);
      const m = await waitForMetrics(server,
        (x) => value(x, 'switchboard_webhooks_failed_total') - value(before, 'switchboard_webhooks_failed_total') === 1,
        { what: 'the failed delivery to be counted' });
      assert.equal(value(m, 'switchboard_webhook_attempts_total') - value(before, 'switchboard_webhook_attempts_total') >= ATTEMPTS, true);
      // And no fourth attempt comes: the queue is empty, so nothing is waiting to retry.
      await waitForMetrics(server, (x) => value(x, 'switchboard_webhook_queue') === 0, { what: 'an empty webhook queue' });
      assert.equal(rx.all(forRoom(room, 'room_started')).length, ATTEMPTS);
    } finally {
      rx.respond = () => 204;
    }
  });

  test('a receiver that is down does not hold up signaling', async () => {
    const down = await startReceiver();
    const url = down.url;
    await down.close();
    const s = await startServer({ args: ['--webhook-url', url, '--webhook-secret', 's', '--webhook-retry-ms', '20',
      '--webhook-max-attempts', '2'] });
    try {
      const room = uniqueRoom();
      const [a, b] = await peersInRoom(s, 2, room);
      await a.request({ type: 'message', room, to: b.peer, data: 1 });
      await b.next('message');
      const m = await waitForMetrics(s, (x) => value(x, 'switchboard_webhooks_failed_total') >= 3,
        { what: 'the deliveries to fail' });
      assert.equal(value(m, 'switchboard_webhooks_delivered_total'), 0);
    } finally {
      closeAllClients();
      await s.shutdown();
    }
  });
});

describe('https', () => {
  // A self-signed certificate for 127.0.0.1 (as an IP SAN, which the server checks).
  const dir = tmpDir();
  const certFile = path.join(dir, 'rx.crt');
  const keyFile = path.join(dir, 'rx.key');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
    '-keyout', keyFile, '-out', certFile, '-days', '2', '-subj', '/CN=webhook-receiver',
    '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' });
  const tls = { cert: fs.readFileSync(certFile), key: fs.readFileSync(keyFile) };

  test('an https:// receiver whose CA is given with --webhook-ca gets signed events', async () => {
    const srx = await startReceiver({ tls });
    const s = await startServer({ args: ['--webhook-url', srx.url, '--webhook-secret', SECRET, '--webhook-ca', certFile] });
    try {
      const room = uniqueRoom('wh-tls');
      const p = await connectPeer(s);
      await join(p, room);
      const d = await srx.next(forRoom(room, 'peer_joined'));
      assertSigned(d);
      assert.equal(d.headers.host, `127.0.0.1:${new URL(srx.url).port}`);
    } finally {
      closeAllClients();
      await s.shutdown();
      await srx.close();
    }
  });

  test('an https:// receiver the server cannot verify gets nothing; the deliveries fail', async () => {
    const srx = await startReceiver({ tls });
    const s = await startServer({ args: ['--webhook-url', srx.url, '--webhook-secret', SECRET,
      '--webhook-max-attempts', '1'] });
    try {
      const p = await connectPeer(s);
      await join(p, uniqueRoom('wh-untrusted'));
      await waitForMetrics(s, (x) => value(x, 'switchboard_webhooks_failed_total') >= 2, { what: 'failed deliveries' });
      assert.equal(srx.deliveries.length, 0);
      assert.match(s.stderrLines.join('\n'), /certificate verify failed|tls handshake/);
    } finally {
      closeAllClients();
      await s.shutdown();
      await srx.close();
    }
  });
  test('a trusted certificate for another name is refused (the host is checked)', async () => {
    const srx = await startReceiver({ tls });
    const url = srx.url.replace('127.0.0.1', 'localhost'); // the certificate names 127.0.0.1 only
    const s = await startServer({ args: ['--webhook-url', url, '--webhook-secret', SECRET, '--webhook-ca', certFile,
      '--webhook-max-attempts', '1'] });
    try {
      const p = await connectPeer(s);
      await join(p, uniqueRoom('wh-wrong-host'));
      await waitForMetrics(s, (x) => value(x, 'switchboard_webhooks_failed_total') >= 2, { what: 'failed deliveries' });
      assert.equal(srx.deliveries.length, 0);
    } finally {
      closeAllClients();
      await s.shutdown();
      await srx.close();
    }
  });
});

test('--webhook-url without --webhook-secret is a configuration error', async () => {
  await assert.rejects(startServer({ args: ['--webhook-url', 'http://127.0.0.1:9/x'] }), /exited|webhook/);
});
