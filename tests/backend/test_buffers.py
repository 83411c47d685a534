"""Large kernel outputs reuse the memory of earlier ones (rust buffers.rs): the arrays must
behave as ordinary numpy arrays, views must keep their memory alive, and reuse must happen."""

import gc
import pickle

import numpy as np
from nnrs import _core

BIG = (300, 1000)  # 1.2 MB of float32: above the cache's 256 KiB threshold


def relu(x):
    return _core.activation_forward("relu", x, 0.0)


def empty_cache():
    """An empty cache, with no garbage left that a collection could return to it mid-test."""
    gc.collect()
    _core.release_cached_outputs()


def test_large_output_memory_is_reused_after_release():
    empty_cache()
    x = np.linspace(-1, 1, BIG[0] * BIG[1], dtype=np.float32).reshape(BIG)
    a = relu(x)
    addr = a.ctypes.data
    assert _core.cached_output_bytes() == 0
    del a
    assert _core.cached_output_bytes() == x.nbytes
    b = relu(x)
    assert b.ctypes.data == addr
    assert _core.cached_output_bytes() == 0
    np.testing.assert_array_equal(b, np.maximum(x, 0))


def test_cached_arrays_are_ordinary_writable_aligned_arrays():
    x = np.ones(BIG, dtype=np.float64)
    a = relu(x)
    assert a.dtype == np.float64 and a.shape == BIG
    assert a.flags.c_contiguous and a.flags.writeable and a.flags.aligned
    assert a.ctypes.data % 64 == 0
    a[0, 0] = 5.0
    assert a[0, 0] == 5.0
    assert np.array_equal(pickle.loads(pickle.dumps(a)), a)


def test_a_view_keeps_the_memory_alive():
    empty_cache()
    x = np.arange(BIG[0] * BIG[1], dtype=np.float32).reshape(BIG)
    a = relu(x)
    view = a[10:20]
    del a
    assert _core.cached_output_bytes() == 0  # still held by the view
    other = relu(-x)  # must not get the view's memory
    assert not np.shares_memory(other, view)
    np.testing.assert_array_equal(view, x[10:20])
    del view
    assert _core.cached_output_bytes() == x.nbytes


def test_zero_filled_outputs_from_reused_memory_are_zero():
    # conv backward of an input no output pixel reads (stride larger than the kernel) leaves
    # rows of gx untouched: they must be zero even when the memory held other values before
    rng = np.random.default_rng(0)
    x = rng.standard_normal((8, 64, 64, 4), dtype=np.float32)
    junk = relu(np.abs(x) + 1.0)  # fills the block that the next output takes
    del junk
    gy = np.ones((8, 32, 32, 4), dtype=np.float32)
    w = np.ones((1, 1, 4, 4), dtype=np.float32)
    gx = _core.conv2d_backward_input(gy, w, (8, 64, 64, 4), (2, 2), (0, 0, 0, 0), (1, 1), 1)
    assert np.all(gx[:, 1::2] == 0) and np.all(gx[:, :, 1::2] == 0)
    assert np.all(gx[:, ::2, ::2] == 4)


def test_release_empties_the_cache():
    a = relu(np.ones(BIG, dtype=np.float32))
    del a
    assert _core.cached_output_bytes() > 0
    _core.release_cached_outputs()
    assert _core.cached_output_bytes() == 0
