#!/bin/sh
# mpa-analyze --cache: the cost of attribution per sample.  Two captures
# from cache_bench_gen, identical but for the samples' data addresses
# (CACHE_BENCH_SAMPLES samples, default 1 M, over CACHE_BENCH_BLOCKS live
# blocks, default 100 k): the difference of --cache's CPU time, per sample,
# is what joining a sample to the heap object at its address costs.
# Best of three runs each (a shared machine).  Prints; asserts nothing.
set -eu
B=${MPA_BUILD:-$(pwd)/build}
N=${CACHE_BENCH_SAMPLES:-1000000}
NB=${CACHE_BENCH_BLOCKS:-100000}
OUT=${CACHE_BENCH_OUT:-bench/out/cache}
rm -rf "$OUT"
mkdir -p "$OUT"
"$B/bench/cache_bench_gen" -o "$OUT/addr.mpt" -n "$N" -b "$NB"
"$B/bench/cache_bench_gen" -o "$OUT/noaddr.mpt" -n "$N" -b "$NB" -z
best() { # best CAPTURE: the least user+sys seconds of three --cache runs
	b=""
	for k in 1 2 3; do
		/usr/bin/time -f "%U %S" -o "$OUT/t" "$B/bin/mpa-analyze" "$1" --cache -q \
			-o "$OUT/r" --format json
		c=$(awk '{printf "%.3f", $1 + $2}' "$OUT/t")
		if [ -z "$b" ] || awk -v a="$c" -v x="$b" 'BEGIN{exit !(a < x)}'; then b=$c; fi
	done
	echo "$b"
}
A=$(best "$OUT/addr.mpt")
Z=$(best "$OUT/noaddr.mpt")
echo "== cache bench: $N samples over $NB live blocks =="
echo "--cache with addresses:    $A s CPU"
echo "--cache without addresses: $Z s CPU"
awk -v a="$A" -v z="$Z" -v n="$N" 'BEGIN {
	d = a - z; if (d < 0) d = 0
	printf "attribution: %.0f ns per sample (%.1f M samples/s attributed)\n", d * 1e9 / n,
	       (a > 0 ? n / a / 1e6 : 0) }'
