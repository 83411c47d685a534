"""The dtype policy and the axis checks, table-driven: every case runs on every backend,
and the backends must agree exactly (same dtype and values, or the same error)."""

import nnrs
import numpy as np
import pytest
from nnrs import ops
from nnrs.tensor import Tensor, as_tensor

f32 = np.arange(6, dtype=np.float32).reshape(2, 3)
f64 = np.arange(6, dtype=np.float64).reshape(2, 3)
i64 = np.arange(6, dtype=np.int64).reshape(2, 3)

T = Tensor

CASES = [
    # (name, thunk) — one line per case; the thunk runs with the backend active
    ("list_of_ints_is_int32", lambda: T([1, 2, 3])),
    ("int_array_keeps_int64", lambda: T(np.arange(3))),
    ("list_of_floats_is_floatx", lambda: T([1.0, 2.0])),
    ("mixed_list_is_floatx", lambda: T([1, 2.5])),
    ("bool_list_is_bool", lambda: T([True, False])),
    ("float64_array_is_kept", lambda: T(f64)),
    ("dtype_argument_converts", lambda: T([1, 2], dtype="float64")),
    ("as_tensor_honours_dtype_for_tensors", lambda: as_tensor(T(f32), dtype="float64")),
    ("f32_plus_f64_is_f64", lambda: T(f32) + T(f64)),
    ("f64_times_f32_is_f64", lambda: T(f64) * T(f32)),
    ("f32_plus_python_float_stays_f32", lambda: T(f32) + 0.5),
    ("python_int_minus_f64", lambda: 3 - T(f64)),
    ("int_plus_f32_is_f32", lambda: T(i64) + T(f32)),
    ("int_plus_int_is_floatx", lambda: T(i64) + T(i64)),
    ("f32_plus_numpy_f64_is_f64", lambda: T(f32) + f64),
    ("int_tensor_exp_is_floatx", lambda: ops.exp(T(i64))),
    ("sum_of_ints_is_floatx", lambda: ops.sum(T(i64), axis=0)),
    ("matmul_promotes", lambda: ops.matmul(T(f32), T(f64.T))),
    ("maximum_promotes", lambda: ops.maximum(T(f32), T(f64))),
    ("concatenate_promotes", lambda: ops.concatenate([T(f32), T(f64)], axis=0)),
    ("concatenate_int_and_float", lambda: ops.concatenate([T(i64), T(f32)], axis=1)),
    ("cast_to_int_truncates", lambda: ops.cast(T(f32) * 0.7, "int32")),
    ("dense_layer_casts_float64_input", lambda: nnrs.layers.Dense(2, kernel_initializer="ones")(T(f64))),
    # axis checks: out of [-ndim, ndim) is a ValueError naming the op, the axis and the shape
    ("sum_axis_2_of_2d", lambda: ops.sum(T(f32), axis=2)),
    ("mean_axis_minus_3", lambda: ops.mean(T(f32), axis=-3)),
    ("max_repeated_axis", lambda: ops.max(T(f32), axis=(1, -1))),
    ("argmax_axis_2", lambda: ops.argmax(T(f32), axis=2)),
    ("concatenate_axis_2", lambda: ops.concatenate([T(f32), T(f32)], axis=2)),
    ("transpose_axis_out_of_range", lambda: ops.transpose(T(f32), (0, 2))),
    ("transpose_not_a_permutation", lambda: ops.transpose(T(f32), (1, -1))),
    ("softmax_axis_2", lambda: ops.softmax(T(f32), axis=2)),
    ("take_axis_2", lambda: ops.take(T(f32), T(np.array([0])), axis=2)),
    # the kernels themselves: mixed dtypes are rejected identically by every backend
    ("kernel_mixed_dtypes", lambda: nnrs.backend.current().binary("add", f32, f64)),
    ("kernel_int_input", lambda: nnrs.backend.current().unary("exp", i64)),
    ("kernel_axis_out_of_range", lambda: nnrs.backend.current().reduce("sum", f32, (2,))),
]


def outcome(thunk):
    try:
        r = thunk()
    except (TypeError, ValueError) as e:
        return ("error", type(e).__name__, str(e))
    a = r.numpy() if isinstance(r, Tensor) else np.asarray(r)
    return ("value", str(a.dtype), a.tolist())


@pytest.mark.parametrize("name, thunk", CASES, ids=[c[0] for c in CASES])
def test_backends_agree(name, thunk):
    got = {}
    for b in ("numpy", "cpu"):
        with nnrs.backend.use(b):
            got[b] = outcome(thunk)
    a, b = got["numpy"], got["cpu"]
    assert a[:2] == b[:2], got  # same kind and dtype (or exception type)
    if a[0] == "error":
        assert a[2] == b[2], got  # the same message, word for word
    else:  # the same values (float kernels may differ in the last bit, e.g. exp)
        np.testing.assert_allclose(np.asarray(a[2], dtype=float), np.asarray(b[2], dtype=float), rtol=1e-6)


EXPECTED = {
    "list_of_ints_is_int32": "int32", "int_array_keeps_int64": "int64", "list_of_floats_is_floatx": "float32",
    "mixed_list_is_floatx": "float32", "bool_list_is_bool": "bool", "float64_array_is_kept": "float64",
    "dtype_argument_converts": "float64", "as_tensor_honours_dtype_for_tensors": "float64",
    "f32_plus_f64_is_f64": "float64", "f64_times_f32_is_f64": "float64", "f32_plus_python_float_stays_f32": "float32",
    "python_int_minus_f64": "float64", "int_plus_f32_is_f32": "float32", "int_plus_int_is_floatx": "float32",
    "f32_plus_numpy_f64_is_f64": "float64", "int_tensor_exp_is_floatx": "float32", "sum_of_ints_is_floatx": "float32",
    "matmul_promotes": "float64", "maximum_promotes": "float64", "concatenate_promotes": "float64",
    "concatenate_int_and_float": "float32", "cast_to_int_truncates": "int32", "dense_layer_casts_float64_input": "float32",
}
ERRORS = {
    "sum_axis_2_of_2d": ("ValueError", r"sum: axis 2 is out of range for shape \(2, 3\)"),
    "mean_axis_minus_3": ("ValueError", r"mean: axis -3 is out of range for shape \(2, 3\)"),
    "max_repeated_axis": ("ValueError", r"max: repeated axis"),
    "argmax_axis_2": ("ValueError", r"argmax: axis 2 is out of range for shape \(2, 3\)"),
    "concatenate_axis_2": ("ValueError", r"concatenate: axis 2 is out of range for shape \(2, 3\)"),
    "transpose_axis_out_of_range": ("ValueError", r"transpose: axis 2 is out of range for shape \(2, 3\)"),
    "transpose_not_a_permutation": ("ValueError", r"transpose: axes \(1, 1\) are not a permutation"),
    "softmax_axis_2": ("ValueError", r"axis 2 is out of range for shape \(2, 3\)"),
    "take_axis_2": ("ValueError", r"axis 2 is out of range for shape \(2, 3\)"),
    "kernel_mixed_dtypes": ("TypeError", r"binary: a and b must have the same dtype, got float32 and float64"),
    "kernel_int_input": ("TypeError", r"unary: x must be a float32 or float64 array, got int64"),
    "kernel_axis_out_of_range": ("ValueError", r"reduce: axis 2 is out of range"),
}


@pytest.mark.parametrize("name, thunk", CASES, ids=[c[0] for c in CASES])
def test_each_case_gives_the_documented_result(backend, name, thunk):
    out = outcome(thunk)
    if name in ERRORS:
        kind, pattern = ERRORS[name]
        assert out[0] == "error" and out[1] == kind, out
        import re

        assert re.search(pattern, out[2]), out[2]
    else:
        assert out[0] == "value", out
        assert out[1] == EXPECTED[name], out


def test_floatx_sets_new_tensors_and_layers():
    from nnrs import config

    assert config.floatx() == "float32"
    try:
        config.set_floatx("float64")
        assert T([1.0]).dtype == np.float64
        layer = nnrs.layers.Dense(2)
        assert layer(T(f32)).dtype == np.float64 and layer.kernel.dtype == np.float64
    finally:
        config.set_floatx("float32")
    with pytest.raises(ValueError, match="set_floatx"):
        config.set_floatx("float16")


def test_values_of_promoted_ops_match_numpy():
    with nnrs.backend.use("cpu"):
        np.testing.assert_array_equal((T(f32) + T(f64)).numpy(), f32.astype(np.float64) + f64)
        np.testing.assert_array_equal(ops.cast(T(f32) * 0.7, "int32").numpy(), (f32 * np.float32(0.7)).astype(np.int32))
