# latency.gp - docs/bench-latency.png from fbus-bench --plot-data files.
# gnuplot -e "main='latency.dat'; pinned='latency-pinned.dat'; out='bench-latency.png'" latency.gp
# Columns: readers futex_p50 futex_p99 futex1_p50 futex1_p99 vga_p50 vga_p99 1080p_p50 1080p_p99
#          4k_p50 4k_p99 (microseconds).
if (!exists("pinned")) pinned = ""
set terminal pngcairo size 1400,900 font "sans,10"
set output out
set multiplot layout (pinned eq "" ? 1 : 2), 2 title "framebus hand-off latency: publish → a blocked reader returns (µs, log scale)"
set logscale y
set logscale x 2
set xtics (1, 4, 8, 16)
set xrange [0.8:20]
set xlabel "reader processes"
set ylabel "µs"
set grid ytics mytics
set key top left font ",9"

# Budget of docs/design.md section 9: 1.5x the 1-waiter futex at 1 reader, 4x at 8.
do for [run in (pinned eq "" ? "main" : "main pinned")] {
    f = (run eq "main") ? main : pinned
    tag = (run eq "main") ? "unpinned" : "pinned: writer CPU 0, readers CPU 1"
    do for [q = 0:1] {
        c = 2 + q          # futex column
        set title sprintf("%s, %s", q == 0 ? "median (p50)" : "p99", tag)
        plot f using 1:(column(4 + q) * 1.5) every ::0::0 with points pt 9 ps 2 lc rgb "red" title "budget: 1.5x futex (1 reader)", \
             f using 1:(column(4 + q) * 4.0) every ::2::2 with points pt 9 ps 2 lc rgb "dark-red" title "budget: 4x futex (8 readers)", \
             f using 1:c with linespoints lw 2 dt 2 pt 7 lc rgb "black" title "bare futex wake, N waiters", \
             f using 1:6 + q with linespoints lw 2 pt 5 lc rgb "#1f77b4" title "640x480 YUYV", \
             f using 1:8 + q with linespoints lw 2 pt 11 lc rgb "#2ca02c" title "1920x1080 RGB24", \
             f using 1:10 + q with linespoints lw 2 pt 13 lc rgb "#ff7f0e" title "3840x2160 RGB24"
    }
}
unset multiplot
