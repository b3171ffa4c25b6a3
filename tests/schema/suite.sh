#!/usr/bin/env bash
# The stores' migrations generator (scripts/schema.awk, format in server/schema/README): each
# broken description in bad/ is refused with its FILE:LINE and the words its first line expects,
# and writes nothing; the descriptions in good/ come out as good/expected.txt says, compiled
# with the real headers; the project's own server/schema/ generates and compiles.  Prints TAP.
. "$(dirname "$0")/../lib.sh"
here=$WARD_TOP/tests/schema
gen=$WARD_TOP/scripts/schema.awk
cc=${CC:-cc}

for f in "$here"/bad/*.schema; do
	name=$(basename "$f")
	want=$(sed -n '1s/^# expect: //p' "$f")
	line=${want%%: *} words=${want#*: }
	out=$t_tmp/bad-$name
	mkdir -p "$out"
	awk -v out="$out" -f "$gen" "$f" >"$t_tmp/out" 2>"$t_tmp/err"
	rc=$?
	if [ $rc -eq 0 ]; then
		echo "# generated, but should have been refused"
	elif ! grep -qF -- "$f:$line: $words" "$t_tmp/err"; then
		echo "# wanted: $f:$line: $words"; sed 's/^/# got: /' "$t_tmp/err" | head -5
		rc=0
	elif [ -n "$(ls -A "$out")" ]; then
		echo "# refused, but left files: $(ls "$out")"
		rc=0
	fi
	[ $rc -ne 0 ]; t_result $? "refused at line $line: $name ($words)"
done

# show GENDIR: compiles a program printing each module and each version's SQL per dialect, and
# runs it.
show() {
	local g=$1 m d
	{
		printf '#include <stdio.h>\n#include <string.h>\n\n#include "schema.h"\n\n'
		printf 'int main(void)\n{\n\tfor (size_t m = 0; m < SCHEMA_MODULES; m++) {\n'
		printf '\t\tconst schema_module *sm = &schema_modules[m];\n'
		printf '\t\tprintf("module %%s %%zu sqlite=%%d pg=%%d\\n", sm->name, sm->versions, sm->sqlite, sm->pg);\n'
		for m in $(sed -n 's/^extern const char \*const schema_\(sqlite\|pg\)_\([a-z0-9_]*\)\[.*/\1:\2/p' "$g/schema.h"); do
			d=${m%%:*} m=${m#*:}
			printf '\t\tif (!strcmp(sm->name, "%s"))\n' "$m"
			printf '\t\t\tfor (size_t v = 0; v < sm->versions; v++)\n'
			printf '\t\t\t\tprintf("%s %%s %%zu|%%s\\n", sm->name, v + 1, schema_%s_%s[v]);\n' "$d" "$d" "$m"
		done
		printf '\t}\n\treturn 0;\n}\n'
	} >"$g/show.c"
	# shellcheck disable=SC2046
	$cc -std=c17 -Wall -Wextra -Werror -I"$g" -I"$WARD_TOP/server" -I"$WARD_TOP/include" \
		$(pkg-config --cflags libpq) -o "$g/show" "$g/show.c" "$g/schema.c" >&2 && "$g/show"
}

g=$t_tmp/good
mkdir -p "$g"
t_ok "good/ generates" awk -v out="$g" -f "$gen" "$here"/good/*.schema
mv "$g/schema.c.tmp" "$g/schema.c" 2>/dev/null; mv "$g/schema.h.tmp" "$g/schema.h" 2>/dev/null
show "$g" >"$g/got.txt" 2>"$t_tmp/err" || sed 's/^/# /' "$t_tmp/err" | head -20
diff -u "$here/good/expected.txt" "$g/got.txt" | sed 's/^/# /'
cmp -s "$here/good/expected.txt" "$g/got.txt"
t_result $? "good/: type words, joined lines, blocks inside a statement, none, @only pg, @role"
grep -q 'schema_sqlite_zones' "$g/schema.h"
[ $? -ne 0 ]; t_result $? "a PostgreSQL-only module has no SQLite array"

s=$t_tmp/project
mkdir -p "$s"
t_ok "server/schema/ generates" awk -v out="$s" -f "$gen" "$WARD_TOP"/server/schema/*.schema
mv "$s/schema.c.tmp" "$s/schema.c" 2>/dev/null; mv "$s/schema.h.tmp" "$s/schema.h" 2>/dev/null
show "$s" >"$s/got.txt" 2>"$t_tmp/err"
rc=$?
[ $rc -eq 0 ] || sed 's/^/# /' "$t_tmp/err" | head -20
t_result $rc "server/schema/ compiles with -Wall -Wextra -Werror"
# both dialects of every module in both stores have every version
bad=0
[ "$(grep -c '^module ' "$s/got.txt")" -ge 6 ] || { echo "# fewer than the six modules"; bad=1; }
while read -r _ name n sq pg; do
	for d in sqlite pg; do
		want=$n
		[ "$d" = sqlite ] && [ "$sq" = sqlite=0 ] && want=0
		[ "$d" = pg ] && [ "$pg" = pg=0 ] && want=0
		got=$(grep -c "^$d $name [0-9]*|." "$s/got.txt")
		[ "$got" = "$want" ] || { echo "# $d $name: $got versions, wanted $want"; bad=1; }
	done
done < <(grep '^module ' "$s/got.txt")
[ $bad -eq 0 ]; t_result $? "every module has every version, with SQL, in each of its stores"
t_done
