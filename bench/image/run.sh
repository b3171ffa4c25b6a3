#!/usr/bin/env bash
# Image benchmark: PDQ images/s (decode and hash separately; ward's SIMD Jarosz layout beside
# the reference's one-column-at-a-time layout), and the PDQ index on 1 and 10 million random
# hashes at distance 31 beside a plain linear scan, with planted near-duplicates checked.
# BENCH_IMAGE_SIZES="1000000 10000000" to change the sizes.
set -euo pipefail
cd "$(dirname "$0")/../.."
O=${O:-build}
make -s O="$O" "$O/libward.a" >/dev/null
B=$O/bench/imgbench
mkdir -p "$(dirname "$B")"
cc -std=c17 -D_GNU_SOURCE -O2 -Iinclude -Ilib bench/image/imgbench.c -o "$B" "$O/libward.a" \
	$(pkg-config --libs $(make -s print-LIB_PKGS)) -lgif -lm -lpthread
P=${WARD_PDQ_DATA:-../shared/testdata/pdq}
[ -d "$P" ] || P=/work/shared/testdata/pdq
mapfile -t imgs < <(cut -d, -f3 "$P/reference/pdq-photo-hasher.csv" | sed "s|^|$P/|")
"$B" images "${imgs[@]}"
for n in ${BENCH_IMAGE_SIZES:-1000000 10000000}; do
	"$B" index "$n" 2000
done
