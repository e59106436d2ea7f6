// Attacker-side tools for the hostile-client suite: WebSockets from a chosen
// loopback source address, upgrades whose refusal (status, headers, body) is
// inspected, raw TCP sockets, and a bounded "as fast as the socket takes it" flood.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import net from 'node:net';
import WebSocket from 'ws';
import { Client } from '../../integration/lib/client.mjs';

// Tries a WebSocket upgrade. Resolves with {status: 101, client} when it opens,
// or {status, headers, body} when the server refuses it with an HTTP response.
// Options: localAddress (e.g. '127.0.0.2'), headers, name, autoPong, timeout.
export function upgrade(server, { localAddress, headers, name, autoPong = true, timeout = 5000, url } = {}) {
  const target = url ?? server.wsUrl;
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(target, { localAddress, headers, autoPong, maxPayload: 16 * 1024 * 1024 });
    const client = new Client(ws, name ?? `ws(${localAddress ?? '127.0.0.1'})`);
    const timer = setTimeout(() => { ws.terminate(); reject(new Error(`upgrade ${target}: timeout`)); }, timeout);
    ws.once('open', () => { clearTimeout(timer); resolve({ status: 101, client }); });
    ws.once('unexpected-response', (_req, res) => {
      const chunks = [];
      res.on('data', (d) => chunks.push(d));
      res.on('end', () => {
        clearTimeout(timer);
        ws.terminate();
        resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') });
      });
      res.on('error', (e) => { clearTimeout(timer); reject(e); });
    });
    ws.once('error', (e) => { clearTimeout(timer); reject(e); });
  });
}

// Like upgrade() but the upgrade must succeed; resolves with the Client.
export async function connectFrom(server, opts = {}) {
  const r = await upgrade(server, opts);
  assert.equal(r.status, 101, `upgrade from ${opts.localAddress ?? '127.0.0.1'} refused: ${r.status} ${r.body ?? ''}`);
  return r.client;
}

// Asserts a refused upgrade: status, a Retry-After of at least 1 s (when `retryAfter`),
// and the JSON error code in the body.
export function assertRefused(r, status, code, { retryAfter = true } = {}) {
  assert.equal(r.status, status, `expected HTTP ${status}, got ${r.status} ${r.body ?? ''}`);
  if (retryAfter) {
    assert.ok(r.headers['retry-after'] !== undefined, `HTTP ${status} without Retry-After`);
    assert.match(r.headers['retry-after'], /^[1-9]\d*$/, `Retry-After is not a positive number of seconds: ${r.headers['retry-after']}`);
  }
  const body = JSON.parse(r.body);
  assert.equal(body.error?.code, code, `expected error code ${code}: ${r.body}`);
  assert.equal(typeof body.error.message, 'string');
}

// A raw TCP connection. .data (Buffer of everything received), .closed() resolves
// with {at, hadError} when the server closes it (or after `timeout` rejects).
export function rawSocket(server, { localAddress } = {}) {
  return new Promise((resolve, reject) => {
    const sock = net.connect({ port: server.port, host: server.host, localAddress });
    const r = { sock, chunks: [], openedAt: 0, closedAt: 0, ended: false };
    r.closedPromise = new Promise((res) => {
      sock.on('close', (hadError) => { r.closedAt = Date.now(); res({ at: r.closedAt, hadError }); });
    });
    sock.on('data', (d) => r.chunks.push(d));
    sock.on('end', () => { r.ended = true; });
    sock.on('error', () => { /* reset by peer counts as closed */ });
    r.text = () => Buffer.concat(r.chunks).toString('latin1');
    r.closed = ({ timeout = 5000 } = {}) => new Promise((res, rej) => {
      const t = setTimeout(() => rej(new Error(`raw socket not closed by the server within ${timeout} ms (received ${JSON.stringify(r.text().slice(0, 200))})`)), timeout);
      r.closedPromise.then((v) => { clearTimeout(t); res(v); });
    });
    sock.once('connect', () => { r.openedAt = Date.now(); resolve(r); });
    sock.once('error', reject);
  });
}

// Waits until the socket's write buffer drains (or it closes), bounded.
function drained(ws, timeout) {
  return new Promise((resolve) => {
    if (ws.readyState !== WebSocket.OPEN || ws.bufferedAmount === 0) { resolve(); return; }
    const sock = ws._socket;
    const done = () => { clearTimeout(t); sock.off('drain', done); ws.off('close', done); resolve(); };
    const t = setTimeout(done, timeout);
    sock.once('drain', done);
    ws.once('close', done);
  });
}

// Sends frames from make(i) on `client` as fast as its socket takes them (a
// bounded user-space backlog of `highWater` bytes), until `max` frames are out,
// the socket closes, `timeoutMs` passes, or (stopOnStall) the socket stops
// draining for a second: the server no longer reads. Yields to the event loop
// after every batch so that honest clients in the same process keep running.
// `make(i)` returns the frame to send, or sends something itself and returns
// undefined (e.g. a WebSocket ping). Resolves with {sent, ms, closed, stalled}.
export async function flood(client, make, { max = 1_000_000, timeoutMs = 10000, highWater = 1 << 20, batch = 500, stopOnStall = false } = {}) {
  const ws = client.ws;
  const t0 = Date.now();
  let sent = 0;
  let stalled = false;
  while (sent < max && ws.readyState === WebSocket.OPEN && Date.now() - t0 < timeoutMs && !stalled) {
    for (let k = 0; k < batch && sent < max && ws.readyState === WebSocket.OPEN; k++) {
      const frame = make(sent);
      if (frame !== undefined) ws.send(frame);
      sent += 1;
    }
    if (ws.bufferedAmount > highWater) {
      await drained(ws, 1000);
      stalled = stopOnStall && ws.bufferedAmount > highWater;
    } else {
      await new Promise((r) => setImmediate(r));
    }
  }
  return { sent, ms: Date.now() - t0, closed: ws.readyState !== WebSocket.OPEN, stalled };
}

// A WebSocket spoken by hand over a raw TCP socket, for frames no client library
// sends (a header that claims a huge length, ...). Resolves once the server
// answered 101. .frame(opcode, payload, {fin, length}) sends one masked frame
// (`length` overrides the declared payload length); .serverFrames() parses what
// the server sent after the 101; .closeFrame() waits for the server's close frame
// and the end of the TCP connection, and resolves with its code.
export async function rawWebSocket(server, { localAddress, timeout = 5000 } = {}) {
  const r = await rawSocket(server, { localAddress });
  const key = crypto.randomBytes(16).toString('base64');
  r.sock.write(`GET /ws HTTP/1.1\r\nHost: ${server.host}:${server.port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n`
    + `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`);
  await new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`no 101 within ${timeout} ms: ${JSON.stringify(r.text().slice(0, 200))}`)), timeout);
    const check = () => {
      if (r.text().includes('\r\n\r\n')) { clearTimeout(t); r.sock.off('data', check); resolve(); }
    };
    r.sock.on('data', check);
    r.closedPromise.then(() => { clearTimeout(t); reject(new Error(`closed before 101: ${JSON.stringify(r.text().slice(0, 200))}`)); });
    check();
  });
  assert.match(r.text(), /^HTTP\/1\.1 101 /, 'the raw upgrade was refused');
  r.frame = (opcode, payload = Buffer.alloc(0), { fin = true, length } = {}) => {
    const body = Buffer.from(payload);
    const len = length ?? body.length;
    let head;
    if (len < 126) head = Buffer.from([(fin ? 0x80 : 0) | opcode, 0x80 | len]);
    else if (len < 65536) { head = Buffer.alloc(4); head[0] = (fin ? 0x80 : 0) | opcode; head[1] = 0x80 | 126; head.writeUInt16BE(len, 2); }
    else { head = Buffer.alloc(10); head[0] = (fin ? 0x80 : 0) | opcode; head[1] = 0x80 | 127; head.writeBigUInt64BE(BigInt(len), 2); }
    const mask = crypto.randomBytes(4);
    const masked = Buffer.from(body);
    for (let i = 0; i < masked.length; i++) masked[i] ^= mask[i & 3];
    r.sock.write(Buffer.concat([head, mask, masked]));
  };
  r.serverFrames = () => {
    const all = Buffer.concat(r.chunks);
    let p = all.indexOf('\r\n\r\n') + 4;
    const frames = [];
    while (p + 2 <= all.length) {
      const opcode = all[p] & 0x0f;
      let len = all[p + 1] & 0x7f;
      let q = p + 2;
      if (len === 126) { if (q + 2 > all.length) break; len = all.readUInt16BE(q); q += 2; }
      else if (len === 127) { if (q + 8 > all.length) break; len = Number(all.readBigUInt64BE(q)); q += 8; }
      if (q + len > all.length) break;
      frames.push({ opcode, payload: all.subarray(q, q + len) });
      p = q + len;
    }
    return frames;
  };
  // Resolves with the code of the server's close frame as soon as it has arrived
  // (whether or not the TCP connection is closed yet).
  r.nextCloseFrame = ({ timeout: t = 5000 } = {}) => new Promise((resolve, reject) => {
    const check = () => {
      const close = r.serverFrames().find((f) => f.opcode === 8);
      if (!close) return false;
      clearTimeout(timer);
      r.sock.off('data', check);
      resolve(close.payload.length >= 2 ? close.payload.readUInt16BE(0) : null);
      return true;
    };
    const timer = setTimeout(() => { r.sock.off('data', check); reject(new Error(`no close frame within ${t} ms`)); }, t);
    r.sock.on('data', check);
    check();
  });
  r.closeFrame = async ({ timeout: t = 5000 } = {}) => {
    await r.closed({ timeout: t });
    const close = r.serverFrames().find((f) => f.opcode === 8);
    assert.ok(close, `the server closed the TCP connection without a close frame (received ${r.serverFrames().length} frames)`);
    return close.payload.length >= 2 ? close.payload.readUInt16BE(0) : null;
  };
  return r;
}
