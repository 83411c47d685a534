"""Keras 3 programs, run unchanged with ``keras`` resolved to nnrs.

Each file in ``tests/keras_programs/`` is a short script written for Keras 3 (it starts
with ``import keras``) that asserts its own results. The test runs it in a fresh
interpreter where the module ``keras`` is nnrs, as a user's ``import nnrs as keras`` would.
"""

import subprocess
import sys
from pathlib import Path

import pytest

PROGRAMS = sorted((Path(__file__).parent / "keras_programs").glob("*.py"))
SHIM = "import sys, nnrs; sys.modules['keras'] = nnrs; sys.argv = [{path!r}]; exec(compile(open({path!r}).read(), {path!r}, 'exec'), {{'__name__': '__main__'}})"


@pytest.mark.parametrize("path", PROGRAMS, ids=[p.stem for p in PROGRAMS])
def test_keras_program_runs_on_nnrs(path, tmp_path):
    out = subprocess.run([sys.executable, "-c", SHIM.format(path=str(path))], cwd=tmp_path,
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, f"{path.name} failed:\n{out.stdout[-2000:]}\n{out.stderr[-4000:]}"
