// A helper process a test starts (redis-server, haproxy, nginx): its output
// kept line by line, a wait for a line, stop with a signal, and a SIGKILL when
// the test process exits so that a failing test never leaks one.
//
//   const p = spawnLogged('redis-server', args, { name: 'redis' });
//   await p.waitForLine(/Ready to accept connections/);   // stdout or stderr
//   await p.stop();                                       // SIGTERM, then SIGKILL after the timeout
import { spawn } from 'node:child_process';
import net from 'node:net';

const live = new Set();
process.on('exit', () => {
  for (const p of live) {
    try { p.proc.kill('SIGKILL'); } catch { /* already gone */ }
  }
});

// Calls onLine for each line `stream` emits (without its \n or \r\n); a last line without \n at the end.
export function splitLines(stream, onLine) {
  let buf = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk) => {
    buf += chunk;
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      onLine(buf.slice(0, i).replace(/\r$/, ''));
      buf = buf.slice(i + 1);
    }
  });
  stream.on('end', () => { if (buf) onLine(buf); buf = ''; });
}

export class LoggedProcess {
  constructor(cmd, args, { name = cmd, env, cwd } = {}) {
    this.name = name;
    this.cmd = cmd;
    this.args = args;
    this.lines = [];           // stdout and stderr lines, in arrival order
    this.exited = false;
    this.exitInfo = null;      // {code, signal}
    this._waiters = new Set();
    this.proc = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], env, cwd });
    live.add(this);
    this.spawnError = null;
    this.exitPromise = new Promise((resolve) => {
      this.proc.on('error', (e) => {
        this.spawnError = e;
        this.exited = true;
        this.exitInfo = { code: null, signal: null, error: e.message };
        live.delete(this);
        resolve(this.exitInfo);
        this._wake();
      });
      this.proc.on('exit', (code, signal) => {
        this.exited = true;
        this.exitInfo = { code, signal };
        live.delete(this);
        resolve(this.exitInfo);
        this._wake();
      });
    });
    const onLine = (l) => { this.lines.push(l); this._wake(); };
    splitLines(this.proc.stdout, onLine);
    splitLines(this.proc.stderr, onLine);
  }

  get pid() { return this.proc.pid; }

  _wake() { for (const w of [...this._waiters]) w(); }

  logTail(n = 40) {
    return [`--- ${this.name} output (tail) ---`, ...this.lines.slice(-n)].join('\n');
  }

  // Resolves with the first line (already seen or future) matching `re`.
  // Rejects after `timeout` ms, or when the process exits first.
  waitForLine(re, { timeout = 10000 } = {}) {
    return new Promise((resolve, reject) => {
      let timer;
      const check = () => {
        const hit = this.lines.find((l) => re.test(l));
        if (hit !== undefined) { done(); resolve(hit); return; }
        if (this.exited) {
          done();
          reject(new Error(`${this.name} exited (${JSON.stringify(this.exitInfo)}) before printing ${re}\n${this.logTail()}`));
        }
      };
      const done = () => { clearTimeout(timer); this._waiters.delete(check); };
      timer = setTimeout(() => {
        done();
        reject(new Error(`${this.name}: no line matching ${re} within ${timeout} ms\n${this.logTail()}`));
      }, timeout);
      this._waiters.add(check);
      check();
    });
  }

  // Sends `signal` and waits for the exit; SIGKILLs (and rejects) after `timeout` ms.
  async stop({ signal = 'SIGTERM', timeout = 5000 } = {}) {
    if (this.exited) return this.exitInfo;
    this.proc.kill(signal);
    let timer;
    const timedOut = new Promise((resolve) => { timer = setTimeout(() => resolve(null), timeout); });
    const info = await Promise.race([this.exitPromise, timedOut]);
    clearTimeout(timer);
    if (info === null) {
      this.proc.kill('SIGKILL');
      await this.exitPromise;
      throw new Error(`${this.name} did not exit within ${timeout} ms of ${signal}\n${this.logTail()}`);
    }
    return info;
  }

  kill() { return this.stop({ signal: 'SIGKILL' }); }
}

export function spawnLogged(cmd, args, opts) {
  return new LoggedProcess(cmd, args, opts);
}

// A TCP port on `host` that was free a moment ago: bound with port 0, then
// released. Another process may take it before the caller binds it (a small
// race); callers that hand it to a helper process retry on "address in use".
export function freePort(host = '127.0.0.1') {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, host, () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

// Resolves once a TCP connection to host:port succeeds. Tries every 20 ms for at
// most `timeout` ms; gives up early when `proc` (a LoggedProcess) exits.
export async function waitForPort(port, { host = '127.0.0.1', timeout = 5000, proc } = {}) {
  const deadline = Date.now() + timeout;
  for (;;) {
    const ok = await new Promise((resolve) => {
      const s = net.connect({ host, port });
      s.once('connect', () => { s.destroy(); resolve(true); });
      s.once('error', () => { s.destroy(); resolve(false); });
    });
    if (ok) return;
    if (proc?.exited) {
      throw new Error(`${proc.name} exited (${JSON.stringify(proc.exitInfo)}) before accepting on ${host}:${port}\n${proc.logTail()}`);
    }
    if (Date.now() > deadline) {
      throw new Error(`nothing accepts on ${host}:${port} after ${timeout} ms${proc ? `\n${proc.logTail()}` : ''}`);
    }
    await new Promise((resolve) => { setTimeout(resolve, 20); });
  }
}
