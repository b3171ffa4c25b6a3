#!/usr/bin/env bash
# bench/text/norm.sh: the normaliser alone, each way (general path, fast path a byte at a
# time, 16, 32 and 64 bytes at once), over the bench corpus: see bench/text/norm.c.
# Builds $O/libward.a if needed and the corpus as bench/text/run.sh does ($WARD_BENCH_MB,
# default 256, cached in $O/bench/text).  ROUNDS (default 5): runs of each, the best shown.
set -euo pipefail
cd "$(dirname "$0")/../.."
O=${O:-build}
CC=${CC:-cc}
. bench/text/corpus.sh
make -s O="$O" CC="$CC" "$O/libward.a"
pkgs=$(make -s -f Makefile print-LIB_PKGS)
# shellcheck disable=SC2046
"$CC" -std=c17 -D_GNU_SOURCE -O2 -Wall -Wextra -Werror -Iinclude -Ilib \
	$(pkg-config --cflags $pkgs) -o "$dir/norm" bench/text/norm.c "$O/libward.a" \
	$(pkg-config --libs $pkgs) -lgif -lm -lpthread
"$dir/norm" "$corpus" "${ROUNDS:-5}"
