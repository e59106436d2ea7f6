// End to end: three peers set up a full mesh the way browsers do (offer, answer,
// trickled ICE candidates between every pair), chat, update, and leave.
import assert from 'node:assert/strict';
import test from 'node:test';
import { connectPeer, join, serverFixture, uniqueRoom } from './lib/harness.mjs';

// A dropped connection (no close frame) leaves after the resume window: 1 s here.
const server = serverFixture({ args: ['--resume-window-s', '1'] });

test('three peers: full offer/answer/candidate exchange between every pair', async () => {
  const room = uniqueRoom('mesh');
  const names = ['ann', 'ben', 'cat'];
  const peers = [];
  for (const n of names) {
    const p = await connectPeer(server(), { claims: { sub: n, name: n.toUpperCase(), grants: { rooms: ['mesh-*'] } } });
    const joined = await join(p, room, { name: n });
    // the newcomer sees everyone already there, and they all see it
    assert.deepEqual(joined.peers.map((x) => x.peer).sort(), peers.map((x) => x.peer).sort());
    for (const q of peers) {
      const pj = await q.next({ type: 'peer-joined', peer: p.peer });
      assert.equal(pj.user, n);
      assert.equal(pj.name, n.toUpperCase());
      assert.deepEqual(pj.metadata, { name: n });
    }
    peers.push(p);
  }

  // the newcomer offers to each existing peer (perfect negotiation style)
  const CANDIDATES = 3;
  for (let i = 0; i < peers.length; i++) {
    for (let j = 0; j < i; j++) {
      const offerer = peers[i];
      const answerer = peers[j];
      const sdpO = `v=0\r\no=${offerer.user} 1 2 IN IP4 0.0.0.0\r\ns=-\r\n`;
      const ackO = await offerer.request({ type: 'offer', room, to: answerer.peer, data: { type: 'offer', sdp: sdpO } });
      assert.equal(ackO.type, 'ack');
      const offer = await answerer.next({ type: 'offer', from: offerer.peer });
      assert.deepEqual(offer.data, { type: 'offer', sdp: sdpO });
      assert.equal(offer.room, room);

      const sdpA = `v=0\r\no=${answerer.user} 3 4 IN IP4 0.0.0.0\r\ns=-\r\n`;
      answerer.send({ type: 'answer', room, to: offerer.peer, data: { type: 'answer', sdp: sdpA } });
      // both sides trickle candidates, without waiting for each other
      for (let k = 0; k < CANDIDATES; k++) {
        offerer.send({ type: 'ice-candidate', room, to: answerer.peer, data: { candidate: `o${k}`, sdpMid: '0', sdpMLineIndex: 0 } });
        answerer.send({ type: 'ice-candidate', room, to: offerer.peer, data: { candidate: `a${k}`, sdpMid: '0', sdpMLineIndex: 0 } });
      }
      offerer.send({ type: 'ice-candidate', room, to: answerer.peer, data: null });
      const answer = await offerer.next({ type: 'answer', from: answerer.peer });
      assert.deepEqual(answer.data, { type: 'answer', sdp: sdpA });
      for (let k = 0; k < CANDIDATES; k++) {
        const ca = await offerer.next({ type: 'ice-candidate', from: answerer.peer });
        assert.equal(ca.data.candidate, `a${k}`, 'candidates arrive in order');
        const co = await answerer.next({ type: 'ice-candidate', from: offerer.peer });
        assert.equal(co.data.candidate, `o${k}`, 'candidates arrive in order');
      }
      const end = await answerer.next({ type: 'ice-candidate', from: offerer.peer });
      assert.equal(end.data, null, 'end-of-candidates (null) forwarded');
    }
  }

  // a room-wide chat message from each peer reaches the two others
  for (const p of peers) {
    const ack = await p.request({ type: 'message', room, data: { text: `hi from ${p.user}` } });
    assert.equal(ack.type, 'ack');
  }
  for (const p of peers) {
    for (const q of peers) {
      if (p === q) continue;
      const m = await p.next({ type: 'message', from: q.peer });
      assert.deepEqual(m.data, { text: `hi from ${q.user}` });
    }
  }

  // one leaves, one disconnects
  const [ann, ben, cat] = peers;
  await ben.request({ type: 'leave', room });
  assert.equal((await ann.next({ type: 'peer-left', peer: ben.peer })).reason, 'left');
  assert.equal((await cat.next({ type: 'peer-left', peer: ben.peer })).reason, 'left');
  cat.terminate();
  assert.equal((await ann.next({ type: 'peer-left', peer: cat.peer }, { timeout: 10000 })).reason, 'disconnected');

  for (const p of peers) {
    await (p.isOpen ? p.barrier() : Promise.resolve());
    p.assertSeq();
    // nothing unexpected is left over
    assert.deepEqual(p.pending((m) => m.type !== 'pong'), [], `${p.name}: unexpected messages`);
  }
});
