# tests/lib.sh: a small TAP helper for shell suites.  Source it, call the checks, then t_done.
#   t_ok NAME CMD...           passes when CMD exits 0
#   t_status N NAME CMD...     passes when CMD exits with status N
#   t_grep NAME PATTERN FILE   passes when grep -E PATTERN FILE finds a line
WARD_BUILD=${WARD_BUILD:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/build}
WARD=${WARD:-$WARD_BUILD/ward}
WARD_TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
t_n=0 t_failed=0
t_tmp=$(mktemp -d)
trap 'rm -rf "$t_tmp"' EXIT
t_result() { # t_result RC NAME
	t_n=$((t_n + 1))
	if [ "$1" -eq 0 ]; then echo "ok $t_n - $2"; else echo "not ok $t_n - $2"; t_failed=$((t_failed + 1)); fi
}
t_ok() { local name=$1; shift; "$@" >"$t_tmp/out" 2>"$t_tmp/err"; local rc=$?
	[ $rc -eq 0 ] || { sed 's/^/# /' "$t_tmp/err" | head -20; }
	t_result $rc "$name"; }
t_status() { local want=$1 name=$2; shift 2; "$@" >"$t_tmp/out" 2>"$t_tmp/err"; local rc=$?
	[ $rc -eq "$want" ] || { echo "# exit status $rc, wanted $want"; sed 's/^/# /' "$t_tmp/err" | head -20; }
	[ $rc -eq "$want" ]; t_result $? "$name"; }
t_grep() { grep -Eq -- "$2" "$3"; local rc=$?; [ $rc -eq 0 ] || echo "# no line matches /$2/ in $3"; t_result $rc "$1"; }
t_done() { echo "1..$t_n"; [ "$t_failed" -eq 0 ]; }
