# bench/cluster-charts.gp — the chart of a `bench/run cluster`, from the data cluster-report.mjs wrote.
#   gnuplot -e "datadir='...'; outdir='...'; rate='10000'" bench/cluster-charts.gp
# cluster-relay.png: flat-out relay rate, latency at a fixed rate, Redis commands and CPU per
# relayed message, for each node count.

set terminal pngcairo size 1600,1000 font "DejaVu Sans,11" noenhanced
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set grid ytics lc rgb "#dddddd"
set key top right
set yrange [0:*]
set offsets 0, 0, graph 0.15, 0
set output outdir."/cluster-relay.png"
set multiplot layout 2,2 title "Cross-node relay: the peers of each pair on different nodes (1 node: both on it), one Redis, all on one 2-core machine"

set title "1 KiB offers relayed per second, flat out (window 8 per sender)"
set format y "%.0f"
plot datadir."/cluster_nodes.dat" using 2:xtic(1) title "no id" lc rgb "#4477aa", \
     '' using 3 title "id on each frame (acked)" lc rgb "#66ccee", \
     '' using ($0 - 0.17):2:(sprintf("%.0f", $2)) with labels offset 0,0.8 notitle, \
     '' using ($0 + 0.17):3:(sprintf("%.0f", $3)) with labels offset 0,0.8 notitle

set title "latency send → receive at ".rate." msgs/s in total, microseconds (log scale)"
set key top left
set logscale y
set yrange [*:*]
set format y "%g"
set offsets 0, 0, 0, 0
plot datadir."/cluster_nodes.dat" using 4:xtic(1) title "p50" lc rgb "#4477aa", \
     '' using 5 title "p99" lc rgb "#ee6677", '' using 6 title "p99.9" lc rgb "#aa3377"
unset logscale y
set yrange [0:*]
set offsets 0, 0, graph 0.15, 0

set title "Redis commands per relayed message (flat out)"
set key top left
set format y "%.1f"
plot datadir."/cluster_nodes.dat" using 7:xtic(1) title "no id" lc rgb "#4477aa", \
     '' using 8 title "id on each frame (acked)" lc rgb "#66ccee", \
     '' using ($0 - 0.17):7:(sprintf("%.2f", $7)) with labels offset 0,0.8 notitle, \
     '' using ($0 + 0.17):8:(sprintf("%.2f", $8)) with labels offset 0,0.8 notitle

set title "CPU microseconds per relayed message (flat out)"
set style histogram rowstacked
set boxwidth 0.7
set format y "%.0f"
plot datadir."/cluster_cpu.dat" using 2:xtic(1) title "nodes" lc rgb "#4477aa", \
     '' using 3 title "Redis" lc rgb "#cc3311", \
     '' using 0:($2 + $3):(sprintf("%.0f", $2 + $3)) with labels offset 0,0.8 notitle
unset multiplot
