// Honest traffic and memory checks for the hostile-client suite.
//
// startHonest(server) connects four well-behaved peers in two overlapping rooms
//   room A: h0 h1 h2      room B: h2 h3 h0
// and has each of them relay a steady numbered stream (default 50 frames/s per
// sender, bounded in count): offers and ice-candidates to one peer, `message`s to
// one peer, and `message`s to the whole room, round robin over the sender's rooms.
// Every frame carries an id (so every one is acked) and, inside `data`, the
// sender's name, its number and the time it was sent.
//
// While an attack runs, the stream keeps going; `await h.finish()` then stops the
// senders, waits (event-driven) until everything expected has arrived, and asserts:
//   - every receiver got each sender's frames exactly once, in the order sent,
//     with the right type and room, and `from` = the real sender's peer id;
//   - nobody got anything else (no foreign relay, no error, no join/leave event);
//   - every frame was acked (no error instead);
//   - no frame took longer than `maxDelayMs` (default 2 s) from send to receipt;
//   - every honest socket is still open and its seq numbers are 1, 2, 3, ...
//
// Memory: rssKiB(server) reads VmRSS from /proc/<pid>/status; sampleRss() records
// the peak while an attack runs; expectRssBack() waits (bounded) until the
// server's RSS is back near a baseline.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { connectPeer, join, uniqueRoom } from '../../integration/lib/harness.mjs';

const KIND = ['offer', 'ice-candidate', 'message', 'message-room'];
const MiB = 1024;  // in KiB

// ---------------------------------------------------------------- memory

export function rssKiB(server) {
  const status = fs.readFileSync(`/proc/${server.proc.pid}/status`, 'utf8');
  const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
  assert.ok(m, `no VmRSS in /proc/${server.proc.pid}/status`);
  return Number(m[1]);
}

// Samples the server's RSS every `everyMs` until stop(); resolves nothing, just
// keeps .peak (KiB). The interval is a measurement rate, not a synchronisation.
export function sampleRss(server, everyMs = 25) {
  const s = { peak: rssKiB(server), samples: 0 };
  const timer = setInterval(() => {
    if (server.exited) return;
    try { s.peak = Math.max(s.peak, rssKiB(server)); s.samples += 1; } catch { /* exited */ }
  }, everyMs);
  s.stop = () => { clearInterval(timer); if (!server.exited) s.peak = Math.max(s.peak, rssKiB(server)); return s.peak; };
  return s;
}

// Waits until the server's RSS is at most baseline + slackMiB, polling (bounded
// by `timeout`): memory freed by the server is returned to the kernel lazily.
export async function expectRssBack(server, baselineKiB, { slackMiB = 16, timeout = 5000, what = 'the attack' } = {}) {
  const limit = baselineKiB + slackMiB * MiB;
  const deadline = Date.now() + timeout;
  let now = rssKiB(server);
  while (now > limit && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 100));
    now = rssKiB(server);
  }
  assert.ok(now <= limit,
    `server RSS did not come back after ${what}: ${(now / MiB).toFixed(1)} MiB, baseline ${(baselineKiB / MiB).toFixed(1)} MiB (+${slackMiB} MiB allowed)`);
  return now;
}

export function assertAlive(server) {
  assert.ok(!server.exited, `the server died: ${JSON.stringify(server.exitInfo)}\n${server.logTail()}`);
}

// Resolves once `cond()` is true, re-checking after every frame any of
// `clients` receives (and once right away). Rejects after `timeout` ms with
// describe()'s text.
export function waitUntil(clients, cond, { timeout = 5000, describe = () => 'condition' } = {}) {
  return new Promise((resolve, reject) => {
    let done = false;
    const check = () => {
      if (done) return;
      let ok;
      try { ok = cond(); } catch (e) { finish(); reject(e); return; }
      if (ok) { finish(); resolve(); }
    };
    const onMsg = () => setImmediate(check);  // after the Client's own listener recorded the frame
    const finish = () => {
      done = true;
      clearTimeout(timer);
      for (const c of clients) { c.ws.off('message', onMsg); c.ws.off('close', onMsg); }
    };
    const timer = setTimeout(() => { finish(); reject(new Error(`timed out after ${timeout} ms waiting for ${describe()}`)); }, timeout);
    for (const c of clients) { c.ws.on('message', onMsg); c.ws.on('close', onMsg); }
    check();
  });
}

// ---------------------------------------------------------------- honest peers

export async function startHonest(server, {
  rate = 50,           // frames per second per sender
  maxCount = 2000,     // per sender: the stream never exceeds this
  minCount = 25,       // per sender: finish() lets at least this many go out first
  maxDelayMs = 2000,
  warmup = 5,          // every sender's first `warmup` frames delivered before start resolves
} = {}) {
  const rooms = { A: uniqueRoom('honest-a'), B: uniqueRoom('honest-b') };
  const layout = { h0: ['A', 'B'], h1: ['A'], h2: ['A', 'B'], h3: ['B'] };
  const names = Object.keys(layout);
  const peers = {};
  for (const name of names) {
    peers[name] = await connectPeer(server, { name: `honest-${name}`, claims: { sub: `honest-${name}` } });
  }
  // Join in a fixed order; each member already in a room consumes the joins after it.
  const members = { A: [], B: [] };
  for (const name of names) {
    for (const r of layout[name]) {
      await join(peers[name], rooms[r]);
      for (const other of members[r]) await peers[other].next({ type: 'peer-joined', room: rooms[r], peer: peers[name].peer });
      members[r].push(name);
    }
  }
  const byPeer = new Map(names.map((n) => [peers[n].peer, n]));
  const startFrame = Object.fromEntries(names.map((n) => [n, peers[n].frames.length]));

  // expected[receiver][sender] = [{n, type, room}] in send order
  const expected = Object.fromEntries(names.map((r) => [r, Object.fromEntries(names.map((s) => [s, []]))]));
  const sent = Object.fromEntries(names.map((n) => [n, 0]));
  const acksDue = Object.fromEntries(names.map((n) => [n, new Set()]));
  const cursor = Object.fromEntries(names.map((n) => [n, 0]));
  const stats = { sent: 0, maxDelay: 0 };

  function sendOne(name) {
    const c = peers[name];
    const n = sent[name];
    const kind = KIND[n % KIND.length];
    const rkey = layout[name][Math.floor(n / KIND.length) % layout[name].length];
    const room = rooms[rkey];
    const others = members[rkey].filter((x) => x !== name);
    const id = `${name}-${n}`;
    const data = { s: name, n, t: Date.now() };
    let frame;
    if (kind === 'message-room') {
      frame = { type: 'message', room, id, data };
      for (const o of others) expected[o][name].push({ n, type: 'message', room });
    } else {
      const to = others[cursor[name]++ % others.length];
      frame = { type: kind, room, to: peers[to].peer, id, data };
      expected[to][name].push({ n, type: kind, room });
    }
    acksDue[name].add(id);
    c.send(frame);
    sent[name] = n + 1;
    stats.sent += 1;
  }

  let stopped = false;
  const t0 = Date.now();
  let tickWaiters = [];
  const timer = setInterval(() => {
    if (stopped) return;
    const due = Math.min(maxCount, Math.floor(((Date.now() - t0) * rate) / 1000) + 1);
    for (const name of names) {
      if (!peers[name].isOpen) continue;
      // catch up if the timer was late, but never more than 10 frames in one go
      for (let k = 0; sent[name] < due && k < 10; k++) sendOne(name);
    }
    for (const w of tickWaiters) w();
  }, Math.max(5, Math.floor(1000 / rate)));

  const allClients = names.map((n) => peers[n]);

  // Received relay frames from honest senders (after the setup), per receiver and sender.
  function relayed(receiver) {
    const out = Object.fromEntries(names.map((s) => [s, []]));
    const c = peers[receiver];
    for (let i = startFrame[receiver]; i < c.frames.length; i++) {
      const f = c.frames[i];
      const m = f.msg;
      if (m && ['offer', 'ice-candidate', 'message'].includes(m.type) && m.data && typeof m.data === 'object'
          && names.includes(m.data.s)) out[m.data.s].push({ m, at: f.at });
    }
    return out;
  }

  function complete() {
    for (const r of names) {
      const got = relayed(r);
      for (const s of names) if (got[s].length < expected[r][s].length) return false;
    }
    for (const s of names) {
      const acked = new Set(peers[s].received('ack').map((m) => m.id));
      for (const id of acksDue[s]) if (!acked.has(id)) {
        // an error instead of the ack ends the wait (it is reported by verify)
        if (peers[s].received({ type: 'error', id }).length) return true;
        return false;
      }
    }
    return true;
  }

  function describeMissing() {
    const lines = [];
    for (const r of names) {
      const got = relayed(r);
      for (const s of names) {
        if (got[s].length !== expected[r][s].length) lines.push(`${r} from ${s}: ${got[s].length}/${expected[r][s].length}`);
      }
    }
    for (const s of names) {
      const acked = new Set(peers[s].received('ack').map((m) => m.id));
      const missing = [...acksDue[s]].filter((id) => !acked.has(id));
      if (missing.length) lines.push(`${s}: ${missing.length} acks missing (first ${missing[0]})`);
    }
    return `every honest frame delivered and acked; missing: ${lines.join('; ') || 'none'}`;
  }

  function verify() {
    for (const r of names) {
      const c = peers[r];
      assert.ok(c.isOpen, `honest ${r} was closed: ${JSON.stringify(c.closeInfo)}`);
      const got = relayed(r);
      for (const s of names) {
        const want = expected[r][s];
        const have = got[s];
        const ns = have.map((x) => x.m.data.n);
        assert.deepEqual(ns, want.map((x) => x.n), `honest ${r} from ${s}: lost, duplicated or reordered frames`);
        for (let i = 0; i < have.length; i++) {
          const { m, at } = have[i];
          assert.equal(m.from, peers[s].peer, `honest ${r}: frame ${s}#${m.data.n} has from=${m.from}, expected ${peers[s].peer}`);
          assert.equal(m.type, want[i].type, `honest ${r}: frame ${s}#${m.data.n} has type ${m.type}`);
          assert.equal(m.room, want[i].room, `honest ${r}: frame ${s}#${m.data.n} arrived in room ${m.room}, sent to ${want[i].room}`);
          assert.ok(!('to' in m) && !('id' in m), `honest ${r}: relayed frame leaks sender fields: ${JSON.stringify(m)}`);
          const delay = at - m.data.t;
          stats.maxDelay = Math.max(stats.maxDelay, delay);
          assert.ok(delay <= maxDelayMs, `honest ${r}: frame ${s}#${m.data.n} took ${delay} ms (bound ${maxDelayMs} ms)`);
        }
      }
      // Nothing else may have arrived since the setup: only acks of our own frames, pongs, relays from honest peers.
      for (let i = startFrame[r]; i < c.frames.length; i++) {
        const f = c.frames[i];
        const m = f.msg;
        assert.ok(!f.binary && m && typeof m === 'object', `honest ${r} got a non-JSON frame: ${f.raw}`);
        if (m.type === 'ack') {
          assert.ok(acksDue[r].has(m.id), `honest ${r} got an ack it did not ask for: ${f.raw}`);
          continue;
        }
        if (m.type === 'pong') continue;
        if (['offer', 'ice-candidate', 'message'].includes(m.type)) {
          assert.ok(byPeer.has(m.from) && m.data && m.data.s === byPeer.get(m.from),
            `honest ${r} got a relay that is not from an honest peer (misrouted): ${f.raw.slice(0, 300)}`);
          continue;
        }
        assert.fail(`honest ${r} got an unexpected frame: ${f.raw.slice(0, 300)}`);
      }
      const acks = c.received('ack').map((m) => m.id);
      assert.equal(new Set(acks).size, acks.length, `honest ${r}: an ack arrived twice`);
      assert.equal(acks.length, acksDue[r].size, `honest ${r}: ${acksDue[r].size - acks.length} acks missing`);
      c.assertSeq();
    }
  }

  const h = {
    peers,
    rooms,
    names,
    stats,
    clients: allClients,
    get sent() { return stats.sent; },
    // Resolves once every sender has sent at least `n` frames (event: the send timer).
    sentAtLeast(n, { timeout = 10000 } = {}) {
      const target = Math.min(n, maxCount);
      return new Promise((resolve, reject) => {
        const check = () => {
          if (names.every((x) => sent[x] >= target || !peers[x].isOpen)) {
            tickWaiters = tickWaiters.filter((w) => w !== check);
            clearTimeout(t);
            resolve();
          }
        };
        const t = setTimeout(() => {
          tickWaiters = tickWaiters.filter((w) => w !== check);
          reject(new Error(`honest senders did not reach ${target} frames within ${timeout} ms`));
        }, timeout);
        tickWaiters.push(check);
        check();
      });
    },
    // Stops the stream once at least minCount frames per sender went out, waits for
    // delivery and acks, and asserts everything. Returns stats.
    async finish({ timeout = 8000 } = {}) {
      try {
        await h.sentAtLeast(minCount);
      } finally {
        stopped = true;
        clearInterval(timer);
      }
      await waitUntil(allClients, complete, { timeout, describe: describeMissing });
      for (const s of names) {
        const errs = peers[s].received('error');
        assert.equal(errs.length, 0, `honest ${s} got errors: ${JSON.stringify(errs).slice(0, 500)}`);
      }
      verify();
      return { sent: stats.sent, maxDelay: stats.maxDelay, seconds: (Date.now() - t0) / 1000 };
    },
    stop() { stopped = true; clearInterval(timer); },
    close() { h.stop(); for (const c of allClients) c.terminate(); },
  };

  // Warm-up: the first frames of every sender reached every receiver they were meant for.
  await h.sentAtLeast(warmup);
  await waitUntil(allClients, () => names.every((r) => {
    const got = relayed(r);
    return names.every((s) => got[s].length >= expected[r][s].filter((x) => x.n < warmup).length);
  }), { timeout: 5000, describe: () => 'the honest warm-up' });
  return h;
}

// The shape of every hostile test: honest peers start relaying, the server's RSS
// is taken as the baseline once they are warm, `attack(h)` runs (it must leave
// no attacker connected when it resolves), then the honest stream is finished and
// checked, the server must still be alive, its peak RSS during the attack must
// stay within baseline + peakMiB (when given), and its RSS must come back to
// within baseline + slackMiB. With {t} (the test context) it reports these
// numbers as a diagnostic. Resolves with {result, stats, baselineKiB, peakKiB}.
export async function underAttack(server, attack, { slackMiB = 16, peakMiB, honest = {}, finishTimeout, t } = {}) {
  const h = await startHonest(server, honest);
  const baselineKiB = rssKiB(server);
  const sampler = sampleRss(server);
  let result;
  try {
    result = await attack(h);
  } catch (e) {
    h.stop();
    throw e;
  } finally {
    sampler.stop();
  }
  assertAlive(server);
  const stats = await h.finish(finishTimeout ? { timeout: finishTimeout } : {});
  assertAlive(server);
  const peakKiB = sampler.peak;
  if (peakMiB !== undefined) {
    assert.ok(peakKiB - baselineKiB <= peakMiB * MiB,
      `server RSS grew by ${((peakKiB - baselineKiB) / MiB).toFixed(1)} MiB during the attack (bound ${peakMiB} MiB)`);
  }
  const afterKiB = await expectRssBack(server, baselineKiB, { slackMiB });
  h.close();
  if (t) {
    const mb = (k) => (k / MiB).toFixed(1);
    t.diagnostic(`honest: ${stats.sent} frames over ${stats.seconds.toFixed(1)} s, max delay ${stats.maxDelay} ms; `
      + `server RSS: baseline ${mb(baselineKiB)} MiB, peak ${mb(peakKiB)} MiB, after ${mb(afterKiB)} MiB`);
  }
  return { result, stats, baselineKiB, peakKiB };
}
