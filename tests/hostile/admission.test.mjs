// Admission under attack: connection floods from one address (--max-conns-per-ip,
// --conn-rate-per-ip → 429 + Retry-After), the server-wide cap (--max-connections
// → 503 + Retry-After), the Origin allow-list (403), and X-Forwarded-For spoofing
// (ignored unless the TCP peer is a --trusted-proxy). Each test starts the server
// it needs. Honest peers connect from 127.0.0.1; attackers from 127.0.0.2 and up
// (all of 127/8 is loopback on Linux).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import test, { afterEach } from 'node:test';
import { closeAllClients, connectPeer } from '../integration/lib/harness.mjs';
import { hsToken } from '../integration/lib/jwt.mjs';
import { startServer, tmpDir } from '../integration/lib/server.mjs';
import { assertRefused, upgrade } from './lib/attack.mjs';
import { underAttack, waitUntil } from './lib/honest.mjs';

afterEach(() => closeAllClients());

async function withServer(args, fn) {
  const server = await startServer({ args });
  try {
    return await fn(server);
  } finally {
    closeAllClients();
    await server.shutdown();
  }
}

// Says hello on an upgraded client and checks the server answers.
async function works(server, client) {
  const w = await client.request({ type: 'hello', token: hsToken(server.secret, { sub: 'probe' }) });
  assert.equal(w.type, 'welcome');
  await client.barrier();
}

async function closeAll(clients) {
  for (const c of clients) c.terminate();
  await waitUntil(clients, () => clients.every((c) => c.closeInfo), { timeout: 5000, describe: () => 'the attackers to be gone' });
}

// Retries an upgrade until it is admitted, one attempt after the other's answer
// (the server releases a closed connection's slot asynchronously). Bounded.
async function admittedEventually(server, opts, attempts = 50) {
  let r;
  for (let i = 0; i < attempts; i++) {
    r = await upgrade(server, opts);
    if (r.status === 101) return r.client;
  }
  assert.fail(`still refused after ${attempts} attempts: ${r.status} ${r.body}`);
}

test('connection flood from one address over --max-conns-per-ip → 429 + Retry-After; other addresses still connect', async (t) => {
  await withServer(['--max-conns-per-ip', '5'], (server) => underAttack(server, async () => {
    const results = await Promise.all(Array.from({ length: 60 }, (_, i) => upgrade(server, { localAddress: '127.0.0.2', name: `flood-${i}` })));
    const ok = results.filter((r) => r.status === 101);
    const refused = results.filter((r) => r.status !== 101);
    assert.equal(ok.length, 5, `admitted ${ok.length} of 60 from one address`);
    for (const r of refused) assertRefused(r, 429, 'rate-limited');
    // another address is not affected
    const others = [];
    for (let i = 0; i < 5; i++) {
      const r = await upgrade(server, { localAddress: '127.0.0.3' });
      assert.equal(r.status, 101, `127.0.0.3 refused: ${r.status} ${r.body}`);
      others.push(r.client);
    }
    await works(server, others[0]);
    await works(server, ok[0].client);
    // a closed connection frees its slot
    ok[0].client.terminate();
    await ok[0].client.closed();
    const again = await admittedEventually(server, { localAddress: '127.0.0.2' });
    await works(server, again);
    assertRefused(await upgrade(server, { localAddress: '127.0.0.2' }), 429, 'rate-limited');
    await closeAll([...ok.map((r) => r.client), ...others, again]);
  }, { t }));
});

test('connection rate per address over --conn-rate-per-ip (burst 5) → 429 + Retry-After', async (t) => {
  const dir = tmpDir('switchboard-hostile-');
  const cfg = path.join(dir, 'rate.toml');
  fs.writeFileSync(cfg, '[limits]\nconn_rate_per_ip = 0.5\nconn_burst_per_ip = 5.0\n');
  await withServer(['--config', cfg], (server) => underAttack(server, async () => {
    // open and close at once: only the rate counts, not the concurrency
    const statuses = [];
    let refusal;
    for (let i = 0; i < 30; i++) {
      const r = await upgrade(server, { localAddress: '127.0.0.2' });
      statuses.push(r.status);
      if (r.status === 101) { r.client.terminate(); await r.client.closed(); } else refusal ??= r;
    }
    assert.deepEqual(statuses.slice(0, 5), [101, 101, 101, 101, 101]);
    assert.ok(statuses.slice(5).every((s) => s === 429), `after the burst: ${statuses.slice(5)}`);
    assertRefused(refusal, 429, 'rate-limited');
    assert.ok(Number(refusal.headers['retry-after']) >= 1 && Number(refusal.headers['retry-after']) <= 2,
      `Retry-After ${refusal.headers['retry-after']} at 0.5 new connections/s`);
    const other = await upgrade(server, { localAddress: '127.0.0.3' });
    assert.equal(other.status, 101);
    await works(server, other.client);
    await closeAll([other.client]);
  }, { t }));
});

test('server-wide cap --max-connections 20 → 503 + Retry-After for every address; freed slots are reusable', async (t) => {
  await withServer(['--max-connections', '20'], (server) => underAttack(server, async (h) => {
    assert.equal(h.clients.length, 4);  // the honest peers hold 4 of the 20
    const results = await Promise.all(Array.from({ length: 40 }, (_, i) => upgrade(server, { localAddress: `127.0.0.${2 + (i % 4)}`, name: `cap-${i}` })));
    const ok = results.filter((r) => r.status === 101);
    const refused = results.filter((r) => r.status !== 101);
    assert.equal(ok.length, 16, `admitted ${ok.length}`);
    for (const r of refused) assertRefused(r, 503, 'unavailable');
    assertRefused(await upgrade(server, { localAddress: '127.0.0.9' }), 503, 'unavailable');
    await works(server, ok[0].client);
    await closeAll(ok.map((r) => r.client));
    const fresh = await admittedEventually(server, { localAddress: '127.0.0.9' });
    await works(server, fresh);
    await closeAll([fresh]);
  }, { t }));
});

test('Origin allow-list: a listed Origin and no Origin are upgraded, any other → 403 forbidden', async (t) => {
  await withServer(['--allowed-origin', 'https://good.example'], (server) => underAttack(server, async () => {
    const bad = ['https://evil.example', 'http://good.example', 'https://good.example.evil.example', 'https://good.example:8443',
      'https://evil.example/https://good.example', 'null', '', 'https://good.example, https://evil.example', 'file://', 'https://xgood.example'];
    for (const origin of bad) {
      const r = await upgrade(server, { headers: { Origin: origin } });
      assert.equal(r.status, 403, `Origin ${JSON.stringify(origin)} → ${r.status}`);
      assert.deepEqual(JSON.parse(r.body), { error: { code: 'forbidden', message: 'origin not allowed' } });
    }
    const good = await upgrade(server, { headers: { Origin: 'https://good.example' } });
    assert.equal(good.status, 101);
    await works(server, good.client);
    const none = await upgrade(server, {});
    assert.equal(none.status, 101);
    await works(server, none.client);
    await closeAll([good.client, none.client]);
  }, { t }));
});

test('X-Forwarded-For from an untrusted peer is ignored: 100 spoofed addresses are still limited as one', async (t) => {
  await withServer(['--max-conns-per-ip', '5'], (server) => underAttack(server, async () => {
    const results = [];
    for (let i = 0; i < 100; i++) {
      const spoof = `10.${i}.0.1`;
      const headers = i % 3 === 0 ? { 'X-Forwarded-For': spoof }
        : i % 3 === 1 ? { 'X-Forwarded-For': `${spoof}, 10.${i}.0.2`, 'X-Real-IP': spoof }
          : { 'X-Forwarded-For': spoof, Forwarded: `for=${spoof}` };
      results.push(await upgrade(server, { localAddress: '127.0.0.2', headers }));
    }
    const ok = results.filter((r) => r.status === 101);
    assert.equal(ok.length, 5, `admitted ${ok.length} of 100 spoofed connections`);
    for (const r of results.filter((x) => x.status !== 101)) assertRefused(r, 429, 'rate-limited');
    await closeAll(ok.map((r) => r.client));
  }, { t }));
});

test('X-Forwarded-For through a --trusted-proxy: each forwarded client is limited as itself; untrusted peers cannot spoof', async (t) => {
  await withServer(['--max-conns-per-ip', '5', '--trusted-proxy', '127.0.0.2'], (server) => underAttack(server, async () => {
    const clients = [];
    // 10 different forwarded clients behind the proxy: all admitted
    for (let i = 0; i < 10; i++) {
      const r = await upgrade(server, { localAddress: '127.0.0.2', headers: { 'X-Forwarded-For': `198.51.100.${i}` } });
      assert.equal(r.status, 101, `forwarded client ${i}: ${r.status} ${r.body}`);
      clients.push(r.client);
    }
    // one forwarded client is limited to 5, whatever it puts in front of the chain
    for (let i = 0; i < 5; i++) {
      const r = await upgrade(server, { localAddress: '127.0.0.2', headers: { 'X-Forwarded-For': `203.0.113.${i}, 192.0.2.7` } });
      assert.equal(r.status, 101);
      clients.push(r.client);
    }
    assertRefused(await upgrade(server, { localAddress: '127.0.0.2', headers: { 'X-Forwarded-For': '203.0.113.99, 192.0.2.7' } }), 429, 'rate-limited');
    // A proxy that adds its own X-Forwarded-For line after the client's (HAProxy's
    // `option forwardfor`): the lines form one list, the proxy's last line wins.
    for (let i = 0; i < 5; i++) {
      const r = await upgrade(server, { localAddress: '127.0.0.2', headers: { 'X-Forwarded-For': [`203.0.113.${50 + i}`, '192.0.2.8'] } });
      assert.equal(r.status, 101);
      clients.push(r.client);
    }
    assertRefused(await upgrade(server, { localAddress: '127.0.0.2', headers: { 'X-Forwarded-For': ['203.0.113.77', '192.0.2.8'] } }), 429, 'rate-limited');
    // an untrusted peer claiming to be forwarded is limited as itself
    const spoofed = [];
    for (let i = 0; i < 10; i++) spoofed.push(await upgrade(server, { localAddress: '127.0.0.4', headers: { 'X-Forwarded-For': `198.51.100.${100 + i}, 127.0.0.2` } }));
    assert.equal(spoofed.filter((r) => r.status === 101).length, 5);
    await closeAll([...clients, ...spoofed.filter((r) => r.status === 101).map((r) => r.client)]);
  }, { t }));
});
