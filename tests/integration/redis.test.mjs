// lib/redis.mjs, the real redis-server the cluster tests run on: it answers on
// its URL and socket, keeps nothing across a restart, and a SIGKILL really takes
// it down until it is restarted on the same address.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { after, test } from 'node:test';
import { startRedis } from './lib/redis.mjs';

let redis;
after(async () => { if (redis) await redis.stop(); });

test('startRedis: PING on 127.0.0.1 and on the unix socket, nothing persisted', async () => {
  redis = await startRedis();
  assert.match(redis.url, /^redis:\/\/127\.0\.0\.1:\d+$/);
  assert.equal(await redis.cli('PING'), 'PONG');
  assert.ok(fs.statSync(redis.socket).isSocket());
  assert.equal(await redis.cli('CONFIG', 'GET', 'save'), 'save'); // the value is empty
  assert.deepEqual((await redis.cli('CONFIG', 'GET', 'appendonly')).split('\n'), ['appendonly', 'no']);
});

test('kill (SIGKILL) takes it down; restart comes back on the same port, empty', async () => {
  await redis.cli('SET', 'k', 'v');
  assert.equal(await redis.cli('GET', 'k'), 'v');
  const { port } = redis;
  const before = redis.pid;
  await redis.kill();
  assert.equal(redis.running, false);
  assert.equal(redis.proc.exitInfo.signal, 'SIGKILL');
  await assert.rejects(redis.cli('PING'), /redis-cli PING/);
  await redis.restart();
  assert.equal(redis.port, port);
  assert.notEqual(redis.pid, before);
  assert.equal(await redis.cli('PING'), 'PONG');
  assert.equal(await redis.cli('EXISTS', 'k'), '0');
});

test('restart of a running server: a clean stop first, then the same port', async () => {
  const before = redis.pid;
  await redis.restart();
  assert.notEqual(redis.pid, before);
  assert.equal(await redis.cli('PING'), 'PONG');
});

test('pause (SIGSTOP) and resume (SIGCONT): the process is stopped, then answers again', async () => {
  const state = () => fs.readFileSync(`/proc/${redis.pid}/stat`, 'utf8').replace(/^.*\) /, '')[0];
  redis.pause();
  try {
    // the signal is delivered asynchronously: wait (bounded) for the stopped state
    const deadline = Date.now() + 2000;
    while (state() !== 'T' && Date.now() < deadline) await new Promise((r) => { setTimeout(r, 10); });
    assert.equal(state(), 'T');
  } finally {
    redis.resume();
  }
  assert.equal(await redis.cli('PING'), 'PONG');
  assert.notEqual(state(), 'T');
});
