# gnuplot script for docs/bench.png: median wall time (with min-max) and peak RSS per
# client, first and reuse issuance. Call: gnuplot -e "resdir='DIR'; outfile='X.png'" chart.gp
set terminal pngcairo size 1200,520 font "DejaVu Sans,10" noenhanced
set output outfile
dat = resdir . "/chart.dat"
set multiplot layout 1,2 title "p11acme vs lego, certbot, uacme (system and one-certificate trust store), dehydrated on a local Pebble (see docs/BENCHMARKS.md)"
set style data histogram
set style histogram errorbars gap 1 lw 1
set style fill solid 0.8 border -1
set boxwidth 0.9
set grid ytics
set key below
set logscale y
set ylabel "wall time, s (median, bars: min-max; log scale)"
set title "Issuance wall time"
set xtics nomirror
plot dat using 2:3:4:xtic(1) title "first issuance (http-01)" lc rgb "#4477aa", \
     ''  using 5:6:7 title "reuse issuance" lc rgb "#ee6677"
unset logscale y
set style histogram clustered gap 1
set ylabel "MiB"
set key below
set yrange [0:*]
set title "Peak RSS"
plot dat using 8:xtic(1) title "first: largest process" lc rgb "#4477aa", \
     ''  using 9 title "reuse: largest process" lc rgb "#ee6677", \
     ''  using 10 title "reuse: all processes (sampled RSS sum)" lc rgb "#228833"
unset multiplot
