// Scraping GET /metrics in tests: a strict parser of the Prometheus text format
// (what the server emits), `promtool check metrics` on the real output, and a
// wait-until-a-counter-moves helper (polls the endpoint; no fixed sleeps).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';

// Parses exposition text into Map("name{labels}" -> number), labels sorted.
export function parseMetrics(text) {
  const out = new Map();
  const types = new Map();
  for (const line of text.split('\n')) {
    if (line === '') continue;
    if (line.startsWith('# TYPE ')) { const [, , n, t] = line.split(' '); types.set(n, t); continue; }
    if (line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    assert.ok(m, `not a sample line: ${JSON.stringify(line)}`);
    const labels = m[2] ? [...m[2].matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)]
      .map(([, k, v]) => `${k}="${v}"`).sort().join(',') : '';
    const v = m[3] === '+Inf' ? Infinity : Number(m[3]);
    assert.ok(!Number.isNaN(v), `bad value in ${line}`);
    out.set(labels ? `${m[1]}{${labels}}` : m[1], v);
  }
  out.types = types;
  return out;
}

export async function scrape(server) {
  const r = await fetch(`${server.httpUrl}/metrics`);
  assert.equal(r.status, 200);
  assert.match(r.headers.get('content-type'), /^text\/plain; version=0\.0\.4/);
  const text = await r.text();
  return Object.assign(parseMetrics(text), { text });
}

// `series` like 'switchboard_messages_relayed_total{type="offer"}' (labels in sorted order).
export function value(metrics, series) {
  assert.ok(metrics.has(series), `no series ${series} in /metrics`);
  return metrics.get(series);
}

// Polls /metrics until `pred(metrics)` is true (server-side bookkeeping that
// follows a client-visible event, such as a close, may lag it by a moment).
export async function waitForMetrics(server, pred, { timeout = 5000, what = 'metrics condition' } = {}) {
  const deadline = Date.now() + timeout;
  for (;;) {
    const m = await scrape(server);
    if (pred(m)) return m;
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((resolve) => { setTimeout(resolve, 20); });
  }
}

// Runs `promtool check metrics` on `text`; returns {ok, output}.
export function promtoolCheck(text) {
  const r = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
  if (r.error) return { ok: false, output: `promtool: ${r.error.message}` };
  return { ok: r.status === 0, output: `${r.stdout}${r.stderr}` };
}
