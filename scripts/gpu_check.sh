#!/usr/bin/env bash
# The prepared GPU check (issue 9, item 6). Usage, from anywhere:
#
#   scripts/gpu_check.sh OUT_DIR             on the GPU machine: install dist/*.whl, run the cuda
#                                            test suite, check_parity cpu vs cuda on every example
#                                            model, and time training steps against PyTorch CUDA
#   scripts/gpu_check.sh OUT_DIR --dry-run   on any machine: no install, no GPU; the same driver
#                                            with backends numpy vs cpu and small sizes (what CI runs)
#
# Every step has its own `timeout`; all of them together stay under 8 minutes. Each step's log
# goes to OUT_DIR/<step>.log, and OUT_DIR/summary.txt lists each step's exit status. The script
# runs every step even when one fails and exits 1 if any failed. No network is used: the wheel is
# installed with `pip install --no-deps --no-index` into a venv that sees the system site packages
# (CuPy, PyTorch, numpy, pytest, hypothesis there). Set PYTHON to choose the interpreter
# (default python3.12, else python3) and WHEELHOUSE to a folder of extra wheels (pytest,
# hypothesis) if the machine lacks them.
set -u

if [ $# -lt 1 ] || [ "${1#-}" != "$1" ]; then
    echo "usage: $0 OUT_DIR [--dry-run]" >&2
    exit 2
fi
OUT=$(mkdir -p "$1" && cd "$1" && pwd)
DRY=0
[ "${2:-}" = "--dry-run" ] && DRY=1
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
: > "$OUT/summary.txt"
FAILED=0
T0=$(date +%s)

step() {  # step NAME SECONDS COMMAND...: run with a timeout, log to OUT/NAME.log, note the status
    local name=$1 secs=$2
    shift 2
    local t=$(date +%s)
    echo "== $name (limit ${secs}s): $*" | tee "$OUT/$name.log"
    timeout --kill-after=5 "$secs" "$@" >> "$OUT/$name.log" 2>&1
    local rc=$?
    local what="ok"
    [ $rc -eq 124 ] || [ $rc -eq 137 ] && what="TIMED OUT"
    [ $rc -ne 0 ] && [ "$what" = "ok" ] && what="FAILED"
    [ $rc -ne 0 ] && FAILED=1
    printf '%-10s %-10s rc=%-4s %4ss\n' "$name" "$what" "$rc" "$(( $(date +%s) - t ))" | tee -a "$OUT/summary.txt"
    tail -n 25 "$OUT/$name.log"
    return 0
}

if [ "$DRY" = 1 ]; then
    PY=${PYTHON:-python3}
    # nnrs as $PY has it (an editable or wheel install): the source tree alone lacks the built _core
    step env 30 "$PY" -c "import sys, numpy, nnrs; print(sys.version); print('nnrs', nnrs.__file__); print('backends', nnrs.backend.available())"
    step parity 120 "$PY" scripts/gpu_check.py parity --out "$OUT" --backends numpy cpu --quick
    step bench 60 "$PY" scripts/gpu_check.py bench --out "$OUT" --backend cpu --quick
else
    PY=${PYTHON:-$(command -v python3.12 || command -v python3)}
    WHL=$(ls dist/*.whl 2>/dev/null | head -n 1)
    if [ -z "$WHL" ]; then
        echo "no wheel in $ROOT/dist: build one with 'pip wheel . -w dist' (or maturin build --release -o dist)" | tee -a "$OUT/summary.txt"
        exit 1
    fi
    VENV="$OUT/venv"
    step env 20 bash -c "nvidia-smi; '$PY' -c 'import sys; print(sys.version); import cupy; print(\"cupy\", cupy.__version__, \"devices\", cupy.cuda.runtime.getDeviceCount())'; '$PY' -c 'import torch; print(\"torch\", torch.__version__, \"cuda\", torch.cuda.is_available())'"
    EXTRA=""
    # the test tools from a wheel folder when the machine lacks them: WHEELHOUSE, or wheelhouse/ made
    # here beforehand by scripts/gpu_wheelhouse.sh (the GPU machine has no network)
    [ -z "${WHEELHOUSE:-}" ] && [ -d "$ROOT/wheelhouse" ] && WHEELHOUSE="$ROOT/wheelhouse"
    [ -n "${WHEELHOUSE:-}" ] && EXTRA="'$VENV/bin/pip' install --no-index --find-links '$WHEELHOUSE' pytest hypothesis || true;"
    step install 40 bash -c "'$PY' -m venv --system-site-packages '$VENV' && '$VENV/bin/pip' install --no-deps --no-index --force-reinstall '$WHL' && $EXTRA '$VENV/bin/python' -c 'import nnrs, pytest, hypothesis; print(nnrs.__file__, nnrs.backend.available())'"
    PY="$VENV/bin/python"
    # the tests import nnrs from the installed wheel (the repo's python/ is not on the path). Every
    # case with a cuda parameter: the kernel parity tests (`kernels` fixture), the gradchecks and the
    # layer / model tests (`backend` fixture), placement and parity, all on the real CuPy (with
    # NNRS_TEST_REAL_CUDA=1 a missing device fails instead of skipping). tests/cuda is the fake CuPy's.
    step tests 200 env NNRS_TEST_REAL_CUDA=1 "$PY" -m pytest -q --junitxml="$OUT/tests.xml" -p no:cacheprovider \
        -k cuda --ignore=tests/cuda tests
    step parity 90 "$PY" scripts/gpu_check.py parity --out "$OUT" --backends cpu cuda
    step bench 100 "$PY" scripts/gpu_check.py bench --out "$OUT" --backend cuda
fi
echo "total $(( $(date +%s) - T0 ))s" | tee -a "$OUT/summary.txt"
exit $FAILED
