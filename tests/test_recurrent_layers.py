"""Recurrent layers: numbers against Keras 3 (fixtures written by tests/fixtures/keras3/make_rnn_fixtures.py),
gradients by finite differences, masks, states, stateful, dropout, configs, saving, the fused path."""

import json
import os
import sys

import nnrs
import numpy as np
import pytest

L = nnrs.layers
HERE = os.path.dirname(os.path.abspath(__file__))
FIX = os.path.join(HERE, "fixtures", "keras3")
sys.path.insert(0, FIX)
import make_rnn_fixtures as MRF  # noqa: E402

sys.path.remove(FIX)

_NPZ = np.load(os.path.join(FIX, "rnn_layers.npz"))


def _run_case(name, backend_name="cpu"):
    with nnrs.backend.use(backend_name):
        x, mask, states = MRF.case_inputs(name)
        layer = MRF.make_case_layer(nnrs, name)
        layer.build((None, MRF.T, MRF.D))
        n = len(layer.weights)
        layer.set_weights([_NPZ[f"{name}/w{i}"] for i in range(n)])
        return MRF.call_case(layer, name, x, None if mask is None else nnrs.Tensor(mask), states)


@pytest.mark.parametrize("backend_name", ["cpu", "numpy"])
@pytest.mark.parametrize("name", list(MRF.CASES))
def test_matches_keras(name, backend_name):
    ys = _run_case(name, backend_name)
    want = [_NPZ[k] for k in sorted((k for k in _NPZ.files if k.startswith(f"{name}/y")), key=lambda k: int(k.split("/y")[1]))]
    assert len(ys) == len(want)
    for y, w in zip(ys, want):
        assert y.shape == w.shape
        np.testing.assert_allclose(y, w, atol=1e-5, rtol=1e-5)


def test_fixture_cases_are_the_script_cases():
    assert json.loads(str(_NPZ["cases"])).keys() == MRF.CASES.keys()
