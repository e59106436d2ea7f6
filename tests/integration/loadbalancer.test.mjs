// deploy/haproxy.cfg and deploy/nginx.conf, run as shipped (lib/loadbalancer.mjs
// only swaps in ports, node addresses and paths) by the real HAProxy and nginx in
// front of three independent switchboard nodes (in-process mode, one HS256
// secret, so a token works on every node).
//
// Which node serves a client: each client joins a room of its own, and the node
// whose admin API lists the client's peer in that room is the one.
import assert from 'node:assert/strict';
import http from 'node:http';
import https from 'node:https';
import { after, afterEach, before, describe, test } from 'node:test';
import { Client, closeAllClients, connectPeer, join, uniqueRoom } from './lib/harness.mjs';
import { hsToken } from './lib/jwt.mjs';
import { startHaproxy, startNginx } from './lib/loadbalancer.mjs';
import { value, waitForMetrics } from './lib/metrics.mjs';
import { randomSecret, startServer } from './lib/server.mjs';

const ADMIN_KEY = 'lb-admin-key';
const SECRET = randomSecret();
const NODES = 3;
// Long enough that a drained node is still running when the balancer has taken it out.
const DRAIN_SPREAD_S = 12;

// A raw HTTP(S) GET; resolves with {status, headers, body}.
function get(url, { headers = {}, localAddress, ca } = {}) {
  return new Promise((resolve, reject) => {
    const lib = url.startsWith('https:') ? https : http;
    const req = lib.get(url, { headers, localAddress, ca, agent: false, timeout: 5000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => { body += d; });
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body }));
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${url}: timeout`)));
    req.on('error', reject);
  });
}

for (const [kind, start] of [['haproxy', startHaproxy], ['nginx', startNginx]]) {
  describe(`${kind} with deploy/${kind === 'haproxy' ? 'haproxy.cfg' : 'nginx.conf'} in front of ${NODES} nodes`, () => {
    let nodes = [];
    let lb;
    const stopped = new Set();  // nodes a test stopped on purpose

    before(async () => {
      nodes = await Promise.all(Array.from({ length: NODES }, () => startServer({
        secret: SECRET,
        args: ['--threads', '1', '--admin-key', ADMIN_KEY, '--audit-log', 'stdout',
          '--trusted-proxy', '127.0.0.1', '--drain-spread-s', String(DRAIN_SPREAD_S)],
      })));
      lb = await start({ backends: nodes.map((n) => ({ host: n.host, port: n.port })) });
    });
    afterEach(() => closeAllClients());
    after(async () => {
      closeAllClients();
      if (lb) await lb.stop();
      for (const n of nodes) if (!stopped.has(n)) await n.shutdown();
    });

    // The index of the node whose admin API lists `peer` in `room` (exactly one must).
    async function nodeOf(room, peer) {
      const hits = [];
      for (const [i, n] of nodes.entries()) {
        if (n.exited) continue;
        const r = await get(`${n.httpUrl}/v1/rooms/${room}/peers`, { headers: { authorization: `Bearer ${ADMIN_KEY}` } });
        if (r.status === 200 && JSON.parse(r.body).peers.some((p) => p.peer === peer)) hits.push(i);
      }
      assert.equal(hits.length, 1, `peer ${peer} of room ${room} is on nodes [${hits}]`);
      return hits[0];
    }

    // Connects through the balancer, says hello, joins a room of its own; returns
    // the client with .room and .node (the index of the node serving it).
    async function connectVia(url = lb.wsUrl, connect = {}) {
      const c = await connectPeer({ secret: SECRET }, { url, connect });
      c.room = uniqueRoom('lb');
      await join(c, c.room);
      c.node = await nodeOf(c.room, c.peer);
      return c;
    }

    // One new connection through the balancer that says hello at once. Resolves
    // with null when it landed on a draining node (which sends every new WebSocket
    // away with going-away {draining, reconnect: true} before reading anything),
    // else with the client, in a room of its own, with .node as in connectVia.
    async function tryConnectVia() {
      const c = await Client.connect(lb.wsUrl, { name: 'try' });
      c.send({ type: 'hello', token: hsToken(SECRET, { sub: 'try' }) });
      const first = await c.next((m) => m.type === 'welcome' || m.type === 'going-away');
      if (first.type === 'going-away') {
        assert.deepEqual({ reason: first.reason, reconnect: first.reconnect }, { reason: 'draining', reconnect: true });
        assert.equal((await c.closed()).code, 1001);
        return null;
      }
      c.room = uniqueRoom('lb');
      await join(c, c.room);
      c.node = await nodeOf(c.room, first.peer);
      return c;
    }

    test('a WebSocket through the balancer: hello → welcome, join, ping/pong on the node that holds it', async () => {
      const c = await connectVia();
      assert.equal(c.welcome.type, 'welcome');
      assert.equal(c.welcome.resumed, false);
      const pong = await c.request({ type: 'ping' });
      assert.equal(pong.type, 'pong');
      // the serving node counts the connection, the others have none (the first test on fresh nodes)
      for (const [i, n] of nodes.entries()) {
        const want = i === c.node ? 1 : 0;
        await waitForMetrics(n, (m) => value(m, 'switchboard_connections') === want,
          { what: `switchboard_connections == ${want} on node ${i}` });
      }
      c.assertSeq();
    });

    test(`round robin: ${NODES * 3} connections, 3 on each node (by room and by the switchboard_connections gauge)`, async () => {
      const clients = [];
      for (let i = 0; i < NODES * 3; i++) clients.push(await connectVia());
      const perNode = nodes.map((_, i) => clients.filter((c) => c.node === i).length);
      assert.deepEqual(perNode, nodes.map(() => 3), `connections per node: ${perNode}`);
      for (const n of nodes) {
        await waitForMetrics(n, (m) => value(m, 'switchboard_connections') === 3,
          { what: `switchboard_connections == 3 on node ${n.port}` });
      }
      for (const c of clients) assert.equal((await c.request({ type: 'ping' })).type, 'pong');
    });

    test('plain HTTP through the balancer: /readyz answered by a node, /metrics not exposed', async () => {
      const ready = await get(`${lb.url}/readyz`);
      assert.deepEqual([ready.status, ready.body], [200, 'ready\n']);
      assert.equal((await get(`${lb.url}/metrics`)).status, 404);
      assert.equal((await get(`${nodes[0].httpUrl}/metrics`)).status, 200);
    });

    test('X-Forwarded-For: a node sees the client address (via --trusted-proxy), not one the client made up', async () => {
      // The client comes from 127.0.0.2, the balancer from 127.0.0.1 (the trusted proxy).
      const r = await get(`${lb.url}/v1/rooms`, {
        localAddress: '127.0.0.2',
        headers: { authorization: 'Bearer not-the-key', 'x-forwarded-for': '203.0.113.9' },
      });
      assert.equal(r.status, 401);
      const line = await Promise.any(nodes.map((n) => n.waitForLine('stdout', /"event":"admin".*"remote":"127\.0\.0\.2"/, { timeout: 5000 })))
        .catch(() => assert.fail(`no audit line with remote 127.0.0.2:\n${nodes.map((n) => n.stdoutLines.join('\n')).join('\n')}`));
      const audit = JSON.parse(line);
      assert.deepEqual([audit.outcome, audit.reason, audit.remote], ['denied', 'unauthorized', '127.0.0.2']);
      for (const n of nodes) assert.ok(!n.stdoutLines.some((l) => l.includes('203.0.113.9')), 'the made-up address was believed');
    });

    test('TLS termination: wss:// and https:// with the self-signed certificate; refused without it', async () => {
      const c = await connectVia(lb.wssUrl, { ca: lb.ca });
      assert.equal((await c.request({ type: 'ping' })).type, 'pong');
      const ready = await get(`${lb.httpsUrl}/readyz`, { ca: lb.ca });
      assert.equal(ready.status, 200);
      await assert.rejects(get(`${lb.httpsUrl}/readyz`), /self[- ]signed/);
      await assert.rejects(Client.connect(lb.wssUrl), /self[- ]signed/);
    });

    if (kind === 'haproxy') {
      test('SIGTERM drain: /readyz 503, HAProxy takes the node out while it still runs, its clients get going-away and move', async () => {
        const clients = [];
        for (let i = 0; i < NODES * 2; i++) clients.push(await connectVia());
        const drained = nodes[0];
        const mine = clients.filter((c) => c.node === 0);
        const others = clients.filter((c) => c.node !== 0);
        assert.equal(mine.length, 2);

        const draining = drained.waitForLine('stderr', /shutting down \(draining\)/);
        stopped.add(drained);
        const exit = drained.stop({ signal: 'SIGTERM', timeout: (DRAIN_SPREAD_S + 10) * 1000 });
        await draining;
        assert.equal((await get(`${drained.httpUrl}/readyz`)).status, 503);

        // New connections through HAProxy: while the node is in rotation, every
        // third lands on it and is sent away at once. Four welcomes in a row can
        // only happen once HAProxy has taken it out (round robin over 3 nodes).
        // One try every 100 ms at most (the nodes limit new connections per address).
        const deadline = Date.now() + 10000;
        let streak = 0;
        while (streak < 4) {
          assert.ok(Date.now() < deadline, `HAProxy still sends new clients to the draining node\n${lb.logTail()}`);
          const pace = new Promise((r) => { setTimeout(r, 100); });
          const c = await tryConnectVia();
          if (c) { assert.notEqual(c.node, 0); c.terminate(); }
          streak = c ? streak + 1 : 0;
          if (streak < 4) await pace;
        }
        // Taken out by the failing health check, not because the node was gone,
        // and without cutting the connections it still holds.
        assert.equal(drained.exited, false, 'the drained node had already exited');
        assert.ok(mine.some((c) => c.isOpen), 'HAProxy cut the drained node\'s connections');
        for (let i = 0; i < 6; i++) {
          const c = await tryConnectVia();
          assert.ok(c, 'HAProxy sent a new client to the draining node again');
          assert.notEqual(c.node, 0);
        }

        for (const c of mine) {
          const ga = await c.next('going-away', { timeout: (DRAIN_SPREAD_S + 5) * 1000 });
          assert.deepEqual({ reason: ga.reason, reconnect: ga.reconnect }, { reason: 'draining', reconnect: true });
          assert.equal((await c.closed()).code, 1001);
          // reconnecting through the balancer lands on another node at once
          const again = await connectVia();
          assert.notEqual(again.node, 0);
        }
        for (const c of others) {
          assert.ok(c.isOpen);
          assert.equal(c.received('going-away').length, 0);
          await c.barrier();
        }
        assert.deepEqual(await exit, { code: 0, signal: null });
      });
    } else {
      test('SIGTERM drain: its clients get going-away; nginx has no active check, so a reconnect may land on it once and then moves on', async () => {
        const clients = [];
        for (let i = 0; i < NODES; i++) clients.push(await connectVia());
        assert.deepEqual(clients.map((c) => c.node).sort(), [0, 1, 2]);
        const drained = nodes[0];
        const mine = clients.find((c) => c.node === 0);

        const draining = drained.waitForLine('stderr', /shutting down \(draining\)/);
        stopped.add(drained);
        const exit = drained.stop({ signal: 'SIGTERM', timeout: (DRAIN_SPREAD_S + 10) * 1000 });
        await draining;
        const ga = await mine.next('going-away', { timeout: 10000 });
        assert.deepEqual({ reason: ga.reason, reconnect: ga.reconnect }, { reason: 'draining', reconnect: true });
        assert.equal((await mine.closed()).code, 1001);

        // The client reconnects as told, twice: until the node has exited, round
        // robin can bring a reconnect to it, which sends it away once more; the
        // next attempt goes to the next node.
        for (let round = 0; round < 2; round++) {
          let again = null;
          let attempts = 0;
          while (!again && attempts < 2) {
            attempts += 1;
            again = await tryConnectVia();
          }
          assert.ok(again, `sent away ${attempts} times in a row`);
          assert.notEqual(again.node, 0);
        }
        for (const c of clients.filter((x) => x !== mine)) await c.barrier();
        assert.deepEqual(await exit, { code: 0, signal: null });
      });
    }

    test(`SIGKILL a node: new connections all succeed on the others (${kind === 'haproxy' ? 'retry with redispatch' : 'proxy_next_upstream'})`, async () => {
      // after the drain test, nodes[0] is gone; kill nodes[1], nodes[2] remains
      const victim = nodes[1];
      stopped.add(victim);
      await victim.stop({ signal: 'SIGKILL' });
      for (let i = 0; i < 4; i++) {
        const c = await connectVia();
        assert.equal(c.node, 2);
        assert.equal((await c.request({ type: 'ping' })).type, 'pong');
      }
      if (kind === 'nginx') {
        // nginx did try the dead node and moved on (passive health check)
        assert.match(lb.readLog('error.log'), new RegExp(`connect\\(\\) failed \\(111: Connection refused\\) while connecting to upstream.*127\\.0\\.0\\.1:${victim.port}`));
      }
    });
  });
}
