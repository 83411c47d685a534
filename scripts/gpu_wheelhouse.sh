#!/usr/bin/env bash
# Downloads the wheels of the test tools (pytest, hypothesis and what they need) for Python 3.12
# into wheelhouse/ (git ignores it), so that scripts/gpu_check.sh can install them on a GPU
# machine without network. Run it here, then send wheelhouse/ and dist/ with the working tree.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
PY=${PYTHON:-python3}
rm -rf "$ROOT/wheelhouse"
"$PY" -m pip download --quiet --only-binary=:all: --python-version 3.12 --implementation cp --abi cp312 \
    --platform manylinux2014_x86_64 -d "$ROOT/wheelhouse" "pytest>=7" "hypothesis>=6"
ls "$ROOT/wheelhouse"
