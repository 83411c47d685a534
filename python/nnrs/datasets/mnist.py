"""MNIST handwritten digits, read from the original IDX files.

``(x_train, y_train), (x_test, y_test) = nnrs.datasets.mnist.load_data()`` gives, as in
Keras, uint8 images of shape ``(n, 28, 28)`` and uint8 labels 0-9 of shape ``(n,)``.

Where the data comes from:

- ``load_data(path=folder)`` reads the IDX files in ``folder``: ``train-images-idx3-ubyte``,
  ``train-labels-idx1-ubyte``, ``t10k-images-idx3-ubyte``, ``t10k-labels-idx1-ubyte``,
  each gzip-compressed (``.gz``, detected by content) or raw; the dotted names of some
  unpacked copies (``train-images.idx3-ubyte``) are found too. The train files are
  optional: **when only the two t10k files are there, the 10,000 test images are split,
  the first 8,000 as the training set and the last 2,000 as the test set** (see
  ``T10K_SPLIT``).
- ``load_data(path="something.npz")`` reads a Keras ``mnist.npz`` (``x_train``,
  ``y_train``, ``x_test``, ``y_test``).
- ``load_data()`` uses the cache folder ``$NNRS_HOME/datasets/mnist`` (``NNRS_HOME``
  defaults to ``~/.nnrs``) and downloads the files it lacks from ``BASE_URL`` (or the
  ``base_url`` argument, or the ``NNRS_MNIST_URL`` environment variable). Every download
  is checked against the SHA-256 table ``CHECKSUMS`` and written to a temporary file
  that is renamed into place only once it is verified, so a failed or interrupted
  download never leaves a corrupt file in the cache.

The checksum of a download is accepted when either the file's own SHA-256 is that of the
standard ``.gz`` file, or the SHA-256 of its IDX content (after gunzip) is that of the
standard IDX file. The second check is what matters: mirrors that recompress the files
(another gzip header, another timestamp) serve the same digits under a different ``.gz``
hash.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import zlib
from pathlib import Path

import numpy as np

from . import cache_dir, fetch_verified

#: Default download location (the mirror of the original files that TensorFlow uses).
BASE_URL = "https://storage.googleapis.com/cvdf-datasets/mnist/"

#: Environment variable that overrides ``BASE_URL``.
URL_ENV = "NNRS_MNIST_URL"

TRAIN_IMAGES = "train-images-idx3-ubyte.gz"
TRAIN_LABELS = "train-labels-idx1-ubyte.gz"
TEST_IMAGES = "t10k-images-idx3-ubyte.gz"
TEST_LABELS = "t10k-labels-idx1-ubyte.gz"
FILES = (TRAIN_IMAGES, TRAIN_LABELS, TEST_IMAGES, TEST_LABELS)

#: Known SHA-256 of each standard file: ``gz`` of the file as distributed, ``idx`` of its
#: uncompressed IDX content (the t10k ``idx`` values were recomputed from a local copy).
CHECKSUMS = {
    TRAIN_IMAGES: {
        "gz": "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
        "idx": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    },
    TRAIN_LABELS: {
        "gz": "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
        "idx": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    },
    TEST_IMAGES: {
        "gz": "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
        "idx": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    },
    TEST_LABELS: {
        "gz": "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
        "idx": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
    },
}

#: With only the t10k files, images ``[:T10K_SPLIT]`` train and ``[T10K_SPLIT:]`` test.
T10K_SPLIT = 8000

# IDX type codes (third byte of the magic number) -> big-endian numpy dtype.
_IDX_DTYPES = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}


# --------------------------------------------------------------------------- reading


def _read_bytes(filename) -> bytes:
    """The content of ``filename``, gunzipped when it starts with the gzip magic."""
    with open(filename, "rb") as f:
        data = f.read()
    if data[:2] == b"\x1f\x8b":
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError, zlib.error) as e:
            raise ValueError(f"{filename}: not a valid gzip file ({e})") from None
    return data


def parse_idx(data: bytes, name="<bytes>") -> np.ndarray:
    """Parse IDX bytes (magic ``00 00 <type> <ndim>``, ``ndim`` big-endian uint32 sizes,
    then the values in big-endian order) into a native-endian array. Raises a
    ``ValueError`` naming ``name`` for a bad magic number or a length that does not match
    the sizes in the header."""
    if len(data) < 4:
        raise ValueError(f"{name}: not an IDX file: {len(data)} bytes, shorter than the 4-byte magic number")
    if data[0] != 0 or data[1] != 0 or data[2] not in _IDX_DTYPES or data[3] == 0:
        raise ValueError(
            f"{name}: not an IDX file: bad magic number 0x{data[:4].hex()} "
            "(expected 0x0000TTNN, TT a type code in 08 09 0b 0c 0d 0e, NN >= 1 dimensions)"
        )
    dtype = _IDX_DTYPES[data[2]]
    ndim = data[3]
    header = 4 + 4 * ndim
    if len(data) < header:
        raise ValueError(f"{name}: IDX header of {ndim} dimensions needs {header} bytes, the file has {len(data)}")
    shape = tuple(int(d) for d in np.frombuffer(data, dtype=">u4", count=ndim, offset=4))
    expected = header + int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if len(data) != expected:
        what = "truncated" if len(data) < expected else "has trailing bytes"
        raise ValueError(
            f"{name}: IDX file {what}: header says shape {shape} of {dtype.name} "
            f"({expected} bytes with the header), the file has {len(data)} bytes"
        )
    arr = np.frombuffer(data, dtype=dtype, offset=header).reshape(shape)
    return arr.astype(dtype.newbyteorder("="))  # native byte order, a writable copy


def read_idx(filename) -> np.ndarray:
    """Read one IDX file (gzip-compressed or raw) into a numpy array."""
    return parse_idx(_read_bytes(filename), name=str(filename))


def _check_images(arr, filename):
    if arr.dtype != np.uint8 or arr.ndim != 3 or arr.shape[1:] != (28, 28):
        raise ValueError(
            f"{filename}: expected MNIST images, uint8 of shape (n, 28, 28) (magic 0x00000803), "
            f"got {arr.dtype.name} of shape {arr.shape}"
        )
    return arr


def _check_labels(arr, filename):
    if arr.dtype != np.uint8 or arr.ndim != 1:
        raise ValueError(
            f"{filename}: expected MNIST labels, uint8 of shape (n,) (magic 0x00000801), "
            f"got {arr.dtype.name} of shape {arr.shape}"
        )
    if arr.size and int(arr.max()) > 9:
        raise ValueError(f"{filename}: MNIST labels are 0-9, found {int(arr.max())}")
    return arr


def _load_pair(images_file, labels_file):
    x = _check_images(read_idx(images_file), images_file)
    y = _check_labels(read_idx(labels_file), labels_file)
    if len(x) != len(y):
        raise ValueError(f"{images_file} holds {len(x)} images but {labels_file} holds {len(y)} labels")
    return x, y


def _find(folder: Path, name: str):
    """The file in ``folder`` holding ``name`` (``x-idx3-ubyte.gz``): the .gz, the raw file,
    or the dotted spelling ``x.idx3-ubyte``; None when absent."""
    raw = name[:-3]
    dotted = raw.replace("-idx", ".idx")
    for cand in (name, raw, dotted + ".gz", dotted):
        p = folder / cand
        if p.is_file():
            return p
    return None


def _load_folder(folder: Path):
    found = {name: _find(folder, name) for name in FILES}
    if found[TEST_IMAGES] is None or found[TEST_LABELS] is None:
        missing = [n for n in (TEST_IMAGES, TEST_LABELS) if found[n] is None]
        raise FileNotFoundError(
            f"MNIST files not found in {folder}: {', '.join(missing)} "
            "(gzip or raw; the train files are optional, the t10k files are required)"
        )
    x_test, y_test = _load_pair(found[TEST_IMAGES], found[TEST_LABELS])
    has_train = [found[n] is not None for n in (TRAIN_IMAGES, TRAIN_LABELS)]
    if all(has_train):
        x_train, y_train = _load_pair(found[TRAIN_IMAGES], found[TRAIN_LABELS])
        return (x_train, y_train), (x_test, y_test)
    if any(has_train):
        missing = TRAIN_LABELS if has_train[0] else TRAIN_IMAGES
        raise FileNotFoundError(f"{folder} holds one MNIST train file but not {missing}; add it or remove the other")
    if len(x_test) <= T10K_SPLIT:
        raise ValueError(
            f"{found[TEST_IMAGES]}: only the t10k files are in {folder}, and their {len(x_test)} images "
            f"are too few to split at {T10K_SPLIT}"
        )
    return (x_test[:T10K_SPLIT], y_test[:T10K_SPLIT]), (x_test[T10K_SPLIT:], y_test[T10K_SPLIT:])


def _load_npz(filename):
    with np.load(filename, allow_pickle=False) as f:
        keys = ("x_train", "y_train", "x_test", "y_test")
        missing = [k for k in keys if k not in f.files]
        if missing:
            raise ValueError(f"{filename}: missing arrays {', '.join(missing)} (a Keras mnist.npz has {', '.join(keys)})")
        return (f["x_train"], f["y_train"]), (f["x_test"], f["y_test"])


# --------------------------------------------------------------------------- download


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def verify(name: str, filename) -> None:
    """Check ``filename`` against the known checksums of the standard file ``name``;
    ``ValueError`` naming the file and both hashes on a mismatch."""
    sums = CHECKSUMS[name]
    with open(filename, "rb") as f:
        data = f.read()
    if _sha256(data) == sums["gz"]:
        return
    try:
        content = gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data
    except (OSError, EOFError, zlib.error) as e:
        raise ValueError(
            f"checksum mismatch for {name}: the download is not a valid gzip file ({e}); "
            f"its SHA-256 is {_sha256(data)}, expected {sums['gz']}"
        ) from None
    got = _sha256(content)
    if got != sums["idx"]:
        raise ValueError(
            f"checksum mismatch for {name}: SHA-256 of its IDX content is {got}, expected {sums['idx']} "
            f"(SHA-256 of the file itself is {_sha256(data)}, expected {sums['gz']})"
        )


def _resolve_base_url(base_url=None) -> str:
    url = base_url or os.environ.get(URL_ENV) or BASE_URL
    return url.rstrip("/") + "/"


def download(files=FILES, cache=None, base_url=None, timeout=60.0, progress=True) -> Path:
    """Make sure ``files`` (names from ``FILES``) are in the cache folder, downloading the
    missing ones from ``base_url`` (default: ``$NNRS_MNIST_URL`` or ``BASE_URL``) with a
    checksum check. Files already in the cache are not downloaded again. Returns the
    cache folder (default ``nnrs.datasets.cache_dir("mnist")``)."""
    if isinstance(files, str):
        files = (files,)
    unknown = [f for f in files if f not in CHECKSUMS]
    if unknown:
        raise ValueError(f"unknown MNIST file(s) {', '.join(unknown)}; expected names from {', '.join(FILES)}")
    folder = Path(cache) if cache is not None else cache_dir("mnist")
    folder.mkdir(parents=True, exist_ok=True)
    url = _resolve_base_url(base_url)
    for name in files:
        dest = folder / name
        if _find(folder, name) is None:
            fetch_verified(url + name, dest, name, lambda p, name=name: verify(name, p), timeout, progress)
    return folder


def load_data(path=None, base_url=None, cache=None):
    """``(x_train, y_train), (x_test, y_test)``: uint8 images ``(n, 28, 28)``, uint8 labels.

    ``path``: a folder holding the IDX files, or a Keras ``.npz`` file; None (default)
    reads the cache folder (``cache``, default ``$NNRS_HOME/datasets/mnist``) and downloads
    what it lacks from ``base_url`` (default ``$NNRS_MNIST_URL`` or ``BASE_URL``). When the
    folder has only the t10k files, their first 8,000 images are returned as the training
    set and the last 2,000 as the test set.
    """
    if path is None:
        folder = download(FILES, cache=cache, base_url=base_url)
        return _load_folder(folder)
    p = Path(path).expanduser()
    if p.is_dir():
        return _load_folder(p)
    if p.is_file() and p.suffix == ".npz":
        return _load_npz(p)
    if p.is_file():
        raise ValueError(f"{p}: load_data(path) takes a folder of MNIST IDX files or a Keras .npz file")
    raise FileNotFoundError(f"MNIST path {p} does not exist")
