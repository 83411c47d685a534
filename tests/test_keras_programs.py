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


def test_plot_model_writes_dot_without_pydot(tmp_path):
    """nnrs writes the DOT text itself (Keras needs pydot even for that)."""
    import nnrs

    a, b = nnrs.Input((3,), name="a"), nnrs.Input((2,), name="b")
    model = nnrs.Model([a, b], nnrs.layers.Dense(1, name="head")(nnrs.layers.concatenate([a, b], name="join")))
    nnrs.utils.plot_model(model, to_file=tmp_path / "model.dot", show_shapes=True)
    text = (tmp_path / "model.dot").read_text()
    assert text.startswith("digraph") and "head (Dense)" in text and "join (Concatenate)" in text and "(None, 5)" in text
    assert text.count("->") == 3  # a -> join, b -> join, join -> head
