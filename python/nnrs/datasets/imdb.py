"""IMDB movie reviews as sequences of word ids (Keras' ``keras.datasets.imdb``).

``(x_train, y_train), (x_test, y_test) = nnrs.datasets.imdb.load_data(num_words=10000)``
gives, as Keras does, object arrays of 25,000 Python lists of word ids each and int labels
(1 positive, 0 negative). ``get_word_index()`` gives the dict word -> rank (1 = most
frequent) that the ids are built from: a word of rank ``r`` has id ``r + index_from``.

Where the data comes from: ``load_data(path=...)`` reads ``path`` when it is an existing
file; otherwise ``path`` is a file name in the cache folder ``$NNRS_HOME/datasets/imdb``
(``NNRS_HOME`` defaults to ``~/.nnrs``), downloaded there when missing from Keras' public
location ``BASE_URL`` (or ``base_url=``), checked against ``CHECKSUMS`` (SHA-256 for
``imdb.npz``; for ``imdb_word_index.json`` Keras publishes only an MD5, which is checked)
through a temporary file that is renamed into place only once verified.

**Loading without pickle code.** Keras' ``imdb.npz`` stores ``x_train`` and ``x_test`` as
numpy *object* arrays (ragged lists), which ``numpy.load(allow_pickle=True)`` would
unpickle with the full ``pickle`` machinery: a crafted file could then run any code. nnrs
never does that. ``read_npz`` opens the zip itself; arrays of plain dtypes are read with
``allow_pickle=False``, and an object array's pickle stream goes through
``_RestrictedUnpickler``, whose ``find_class`` returns only the numpy names needed to
rebuild an array (``ndarray``, ``dtype`` and ``multiarray._reconstruct``, the last under
both ``numpy.core`` and ``numpy._core``) and raises
``pickle.UnpicklingError`` for every other global, so no other function or class of any
module can be called or even looked up. The result must then be a 1-D object array whose
items are lists (or integer arrays) of integers; anything else is refused.
"""

from __future__ import annotations

import hashlib
import io
import json
import pickle
import zipfile
from pathlib import Path

import numpy as np

from . import cache_dir, fetch_verified

#: Keras' public folder of dataset files.
BASE_URL = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"

#: Known checksums (algorithm, hex digest) of the files Keras publishes.
CHECKSUMS = {
    "imdb.npz": ("sha256", "69664113be75683a8fe16e3ed0ab59fda8886cb3cd7ada244f7d9544e4676b9f"),
    "imdb_word_index.json": ("md5", "bfafd718b763782e994055a2d397834f"),
}

#: The only globals an object array of lists needs: ``numpy.ndarray``, ``numpy.dtype`` and
#: ``_reconstruct`` under numpy < 2's and numpy >= 2's module names.
_ALLOWED_GLOBALS = frozenset({("numpy", "ndarray"), ("numpy", "dtype"), ("numpy.core.multiarray", "_reconstruct"),
                              ("numpy._core.multiarray", "_reconstruct")})


def _reconstruct():
    """numpy's ``multiarray._reconstruct`` (``numpy._core`` on numpy >= 2, ``numpy.core`` before)."""
    try:
        from numpy._core.multiarray import _reconstruct as fn
    except ImportError:  # numpy < 2
        from numpy.core.multiarray import _reconstruct as fn
    return fn


class _RestrictedUnpickler(pickle.Unpickler):
    """An unpickler that can rebuild numpy arrays and nothing else (see the module doc)."""

    def find_class(self, module, name):
        if (module, name) in _ALLOWED_GLOBALS:
            return _reconstruct() if name == "_reconstruct" else getattr(np, name)
        raise pickle.UnpicklingError(f"refused to load {module}.{name}: the file asks for code that an array of "
                                     "integer lists does not need")


def _read_member(f, name):
    version = np.lib.format.read_magic(f)
    if version == (1, 0):
        shape, fortran, dtype = np.lib.format.read_array_header_1_0(f)
    elif version in ((2, 0), (3, 0)):
        shape, fortran, dtype = np.lib.format.read_array_header_2_0(f)
    else:
        raise ValueError(f"{name}: unsupported .npy version {version}")
    if not dtype.hasobject:
        count = int(np.prod(shape, dtype=np.int64))
        data = f.read(count * dtype.itemsize)
        if len(data) != count * dtype.itemsize:
            raise ValueError(f"{name}: truncated array data")
        arr = np.frombuffer(data, dtype=dtype, count=count).copy()
        return arr.reshape(shape, order="F" if fortran else "C")
    try:
        arr = _RestrictedUnpickler(f, encoding="latin1").load()  # latin1: also Python 2 pickles
    except pickle.UnpicklingError:
        raise
    except Exception as e:  # a malformed stream: not the structure of a sequence file
        raise ValueError(f"{name}: unreadable object array ({type(e).__name__}: {e})") from None
    if not isinstance(arr, np.ndarray) or arr.dtype != object or arr.shape != tuple(shape):
        raise ValueError(f"{name}: expected an object array of shape {tuple(shape)}, got {type(arr).__name__}")
    out = np.empty(arr.shape, dtype=object)
    for i, item in enumerate(arr.reshape(-1)):
        if isinstance(item, np.ndarray) and item.ndim == 1 and item.dtype.kind in "iu":
            item = item.tolist()
        if not isinstance(item, list) or not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in item):
            raise ValueError(f"{name}: item {i} is not a list of integers ({type(item).__name__})")
        out.reshape(-1)[i] = [int(v) for v in item]
    return out


def read_npz(path):
    """The arrays of an ``.npz`` file as a dict name -> array, object arrays of integer
    lists included, without running pickle code (see the module docstring)."""
    out = {}
    with zipfile.ZipFile(path) as z:
        for info in z.infolist():
            if not info.filename.endswith(".npy"):
                continue
            key = info.filename[:-4]
            with z.open(info) as raw:
                out[key] = _read_member(io.BufferedReader(raw), f"{path}:{info.filename}")
    return out


# --------------------------------------------------------------------------- download


def _digest(algorithm, filename):
    h = hashlib.new(algorithm)
    with open(filename, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def verify(name, filename):
    """Check ``filename`` against the known checksum of Keras' file ``name`` (a
    ``ValueError`` naming both digests on a mismatch)."""
    algorithm, expected = CHECKSUMS[name]
    got = _digest(algorithm, filename)
    if got != expected:
        raise ValueError(f"checksum mismatch for {name}: {algorithm.upper()} {got}, expected {expected}")


def _resolve(path, default, cache, base_url, timeout=120.0):
    """``path`` when it is an existing file, else the cache file of that name (downloaded
    from ``base_url`` + the file name ``default`` when missing)."""
    p = Path(path).expanduser()
    if p.is_file():
        return p
    folder = Path(cache) if cache is not None else cache_dir("imdb")
    dest = folder / p.name
    if dest.is_file():
        return dest
    folder.mkdir(parents=True, exist_ok=True)
    url = (base_url or BASE_URL).rstrip("/") + "/" + default
    fetch_verified(url, dest, default, lambda p: verify(default, p), timeout)
    return dest


# --------------------------------------------------------------------------- API


def load_data(path="imdb.npz", num_words=None, skip_top=0, maxlen=None, seed=113, start_char=1, oov_char=2, index_from=3,
              cache=None, base_url=None):
    """``(x_train, y_train), (x_test, y_test)`` with Keras' arguments and semantics:

    each split is shuffled with ``numpy.random.RandomState(seed)`` (train first, then test,
    from the same generator); every word id is shifted by ``index_from`` and, unless
    ``start_char`` is None, a ``start_char`` is put first; with ``maxlen``, sequences of
    ``maxlen`` ids or more are dropped (a ``ValueError`` when none is left); then ids
    outside ``[skip_top, num_words)`` become ``oov_char`` (or are removed when it is None),
    ``num_words`` defaulting to the largest id. ``x`` are object arrays of lists of Python
    ints, ``y`` the labels as stored."""
    f = read_npz(_resolve(path, "imdb.npz", cache, base_url))
    missing = [k for k in ("x_train", "y_train", "x_test", "y_test") if k not in f]
    if missing:
        raise ValueError(f"{path}: missing arrays {', '.join(missing)} (an imdb.npz has x_train, y_train, x_test, y_test)")
    rng = np.random.RandomState(seed)
    splits = []
    for xk, yk in (("x_train", "y_train"), ("x_test", "y_test")):
        x, y = f[xk], f[yk]
        if len(x) != len(y):
            raise ValueError(f"{path}: {xk} has {len(x)} sequences but {yk} has {len(y)} labels")
        order = np.arange(len(x))
        rng.shuffle(order)
        x, y = x[order], y[order]
        head = [] if start_char is None else [start_char]
        seqs = [head + [w + index_from for w in s] for s in x] if (start_char is not None or index_from) else [list(s) for s in x]
        if maxlen:
            keep = [i for i, s in enumerate(seqs) if len(s) < maxlen]
            seqs, y = [seqs[i] for i in keep], y[np.asarray(keep, dtype=np.int64)]
        splits.append((seqs, y))
    (tr, ytr), (te, yte) = splits
    if maxlen and (not tr or not te):
        raise ValueError(f"imdb.load_data: no sequence is shorter than maxlen={maxlen}; increase maxlen")
    xs = tr + te
    if not num_words:
        num_words = max(max(s) for s in xs if s)
    if oov_char is not None:
        xs = [[w if skip_top <= w < num_words else oov_char for w in s] for s in xs]
    else:
        xs = [[w for w in s if skip_top <= w < num_words] for s in xs]

    def obj(seqs):
        a = np.empty(len(seqs), dtype=object)
        for i, s in enumerate(seqs):  # one by one: equal lengths must not make a 2-D array
            a[i] = s
        return a

    return (obj(xs[: len(tr)]), ytr), (obj(xs[len(tr):]), yte)


def get_word_index(path="imdb_word_index.json", cache=None, base_url=None):
    """The dict word -> rank (1 is the most frequent word) behind the ids of ``load_data``:
    id ``rank + index_from`` (3 by default) is that word. Read from ``path`` when it is an
    existing file, else from the cache (downloaded from Keras when missing)."""
    with open(_resolve(path, "imdb_word_index.json", cache, base_url), encoding="utf-8") as fh:
        index = json.load(fh)
    if not isinstance(index, dict) or not all(isinstance(v, int) for v in index.values()):
        raise ValueError(f"{path}: expected a JSON object of word -> integer rank")
    return index
