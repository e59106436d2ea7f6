# bench/charts.gp — the two charts of a bench/run, from the data files report.mjs wrote.
#   gnuplot -e "datadir='...'; outdir='...'; rate='20000'" bench/charts.gp
# throughput.png: relay, fanout, join-storm rates, deliveries per server CPU-second, idle memory.
# latency.png: p50 / p99 / p99.9 per server for each timed scenario (log scale).

set terminal pngcairo size 1600,900 font "DejaVu Sans,11" noenhanced
set style data histograms
set style fill solid 0.85 border -1
set boxwidth 0.7
set grid ytics lc rgb "#dddddd"
set key top right
set format y "%.0f"
set yrange [0:*]
set offsets 0, 0, graph 0.12, 0

set output outdir."/throughput.png"
set multiplot layout 2,3 title "Switchboard vs Node.js ws vs Bun.serve — same load, same machine, same run (higher is better except memory)"
set style histogram clustered gap 1
unset key
set title "relay: 1 KiB offers delivered per second (flat out)"
plot datadir."/throughput.dat" using 2:xtic(1) lc rgb "#4477aa", '' using 0:2:(sprintf("%.0f", $2)) with labels offset 0,0.8 notitle
set title "fanout: broadcast deliveries per second (rooms of 10)"
plot datadir."/throughput.dat" using 3:xtic(1) lc rgb "#228833", '' using 0:3:(sprintf("%.0f", $3)) with labels offset 0,0.8 notitle
set title "join-storm: connect + hello + join per second"
plot datadir."/throughput.dat" using 4:xtic(1) lc rgb "#ccbb44", '' using 0:4:(sprintf("%.0f", $4)) with labels offset 0,0.8 notitle
set title "relay: deliveries per server CPU-second"
plot datadir."/throughput.dat" using 6:xtic(1) lc rgb "#66ccee", '' using 0:6:(sprintf("%.0f", $6)) with labels offset 0,0.8 notitle
set title "fanout: deliveries per server CPU-second"
plot datadir."/throughput.dat" using 7:xtic(1) lc rgb "#88cc88", '' using 0:7:(sprintf("%.0f", $7)) with labels offset 0,0.8 notitle
set title "idle: server RSS bytes per joined connection (lower is better)"
plot datadir."/throughput.dat" using 5:xtic(1) lc rgb "#aa3377", '' using 0:5:(sprintf("%.0f", $5)) with labels offset 0,0.8 notitle
unset multiplot

set terminal pngcairo size 1400,900 font "DejaVu Sans,11" noenhanced
set output outdir."/latency.png"
set multiplot layout 2,2 title "Latency percentiles in microseconds, measured at the client (log scale, lower is better)"
set logscale y
set yrange [*:*]
set format y "%g"
set offsets 0, 0, 0, 0
set key top left
set style histogram clustered gap 1
set title "relay at a fixed ".rate." msgs/s (same offered load for all)"
plot datadir."/latency_relay_paced.dat" using 2:xtic(1) title "p50" lc rgb "#4477aa", \
     '' using 3 title "p99" lc rgb "#ee6677", '' using 4 title "p99.9" lc rgb "#aa3377"
set title "relay flat out (send → receive, includes queueing in the window)"
plot datadir."/latency_relay.dat" using 2:xtic(1) title "p50" lc rgb "#4477aa", \
     '' using 3 title "p99" lc rgb "#ee6677", '' using 4 title "p99.9" lc rgb "#aa3377"
set title "fanout flat out (send → each delivery)"
plot datadir."/latency_fanout.dat" using 2:xtic(1) title "p50" lc rgb "#4477aa", \
     '' using 3 title "p99" lc rgb "#ee6677", '' using 4 title "p99.9" lc rgb "#aa3377"
set title "join-storm: connect → joined"
plot datadir."/latency_join.dat" using 2:xtic(1) title "p50" lc rgb "#4477aa", \
     '' using 3 title "p99" lc rgb "#ee6677", '' using 4 title "p99.9" lc rgb "#aa3377"
unset multiplot
