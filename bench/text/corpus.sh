# bench/text/corpus.sh, sourced by bench/text/run.sh and norm.sh: sets dir and corpus, the
# $WARD_BENCH_MB (default 256) MB corpus of ordinary English with indicator phrases planted
# in it (bench/text/gen.pl over tests/corpus/ordinary), built once and cached in $O/bench/text.
MB=${WARD_BENCH_MB:-256}
dir=$O/bench/text
mkdir -p "$dir"
corpus=$dir/corpus-$MB.txt
if [ ! -s "$corpus" ]; then
	echo "building a $MB MB corpus in $corpus ..."
	perl bench/text/gen.pl tests/corpus/ordinary "$MB" >"$corpus.tmp"
	mv "$corpus.tmp" "$corpus"
fi
