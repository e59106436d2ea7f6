// `switchboard user ...` on a real SQLite file, password on stdin; the server
// started afterwards sees exactly what the CLI wrote.
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startServer, tmpDir } from './lib/server.mjs';
import { jwtPayload, login, userCli } from './lib/users.mjs';

const table = (text) => text.trimEnd().split('\n').map((l) => l.split(/ {2,}/));

describe('switchboard user', () => {
  const db = path.join(tmpDir(), 'users.db');
  let server;
  before(async () => {
    server = await startServer({ args: ['--user-db', db] });
  });
  after(async () => { await server.shutdown(); });

  test('add, list, grant, passwd, remove: and the running server follows', async () => {
    let r = await userCli(db, ['add', 'frank', '--display-name', 'Frank', '--rooms', 'a,b'], { input: 'first-pw\n' });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /added frank/);
    assert.doesNotMatch(r.stdout + r.stderr, /first-pw/);

    r = await userCli(db, ['add', 'frank'], { input: 'x\n' });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /exists/);

    r = await userCli(db, ['list']);
    assert.equal(r.code, 0, r.stderr);
    const rows = table(r.stdout);
    assert.deepEqual(rows[0], ['USER', 'NAME', 'ROOMS', 'GRANTS', 'CREATED']);
    assert.deepEqual(rows[1].slice(0, 4), ['frank', 'Frank', 'a,b', 'publish,subscribe,data']);

    let t = await login(server, { username: 'frank', password: 'first-pw' });
    assert.equal(t.status, 200);
    assert.deepEqual(jwtPayload(t.body.token).grants, { rooms: ['a', 'b'], publish: true, subscribe: true, data: true, admin: false });

    r = await userCli(db, ['grant', 'frank', '--rooms', 'team-*', '--publish', 'false', '--admin', 'true']);
    assert.equal(r.code, 0, r.stderr);
    r = await userCli(db, ['list', '--json']);
    const listed = JSON.parse(r.stdout.trim());
    assert.deepEqual(listed.grants, { rooms: ['team-*'], publish: false, subscribe: true, data: true, admin: true });
    t = await login(server, { username: 'frank', password: 'first-pw' });
    assert.deepEqual(jwtPayload(t.body.token).grants.rooms, ['team-*']);
    assert.equal(jwtPayload(t.body.token).grants.publish, false);

    r = await userCli(db, ['grant', 'frank', '--publish', 'maybe']);
    assert.equal(r.code, 2);

    r = await userCli(db, ['passwd', 'frank'], { input: 'second-pw\n' });
    assert.equal(r.code, 0, r.stderr);
    assert.equal((await login(server, { username: 'frank', password: 'first-pw' })).status, 401);
    assert.equal((await login(server, { username: 'frank', password: 'second-pw' })).status, 200);

    r = await userCli(db, ['remove', 'frank']);
    assert.equal(r.code, 0, r.stderr);
    r = await userCli(db, ['remove', 'frank']);
    assert.equal(r.code, 1);
    assert.equal((await login(server, { username: 'frank', password: 'second-pw' })).status, 401);
  });

  test('usage errors: no password, bad name, no --db', async () => {
    let r = await userCli(db, ['add', 'gina'], { input: '' });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /no password/);
    r = await userCli(db, ['add', 'bad name'], { input: 'pw\n' });
    assert.equal(r.code, 2);
    r = await userCli(db, ['passwd', 'nobody'], { input: 'pw\n' });
    assert.equal(r.code, 1);
  });
});
