"""Small data utilities: one-hot labels, train/test split, standardisation, mini-batches.

Randomness (shuffling) comes from ``nnrs.random.generator()``, so ``nnrs.random.seed(s)``
fixes it, unless a ``seed`` or ``rng`` is passed: an int seeds a fresh generator, a
``numpy.random.Generator`` is used as it is.
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from . import random as _random

__all__ = [
    "to_categorical",
    "one_hot",
    "train_test_split",
    "Standardizer",
    "standardize",
    "batches",
    "shuffle_indices",
]


def _rng(rng) -> np.random.Generator:
    """``None`` -> nnrs's generator; an int -> a fresh generator seeded with it; a Generator as is."""
    if rng is None:
        return _random.generator()
    if isinstance(rng, np.random.Generator):
        return rng
    if isinstance(rng, numbers.Integral) and not isinstance(rng, bool):
        return np.random.default_rng(int(rng))
    raise ValueError(f"expected None, an int seed or a numpy.random.Generator, got {type(rng).__name__}")


def _is_int(v) -> bool:
    return isinstance(v, numbers.Integral) and not isinstance(v, bool)


def _as_array(a):
    """Arrays (numpy, cupy, anything with shape and indexing) pass as they are; lists become numpy."""
    return a if hasattr(a, "shape") and hasattr(a, "__getitem__") else np.asarray(a)


def _check_same_length(x, y):
    if y is not None and len(x) != len(y):
        raise ValueError(f"x and y must have the same length (number of samples), got len(x)={len(x)} and len(y)={len(y)}")


# --------------------------------------------------------------------------- labels


def to_categorical(y, num_classes=None, dtype="float64"):
    """One-hot encode integer class labels, as ``keras.utils.to_categorical``.

    ``y`` holds class indices (ints, or floats with integral values) of any shape; a
    trailing axis of size 1 is dropped (``(n, 1)`` labels give ``(n, num_classes)``).
    ``num_classes`` defaults to ``max(y) + 1``. The result has shape
    ``y.shape + (num_classes,)`` and type ``dtype`` (float64 by default, the numpy array
    Keras 3 returns).
    """
    y = np.asarray(y)
    if y.dtype == bool or not (np.issubdtype(y.dtype, np.integer) or np.issubdtype(y.dtype, np.floating)):
        raise ValueError(f"to_categorical expects integer class labels, got an array of {y.dtype}")
    if np.issubdtype(y.dtype, np.floating):
        if not np.all(np.isfinite(y)) or not np.all(y == np.round(y)):
            raise ValueError("to_categorical expects integer class labels, got non-integral values")
    if y.ndim > 1 and y.shape[-1] == 1:
        y = y.reshape(y.shape[:-1])
    labels = y.astype(np.int64)
    if labels.size and labels.min() < 0:
        raise ValueError(f"class labels must be >= 0, found {labels.min()}")
    if num_classes is None:
        if labels.size == 0:
            raise ValueError("cannot infer num_classes from empty labels; pass num_classes")
        num_classes = int(labels.max()) + 1
    elif not _is_int(num_classes) or num_classes < 1:
        raise ValueError(f"num_classes must be a positive integer, got {num_classes!r}")
    elif labels.size and labels.max() >= num_classes:
        raise ValueError(f"class label {labels.max()} is out of range for num_classes={num_classes}")
    out = np.zeros(labels.shape + (int(num_classes),), dtype=dtype)
    flat = out.reshape(-1, int(num_classes))
    flat[np.arange(labels.size), labels.reshape(-1)] = 1
    return out


one_hot = to_categorical


# --------------------------------------------------------------------------- shuffling and splitting


def shuffle_indices(n, rng=None) -> np.ndarray:
    """A random permutation of ``range(n)`` (int64)."""
    if not _is_int(n) or n < 0:
        raise ValueError(f"n must be a non-negative integer, got {n!r}")
    return _rng(rng).permutation(int(n)).astype(np.int64)


def train_test_split(x, y=None, test_size=0.2, shuffle=True, seed=None):
    """Split samples (first axis) into a training and a test part, as scikit-learn's.

    Returns ``x_train, x_test, y_train, y_test`` (or ``x_train, x_test`` when ``y`` is
    None). ``test_size`` is a fraction in (0, 1) (the test part gets
    ``ceil(test_size * n)`` samples) or a number of samples; both parts must be non-empty.
    With ``shuffle=False`` the last samples are the test part.
    """
    x = _as_array(x)
    if y is not None:
        y = _as_array(y)
    _check_same_length(x, y)
    n = len(x)
    if _is_int(test_size):
        n_test = int(test_size)
    elif isinstance(test_size, numbers.Real) and not isinstance(test_size, bool) and 0 < test_size < 1:
        n_test = math.ceil(test_size * n)
    else:
        raise ValueError(f"test_size must be a fraction in (0, 1) or a number of samples, got {test_size!r}")
    if not 0 < n_test < n:
        raise ValueError(
            f"test_size={test_size!r} with {n} samples gives {n_test} test and {n - n_test} training samples; "
            "both must be at least 1"
        )
    if shuffle:
        idx = shuffle_indices(n, seed)
        train_idx, test_idx = idx[: n - n_test], idx[n - n_test :]
        parts = [x[train_idx], x[test_idx]]
        if y is not None:
            parts += [y[train_idx], y[test_idx]]
    else:
        if seed is not None:
            _rng(seed)  # still reject a malformed seed
        parts = [x[: n - n_test], x[n - n_test :]]
        if y is not None:
            parts += [y[: n - n_test], y[n - n_test :]]
    return tuple(parts)


# --------------------------------------------------------------------------- standardisation


def _norm_axis(axis, ndim):
    axes = (axis,) if _is_int(axis) else tuple(axis)
    if not axes or not all(_is_int(a) for a in axes):
        raise ValueError(f"axis must be an int or a non-empty tuple of ints, got {axis!r}")
    out = []
    for a in axes:
        if not -ndim <= a < ndim:
            raise ValueError(f"axis {a} is out of range for an array of {ndim} dimensions")
        out.append(a % ndim)
    if len(set(out)) != len(out):
        raise ValueError(f"repeated axis in {axis!r}")
    return tuple(sorted(out))


def _float_dtype(x):
    return x.dtype if np.issubdtype(x.dtype, np.floating) else np.dtype(np.float32)


class Standardizer:
    """Per-feature standardisation: ``(x - mean) / std``, statistics learned by ``fit``.

    ``axis`` names the axes the statistics are taken over (default 0, the samples: one
    mean and std per feature; ``(0, 1, 2)`` on ``(n, h, w, c)`` images gives one per
    channel). A feature with std 0 is divided by 1 instead, so constant features become
    0 and nothing turns into inf or nan. Statistics are computed in float64; the output
    keeps a floating input's dtype (float32 for integer input).
    Fitted attributes: ``mean_`` and ``std_`` (``std_`` with the zeros replaced by 1),
    shaped to broadcast against the input.
    """

    def __init__(self, axis=0):
        self.axis = axis
        self.mean_ = None
        self.std_ = None
        self._ndim = None
        self._axes = ()

    def fit(self, x):
        x = np.asarray(x)
        if x.ndim == 0:
            raise ValueError("Standardizer.fit needs an array with at least one axis, got a scalar")
        axes = _norm_axis(self.axis, x.ndim)
        if any(x.shape[a] == 0 for a in axes):
            raise ValueError(f"Standardizer.fit got an empty array of shape {x.shape}")
        x64 = x.astype(np.float64, copy=False)
        mean = x64.mean(axis=axes, keepdims=True)
        std = x64.std(axis=axes, keepdims=True)
        std[std == 0] = 1.0
        self.mean_, self.std_, self._ndim, self._axes = mean, std, x.ndim, axes
        return self

    def _check(self, x):
        if self.mean_ is None:
            raise RuntimeError("this Standardizer is not fitted yet; call fit(x) first")
        x = np.asarray(x)
        expected = tuple("*" if a in self._axes else d for a, d in enumerate(self.mean_.shape))
        if x.ndim != self._ndim or any(e != "*" and e != d for e, d in zip(expected, x.shape)):
            raise ValueError(
                f"Standardizer was fitted on shape {expected} ('*' any size), got an array of shape {x.shape}"
            )
        return x

    def transform(self, x):
        x = self._check(x)
        return ((x - self.mean_) / self.std_).astype(_float_dtype(x), copy=False)

    def fit_transform(self, x):
        return self.fit(x).transform(x)

    def inverse_transform(self, x):
        x = self._check(x)
        return (x * self.std_ + self.mean_).astype(_float_dtype(x), copy=False)


def standardize(x, axis=0):
    """``(x - mean) / std`` with the statistics of ``x`` itself over ``axis`` (std 0 -> 1)."""
    return Standardizer(axis=axis).fit_transform(x)


# --------------------------------------------------------------------------- mini-batches


def batches(x, y=None, batch_size=32, shuffle=False, rng=None):
    """Iterate over mini-batches ``(xb, yb)`` of ``batch_size`` samples (first axis).

    The last batch holds the remaining samples when ``batch_size`` does not divide the
    length. ``yb`` is None when ``y`` is None. Without shuffling the batches are slices
    (views) in order; with ``shuffle=True`` a fresh permutation is drawn from ``rng``
    (default ``nnrs.random.generator()``) each time this is called. Arguments are
    checked here, before the first batch is asked for.
    """
    x = _as_array(x)
    if y is not None:
        y = _as_array(y)
    if not _is_int(batch_size) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
    if getattr(x, "ndim", 1) == 0:
        raise ValueError("batches needs arrays with a sample axis, got a scalar x")
    _check_same_length(x, y)
    n = len(x)
    order = shuffle_indices(n, rng) if shuffle else None
    if not shuffle and rng is not None:
        _rng(rng)  # reject a malformed rng even when unused
    return _iter_batches(x, y, int(batch_size), order)


def _iter_batches(x, y, batch_size, order):
    for start in range(0, len(x), batch_size):
        if order is None:
            sel = slice(start, start + batch_size)
        else:
            sel = order[start : start + batch_size]
        yield x[sel], (None if y is None else y[sel])


# ---- batch sources: what fit / evaluate / predict accept besides arrays ------------------
class PyDataset:
    """Keras' ``PyDataset``: subclass it, define ``__len__`` (the number of batches) and
    ``__getitem__(index)`` returning one batch ``(x, y)`` or ``(x, y, sample_weight)``
    (``x`` alone for predict); ``on_epoch_begin``/``on_epoch_end`` run around each epoch.

    Batches are produced in the calling thread, in index order: ``workers`` > 1 and
    ``use_multiprocessing=True`` are not supported (an error says so).
    """

    def __init__(self, workers=1, use_multiprocessing=False, max_queue_size=10):
        if workers not in (None, 1):
            raise ValueError(f"PyDataset: workers={workers} is not supported; nnrs loads batches in the calling thread")
        if use_multiprocessing:
            raise ValueError("PyDataset: use_multiprocessing=True is not supported; nnrs loads batches in the calling thread")
        self.workers, self.use_multiprocessing, self.max_queue_size = 1, False, max_queue_size

    def __getitem__(self, index):
        raise NotImplementedError(f"{type(self).__name__}: a PyDataset defines __getitem__(index) returning one batch")

    def __len__(self):
        n = self.num_batches
        if n is None:
            raise TypeError(f"{type(self).__name__}: define __len__ (or num_batches) to give the number of batches")
        return n

    @property
    def num_batches(self):
        """The number of batches (``__len__`` by default)."""
        if type(self).__len__ is PyDataset.__len__:
            return None
        return len(self)

    def on_epoch_begin(self):
        """Called before each epoch."""

    def on_epoch_end(self):
        """Called after each epoch (shuffle your data here)."""


def is_batch_source(x) -> bool:
    """True when ``x`` yields whole batches (a PyDataset, a generator or another iterator,
    or an iterable that is not array data) rather than being the data itself."""
    if isinstance(x, PyDataset) or hasattr(x, "__next__"):
        return True
    if isinstance(x, (np.ndarray, list, tuple, dict, str, bytes)) or hasattr(x, "__array__") or hasattr(x, "shape"):
        return False
    return hasattr(x, "__iter__")


def unpack_batch(batch, who):
    """``(x, y, sample_weight)`` of one batch from a source (missing parts are None)."""
    if isinstance(batch, tuple):
        if not 1 <= len(batch) <= 3:
            raise ValueError(f"{who}: a batch must be x, (x,), (x, y) or (x, y, sample_weight), got a tuple of {len(batch)}")
        return tuple(batch) + (None,) * (3 - len(batch))
    return batch, None, None


class BatchSource:
    """Iterates the batches of a source epoch after epoch: a PyDataset restarts at index 0
    each epoch; an iterator continues where the last epoch stopped (like Keras, an epoch of
    ``steps`` batches, or until the iterator ends when ``steps`` is None); any other
    iterable is iterated afresh each epoch."""

    def __init__(self, source, steps=None):
        self.source = source
        self.steps = None if steps is None else int(steps)
        self._it = source if hasattr(source, "__next__") else None
        self._peeked = []
        self.exhausted = False

    @property
    def known_steps(self):
        if self.steps is not None:
            return self.steps
        if isinstance(self.source, PyDataset):
            return len(self.source)
        return None

    def peek(self):
        """The first batch (kept, and given again by the first epoch)."""
        if not self._peeked:
            if isinstance(self.source, PyDataset):
                self._peeked.append(self.source[0])
            else:
                if self._it is None:
                    self._it = iter(self.source)
                try:
                    self._peeked.append(next(self._it))
                except StopIteration:
                    return None
        return self._peeked[0]

    def epoch(self):
        src = self.source
        if isinstance(src, PyDataset):
            src.on_epoch_begin()
            n = len(src) if self.steps is None else min(self.steps, len(src))
            self._peeked = []
            for i in range(n):
                yield src[i]
            src.on_epoch_end()
            return
        if self._it is None or not hasattr(src, "__next__") and not self._peeked:
            self._it = iter(src)
        done = 0
        while self.steps is None or done < self.steps:
            if self._peeked:
                batch = self._peeked.pop(0)
            else:
                try:
                    batch = next(self._it)
                except StopIteration:
                    self.exhausted = True
                    self._it = None if not hasattr(src, "__next__") else self._it
                    return
            done += 1
            yield batch
