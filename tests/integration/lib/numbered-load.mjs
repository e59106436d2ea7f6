// Numbered unicast load with resume, for failover tests.
//
// `pairs` rooms of two sessions; each session sends `message {to: partner,
// id: "m<n>", data: {n}}` with n = 1, 2, 3, ... at one message per `intervalMs`
// (at most `maxInFlight` unanswered on its current connection, at most
// `maxPerSession` in all), and records, for each n, whether the server acked it,
// refused it (an error with its id) or never answered; and for each message it
// receives from its partner, how often each n arrived and in which order.
//
// When a connection drops, the session reconnects (to the same URL, e.g. a load
// balancer) and resumes with the highest seq it received as last_seq, with
// backoff, at most `maxAttempts` times. Unacked messages are never sent again
// (that could duplicate them). After `going-away` the session sends nothing new
// until its resumed welcome; frames before that welcome (the replay) are
// handled like any other. A resume that gives a new session (resumed false or
// another peer id) marks the session failed: it stops sending.
//
//   const load = new NumberedLoad({ url: lb.wsUrl, secret, pairs: 100, intervalMs: 100 });
//   await load.connect();                       // hello + join, pairs formed
//   load.start();                               // sending begins
//   await load.waitUntil(() => load.sessions.every((s) => s.acked >= 5), { what: '5 acks each' });
//   load.stop();                                // no new messages
//   await load.settle();                        // answers in, acked messages delivered (bounded)
//   const r = load.report();                    // counts and the first problems of each kind
//   await load.close();
//
// Nothing here sleeps to synchronise: waits poll a condition with a deadline;
// the only timers are the send rate and the reconnect backoff.
import WebSocket from 'ws';
import { hsToken } from './jwt.mjs';

const HELLO_TIMEOUT_MS = 5000;

export class LoadSession {
  constructor(load, index) {
    this.load = load;
    this.index = index;
    this.name = `load-${index}`;
    this.sub = `${load.prefix}-user-${index}`;
    this.room = `${load.prefix}-room-${Math.floor(index / 2)}`;
    this.partner = null;
    this.ws = null;
    this.conn = 0;             // connections opened so far
    this.live = false;         // the current connection has its welcome
    this.welcome = null;       // the first welcome
    this.joined = null;        // the reply to join
    this.peer = null;
    this.session = null;
    this.resumeToken = null;
    this.lastSeq = 0;          // highest seq received in this session
    this.nextN = 1;
    this.sent = new Map();     // n -> {conn, state: 'pending'|'acked'|'refused', code}
    this.inFlight = 0;         // pending messages sent on the current connection
    this.acked = 0;
    this.received = new Map(); // n -> times received from the partner
    this.lastReceivedN = 0;
    this.outOfOrder = [];      // [{n, after}] a message from the partner older than one already received
    this.errors = [];          // every error frame
    this.seqRegressions = [];  // frames whose seq was at or below one already received
    this.seqGaps = 0;          // seqs skipped
    this.membership = [];      // every peer-joined / peer-left / peer-updated
    this.goingAway = [];       // going-away frames
    this.sentAway = 0;         // of which before a welcome (a reconnect that reached a draining node)
    this.paused = false;       // after going-away, until the resumed welcome
    this.drops = [];           // {code, reason} of each connection that closed
    this.resumes = [];         // resumed welcomes: {replayed, seq}
    this.failures = [];        // why the session could not go on
    this.failed = false;
    this.reconnecting = false;
    this.connectErrors = [];
    this._waiters = new Map(); // reply id -> {resolve, reject}
    this._timer = null;
  }

  get token() { return hsToken(this.load.secret, { sub: this.sub }); }

  // One connection: open, hello (with `resume` when given), resolve with the
  // welcome. Rejects when the socket closes first, on an error reply, or after
  // HELLO_TIMEOUT_MS.
  _hello(resume) {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(this.load.url, { perMessageDeflate: false, handshakeTimeout: HELLO_TIMEOUT_MS });
      this.ws = ws;
      this.conn += 1;
      this.inFlight = 0;
      this.live = false;
      this._replayed = 0;
      const id = `h${this.conn}`;
      let settled = false;
      const settle = (err, v) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        this._waiters.delete(id);
        if (err) { ws.terminate(); reject(err); } else resolve(v);
      };
      const timer = setTimeout(() => settle(new Error(`${this.name}: no welcome within ${HELLO_TIMEOUT_MS} ms`)),
        HELLO_TIMEOUT_MS);
      this._waiters.set(id, { resolve: (m) => settle(null, m), reject: (e) => settle(e) });
      ws.on('open', () => {
        const hello = { type: 'hello', id, token: this.token };
        if (resume) hello.resume = resume;
        ws.send(JSON.stringify(hello));
      });
      ws.on('message', (data) => this._onFrame(ws, data.toString('utf8')));
      ws.on('error', () => { /* 'close' follows */ });
      ws.on('close', (code, reason) => {
        settle(new Error(`${this.name}: closed ${code} ${reason} before welcome`));
        this._onClose(ws, code, reason.toString());
      });
    });
  }

  // Sends `msg` with id `id` on the current connection; resolves with the reply.
  _request(msg, timeout = 10000) {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => { this._waiters.delete(msg.id); reject(new Error(`${this.name}: no reply to ${msg.type}`)); }, timeout);
      this._waiters.set(msg.id, {
        resolve: (m) => { clearTimeout(timer); resolve(m); },
        reject: (e) => { clearTimeout(timer); reject(e); },
      });
      this.ws.send(JSON.stringify(msg));
    });
  }

  // First connection and join; throws on any failure.
  async connect() {
    const w = await this._hello(null);
    if (w.type !== 'welcome') throw new Error(`${this.name}: hello answered ${JSON.stringify(w)}`);
    this.welcome = w;
    this.peer = w.peer;
    this.session = w.session;
    this.resumeToken = w.resume_token;
    const joined = await this._request({ type: 'join', room: this.room, id: 'join' });
    this.joined = joined;
    if (joined.type !== 'joined') throw new Error(`${this.name}: join answered ${JSON.stringify(joined)}`);
  }

  _onFrame(ws, raw) {
    if (ws !== this.ws) return; // an old connection's last frames
    let m;
    try { m = JSON.parse(raw); } catch { this.errors.push({ type: 'not-json', raw }); return; }
    const newSession = m.type === 'welcome' && m.resumed === false && this.welcome !== null;
    // A draining node sends a new connection away before reading its hello: that
    // going-away belongs to the connection (seq 1), not to the session (a
    // replayed going-away of the session has the session's next seq).
    const sentAway = m.type === 'going-away' && !this.live && m.seq <= this.lastSeq;
    if (sentAway) this.sentAway += 1;
    if (typeof m.seq === 'number' && !newSession && !sentAway) {
      if (m.seq <= this.lastSeq) this.seqRegressions.push({ seq: m.seq, lastSeq: this.lastSeq, type: m.type, id: m.id });
      else {
        if (this.lastSeq > 0 && m.seq > this.lastSeq + 1) this.seqGaps += m.seq - this.lastSeq - 1;
        this.lastSeq = m.seq;
      }
    }
    if (m.type === 'welcome' && m.id === `h${this.conn}`) {
      // Live from here: frames after it in the same chunk (an ack, a going-away) see that.
      this.live = true;
      this.paused = false;
    } else if (!this.live) {
      this._replayed += 1;
    }
    if (m.id !== undefined && this._waiters.has(m.id)) {
      if (m.type === 'error') this.errors.push(m);
      this._waiters.get(m.id).resolve(m);
      return;
    }
    switch (m.type) {
      case 'ack':
      case 'error': {
        if (m.type === 'error') this.errors.push(m);
        const n = typeof m.id === 'string' && m.id.startsWith('m') ? Number(m.id.slice(1)) : NaN;
        const e = this.sent.get(n);
        if (!e) return;
        if (e.state !== 'pending') { e.extraReplies = (e.extraReplies ?? 0) + 1; return; }
        e.state = m.type === 'ack' ? 'acked' : 'refused';
        if (m.type === 'ack') this.acked += 1; else e.code = m.code;
        if (e.conn === this.conn) {
          this.inFlight -= 1;
          if (this.load.refill) this._tick(); // the closed loop: an answer sends the next
        }
        return;
      }
      case 'message': {
        if (this.partner === null || m.from !== this.partner.peer) return;
        const n = m.data?.n;
        this.received.set(n, (this.received.get(n) ?? 0) + 1);
        if (n < this.lastReceivedN) this.outOfOrder.push({ n, after: this.lastReceivedN });
        else this.lastReceivedN = n;
        return;
      }
      case 'peer-joined':
      case 'peer-left':
      case 'peer-updated':
        this.membership.push(m);
        return;
      case 'going-away':
        this.goingAway.push({ ...m, at: Date.now(), conn: this.conn, inFlight: this.inFlight });
        this.paused = true;
        return;
      default:
    }
  }

  _onClose(ws, code, reason) {
    if (ws !== this.ws) return;
    this.live = false;
    this.drops.push({ code, reason, conn: this.conn, at: Date.now() });
    if (!this.load.closing && !this.failed && this.welcome !== null) this._reconnect();
  }

  // Reconnects and resumes until a connection has its welcome, at most
  // maxAttempts attempts (backoff 50 ms doubling to 1 s).
  async _reconnect() {
    if (this.reconnecting) return;
    this.reconnecting = true;
    try {
      for (let attempt = 1; !this.live && !this.load.closing && !this.failed; attempt++) {
        if (attempt > this.load.maxAttempts) {
          this._fail(`no resumed welcome after ${this.load.maxAttempts} attempts: ${this.connectErrors.slice(-3).join('; ')}`);
          return;
        }
        await new Promise((r) => { setTimeout(r, Math.min(1000, 50 * 2 ** (attempt - 1))); });
        let w;
        try {
          w = await this._hello({ session: this.session, resume_token: this.resumeToken, last_seq: this.lastSeq });
        } catch (e) {
          this.connectErrors.push(e.message);
          continue;
        }
        if (w.type !== 'welcome') {
          this.connectErrors.push(`hello answered ${JSON.stringify(w)}`);
          this.ws.terminate();
          continue;
        }
        if (w.resumed !== true || w.peer !== this.peer || w.session !== this.session) {
          this._fail(`not resumed: resumed=${w.resumed} peer=${w.peer} (was ${this.peer})`);
          this.ws.close(1000);
          return;
        }
        if (typeof w.resume_token === 'string') this.resumeToken = w.resume_token;
        this.resumes.push({ replayed: this._replayed, seq: w.seq, conn: this.conn });
      }
    } finally {
      this.reconnecting = false;
    }
  }

  _fail(why) {
    this.failed = true;
    this.failures.push(why);
  }

  // Sends the next numbered message when allowed.
  _tick() {
    const l = this.load;
    if (!l.sending || this.failed || this.paused || !this.live || this.partner === null) return;
    if (this.ws.readyState !== WebSocket.OPEN) return; // the close is under way
    if (this.nextN > l.maxPerSession || this.inFlight >= l.maxInFlight) return;
    const n = this.nextN++;
    const e = { conn: this.conn, state: 'pending', at: Date.now() };
    this.sent.set(n, e);
    this.inFlight += 1;
    const msg = JSON.stringify({ type: 'message', room: this.room, to: this.partner.peer, id: `m${n}`, data: { n } });
    this.ws.send(msg, (err) => {
      // Never written to the socket: not the server's to answer, counted apart.
      if (!err || e.state !== 'pending') return;
      e.state = 'unsent';
      if (e.conn === this.conn) this.inFlight -= 1;
    });
  }

  start() {
    if (this._timer) return;
    const offset = Math.floor(Math.random() * this.load.intervalMs);
    this._timer = setTimeout(() => {
      this._timer = setInterval(() => this._tick(), this.load.intervalMs);
      this._tick();
    }, offset);
  }

  stop() {
    clearTimeout(this._timer);
    clearInterval(this._timer);
    this._timer = null;
  }

  // Whether the partner was listed in our `joined` (it joined first, or at the same time).
  get partnerListed() { return this.joined.peers.some((p) => p.peer === this.partner?.peer); }

  // Whether we know the partner is in the room: listed in `joined`, or announced by `peer-joined`.
  get knowsPartner() {
    return this.partnerListed || this.membership.some((m) => m.type === 'peer-joined' && m.peer === this.partner?.peer);
  }

  // The membership events other than the partner's one peer-joined (when it was
  // not listed in our joined): none is expected once the pair is formed.
  get unexpectedMembership() {
    let skipped = this.partnerListed;
    return this.membership.filter((m) => {
      if (!skipped && m.type === 'peer-joined' && m.peer === this.partner?.peer) { skipped = true; return false; }
      return true;
    });
  }

  // True when this session is quiet: connected (or failed) with no message
  // waiting for its answer on the current connection.
  get quiet() { return this.failed || (this.live && this.inFlight === 0); }
}

export class NumberedLoad {
  // Options: url, secret (HS256), pairs, intervalMs (per session), maxPerSession,
  // maxInFlight (per connection), maxAttempts (reconnects per drop), prefix
  // (user and room names), concurrency (connects at a time), refill (also send
  // the next message as soon as one is answered: a closed loop that keeps
  // maxInFlight messages on the wire whenever the session may send).
  constructor({ url, secret, pairs = 100, intervalMs = 100, maxPerSession = 2000, maxInFlight = 20,
    maxAttempts = 30, prefix = `load${Date.now().toString(36)}`, concurrency = 20, refill = false }) {
    Object.assign(this, { url, secret, pairs, intervalMs, maxPerSession, maxInFlight, maxAttempts, prefix, concurrency,
      refill });
    this.sessions = Array.from({ length: 2 * pairs }, (_, i) => new LoadSession(this, i));
    this.sending = false;
    this.closing = false;
  }

  // Connects every session (hello, join its room), `concurrency` at a time, then
  // pairs them (2i with 2i+1, the two members of room i).
  async connect() {
    let next = 0;
    const worker = async () => {
      while (next < this.sessions.length) await this.sessions[next++].connect();
    };
    await Promise.all(Array.from({ length: this.concurrency }, worker));
    for (let i = 0; i < this.sessions.length; i += 2) {
      this.sessions[i].partner = this.sessions[i + 1];
      this.sessions[i + 1].partner = this.sessions[i];
    }
    // Each member knows its partner: listed in its joined (the two may join at the
    // same time, then both list each other) or told by peer-joined.
    await this.waitUntil(() => this.sessions.every((s) => s.knowsPartner),
      { timeout: 10000, what: 'every session knowing its partner' });
  }

  start() { this.sending = true; for (const s of this.sessions) s.start(); }

  // No new message from here on (answers and deliveries still come in).
  stop() { this.sending = false; for (const s of this.sessions) s.stop(); }

  // Polls `cond` every `interval` ms until it is true; rejects after `timeout`
  // ms with `what` and `detail()` (when given) in the message.
  async waitUntil(cond, { timeout = 20000, interval = 50, what = 'condition', detail } = {}) {
    const deadline = Date.now() + timeout;
    for (;;) {
      if (cond()) return;
      if (Date.now() > deadline) throw new Error(`timed out after ${timeout} ms waiting for ${what}${detail ? `\n${detail()}` : ''}`);
      await new Promise((r) => { setTimeout(r, interval); });
    }
  }

  // After stop(): waits until every session is quiet (all its messages answered
  // on its current connection, or failed) and every acked message has reached
  // its recipient. Resolves with true, or false after `timeout` ms (the report
  // then says what is missing).
  async settle({ timeout = 20000 } = {}) {
    try {
      await this.waitUntil(() => this.sessions.every((s) => s.quiet && !s.reconnecting)
        && this.sessions.every((s) => [...s.sent].every(([n, e]) => e.state !== 'acked' || s.partner.received.has(n))),
      { timeout, interval: 100 });
      return true;
    } catch {
      return false;
    }
  }

  // Counts over all sessions, and the first few examples of each problem.
  report() {
    const r = {
      sessions: this.sessions.length, sent: 0, unsent: 0, acked: 0, refused: 0, unacked: 0, received: 0,
      ackedLost: 0, ackedDuplicated: 0, duplicates: 0, refusedDelivered: 0, unackedDelivered: 0, unackedLost: 0,
      neverSent: 0, extraReplies: 0, outOfOrder: 0, seqRegressions: 0, seqGaps: 0, errors: 0, membership: 0,
      goingAway: 0, sentAway: 0, dropped: 0, resumed: 0, failed: 0, unansweredOnLive: 0,
      errorCodes: {}, examples: {},
    };
    const example = (kind, v) => {
      const list = (r.examples[kind] ??= []);
      if (list.length < 5) list.push(v);
    };
    for (const s of this.sessions) {
      const to = s.partner;
      for (const [n, e] of s.sent) {
        r.sent += 1;
        const got = to.received.get(n) ?? 0;
        if (e.extraReplies) { r.extraReplies += e.extraReplies; example('extraReplies', `${s.name} m${n}`); }
        if (e.state === 'acked') {
          r.acked += 1;
          if (got === 0) { r.ackedLost += 1; example('ackedLost', `${s.name} -> ${to.name} n=${n}`); }
          if (got > 1) { r.ackedDuplicated += 1; example('ackedDuplicated', `${s.name} -> ${to.name} n=${n} x${got}`); }
        } else if (e.state === 'unsent') {
          r.unsent += 1;
          if (got > 0) { r.neverSent += 1; example('neverSent', `${s.name} -> ${to.name} n=${n} (write failed)`); }
        } else if (e.state === 'refused') {
          r.refused += 1;
          if (got > 0) { r.refusedDelivered += 1; example('refusedDelivered', `${s.name} -> ${to.name} n=${n} (${e.code})`); }
        } else {
          r.unacked += 1;
          example('unacked', `${s.name} -> ${to.name} m${n} sent on connection ${e.conn} (now ${s.conn}), `
            + `${this._when(s, e)}, received ${got}`);
          if (got > 0) r.unackedDelivered += 1; else r.unackedLost += 1;
          if (s.live && e.conn === s.conn) { r.unansweredOnLive += 1; example('unansweredOnLive', `${s.name} m${n}`); }
        }
      }
      for (const [n, count] of s.received) {
        r.received += count;
        if (count > 1) { r.duplicates += count - 1; example('duplicates', `${to.name} -> ${s.name} n=${n} x${count}`); }
        if (!to.sent.has(n)) { r.neverSent += 1; example('neverSent', `${to.name} -> ${s.name} n=${n}`); }
      }
      r.outOfOrder += s.outOfOrder.length;
      for (const o of s.outOfOrder.slice(0, 2)) example('outOfOrder', `${to.name} -> ${s.name} n=${o.n} after ${o.after}`);
      r.seqRegressions += s.seqRegressions.length;
      for (const x of s.seqRegressions.slice(0, 2)) example('seqRegressions', `${s.name} ${JSON.stringify(x)}`);
      r.seqGaps += s.seqGaps;
      r.errors += s.errors.length;
      for (const e of s.errors) {
        r.errorCodes[e.code] = (r.errorCodes[e.code] ?? 0) + 1;
        example('errors', `${s.name} ${JSON.stringify(e)}`);
      }
      const membership = s.unexpectedMembership;
      r.membership += membership.length;
      for (const m of membership.slice(0, 2)) example('membership', `${s.name} ${JSON.stringify(m)}`);
      r.goingAway += s.goingAway.length;
      r.sentAway += s.sentAway;
      if (s.drops.length) r.dropped += 1;
      if (s.resumes.length) r.resumed += 1;
      if (s.failed) { r.failed += 1; example('failed', `${s.name} (${s.peer}): ${s.failures.join('; ')}`); }
    }
    return r;
  }

  // When an unanswered message was sent, relative to its connection's going-away and close.
  _when(s, e) {
    const ga = s.goingAway.find((g) => g.conn === e.conn);
    const drop = s.drops.find((d) => d.conn === e.conn);
    return [`at ${new Date(e.at).toISOString()}`, ga ? `${e.at - ga.at} ms after going-away` : 'no going-away',
      drop ? `${drop.at - e.at} ms before the close ${drop.code}` : 'connection open'].join(', ');
  }

  // One line of counts for the test log.
  static summary(r) {
    return `sessions ${r.sessions}: sent ${r.sent} (of which ${r.unsent} never written), acked ${r.acked}, refused ${r.refused} ${JSON.stringify(r.errorCodes)}, `
      + `unacked ${r.unacked} (delivered ${r.unackedDelivered}, lost ${r.unackedLost}, never answered on a live connection `
      + `${r.unansweredOnLive}), refused but delivered ${r.refusedDelivered}, received ${r.received}, `
      + `acked-lost ${r.ackedLost}, duplicates ${r.duplicates}, out-of-order ${r.outOfOrder}, `
      + `seq regressions ${r.seqRegressions}, seq gaps ${r.seqGaps}, membership events ${r.membership}, `
      + `going-away ${r.goingAway} (${r.sentAway} before a welcome), dropped ${r.dropped}, resumed ${r.resumed}, failed ${r.failed}`;
  }

  // Closes every connection with 1000 (sessions end) and stops reconnecting.
  async close() {
    this.stop();
    this.closing = true;
    await Promise.all(this.sessions.map((s) => new Promise((resolve) => {
      const ws = s.ws;
      if (!ws || ws.readyState === WebSocket.CLOSED) { resolve(); return; }
      const timer = setTimeout(() => { ws.terminate(); resolve(); }, 2000);
      ws.once('close', () => { clearTimeout(timer); resolve(); });
      if (ws.readyState === WebSocket.CONNECTING) ws.terminate(); else ws.close(1000);
    })));
  }
}
