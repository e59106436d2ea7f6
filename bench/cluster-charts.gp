# bench/cluster-charts.gp — the chart of a `bench/run cluster`, from the data cluster-report.mjs wrote.
#   gnuplot -e "datadir='...'; outdir='...'; cmds='publish eval'" bench/cluster-charts.gp
# cluster-relay.png: relay rate, latency percentiles, Redis commands and CPU per relayed message,
# for each node count (cmds: the Redis commands with their own column, in the data's order).

set terminal pngcairo size 1600,1000 font "DejaVu Sans,11" noenhanced
set style data histograms
set style fill solid 0.85 border -1
set boxwidth 0.7
set grid ytics lc rgb "#dddddd"
set yrange [0:*]
set offsets 0, 0, graph 0.12, 0
set output outdir."/cluster-relay.png"
set multiplot layout 2,2 title "Cross-node relay: peers of each pair on different nodes (1 node: both on it), one Redis, all on one 2-core machine"

unset key
set format y "%.0f"
set style histogram clustered gap 1
set title "1 KiB offers relayed per second (flat out, window 8 per sender; acked: each frame has an id)"
plot datadir."/cluster.dat" using 2:xtic(1) lc rgb "#4477aa", '' using 0:2:(sprintf("%.0f", $2)) with labels offset 0,0.8 notitle

set title "latency send → receive, microseconds (log scale)"
set key top left
set logscale y
set yrange [*:*]
set format y "%g"
set offsets 0, 0, 0, 0
plot datadir."/cluster.dat" using 3:xtic(1) title "p50" lc rgb "#4477aa", \
     '' using 4 title "p99" lc rgb "#ee6677", '' using 5 title "p99.9" lc rgb "#aa3377"
unset logscale y
set yrange [0:*]
set offsets 0, 0, graph 0.12, 0

set title "Redis commands per relayed message"
set style histogram rowstacked
set format y "%.1f"
n = words(cmds) + 1
plot for [i=1:n] datadir."/cluster.dat" using (column(8 + i)):xtic(1) \
       title (i < n ? word(cmds, i) : "other") lc (i), \
     '' using 0:6:(sprintf("%.2f", $6)) with labels offset 0,0.8 notitle

set title "CPU microseconds per relayed message"
set format y "%.0f"
plot datadir."/cluster.dat" using 7:xtic(1) title "nodes" lc rgb "#4477aa", \
     '' using 8 title "Redis" lc rgb "#cc3311", \
     '' using 0:($7 + $8):(sprintf("%.0f", $7 + $8)) with labels offset 0,0.8 notitle
unset multiplot
