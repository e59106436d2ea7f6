// deploy/grafana-dashboard.json: a well-formed Grafana dashboard whose every
// query is valid PromQL (promtool check rules) and names only metrics the real
// server exports.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { serverFixture } from './lib/harness.mjs';
import { scrape } from './lib/metrics.mjs';
import { tmpDir } from './lib/server.mjs';

const FILE = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../deploy/grafana-dashboard.json');
const dash = JSON.parse(fs.readFileSync(FILE, 'utf8'));
const server = serverFixture();

const queryPanels = dash.panels.filter((p) => p.type !== 'row');
const exprs = queryPanels.flatMap((p) => p.targets.map((t) => t.expr));

test('is a Grafana dashboard: title, uid, schema version, panels with ids, positions and Prometheus queries', () => {
  assert.equal(typeof dash.title, 'string');
  assert.equal(typeof dash.uid, 'string');
  assert.ok(dash.schemaVersion >= 30);
  assert.ok(Array.isArray(dash.templating.list));
  const ids = dash.panels.map((p) => p.id);
  assert.equal(new Set(ids).size, ids.length, 'panel ids are unique');
  for (const p of dash.panels) {
    for (const k of ['x', 'y', 'w', 'h']) assert.equal(typeof p.gridPos[k], 'number', `${p.title}: gridPos.${k}`);
    assert.ok(p.gridPos.x + p.gridPos.w <= 24, `${p.title}: wider than the grid`);
  }
  for (const p of queryPanels) {
    assert.equal(p.datasource.type, 'prometheus');
    assert.ok(p.targets.length > 0, `${p.title}: no query`);
    for (const t of p.targets) assert.equal(typeof t.refId, 'string');
  }
});

test('covers connections, rooms and peers, relay rate by type, latency quantiles, errors and event-loop lag', () => {
  const all = exprs.join('\n');
  for (const needle of ['switchboard_connections', 'switchboard_rooms', 'switchboard_room_peers',
    'sum by (type) (rate(switchboard_messages_relayed_total', 'histogram_quantile(0.99, sum by (le) (rate(switchboard_relay_latency_seconds_bucket',
    'switchboard_errors_sent_total', 'switchboard_auth_failures_total', 'switchboard_event_loop_lag_seconds_bucket']) {
    assert.ok(all.includes(needle), `no panel queries ${needle}`);
  }
});

test('every query is valid PromQL (promtool check rules)', () => {
  const rules = ['groups:', '  - name: dashboard', '    rules:'];
  exprs.forEach((e, i) => {
    rules.push(`      - record: dashboard:query_${i}`, `        expr: ${JSON.stringify(e.replaceAll('$instance', '.*'))}`);
  });
  const file = path.join(tmpDir(), 'dashboard-rules.yml');
  fs.writeFileSync(file, `${rules.join('\n')}\n`);
  const r = spawnSync('promtool', ['check', 'rules', file], { encoding: 'utf8' });
  assert.equal(r.status, 0, `promtool check rules:\n${r.stdout}${r.stderr}`);
});

test('every metric it queries is exported by the server', async () => {
  const m = await scrape(server());
  const families = new Set(m.types.keys());
  const known = (name) => families.has(name) || families.has(name.replace(/_(bucket|sum|count)$/, ''));
  const functions = new Set(['sum', 'rate', 'by', 'histogram_quantile', 'clamp_min', 'min', 'max', 'le', 'instance',
    'shard', 'type', 'code', 'reason', 'label_values']);
  for (const e of exprs) {
    for (const [name] of e.matchAll(/\b[a-z_:][a-z0-9_:]*\b/g)) {
      if (functions.has(name) || !/_/.test(name)) continue;
      assert.ok(known(name), `${name} (in ${e}) is not exported by /metrics`);
    }
  }
});
