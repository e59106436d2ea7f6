// bench/report.mjs — turns one bench/run's JSON lines into bench/results/latest.json,
// the gnuplot data files for the charts, and the ratios against the targets
// (bench/results/summary.md, also printed).
//
//   node bench/report.mjs RESULTS.jsonl META.json OUT_DIR DATA_DIR
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const [jsonlPath, metaPath, outDir, dataDir] = process.argv.slice(2);
const meta = JSON.parse(readFileSync(metaPath, 'utf8'));
const results = readFileSync(jsonlPath, 'utf8')
  .split('\n')
  .filter((l) => l.trim())
  .map((l) => JSON.parse(l));

const SERVERS = ['switchboard', 'node-ws', 'bun'];
// A run is named by its scenario and, for relay/fanout, by whether it was flat out or paced.
const key = (r) => (r.rate > 0 ? `${r.scenario}@${r.rate}` : r.scenario);
const get = (server, k) => results.find((r) => r.label === server && key(r) === k);
const pacedRelay = results.find((r) => r.scenario === 'relay' && r.rate > 0);
const pacedKey = pacedRelay ? key(pacedRelay) : null;

writeFileSync(join(outDir, 'latest.json'), JSON.stringify({ ...meta, results }, null, 2) + '\n');

// --- gnuplot data: one row per server, missing values as '-' (gnuplot skips them)
const v = (x) => (x === undefined || x === null || Number.isNaN(x) ? '-' : String(x));
const rows = (fn) => SERVERS.map((s) => `${s} ${fn(s).map(v).join(' ')}`).join('\n') + '\n';
writeFileSync(
  join(dataDir, 'throughput.dat'),
  '# server relay_msgs_s fanout_deliveries_s joins_s idle_bytes_per_conn relay_per_cpu_s fanout_per_cpu_s\n' +
    rows((s) => [
      get(s, 'relay')?.deliveries_per_s,
      get(s, 'fanout')?.deliveries_per_s,
      get(s, 'join-storm')?.joins_per_s,
      get(s, 'idle')?.bytes_per_conn,
      get(s, 'relay')?.deliveries_per_server_cpu_s,
      get(s, 'fanout')?.deliveries_per_server_cpu_s,
    ]),
);
for (const [file, k] of [
  ['latency_relay_paced.dat', pacedKey],
  ['latency_relay.dat', 'relay'],
  ['latency_fanout.dat', 'fanout'],
  ['latency_join.dat', 'join-storm'],
]) {
  writeFileSync(
    join(dataDir, file),
    '# server p50_us p99_us p999_us\n' +
      rows((s) => {
        const l = k && get(s, k)?.latency_us;
        return l ? [l.p50, l.p99, l.p999] : [undefined, undefined, undefined];
      }),
  );
}
writeFileSync(join(dataDir, 'paced_rate.txt'), pacedRelay ? `${pacedRelay.rate}` : '0');

// --- ratios against the targets of the issue
const fmt = (x, d = 2) => (x === undefined || !Number.isFinite(x) ? 'n/a' : x.toFixed(d));
const times = (x) => (x === undefined ? 'n/a' : `${fmt(x)}×`);
const ratio = (a, b) => (a !== undefined && b ? a / b : undefined);
const sb = (k) => get('switchboard', k);
const lines = [];
const row = (what, value, target, met) =>
  lines.push(`| ${what} | ${value} | ${target} | ${met === undefined ? 'n/a' : met ? 'met' : '**not met**'} |`);
lines.push('| measure | switchboard vs baseline | target | |', '|---|---|---|---|');
for (const base of ['bun', 'node-ws']) {
  const want = base === 'bun' ? 2 : 5;
  const r = ratio(sb('relay')?.deliveries_per_s, get(base, 'relay')?.deliveries_per_s);
  row(`relay msgs/s vs ${base}`, times(r), `≥ ${want}×`, r === undefined ? undefined : r >= want);
}
if (pacedKey) {
  const r = ratio(sb(pacedKey)?.latency_us?.p99, get('bun', pacedKey)?.latency_us?.p99);
  row(`relay p99 latency at ${pacedRelay.rate} msgs/s vs bun`, times(r), '≤ 0.5×', r === undefined ? undefined : r <= 0.5);
  // With --servers ... floor: how far each server's p99 is above the floor (bench/floor), and
  // where the floor itself stands against the target.
  const floor = get('floor', pacedKey)?.latency_us?.p99;
  if (floor !== undefined) {
    const f = ratio(floor, get('bun', pacedKey)?.latency_us?.p99);
    row(`the floor's relay p99 at ${pacedRelay.rate} msgs/s vs bun (no server goes below it here)`, times(f), 'reference', undefined);
    row(`switchboard's relay p99 at ${pacedRelay.rate} msgs/s vs the floor`, times(ratio(sb(pacedKey)?.latency_us?.p99, floor)), 'reference', undefined);
  }
}
{
  const r = ratio(sb('join-storm')?.joins_per_s, get('bun', 'join-storm')?.joins_per_s);
  row('join-storm joins/s vs bun', times(r), '≥ 2×', r === undefined ? undefined : r >= 2);
}
{
  const r = ratio(sb('fanout')?.deliveries_per_s, get('bun', 'fanout')?.deliveries_per_s);
  row('fanout deliveries/s vs bun', times(r), '≥ 2×', r === undefined ? undefined : r >= 2);
}
{
  const idle = sb('idle');
  const b = idle?.bytes_per_conn;
  row('idle: server RSS per joined connection', b === undefined ? 'n/a' : `${Math.round(b)} B`, '≤ 2048 B', b === undefined ? undefined : b <= 2048);
  const n = idle?.ready;
  row('idle: joined connections held', n === undefined ? 'n/a' : `${n}`, '100,000', n === undefined ? undefined : n >= 100000);
}

lines.push('', 'Per server CPU-second (what each server costs, whatever the generator or the neighbours left it):', '',
  '| measure | switchboard vs bun | switchboard vs node-ws |', '|---|---|---|');
for (const [what, k, field] of [
  ['relay deliveries per server CPU-s', 'relay', 'deliveries_per_server_cpu_s'],
  ['fanout deliveries per server CPU-s', 'fanout', 'deliveries_per_server_cpu_s'],
  ['joins per server CPU-s', 'join-storm', 'joins_per_server_cpu_s'],
]) {
  const mine = sb(k)?.[field];
  lines.push(`| ${what} | ${times(ratio(mine, get('bun', k)?.[field]))} | ${times(ratio(mine, get('node-ws', k)?.[field]))} |`);
}

const table = [];
table.push(
  '| run | server | result | per server CPU-s | server CPU | p50 µs | p99 µs | p99.9 µs | errors |',
  '|---|---|---|---|---|---|---|---|---|',
);
for (const r of results) {
  let what = '';
  let eff = '';
  if (r.scenario === 'idle') {
    what = `${r.ready} conns, ${fmt(r.bytes_per_conn, 0)} B/conn`;
  } else if (r.scenario === 'join-storm') {
    what = `${fmt(r.joins_per_s, 0)} joins/s`;
    eff = fmt(r.joins_per_server_cpu_s, 0);
  } else {
    what = `${fmt(r.deliveries_per_s, 0)} deliveries/s`;
    eff = fmt(r.deliveries_per_server_cpu_s, 0);
  }
  const cpu = r.server_cpu_s >= 0 && r.duration_s > 0 ? `${fmt((100 * r.server_cpu_s) / r.duration_s, 0)}%` : '';
  const l = r.latency_us;
  table.push(
    `| ${key(r)} | ${r.label} | ${what} | ${eff} | ${cpu} | ${l ? fmt(l.p50, 0) : ''} | ${l ? fmt(l.p99, 0) : ''} | ${l ? fmt(l.p999, 0) : ''} | ${r.error_total} |`,
  );
}

const summary = [
  `# bench/run results (${meta.generated_at})`,
  '',
  `Machine: ${meta.machine.nproc} cores, ${meta.machine.cpu}, ${meta.machine.mem_gib} GiB; ${meta.machine.kernel}; load average ${meta.machine.loadavg_before} before, ${meta.machine.loadavg_after} after.`,
  `Command: \`${meta.command}\``,
  '',
  ...lines,
  '',
  ...table,
  '',
].join('\n');
writeFileSync(join(outDir, 'summary.md'), summary);
process.stdout.write(summary);
