# written by hvlab-bench (bench/lib/plots.c); run: gnuplot THIS_FILE
if (strstrt(GPVAL_TERMINALS, "pngcairo") > 0) {
    set terminal pngcairo size 1200,650 noenhanced font ",10"
} else {
    set terminal png size 1200,650 noenhanced
}
set output 'mem_chase.png'
set title 'Pointer chase: ns per access vs working set (solid: 4 KiB pages, dashed: 2 MiB)'
set datafile missing "NaN"
set key outside right top
set grid ytics
set logscale x 2
set logscale y
set xlabel 'working set'
set ylabel 'ns/access'
set xtics ('16K' 16384, '256K' 262144, '4M' 4194304, '64M' 67108864, '256M' 268435456)
set grid xtics
set xrange [8192:536870912]
plot 'mem_chase.dat' index 0 using 1:2 with linespoints lc 1 dt 1 pt 7 title 'native, 4 KiB pages', \
     'mem_chase.dat' index 1 using 1:2 with linespoints lc 1 dt 2 pt 6 title 'native, 2 MiB pages', \
     'mem_chase.dat' index 2 using 1:2 with linespoints lc 2 dt 1 pt 7 title 'container, 4 KiB pages', \
     'mem_chase.dat' index 3 using 1:2 with linespoints lc 2 dt 2 pt 6 title 'container, 2 MiB pages', \
     'mem_chase.dat' index 4 using 1:2 with linespoints lc 3 dt 1 pt 7 title 'trap-emulate, 4 KiB pages', \
     'mem_chase.dat' index 5 using 1:2 with linespoints lc 3 dt 2 pt 6 title 'trap-emulate, 2 MiB pages', \
     'mem_chase.dat' index 6 using 1:2 with linespoints lc 4 dt 1 pt 7 title 'paravirt, 4 KiB pages', \
     'mem_chase.dat' index 7 using 1:2 with linespoints lc 4 dt 2 pt 6 title 'paravirt, 2 MiB pages', \
     'mem_chase.dat' index 8 using 1:2 with linespoints lc 6 dt 1 pt 7 title 'qemu-tcg, 4 KiB pages', \
     'mem_chase.dat' index 9 using 1:2 with linespoints lc 6 dt 2 pt 6 title 'qemu-tcg, 2 MiB pages', \
     'mem_chase.dat' index 10 using 1:2 with linespoints lc 8 dt 1 pt 7 title 'hwassist-svm (emulated times), 4 KiB pages', \
     'mem_chase.dat' index 11 using 1:2 with linespoints lc 8 dt 2 pt 6 title 'hwassist-svm (emulated times), 2 MiB pages'
