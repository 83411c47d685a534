"""The cuda backend's pooling, batch norm, affine warps and argsort on the fake CuPy (pool.cu,
norm.cu, warp.cu and sort.cu run through the C++ emulation) equal the numpy oracle on
hypothesis shapes in float32 and float64, return device arrays and copy nothing to the host;
small pooling and batch-norm models train on cuda like on numpy from the same weights."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.test_augmentation import _transforms
from tests.test_pool_kernels import geometries

from . import fakecupy
from .test_cuda_backend import _close, _dev, _host, cuda  # noqa: F401  (cuda: the module-scoped fixture)

DTYPES = st.sampled_from([np.float32, np.float64])


# ---- pooling ------------------------------------------------------------------------------------

@settings(max_examples=40, deadline=None)
@given(geom=geometries(), dtype=DTYPES, seed=st.integers(0, 2**31), ties=st.booleans())
def test_pooling_matches_numpy(cuda, ref, geom, dtype, seed, ties):  # noqa: F811
    shape, pool, strides, padding = geom
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 3, shape).astype(dtype) if ties else rng.standard_normal(shape).astype(dtype)
    dx = _dev(cuda, x)
    fakecupy.reset_counters()
    y = cuda.max_pool2d_forward(dx, pool, strides, padding)
    gy = rng.standard_normal(y.shape).astype(dtype)
    dgy = _dev(cuda, gy)
    fakecupy.reset_counters()
    outs = [y, cuda.max_pool2d_backward(dx, dgy, pool, strides, padding), cuda.avg_pool2d_forward(dx, pool, strides, padding),
            cuda.avg_pool2d_backward(dgy, shape, pool, strides, padding)]
    assert fakecupy.transfers == 0
    wants = [ref.max_pool2d_forward(x, pool, strides, padding), ref.max_pool2d_backward(x, gy, pool, strides, padding),
             ref.avg_pool2d_forward(x, pool, strides, padding), ref.avg_pool2d_backward(gy, shape, pool, strides, padding)]
    for got, want in zip(outs, wants):
        _close(cuda, got, want, dtype)


def test_pooling_takes_non_contiguous_input(cuda, ref):  # noqa: F811
    a = np.random.default_rng(3).standard_normal((2, 6, 10, 3))
    x = a[:, :, ::2]
    dx = cuda.asarray(a)[:, :, ::2]
    geo = ((2, 3), (2, 1), (1, 0, 0, 2))
    _close(cuda, cuda.max_pool2d_forward(dx, *geo), ref.max_pool2d_forward(x, *geo), np.float64)
    y = ref.avg_pool2d_forward(x, *geo)
    _close(cuda, cuda.avg_pool2d_backward(_dev(cuda, y)[:, :, :], x.shape, *geo), ref.avg_pool2d_backward(y, x.shape, *geo), np.float64)
    gy = np.ones_like(y)
    _close(cuda, cuda.max_pool2d_backward(dx, _dev(cuda, gy), *geo), ref.max_pool2d_backward(x, gy, *geo), np.float64)


# ---- batch norm ---------------------------------------------------------------------------------

@settings(max_examples=40, deadline=None)
@given(shape=st.lists(st.integers(1, 5), min_size=1, max_size=4), dtype=DTYPES, seed=st.integers(0, 2**31), training=st.booleans(),
       affine=st.booleans(), eps=st.sampled_from([1e-3, 0.25]))
def test_batch_norm_matches_numpy(cuda, ref, shape, dtype, seed, training, affine, eps):  # noqa: F811
    rng = np.random.default_rng(seed)
    c = shape[-1]
    x = (rng.standard_normal(shape) * 3 + 1).astype(dtype)
    gamma, beta = (rng.standard_normal(c).astype(dtype) for _ in range(2)) if affine else (None, None)
    mean, var = rng.standard_normal(c).astype(dtype), (rng.random(c) + 0.5).astype(dtype)
    gy = rng.standard_normal(shape).astype(dtype)
    dev = [None if a is None else _dev(cuda, a) for a in (x, gamma, beta, mean, var, gy)]
    fakecupy.reset_counters()
    y, m, v = cuda.batch_norm_forward(*dev[:5], eps, training)
    gx, gg, gb = cuda.batch_norm_backward(dev[5], dev[0], dev[1], m, v, eps, training)
    assert fakecupy.transfers == 0
    want = ref.batch_norm_forward(x, gamma, beta, mean, var, eps, training)
    for got, w in zip((y, m, v), want):
        _close(cuda, got, w, dtype)
    for got, w in zip((gx, gg, gb), ref.batch_norm_backward(gy, x, gamma, want[1], want[2], eps, training)):
        _close(cuda, got, w, dtype)


def test_batch_norm_of_an_empty_batch_gives_nan_statistics(cuda, ref):  # noqa: F811
    x = np.zeros((0, 3), np.float32)
    y, m, v = cuda.batch_norm_forward(_dev(cuda, x))
    assert _host(cuda, y).shape == (0, 3)
    assert np.isnan(_host(cuda, m)).all() and np.isnan(_host(cuda, v)).all()


# ---- models -------------------------------------------------------------------------------------

def _pool_model():
    import nnrs
    from nnrs import layers

    nnrs.random.seed(11)
    m = nnrs.Sequential([layers.Input((48,)), layers.Reshape((6, 8, 1)), layers.Dense(3, activation="tanh"),
                         layers.MaxPooling2D((2, 2), padding="same"), layers.AveragePooling2D((2, 3), strides=(1, 2), padding="same"),
                         layers.MaxPooling2D(2, strides=1), layers.Flatten(), layers.Dense(3)])
    m.compile(optimizer=nnrs.optimizers.Adam(0.01), loss=nnrs.losses.SparseCategoricalCrossentropy(from_logits=True))
    return m


def _bn_model():
    import nnrs
    from nnrs import layers

    nnrs.random.seed(12)
    m = nnrs.Sequential([layers.Input((7,)), layers.Dense(16), layers.BatchNormalization(), layers.Activation("relu"),
                         layers.Dense(8), layers.BatchNormalization(center=False, scale=False), layers.Dense(3)])
    m.compile(optimizer=nnrs.optimizers.SGD(0.05, momentum=0.9), loss=nnrs.losses.SparseCategoricalCrossentropy(from_logits=True))
    return m


def _augment_model():
    import nnrs
    from nnrs import layers

    nnrs.random.seed(13)
    m = nnrs.Sequential([layers.Input((36,)), layers.Reshape((6, 6, 1)), layers.Dense(2, activation="tanh"),
                         layers.RandomRotation(0.2, fill_mode="reflect", seed=3),
                         layers.RandomTranslation(0.2, 0.3, fill_mode="constant", interpolation="nearest", seed=4),
                         layers.Flatten(), layers.Dense(3)])
    m.compile(optimizer=nnrs.optimizers.Adam(0.01), loss=nnrs.losses.SparseCategoricalCrossentropy(from_logits=True))
    return m


def test_pooling_and_batch_norm_models_train_on_cuda_like_numpy(cuda):  # noqa: F811
    """Dense + BatchNormalization, Reshape -> pooling -> Flatten -> Dense and a model with random
    rotations and translations (affine warps, forward and backward): three training steps
    on the fake cuda backend from the same weights as on numpy agree layer by layer within 1e-4
    relative (float32), and the forward of the trained model in inference mode (moving statistics)
    too."""
    import nnrs

    rng = np.random.default_rng(5)
    for make, shape in ((_pool_model, (16, 48)), (_bn_model, (16, 7)), (_augment_model, (16, 36))):
        m = make()
        x = rng.standard_normal(shape).astype(np.float32)
        y = rng.integers(0, 3, 16).astype(np.int64)
        for training in (True, False):
            r = nnrs.check_parity(m, x, y, backends=("numpy", "cuda"), steps=3, training=training)
            assert r.ok, str(r)
            assert r.max_rel("output") < 1e-4, str(r)


# ---- argsort ------------------------------------------------------------------------------------

@settings(max_examples=40, deadline=None)
@given(shape=st.lists(st.integers(0, 6), min_size=0, max_size=3), dtype=DTYPES, seed=st.integers(0, 2**31), nan=st.booleans())
def test_argsort_matches_numpy(cuda, ref, shape, dtype, seed, nan):  # noqa: F811
    rng = np.random.default_rng(seed)
    x = rng.integers(-2, 3, shape).astype(dtype)
    if nan and x.size:
        x[rng.random(x.shape) < 0.3] = np.nan
    dx = cuda.asarray(x)  # (0-d stays 0-d)
    fakecupy.reset_counters()
    got = cuda.argsort(dx)
    assert fakecupy.transfers == 0
    got = _host(cuda, got)
    want = ref.argsort(x)
    assert got.dtype == np.int64 and got.shape == want.shape
    np.testing.assert_array_equal(got, want)


def test_argsort_takes_non_contiguous_input(cuda, ref):  # noqa: F811
    a = np.random.default_rng(1).integers(0, 4, (5, 8)).astype(np.float32)
    np.testing.assert_array_equal(_host(cuda, cuda.argsort(cuda.asarray(a)[:, ::2])), ref.argsort(a[:, ::2]))
    np.testing.assert_array_equal(_host(cuda, cuda.argsort(cuda.asarray(a).T)), ref.argsort(a.T))


# ---- affine warps -------------------------------------------------------------------------------

@settings(max_examples=30, deadline=None)
@given(n=st.integers(1, 3), h=st.integers(1, 6), w=st.integers(1, 6), c=st.integers(1, 3), dtype=DTYPES,
       mode=st.sampled_from(("constant", "nearest", "wrap", "mirror", "reflect")), interp=st.sampled_from(["nearest", "bilinear"]),
       projective=st.booleans(), seed=st.integers(0, 2**31))
def test_affine_transform_matches_numpy(cuda, ref, n, h, w, c, dtype, mode, interp, projective, seed):  # noqa: F811
    rng = np.random.default_rng(seed)
    img = rng.standard_normal((n, h, w, c)).astype(dtype)
    t = _transforms(rng, n, projective).astype(dtype)
    gy = rng.standard_normal(img.shape).astype(dtype)
    dimg, dt, dgy = (_dev(cuda, a) for a in (img, t, gy))
    fakecupy.reset_counters()
    y = cuda.affine_transform(dimg, dt, interp, mode, 0.25)
    gx = cuda.affine_transform_backward(dgy, dt, interp, mode)
    assert fakecupy.transfers == 0
    _close(cuda, y, ref.affine_transform(img, t, interp, mode, 0.25), dtype)
    _close(cuda, gx, ref.affine_transform_backward(gy, t, interp, mode), dtype)


def test_affine_transform_simple_cases(cuda):  # noqa: F811
    img = np.arange(2 * 3 * 4 * 1, dtype=np.float64).reshape(2, 3, 4, 1)
    ident = np.tile([1.0, 0, 0, 0, 1, 0, 0, 0], (2, 1))
    np.testing.assert_array_equal(_host(cuda, cuda.affine_transform(_dev(cuda, img), _dev(cuda, ident))), img)
    shift = np.tile([1.0, 0, -1, 0, 1, 0, 0, 0], (2, 1))  # output x reads input x - 1: a roll right under wrap
    got = cuda.affine_transform(_dev(cuda, img), _dev(cuda, shift), "nearest", "wrap")
    np.testing.assert_array_equal(_host(cuda, got), np.roll(img, 1, axis=2))
    # the backward of a roll is the opposite roll
    g = cuda.affine_transform_backward(_dev(cuda, img), _dev(cuda, shift), "nearest", "wrap")
    np.testing.assert_array_equal(_host(cuda, g), np.roll(img, -1, axis=2))
    nan_t = np.tile([np.nan, 0, 0, 0, 1, 0, 0, 0], (2, 1))
    np.testing.assert_array_equal(_host(cuda, cuda.affine_transform(_dev(cuda, img), _dev(cuda, nan_t), "bilinear", "reflect", 7.0)), 7.0)


def test_pooling_batch_norm_and_augmentation_steps_make_no_host_copy(cuda):  # noqa: F811
    """A training step (forward, loss, backward, update, the moving statistics) of each model moves
    nothing to the host."""
    import nnrs

    rng = np.random.default_rng(6)
    y = rng.integers(0, 3, 16).astype(np.int64)
    for make, shape in ((_pool_model, (16, 48)), (_bn_model, (16, 7)), (_augment_model, (16, 36))):
        m = make()
        m.to("cuda")
        xd = nnrs.Tensor(rng.standard_normal(shape).astype(np.float32), backend=cuda)
        m.optimizer.build(m.trainable_variables)
        for _ in range(2):  # the first step also creates the optimizer state
            fakecupy.reset_counters()
            loss = m.loss(y, m(xd, training=True))
            loss.backward()
            m.optimizer.apply_gradients([(v.grad, v) for v in m.trainable_variables])
            assert fakecupy.transfers == 0, f"{make.__name__}: {fakecupy.transfers} device-to-host copies in one training step"
            for v in m.trainable_variables:
                v.grad = None
