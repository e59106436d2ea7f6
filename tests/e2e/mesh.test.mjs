// Three people: a full mesh (each page connected to and decoding video from the two others),
// then one leaves with the Leave button and its tile disappears from the other two; then it joins again.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startEnv, joinViaUrl, selfId, callPeers, waitFor, waitConnectedTo, waitVideoFlowing } from './lib/env.mjs';

test('three-party mesh, then one leaves and comes back', { timeout: 120000 }, async (t) => {
  const env = await startEnv(t);
  try {
    const names = ['Alice', 'Bob', 'Carol'];
    const pages = [];
    for (const name of names) {
      const page = await env.newPage(name.toLowerCase());
      await joinViaUrl(page, env.origin, name, 'e2e-mesh');
      pages.push(page);
    }
    const ids = await Promise.all(pages.map(selfId));
    assert.equal(new Set(ids).size, 3);

    // Full mesh: every page connected to the two others, video decoding on all six links.
    await Promise.all(pages.map((p, i) => waitConnectedTo(p, ids.filter((_, j) => j !== i))));
    await Promise.all(pages.flatMap((p, i) => ids.filter((_, j) => j !== i).map((id) => waitVideoFlowing(p, id))));
    for (const p of pages) assert.equal(await p.locator('#grid .tile').count(), 3);

    // Carol leaves like a person would.
    const [alice, bob, carol] = pages;
    await carol.locator('#leave').click();
    await carol.locator('#lobby').waitFor({ state: 'visible' });
    for (const p of [alice, bob]) {
      await p.locator(`.tile[data-peer="${ids[2]}"]`).waitFor({ state: 'detached', timeout: 10000 });
      await waitFor(async () => (await p.locator('#grid .tile').count()) === 2, { what: `${p.label} has 2 tiles` });
      await p.locator('#people li', { hasText: 'Carol' }).waitFor({ state: 'detached' });
      await p.locator('#messages .system', { hasText: 'Carol left' }).waitFor();
      await waitFor(async () => (await callPeers(p)).length === 1, { what: `${p.label} closed the connection to Carol` });
    }
    // Alice and Bob are still in a working call.
    await Promise.all([waitConnectedTo(alice, [ids[1]]), waitConnectedTo(bob, [ids[0]])]);
    await Promise.all([waitVideoFlowing(alice, ids[1]), waitVideoFlowing(bob, ids[0])]);

    // Carol changes her mind: the lobby kept her name and room, she clicks Join again.
    assert.equal(await carol.locator('#name').inputValue(), 'Carol');
    assert.equal(await carol.locator('#room').inputValue(), 'e2e-mesh');
    await carol.locator('#join').click();
    await carol.locator('#conn[data-state="open"]').waitFor();
    const carolAgain = await selfId(carol);
    await Promise.all([
      waitConnectedTo(alice, [ids[1], carolAgain]),
      waitConnectedTo(bob, [ids[0], carolAgain]),
      waitConnectedTo(carol, [ids[0], ids[1]]),
    ]);
    await Promise.all([waitVideoFlowing(carol, ids[0]), waitVideoFlowing(alice, carolAgain)]);
    for (const p of pages) assert.equal(await p.locator('#grid .tile').count(), 3);
  } catch (err) {
    t.diagnostic(env.dump());
    throw err;
  }
});
