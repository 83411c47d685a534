"""nnrs.datasets.mnist: IDX parsing, folder loading, the t10k split, and the checksummed
download (against a local http.server on 127.0.0.1)."""

import functools
import gzip
import hashlib
import http.server
import shutil
import threading

import numpy as np
import pytest
from nnrs import datasets
from nnrs.datasets import mnist

# Label counts of the 10,000 t10k images (shared/data/README.md).
T10K_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
CODES = {np.uint8: 0x08, np.int8: 0x09, np.int16: 0x0B, np.int32: 0x0C, np.float32: 0x0D, np.float64: 0x0E}


def idx_bytes(arr):
    arr = np.asarray(arr)
    header = bytes([0, 0, CODES[arr.dtype.type], arr.ndim]) + np.array(arr.shape, dtype=">u4").tobytes()
    return header + arr.astype(arr.dtype.newbyteorder(">")).tobytes()


def write_idx(path, arr, compress=True):
    data = idx_bytes(arr)
    path.write_bytes(gzip.compress(data) if compress else data)
    return path


def synthetic(n, seed):
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (n, 28, 28), dtype=np.uint8), rng.integers(0, 10, n, dtype=np.uint8)


def write_set(folder, prefix, x, y, compress=True):
    write_idx(folder / f"{prefix}-images-idx3-ubyte{'.gz' if compress else ''}", x, compress)
    write_idx(folder / f"{prefix}-labels-idx1-ubyte{'.gz' if compress else ''}", y, compress)


# --------------------------------------------------------------------------- IDX parsing


@pytest.mark.parametrize("dtype", list(CODES))
@pytest.mark.parametrize("shape", [(5,), (3, 4), (2, 3, 4)])
def test_parse_idx_roundtrip(dtype, shape):
    arr = (np.arange(int(np.prod(shape))) - 3).astype(dtype).reshape(shape)
    if dtype == np.uint8:
        arr = np.arange(int(np.prod(shape)), dtype=np.uint8).reshape(shape)
    out = mnist.parse_idx(idx_bytes(arr))
    assert out.dtype == np.dtype(dtype) and out.dtype.isnative
    np.testing.assert_array_equal(out, arr)
    out[...] = 0  # a writable copy


def test_read_idx_gzip_and_raw_same(tmp_path):
    x, _ = synthetic(4, 0)
    a = mnist.read_idx(write_idx(tmp_path / "a.gz", x, compress=True))
    b = mnist.read_idx(write_idx(tmp_path / "b", x, compress=False))
    np.testing.assert_array_equal(a, x)
    np.testing.assert_array_equal(b, x)


@pytest.mark.parametrize(
    "data, match",
    [
        (b"\x00\x00", "shorter than the 4-byte magic"),
        (b"\x01\x00\x08\x01" + b"\x00" * 8, "bad magic number 0x01000801"),
        (b"\x00\x00\x07\x01" + b"\x00" * 8, "bad magic number 0x00000701"),
        (b"\x00\x00\x08\x00", "bad magic number 0x00000800"),
        (b"\x00\x00\x08\x03\x00\x00\x00\x02", "needs 16 bytes"),
    ],
)
def test_bad_header_names_file(tmp_path, data, match):
    p = tmp_path / "bad-idx"
    p.write_bytes(data)
    with pytest.raises(ValueError, match=match) as e:
        mnist.read_idx(p)
    assert str(p) in str(e.value)


def test_truncated_and_trailing(tmp_path):
    data = idx_bytes(np.zeros((3, 28, 28), np.uint8))
    (tmp_path / "short").write_bytes(data[:-1])
    (tmp_path / "long").write_bytes(data + b"\x00")
    with pytest.raises(ValueError, match=r"short: IDX file truncated.*\(3, 28, 28\).*2368 bytes.*2367 bytes"):
        mnist.read_idx(tmp_path / "short")
    with pytest.raises(ValueError, match=r"long: IDX file has trailing bytes.*2369 bytes"):
        mnist.read_idx(tmp_path / "long")


def test_corrupt_gzip_names_file(tmp_path):
    good = gzip.compress(idx_bytes(np.zeros((3, 28, 28), np.uint8)))
    p = tmp_path / "cut.gz"
    p.write_bytes(good[: len(good) // 2])
    with pytest.raises(ValueError, match="cut.gz: not a valid gzip file"):
        mnist.read_idx(p)


# --------------------------------------------------------------------------- loading a folder


def test_load_full_folder(tmp_path):
    xtr, ytr = synthetic(12, 1)
    xte, yte = synthetic(5, 2)
    write_set(tmp_path, "train", xtr, ytr, compress=False)  # raw train files
    write_set(tmp_path, "t10k", xte, yte, compress=True)
    (a, b), (c, d) = mnist.load_data(str(tmp_path))
    for got, want in ((a, xtr), (b, ytr), (c, xte), (d, yte)):
        assert got.dtype == np.uint8
        np.testing.assert_array_equal(got, want)


def test_dotted_names_are_found(tmp_path):
    xte, yte = synthetic(8002, 3)
    write_idx(tmp_path / "t10k-images.idx3-ubyte", xte, compress=False)
    write_idx(tmp_path / "t10k-labels.idx1-ubyte", yte, compress=False)
    (a, _), (c, _) = mnist.load_data(tmp_path)
    assert a.shape == (8000, 28, 28) and c.shape == (2, 28, 28)


def test_t10k_only_split(tmp_path):
    x, y = synthetic(10000, 4)
    write_set(tmp_path, "t10k", x, y)
    (a, b), (c, d) = mnist.load_data(tmp_path)
    np.testing.assert_array_equal(a, x[:8000])
    np.testing.assert_array_equal(b, y[:8000])
    np.testing.assert_array_equal(c, x[8000:])
    np.testing.assert_array_equal(d, y[8000:])


def test_t10k_too_small_to_split(tmp_path):
    write_set(tmp_path, "t10k", *synthetic(100, 5))
    with pytest.raises(ValueError, match="too few to split at 8000"):
        mnist.load_data(tmp_path)


def test_missing_t10k_names_it(tmp_path):
    write_idx(tmp_path / "t10k-images-idx3-ubyte.gz", synthetic(3, 0)[0])
    with pytest.raises(FileNotFoundError, match="t10k-labels-idx1-ubyte.gz") as e:
        mnist.load_data(tmp_path)
    assert "t10k-images" not in str(e.value)


def test_single_train_file_is_an_error(tmp_path):
    write_set(tmp_path, "t10k", *synthetic(10000, 0))
    write_idx(tmp_path / "train-images-idx3-ubyte.gz", synthetic(3, 0)[0])
    with pytest.raises(FileNotFoundError, match="train-labels-idx1-ubyte.gz"):
        mnist.load_data(tmp_path)


def test_count_mismatch_names_both_files(tmp_path):
    x, y = synthetic(6, 0)
    write_idx(tmp_path / "t10k-images-idx3-ubyte.gz", x)
    write_idx(tmp_path / "t10k-labels-idx1-ubyte.gz", y[:5])
    with pytest.raises(ValueError, match=r"t10k-images-idx3-ubyte.gz holds 6 images but .*t10k-labels-idx1-ubyte.gz holds 5"):
        mnist.load_data(tmp_path)


def test_wrong_kind_of_file(tmp_path):
    x, y = synthetic(6, 0)
    write_idx(tmp_path / "t10k-images-idx3-ubyte.gz", y)  # labels where images belong
    write_idx(tmp_path / "t10k-labels-idx1-ubyte.gz", y)
    with pytest.raises(ValueError, match=r"t10k-images-idx3-ubyte.gz: expected MNIST images.*shape \(6,\)"):
        mnist.load_data(tmp_path)
    write_idx(tmp_path / "t10k-images-idx3-ubyte.gz", x.astype(np.int16))
    with pytest.raises(ValueError, match="got int16"):
        mnist.load_data(tmp_path)


def test_label_out_of_range(tmp_path):
    x, y = synthetic(6, 0)
    y[2] = 10
    write_set(tmp_path, "t10k", x, y)
    with pytest.raises(ValueError, match="labels are 0-9, found 10"):
        mnist.load_data(tmp_path)


def test_npz_and_bad_paths(tmp_path):
    xtr, ytr = synthetic(4, 0)
    xte, yte = synthetic(3, 1)
    np.savez(tmp_path / "mnist.npz", x_train=xtr, y_train=ytr, x_test=xte, y_test=yte)
    (a, b), (c, d) = mnist.load_data(tmp_path / "mnist.npz")
    np.testing.assert_array_equal(a, xtr)
    np.testing.assert_array_equal(d, yte)
    np.savez(tmp_path / "partial.npz", x_train=xtr)
    with pytest.raises(ValueError, match="missing arrays y_train, x_test, y_test"):
        mnist.load_data(tmp_path / "partial.npz")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        mnist.load_data(tmp_path / "nowhere")
    (tmp_path / "x.txt").write_text("hi")
    with pytest.raises(ValueError, match="folder of MNIST IDX files"):
        mnist.load_data(tmp_path / "x.txt")


def test_real_t10k(mnist_dir):
    (x, y), (xt, yt) = mnist.load_data(mnist_dir)
    assert x.shape == (8000, 28, 28) and xt.shape == (2000, 28, 28)
    assert y.shape == (8000,) and yt.shape == (2000,)
    assert x.dtype == y.dtype == np.uint8
    assert y[:10].tolist() == [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]
    assert np.bincount(np.concatenate([y, yt]), minlength=10).tolist() == T10K_COUNTS
    assert x.max() == 255 and x.min() == 0
    assert 30 < x.mean() < 40  # MNIST's mean pixel is about 33


def test_known_checksums_of_t10k(mnist_dir):
    """The table's IDX hashes are those of the shared copy's content."""
    for name in (mnist.TEST_IMAGES, mnist.TEST_LABELS):
        content = gzip.decompress((mnist_dir / name).read_bytes())
        assert hashlib.sha256(content).hexdigest() == mnist.CHECKSUMS[name]["idx"]


# --------------------------------------------------------------------------- download


class _Handler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture
def serve(monkeypatch):
    """``serve(folder)`` -> (base URL, list of requested paths) of an HTTP server on 127.0.0.1."""
    for var in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(var, raising=False)
    servers = []

    def start(folder, handler=_Handler):
        requested = []

        class Recording(handler):
            def do_GET(self):
                requested.append(self.path)
                super().do_GET()

        srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Recording, directory=str(folder)))
        threading.Thread(target=srv.serve_forever, daemon=True).start()
        servers.append(srv)
        return f"http://127.0.0.1:{srv.server_address[1]}/mnist", requested

    yield start
    for srv in servers:
        srv.shutdown()
        srv.server_close()


def _served_tree(tmp_path, files):
    """A folder ``<tmp>/www/mnist`` holding ``files`` (name -> bytes)."""
    root = tmp_path / "www"
    (root / "mnist").mkdir(parents=True)
    for name, data in files.items():
        (root / "mnist" / name).write_bytes(data)
    return root


def _leftovers(folder):
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".part"))


def test_download_from_local_server(tmp_path, mnist_dir, serve):
    root = tmp_path / "www"
    shutil.copytree(mnist_dir, root / "mnist")
    url, requested = serve(root)
    cache = tmp_path / "cache"
    out = mnist.download([mnist.TEST_IMAGES, mnist.TEST_LABELS], cache=cache, base_url=url, progress=False)
    assert out == cache
    for name in (mnist.TEST_IMAGES, mnist.TEST_LABELS):
        assert (cache / name).read_bytes() == (mnist_dir / name).read_bytes()
    assert requested == ["/mnist/" + mnist.TEST_IMAGES, "/mnist/" + mnist.TEST_LABELS]
    assert _leftovers(cache) == []
    # Cached files are not fetched again.
    mnist.download([mnist.TEST_IMAGES, mnist.TEST_LABELS], cache=cache, base_url=url + "/", progress=False)
    assert len(requested) == 2
    (x, y), (xt, yt) = mnist.load_data(cache)
    assert x.shape == (8000, 28, 28) and yt.shape == (2000,)


def test_load_data_none_downloads_missing_into_nnrs_home(tmp_path, mnist_dir, serve, monkeypatch):
    root = tmp_path / "www"
    shutil.copytree(mnist_dir, root / "mnist")
    url, requested = serve(root)
    home = tmp_path / "home"
    monkeypatch.setenv("NNRS_HOME", str(home))
    monkeypatch.setenv("NNRS_MNIST_URL", url)
    cache = home / "datasets" / "mnist"
    cache.mkdir(parents=True)
    xtr, ytr = synthetic(7, 9)  # train files already cached: only t10k is downloaded
    write_set(cache, "train", xtr, ytr)
    (x, y), (xt, yt) = mnist.load_data()
    assert sorted(requested) == sorted("/mnist/" + n for n in (mnist.TEST_IMAGES, mnist.TEST_LABELS))
    np.testing.assert_array_equal(x, xtr)
    np.testing.assert_array_equal(y, ytr)
    assert xt.shape == (10000, 28, 28)
    assert np.bincount(yt, minlength=10).tolist() == T10K_COUNTS


def test_404_leaves_nothing(tmp_path, serve):
    url, requested = serve(_served_tree(tmp_path, {}))  # an empty folder: every file is a 404
    cache = tmp_path / "cache"
    with pytest.raises(OSError, match=r"could not download train-images-idx3-ubyte.gz from http://127.0.0.1:\d+/mnist/train-images-idx3-ubyte.gz: HTTP 404"):
        mnist.load_data(cache=cache, base_url=url)
    assert requested == ["/mnist/" + mnist.TRAIN_IMAGES]
    assert list(cache.iterdir()) == []


def test_checksum_mismatch(tmp_path, serve):
    # A valid gzip IDX labels file of the right size, but not MNIST's labels.
    content = idx_bytes(np.arange(10000, dtype=np.uint8) % 10)
    bad = gzip.compress(content)
    url, _ = serve(_served_tree(tmp_path, {mnist.TEST_LABELS: bad}))
    cache = tmp_path / "cache"
    with pytest.raises(ValueError) as e:
        mnist.download(mnist.TEST_LABELS, cache=cache, base_url=url, progress=False)
    msg = str(e.value)
    assert "checksum mismatch for t10k-labels-idx1-ubyte.gz" in msg
    assert hashlib.sha256(content).hexdigest() in msg  # the hash found
    assert mnist.CHECKSUMS[mnist.TEST_LABELS]["idx"] in msg  # the hash expected
    assert list(cache.iterdir()) == []  # nothing half-written, nothing renamed into place


def test_checksum_mismatch_not_gzip(tmp_path, serve):
    page = b"<html>not found, but with status 200</html>"
    url, _ = serve(_served_tree(tmp_path, {mnist.TRAIN_LABELS: page}))
    cache = tmp_path / "cache"
    with pytest.raises(ValueError, match=hashlib.sha256(page).hexdigest()) as e:
        mnist.download(mnist.TRAIN_LABELS, cache=cache, base_url=url, progress=False)
    assert mnist.CHECKSUMS[mnist.TRAIN_LABELS]["idx"] in str(e.value)
    assert list(cache.iterdir()) == []


def test_standard_gz_hash_accepted(tmp_path, monkeypatch):
    """A file whose bytes hash to the table's gz value passes without being unpacked."""
    p = tmp_path / "f.gz"
    p.write_bytes(b"not even gzip")
    monkeypatch.setitem(mnist.CHECKSUMS, mnist.TEST_LABELS, {"gz": hashlib.sha256(b"not even gzip").hexdigest(), "idx": "0" * 64})
    mnist.verify(mnist.TEST_LABELS, p)
    p.write_bytes(b"something else")
    with pytest.raises(ValueError, match="checksum mismatch"):
        mnist.verify(mnist.TEST_LABELS, p)


class _Truncating(_Handler):
    """Announces more bytes than it sends, then hangs up."""

    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Length", "100000")
        self.end_headers()
        self.wfile.write(b"\x1f\x8b" + b"\x00" * 1000)
        self.wfile.flush()
        self.close_connection = True


def test_interrupted_download_leaves_nothing(tmp_path, serve):
    url, _ = serve(tmp_path, handler=_Truncating)
    cache = tmp_path / "cache"
    with pytest.raises(OSError, match="was interrupted"):
        mnist.download(mnist.TEST_LABELS, cache=cache, base_url=url, progress=False)
    assert list(cache.iterdir()) == []


def test_unreachable_server(tmp_path):
    dead = "http://127.0.0.1:1/mnist"  # port 1: connection refused
    with pytest.raises(OSError, match="could not download t10k-labels-idx1-ubyte.gz from http://127.0.0.1:1/mnist/"):
        mnist.download(mnist.TEST_LABELS, cache=tmp_path / "c", base_url=dead, progress=False, timeout=5)
    assert list((tmp_path / "c").iterdir()) == []


def test_unknown_file_name(tmp_path):
    with pytest.raises(ValueError, match="unknown MNIST file"):
        mnist.download("train-images.npz", cache=tmp_path)


def test_base_url_precedence(monkeypatch):
    monkeypatch.delenv("NNRS_MNIST_URL", raising=False)
    assert mnist._resolve_base_url() == mnist.BASE_URL
    monkeypatch.setenv("NNRS_MNIST_URL", "http://env.example/m")
    assert mnist._resolve_base_url() == "http://env.example/m/"
    assert mnist._resolve_base_url("http://arg.example/m/") == "http://arg.example/m/"


def test_cache_dir(monkeypatch, tmp_path):
    monkeypatch.setenv("NNRS_HOME", str(tmp_path / "h"))
    assert datasets.cache_dir("mnist") == tmp_path / "h" / "datasets" / "mnist"
    monkeypatch.delenv("NNRS_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "u"))
    assert datasets.cache_dir("mnist") == tmp_path / "u" / ".nnrs" / "datasets" / "mnist"
