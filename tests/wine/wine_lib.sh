# Helpers for the Wine end-to-end tests (sourced): runs lleval.exe
# ($LLEVAL_WINE_EXE) under Wine through lleval-wine.sh and reuses
# tests/cli/lib.sh (fresh temp dir, ok/not_ok, expect_exit, finish), or with
# WINE_WITH_LLAMA=1 tests/cli/llama_lib.sh (a real Linux llama-server).
# The Wine prefix is $WINEPREFIX, else the one scripts/provision-windows.sh
# made ($LLEVAL_CACHE/wine-prefix); a test without Wine or the exe is skipped (77).
set -euo pipefail
: "${LLEVAL_SOURCE_DIR:?set LLEVAL_SOURCE_DIR}"
if [ -z "${LLEVAL_WINE_EXE:-}" ] || [ ! -f "$LLEVAL_WINE_EXE" ] || ! command -v wine >/dev/null; then
	echo "skipped: set LLEVAL_WINE_EXE to a built lleval.exe and install wine"
	exit 77
fi
LLEVAL_WINE_EXE=$(realpath "$LLEVAL_WINE_EXE")
export LLEVAL_WINE_EXE
export WINEPREFIX="${WINEPREFIX:-${LLEVAL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/lleval}/wine-prefix}"
export WINEDEBUG=-all
export LLEVAL="$LLEVAL_SOURCE_DIR/tests/wine/lleval-wine.sh"
wineserver -p 60 2>/dev/null || true # keep one wineserver up between the test's commands
# tests/cli/lib.sh, or tests/cli/llama_lib.sh (which sources it) when WINE_WITH_LLAMA=1
if [ "${WINE_WITH_LLAMA:-0}" = 1 ]; then
	. "$LLEVAL_SOURCE_DIR/tests/cli/llama_lib.sh"
else
	. "$LLEVAL_SOURCE_DIR/tests/cli/lib.sh"
fi

# same_scores RUN_A RUN_B: their results/scores.json agree but for timings and
# the paths that name the run (latency and tokens/s differ run to run)
same_scores() {
	python3 - "$1" "$2" <<'PY'
import json, sys
def strip(o):
    if isinstance(o, dict):
        return {k: strip(v) for k, v in o.items()
                if not any(s in k for s in ("latency", "tps", "tok_s", "tokens_per", "time", "_at",
                                            "elapsed", "run_id", "run_dir"))
                and not (isinstance(v, str) and "runs" in v)}
    if isinstance(o, list):
        return [strip(v) for v in o]
    return o
a, b = (strip(json.load(open("runs/%s/results/scores.json" % r))) for r in sys.argv[1:3])
sys.exit(0 if a == b and a else 1)
PY
}
