#!/usr/bin/env bash
# Builds every libFuzzer harness tests/fuzz/fuzz_NAME.c with clang (ASan+UBSan) and runs each
# over its corpus tests/fuzz/corpus/NAME/ and then for WARD_FUZZ_SECONDS (default 10) of new
# inputs.  Prints TAP: one line per harness.  Harnesses named fuzz_srv_* also link server/.
# New inputs found are kept in build/fuzz/corpus-NAME, never in the repository's corpus.
set -uo pipefail
cd "$(dirname "$0")/../.."
O=${O:-build}/fuzz
secs=${WARD_FUZZ_SECONDS:-10}
mkdir -p "$O"
LIB_PKGS=$(make -s -f Makefile print-LIB_PKGS 2>/dev/null || echo "libhs libutf8proc icu-uc icu-i18n libpsl libidn2 libjpeg libpng libwebp nettle")
SERVER_PKGS=$(make -s -f Makefile print-SERVER_PKGS 2>/dev/null)
CFLAGS="-std=c17 -D_GNU_SOURCE -g -O1 -fno-omit-frame-pointer -fsanitize=fuzzer-no-link,address,undefined -Iinclude -Ilib -Iserver -DWARD_VERSION=\"fuzz\" -DWARD_DATADIR=\"/nonexistent\" -DWARD_SYSCONFDIR=\"/nonexistent\" $(pkg-config --cflags $LIB_PKGS) -I$O/gen"
n=0 bad=0
# The stores' migrations, generated from server/schema/ (in $O/gen) for the srv_* harnesses.
make -s O="$O" schema >/dev/null || { echo "not ok 1 - generating the stores' migrations"; exit 1; }
# Build the library objects once.
libobjs=()
for src in lib/*.c; do
	obj=$O/$(basename "${src%.c}").o
	extra=""; [ "$(basename "$src")" = pdq.c ] && extra=-ffp-contract=off
	if [ ! -f "$obj" ] || [ "$src" -nt "$obj" ] || [ lib -nt "$obj" ]; then
		clang $CFLAGS $extra -c "$src" -o "$obj" || { echo "not ok 1 - building $src for fuzzing"; exit 1; }
	fi
	libobjs+=("$obj")
done
for h in tests/fuzz/fuzz_*.c; do
	[ -f "$h" ] || continue
	name=$(basename "${h%.c}"); name=${name#fuzz_}
	n=$((n + 1))
	bin=$O/fuzz_$name
	srvobjs=()
	if [[ $name == srv_* ]]; then
		for s in server/*.c "$O/gen/schema.c"; do
			[ "$(basename "$s")" = main.c ] && continue
			o=$O/srv_$(basename "${s%.c}").o
			clang $CFLAGS $(pkg-config --cflags $SERVER_PKGS) -c "$s" -o "$o" || { echo "not ok $n - fuzz $name (build)"; bad=1; continue 2; }
			srvobjs+=("$o")
		done
	fi
	if ! clang $CFLAGS -fsanitize=fuzzer "$h" "${srvobjs[@]}" "${libobjs[@]}" -o "$bin" \
	        $(pkg-config --libs $LIB_PKGS) -lgif -lm -lpthread -lstdc++ \
	        $([[ $name == srv_* ]] && pkg-config --libs $SERVER_PKGS) >"$O/$name.build.log" 2>&1; then
		echo "not ok $n - fuzz $name (build failed)"; sed 's/^/# /' "$O/$name.build.log" | head -20; bad=1; continue
	fi
	work=$O/corpus-$name; mkdir -p "$work"
	seed=tests/fuzz/corpus/$name; mkdir -p "$seed"
	if "$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
	        -print_final_stats=1 -artifact_prefix="$O/$name-" "$work" "$seed" >"$O/$name.log" 2>&1; then
		echo "ok $n - fuzz $name ($(grep -Eo 'stat::number_of_executed_units: [0-9]+' "$O/$name.log" | grep -Eo '[0-9]+' || echo '?') runs)"
	else
		echo "not ok $n - fuzz $name: see $O/$name.log"; grep -E 'ERROR|SUMMARY|Test unit written' "$O/$name.log" | head -5 | sed 's/^/# /'; bad=1
	fi
done
echo "1..$n"
exit $bad
