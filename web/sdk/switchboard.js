// Switchboard client SDK — protocol v1. One ES module, no build step, no dependencies.
// Works in browsers and in Node (pass `WebSocket` from the `ws` package, or use Node ≥ 22's global).
// Reference and examples: docs/sdk.md
// @ts-check

/**
 * @typedef {Object} PeerInfo
 * @property {string} peer      Opaque id of the remote connection (changes when it reconnects).
 * @property {string} user      The token's `sub`.
 * @property {string} [name]    Display name from the token, if any.
 * @property {Object} metadata  Whatever the peer passed to join/update.
 * @property {boolean} [publisher]  Broadcast rooms only: true for a publisher, false for a viewer.
 */

/**
 * @typedef {Object} JoinedRoom
 * @property {string} room
 * @property {'meeting'|'broadcast'} kind  The room's kind, fixed when it was created.
 * @property {boolean} [publisher]  Broadcast rooms only: whether we are a publisher (else a viewer).
 * @property {PeerInfo[]} peers  The OTHER peers we see: everyone, or only the publishers for a broadcast viewer.
 */

/**
 * @typedef {Object} Welcome
 * @property {string} session
 * @property {string} peer
 * @property {string} user
 * @property {string} [name]
 * @property {number} heartbeat_s
 * @property {RTCIceServer[]} ice_servers
 * @property {string} [resume_token]  Secret that resumes this session after a drop (absent when resume is off).
 * @property {boolean} resumed        True when this welcome continues the previous session.
 */

/**
 * @typedef {Object} RelayFrame  What `offer`, `answer`, `ice-candidate` and `message` events carry.
 * @property {string} type
 * @property {string} room
 * @property {string} from  Sender's peer id (stamped by the server).
 * @property {*} data
 */

/**
 * @typedef {'idle'|'connecting'|'open'|'reconnecting'|'closed'} ConnectionState
 */

/**
 * @typedef {Object} SwitchboardOptions
 * @property {string} [url]  WebSocket URL. Default in a browser: same origin, path `/ws`.
 * @property {string} [token]  A JWT.
 * @property {(info: {refused: boolean, refresh: boolean}) => (string|Promise<string>)} [getToken]  Called before
 *   every (re)connect, and before the token expires when `refreshTokens` is on. `refused`: the server refused the
 *   previous token (close 4401). `refresh`: a token for the SAME user is wanted, to `refresh` the live session.
 * @property {boolean} [refreshTokens=true]  With `getToken`: send `refresh` with a new token before `exp`.
 * @property {boolean} [reconnect=true]  Reconnect automatically after an unexpected close.
 * @property {boolean} [resume=true]  On reconnect, ask the server to resume the session (same peer id and rooms, missed
 *   frames replayed); when it cannot, or with `false`, the rooms are joined again.
 * @property {number} [minBackoffMs=500]
 * @property {number} [maxBackoffMs=15000]
 * @property {number} [requestTimeoutMs=10000]  How long join/leave/update/request wait for their reply.
 * @property {typeof WebSocket} [WebSocket]  WebSocket implementation (e.g. `ws` in Node).
 */

/** An error reply from the server (`code` is the protocol error code) or a local failure. */
export class SwitchboardError extends Error {
  /** @param {string} code @param {string} [message] */
  constructor(code, message) {
    super(message || code);
    this.name = 'SwitchboardError';
    /** `bad-request`, `forbidden`, `not-in-room`, ..., or locally: `timeout`, `disconnected`, `not-connected`. */
    this.code = code;
  }
}

/** EventTarget with `on()` sugar: `obj.on('peer-joined', (detail) => ...)` returns an unsubscribe function. */
class Emitter extends EventTarget {
  /** @param {string} type @param {(detail: any) => void} fn @returns {() => void} */
  on(type, fn) {
    const h = (/** @type {Event} */ e) => fn(/** @type {CustomEvent} */ (e).detail);
    this.addEventListener(type, h);
    return () => this.removeEventListener(type, h);
  }
  /** @protected @param {string} type @param {any} detail */
  emit(type, detail) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }
}

const RELAY_TYPES = ['offer', 'answer', 'ice-candidate', 'message'];

/** A JWT's `exp` (unix seconds), or 0. Read for scheduling only; the server is the one that verifies tokens. */
function jwtExp(/** @type {string|undefined} */ token) {
  try {
    const payload = /** @type {string} */ (token).split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
    return Number(JSON.parse(atob(payload)).exp) || 0;
  } catch {
    return 0;
  }
}
const PASS_THROUGH = ['message', 'offer', 'answer', 'ice-candidate', 'going-away'];
/** At most this many frames are held between a `going-away {reconnect: true}` and the next session. */
const MAX_HELD = 1000;

/**
 * A protocol v1 client.
 *
 * Events (listen with `addEventListener(type, e => e.detail)` or `on(type, detail => ...)`):
 * - `state` `{state, previous}` — connection state changed (see {@link ConnectionState}).
 * - `welcome` {@link Welcome} — after every successful hello (first connect and each reconnect). After a drop the
 *   client asks the server to resume its session (`hello.resume`): when `welcome.resumed` is true the session went on
 *   (same peer id, same rooms, the frames missed meanwhile were replayed first); otherwise it re-joins its rooms.
 * - `peer-joined`, `peer-updated` `{room, peer, user, name?, metadata, publisher?}` (`publisher` in broadcast rooms);
 *   `peer-left` `{room, peer, reason}`
 *   (reason `left`, `disconnected`, or `gone` when a peer vanished while we were reconnecting).
 * - `message`, `offer`, `answer`, `ice-candidate` {@link RelayFrame}.
 * - `rejoined` `{room, kind, publisher?, peers}` — a room was joined again after a reconnect that could not resume (our own peer id
 *   changed).
 * - `going-away` `{reason, reconnect?}` — the server is shutting down or draining; we reconnect (and resume) — at
 *   once when `reconnect` is true, else with backoff. With `reconnect: true` (a drain) nothing more is written on the
 *   closing socket: relays ({@link send} and its shorthands) and requests ({@link request}, join, leave, update,
 *   ping, refresh) made from then on are held, in order, and sent on the next connection — right after its
 *   `welcome` when the session was resumed, after the rooms were joined again when it was not. `send` returns true
 *   for a held relay; a held request resolves or rejects with its reply as usual (or with `timeout` after
 *   `requestTimeoutMs`, in which case it is not sent at all). Beyond 1,000 held frames, `send` returns false and
 *   requests reject with `not-connected`; {@link close}, or giving up reconnecting, rejects the held requests with
 *   `disconnected` and drops the held relays.
 * - `kicked` `{room, reason}`, `room-closed` `{room}` — an operator removed us from a room, or closed it: we are no
 *   longer in it (a reconnect will not re-join it). Each of its other peers is first reported with `peer-left`
 *   (reason `kicked` or `room-closed`). A `message` from an operator has `from: "server"`.
 * - `error` `{code, message, room?}` — a server error no request was waiting for, or a failed re-join.
 */
export class Switchboard extends Emitter {
  /** @param {SwitchboardOptions} [options] */
  constructor(options = {}) {
    super();
    this.options = {
      reconnect: true, resume: true, refreshTokens: true, minBackoffMs: 500, maxBackoffMs: 15000, requestTimeoutMs: 10000, ...options,
    };
    const loc = globalThis.location;
    /** @type {string} */
    this.url = options.url || (loc ? `${loc.protocol === 'https:' ? 'wss' : 'ws'}://${loc.host}/ws` : '');
    /** @type {ConnectionState} */
    this.state = 'idle';
    /** @type {Welcome|null} The latest welcome. */
    this.welcome = null;
    /**
     * Rooms we are in: our metadata, the room's kind, whether we publish there (broadcast rooms), and the other peers
     * we see.
     * @type {Map<string, {metadata: Object, kind: string, publisher?: boolean, peers: Map<string, PeerInfo>}>}
     */
    this.rooms = new Map();
    /** @type {WebSocket|null} */
    this.ws = null;
    this._pending = new Map();
    this._nextId = 1;
    this._attempt = 0;
    /** Highest `seq` received in the current session: sent as `resume.last_seq`, and frames at or below it are
     * duplicates. */
    this._lastSeq = 0;
    this._seqLive = false;
    /** Frames the application sent after a `going-away {reconnect: true}`, to send once the next session is up (see
     * the `going-away` event); null when not holding. @type {Array<Record<string, any>>|null} */
    this._held = null;
    /** @type {{heartbeat: any, retry: any, refresh: any}} */
    this._timers = { heartbeat: 0, retry: 0, refresh: 0 };
  }

  /** Our peer id in the current session (changes on reconnect). */
  get peerId() { return this.welcome ? this.welcome.peer : null; }

  /**
   * Opens the connection and says hello. Resolves with the welcome; rejects if the first attempt fails.
   * Afterwards the client stays connected (reconnecting as needed) until {@link close}.
   * @returns {Promise<Welcome>}
   */
  connect() {
    if (this.state === 'open') return Promise.resolve(/** @type {Welcome} */ (this.welcome));
    if (this._opening) return this._opening; // an attempt is under way: share it
    clearTimeout(this._timers.retry); // connect now rather than after the backoff
    this._closedByUser = false;
    return this._open();
  }

  /** Closes the connection for good (no reconnect) and forgets the rooms. */
  close() {
    this._closedByUser = true;
    clearTimeout(this._timers.retry);
    this._abortOpen?.(new SwitchboardError('disconnected', 'closed'));
    this._teardown(1000, 'client closed');
    this._dropHeld();
    this.rooms.clear();
    this.welcome = null;
    this._setState('closed');
  }

  /**
   * Joins a room. Resolves with `{room, kind, publisher?, peers}` (`peers`: the OTHER peers already there that we
   * see; in a broadcast room a viewer sees only the publishers).
   * @param {string} room @param {Object} [metadata]
   * @returns {Promise<JoinedRoom>}
   */
  async join(room, metadata = {}) {
    const reply = await this.request({ type: 'join', room, metadata });
    this._trackRoom(room, metadata, reply);
    return reply;
  }

  /** The kind of a room we are in (`meeting` or `broadcast`), or null. @param {string} room @returns {string|null} */
  roomKind(room) { return this.rooms.get(room)?.kind ?? null; }

  /**
   * Whether we may publish (send offers) in a room we are in: in a broadcast room, whether we are a publisher; in a
   * meeting, true (the server enforces the token's `publish` grant either way). @param {string} room @returns {boolean}
   */
  isPublisher(room) {
    const r = this.rooms.get(room);
    return !!r && (r.kind !== 'broadcast' || r.publisher === true);
  }

  /** @param {string} room @returns {Promise<void>} */
  async leave(room) {
    this.rooms.delete(room); // forget first, so a reconnect meanwhile won't re-join it
    await this.request({ type: 'leave', room });
  }

  /** Replaces our metadata in a room; others get `peer-updated`. @param {string} room @param {Object} metadata */
  async update(room, metadata) {
    await this.request({ type: 'update', room, metadata });
    const r = this.rooms.get(room);
    if (r) r.metadata = metadata;
  }

  /**
   * Sends a relay frame without waiting (no `id`, so no ack). Returns false when not connected. After a
   * `going-away {reconnect: true}` the frame is held and sent on the next session (see the `going-away` event).
   * @param {'offer'|'answer'|'ice-candidate'|'message'} type @param {string} room
   * @param {*} data  Any JSON value. @param {string} [to]  Peer id; omit for a room-wide `message`.
   */
  send(type, room, data, to) {
    if (!RELAY_TYPES.includes(type)) throw new TypeError(`not a relay type: ${type}`);
    return this._write(to === undefined ? { type, room, data } : { type, room, to, data });
  }
  /** @param {string} room @param {string} to @param {RTCSessionDescriptionInit} sdp */
  sendOffer(room, to, sdp) { return this.send('offer', room, sdp, to); }
  /** @param {string} room @param {string} to @param {RTCSessionDescriptionInit} sdp */
  sendAnswer(room, to, sdp) { return this.send('answer', room, sdp, to); }
  /** @param {string} room @param {string} to @param {RTCIceCandidateInit|null} candidate */
  sendCandidate(room, to, candidate) { return this.send('ice-candidate', room, candidate, to); }
  /** @param {string} room @param {*} data @param {string} [to]  Omit `to` to reach everyone else in the room. */
  sendMessage(room, data, to) { return this.send('message', room, data, to); }

  /**
   * Sends any client frame with a fresh `id` and resolves with the reply carrying that id
   * (e.g. `request({type: 'message', room, data})` resolves on the server's `ack`).
   * Rejects with a {@link SwitchboardError} on an `error` reply, a timeout, or a disconnect. After a
   * `going-away {reconnect: true}` the request is held and sent on the next session (see the `going-away` event).
   * @param {{type: string} & Record<string, any>} frame @returns {Promise<any>}
   */
  request(frame) { return this._request(frame, false); }

  /** Round trip to the server. @returns {Promise<void>} */
  async ping() { await this.request({ type: 'ping' }); }

  /**
   * Replaces the session's token before it expires (same user; new expiry and grants; rooms are kept).
   * Without an argument, asks `getToken({refresh: true})`. Done automatically when `refreshTokens` is on.
   * @param {string} [token] @returns {Promise<void>}
   */
  async refresh(token) {
    if (token === undefined) {
      if (!this.options.getToken) throw new SwitchboardError('bad-request', 'no token given and no getToken');
      token = await this.options.getToken({ refused: false, refresh: true });
    }
    await this.request({ type: 'refresh', token });
    this._scheduleRefresh(token);
  }

  /** The other peers in a room we are in. @param {string} room @returns {PeerInfo[]} */
  peers(room) {
    const r = this.rooms.get(room);
    return r ? [...r.peers.values()] : [];
  }

  // ---- internals ---------------------------------------------------------------------------------

  /**
   * A request with a fresh id. `internal` frames (hello, the re-joins) are never held.
   * @param {{type: string} & Record<string, any>} frame @param {boolean} internal @returns {Promise<any>}
   */
  _request(frame, internal) {
    if (this.state !== 'open' && (internal || !this._held)) {
      return Promise.reject(new SwitchboardError('not-connected', 'not connected'));
    }
    const id = this._nextId++;
    return this._call({ ...frame, id }, this.options.requestTimeoutMs, internal);
  }

  /**
   * @param {{type: string, id: number} & Record<string, any>} frame @param {number} [timeoutMs]
   * @param {boolean} [internal] @returns {Promise<any>}
   */
  _call(frame, timeoutMs = this.options.requestTimeoutMs, internal = false) {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this._pending.delete(frame.id);
        reject(new SwitchboardError('timeout', `no reply to ${frame.type}`));
      }, timeoutMs);
      this._pending.set(frame.id, { resolve, reject, timer });
      if (!this._write(frame, internal)) this._settle(frame.id, new SwitchboardError('not-connected', 'not connected'));
    });
  }

  /** @param {number} id @param {Error|null} err @param {any} [value] */
  _settle(id, err, value) {
    const p = this._pending.get(id);
    if (!p) return false;
    this._pending.delete(id);
    clearTimeout(p.timer);
    err ? p.reject(err) : p.resolve(value);
    return true;
  }

  /**
   * Writes a frame on the socket, or holds it after a `going-away {reconnect: true}` (unless `internal`).
   * Returns false when it was neither written nor held.
   * @param {Record<string, any>} frame @param {boolean} [internal]
   */
  _write(frame, internal = false) {
    if (this._held && !internal) {
      if (this._held.length >= MAX_HELD) return false;
      this._held.push(frame);
      return true;
    }
    const ws = this.ws;
    if (!ws || ws.readyState !== 1) return false;
    ws.send(JSON.stringify(frame));
    return true;
  }

  /** Sends the held frames, in order, on the new session; skips requests that timed out meanwhile. */
  _flushHeld() {
    const held = this._held;
    this._held = null;
    for (const frame of held || []) {
      if (frame.id !== undefined && !this._pending.has(frame.id)) continue; // timed out: the caller was told
      if (!this._write(frame) && frame.id !== undefined) {
        this._settle(frame.id, new SwitchboardError('disconnected', 'connection closed'));
      }
    }
  }

  /** Forgets the held frames; their requests reject with `disconnected`. */
  _dropHeld() {
    const held = this._held;
    this._held = null;
    for (const frame of held || []) {
      if (frame.id !== undefined) this._settle(frame.id, new SwitchboardError('disconnected', 'closed'));
    }
  }

  /** @param {ConnectionState} state */
  _setState(state) {
    if (state === this.state) return;
    const previous = this.state;
    this.state = state;
    this.emit('state', { state, previous });
  }

  /** One connection attempt: socket, hello, welcome, re-join. While it runs, `connect()` returns it. */
  _open() {
    const attempt = this._connectOnce().finally(() => { if (this._opening === attempt) this._opening = null; });
    this._opening = attempt;
    return attempt;
  }

  async _connectOnce() {
    const reconnecting = this.welcome !== null;
    this._setState(reconnecting ? 'reconnecting' : 'connecting');
    let token = this.options.token;
    try {
      if (this.options.getToken) token = await this.options.getToken({ refused: this._refused === true, refresh: false });
    } catch (err) {
      this._onClose(null, 0, 'getToken failed'); // counts as a failed attempt: retry later, or give up if first
      throw err;
    }
    if (this._closedByUser) throw new SwitchboardError('disconnected', 'closed');
    const WS = this.options.WebSocket || globalThis.WebSocket;
    if (!WS) throw new Error('no WebSocket implementation: pass options.WebSocket');
    const ws = new WS(this.url);
    this.ws = ws;
    this._seqLive = false; // until this connection's welcome
    const welcome = await new Promise((resolve, reject) => {
      this._abortOpen = reject;
      let helloId = 0;
      ws.onopen = () => {
        helloId = this._nextId++;
        /** @type {Object} */
        const hello = { type: 'hello', id: helloId, token };
        const w = this.welcome;
        if (reconnecting && w && w.resume_token && this.options.resume) {
          hello.resume = { session: w.session, resume_token: w.resume_token, last_seq: this._lastSeq };
        }
        this._call(hello, this.options.requestTimeoutMs, true).then(resolve, (err) => {
          // Refused (the server closes too): settle now, so state is final when connect() rejects.
          this._onClose(ws, err.code === 'unauthorized' ? 4401 : 4400, err.message);
          reject(err);
        });
      };
      ws.onmessage = (e) => this._onFrame(typeof e.data === 'string' ? e.data : String(e.data));
      ws.onerror = () => {}; // a close always follows
      ws.onclose = (e) => {
        this._onClose(ws, e.code, e.reason);
        reject(new SwitchboardError(e.code === 4401 ? 'unauthorized' : 'disconnected', `closed (${e.code})`));
      };
    });
    this._abortOpen = null;
    this.welcome = welcome;
    this._attempt = 0;
    this._refused = false;
    this._scheduleRefresh(token);
    this._startHeartbeat(welcome.heartbeat_s);
    this._setState('open');
    this.emit('welcome', welcome);
    if (reconnecting && !welcome.resumed) await this._rejoin();
    if (this.state === 'open' && this.ws === ws) this._flushHeld(); // else: dropped again, held for the next one
    return welcome;
  }

  /** After a reconnect: join every room again with its metadata and reconcile the peer lists. */
  async _rejoin() {
    for (const [room, r] of [...this.rooms]) {
      let reply;
      try {
        reply = await this._request({ type: 'join', room, metadata: r.metadata }, true);
      } catch (err) {
        if (this.state !== 'open') return; // dropped again; the next reconnect retries
        this.rooms.delete(room);
        for (const peer of r.peers.keys()) this.emit('peer-left', { room, peer, reason: 'gone' });
        const e = /** @type {SwitchboardError} */ (err);
        this.emit('error', { code: e.code, message: `could not re-join ${room}: ${e.message}`, room });
        continue;
      }
      const before = r.peers;
      this._trackRoom(room, r.metadata, reply);
      const now = /** @type {Map<string, PeerInfo>} */ (this.rooms.get(room)?.peers);
      for (const peer of before.keys()) if (!now.has(peer)) this.emit('peer-left', { room, peer, reason: 'gone' });
      for (const p of now.values()) if (!before.has(p.peer)) this.emit('peer-joined', { room, ...p });
      this.emit('rejoined', { room, kind: reply.kind, publisher: reply.publisher, peers: reply.peers });
    }
  }

  /** Plans the next automatic `refresh`: at 75% of the token's remaining life, and at least 60 s before `exp`. */
  _scheduleRefresh(/** @type {string|undefined} */ token) {
    clearTimeout(this._timers.refresh);
    const getToken = this.options.getToken;
    if (!token || !getToken || !this.options.refreshTokens) return;
    const exp = jwtExp(token);
    if (!exp) return;
    const left = exp * 1000 - Date.now();
    const delay = Math.min(2 ** 31 - 1, Math.max(1000, Math.min(left * 0.75, left - 60000)));
    this._timers.refresh = setTimeout(async () => {
      try {
        const next = await getToken({ refused: false, refresh: true });
        if (jwtExp(next) > exp) await this.refresh(next); // the same (or an older) token would not help
      } catch (/** @type {any} */ err) {
        this.emit('error', { code: err.code || 'refresh-failed', message: `token refresh failed: ${err.message}` });
      }
    }, delay);
  }

  /** @param {string} room @param {Object} metadata @param {JoinedRoom} joined */
  _trackRoom(room, metadata, joined) {
    this.rooms.set(room, {
      metadata, kind: joined.kind || 'meeting', publisher: joined.publisher,
      peers: new Map(joined.peers.map((p) => [p.peer, p])),
    });
  }

  /** @param {string} text */
  _onFrame(text) {
    let f;
    try { f = JSON.parse(text); } catch { return; }
    this._lastRx = Date.now();
    if (typeof f.seq === 'number') {
      if (f.type === 'welcome') {
        this._lastSeq = f.seq; // a new session starts again at a low seq
        this._seqLive = true;
      } else if (!this._seqLive) {
        // Before this connection's welcome: replayed frames (seq > last_seq), or the first frames of a new session
        // (an error to the hello, seq 1 again): never dropped.
        if (f.seq > this._lastSeq) this._lastSeq = f.seq;
      } else if (f.seq <= this._lastSeq) {
        return; // already seen: a replay must not deliver a frame twice
      } else {
        this._lastSeq = f.seq;
      }
    }
    if (f.id !== undefined && f.id !== null) {
      const err = f.type === 'error' ? Object.assign(new SwitchboardError(f.code, f.message), { frame: f }) : null;
      if (this._settle(f.id, err, f)) return;
    }
    const room = this.rooms.get(f.room);
    switch (f.type) {
      case 'peer-joined':
      case 'peer-updated': {
        if (!room) return;
        const { type, seq, ...info } = f;
        room.peers.set(f.peer, info);
        this.emit(f.type, info);
        return;
      }
      case 'peer-left':
        if (room) room.peers.delete(f.peer);
        this.emit('peer-left', { room: f.room, peer: f.peer, reason: f.reason });
        return;
      case 'kicked':
      case 'room-closed': {
        if (!room) return;
        this.rooms.delete(f.room); // before the events, so a listener sees the room gone
        for (const peer of room.peers.keys()) this.emit('peer-left', { room: f.room, peer, reason: f.type });
        const { seq, ...detail } = f;
        this.emit(f.type, detail);
        return;
      }
      case 'error':
        this.emit('error', { code: f.code, message: f.message });
        return;
      case 'pong':
        return;
      case 'going-away':
        if (f.reconnect) {
          this._attempt = 0; // the server asks us to come back at once (drain)
          this._held ??= []; // and reads this socket only until it closes it: hold what the app sends meanwhile
        }
        this.emit('going-away', f);
        // It is the connection's last frame. Closing it now ends it at once: a draining server otherwise
        // reads on for about a second (to handle what we sent before the notice) before it closes. (Before this
        // connection's welcome it is a replayed one, about an earlier connection, or the server closes at once.)
        if (this.ws && this._seqLive) {
          const ws = this.ws;
          this._teardown(4000, 'going away');
          this._onClose(ws, 1001, f.reason || 'going away');
        }
        return;
      default:
        if (PASS_THROUGH.includes(f.type)) this.emit(f.type, f);
    }
  }

  /**
   * Sends `ping` every heartbeat; if a whole period passes with nothing back, the socket is dead.
   * @param {number} seconds
   */
  _startHeartbeat(seconds) {
    clearInterval(this._timers.heartbeat);
    const ms = Math.max(1, seconds || 20) * 1000;
    let sentAt = 0;
    this._timers.heartbeat = setInterval(() => {
      if (sentAt && (this._lastRx || 0) < sentAt) {
        this._teardown(4000, 'heartbeat lost');
        this._onClose(this.ws, 4000, 'heartbeat lost');
        return;
      }
      sentAt = Date.now();
      this._write({ type: 'ping' }, true);
    }, ms);
  }

  /** @param {number} code @param {string} reason */
  _teardown(code, reason) {
    clearInterval(this._timers.heartbeat);
    clearTimeout(this._timers.refresh);
    const ws = this.ws;
    if (!ws) return;
    ws.onopen = ws.onmessage = ws.onclose = null;
    try { ws.close(code, reason); } catch { /* already closing */ }
    this.ws = null;
  }

  /** @param {WebSocket|null} ws @param {number} code @param {string} reason */
  _onClose(ws, code, reason) {
    if (ws !== this.ws && this.ws !== null) return; // an old socket
    this._teardown(1000, '');
    const held = new Set((this._held || []).map((f) => f.id).filter((id) => id !== undefined));
    for (const id of [...this._pending.keys()]) {
      if (!held.has(id)) this._settle(id, new SwitchboardError('disconnected', `connection closed (${code})`));
    }
    if (this._closedByUser) return;
    this._refused = code === 4401;
    // A static token that the server refused will be refused again; everything else is worth retrying.
    const fatal = code === 4401 && !this.options.getToken;
    if (!this.options.reconnect || fatal || !this.welcome) {
      this._dropHeld();
      this._setState('closed');
      if (fatal) this.emit('error', { code: 'unauthorized', message: reason || 'token refused' });
      return;
    }
    this._setState('reconnecting');
    const base = Math.min(this.options.maxBackoffMs, this.options.minBackoffMs * 2 ** this._attempt++);
    const delay = base / 2 + Math.random() * base / 2; // "equal jitter"
    clearTimeout(this._timers.retry);
    this._timers.retry = setTimeout(() => {
      if (this.state === 'open' || this._opening) return;
      this._open().catch(() => { /* _onClose already scheduled the next attempt */ });
    }, delay);
  }
}

/**
 * @typedef {Object} CallOptions
 * @property {MediaStream|null} [localStream]  Sent to every peer. Can be changed later with {@link Call#setLocalStream}.
 * @property {RTCConfiguration} [rtcConfig]  Defaults to `{iceServers: welcome.ice_servers, iceTransportPolicy}`.
 * @property {RTCIceTransportPolicy} [iceTransportPolicy]  With the default `rtcConfig`: `'relay'` sends all media
 *   through the TURN servers of `welcome.ice_servers` (no host or server-reflexive candidates); default `'all'`.
 * @property {(peer: PeerInfo) => boolean} [connectTo]  Which peers to call (default: all), e.g. skip bots.
 */

/**
 * @typedef {Object} RemotePeer
 * @property {string} peer
 * @property {RTCPeerConnection} pc
 * @property {boolean} polite
 * @property {Map<string, MediaStream>} streams
 */

/**
 * A mesh call in one room: one RTCPeerConnection per remote peer, "perfect negotiation"
 * (the peer with the smaller id is polite), trickle ICE, ICE restart when a connection fails,
 * and recovery after the signaling socket reconnects.
 *
 * Who offers: the peer that joins (or re-joins) creates a connection to each peer already there;
 * the others create theirs when the offer arrives. Any later renegotiation (tracks, ICE restart)
 * may start on either side; collisions are resolved by the polite peer rolling back.
 *
 * In a broadcast room only publishers offer and send media: a viewer never offers (it has no `publish` grant) and
 * sends no tracks; it answers the publishers' offers. A publisher calls each viewer that joins after it (a viewer
 * cannot call it), and the publisher that joins calls everyone already there.
 *
 * Events (`on(type, detail => ...)` or `addEventListener`):
 * - `peer` `{peer, pc}` — a connection to a remote peer was created.
 * - `stream-added` `{peer, stream}` / `stream-removed` `{peer, stream}`
 * - `connection-state` `{peer, state}` — an RTCPeerConnection's `connectionState` changed.
 * - `peer-closed` `{peer, reason}` — the connection to a peer was torn down.
 * - `error` `{peer, error}` — a negotiation step failed.
 */
export class Call extends Emitter {
  /** @param {Switchboard} client @param {string} room @param {CallOptions} [options] */
  constructor(client, room, options = {}) {
    super();
    this.client = client;
    this.room = room;
    this.localStream = options.localStream || null;
    this.rtcConfig = options.rtcConfig;
    this.iceTransportPolicy = options.iceTransportPolicy || 'all';
    this.connectTo = options.connectTo || (() => true);
    /** @type {Map<string, RemotePeer & Record<string, any>>} */
    this.peers = new Map();
    /** @type {Array<() => void>} */
    this._off = [];
  }

  /**
   * Joins the room and connects to everyone in it that it sees (see the class comment for broadcast rooms).
   * @param {Object} [metadata] @returns {Promise<JoinedRoom>}
   */
  async join(metadata = {}) {
    const c = this.client, mine = (/** @type {any} */ f) => f.room === this.room;
    this._off.push(
      c.on('offer', (f) => mine(f) && this._signal(f.from, { description: f.data })),
      c.on('answer', (f) => mine(f) && this._signal(f.from, { description: f.data })),
      c.on('ice-candidate', (f) => mine(f) && this._signal(f.from, { candidate: f.data })),
      c.on('peer-left', (f) => mine(f) && this._close(f.peer, f.reason)),
      // After a reconnect our peer id is new: the others dropped our old connections, so start over.
      c.on('rejoined', (f) => { if (mine(f)) { this._closeAll('reconnected'); this._connectTo(f.peers); } }),
      // Broadcast: a viewer cannot offer, so a publisher calls each viewer that joins.
      c.on('peer-joined', (f) => {
        if (mine(f) && f.publisher === false && this._mayOffer() && this.connectTo(f)) this._create(f.peer, true);
      }),
    );
    try {
      const joined = await c.join(this.room, metadata);
      this._connectTo(joined.peers);
      return joined;
    } catch (err) {
      this._unsubscribe();
      throw err;
    }
  }

  /** Hangs up every connection and leaves the room. */
  async leave() {
    this._unsubscribe();
    this._closeAll('left');
    if (this.client.rooms.has(this.room)) await this.client.leave(this.room).catch(() => {});
  }

  /** Sends a different local stream (or none) to every peer; renegotiates only if needed. @param {MediaStream|null} stream */
  setLocalStream(stream) {
    this.localStream = stream;
    for (const p of this.peers.values()) this._attachLocal(p.pc, false);
  }

  /** @param {string} peer @returns {RTCPeerConnection|undefined} */
  getPeerConnection(peer) { return this.peers.get(peer)?.pc; }

  // ---- internals ---------------------------------------------------------------------------------

  _unsubscribe() { this._off.splice(0).forEach((off) => off()); }

  /** Whether we offer and send media here: not as a viewer of a broadcast room. */
  _mayOffer() { return this.client.isPublisher(this.room); }

  /** @param {PeerInfo[]} peers */
  _connectTo(peers) {
    if (!this._mayOffer()) return; // a broadcast viewer waits for the publishers' offers
    for (const p of peers) if (this.connectTo(p)) this._create(p.peer, true);
  }

  /** @param {string} peer @param {boolean} initiator */
  _create(peer, initiator) {
    const old = this.peers.get(peer);
    if (old) return old;
    const self = this.client.peerId || '';
    const pc = new RTCPeerConnection(this.rtcConfig || {
      iceServers: this.client.welcome?.ice_servers || [], iceTransportPolicy: this.iceTransportPolicy,
    });
    /** @type {RemotePeer & Record<string, any>} */
    const p = {
      peer, pc, polite: self < peer, streams: new Map(),
      makingOffer: false, ignoreOffer: false, answerPending: false, candidates: [], queue: Promise.resolve(),
    };
    this.peers.set(peer, p);
    const fail = (/** @type {any} */ error) => this.peers.get(peer) === p && this.emit('error', { peer, error });

    pc.onnegotiationneeded = async () => {
      if (!this._mayOffer()) return; // a broadcast viewer only answers
      try {
        p.makingOffer = true;
        await pc.setLocalDescription();
        this.client.sendOffer(this.room, peer, /** @type {RTCSessionDescription} */ (pc.localDescription).toJSON());
      } catch (err) {
        fail(err);
      } finally {
        p.makingOffer = false;
      }
    };
    pc.onicecandidate = ({ candidate }) => {
      if (candidate) this.client.sendCandidate(this.room, peer, candidate.toJSON());
    };
    pc.onconnectionstatechange = () => {
      this.emit('connection-state', { peer, state: pc.connectionState });
      if (pc.connectionState === 'failed') pc.restartIce();
    };
    pc.ontrack = ({ track, streams }) => {
      const stream = streams[0] || new MediaStream([track]);
      if (!streams[0]) p.streams.set(track.id, stream);
      else if (p.streams.has(stream.id)) return;
      else p.streams.set(stream.id, stream);
      stream.addEventListener('removetrack', () => {
        if (stream.getTracks().length === 0 && p.streams.delete(stream.id)) this.emit('stream-removed', { peer, stream });
      });
      this.emit('stream-added', { peer, stream });
    };
    this._attachLocal(pc, initiator);
    this.emit('peer', { peer, pc });
    return p;
  }

  /**
   * Puts our tracks on a connection. An initiator with no camera/mic still asks to receive both.
   * @param {RTCPeerConnection} pc @param {boolean} initiator
   */
  _attachLocal(pc, initiator) {
    const stream = this._mayOffer() ? this.localStream : null; // a broadcast viewer sends nothing
    for (const kind of ['audio', 'video']) {
      const track = stream?.getTracks().find((t) => t.kind === kind) || null;
      const tr = pc.getTransceivers().find((t) => t.currentDirection !== 'stopped' && t.receiver.track.kind === kind);
      if (tr) {
        tr.sender.replaceTrack(track);
        if (track && stream) {
          tr.sender.setStreams?.(stream);
          if (tr.direction === 'recvonly') tr.direction = 'sendrecv';
        }
      } else if (track && stream) {
        pc.addTrack(track, stream);
      } else if (initiator) {
        pc.addTransceiver(kind, { direction: 'recvonly' });
      }
    }
  }

  /**
   * Incoming offer/answer/candidate, handled in order per peer.
   * @param {string} peer @param {{description?: RTCSessionDescriptionInit, candidate?: RTCIceCandidateInit}} msg
   */
  _signal(peer, msg) {
    const info = this.client.rooms.get(this.room)?.peers.get(peer);
    if (!info || !this.connectTo(info)) return; // unknown, already gone, or not wanted
    const p = this.peers.get(peer) || (msg.description?.type === 'offer' || msg.candidate ? this._create(peer, false) : null);
    if (!p) return;
    p.queue = p.queue.then(() => this._handle(p, msg)).catch((/** @type {unknown} */ error) => {
      if (this.peers.get(peer) === p) this.emit('error', { peer, error });
    });
  }

  /**
   * @param {RemotePeer & Record<string, any>} p
   * @param {{description?: RTCSessionDescriptionInit, candidate?: RTCIceCandidateInit}} msg
   */
  async _handle(p, { description, candidate }) {
    const pc = p.pc;
    if (pc.signalingState === 'closed') return;
    if (description) {
      const ready = !p.makingOffer && (pc.signalingState === 'stable' || p.answerPending);
      const collision = description.type === 'offer' && !ready;
      p.ignoreOffer = !p.polite && collision;
      if (p.ignoreOffer) return;
      p.answerPending = description.type === 'answer';
      await pc.setRemoteDescription(description); // the polite side rolls back implicitly
      p.answerPending = false;
      for (const c of p.candidates.splice(0)) await pc.addIceCandidate(c).catch(() => {});
      if (description.type === 'offer') {
        await pc.setLocalDescription();
        this.client.sendAnswer(this.room, p.peer, /** @type {RTCSessionDescription} */ (pc.localDescription).toJSON());
      }
    } else if (candidate) {
      if (!pc.remoteDescription) { p.candidates.push(candidate); return; }
      try {
        await pc.addIceCandidate(candidate);
      } catch (err) {
        if (!p.ignoreOffer) throw err;
      }
    }
  }

  /** @param {string} peer @param {string} reason */
  _close(peer, reason) {
    const p = this.peers.get(peer);
    if (!p) return;
    this.peers.delete(peer);
    p.pc.onnegotiationneeded = p.pc.onicecandidate = p.pc.onconnectionstatechange = p.pc.ontrack = null;
    p.pc.close();
    for (const stream of p.streams.values()) this.emit('stream-removed', { peer, stream });
    this.emit('peer-closed', { peer, reason });
  }

  /** @param {string} reason */
  _closeAll(reason) { for (const peer of [...this.peers.keys()]) this._close(peer, reason); }
}
