"""nnrs.constraints: values against Keras 3's numbers and numpy formulas, names and
configs, and the projection applied by the optimizer after each update."""

import nnrs
import numpy as np
import pytest
from nnrs import constraints

W = np.array([[3.0, 0.1, -1.0], [4.0, 0.2, 2.0]], dtype="float32")
EPS = 1e-7

# Outputs of Keras 3.15 (torch backend) on W, float32.
KERAS = [
    (constraints.MaxNorm(2.0), [[1.2000000476837158, 0.09999995678663254, -0.8944271802902222],
                                [1.600000023841858, 0.19999991357326508, 1.7888543605804443]]),
    (constraints.MaxNorm(2.0, axis=1), [[1.8964186906814575, 0.06321395933628082, -0.6321395635604858],
                                        [1.787068247795105, 0.08935341238975525, 0.8935341238975525]]),
    (constraints.NonNeg(), [[3.0, 0.10000000149011612, 0.0], [4.0, 0.20000000298023224, 2.0]]),
    (constraints.UnitNorm(), [[0.6000000238418579, 0.44721338152885437, -0.4472135901451111],
                              [0.800000011920929, 0.8944267630577087, 0.8944271802902222]]),
    (constraints.UnitNorm(axis=1), [[0.948209285736084, 0.03160697594285011, -0.3160697817802429],
                                    [0.8935341238975525, 0.044676706194877625, 0.44676706194877625]]),
    (constraints.MinMaxNorm(0.5, 1.0, rate=0.7), [[1.3199999332427979, 0.1865246742963791, -0.6130495071411133],
                                                  [1.7599999904632568, 0.3730493485927582, 1.2260990142822266]]),
    (constraints.MinMaxNorm(1.0, 3.0, axis=1), [[2.844627857208252, 0.09482093155384064, -0.948209285736084],
                                                [2.6806023120880127, 0.13403011858463287, 1.3403011560440063]]),
]


@pytest.mark.parametrize("c, want", KERAS, ids=[f"{type(c).__name__}-{i}" for i, (c, _) in enumerate(KERAS)])
def test_matches_keras(backend, c, want):
    out = c(nnrs.Variable(W))
    assert out.backend is backend and out.dtype == np.float32
    np.testing.assert_allclose(out.numpy(), np.array(want, dtype="float32"), rtol=1e-6, atol=1e-7)


def _norms(w, axis):
    return np.sqrt(np.sum(w * w, axis=axis, keepdims=True))


@pytest.mark.parametrize("axis", [0, 1, [0, 1]])
def test_formulas_float64(backend, axis):
    w = np.random.default_rng(0).normal(size=(5, 4)) * 3.0
    n = _norms(w, tuple(axis) if isinstance(axis, list) else axis)
    cases = [
        (constraints.MaxNorm(1.5, axis), w * np.clip(n, 0, 1.5) / (EPS + n)),
        (constraints.UnitNorm(axis), w / (EPS + n)),
        (constraints.MinMaxNorm(2.0, 4.0, 0.25, axis), w * (0.25 * np.clip(n, 2.0, 4.0) + 0.75 * n) / (EPS + n)),
        (constraints.NonNeg(), np.where(w >= 0, w, 0.0)),
    ]
    for c, want in cases:
        got = c(nnrs.Tensor(w))
        assert got.dtype == np.float64
        np.testing.assert_allclose(got.numpy(), want, rtol=1e-12, atol=1e-15, err_msg=type(c).__name__)


def test_cpu_matches_numpy():
    w = np.random.default_rng(1).normal(size=(7, 3)).astype("float32") * 4
    for c in (constraints.MaxNorm(1.0), constraints.UnitNorm(1), constraints.MinMaxNorm(0.5, 2.0, 0.5), constraints.NonNeg()):
        outs = []
        for name in ("numpy", "cpu"):
            with nnrs.backend.use(name):
                outs.append(c(nnrs.Tensor(w)).numpy())
        np.testing.assert_allclose(outs[1], outs[0], rtol=1e-6, atol=1e-7)


def test_names_configs_and_round_trip():
    assert isinstance(constraints.get("max_norm"), constraints.MaxNorm)
    assert isinstance(constraints.get("non_neg"), constraints.NonNeg)
    assert isinstance(constraints.get("unit_norm"), constraints.UnitNorm)
    assert isinstance(constraints.get("min_max_norm"), constraints.MinMaxNorm)
    assert constraints.get(None) is None
    with pytest.raises(ValueError, match="maxnorm"):
        constraints.get("maxnorm")
    assert constraints.MaxNorm().get_config() == {"max_value": 2, "axis": 0}
    assert constraints.MinMaxNorm().get_config() == {"min_value": 0.0, "max_value": 1.0, "rate": 1.0, "axis": 0}
    assert constraints.UnitNorm().get_config() == {"axis": 0} and constraints.NonNeg().get_config() == {}
    s = constraints.serialize(constraints.MaxNorm(3))
    assert s == {"module": "keras.constraints", "class_name": "MaxNorm", "config": {"max_value": 3, "axis": 0},
                 "registered_name": None}
    back = constraints.deserialize(s)
    assert isinstance(back, constraints.MaxNorm) and back.get_config() == s["config"]
    assert constraints.get({"class_name": "UnitNorm", "config": {"axis": 1}}).axis == 1
    with pytest.raises(ValueError, match="min_value"):
        constraints.MinMaxNorm(2.0, 1.0)

    def clip_weights(w):
        return nnrs.ops.clip(w, -0.1, 0.1)

    assert constraints.get(clip_weights) is clip_weights and constraints.serialize(clip_weights) == "clip_weights"
    assert constraints.deserialize("clip_weights", custom_objects={"clip_weights": clip_weights}) is clip_weights
    with pytest.raises(TypeError, match="cannot serialize"):
        constraints.serialize(3)


def test_dense_stores_constraints_on_its_variables():
    d = nnrs.layers.Dense(3, kernel_constraint="non_neg", bias_constraint=constraints.MaxNorm(1.0))
    d.build((None, 2))
    assert isinstance(d.kernel.constraint, constraints.NonNeg)
    assert isinstance(d.bias.constraint, constraints.MaxNorm)
    cfg = d.get_config()
    assert cfg["kernel_constraint"]["class_name"] == "NonNeg" and cfg["bias_constraint"]["config"]["max_value"] == 1.0
    assert nnrs.layers.Dense(2).get_config()["kernel_constraint"] is None


def test_optimizer_applies_constraint_in_place_and_bumps_version(backend):
    v = nnrs.Variable(W.copy())
    v.constraint = constraints.NonNeg()
    buf = v.data
    opt = nnrs.optimizers.SGD(learning_rate=1.0)
    before = v._version
    opt.apply([backend.asarray(np.ones_like(W))], [v])
    np.testing.assert_allclose(v.numpy(), np.maximum(W - 1.0, 0.0))
    assert v.data is buf and v._version >= before + 2  # the update and the projection
    u = nnrs.Variable(W.copy())
    u.constraint = lambda w: nnrs.ops.clip(w, -0.5, 0.5)  # any callable on Tensors, as in Keras
    opt.apply([backend.asarray(np.full_like(W, -0.25))], [u])
    np.testing.assert_allclose(u.numpy(), np.clip(W + 0.25, -0.5, 0.5))


@pytest.mark.parametrize("opt", ["sgd", "adam"])
def test_fit_keeps_the_constraints(backend, opt):
    nnrs.random.seed(0)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(128, 6)).astype("float32")
    y = (x @ rng.normal(size=(6, 1)) * 5.0).astype("float32")
    model = nnrs.Sequential([
        nnrs.Input((6,)),
        nnrs.layers.Dense(8, activation="relu", kernel_constraint=constraints.MaxNorm(0.5)),
        nnrs.layers.Dense(1, kernel_constraint="non_neg", bias_constraint=constraints.UnitNorm()),
    ])
    model.compile(optimizer=opt, loss="mse")
    first = model.layers[0].kernel.numpy().copy()
    model.fit(x, y, batch_size=16, epochs=3, verbose=0)
    k0 = model.layers[0].kernel.numpy()
    assert not np.allclose(k0, first)  # it trained
    assert np.all(np.sqrt((k0 ** 2).sum(axis=0)) <= 0.5 + 1e-5)
    assert np.all(model.layers[1].kernel.numpy() >= 0.0)
    np.testing.assert_allclose(np.abs(model.layers[1].bias.numpy()), 1.0, rtol=1e-5)
