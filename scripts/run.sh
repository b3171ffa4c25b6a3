#!/usr/bin/env bash
# `make run`: the main job.  Starts wardd on http://127.0.0.1:8080 when it is built;
# otherwise shows `ward scan` on the bundled sample.
set -euo pipefail
cd "$(dirname "$0")/.."
O=${O:-build}
if [ -x "$O/wardd" ] && [ -x scripts/run-wardd.sh ]; then
	exec scripts/run-wardd.sh
fi
echo "ward scan samples/ (the bundled sample text)"
"$O/ward" scan --rules rules samples/ || [ $? -eq 1 ]
