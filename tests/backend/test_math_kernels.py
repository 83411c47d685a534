"""binary_backward (and the math kernels after it): cpu equals the numpy oracle, and bad
arguments give the same error on both backends."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes, mutually_broadcastable_shapes
from nnrs.backend.base import BINARY_OPS

from tests.conftest import tol

dtypes = st.sampled_from([np.float32, np.float64])
pairs = mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=4, min_side=0, max_side=5)
LAYOUTS = ("c", "reversed", "transposed", "strided")


def layout(x, kind):
    """A view with the values of ``x`` laid out another way in memory."""
    if x.ndim == 0 or kind == "c":
        return x
    if kind == "reversed":  # negative strides
        return np.flip(np.flip(x).copy())
    if kind == "transposed":
        return x.T.copy().T
    return np.repeat(x, 2, axis=-1)[..., ::2]  # every other element


def binary_inputs(rng, op, sa, sb, dtype, ties=False):
    """a and b where op and its gradient are real: divisors away from 0, pow with either a
    positive base or an integer exponent (negative bases then)."""
    a, b = rng.standard_normal(sa), rng.standard_normal(sb)
    if ties:  # many equal pairs for maximum / minimum
        a, b = rng.integers(-1, 2, sa).astype(float), rng.integers(-1, 2, sb).astype(float)
    if op == "div":
        b = np.sign(b + 1e-300) * (np.abs(b) + 0.5)
    if op == "pow":
        if ties:
            a, b = np.abs(a) + 0.5, b * 1.5
        else:
            b = np.round(b * 2)
    return np.asarray(a).astype(dtype), np.asarray(b).astype(dtype)


# ---- binary_backward -----------------------------------------------------------------
@settings(max_examples=200, deadline=None)
@given(op=st.sampled_from(BINARY_OPS), shapes=pairs, dtype=dtypes, seed=st.integers(0, 2**31),
       ties=st.booleans(), la=st.sampled_from(LAYOUTS), lb=st.sampled_from(LAYOUTS))
def test_binary_backward_matches_numpy(kernels, ref, op, shapes, dtype, seed, ties, la, lb):
    rng = np.random.default_rng(seed)
    sa, sb = shapes.input_shapes
    a, b = binary_inputs(rng, op, sa, sb, dtype, ties)
    g = np.asarray(rng.standard_normal(shapes.result_shape)).astype(dtype)
    a, b, g = layout(a, la), layout(b, lb), layout(g, la)
    got, want = kernels.binary_backward(op, a, b, g), ref.binary_backward(op, a, b, g)
    for x, gx, wx in zip((a, b), got, want):
        assert gx.dtype == dtype and gx.shape == wx.shape == x.shape and gx.flags.c_contiguous
        np.testing.assert_allclose(gx, wx, *tol(dtype))


@pytest.mark.parametrize("sa, sb", [
    ((600, 500), (600, 500)),         # no sum, parallel
    ((600, 500), (500,)),             # bias-like b: summed over the rows
    ((600, 1), (1, 500)),             # both stretched
    ((8, 30, 30, 16), (8, 1, 1, 16)),
    ((), (700, 300)),
])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_binary_backward_large(kernels, ref, sa, sb, dtype):
    rng = np.random.default_rng(0)
    for op in BINARY_OPS:
        a, b = binary_inputs(rng, op, sa, sb, dtype)
        g = rng.standard_normal(np.broadcast_shapes(sa, sb)).astype(dtype)
        exact = ref.binary_backward(op, *(v.astype(np.float64) for v in (a, b, g)))
        for gx, wx in zip(kernels.binary_backward(op, a, b, g), exact):
            # a broadcast operand's gradient sums many terms: atol grows with their number
            assert gx.dtype == dtype and gx.shape == wx.shape
            np.testing.assert_allclose(gx, wx, rtol=tol(dtype)[0], atol=tol(dtype)[1] * max(1, g.size // max(wx.size, 1)))


def test_binary_backward_does_not_depend_on_thread_count(kernels):
    from nnrs import _core

    rng = np.random.default_rng(1)
    a, b = rng.standard_normal((700, 400)).astype(np.float32), rng.standard_normal(400).astype(np.float32)
    g = rng.standard_normal((700, 400)).astype(np.float32)
    before = _core.get_num_threads()
    try:
        runs = []
        for threads in (1, 2):
            _core.set_num_threads(threads)
            runs.append([x for op in ("mul", "maximum", "pow") for x in kernels.binary_backward(op, np.abs(a), b, g)])
    finally:
        _core.set_num_threads(before)
    for x, y in zip(*runs):
        np.testing.assert_array_equal(x, y)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_pow_gradients_are_finite_at_zero_and_negative_bases(kernels, ref, dtype):
    # (a, p, ga, gb): ga = p a**(p-1), gb = a**p ln a where a > 0 and 0 where a <= 0
    table = [
        (-2.0, 3.0, 12.0, 0.0),
        (-2.0, 2.0, -4.0, 0.0),
        (-1.5, -1.0, -1 / 2.25, 0.0),
        (0.0, 2.0, 0.0, 0.0),
        (0.0, 1.0, 1.0, 0.0),
        (0.0, 3.0, 0.0, 0.0),
        (0.0, 0.0, 0.0, 0.0),   # a**0 is constant: 0, not 0 * 0**-1
        (-3.0, 0.0, 0.0, 0.0),
        (2.0, 3.0, 12.0, 8 * np.log(2.0)),
        (0.5, -1.0, -4.0, 2 * np.log(0.5)),
    ]
    a, p, wa, wb = (np.array(c, dtype=dtype) for c in zip(*table))
    g = np.ones_like(a)
    for be in (kernels, ref):
        ga, gb = be.binary_backward("pow", a, p, g)
        assert np.isfinite(ga).all() and np.isfinite(gb).all()
        np.testing.assert_allclose(ga, wa, *tol(dtype))
        np.testing.assert_allclose(gb, wb, *tol(dtype))


@pytest.mark.parametrize("op", ["maximum", "minimum"])
def test_max_min_gradient_goes_to_the_selected_operand(kernels, ref, op):
    a = np.array([1.0, 2.0, 3.0, np.nan, 0.0])
    b = np.array([1.0, 3.0, 2.0, 0.0, np.nan])
    to_a = np.array([1.0, op == "minimum", op == "maximum", 1.0, 0.0])
    for be in (kernels, ref):
        ga, gb = be.binary_backward(op, a, b, np.full(5, 2.0))
        np.testing.assert_array_equal(ga, 2 * to_a)
        np.testing.assert_array_equal(gb, 2 * (1 - to_a))


def test_binary_backward_empty_broadcast_gives_zeros(kernels, ref):
    a, b, g = np.ones((1, 3)), np.ones((0, 3)), np.ones((0, 3))
    for be in (kernels, ref):
        ga, gb = be.binary_backward("mul", a, b, g)
        np.testing.assert_array_equal(ga, np.zeros((1, 3)))
        assert gb.shape == (0, 3)


def test_inputs_are_not_modified(kernels):
    rng = np.random.default_rng(2)
    a, b, g = rng.standard_normal((4, 5)), rng.standard_normal(5), rng.standard_normal((4, 5))
    keep = [x.copy() for x in (a, b, g)]
    kernels.binary_backward("div", a, b, g)
    for x, k in zip((a, b, g), keep):
        np.testing.assert_array_equal(x, k)


f32, f64 = np.ones(3, np.float32), np.ones(3)
CONTRACT_ERRORS = [
    (lambda c: c.binary_backward("mod", f64, f64, f64), ValueError, r"binary_backward: unknown op 'mod'"),
    (lambda c: c.binary_backward("mul", f32, f64, f64), TypeError, r"binary_backward: a and b must have the same dtype, got float32 and float64"),
    (lambda c: c.binary_backward("mul", f64, f64, f32), TypeError, r"binary_backward: a and g must have the same dtype, got float64 and float32"),
    (lambda c: c.binary_backward("mul", np.ones(3, np.int64), f64, f64), TypeError, r"binary_backward: a must be a float32 or float64"),
    (lambda c: c.binary_backward("mul", np.ones((2, 3)), np.ones(4), np.ones((2, 3))), ValueError, r"binary_backward: shapes \(2, 3\) and \(4,\) do not broadcast"),
    (lambda c: c.binary_backward("mul", np.ones((2, 1)), f64, np.ones(3)), ValueError, r"binary_backward: g must have the broadcast shape \(2, 3\) of a \(2, 1\) and b \(3,\), got \(3,\)"),
]


@pytest.mark.parametrize("call, err, match", CONTRACT_ERRORS)
def test_contract_errors_are_the_same_on_both_backends(kernels, ref, call, err, match):
    msgs = []
    for be in (ref, kernels):
        with pytest.raises(err, match=match) as e:
            call(be)
        msgs.append(str(e.value))
    assert msgs[0] == msgs[1]


@pytest.mark.parametrize("call, err, match", CONTRACT_ERRORS + [
    (lambda c: c.binary_backward("mul", [1.0], f64, f64), TypeError, r"binary_backward: a must be a float32 or float64 numpy array, got list"),
])
def test_binding_defends_itself(core, call, err, match):
    with pytest.raises(err, match=match):
        call(core)


# ---- softmax_forward / softmax_backward along any axis -------------------------------
@st.composite
def shape_and_axis(draw):
    shape = draw(array_shapes(min_dims=1, max_dims=4, min_side=0, max_side=6))
    return shape, draw(st.integers(-len(shape), len(shape) - 1))


@settings(max_examples=200, deadline=None)
@given(sa=shape_and_axis(), dtype=dtypes, log=st.booleans(), seed=st.integers(0, 2**31),
       scale=st.sampled_from([0.1, 1.0, 30.0]), lx=st.sampled_from(LAYOUTS), lg=st.sampled_from(LAYOUTS))
def test_softmax_matches_numpy(kernels, ref, sa, dtype, log, seed, scale, lx, lg):
    shape, axis = sa
    rng = np.random.default_rng(seed)
    x = layout((rng.standard_normal(shape) * scale).astype(dtype), lx)
    gy = layout(rng.standard_normal(shape).astype(dtype), lg)
    y, want = kernels.softmax_forward(x, axis, log), ref.softmax_forward(x, axis, log)
    assert y.dtype == dtype and y.shape == shape and y.flags.c_contiguous
    np.testing.assert_allclose(y, want, *tol(dtype))
    gx, wgx = kernels.softmax_backward(gy, layout(want, lx), axis, log), ref.softmax_backward(gy, want, axis, log)
    assert gx.dtype == dtype and gx.shape == shape and gx.flags.c_contiguous
    np.testing.assert_allclose(gx, wgx, *tol(dtype))


@pytest.mark.parametrize("shape, axis", [
    ((600, 500), 0), ((600, 500), -1), ((64, 30, 40), 1), ((8, 16, 16, 64), 1), ((3, 100_000), 0), ((100_000, 3), 0),
])
@pytest.mark.parametrize("log", [False, True])
def test_softmax_large(kernels, ref, shape, axis, log):
    rng = np.random.default_rng(0)
    x, gy = (rng.standard_normal(shape) * 4).astype(np.float32), rng.standard_normal(shape).astype(np.float32)
    y = kernels.softmax_forward(x, axis, log)
    np.testing.assert_allclose(y, ref.softmax_forward(x, axis, log), *tol(np.float32))
    np.testing.assert_allclose(kernels.softmax_backward(gy, y, axis, log), ref.softmax_backward(gy, y, axis, log), *tol(np.float32))


@pytest.mark.parametrize("axis", [0, 1])
def test_softmax_is_stable_for_huge_logits_on_any_axis(kernels, ref, axis):
    x, want = np.array([[1e4, -1e4], [1e4, 2e4]], np.float32), np.array([[0.5, 0.0], [0.5, 1.0]])
    if axis == 1:
        x, want = x.T, want.T
    for be in (kernels, ref):
        np.testing.assert_allclose(be.softmax_forward(x, axis), want)
        np.testing.assert_allclose(be.softmax_forward(x, axis, True).min(), -3e4)


def test_last_axis_equals_the_fused_activation(kernels):
    x = np.random.default_rng(3).standard_normal((5, 7))
    for name, log in (("softmax", False), ("log_softmax", True)):
        np.testing.assert_array_equal(kernels.softmax_forward(x, -1, log), kernels.activation_forward(name, x))


SOFTMAX_ERRORS = [
    (lambda c: c.softmax_forward(np.ones((2, 3)), 2), ValueError, r"softmax_forward: axis 2 is out of range for shape \(2, 3\) \(ndim 2\)"),
    (lambda c: c.softmax_forward(np.ones((2, 3)), -3), ValueError, r"softmax_forward: axis -3 is out of range"),
    (lambda c: c.softmax_forward(np.ones(()), -1), ValueError, r"softmax_forward: axis -1 is out of range for shape \(\) \(ndim 0\)"),
    (lambda c: c.softmax_forward(np.ones(3, np.int64), 0), TypeError, r"softmax_forward: x must be a float32 or float64"),
    (lambda c: c.softmax_backward(np.ones(3), np.ones(3, np.float32), 0), TypeError, r"softmax_backward: gy and y must have the same dtype, got float64 and float32"),
    (lambda c: c.softmax_backward(np.ones((2, 3)), np.ones((3, 2)), 0), ValueError, r"softmax_backward: y must have the shape of gy \(2, 3\), got \(3, 2\)"),
    (lambda c: c.softmax_backward(np.ones((2, 3)), np.ones((2, 3)), 5), ValueError, r"softmax_backward: axis 5 is out of range for shape \(2, 3\)"),
]


@pytest.mark.parametrize("call, err, match", SOFTMAX_ERRORS)
def test_softmax_errors_are_the_same_on_both_backends(kernels, ref, call, err, match):
    msgs = []
    for be in (ref, kernels):
        with pytest.raises(err, match=match) as e:
            call(be)
        msgs.append(str(e.value))
    assert msgs[0] == msgs[1]


@pytest.mark.parametrize("call, err, match", SOFTMAX_ERRORS + [
    (lambda c: c.softmax_forward(np.ones(3), "0"), TypeError, r"'str' object cannot be interpreted as an integer|int"),
])
def test_softmax_binding_defends_itself(core, call, err, match):
    with pytest.raises(err, match=match):
        call(core)


# ---- moments / moments_backward -----------------------------------------------------------
@st.composite
def shape_and_axes(draw):
    """A shape and numpy-style axes for it: None, an int, or a tuple (negative allowed)."""
    shape = draw(array_shapes(min_dims=0, max_dims=4, min_side=0, max_side=6))
    nd = len(shape)
    kind = draw(st.sampled_from(["none", "int", "tuple"]))
    if kind == "none":
        return shape, None
    if kind == "int" and nd:
        return shape, draw(st.integers(-nd, nd - 1))
    picked = draw(st.lists(st.integers(0, max(nd - 1, 0)), unique=True, max_size=nd))
    return shape, tuple(a - nd if draw(st.booleans()) else a for a in picked)


@settings(max_examples=250, deadline=None)
@given(sa=shape_and_axes(), keepdims=st.booleans(), dtype=dtypes, seed=st.integers(0, 2**31),
       offset=st.sampled_from([0.0, 100.0]), lx=st.sampled_from(LAYOUTS), grad_keepdims=st.booleans())
def test_moments_match_numpy(kernels, ref, sa, keepdims, dtype, seed, offset, lx, grad_keepdims):
    shape, axes = sa
    rng = np.random.default_rng(seed)
    x = layout(np.asarray(rng.standard_normal(shape) + offset).astype(dtype), lx)
    got, want = kernels.moments(x, axes, keepdims), ref.moments(x, axes, keepdims)
    for g, w in zip(got, want):
        assert g.dtype == dtype and g.shape == w.shape and g.flags.c_contiguous
        np.testing.assert_allclose(g, w, *tol(dtype))
    # the gradient, with the statistics' shapes with or without keepdims
    mean = want[0] if keepdims == grad_keepdims else ref.moments(x, axes, grad_keepdims)[0]
    gm, gv = (np.asarray(rng.standard_normal(mean.shape)).astype(dtype) for _ in range(2))
    gx, wgx = kernels.moments_backward(x, mean, gm, gv, axes), ref.moments_backward(x, mean, gm, gv, axes)
    assert gx.dtype == dtype and gx.shape == x.shape and gx.flags.c_contiguous
    np.testing.assert_allclose(gx, wgx, *tol(dtype))


@pytest.mark.parametrize("shape, axes", [
    ((1_000_000,), None),            # a million float32 values, all reduced
    ((1_000_000, 2), (0,)),          # columns
    ((2, 1_000_000), -1),            # rows
    ((250, 40, 100), (0, 1)),        # batch norm over (N, H*W), channels last
    ((100, 40, 250), (0, 2)),        # channels first: R K R
])
def test_moments_of_float32_with_a_large_offset_are_float64_accurate(kernels, ref, shape, axes):
    x = (1000.0 + np.random.default_rng(0).standard_normal(shape)).astype(np.float32)
    x64 = x.astype(np.float64)
    ax = tuple(range(x.ndim)) if axes is None else axes
    mean, var = kernels.moments(x, axes)
    np.testing.assert_allclose(mean, x64.mean(axis=ax), rtol=1e-7)
    np.testing.assert_allclose(var, x64.var(axis=ax), rtol=1e-6)


def test_moments_do_not_depend_on_thread_count(kernels):
    from nnrs import _core

    x = (5.0 + np.random.default_rng(4).standard_normal((300, 700))).astype(np.float32)
    before = _core.get_num_threads()
    try:
        runs = []
        for threads in (1, 2):
            _core.set_num_threads(threads)
            out = [a for axes in (None, (0,), (1,)) for a in kernels.moments(x, axes)]
            m, _ = kernels.moments(x, (0,))
            runs.append(out + [kernels.moments_backward(x, m, m, m, (0,))])
    finally:
        _core.set_num_threads(before)
    for a, b in zip(*runs):
        np.testing.assert_array_equal(a, b)


def test_moments_of_an_empty_reduction_are_nan(kernels, ref):
    x = np.ones((0, 3), np.float32)
    for be in (kernels, ref):
        mean, var = be.moments(x, 0)
        assert mean.shape == var.shape == (3,) and np.isnan(mean).all() and np.isnan(var).all()
        assert be.moments(x, 1)[0].shape == (0,)


MOMENTS_ERRORS = [
    (lambda c: c.moments(np.ones((2, 3)), (0, 2)), ValueError, r"moments: axis 2 is out of range for shape \(2, 3\) \(ndim 2\)"),
    (lambda c: c.moments(np.ones((2, 3)), -3), ValueError, r"moments: axis -3 is out of range"),
    (lambda c: c.moments(np.ones(()), 0), ValueError, r"moments: axis 0 is out of range for shape \(\) \(ndim 0\)"),
    (lambda c: c.moments(np.ones((2, 3)), (1, -1)), ValueError, r"moments: repeated axis"),
    (lambda c: c.moments(np.ones(3, np.int32)), TypeError, r"moments: x must be a float32 or float64"),
    (lambda c: c.moments_backward(np.ones((2, 3)), np.ones(3), np.ones(3), np.ones(3), 2), ValueError, r"moments_backward: axis 2 is out of range"),
    (lambda c: c.moments_backward(np.ones((2, 3)), np.ones(3, np.float32), np.ones(3), np.ones(3), 0), TypeError, r"moments_backward: x and mean must have the same dtype, got float64 and float32"),
    (lambda c: c.moments_backward(np.ones((2, 3)), np.ones(3), np.ones(2), np.ones(3), 0), ValueError, r"moments_backward: g_mean must have shape \(3,\) or \(1, 3\) for x \(2, 3\), got \(2,\)"),
    (lambda c: c.moments_backward(np.ones((2, 3)), np.ones(3), np.ones(3), np.ones((3, 1)), 0), ValueError, r"moments_backward: g_var must have shape \(3,\) or \(1, 3\)"),
]


@pytest.mark.parametrize("call, err, match", MOMENTS_ERRORS)
def test_moments_errors_are_the_same_on_both_backends(kernels, ref, call, err, match):
    msgs = []
    for be in (ref, kernels):
        with pytest.raises(err, match=match) as e:
            call(be)
        msgs.append(str(e.value))
    assert msgs[0] == msgs[1]


@pytest.mark.parametrize("call, err, match", [
    (lambda c: c.moments(np.ones((2, 3)), (0, 2)), ValueError, r"moments: axis 2 is out of bounds for array of dimension 2"),
    (lambda c: c.moments(np.ones((2, 3)), (1, -1)), ValueError, r"moments: duplicate value in 'axis'"),
    (lambda c: c.moments(np.ones(3), "0"), TypeError, r"moments: axes must be None, an int or a sequence of ints, got str"),
    (lambda c: c.moments(np.ones(3, np.int32)), TypeError, r"moments: x must be a float32 or float64 numpy array, got array of dtype int32"),
    (lambda c: c.moments_backward(np.ones((2, 3)), np.ones(3, np.float32), np.ones(3), np.ones(3), 0), TypeError, r"moments_backward: x and mean must have the same dtype"),
    (lambda c: c.moments_backward(np.ones((2, 3)), np.ones(3), np.ones(2), np.ones(3), 0), ValueError, r"moments_backward: g_mean must have shape \(3,\) or \(1, 3\) for x \(2, 3\), got \(2,\)"),
    (lambda c: c.moments_backward(np.ones((2, 3)), np.ones(3), np.ones(3), np.ones(3), 2), ValueError, r"moments_backward: axis 2 is out of bounds"),
])
def test_moments_binding_defends_itself(core, call, err, match):
    with pytest.raises(err, match=match):
        call(core)
