// A WebSocket test client around the `ws` package.
//
// It records every frame the server sends (raw text and parsed JSON) and lets a
// test wait for events instead of sleeping:
//   await c.next('welcome')                 first unconsumed message of that type
//   await c.next({type: 'error', id: 7})    ... whose fields deep-equal these
//   await c.next((m) => m.seq > 3)          ... matching a predicate
//   await c.closed()                        {code, reason} once the socket closed
//   await c.barrier()                       ping/pong round trip: every reply to
//                                           earlier frames has arrived by then
// Waits reject early, with the recorded history, when the socket closes.
import assert from 'node:assert/strict';
import { isDeepStrictEqual } from 'node:util';
import WebSocket from 'ws';

const DEFAULT_TIMEOUT = 5000;
const open = new Set();
let idCounter = 0;

function matcher(pred) {
  if (typeof pred === 'function') return pred;
  if (typeof pred === 'string') return (m) => m !== null && m.type === pred;
  if (pred && typeof pred === 'object') {
    return (m) => m !== null && typeof m === 'object'
      && Object.entries(pred).every(([k, v]) => isDeepStrictEqual(m[k], v));
  }
  if (pred === undefined) return () => true;
  throw new Error(`bad predicate ${pred}`);
}

function describe(pred) {
  if (typeof pred === 'function') return pred.toString().slice(0, 120);
  return JSON.stringify(pred);
}

export class Client {
  // Opens a WebSocket to `url`. Options: autoPong (default true), headers, name (for messages).
  static connect(url, { autoPong = true, headers, name, timeout = DEFAULT_TIMEOUT, ca } = {}) {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, { autoPong, headers, maxPayload: 16 * 1024 * 1024, ...(ca ? { ca } : {}) });
      const client = new Client(ws, name ?? url);
      const timer = setTimeout(() => { ws.terminate(); reject(new Error(`connect ${url}: timeout`)); }, timeout);
      ws.once('open', () => { clearTimeout(timer); resolve(client); });
      ws.once('unexpected-response', (_req, res) => {
        clearTimeout(timer);
        ws.terminate();
        reject(new Error(`connect ${url}: HTTP ${res.statusCode}`));
      });
      ws.once('error', (e) => { clearTimeout(timer); reject(e); });
    });
  }

  constructor(ws, name) {
    this.ws = ws;
    this.name = name;
    this.frames = [];      // every received frame: {raw, msg, binary, at}
    this.pings = 0;        // WebSocket pings received from the server
    this.errors = [];      // socket errors
    this.closeInfo = null; // {code, reason} once closed
    this.closedAt = null;
    this.openedAt = Date.now();
    this.lastSentAt = Date.now();
    this._consumed = new Set();
    this._waiters = new Set();
    open.add(this);
    this._closed = new Promise((resolve) => {
      ws.on('close', (code, reason) => {
        this.closeInfo = { code, reason: reason.toString() };
        this.closedAt = Date.now();
        open.delete(this);
        resolve(this.closeInfo);
        this._wake();
      });
    });
    ws.on('message', (data, isBinary) => {
      const raw = isBinary ? data : data.toString('utf8');
      let msg = null;
      if (!isBinary) { try { msg = JSON.parse(raw); } catch { msg = null; } }
      this.frames.push({ raw, msg, binary: isBinary, at: Date.now() });
      this._wake();
    });
    ws.on('ping', () => { this.pings += 1; this._wake(); });
    ws.on('error', (e) => { this.errors.push(e); });
  }

  // Every parsed message received so far, in order.
  get messages() { return this.frames.map((f) => f.msg); }

  get isOpen() { return this.ws.readyState === WebSocket.OPEN; }

  _wake() { for (const w of [...this._waiters]) w(); }

  history() {
    return this.frames.map((f, i) => `  [${i}] ${f.binary ? '<binary>' : f.raw.slice(0, 300)}`).join('\n');
  }

  // Waits until `check()` returns a value other than undefined. Rejects when the
  // socket closes first (unless allowClosed) or after `timeout` ms.
  _waitFor(check, what, { timeout = DEFAULT_TIMEOUT, allowClosed = false } = {}) {
    return new Promise((resolve, reject) => {
      let timer;
      const attempt = () => {
        let v;
        try { v = check(); } catch (e) { done(); reject(e); return; }
        if (v !== undefined) { done(); resolve(v); return; }
        if (this.closeInfo && !allowClosed) {
          done();
          reject(new Error(`${this.name}: socket closed (${JSON.stringify(this.closeInfo)}) while waiting for ${what}\nreceived:\n${this.history()}`));
        }
      };
      const done = () => { clearTimeout(timer); this._waiters.delete(attempt); };
      timer = setTimeout(() => {
        done();
        reject(new Error(`${this.name}: timed out after ${timeout} ms waiting for ${what}\nreceived:\n${this.history()}`));
      }, timeout);
      this._waiters.add(attempt);
      attempt();
    });
  }

  // The first not yet consumed frame whose parsed message matches `pred`; marks it consumed.
  nextFrame(pred, opts) {
    const m = matcher(pred);
    return this._waitFor(() => {
      for (let i = 0; i < this.frames.length; i++) {
        if (this._consumed.has(i)) continue;
        const f = this.frames[i];
        if (!f.binary && m(f.msg)) { this._consumed.add(i); return f; }
      }
      return undefined;
    }, describe(pred), opts);
  }

  async next(pred, opts) {
    return (await this.nextFrame(pred, opts)).msg;
  }

  // Resolves with {code, reason} when the socket is closed.
  closed({ timeout = DEFAULT_TIMEOUT } = {}) {
    return this._waitFor(() => this.closeInfo ?? undefined, 'close', { timeout, allowClosed: true });
  }

  // Resolves once the server has sent at least `n` WebSocket pings.
  waitPings(n, opts) {
    return this._waitFor(() => (this.pings >= n ? this.pings : undefined), `${n} server pings`, opts);
  }

  send(obj) { this.sendRaw(JSON.stringify(obj)); }

  // Sends `data` (string or Buffer) as a text frame, or a binary frame with {binary: true}.
  sendRaw(data, { binary = false } = {}) {
    this.lastSentAt = Date.now();
    this.ws.send(data, { binary });
  }

  static newId(prefix = 'r') { idCounter += 1; return `${prefix}${idCounter}`; }

  // Sends `obj` with an id (a fresh one unless given) and resolves with the first
  // message that carries that id (the reply, success or error).
  // Fails fast (instead of timing out) when an error without any id arrives
  // while waiting: that is a reply that lost the id.
  async request(obj, opts) {
    const msg = 'id' in obj ? obj : { ...obj, id: Client.newId() };
    const start = this.frames.length;
    this.send(msg);
    const f = await this._waitFor(() => {
      for (let i = start; i < this.frames.length; i++) {
        if (this._consumed.has(i)) continue;
        const m = this.frames[i].msg;
        if (m !== null && isDeepStrictEqual(m.id, msg.id)) { this._consumed.add(i); return m; }
        if (m !== null && m.type === 'error' && !('id' in m)) {
          throw new Error(`${this.name}: the reply to ${JSON.stringify(msg).slice(0, 200)} is an error without its id: ${this.frames[i].raw}`);
        }
      }
      return undefined;
    }, `the reply to ${JSON.stringify(msg).slice(0, 200)}`, opts);
    return f;
  }

  // Sends `obj` (with a fresh id unless it has one) and resolves with the next error, whatever its id.
  // For tests about the error code only; the id rule is tested on its own.
  async requestError(obj, opts) {
    this.send('id' in obj ? obj : { ...obj, id: Client.newId('e') });
    return this.next('error', opts);
  }

  // A ping/pong round trip. The server handles one connection's frames in order,
  // so once the pong is here every reply to the frames sent before it has arrived.
  async barrier(opts) {
    const id = Client.newId('barrier-');
    this.send({ type: 'ping', id });
    await this.next({ type: 'pong', id }, opts);
  }

  // The unconsumed messages matching `pred` (for "nothing of that kind arrived" checks).
  pending(pred) {
    const m = matcher(pred);
    return this.frames.filter((f, i) => !this._consumed.has(i) && !f.binary && m(f.msg)).map((f) => f.msg);
  }

  // All received messages (consumed or not) matching `pred`.
  received(pred) {
    const m = matcher(pred);
    return this.frames.filter((f) => !f.binary && m(f.msg)).map((f) => f.msg);
  }

  // Asserts that every received frame is a JSON object with an integer seq, and
  // that the seqs are exactly 1, 2, 3, ... in arrival order.
  assertSeq() {
    this.frames.forEach((f, i) => {
      assert.ok(!f.binary, `${this.name}: frame ${i} is binary`);
      assert.ok(f.msg && typeof f.msg === 'object', `${this.name}: frame ${i} is not a JSON object: ${f.raw}`);
      assert.equal(f.msg.seq, i + 1, `${this.name}: frame ${i} has seq ${f.msg.seq}, expected ${i + 1}\n${this.history()}`);
    });
  }

  async close(code = 1000) {
    if (!this.closeInfo) this.ws.close(code);
    return this.closed();
  }

  terminate() { this.ws.terminate(); }
}

// Terminates every client still open (call from afterEach/after).
export function closeAllClients() {
  for (const c of [...open]) c.terminate();
}
