"""Initializers: fans like Keras, statistics of the draws, truncation, seeding through
``nnrs.random.seed`` and own seeds, orthogonality, configs and ``get``."""

import math

import nnrs
import numpy as np
import pytest
from nnrs import initializers as I


def test_compute_fans_like_keras():
    assert I.compute_fans(()) == (1, 1)
    assert I.compute_fans((7,)) == (7, 7)
    assert I.compute_fans((3, 5)) == (3, 5)
    assert I.compute_fans((3, 3, 16, 32)) == (9 * 16, 9 * 32)      # Conv2D (kh, kw, in, out)
    assert I.compute_fans((5, 8, 4)) == (40, 20)                     # Conv1D (k, in, out)
    assert I.compute_fans((2, 3, 3, 4, 6)) == (18 * 4, 18 * 6)      # Conv3D


# (initializer, shape, expected std, bound or None)
def _cases():
    fin, fout = 9 * 16, 9 * 32
    conv = (3, 3, 16, 32)
    return [
        ("glorot_uniform", I.GlorotUniform(), (400, 300), math.sqrt(2 / 700), math.sqrt(6 / 700)),
        ("glorot_normal", I.GlorotNormal(), (400, 300), math.sqrt(2 / 700), 2 * math.sqrt(2 / 700) / 0.87962566103423978),
        ("he_uniform", I.HeUniform(), conv, math.sqrt(2 / fin), math.sqrt(6 / fin)),
        ("he_normal", I.HeNormal(), conv, math.sqrt(2 / fin), 2 * math.sqrt(2 / fin) / 0.87962566103423978),
        ("lecun_uniform", I.LecunUniform(), (500, 200), math.sqrt(1 / 500), math.sqrt(3 / 500)),
        ("lecun_normal", I.LecunNormal(), (500, 200), math.sqrt(1 / 500), 2 * math.sqrt(1 / 500) / 0.87962566103423978),
        ("vs_fan_out", I.VarianceScaling(3.0, "fan_out", "untruncated_normal"), conv, math.sqrt(3 / fout), None),
        ("random_normal", I.RandomNormal(stddev=0.2), (300, 300), 0.2, None),
        ("random_uniform", I.RandomUniform(-0.3, 0.3), (300, 300), 0.3 / math.sqrt(3), 0.3),
        ("truncated_normal", I.TruncatedNormal(stddev=0.1), (300, 300), 0.1 * 0.87962566103423978, 0.2),
    ]


@pytest.mark.parametrize("case", _cases(), ids=[c[0] for c in _cases()])
def test_draw_statistics(case):
    _, init, shape, std, bound = case
    nnrs.random.seed(123)
    w = init(shape)
    assert w.shape == shape and w.dtype == np.float32
    assert abs(float(w.mean())) < 0.05 * std + 3 * std / math.sqrt(w.size)
    assert float(w.std()) == pytest.approx(std, rel=0.03)
    if bound is not None:
        assert float(np.abs(w).max()) <= bound * (1 + 1e-6)
        assert float(np.abs(w).max()) > 0.9 * bound  # the whole range is used


def test_truncated_normal_mean_and_limits():
    w = I.TruncatedNormal(mean=1.0, stddev=0.5, seed=1)((100_000,), dtype="float64")
    assert w.dtype == np.float64
    assert w.min() >= 0.0 and w.max() <= 2.0
    assert float(w.mean()) == pytest.approx(1.0, abs=0.01)


def test_nnrs_random_seed_makes_draws_reproducible():
    nnrs.random.seed(7)
    a = [I.GlorotUniform()((4, 5)), I.HeNormal()((3, 3, 2, 4)), I.Orthogonal()((6, 6))]
    nnrs.random.seed(7)
    b = [I.GlorotUniform()((4, 5)), I.HeNormal()((3, 3, 2, 4)), I.Orthogonal()((6, 6))]
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)
    nnrs.random.seed(8)
    assert not np.array_equal(I.GlorotUniform()((4, 5)), a[0])
    # consecutive draws without reseeding differ
    assert not np.array_equal(I.GlorotUniform()((4, 5)), I.GlorotUniform()((4, 5)))


def test_own_seed_ignores_global_generator():
    init = I.RandomNormal(seed=42)
    nnrs.random.seed(1)
    a = init((10,))
    nnrs.random.seed(2)
    b = init((10,))
    np.testing.assert_array_equal(a, b)  # an integer seed gives the same values each call
    np.testing.assert_array_equal(a, I.RandomNormal(seed=42)((10,)))
    assert not np.array_equal(a, I.RandomNormal(seed=43)((10,)))
    gen = I.RandomUniform(seed=np.random.default_rng(5))
    assert not np.array_equal(gen((10,)), gen((10,)))  # a Generator seed advances
    with pytest.raises(ValueError):
        I.RandomNormal(seed="abc")


def test_float64_draws_match_float32_values():
    x32 = I.GlorotUniform(seed=3)((5, 4), dtype="float32")
    x64 = I.GlorotUniform(seed=3)((5, 4), dtype="float64")
    assert x64.dtype == np.float64
    np.testing.assert_allclose(x32, x64, rtol=1e-6)


@pytest.mark.parametrize("shape", [(8, 8), (10, 4), (4, 10), (3, 3, 4, 5)])
def test_orthogonal(shape):
    w = I.Orthogonal(gain=2.0, seed=0)(shape, dtype="float64")
    assert w.shape == shape
    m = w.reshape(-1, shape[-1])
    rows, cols = m.shape
    if rows >= cols:
        np.testing.assert_allclose(m.T @ m, 4.0 * np.eye(cols), atol=1e-10)
    else:
        np.testing.assert_allclose(m @ m.T, 4.0 * np.eye(rows), atol=1e-10)
    with pytest.raises(ValueError):
        I.Orthogonal()((5,))


def test_constants_and_identity():
    np.testing.assert_array_equal(I.Zeros()((2, 3)), np.zeros((2, 3), np.float32))
    np.testing.assert_array_equal(I.Ones()((4,), dtype="float64"), np.ones(4))
    c = I.Constant(0.25)((2, 2))
    assert c.dtype == np.float32 and np.all(c == 0.25)
    np.testing.assert_array_equal(I.Identity(gain=3.0)((2, 3)), 3 * np.eye(2, 3, dtype=np.float32))
    with pytest.raises(ValueError):
        I.Identity()((2, 2, 2))


def test_variance_scaling_validation():
    with pytest.raises(ValueError):
        I.VarianceScaling(scale=0.0)
    with pytest.raises(ValueError):
        I.VarianceScaling(mode="fan_sum")
    with pytest.raises(ValueError):
        I.VarianceScaling(distribution="cauchy")


def test_configs_round_trip():
    for init in (I.GlorotUniform(seed=1), I.HeNormal(seed=2), I.VarianceScaling(2.0, "fan_avg", "uniform", seed=3),
                 I.RandomNormal(0.5, 0.1, seed=4), I.RandomUniform(-1, 2, seed=5),
                 I.TruncatedNormal(0.0, 0.3, seed=6), I.Orthogonal(1.5, seed=7), I.Constant(3.0),
                 I.Zeros(), I.Ones(), I.Identity(2.0)):
        clone = I.deserialize(I.serialize(init))
        assert type(clone) is type(init) and clone.get_config() == init.get_config()
        np.testing.assert_array_equal(clone((4, 4)), init((4, 4)))
    assert I.GlorotUniform(seed=1).get_config() == {"seed": 1}
    assert I.VarianceScaling().get_config() == {"scale": 1.0, "mode": "fan_in",
                                                "distribution": "truncated_normal", "seed": None}


def test_get():
    for name, cls in [("glorot_uniform", I.GlorotUniform), ("GlorotUniform", I.GlorotUniform),
                      ("glorot_normal", I.GlorotNormal), ("he_normal", I.HeNormal),
                      ("he_uniform", I.HeUniform), ("lecun_normal", I.LecunNormal),
                      ("lecun_uniform", I.LecunUniform), ("zeros", I.Zeros), ("ones", I.Ones),
                      ("orthogonal", I.Orthogonal), ("random_normal", I.RandomNormal),
                      ("random_uniform", I.RandomUniform), ("truncated_normal", I.TruncatedNormal),
                      ("variance_scaling", I.VarianceScaling), ("constant", I.Constant)]:
        assert type(I.get(name)) is cls, name
    init = I.HeNormal()
    assert I.get(init) is init
    assert I.get(None) is None
    g = I.get({"class_name": "RandomUniform", "config": {"minval": 0.0, "maxval": 1.0}})
    assert type(g) is I.RandomUniform and g.maxval == 1.0
    fn = lambda shape, dtype=None: np.full(shape, 2.0)
    assert I.get(fn) is fn
    with pytest.raises(ValueError) as e:
        I.get("xavier_magic")
    assert "glorot_uniform" in str(e.value) and "he_normal" in str(e.value)


def test_weights_are_c_ordered_whatever_the_initializer_gives():
    # an orthogonal matrix comes out of its QR transposed (Fortran order); optimizers update
    # weights in place in C order, so the Variable must hold a C-ordered copy
    m = nnrs.Sequential([nnrs.Input((4,)), nnrs.layers.Dense(8, kernel_initializer="orthogonal")])
    assert all(w.data.flags.c_contiguous for w in m.weights)
    m.compile(optimizer="adam", loss="mse")
    m.fit(np.ones((16, 4), np.float32), np.zeros((16, 8), np.float32), epochs=1, verbose=0)
    assert nnrs.Variable(np.asfortranarray(np.ones((3, 2)))).data.flags.c_contiguous
