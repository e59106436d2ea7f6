// Real HAProxy and nginx in front of switchboard nodes, run from the very files
// shipped in deploy/ (deploy/haproxy.cfg, deploy/nginx.conf).
//
//   const lb = await startHaproxy({ backends: nodes.map((n) => ({ host: n.host, port: n.port })) });
//   const lb = await startNginx({ backends, tls: false });
//   lb.url, lb.wsUrl                       http://127.0.0.1:PORT, ws://127.0.0.1:PORT/ws
//   lb.httpsUrl, lb.wssUrl, lb.ca          TLS termination with a self-signed certificate (unless tls: false)
//   lb.readLog('error.log')                a file the proxy wrote in its run directory
//   await lb.command('show servers state') HAProxy's runtime API (its stats socket)
//   await lb.stop()
//
// How a deploy file becomes a test configuration (render()): only lines ending in
// a `#@ tag...` comment change, everything else is used as shipped.
//   listen  the first argument (address or port) becomes 127.0.0.1:PORT, a free
//           port; the TLS port when the line is also tagged `tls`
//   tls     the line is dropped when TLS is not wanted
//   server  a run of consecutive such lines becomes one line per backend, made
//           from the first: its HOST:PORT becomes the backend's, `node1` → `nodeN`
//   path    each absolute path becomes RUNDIR/<its base name>
//   root    the line is dropped (user, group, chroot: they need root)
// Each proxy runs in its own temporary directory RUNDIR (config, pid, logs, temp
// files, certificate), as the current user, and is SIGKILLed when the test
// process exits.
//
// Ports: a free port is found by binding port 0 on 127.0.0.1 in this process and
// releasing it before the proxy binds it. Another process can take it in between
// (a small race); a start that fails with "Address already in use" is retried
// with new ports, up to 3 times.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, spawnLogged, waitForPort } from './proc.mjs';
import { tmpDir } from './server.mjs';

export const DEPLOY_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../deploy');
export const HAPROXY_BIN = process.env.HAPROXY_BIN || '/usr/sbin/haproxy';
export const NGINX_BIN = process.env.NGINX_BIN || '/usr/sbin/nginx';

const TAGS = new Set(['listen', 'tls', 'server', 'path', 'root']);
const TAGGED_RE = /^(.*?)\s*#@\s*([a-z ]+?)\s*$/;

// Rewrites the tagged lines of a deploy file (see the header). Throws when the
// file has no listener or no server line, or an unknown tag: the deploy file
// changed in a way this renderer does not know.
export function render(text, { port, tlsPort, tls, backends, runDir }) {
  const out = [];
  let inServerRun = false;
  let serverRuns = 0;
  let listeners = 0;
  for (const line of text.split('\n')) {
    const m = TAGGED_RE.exec(line);
    if (!m) { inServerRun = false; out.push(line); continue; }
    let body = m[1];
    const tags = new Set(m[2].split(/\s+/));
    for (const t of tags) if (!TAGS.has(t)) throw new Error(`unknown tag '#@ ${t}' in: ${line}`);
    const wasInServerRun = inServerRun;
    inServerRun = tags.has('server');
    if (tags.has('root')) continue;
    if (tags.has('tls') && !tls) continue;
    if (tags.has('listen')) {
      const p = tags.has('tls') ? tlsPort : port;
      const replaced = body.replace(/^(\s*\S+\s+)[^\s;]+/, `$1127.0.0.1:${p}`);
      if (replaced === body) throw new Error(`no address to replace in: ${line}`);
      body = replaced;
      listeners += 1;
    }
    if (tags.has('path')) {
      body = body.replace(/(^|\s)(\/[^\s;]+)/g, (_, sp, p) => sp + path.join(runDir, path.basename(p)));
    }
    if (tags.has('server')) {
      if (wasInServerRun) continue;  // the run was rendered from its first line
      serverRuns += 1;
      if (!/\S+:\d+/.test(body)) throw new Error(`no HOST:PORT in server line: ${line}`);
      backends.forEach((b, i) => {
        out.push(body.replace(/\bnode1\b/, `node${i + 1}`).replace(/\S+:\d+/, `${b.host}:${b.port}`));
      });
      continue;
    }
    out.push(body);
  }
  if (serverRuns !== 1) throw new Error(`expected one run of '#@ server' lines, found ${serverRuns}`);
  if (listeners === 0) throw new Error("no '#@ listen' line");
  return out.join('\n');
}

let certCache = null;

// A self-signed certificate (EC P-256) for 127.0.0.1 and localhost, made once per
// test process with `openssl req`. Returns {cert, key} as PEM strings.
export function selfSignedCert() {
  if (certCache) return certCache;
  const dir = tmpDir('switchboard-lb-cert-');
  const cert = path.join(dir, 'cert.pem');
  const key = path.join(dir, 'key.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
    '-keyout', key, '-out', cert, '-days', '2', '-subj', '/CN=switchboard-lb-test',
    '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost'], { stdio: 'ignore' });
  certCache = { cert: fs.readFileSync(cert, 'utf8'), key: fs.readFileSync(key, 'utf8') };
  return certCache;
}

export class LoadBalancer {
  constructor({ kind, proc, runDir, configPath, config, port, tlsPort, ca, backends }) {
    Object.assign(this, { kind, proc, runDir, configPath, config, port, tlsPort, ca, backends });
    this.host = '127.0.0.1';
  }

  get url() { return `http://${this.host}:${this.port}`; }
  get wsUrl() { return `ws://${this.host}:${this.port}/ws`; }
  get httpsUrl() { return this.tlsPort ? `https://${this.host}:${this.tlsPort}` : null; }
  get wssUrl() { return this.tlsPort ? `wss://${this.host}:${this.tlsPort}/ws` : null; }
  get exited() { return this.proc.exited; }

  // The content of a file the proxy wrote in its run directory ('' if none yet).
  readLog(name) {
    const p = path.join(this.runDir, name);
    return fs.existsSync(p) ? fs.readFileSync(p, 'utf8') : '';
  }

  logTail(n = 40) {
    const files = this.kind === 'nginx'
      ? ['--- error.log (tail) ---', ...this.readLog('error.log').split('\n').slice(-n)] : [];
    return [this.proc.logTail(n), ...files].join('\n');
  }

  // SIGTERM (both stop at once, without waiting for open tunnels) and wait for the exit.
  stop() { return this.proc.stop({ signal: 'SIGTERM', timeout: 5000 }); }

  // HAProxy only: one command on its runtime API (the `stats socket` of
  // deploy/haproxy.cfg, in the run directory), e.g.
  // `set server switchboard/node1 state drain`. Resolves with the answer.
  command(line, { timeout = 5000 } = {}) {
    if (this.kind !== 'haproxy') throw new Error('command(): HAProxy only');
    return new Promise((resolve, reject) => {
      const sock = net.connect(path.join(this.runDir, 'admin.sock'));
      let out = '';
      const timer = setTimeout(() => { sock.destroy(); reject(new Error(`haproxy '${line}': timeout`)); }, timeout);
      sock.on('connect', () => sock.end(`${line}\n`));
      sock.on('data', (d) => { out += d; });
      sock.on('error', (e) => { clearTimeout(timer); reject(e); });
      sock.on('close', () => { clearTimeout(timer); resolve(out.trim()); });
    });
  }
}

const IN_USE_RE = /Address already in use/;

async function startProxy(kind, { backends, tls = true, timeout = 10000 }) {
  if (!backends?.length) throw new Error('startProxy: no backends');
  const source = fs.readFileSync(path.join(DEPLOY_DIR, kind === 'haproxy' ? 'haproxy.cfg' : 'nginx.conf'), 'utf8');
  for (let attempt = 1; ; attempt++) {
    const runDir = tmpDir(`switchboard-${kind}-`);
    const port = await freePort();
    let tlsPort = null;
    if (tls) {
      do tlsPort = await freePort(); while (tlsPort === port);
    }
    const config = render(source, { port, tlsPort, tls, backends, runDir });
    const configPath = path.join(runDir, kind === 'haproxy' ? 'haproxy.cfg' : 'nginx.conf');
    fs.writeFileSync(configPath, config);
    let ca = null;
    if (tls) {
      const { cert, key } = selfSignedCert();
      // the names deploy/haproxy.cfg (cert and key in one file) and deploy/nginx.conf use
      fs.writeFileSync(path.join(runDir, 'switchboard.pem'), cert + key, { mode: 0o600 });
      fs.writeFileSync(path.join(runDir, 'switchboard.crt'), cert);
      fs.writeFileSync(path.join(runDir, 'switchboard.key'), key, { mode: 0o600 });
      ca = cert;
    }
    const proc = kind === 'haproxy'
      ? spawnLogged(HAPROXY_BIN, ['-db', '-f', configPath], { name: `haproxy :${port}`, cwd: runDir })
      : spawnLogged(NGINX_BIN, ['-p', `${runDir}/`, '-c', configPath, '-g', 'daemon off;'],
        { name: `nginx :${port}`, cwd: runDir });
    const lb = new LoadBalancer({ kind, proc, runDir, configPath, config, port, tlsPort, ca, backends });
    try {
      await waitForPort(port, { timeout, proc });
      if (tlsPort) await waitForPort(tlsPort, { timeout, proc });
      return lb;
    } catch (e) {
      if (!proc.exited) await proc.stop({ signal: 'SIGKILL' });
      const lostRace = IN_USE_RE.test(proc.lines.join('\n')) || IN_USE_RE.test(lb.readLog('error.log'));
      if (!lostRace || attempt >= 3) throw new Error(`${e.message}\n${lb.logTail()}\n--- config ---\n${config}`);
    }
  }
}

// HAProxy (deploy/haproxy.cfg) in front of `backends` [{host, port}].
// Options: tls (default true), timeout (ms to wait until it accepts, default 10 s).
export function startHaproxy(opts) { return startProxy('haproxy', opts); }

// nginx (deploy/nginx.conf) in front of `backends` [{host, port}]. Same options.
export function startNginx(opts) { return startProxy('nginx', opts); }
