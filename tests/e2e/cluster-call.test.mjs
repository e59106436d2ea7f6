// Two Chromium pages in a call through HAProxy in front of three cluster nodes (real Redis), each page
// on a different node. The node of one page is killed with SIGKILL: that page's SDK reconnects
// through HAProxy, resumes its session on a surviving node (same peer id, same room, the other page
// sees no one leave), the call stays up, and chat goes both ways through the servers.
//
// The cluster (lib/cluster.mjs of the integration suite) runs on the host's loopback, so Chromium
// does too here (no network namespace, unlike the single-server browser tests).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { REPO, launchBrowser, openPage, joinViaUrl, selfId, waitFor, waitConnectedTo, waitVideoFlowing } from './lib/env.mjs';
import { startCluster } from '../integration/lib/cluster.mjs';

const ROOM = 'e2e-cluster-call';

test('cluster call: the node of one page is SIGKILLed, its SDK resumes elsewhere, the call goes on', { timeout: 120000 }, async (t) => {
  const cl = await startCluster({
    nodes: 3, haproxy: true,
    // --dev serves /v1/dev-token (the demo app's tokens), signed with the cluster's shared secret.
    args: ['--dev', '--web-root', path.join(REPO, 'web'), '--resume-window-s', '20', '--node-heartbeat-ms', '200',
      '--node-ttl-ms', '1000', '--drain-spread-s', '1', '--threads', '1'],
  });
  const down = [];
  const browser = await launchBrowser();
  const pages = [];
  t.after(async () => {
    await browser.close();
    await cl.stop({ clean: true, expectedDown: down });
  });
  const newPage = async (label) => { const p = await openPage(browser, label); pages.push(p); return p; };
  const backend = (node) => `switchboard/node${cl.nodes.indexOf(node) + 1}`;
  try {
    const ada = await newPage('ada');
    await joinViaUrl(ada, cl.lb.url, 'Ada Lovelace', ROOM);
    const adaId = await selfId(ada);
    const adaNode = cl.nodeOf(adaId);
    // Grace must land on another node: HAProxy sends no new connection to Ada's node meanwhile.
    assert.equal(await cl.lb.command(`set server ${backend(adaNode)} state drain`), '');
    const grace = await newPage('grace');
    await joinViaUrl(grace, cl.lb.url, 'Grace Hopper', ROOM);
    assert.equal(await cl.lb.command(`set server ${backend(adaNode)} state ready`), '');
    const graceId = await selfId(grace);
    const graceNode = cl.nodeOf(graceId);
    assert.ok(adaNode && graceNode, `both peer ids name a node: ${adaId} ${graceId}`);
    assert.notEqual(graceNode, adaNode, 'the two pages are on different nodes');
    t.diagnostic(`ada on ${adaNode.nodeId}, grace on ${graceNode.nodeId}`);

    await Promise.all([waitConnectedTo(ada, [graceId]), waitConnectedTo(grace, [adaId])]);
    await Promise.all([waitVideoFlowing(ada, graceId), waitVideoFlowing(grace, adaId)]);

    // From here on: Ada's membership events, Grace's state changes and re-joins.
    await ada.evaluate(() => {
      window.__membership = [];
      for (const type of ['peer-left', 'peer-joined']) {
        window.__switchboard.client.on(type, (d) => window.__membership.push({ type, ...d }));
      }
    });
    await grace.evaluate(() => {
      window.__states = [];
      window.__rejoined = 0;
      window.__switchboard.client.on('state', ({ state }) => window.__states.push(state));
      window.__switchboard.client.on('rejoined', () => { window.__rejoined += 1; });
      window.__pc = window.__switchboard.call.peers.values().next().value.pc;
    });

    down.push(graceNode);
    await graceNode.stop({ signal: 'SIGKILL' });

    await waitFor(async () => {
      const s = await grace.evaluate(() => {
        const c = window.__switchboard.client;
        return { state: c.state, resumed: !!c.welcome?.resumed, peer: c.peerId };
      });
      return s.state === 'open' && s.resumed && s.peer === graceId;
    }, { timeout: 30000, what: 'grace to reconnect through HAProxy and resume her session' });
    const states = await grace.evaluate(() => window.__states);
    t.diagnostic(`grace's states after the kill: ${states.join(' → ')}`);
    assert.ok(states.includes('reconnecting'), `went through "reconnecting": ${states}`);
    assert.equal(await selfId(grace), graceId, 'same peer id');
    assert.equal(await grace.evaluate(() => window.__rejoined), 0, 'resumed, not re-joined');
    assert.ok(await grace.evaluate((room) => window.__switchboard.client.rooms.has(room), ROOM), 'still in the room');

    // The call: the same RTCPeerConnection, connected (or connected again), media flowing both ways.
    await Promise.all([waitConnectedTo(ada, [graceId]), waitConnectedTo(grace, [adaId])]);
    assert.ok(await grace.evaluate(() => window.__switchboard.call.peers.values().next().value.pc === window.__pc),
      'grace kept her RTCPeerConnection');
    await Promise.all([waitVideoFlowing(ada, graceId), waitVideoFlowing(grace, adaId)]);

    // Chat both ways through the servers, after the kill.
    await grace.locator('#chat-input').fill('still here after my node died');
    await grace.locator('#chat-input').press('Enter');
    await ada.locator('#messages .msg', { hasText: 'still here after my node died' }).waitFor({ timeout: 10000 });
    await ada.locator('#chat-input').fill('welcome back, Grace');
    await ada.locator('#chat-input').press('Enter');
    await grace.locator('#messages .msg', { hasText: 'welcome back, Grace' }).waitFor({ timeout: 10000 });

    assert.deepEqual(await ada.evaluate(() => window.__membership), [], 'ada saw nobody leave or join');
    assert.equal(await ada.locator('#grid .tile').count(), 2);
    assert.equal(await grace.locator('#grid .tile').count(), 2);
  } catch (err) {
    t.diagnostic([...pages.flatMap((p) => p.consoleLog.slice(-30)),
      ...cl.nodes.map((n) => `--- ${n.nodeId} ---\n${n.logTail(15)}`)].join('\n'));
    throw err;
  }
});
