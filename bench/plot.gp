# Time against N, log-log, for each loss and graph type (1 thread, the
# large K), float32 and float64 side by side; the unit U in black,
# PyTorch autograd dashed. Data: the plot_*.dat files written by
# build/bench/bench.
#
#   gnuplot -e "dir='build/bench'; mode=''" bench/plot.gp
#
# mode is '' for the full run and 'quick_' for make bench-quick.

if (!exists("dir")) dir = 'build/bench'
if (!exists("mode")) mode = ''
out = dir . '/performance' . (mode eq '' ? '' : '_quick') . '.png'

set terminal pngcairo size 1600,900 font 'DejaVu Sans,10'
set output out
set logscale xy
set format x '%.0f'
set format y '10^{%L}'
set xlabel 'N (items)'
set ylabel 'seconds per value + gradient'
set grid xtics ytics mytics lc rgb '#dddddd'
set key outside right top vertical Left reverse samplen 2 font ',9'
set style data linespoints

blocks(f) = system(sprintf("awk 'BEGIN{n=0} /^\"/{n++} END{print n}' %s", f))

set multiplot layout 1,2 title 'libpal against the unit U and PyTorch ' . \
    '(1 thread, K = 128 in the full run)'
do for [t in "f32 f64"] {
    pal = sprintf('%s/plot_%s%s.dat', dir, mode, t)
    ref = sprintf('%s/plot_%storch_%s.dat', dir, mode, t)
    np = blocks(pal)
    nt = blocks(ref)
    set title (t eq 'f32' ? 'float32 (U = BLIS sgemm)' : 'float64 (U = BLIS dgemm)')
    plot pal index 0 using 1:2 title columnheader(1) lw 3 lc rgb 'black' pt 7, \
         for [i=1:np-1] pal index i using 1:2 title columnheader(1) lw 1.5 pt (i % 13) + 1 lc i, \
         for [i=0:nt-1] ref index i using 1:2 title columnheader(1) dt 2 lw 1.5 pt 6 lc i + 1
}
unset multiplot
