// The user store through the real CLI: `switchboard user ... --db FILE`, the
// password on stdin (not a terminal, so the CLI reads one line from it).
import { spawn } from 'node:child_process';
import { BIN } from './server.mjs';

// Runs `switchboard user ARGS --db DB`, writing `input` to stdin. Resolves with
// {code, stdout, stderr}; never rejects on a non-zero exit.
export function userCli(db, args, { input = '', timeout = 20000 } = {}) {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('SWITCHBOARD_')));
  return new Promise((resolve, reject) => {
    const p = spawn(BIN, ['user', ...args, '--db', db], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => { p.kill('SIGKILL'); reject(new Error(`switchboard user ${args.join(' ')}: timeout`)); }, timeout);
    p.stdout.on('data', (d) => { stdout += d; });
    p.stderr.on('data', (d) => { stderr += d; });
    p.on('error', (e) => { clearTimeout(timer); reject(e); });
    p.on('close', (code) => { clearTimeout(timer); resolve({ code, stdout, stderr }); });
    p.stdin.end(input);
  });
}

// Adds a user or fails the test.
export async function addUser(db, name, password, extra = []) {
  const r = await userCli(db, ['add', name, ...extra], { input: `${password}\n` });
  if (r.code !== 0) throw new Error(`user add ${name}: exit ${r.code}: ${r.stderr}`);
  return r;
}

// POST /v1/token; resolves with {status, body, headers}.
export async function login(server, body, { headers = {} } = {}) {
  const res = await fetch(`${server.httpUrl}/v1/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  let parsed = null;
  try { parsed = JSON.parse(text); } catch { parsed = null; }
  return { status: res.status, body: parsed, text, headers: res.headers };
}

// The payload of a compact JWS (not verified).
export function jwtPayload(token) {
  return JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString('utf8'));
}
export function jwtHeader(token) {
  return JSON.parse(Buffer.from(token.split('.')[0], 'base64url').toString('utf8'));
}
