# written by hvlab-bench (bench/lib/plots.c); run: gnuplot THIS_FILE
if (strstrt(GPVAL_TERMINALS, "pngcairo") > 0) {
    set terminal pngcairo size 1200,650 noenhanced font ",10"
} else {
    set terminal png size 1200,650 noenhanced
}
set output 'exits_per_op.png'
set title 'Exits per operation (median run; log scale, 0 shows no bar)'
set datafile missing "NaN"
set key outside right top
set grid ytics
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set ylabel 'exits/op'
set xtics rotate by 45 right
set bmargin 9
set logscale y
set format y '%g'
plot 'exits_per_op.dat' using 2:xtic(1) title 'trap-emulate', \
     'exits_per_op.dat' using 3 title 'paravirt', \
     'exits_per_op.dat' using 4 title 'hwassist-svm', \
     'exits_per_op.dat' using 5 title 'hwassist-svm-ioeventfd'
