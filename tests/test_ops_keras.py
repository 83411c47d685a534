"""Keras' numpy-like ``nnrs.ops`` for custom code: every op against numpy (values, on every
backend), cpu against the numpy oracle in float32, Keras' defaults, and a custom layer
built from the ops that trains."""

import math
import types

import nnrs
import numpy as np
import pytest
from nnrs import ops

from tests.conftest import host

from .conftest import tol


def _data(dtype):
    g = np.random.default_rng(3)
    d = types.SimpleNamespace()
    d.A = g.normal(size=(3, 4)).astype(dtype)
    d.B = g.normal(size=(3, 4)).astype(dtype)
    d.C = g.normal(size=(2, 3, 4)).astype(dtype)
    d.V = g.normal(size=(4,)).astype(dtype)
    d.W = g.uniform(0.5, 2.0, size=(4,)).astype(dtype)
    d.U = g.uniform(-0.9, 0.9, size=(3, 4)).astype(dtype)  # inside (-1, 1)
    d.G = g.uniform(1.2, 3.0, size=(3, 4)).astype(dtype)  # > 1
    d.Q = g.uniform(0.2, 3.0, size=(3, 4)).astype(dtype)  # > 0
    d.H = np.array([-2.5, -1.5, -0.5, 0.5, 1.5, 2.5, 1.2, -3.7], dtype=dtype)  # halves for round
    d.S = np.array([[0.0, 2.0, -1.0], [np.nan, np.inf, -np.inf]], dtype=dtype)
    d.L = np.array([[1.0, 0.0, 2.0], [0.0, 0.0, -3.0]], dtype=dtype)
    d.T = np.array([[2.0, 1.0, 2.0, np.nan, 1.0], [0.0, -1.0, 5.0, 5.0, 3.0]], dtype=dtype)  # ties and a NaN
    d.IX = g.integers(-3, 3, size=(2, 5, 4))  # indices along axis 1 of C (negative from the end)
    d.Q4 = g.normal(size=(2, 3, 2, 4)).astype(dtype)
    d.K4 = g.normal(size=(2, 5, 2, 4)).astype(dtype)
    d.I = np.array([[3, -1, 0], [7, 2, 5]], dtype=np.int32)
    d.N = g.normal(size=(600,)).astype(dtype)  # longer than cumsum's block
    return d


def _lse(x, axis=None, keepdims=False):
    m = np.max(x, axis=axis, keepdims=True)
    out = np.log(np.sum(np.exp(x - m), axis=axis, keepdims=True)) + m
    return out if keepdims else np.squeeze(out, axis=axis)


def _gelu_tanh(x):
    return 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3)))


def _softplus(x):
    return np.logaddexp(0, x)


# (name, nnrs call, numpy reference) on the inputs d; one line per op (and per notable case)
CASES = [
    ("sin", lambda d: ops.sin(d.A), lambda d: np.sin(d.A)),
    ("cos", lambda d: ops.cos(d.A), lambda d: np.cos(d.A)),
    ("tan", lambda d: ops.tan(d.U), lambda d: np.tan(d.U)),
    ("arcsin", lambda d: ops.arcsin(d.U), lambda d: np.arcsin(d.U)),
    ("arccos", lambda d: ops.arccos(d.U), lambda d: np.arccos(d.U)),
    ("arctan", lambda d: ops.arctan(d.A), lambda d: np.arctan(d.A)),
    ("sinh", lambda d: ops.sinh(d.A), lambda d: np.sinh(d.A)),
    ("cosh", lambda d: ops.cosh(d.A), lambda d: np.cosh(d.A)),
    ("arcsinh", lambda d: ops.arcsinh(d.A), lambda d: np.arcsinh(d.A)),
    ("arccosh", lambda d: ops.arccosh(d.G), lambda d: np.arccosh(d.G)),
    ("arctanh", lambda d: ops.arctanh(d.U), lambda d: np.arctanh(d.U)),
    ("log1p", lambda d: ops.log1p(d.Q), lambda d: np.log1p(d.Q)),
    ("expm1", lambda d: ops.expm1(d.A), lambda d: np.expm1(d.A)),
    ("log2", lambda d: ops.log2(d.Q), lambda d: np.log2(d.Q)),
    ("log10", lambda d: ops.log10(d.Q), lambda d: np.log10(d.Q)),
    ("floor", lambda d: ops.floor(d.H), lambda d: np.floor(d.H)),
    ("ceil", lambda d: ops.ceil(d.H), lambda d: np.ceil(d.H)),
    ("round_half_even", lambda d: ops.round(d.H), lambda d: np.round(d.H)),
    ("round_decimals", lambda d: ops.round(d.A, 2), lambda d: np.round(d.A, 2)),
    ("trunc", lambda d: ops.trunc(d.H), lambda d: np.trunc(d.H)),
    ("rsqrt", lambda d: ops.rsqrt(d.Q), lambda d: 1 / np.sqrt(d.Q)),
    ("true_divide", lambda d: ops.true_divide(d.A, d.Q), lambda d: d.A / d.Q),
    ("floor_divide", lambda d: ops.floor_divide(d.H, 0.75), lambda d: np.floor(d.H / d.H.dtype.type(0.75))),
    ("mod", lambda d: ops.mod(d.A * 5, d.W), lambda d: np.mod(d.A * 5, d.W)),
    ("mod_negative_divisor", lambda d: ops.mod(d.A * 5, -d.W), lambda d: np.mod(d.A * 5, -d.W)),
    ("logaddexp", lambda d: ops.logaddexp(d.A * 30, d.B), lambda d: np.logaddexp(d.A * 30, d.B)),
    ("logical_and", lambda d: ops.logical_and(d.L, d.L[::-1]), lambda d: np.logical_and(d.L, d.L[::-1])),
    ("logical_or", lambda d: ops.logical_or(d.L, d.A[:2, :3] > 0), lambda d: np.logical_or(d.L, d.A[:2, :3] > 0)),
    ("logical_not", lambda d: ops.logical_not(d.L), lambda d: np.logical_not(d.L)),
    ("logical_xor", lambda d: ops.logical_xor(d.L, d.I), lambda d: np.logical_xor(d.L, d.I)),
    ("isnan", lambda d: ops.isnan(d.S), lambda d: np.isnan(d.S)),
    ("isinf", lambda d: ops.isinf(d.S), lambda d: np.isinf(d.S)),
    ("isfinite", lambda d: ops.isfinite(d.S), lambda d: np.isfinite(d.S)),
    ("all", lambda d: ops.all(d.L), lambda d: np.all(d.L)),
    ("all_axis", lambda d: ops.all(d.L, axis=0, keepdims=True), lambda d: np.all(d.L, axis=0, keepdims=True)),
    ("any_axis", lambda d: ops.any(d.L, axis=1), lambda d: np.any(d.L, axis=1)),
    ("count_nonzero", lambda d: ops.count_nonzero(d.L, axis=0), lambda d: np.count_nonzero(d.L, axis=0)),
    ("std", lambda d: ops.std(d.A, axis=1), lambda d: np.std(d.A, axis=1)),
    ("logsumexp", lambda d: ops.logsumexp(d.A * 50), lambda d: _lse(d.A * 50)),
    ("logsumexp_axis", lambda d: ops.logsumexp(d.C, axis=(0, 2), keepdims=True), lambda d: _lse(d.C, (0, 2), True)),
    ("argmin", lambda d: ops.argmin(d.A), lambda d: np.argmin(d.A)),
    ("argmin_axis", lambda d: ops.argmin(d.C, axis=1, keepdims=True), lambda d: np.argmin(d.C, axis=1, keepdims=True)),
    ("cumsum", lambda d: ops.cumsum(d.C, axis=1), lambda d: np.cumsum(d.C, axis=1)),
    ("cumsum_flat_long", lambda d: ops.cumsum(d.N), lambda d: np.cumsum(d.N)),
    ("norm", lambda d: ops.norm(d.C), lambda d: np.linalg.norm(d.C)),
    ("norm_vector_axis", lambda d: ops.norm(d.A, axis=1), lambda d: np.linalg.norm(d.A, axis=1)),
    ("norm_ord1", lambda d: ops.norm(d.A, ord=1, axis=0, keepdims=True), lambda d: np.linalg.norm(d.A, 1, 0, True)),
    ("norm_inf", lambda d: ops.norm(d.V, ord=np.inf), lambda d: np.linalg.norm(d.V, np.inf)),
    ("norm_p3", lambda d: ops.norm(d.V, ord=3), lambda d: np.linalg.norm(d.V, 3)),
    ("norm_matrix_1", lambda d: ops.norm(d.A, ord=1), lambda d: np.linalg.norm(d.A, 1)),
    ("norm_matrix_inf", lambda d: ops.norm(d.C, ord=np.inf, axis=(1, 2)), lambda d: np.linalg.norm(d.C, np.inf, (1, 2))),
    ("average", lambda d: ops.average(d.A, axis=1, weights=d.W), lambda d: np.average(d.A, axis=1, weights=d.W)),
    ("average_full", lambda d: ops.average(d.A, weights=d.Q), lambda d: np.average(d.A, weights=d.Q)),
    ("expand_dims", lambda d: ops.expand_dims(d.A, 1), lambda d: np.expand_dims(d.A, 1)),
    ("squeeze", lambda d: ops.squeeze(d.A[None, :, None]), lambda d: np.squeeze(d.A[None, :, None])),
    ("ravel", lambda d: ops.ravel(d.C), lambda d: np.ravel(d.C)),
    ("swapaxes", lambda d: ops.swapaxes(d.C, 0, 2), lambda d: np.swapaxes(d.C, 0, 2)),
    ("moveaxis", lambda d: ops.moveaxis(d.C, 0, -1), lambda d: np.moveaxis(d.C, 0, -1)),
    ("stack", lambda d: ops.stack([d.A, d.B], axis=1), lambda d: np.stack([d.A, d.B], axis=1)),
    ("split", lambda d: ops.concatenate(ops.split(d.C, 2, axis=2)[::-1], 2), lambda d: np.concatenate(np.split(d.C, 2, 2)[::-1], 2)),
    ("split_indices", lambda d: ops.split(d.A, [1, 3], axis=1)[1], lambda d: np.split(d.A, [1, 3], axis=1)[1]),
    ("flip", lambda d: ops.flip(d.C, axis=(0, 2)), lambda d: np.flip(d.C, axis=(0, 2))),
    ("roll", lambda d: ops.roll(d.A, 3), lambda d: np.roll(d.A, 3)),
    ("roll_axis", lambda d: ops.roll(d.C, -1, axis=2), lambda d: np.roll(d.C, -1, axis=2)),
    ("tile", lambda d: ops.tile(d.A, (2, 1, 3)), lambda d: np.tile(d.A, (2, 1, 3))),
    ("repeat", lambda d: ops.repeat(d.A, 2, axis=0), lambda d: np.repeat(d.A, 2, axis=0)),
    ("repeat_counts", lambda d: ops.repeat(d.V, [0, 1, 2, 3]), lambda d: np.repeat(d.V, [0, 1, 2, 3])),
    ("broadcast_to", lambda d: ops.broadcast_to(d.V, (3, 4)), lambda d: np.broadcast_to(d.V, (3, 4))),
    ("pad", lambda d: ops.pad(d.A, ((1, 0), (2, 1))), lambda d: np.pad(d.A, ((1, 0), (2, 1)))),
    ("pad_value", lambda d: ops.pad(d.V, 2, constant_values=-1.0), lambda d: np.pad(d.V, 2, constant_values=-1.0)),
    ("triu", lambda d: ops.triu(d.C, 1), lambda d: np.triu(d.C, 1)),
    ("tril", lambda d: ops.tril(d.A, -1), lambda d: np.tril(d.A, -1)),
    ("zeros", lambda d: ops.zeros((2, 3)), lambda d: np.zeros((2, 3), "float32")),
    ("ones", lambda d: ops.ones(4, dtype="float64"), lambda d: np.ones(4)),
    ("zeros_like", lambda d: ops.zeros_like(d.A), lambda d: np.zeros_like(d.A)),
    ("ones_like", lambda d: ops.ones_like(d.I), lambda d: np.ones_like(d.I)),
    ("full", lambda d: ops.full((2, 2), 7), lambda d: np.full((2, 2), 7, "float32")),
    ("full_like", lambda d: ops.full_like(d.A, 0.5), lambda d: np.full_like(d.A, 0.5)),
    ("eye", lambda d: ops.eye(3, 4, k=1), lambda d: np.eye(3, 4, 1, dtype="float32")),
    ("identity", lambda d: ops.identity(3), lambda d: np.identity(3, dtype="float32")),
    ("arange", lambda d: ops.arange(5), lambda d: np.arange(5, dtype="int32")),
    ("arange_float", lambda d: ops.arange(1, 2, 0.25), lambda d: np.arange(1, 2, 0.25, dtype="float32")),
    ("linspace", lambda d: ops.linspace(0, 1, 5), lambda d: np.linspace(0, 1, 5, dtype="float32")),
    ("dot_matrix_vector", lambda d: ops.dot(d.A, d.V), lambda d: np.dot(d.A, d.V)),
    ("dot_nd", lambda d: ops.dot(d.C, d.A.T), lambda d: np.dot(d.C, d.A.T)),
    ("tensordot", lambda d: ops.tensordot(d.C, d.A, axes=([1, 2], [0, 1])), lambda d: np.tensordot(d.C, d.A, ([1, 2], [0, 1]))),
    ("tensordot_int", lambda d: ops.tensordot(d.C, d.A.T, axes=1), lambda d: np.tensordot(d.C, d.A.T, 1)),
    ("outer", lambda d: ops.outer(d.V, d.W), lambda d: np.outer(d.V, d.W)),
    ("inner", lambda d: ops.inner(d.C, d.A), lambda d: np.inner(d.C, d.A)),
    ("relu6", lambda d: ops.relu6(d.A * 5), lambda d: np.clip(d.A * 5, 0, 6)),
    ("hard_sigmoid", lambda d: ops.hard_sigmoid(d.A * 3), lambda d: np.clip(d.A * 3 + 3, 0, 6) / 6),
    ("hard_silu", lambda d: ops.hard_silu(d.A * 3), lambda d: d.A * 3 * np.clip(d.A * 3 + 3, 0, 6) / 6),
    ("hard_swish", lambda d: ops.hard_swish(d.A), lambda d: d.A * np.clip(d.A + 3, 0, 6) / 6),
    ("softsign", lambda d: ops.softsign(d.A), lambda d: d.A / (1 + np.abs(d.A))),
    ("log_sigmoid", lambda d: ops.log_sigmoid(d.A * 20), lambda d: -_softplus(-d.A * 20)),
    ("gelu_default_tanh", lambda d: ops.gelu(d.A), lambda d: _gelu_tanh(d.A)),
    ("stop_gradient", lambda d: ops.stop_gradient(d.A), lambda d: d.A),
    ("argsort", lambda d: ops.argsort(d.C, axis=1), lambda d: np.argsort(d.C, axis=1, kind="stable")),
    ("argsort_ties_nan", lambda d: ops.argsort(d.T), lambda d: np.argsort(d.T, kind="stable")),
    ("argsort_flat", lambda d: ops.argsort(d.A, axis=None), lambda d: np.argsort(d.A, axis=None, kind="stable")),
    ("sort", lambda d: ops.sort(d.C, axis=0), lambda d: np.sort(d.C, axis=0)),
    ("sort_nan_last", lambda d: ops.sort(d.T), lambda d: np.sort(d.T)),
    ("top_k_values", lambda d: ops.top_k(d.C, 3)[0], lambda d: -np.sort(-d.C, axis=-1)[..., :3]),
    ("top_k_indices_ties", lambda d: ops.top_k(d.T, 2)[1], lambda d: np.argsort(-d.T, kind="stable")[..., :2]),
    ("absolute", lambda d: ops.absolute(d.A), lambda d: np.absolute(d.A)),
    ("amax", lambda d: ops.amax(d.C, axis=(0, 2)), lambda d: np.amax(d.C, axis=(0, 2))),
    ("amin", lambda d: ops.amin(d.C, keepdims=True), lambda d: np.amin(d.C, keepdims=True)),
    ("divide_no_nan_mixed", lambda d: ops.divide_no_nan(d.H, d.H.round()), lambda d: np.where(np.round(d.H) == 0, 0, d.H / np.where(np.round(d.H) == 0, 1, np.round(d.H)))),
    ("take_along_axis", lambda d: ops.take_along_axis(d.C, d.IX, axis=1), lambda d: np.take_along_axis(d.C, d.IX, axis=1)),
    ("take_along_axis_flat", lambda d: ops.take_along_axis(d.A, np.array([-1, 0, 5]), None), lambda d: d.A.ravel()[[-1, 0, 5]]),
    ("einsum_batched_matmul", lambda d: ops.einsum("bij,bjk->bik", d.C, d.C.transpose(0, 2, 1)), lambda d: np.einsum("bij,bjk->bik", d.C, d.C.transpose(0, 2, 1))),
    ("einsum_attention", lambda d: ops.einsum("bqhd,bkhd->bhqk", d.Q4, d.K4), lambda d: np.einsum("bqhd,bkhd->bhqk", d.Q4, d.K4)),
    ("einsum_transpose_sum", lambda d: ops.einsum("ijk->kj", d.C), lambda d: np.einsum("ijk->kj", d.C)),
    ("einsum_implicit", lambda d: ops.einsum("ij,jk", d.A, d.B.T), lambda d: np.einsum("ij,jk", d.A, d.B.T)),
    ("einsum_three", lambda d: ops.einsum("ij,jk,kl->il", d.A, d.B.T, d.A), lambda d: np.einsum("ij,jk,kl->il", d.A, d.B.T, d.A)),
    ("einsum_outer_sum", lambda d: ops.einsum("i,j->", d.V, d.W), lambda d: np.einsum("i,j->", d.V, d.W)),
    ("int_input_computes_in_floatx", lambda d: ops.sin(d.I), lambda d: np.sin(d.I).astype("float32")),
]


def _value(t):
    return t.numpy() if isinstance(t, nnrs.Tensor) else np.asarray(t)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("name, fn, want", CASES, ids=[c[0] for c in CASES])
def test_values_match_numpy(backend, name, fn, want, dtype):
    d = _data(dtype)
    got = fn(d)
    if isinstance(got, nnrs.Tensor):
        assert got.backend is backend
    w = np.asarray(want(d))
    g = _value(got)
    assert g.shape == w.shape, (g.shape, w.shape)
    if w.dtype.kind == "f":
        assert g.dtype == w.dtype, (g.dtype, w.dtype)
        np.testing.assert_allclose(g, w, *tol(w.dtype))
    else:
        np.testing.assert_array_equal(g, w)


@pytest.mark.parametrize("name, fn, want", CASES, ids=[c[0] for c in CASES])
def test_cpu_matches_the_numpy_oracle(name, fn, want):
    out = []
    for b in ("numpy", "cpu"):
        with nnrs.backend.use(b):
            out.append(_value(fn(_data(np.float32))))
    assert out[0].dtype == out[1].dtype
    np.testing.assert_allclose(out[1], out[0], *tol(np.float32))


def test_at_least_100_keras_names():
    assert len(set(ops.__all__)) == len(ops.__all__) >= 100
    for name in ops.__all__:
        assert callable(getattr(ops, name)), name


def test_info_and_keras_defaults():
    x = ops.ones((2, 3))
    assert ops.shape(x) == (2, 3) and ops.ndim(x) == 2 and ops.size(x) == 6
    assert ops.is_tensor(x) and not ops.is_tensor(np.ones(2))
    assert ops.argmin(np.array([[3.0, 1.0], [0.5, 2.0]])).dtype == np.int32
    assert ops.arange(3.0).dtype == np.float32 and ops.zeros(2).dtype == np.float32
    vals, step = ops.linspace(0.0, 1.0, 3, retstep=True)
    assert step == 0.5 and vals.numpy().tolist() == [0.0, 0.5, 1.0]
    z = np.linspace(-3, 3, 7)
    np.testing.assert_allclose(ops.gelu(z, approximate=False).numpy(), nnrs.activations.gelu(nnrs.Tensor(z)).numpy())
    assert not np.allclose(ops.gelu(z).numpy(), ops.gelu(z, approximate=False).numpy())


@pytest.mark.parametrize("call, match", [
    (lambda: ops.pad(np.ones(3), 1, mode="reflect"), "mode='reflect'"),
    (lambda: ops.norm(np.ones((2, 2)), ord="nuc"), "nuc"),
    (lambda: ops.norm(np.ones((2, 2)), ord=2), "matrix ord 2"),
    (lambda: ops.split(np.ones(5), 2), "equal sections"),
    (lambda: ops.squeeze(np.ones((2, 1)), axis=0), "not 1"),
    (lambda: ops.broadcast_to(np.ones(3), (2, 4)), "broadcast"),
    (lambda: ops.tensordot(np.ones((2, 3)), np.ones((2, 3)), axes=1), "differ in size"),
    (lambda: ops.sum(ops.cumsum(np.ones(2), axis=3)), "out of range"),
    (lambda: ops.einsum("ii->i", np.ones((2, 2))), "repeated"),
    (lambda: ops.einsum("...i->i", np.ones((2, 2))), "ellipsis"),
    (lambda: ops.einsum("ij,jk->ik", np.ones((2, 3)), np.ones((2, 3))), "label 'j' has sizes 3 and 2"),
    (lambda: ops.take_along_axis(np.ones((2, 3)), np.array([[3], [0]]), 1), "out of bounds"),
])
def test_errors_name_the_argument(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_divide_no_nan_gradient_is_zero_where_the_divisor_is(backend):
    a = nnrs.Tensor(np.array([1.0, 2.0]), requires_grad=True)
    b = nnrs.Tensor(np.array([0.0, 4.0]), requires_grad=True)
    ops.sum(ops.divide_no_nan(a, b)).backward()
    np.testing.assert_array_equal(host(a.grad), [0.0, 0.25])
    np.testing.assert_array_equal(host(b.grad), [0.0, -2.0 / 16.0])


def test_stop_gradient_blocks_the_gradient(backend):
    x = nnrs.Tensor(np.array([1.0, 2.0]), requires_grad=True)
    (ops.sum(x * ops.stop_gradient(x))).backward()
    np.testing.assert_allclose(host(x.grad), [1.0, 2.0])


def test_custom_layer_from_ops_trains(backend):
    class Gated(nnrs.layers.Layer):
        """A Keras-style custom layer: norm-scaled features, a gelu gate and a cumulative term."""

        def __init__(self, units, **kwargs):
            super().__init__(**kwargs)
            self.units = units

        def build(self, input_shape):
            self.w = self.add_weight((input_shape[-1], self.units), "glorot_uniform", name="w")
            self.g = self.add_weight((self.units,), "zeros", name="g")
            self.built = True

        def compute_output_shape(self, input_shape):
            return tuple(input_shape[:-1]) + (self.units,)

        def call(self, x, training=False):
            x = ops.divide(x, ops.add(ops.norm(x, axis=-1, keepdims=True), 1e-6))
            h = ops.matmul(x, self.w)
            gate = ops.hard_sigmoid(ops.add(h, self.g))
            return ops.add(ops.multiply(ops.gelu(h), gate), ops.mean(ops.cumsum(h, axis=-1), axis=-1, keepdims=True))

    nnrs.random.seed(1)
    rng = np.random.default_rng(1)
    x = rng.normal(size=(256, 5)).astype("float32")
    y = np.sin(x[:, :1] * 2).astype("float32")
    model = nnrs.Sequential([nnrs.Input((5,)), Gated(16), nnrs.layers.Dense(1)])

    def loss(y_true, y_pred):  # a custom loss from ops
        return ops.mean(ops.log(ops.cosh(ops.subtract(y_pred, y_true))))

    model.compile(optimizer=nnrs.optimizers.Adam(0.02), loss=loss)
    hist = model.fit(x, y, batch_size=32, epochs=8, verbose=0).history["loss"]
    assert hist[-1] < 0.6 * hist[0], hist


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(), (0,), (7,), (3, 0), (4, 9), (2, 3, 300), (1100, 40)])
def test_argsort_kernel_matches_the_oracle(kernels, ref, shape, dtype):
    g = np.random.default_rng(sum(shape) + 1)
    x = g.integers(-5, 5, shape).astype(dtype)  # many ties
    if x.size > 3:
        x.reshape(-1)[[0, x.size // 2]] = np.nan
    got, want = kernels.argsort(x), ref.argsort(x)
    assert got.dtype == want.dtype == np.int64 and got.shape == want.shape == shape
    np.testing.assert_array_equal(got, want)


def test_argsort_kernel_rejects_non_float(kernels, ref):
    for b in (kernels, ref):
        with pytest.raises(TypeError, match="argsort: x must be a float32 or float64 array, got int64"):
            b.argsort(np.arange(3))


def test_dense_with_ops_gelu_uses_its_tanh_default_and_the_name_the_exact_form():
    x = np.linspace(-3, 3, 12).reshape(4, 3).astype("float32")
    outs = {}
    for act in (ops.gelu, "gelu"):
        nnrs.random.seed(0)
        layer = nnrs.layers.Dense(2, activation=act)
        z = x @ np.asarray(_kernel(layer, x))
        outs[act if isinstance(act, str) else "ops"] = (layer(nnrs.Tensor(x)).numpy(), z)
    y, z = outs["ops"]
    np.testing.assert_allclose(y, _gelu_tanh(z), rtol=1e-5, atol=1e-6)
    y, z = outs["gelu"]
    np.testing.assert_allclose(y, ops.gelu(z, approximate=False).numpy(), rtol=1e-5, atol=1e-6)


def _kernel(layer, x):
    layer.build(x.shape)
    return layer.kernel.numpy()
