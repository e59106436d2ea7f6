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
//
// The port is found by binding 0 and releasing it (see freePort); a start that
// loses that race is retried with another port. Every redis-server started here
// is SIGKILLed when the test process exits.
import { execFile } from 'node:child_process';
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
