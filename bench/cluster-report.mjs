// bench/cluster-report.mjs — turns one `bench/run cluster` into bench/results/cluster.json,
// bench/results/cluster.md (the table, also printed) and the gnuplot data for cluster-relay.png.
//
//   node bench/cluster-report.mjs RESULTS.jsonl META.json OUT_DIR DATA_DIR
// RESULTS.jsonl holds one line per node count: {nodes, redis_background_commands_per_s, result}
// where result is switchboard-bench's JSON line for that run.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const [jsonlPath, metaPath, outDir, dataDir] = process.argv.slice(2);
const meta = JSON.parse(readFileSync(metaPath, 'utf8'));
const runs = readFileSync(jsonlPath, 'utf8')
  .split('\n')
  .filter((l) => l.trim())
  .map((l) => JSON.parse(l));

// Derived figures of one run; per message = per relayed message delivered while measuring.
function figures({ nodes, run, redis_background_commands_per_s: background, result: r }) {
  const n = r.delivered;
  const perMsg = (x) => (n > 0 && x >= 0 ? x / n : undefined);
  const pct = (cpu) => (cpu >= 0 && r.duration_s > 0 ? (100 * cpu) / r.duration_s : undefined);
  const byCommand = Object.fromEntries(
    Object.entries(r.redis?.by_command ?? {}).map(([name, calls]) => [name, perMsg(calls)]),
  );
  return {
    nodes,
    run,
    rate: r.rate,
    msgs_per_s: r.deliveries_per_s,
    latency_us: r.latency_us,
    redis_commands_per_msg: perMsg(r.redis?.commands ?? -1),
    redis_commands_per_msg_by_command: byCommand,
    redis_background_commands_per_s: background,
    cpu_pct: { nodes: pct(r.server_cpu_s), redis: pct(r.redis?.cpu_s ?? -1), generator: pct(r.gen_cpu_s) },
    cpu_us_per_msg: {
      nodes: perMsg(r.server_cpu_s * 1e6),
      redis: perMsg((r.redis?.cpu_s ?? -1) * 1e6),
    },
    errors: r.error_total,
  };
}
const rows = runs.map(figures);

writeFileSync(
  join(outDir, 'cluster.json'),
  JSON.stringify({ ...meta, summary: rows, runs }, null, 2) + '\n',
);

// --- gnuplot data, missing values as '-' (gnuplot skips them)
const v = (x, d = 3) => (x === undefined || x === null || !Number.isFinite(x) ? '-' : x.toFixed(d));
const nodeCounts = [...new Set(rows.map((r) => r.nodes))].sort((a, b) => a - b);
const nodesLabel = (n) => `${n} node${n > 1 ? 's' : ''}`;
const get = (n, run) => rows.find((r) => r.nodes === n && r.run === run);
// One row per node count: flat-out rates, paced latency, Redis commands per message.
writeFileSync(
  join(dataDir, 'cluster_nodes.dat'),
  '# label relay_msgs_s relay_ack_msgs_s paced_p50_us paced_p99_us paced_p999_us relay_redis_per_msg relay_ack_redis_per_msg\n' +
    nodeCounts
      .map((n) => {
        const [plain, ack, paced] = ['relay', 'relay-ack', 'relay-paced'].map((run) => get(n, run));
        return [
          `"${nodesLabel(n)}"`,
          v(plain?.msgs_per_s, 0),
          v(ack?.msgs_per_s, 0),
          v(paced?.latency_us?.p50, 1),
          v(paced?.latency_us?.p99, 1),
          v(paced?.latency_us?.p999, 1),
          v(plain?.redis_commands_per_msg),
          v(ack?.redis_commands_per_msg),
        ].join(' ');
      })
      .join('\n') +
    '\n',
);
// One row per flat-out run: CPU per message.
writeFileSync(
  join(dataDir, 'cluster_cpu.dat'),
  '# label node_cpu_us_per_msg redis_cpu_us_per_msg\n' +
    rows
      .filter((r) => r.run !== 'relay-paced')
      .map((r) =>
        [
          `"${nodesLabel(r.nodes)}${r.run === 'relay-ack' ? ', acked' : ''}"`,
          v(r.cpu_us_per_msg.nodes, 2),
          v(r.cpu_us_per_msg.redis, 2),
        ].join(' '),
      )
      .join('\n') +
    '\n',
);

// --- the table
const f = (x, d = 0) => (x === undefined || !Number.isFinite(x) ? 'n/a' : x.toFixed(d));
const ms = (us) => f(us / 1000, 2);
// The commands that are per message (≥ 0.001 per message); the rest (registry
// heartbeats and checks, in every run whatever the traffic) summed as "other".
const which = (r) => {
  const all = Object.entries(r.redis_commands_per_msg_by_command).sort((a, b) => b[1] - a[1]);
  const big = all.filter(([, x]) => x >= 0.001).map(([c, x]) => `${c.toUpperCase()} ${f(x, 3)}`);
  const rest = all.filter(([, x]) => x < 0.001).reduce((sum, [, x]) => sum + x, 0);
  if (rest > 0) big.push(`other ${rest < 0.001 ? '< 0.001' : f(rest, 3)}`);
  return big.join(', ') || '–';
};
const lines = [
  '| nodes | run | msgs/s | p50 ms | p99 ms | p99.9 ms | Redis cmds/msg | of which (per msg) | CPU % nodes / Redis / generator | CPU µs/msg nodes / Redis |',
  '|---:|---|---:|---:|---:|---:|---:|---|---|---|',
  ...rows.map(
    (r) =>
      `| ${r.nodes} | ${r.run} | ${f(r.msgs_per_s)} | ${ms(r.latency_us?.p50)} | ${ms(r.latency_us?.p99)} | ` +
      `${ms(r.latency_us?.p999)} | ${f(r.redis_commands_per_msg, 3)} | ${which(r)} | ` +
      `${f(r.cpu_pct.nodes)} / ${f(r.cpu_pct.redis)} / ${f(r.cpu_pct.generator)} | ` +
      `${f(r.cpu_us_per_msg.nodes, 1)} / ${f(r.cpu_us_per_msg.redis, 1)} |`,
  ),
];
const errors = rows
  .filter((r) => r.errors)
  .map((r) => `${r.nodes} node(s) ${r.run}: ${r.errors} errors`);
const md =
  `# Cluster relay — ${meta.generated_at}\n\n` +
  `\`${meta.command}\` on ${meta.machine.nproc} × ${meta.machine.cpu} (load ${meta.machine.loadavg_before} before), ` +
  `switchboard ${meta.versions.switchboard}, Redis ${meta.versions.redis}; ${meta.config.connections} connections ` +
  `(${meta.config.connections / 2} pairs), ${meta.config.duration_s} s after ` +
  `${meta.config.warmup_s} s warm-up, nodes \`${meta.config.switchboard_flags}\`.\n\n` +
  lines.join('\n') +
  '\n\n' +
  '`relay`: flat out, window 8 per sender, frames without `id`; `relay-ack`: the same with an `id` on every ' +
  `frame, so the server acks each; \`relay-paced\`: ${meta.config.relay_paced_rate} msgs/s in total, window 64. ` +
  'Per message: per relayed message delivered while measuring.\n\n' +
  `Redis commands with no client connected (registry heartbeats): ` +
  rows
    .filter((r) => r === rows.find((x) => x.nodes === r.nodes))
    .map((r) => `${r.nodes} node(s) ${f(r.redis_background_commands_per_s, 1)}/s`)
    .join(', ') +
  '.\n' +
  (errors.length ? `\nErrors: ${errors.join('; ')}\n` : '');
writeFileSync(join(outDir, 'cluster.md'), md);
process.stdout.write(md);
