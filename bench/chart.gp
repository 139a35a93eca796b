# bench/chart.gp: bench/chart.png from bench/chart.dat (written by
# bench/report.py from a run of bench/run.sh).  Run from bench/:
#     gnuplot chart.gp
set terminal pngcairo size 900,600 font "sans,11" noenhanced
set output "chart.png"
set title "service_items: time to load one clinic's settings page (median, one client)"
set xlabel "service items in the clinic (log scale)"
set ylabel "ms per page (log scale)"
set logscale xy
set format y "%g"
set xtics ("10" 10, "50" 50, "500" 500, "1,000" 1000, "10,000" 10000)
set grid xtics ytics mytics
set key top left box opaque
set xrange [7:14000]
plot "chart.dat" using 1:2 with linespoints lw 2 pt 7 lc rgb "#c0392b" title "N+1, every statement a round trip (pgbench)", \
     ""          using 1:3 with linespoints lw 2 pt 5 lc rgb "#8e44ad" title "hand-written SQL function, json_agg (pgbench)", \
     ""          using 1:4 with linespoints lw 3 pt 9 lc rgb "#1f77b4" title "bulk_load_associations (pgbench)", \
     ""          using 1:6 with linespoints lw 2 pt 8 dt 2 lc rgb "#1f77b4" title "bulk_load_associations, server time", \
     ""          using 1:7 with linespoints lw 2 pt 4 dt 3 lc rgb "#555555" title "floor: same rows as text, no JSON, server time"
