// Starting and stopping a real switchboard process for an integration test.
//
// startServer() spawns the binary with `--listen 127.0.0.1:0 --log-format json`
// (plus a random HS256 secret unless told otherwise), waits for the
// `listening on http://HOST:PORT` log line on stderr and resolves with a handle.
// Every process started here is SIGKILLed when the test process exits, so a
// failing test never leaks a server.
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { splitLines } from './proc.mjs';

export const BIN = process.env.SWITCHBOARD_BIN || '/work/main/build/switchboard';

const live = new Set();
const tmpDirs = new Set();

process.on('exit', () => {
  for (const s of live) {
    try { s.proc.kill('SIGKILL'); } catch { /* already gone */ }
  }
  for (const d of tmpDirs) {
    try { fs.rmSync(d, { recursive: true, force: true }); } catch { /* ignore */ }
  }
});

export function randomSecret() {
  return crypto.randomBytes(32).toString('hex');
}

// A fresh temporary directory, removed when the test process exits.
export function tmpDir(prefix = 'switchboard-it-') {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  tmpDirs.add(d);
  return d;
}

const LISTEN_RE = /listening on https?:\/\/([^\s"/]+):(\d+)/;
// A report by ASan, LSan or UBSan on the server's stderr.
const SANITIZER_RE = /ERROR: (Address|Leak)Sanitizer|SUMMARY: \w+Sanitizer|runtime error: /;

// The text of a log line: the "msg" field of a JSON log line, else the raw line.
function logText(line) {
  try {
    const o = JSON.parse(line);
    if (o && typeof o === 'object' && typeof o.msg === 'string') return o.msg;
  } catch { /* not JSON */ }
  return line;
}

export class Server {
  constructor(proc, opts) {
    this.proc = proc;
    this.secret = opts.secret;
    this.args = opts.fullArgs;
    this.stderrLines = [];
    this.stdoutLines = [];
    this.exited = false;
    this.exitInfo = null;
    this.stopping = false;
    this._lineWaiters = [];
    this.exitPromise = new Promise((resolve) => {
      proc.on('exit', (code, signal) => {
        this.exited = true;
        this.exitInfo = { code, signal };
        live.delete(this);
        resolve(this.exitInfo);
      });
    });
    splitLines(proc.stderr, (l) => { this.stderrLines.push(l); this._checkWaiters('stderr', l); });
    splitLines(proc.stdout, (l) => { this.stdoutLines.push(l); this._checkWaiters('stdout', l); });
  }

  _checkWaiters(stream, line) {
    for (const w of [...this._lineWaiters]) {
      if (w.stream === stream && w.re.test(line)) {
        this._lineWaiters.splice(this._lineWaiters.indexOf(w), 1);
        clearTimeout(w.timer);
        w.resolve(line);
      }
    }
  }

  // Resolves with the first line (already seen or future) of `stream` matching `re`.
  waitForLine(stream, re, { timeout = 10000 } = {}) {
    const seen = (stream === 'stderr' ? this.stderrLines : this.stdoutLines).find((l) => re.test(l));
    if (seen !== undefined) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const w = { stream, re, resolve };
      w.timer = setTimeout(() => {
        this._lineWaiters.splice(this._lineWaiters.indexOf(w), 1);
        reject(new Error(`no ${stream} line matching ${re} within ${timeout} ms\n${this.logTail()}`));
      }, timeout);
      this._lineWaiters.push(w);
      this.exitPromise.then((info) => {
        if (!this._lineWaiters.includes(w)) return;
        this._lineWaiters.splice(this._lineWaiters.indexOf(w), 1);
        clearTimeout(w.timer);
        reject(new Error(`server exited (${JSON.stringify(info)}) before printing ${re}\n${this.logTail()}`));
      });
    });
  }

  logTail(n = 40) {
    return ['--- stderr (tail) ---', ...this.stderrLines.slice(-n),
      '--- stdout (tail) ---', ...this.stdoutLines.slice(-n)].join('\n');
  }

  get httpUrl() { return `http://${this.host}:${this.port}`; }
  get wsUrl() { return `ws://${this.host}:${this.port}/ws`; }

  // Sends `signal` and waits for the process to exit. Resolves with {code, signal}.
  // If it does not exit within `timeout`, SIGKILLs it and rejects.
  async stop({ signal = 'SIGTERM', timeout = 8000 } = {}) {
    if (this.exited) return this.exitInfo;
    this.stopping = true;
    this.proc.kill(signal);
    let timer;
    const timedOut = new Promise((resolve) => { timer = setTimeout(() => resolve(null), timeout); });
    const info = await Promise.race([this.exitPromise, timedOut]);
    clearTimeout(timer);
    if (info === null) {
      this.proc.kill('SIGKILL');
      await this.exitPromise;
      throw new Error(`server did not exit within ${timeout} ms of ${signal}\n${this.logTail()}`);
    }
    return info;
  }

  // Stops the server at the end of a test file. Fails if the server had died
  // on its own during the tests (a crash must not go unnoticed), if it did not
  // exit 0 (under ASan, LeakSanitizer turns a leak at exit into exit code 23),
  // or if a sanitizer reported anything on stderr.
  async shutdown() {
    const crashed = this.exited && !this.stopping;
    const info = await this.stop();
    if (crashed) {
      throw new Error(`server exited unexpectedly during the tests: ${JSON.stringify(info)}\n${this.logTail()}`);
    }
    const report = this.stderrLines.find((l) => SANITIZER_RE.test(l));
    if (info.code !== 0 || report !== undefined) {
      throw new Error(`server did not shut down cleanly: ${JSON.stringify(info)}${report ? `, ${report}` : ''}\n` +
        this.logTail(200));
    }
    return info;
  }
}

// Options:
//   args: extra command-line arguments
//   secret: HS256 secret (default: random); null to pass no --jwt-hs256-secret
//   env: extra environment variables
//   timeout: ms to wait for the listening line
export async function startServer({ args = [], secret, env = {}, timeout = 10000 } = {}) {
  if (secret === undefined) secret = randomSecret();
  const fullArgs = ['--listen', '127.0.0.1:0', '--log-format', 'json'];
  if (secret !== null) fullArgs.push('--jwt-hs256-secret', secret);
  fullArgs.push(...args);
  // no SWITCHBOARD_* setting may leak in from the environment running the tests
  const childEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('SWITCHBOARD_')));
  Object.assign(childEnv, env);
  const proc = spawn(BIN, fullArgs, { stdio: ['ignore', 'pipe', 'pipe'], env: childEnv });
  const server = new Server(proc, { secret, fullArgs });
  live.add(server);
  const spawnError = new Promise((_, reject) => proc.on('error', (e) => reject(
    new Error(`cannot start ${BIN}: ${e.message}`))));
  const ready = (async () => {
    const line = await server.waitForLine('stderr', LISTEN_RE, { timeout });
    const m = LISTEN_RE.exec(logText(line)) || LISTEN_RE.exec(line);
    server.host = m[1];
    server.port = Number(m[2]);
    return server;
  })();
  try {
    return await Promise.race([ready, spawnError]);
  } catch (e) {
    try { proc.kill('SIGKILL'); } catch { /* ignore */ }
    throw e;
  }
}
