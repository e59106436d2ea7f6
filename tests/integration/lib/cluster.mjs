// A cluster for a test: a real redis-server, switchboard nodes in cluster mode on
// it (one HS256 secret, so a token works on every node), and optionally a real
// HAProxy (deploy/haproxy.cfg) in front of them.
//
//   const cl = await startCluster({ nodes: 3, args: ['--resume-window-s', '10'], haproxy: true });
//   cl.nodes[i]                 Server handles (lib/server.mjs), each with .nodeId ('n1', ...)
//   cl.redis, cl.secret, cl.lb  the Redis (lib/redis.mjs), the secret, the HAProxy (or null)
//   await cl.addNode('n4')      one more node on the same Redis
//   await cl.stop()             stops the balancer, the nodes and Redis (see stop())
//
//   await startNode({ redis, secret, id, args })   one node; resolves once /readyz says 200
//   await waitReady(node, true | false)            polls /readyz until it says that (bounded)
//   tagOf(peer)                                    the node tag inside a peer id (hex digits 13-16)
//   await nodeTag(node)                            the tag of the peers `node` creates
//
// A peer id carries a tag of the node that created it, and a resumed session
// keeps its peer id: tagOf tells where a session started, not where it is now.
import { connectPeer, rawGet } from './harness.mjs';
import { startHaproxy } from './loadbalancer.mjs';
import { startRedis } from './redis.mjs';
import { randomSecret, startServer } from './server.mjs';

// Starts one node on `redis` with `--node-id id` and `args`; resolves with its
// Server handle (with .nodeId) once /readyz answers 200.
export async function startNode({ redis, secret, id, args = [] }) {
  const s = await startServer({ secret, args: ['--redis', redis.url, '--node-id', id, ...args] });
  s.nodeId = id;
  await waitReady(s, true);
  return s;
}

// Polls /readyz every 50 ms until it answers 200 (`ready`) or 503 (not ready).
// Rejects after `timeout` ms with the last status seen.
export async function waitReady(node, ready, { timeout = 10000 } = {}) {
  const want = ready ? 200 : 503;
  const deadline = Date.now() + timeout;
  for (;;) {
    const r = await rawGet(node, '/readyz').catch(() => ({ status: 0 }));
    if (r.status === want) return;
    if (Date.now() > deadline) throw new Error(`${node.nodeId}: /readyz never became ${want} (last ${r.status})`);
    await new Promise((res) => { setTimeout(res, 50); });
  }
}

// The node tag of a peer id: its hex digits 13 to 16.
export const tagOf = (peer) => peer.slice(12, 16);

// The tag `node` puts in the peer ids it creates: a probe connects, reads its
// welcome and closes with 1000 (its session ends at once).
export async function nodeTag(node) {
  const probe = await connectPeer(node, { name: `probe-${node.nodeId}` });
  await probe.close(1000);
  return tagOf(probe.peer);
}

export class Cluster {
  constructor({ redis, secret, args }) {
    this.redis = redis;
    this.secret = secret;
    this.args = args;
    this.nodes = [];
    this.lb = null;
    this.tags = new Map(); // node tag -> node
  }

  // Starts node `id` with the cluster's args plus `extra`, learns its tag.
  async addNode(id, extra = []) {
    const node = await startNode({ redis: this.redis, secret: this.secret, id, args: [...this.args, ...extra] });
    this.nodes.push(node);
    node.tag = await nodeTag(node);
    this.tags.set(node.tag, node);
    return node;
  }

  // The node whose tag `peer` carries (where that session was created), or undefined.
  nodeOf(peer) { return this.tags.get(tagOf(peer)); }

  // Stops the balancer, then the nodes (all at once), then Redis. With
  // `clean: true` each node is stopped with Server.shutdown() (SIGTERM; a node
  // that had crashed, exited non-zero or printed a sanitizer report makes stop()
  // reject once everything is stopped); otherwise with SIGKILL. Nodes in
  // `expectedDown` (stopped or killed on purpose) are only reaped.
  async stop({ clean = false, expectedDown = [] } = {}) {
    const errors = [];
    if (this.lb) await this.lb.stop().catch((e) => errors.push(e));
    await Promise.all(this.nodes.map((n) => (expectedDown.includes(n) || !clean
      ? n.stop({ signal: 'SIGKILL' }) : n.shutdown()).catch((e) => errors.push(e))));
    await this.redis?.stop().catch((e) => errors.push(e));
    if (errors.length) throw new Error(errors.map((e) => e.message).join('\n\n'));
  }
}

// Starts Redis, `nodes` nodes n1..nN (each with `args`) and, with `haproxy`,
// HAProxy (plain HTTP) in front of them. The nodes start one after the other,
// so n1 is registered first.
export async function startCluster({ nodes = 3, args = [], secret = randomSecret(), haproxy = false } = {}) {
  const cl = new Cluster({ redis: await startRedis(), secret, args });
  try {
    for (let i = 1; i <= nodes; i++) await cl.addNode(`n${i}`);
    if (haproxy) cl.lb = await startHaproxy({ backends: cl.nodes.map((n) => ({ host: n.host, port: n.port })), tls: false });
  } catch (e) {
    await cl.stop().catch(() => {});
    throw e;
  }
  return cl;
}
