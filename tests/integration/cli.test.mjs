// `switchboard admin ...` against the real server: readable tables, valid
// JSON with --json, actions observed by real clients, exit codes.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { describe, test } from 'node:test';
import { connectPeer, join, peersInRoom, serverFixture, uniqueRoom } from './lib/harness.mjs';
import { adminClient, validate } from './lib/openapi.mjs';
import { BIN } from './lib/server.mjs';

const KEY = 'cli-admin-key';
const server = serverFixture({ args: ['--admin-key', KEY] });

// Runs the CLI; resolves with {code, stdout, stderr} (never rejects on a non-zero exit).
function cli(args, { key = KEY, env = {} } = {}) {
  const full = ['admin', ...args, '--server', server().httpUrl];
  if (key !== null) full.push('--key', key);
  const childEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('SWITCHBOARD_')));
  return new Promise((resolve) => {
    execFile(BIN, full, { env: { ...childEnv, ...env }, timeout: 10000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (err.code ?? 1) : 0, stdout, stderr });
    });
  });
}

// Splits an aligned table into rows of cells (columns are separated by 2+ spaces).
const table = (text) => text.trimEnd().split('\n').map((l) => l.split(/ {2,}/));

describe('switchboard admin', () => {
  test('rooms: an aligned table with a header, and --json the API\'s own JSON', async () => {
    const room = uniqueRoom('cli');
    await peersInRoom(server(), 2, room);
    await adminClient(server(), KEY).post('/v1/rooms', { name: `${room}-pre`, max_peers: 7, metadata: { a: 1 } });
    const r = await cli(['rooms']);
    assert.equal(r.code, 0, r.stderr);
    const rows = table(r.stdout);
    assert.deepEqual(rows[0], ['ROOM', 'KIND', 'PEERS', 'CREATED', 'PERSISTENT', 'METADATA']);
    const live = rows.find((x) => x[0] === room);
    assert.deepEqual([live[1], live[2], live[4], live[5]], ['meeting', '2/50', 'no', '{}']);
    assert.match(live[3], /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ$/);
    const pre = rows.find((x) => x[0] === `${room}-pre`);
    assert.deepEqual([pre[2], pre[4], pre[5]], ['0/7', 'yes', '{"a":1}']);
    // Columns line up: every row's second column starts where the header's does.
    const lines = r.stdout.trimEnd().split('\n');
    const col = lines[0].indexOf('KIND');
    for (const l of lines.slice(1)) assert.equal(l.slice(col, col + 7), 'meeting', `misaligned: ${l}`);

    const j = await cli(['rooms', '--json']);
    assert.equal(j.code, 0);
    const body = JSON.parse(j.stdout);
    validate('GET', '/v1/rooms', 200, body, new Headers({ 'content-type': 'application/json' }));
    assert.ok(body.rooms.some((x) => x.name === room && x.peers === 2));
  });

  test('peers ROOM: one line per peer; --json validates against the API', async () => {
    const room = uniqueRoom('cli-peers');
    const a = await connectPeer(server(), { claims: { name: 'Ann' } });
    await join(a, room, { cam: true });
    const r = await cli(['peers', room]);
    assert.equal(r.code, 0, r.stderr);
    const rows = table(r.stdout);
    assert.deepEqual(rows[0], ['PEER', 'USER', 'NAME', 'JOINED', 'METADATA']);
    assert.deepEqual([rows[1][0], rows[1][1], rows[1][2], rows[1][4]], [a.peer, a.user, 'Ann', '{"cam":true}']);
    const j = await cli(['--json', 'peers', room]);
    validate('GET', `/v1/rooms/${room}/peers`, 200, JSON.parse(j.stdout), new Headers({ 'content-type': 'application/json' }));
  });

  test('kick, send and close act on the clients', async () => {
    const room = uniqueRoom('cli-act');
    const [a, b] = await peersInRoom(server(), 2, room);
    const s = await cli(['send', room, '{"notice":"hi"}']);
    assert.equal(s.code, 0, s.stderr);
    assert.equal(s.stdout, `sent to 2 peers in ${room}\n`);
    for (const p of [a, b]) assert.deepEqual((await p.next({ type: 'message', from: 'server' })).data, { notice: 'hi' });
    const t = await cli(['send', room, 'plain words', '--to', b.peer, '--json']);
    assert.deepEqual(JSON.parse(t.stdout), { recipients: 1 });
    assert.equal((await b.next({ type: 'message', from: 'server' })).data, 'plain words');

    const k = await cli(['kick', room, a.peer, '--reason', 'bye']);
    assert.equal(k.code, 0, k.stderr);
    assert.equal(k.stdout, `kicked ${a.peer} from ${room}\n`);
    assert.equal((await a.next('kicked')).reason, 'bye');
    assert.equal((await b.next({ type: 'peer-left', peer: a.peer })).reason, 'kicked');

    const c = await cli(['close', room, '--json']);
    assert.equal(c.code, 0, c.stderr);
    assert.deepEqual(JSON.parse(c.stdout), {});
    await b.next({ type: 'room-closed', room });
  });

  test('exit codes: 1 when the server refuses or is unreachable, 2 for usage errors', async () => {
    const missing = await cli(['peers', uniqueRoom('none')]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /HTTP 404: no such room \(not-found\)/);
    const badKey = await cli(['rooms'], { key: 'wrong' });
    assert.equal(badKey.code, 1);
    assert.match(badKey.stderr, /HTTP 401/);
    const viaEnv = await cli(['rooms'], { key: null, env: { SWITCHBOARD_ADMIN_KEY: KEY } });
    assert.equal(viaEnv.code, 0, viaEnv.stderr);
    const usage = await cli(['kick', 'only-room']);
    assert.equal(usage.code, 2);
    const none = await cli([]);
    assert.equal(none.code, 2);
    const down = await new Promise((resolve) => {
      execFile(BIN, ['admin', 'rooms', '--server', 'http://127.0.0.1:1', '--key', KEY], (err, stdout, stderr) => {
        resolve({ code: err ? err.code : 0, stderr });
      });
    });
    assert.equal(down.code, 1);
    assert.match(down.stderr, /cannot connect/);
  });

  test('switchboard --help lists the admin subcommand', async () => {
    const out = await new Promise((resolve) => {
      execFile(BIN, ['--help'], (err, stdout) => resolve(stdout));
    });
    assert.match(out, /switchboard admin rooms\|peers ROOM\|kick ROOM PEER\|close ROOM\|send ROOM DATA/);
  });
});
