// Session resume under attack: hello with `resume` naming other peers' sessions
// (their real session ids, their public peer ids, near-miss secrets, a stolen
// secret used with another user's token, absurd last_seq values). No attempt
// may take a session over: every one gets a new session (resumed: false) or a
// bad-request, and the honest peers, whose sessions are the targets, keep
// their connections, their seq 1, 2, 3, ... and every frame exactly once.
import assert from 'node:assert/strict';
import test from 'node:test';
import { Client, assertError, serverFixture } from '../integration/lib/harness.mjs';
import { claims, signJwt } from '../integration/lib/jwt.mjs';
import { underAttack } from './lib/honest.mjs';

const server = serverFixture();
const hs = (sub) => signJwt(claims({ sub }), { alg: 'HS256', secret: server().secret });

function nearMisses(secret) {
  const flip = (i) => secret.slice(0, i) + (secret[i] === '0' ? '1' : '0') + secret.slice(i + 1);
  return [flip(0), flip(secret.length - 1), secret.slice(0, -1), `${secret}0`, secret.toUpperCase(), 'x'.repeat(secret.length)];
}

test('forged resume attempts on live sessions never take one over', async (t) => {
  await underAttack(server(), async (h) => {
    const victims = Object.values(h.peers);
    const attempts = [];
    for (const v of victims) {
      const w = v.welcome;
      // Its public peer id offered as a session id, with its own secret (as if leaked) and a guess.
      for (const secret of [w.resume_token, 'guess']) attempts.push({ sub: 'mallory', session: w.peer, resume_token: secret, last_seq: 0 });
      // The real session id with near-miss secrets, for the attacker's user and for the victim's own user.
      for (const secret of nearMisses(w.resume_token)) {
        attempts.push({ sub: 'mallory', session: w.session, resume_token: secret, last_seq: 0 });
        attempts.push({ sub: w.user, session: w.session, resume_token: secret, last_seq: 1 });
      }
      // A stolen secret with a token for another user.
      attempts.push({ sub: 'mallory', session: w.session, resume_token: w.resume_token, last_seq: 0 });
      attempts.push({ sub: 'mallory', session: w.session, resume_token: w.resume_token, last_seq: 2 ** 53 });
    }
    const intruders = [];
    for (const x of attempts) {
      const c = await Client.connect(server().wsUrl, { name: `resumer-${x.sub}` });
      const { sub, ...resume } = x;
      const welcome = await c.request({ type: 'hello', token: hs(sub), resume });
      assert.equal(welcome.type, 'welcome', JSON.stringify(welcome));
      assert.equal(welcome.resumed, false, `took over with ${JSON.stringify(x)}`);
      for (const v of victims) {
        assert.notEqual(welcome.session, v.welcome.session);
        assert.notEqual(welcome.peer, v.peer);
      }
      assert.equal(welcome.seq, 1, 'nothing was replayed to the intruder');
      assertError(await c.request({ type: 'message', room: h.rooms.A, data: 'intrude' }), 'not-in-room');
      intruders.push(c);
    }
    // Malformed resume objects are refused without touching any session.
    const odd = await Client.connect(server().wsUrl, { name: 'resumer-odd' });
    const w0 = h.peers.h0.welcome;
    for (const resume of [
      { session: w0.session, resume_token: w0.resume_token, last_seq: -1 },
      { session: w0.session, resume_token: w0.resume_token, last_seq: '0' },
      { session: w0.session, resume_token: w0.resume_token },
      { session: w0.session, last_seq: 0 },
      { session: 'x'.repeat(65), resume_token: w0.resume_token, last_seq: 0 },
    ]) {
      assertError(await odd.request({ type: 'hello', token: hs('mallory'), resume }), 'bad-request');
    }
    for (const c of intruders) {
      await c.barrier();
      assert.deepEqual(c.received((m) => !['welcome', 'error', 'pong', 'ack'].includes(m.type)), [], `${c.name} received victim traffic`);
      assert.equal(c.closeInfo, null);
    }
    for (const v of victims) assert.equal(v.closeInfo, null, `${v.name} was closed`);
    t.diagnostic(`${attempts.length} forged resume attempts, none taken over`);
  }, { t });
});
