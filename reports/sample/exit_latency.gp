# written by hvlab-bench (bench/lib/plots.c); run: gnuplot THIS_FILE
if (strstrt(GPVAL_TERMINALS, "pngcairo") > 0) {
    set terminal pngcairo size 1200,650 noenhanced font ",10"
} else {
    set terminal png size 1200,650 noenhanced
}
set output 'exit_latency.png'
set title 'Exit latency per row (median, ns per operation, log scale)'
set datafile missing "NaN"
set key outside right top
set grid ytics
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set logscale y
set ylabel 'ns/op'
set xtics rotate by 45 right
set bmargin 7
plot 'exit_latency.dat' using 2:xtic(1) title 'native', \
     'exit_latency.dat' using 3 title 'container', \
     'exit_latency.dat' using 4 title 'trap-emulate', \
     'exit_latency.dat' using 5 title 'paravirt', \
     'exit_latency.dat' using 6 title 'qemu-tcg', \
     'exit_latency.dat' using 7 title 'hwassist-svm (emulated times)'
