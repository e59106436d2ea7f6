// HTTP endpoints: /healthz, static files from --web-root (no path traversal),
// /v1/dev-token (dev mode only) and the dev-mode startup token.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Client, closeAllClients, join, rawGet, uniqueRoom } from './lib/harness.mjs';
import { startServer, tmpDir } from './lib/server.mjs';

const SECRET_TEXT = 'TOP-SECRET-do-not-serve-4f1c';

describe('HTTP (normal mode)', () => {
  let server;
  let webRoot;
  before(async () => {
    const base = tmpDir();
    webRoot = path.join(base, 'www');
    fs.mkdirSync(path.join(webRoot, 'sub'), { recursive: true });
    fs.writeFileSync(path.join(webRoot, 'index.html'), '<!doctype html><title>switchboard-index</title>');
    fs.writeFileSync(path.join(webRoot, 'app.js'), 'console.log("app-js-body");');
    fs.writeFileSync(path.join(webRoot, 'sub', 'page.txt'), 'nested-page-body');
    fs.writeFileSync(path.join(base, 'secret.txt'), SECRET_TEXT);
    server = await startServer({ args: ['--web-root', webRoot] });
  });
  after(async () => { closeAllClients(); await server.shutdown(); });

  test('GET /healthz → 200', async () => {
    const r = await fetch(`${server.httpUrl}/healthz`);
    assert.equal(r.status, 200);
    await r.arrayBuffer();
  });

  test('GET / serves index.html from the web root', async () => {
    const r = await fetch(`${server.httpUrl}/`);
    assert.equal(r.status, 200);
    assert.equal(await r.text(), '<!doctype html><title>switchboard-index</title>');
  });

  test('GET of a file and of a nested file from the web root', async () => {
    const r1 = await fetch(`${server.httpUrl}/app.js`);
    assert.equal(r1.status, 200);
    assert.equal(await r1.text(), 'console.log("app-js-body");');
    const r2 = await fetch(`${server.httpUrl}/sub/page.txt`);
    assert.equal(r2.status, 200);
    assert.equal(await r2.text(), 'nested-page-body');
  });

  test('GET of a missing file → 404', async () => {
    const r = await fetch(`${server.httpUrl}/no-such-file.html`);
    assert.equal(r.status, 404);
    await r.arrayBuffer();
  });

  test('path traversal outside the web root is refused', async () => {
    for (const p of ['/../secret.txt', '/sub/../../secret.txt', '/%2e%2e/secret.txt', '/%2E%2E%2Fsecret.txt',
      '/sub/%2e%2e/%2e%2e/secret.txt', '/..%2fsecret.txt', '/..\\secret.txt', '/....//secret.txt']) {
      const r = await rawGet(server, p);
      assert.ok(r.status >= 400 && r.status < 500, `${p}: status ${r.status}`);
      assert.ok(!r.body.includes(SECRET_TEXT), `${p}: the secret file was served`);
    }
  });

  test('GET /v1/dev-token outside dev mode → 404', async () => {
    const r = await fetch(`${server.httpUrl}/v1/dev-token?name=x`);
    assert.equal(r.status, 404);
    await r.arrayBuffer();
  });

  test('GET /ws without an upgrade is not a WebSocket and not a crash', async () => {
    const r = await fetch(`${server.httpUrl}/ws`);
    assert.ok(r.status >= 400, `status ${r.status}`);
    await r.arrayBuffer();
    const h = await fetch(`${server.httpUrl}/healthz`);
    assert.equal(h.status, 200);
  });
});

describe('HTTP (--dev mode, no key configured)', () => {
  let server;
  before(async () => {
    server = await startServer({ secret: null, args: ['--dev', '--web-root', tmpDir()] });
  });
  after(async () => { closeAllClients(); await server.shutdown(); });

  test('prints "dev token: <JWT>" on stdout; the token is for user "demo"', async () => {
    const line = await server.waitForLine('stdout', /dev token: \S+/);
    const token = /dev token: (\S+)/.exec(line)[1];
    assert.equal(token.split('.').length, 3);
    const c = await Client.connect(server.wsUrl);
    const w = await c.request({ type: 'hello', token });
    assert.equal(w.type, 'welcome', JSON.stringify(w));
    assert.equal(w.user, 'demo');
  });

  test('GET /v1/dev-token?name=NAME → 200 {token, user: guest-..., expires_at}; the token works and grants every room', async () => {
    const before = Math.floor(Date.now() / 1000);
    const r = await fetch(`${server.httpUrl}/v1/dev-token?name=Zo%C3%AB`);
    assert.equal(r.status, 200);
    const body = await r.json();
    assert.equal(typeof body.token, 'string');
    assert.match(body.user, /^guest-./);
    assert.equal(typeof body.expires_at, 'number');
    assert.ok(Number.isInteger(body.expires_at));
    assert.ok(body.expires_at > before, 'expires in the future');

    const c = await Client.connect(server.wsUrl);
    const w = await c.request({ type: 'hello', token: body.token });
    assert.equal(w.type, 'welcome', JSON.stringify(w));
    assert.equal(w.user, body.user);
    assert.equal(w.name, 'Zoë');
    await join(c, uniqueRoom('anything'));
  });

  test('GET /v1/dev-token: a long non-ASCII name is cut at a character boundary; a name that is not UTF-8 → 400', async () => {
    const long = 'a'.repeat(63) + 'é';  // 65 bytes
    const r = await fetch(`${server.httpUrl}/v1/dev-token?name=${encodeURIComponent(long)}`);
    assert.equal(r.status, 200);
    const c = await Client.connect(server.wsUrl);
    const w = await c.request({ type: 'hello', token: (await r.json()).token });
    assert.equal(w.type, 'welcome', JSON.stringify(w));
    assert.equal(w.name, 'a'.repeat(63));
    c.close();

    const bad = await fetch(`${server.httpUrl}/v1/dev-token?name=%FF`);
    assert.equal(bad.status, 400);
    assert.equal((await bad.json()).error.code, 'bad-request');
  });

  test('each dev token is for a fresh user', async () => {
    const a = await (await fetch(`${server.httpUrl}/v1/dev-token?name=a`)).json();
    const b = await (await fetch(`${server.httpUrl}/v1/dev-token?name=b`)).json();
    assert.notEqual(a.user, b.user);
  });
});
