// A real redis-server for a test, on 127.0.0.1 and a unix socket in a fresh
// temporary directory, with nothing persisted (--save '' --appendonly no): a
// restart starts empty, as after losing the Redis host.
//
//   const redis = await startRedis();
//   redis.url                      redis://127.0.0.1:PORT (for --redis)
//   redis.socket                   the unix socket path
//   await redis.cli('DBSIZE')      runs redis-cli against it, resolves with its trimmed output
//   await redis.kill()             SIGKILL (a crash); stop() is a clean SIGTERM
//   await redis.restart()          stops it if running, starts again on the same port and socket
//   redis.pause() / resume()       SIGSTOP / SIGCONT: connections stay open but nothing answers
//   const conn = await redis.connect()   one connection kept open (works when no new one may be
//   await conn.call('LLEN', key)         accepted, e.g. under a lowered maxclients): replies as
//   conn.close()                         strings, numbers, arrays; an error reply rejects
//
// The port is found by binding 0 and releasing it (see freePort); a start that
// loses that race is retried with another port. Every redis-server started here
// is SIGKILLed when the test process exits.
import { execFile } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { freePort, spawnLogged } from './proc.mjs';
import { tmpDir } from './server.mjs';

export const REDIS_BIN = process.env.REDIS_SERVER_BIN || 'redis-server';
const READY_RE = /Ready to accept connections/;
const IN_USE_RE = /Address already in use|Could not create server TCP listening socket/;

export class Redis {
  constructor({ port, dir, timeout }) {
    this.host = '127.0.0.1';
    this.port = port;
    this.dir = dir;
    this.socket = path.join(dir, 'redis.sock');
    this.timeout = timeout;
    this.proc = null;
    this.starts = 0;
  }

  get url() { return `redis://${this.host}:${this.port}`; }
  get running() { return this.proc !== null && !this.proc.exited; }
  get pid() { return this.proc?.pid; }

  logTail(n) { return this.proc ? this.proc.logTail(n) : '(redis-server never started)'; }

  async _start() {
    this.starts += 1;
    this.proc = spawnLogged(REDIS_BIN, [
      '--bind', this.host, '--port', String(this.port),
      '--unixsocket', this.socket, '--unixsocketperm', '700',
      '--dir', this.dir, '--save', '', '--appendonly', 'no',
      '--daemonize', 'no', '--logfile', '', '--loglevel', 'notice',
    ], { name: `redis-server :${this.port} (start ${this.starts})` });
    await this.proc.waitForLine(READY_RE, { timeout: this.timeout });
  }

  // SIGTERM and wait for the exit (nothing is saved, so it is quick).
  async stop() { if (this.proc) await this.proc.stop({ signal: 'SIGTERM' }); }

  // SIGKILL and wait for the exit.
  async kill() { if (this.proc) await this.proc.stop({ signal: 'SIGKILL' }); }

  // Starts again on the same port and socket, empty. Stops the running one first.
  async restart() {
    if (this.running) await this.stop();
    await this._start();
  }

  pause() { this.proc.proc.kill('SIGSTOP'); }
  resume() { this.proc.proc.kill('SIGCONT'); }

  // Runs `redis-cli -h 127.0.0.1 -p PORT args...`; resolves with stdout trimmed,
  // rejects when redis-cli fails (for example when the server is down).
  cli(...args) {
    return new Promise((resolve, reject) => {
      execFile('redis-cli', ['-h', this.host, '-p', String(this.port), ...args], { timeout: 5000 },
        (err, stdout, stderr) => {
          if (err) reject(new Error(`redis-cli ${args.join(' ')}: ${err.message} ${stderr}`));
          else resolve(stdout.trim());
        });
    });
  }

  // A connection kept open (RedisConn, below).
  connect() {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ host: this.host, port: this.port }, () => resolve(new RedisConn(socket)));
      socket.once('error', reject);
    });
  }
}

// One RESP2 connection to a Redis, commands answered in order.
class RedisConn {
  constructor(socket) {
    this.socket = socket;
    this.buf = Buffer.alloc(0);
    this.waiting = [];
    socket.on('data', (d) => { this.buf = Buffer.concat([this.buf, d]); this._drain(); });
    socket.on('close', () => { for (const w of this.waiting.splice(0)) w.reject(new Error('redis connection closed')); });
  }

  call(...args) {
    const parts = [`*${args.length}\r\n`];
    for (const a of args.map(String)) parts.push(`$${Buffer.byteLength(a)}\r\n${a}\r\n`);
    if (this.socket.destroyed) return Promise.reject(new Error('redis connection closed'));
    return new Promise((resolve, reject) => {
      this.waiting.push({ resolve, reject });
      this.socket.write(parts.join(''));
    });
  }

  close() { this.socket.destroy(); }

  _drain() {
    while (this.waiting.length) {
      const r = this._parse(0);
      if (!r) return;
      this.buf = this.buf.subarray(r.end);
      const w = this.waiting.shift();
      if (r.value instanceof Error) w.reject(r.value); else w.resolve(r.value);
    }
  }

  // {value, end} for the reply starting at `at`, or null when it is not all here yet.
  _parse(at) {
    const eol = this.buf.indexOf('\r\n', at);
    if (eol < 0) return null;
    const line = this.buf.toString('utf8', at + 1, eol);
    switch (String.fromCharCode(this.buf[at])) {
      case '+': return { value: line, end: eol + 2 };
      case '-': return { value: new Error(line), end: eol + 2 };
      case ':': return { value: Number(line), end: eol + 2 };
      case '$': {
        const n = Number(line);
        if (n < 0) return { value: null, end: eol + 2 };
        if (this.buf.length < eol + 2 + n + 2) return null;
        return { value: this.buf.toString('utf8', eol + 2, eol + 2 + n), end: eol + 2 + n + 2 };
      }
      case '*': {
        const n = Number(line);
        const out = [];
        let end = eol + 2;
        for (let i = 0; i < n; i++) {
          const e = this._parse(end);
          if (!e) return null;
          out.push(e.value);
          end = e.end;
        }
        return { value: n < 0 ? null : out, end };
      }
      default: throw new Error(`not a RESP reply: ${this.buf.toString('utf8', at, eol)}`);
    }
  }
}

// Options: timeout (ms to wait for "Ready to accept connections", default 10 s).
export async function startRedis({ timeout = 10000 } = {}) {
  const dir = tmpDir('switchboard-redis-');
  for (let attempt = 1; ; attempt++) {
    const redis = new Redis({ port: await freePort(), dir, timeout });
    try {
      await redis._start();
      return redis;
    } catch (e) {
      const lostRace = redis.proc && redis.proc.lines.some((l) => IN_USE_RE.test(l));
      if (!lostRace || attempt >= 3) throw e;
    }
  }
}
