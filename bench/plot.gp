# Time against N, log-log, for each loss and graph type: one panel per
# loss, float32 above, float64 below; 1 thread, K = 128 in the full run.
# Solid lines are libpal, dashed lines of the same colour PyTorch
# autograd on the same graph (as a dense tensor, CSR as a sparse one),
# the thick black line the unit U. Data: the plot_*.dat files written by
# build/bench/bench at the end of a run, or from a run's CSV by
# bench --plot-from (make bench-plot): one block per series at a fixed
# position (see plot_data in bench/bench.c), and the plot_*.gp beside
# them, which list the blocks that hold data.
#
#   gnuplot -e "dir='build/bench'; mode=''; out='performance.png'" bench/plot.gp
#
# mode is '' for the full run and 'quick_' for make bench-quick; out
# defaults to dir/performance.png (dir/performance_quick.png).

if (!exists("dir")) dir = 'build/bench'
if (!exists("mode")) mode = ''
if (!exists("out")) out = dir . '/performance' . (mode eq '' ? '' : '_quick') . '.png'

set terminal pngcairo size 1500,1000 font 'DejaVu Sans,10'
set output out
set logscale xy
set format x '%.0f'
set format y '10^{%L}'
set grid xtics ytics lc rgb '#dddddd'
set key top left Left reverse samplen 2 font ',8' opaque
set style data linespoints
set datafile missing 'NaN'

losses = 'VIC^2 BarlowTwins SimCLR'
colors = '#1f77b4 #ff7f0e #2ca02c #9467bd #d62728 #8c564b'
# Block b of loss l holds graph ((b - 1) / 2) % 6: its colour.
color(b) = word(colors, ((b - 1) / 2) % 6 + 1)

set multiplot layout 2,3 title 'Time of one value + gradient against N ' . \
    '(1 thread; solid: libpal, dashed: PyTorch, black: the unit U)'
do for [t in "f32 f64"] {
    f = sprintf('%s/plot_%s%s.dat', dir, mode, t)
    load sprintf('%s/plot_%s%s.gp', dir, mode, t)
    do for [l = 0:2] {
        set title sprintf('%s, %s', word(losses, l + 1), \
            t eq 'f32' ? 'float32 (U = sgemm)' : 'float64 (U = dgemm)')
        set xlabel 'N'
        set ylabel 'seconds'
        pal = value(sprintf('pal_%d', l))
        ref = value(sprintf('torch_%d', l))
        plot f index 0 using 1:2 title 'U' lw 3 lc rgb 'black' pt 7, \
             for [b in pal] f index (b + 0) using 1:2 title columnheader(1) \
                 lw 1.5 pt 7 ps 0.7 lc rgb color(b + 0), \
             for [b in ref] f index (b + 0) using 1:2 notitle \
                 dt 2 lw 1.5 pt 6 ps 0.7 lc rgb color(b + 0)
    }
}
unset multiplot
