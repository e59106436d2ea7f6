// POST /v1/token under attack: a password-guessing flood from several addresses
// is answered (401 until each address's and name's bucket is empty, then 429 with
// Retry-After, or 503 busy when the worker queue is full), while honest sessions
// keep relaying (Argon2id runs on worker threads, not on the event loops), and a
// hostile body never takes the server down.
import assert from 'node:assert/strict';
import http from 'node:http';
import path from 'node:path';
import test, { afterEach } from 'node:test';
import { closeAllClients } from '../integration/lib/harness.mjs';
import { startServer, tmpDir } from '../integration/lib/server.mjs';
import { addUser } from '../integration/lib/users.mjs';
import { assertAlive, underAttack } from './lib/honest.mjs';

afterEach(() => closeAllClients());

function post(server, body, { localAddress = '127.0.0.1', headers = {} } = {}) {
  return new Promise((resolve, reject) => {
    const data = Buffer.from(typeof body === 'string' ? body : JSON.stringify(body));
    const req = http.request({
      host: server.host, port: server.port, path: '/v1/token', method: 'POST', localAddress,
      headers: { 'content-type': 'application/json', 'content-length': data.length, ...headers },
      timeout: 20000,
    }, (res) => {
      let text = '';
      res.on('data', (c) => { text += c; });
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, text }));
    });
    req.on('timeout', () => req.destroy(new Error('no answer within 20 s')));
    req.on('error', reject);
    req.end(data);
  });
}

test('a guessing flood from three addresses: every request answered, honest relays unaffected', { timeout: 120000 }, async () => {
  const db = path.join(tmpDir(), 'users.db');
  await addUser(db, 'victim', 'the real password');
  const server = await startServer({ args: ['--user-db', db] });
  try {
    await underAttack(server, async () => {
      const attempts = [];
      for (const addr of ['127.0.0.2', '127.0.0.3', '127.0.0.4']) {
        for (let i = 0; i < 30; i++) {
          attempts.push(post(server, { username: i % 2 ? 'victim' : `nobody-${i}`, password: `guess-${i}` }, { localAddress: addr }));
        }
      }
      const results = await Promise.all(attempts);
      const counts = {};
      for (const r of results) {
        counts[r.status] = (counts[r.status] ?? 0) + 1;
        assert.ok([401, 429, 503].includes(r.status), `unexpected ${r.status} ${r.text}`);
        if (r.status !== 401) assert.ok(Number(r.headers['retry-after']) >= 1, `${r.status} without Retry-After`);
      }
      // 20 attempts per address (4 x the default burst of 5) are checked; the rest are refused.
      assert.ok((counts[401] ?? 0) <= 60, JSON.stringify(counts));
      assert.ok((counts[429] ?? 0) >= 30, JSON.stringify(counts));
    }, { finishTimeout: 60000 });
    // The guessed name is throttled from every address now (its bucket is empty); other names are not.
    const ok = await post(server, { username: 'victim', password: 'the real password' }, { localAddress: '127.0.0.5' });
    assert.equal(ok.status, 429, 'the guessed name is throttled after the flood');
    const other = await post(server, { username: 'someone', password: 'x' }, { localAddress: '127.0.0.5' });
    assert.equal(other.status, 401);
  } finally {
    closeAllClients();
    await server.shutdown();
  }
});

test('hostile bodies: each gets a precise 4xx, the server stays up', { timeout: 60000 }, async () => {
  const db = path.join(tmpDir(), 'users.db');
  const server = await startServer({ args: ['--user-db', db] });
  try {
    const cases = [
      ['{"username":"a","password":"' + 'x'.repeat(2000) + '"}', 400],
      ['{"username":"' + 'u'.repeat(300) + '","password":"x"}', 400],
      ['{"username":"a","password":"x","ttl_s":-5}', 400],
      ['{"username":"a","password":"x","ttl_s":1e400}', 400],
      ['{"username":["a"],"password":"x"}', 400],
      ['[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]', 400],
      ['{"username":"a\\ud800","password":"x"}', 400],
      ['x'.repeat(70 * 1024), 413],
    ];
    for (const [body, status] of cases) {
      const r = await post(server, body);
      assert.equal(r.status, status, `${body.slice(0, 60)}: ${r.status} ${r.text}`);
    }
    assertAlive(server);
  } finally {
    await server.shutdown();
  }
});
