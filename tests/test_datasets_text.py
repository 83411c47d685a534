"""nnrs.datasets.imdb (Keras' semantics, safe reading of pickled object arrays, checksummed
download) and nnrs.datasets.sentiment (the real files' counts and quirks)."""

import hashlib
import json
import os
import pickle
import urllib.request
from pathlib import Path

import nnrs
import numpy as np
import pytest
from nnrs.datasets import imdb, sentiment

FIX = Path(__file__).resolve().parent / "fixtures" / "text"
_CASES = json.loads((FIX / "imdb_keras.json").read_text())


# ---- imdb -------------------------------------------------------------------------------------
@pytest.mark.parametrize("case", _CASES, ids=[json.dumps(c["kwargs"]) for c in _CASES])
def test_imdb_load_data_matches_keras(case):
    (xtr, ytr), (xte, yte) = imdb.load_data(path=str(FIX / "imdb_small.npz"), **case["kwargs"])
    assert xtr.dtype == object and xtr.ndim == 1 and all(isinstance(s, list) for s in xtr)
    assert [list(s) for s in xtr] == case["x_train"] and ytr.tolist() == case["y_train"]
    assert [list(s) for s in xte] == case["x_test"] and yte.tolist() == case["y_test"]


def test_imdb_maxlen_that_keeps_nothing_is_an_error():
    with pytest.raises(ValueError, match="maxlen=2"):
        imdb.load_data(path=str(FIX / "imdb_small.npz"), maxlen=2)


def _ragged(rows):
    a = np.empty(len(rows), dtype=object)
    for i, r in enumerate(rows):
        a[i] = r
    return a


def test_read_npz_reads_object_and_plain_arrays(tmp_path):
    p = tmp_path / "d.npz"
    np.savez(p, x_train=_ragged([[1, 2], [3], [4, 5]]), y_train=np.array([0, 1, 1]),
             x_test=_ragged([[7, 8, 9], [1, 1, 1]]), y_test=np.array([1, 0], dtype=np.uint8))
    d = imdb.read_npz(p)
    assert [list(s) for s in d["x_train"]] == [[1, 2], [3], [4, 5]]
    assert d["x_test"].shape == (2,) and [list(s) for s in d["x_test"]] == [[7, 8, 9], [1, 1, 1]]
    assert d["y_test"].dtype == np.uint8 and d["y_test"].tolist() == [1, 0]


class _Evil:
    """Unpickling this calls os.system: what a crafted dataset file could do."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_a_file_with_a_malicious_pickle_is_refused_and_runs_nothing(tmp_path):
    marker = tmp_path / "pwned"
    p = tmp_path / "evil.npz"
    np.savez(p, x_train=_ragged([[1, 2], _Evil(marker)]), y_train=np.array([0, 1]),
             x_test=_ragged([[1]]), y_test=np.array([0]))
    with pytest.raises(pickle.UnpicklingError, match=r"refused to load (posix|nt)\.system"):
        imdb.load_data(path=str(p))
    assert not marker.exists()
    # numpy itself would have run it: the file really is malicious
    with np.load(p, allow_pickle=True) as f:
        f["x_train"]
    assert marker.exists()


def test_other_objects_than_integer_lists_are_refused(tmp_path):
    p = tmp_path / "strings.npz"
    np.savez(p, x_train=_ragged([["a", "b"]]), y_train=np.array([0]), x_test=_ragged([[1]]), y_test=np.array([0]))
    with pytest.raises(ValueError, match="not a list of integers"):
        imdb.read_npz(p)


def test_download_checks_the_sha256_and_keeps_no_bad_file(tmp_path, monkeypatch):
    good = (FIX / "imdb_small.npz").read_bytes()
    served = tmp_path / "served"
    served.mkdir()
    (served / "imdb.npz").write_bytes(good)
    monkeypatch.setitem(imdb.CHECKSUMS, "imdb.npz", ("sha256", hashlib.sha256(good).hexdigest()))
    cache = tmp_path / "cache"
    (xtr, _), _ = imdb.load_data(cache=cache, base_url=served.as_uri())
    assert len(xtr) == 30 and (cache / "imdb.npz").read_bytes() == good
    # a corrupt download: refused, nothing left in the cache
    (served / "imdb.npz").write_bytes(good[:-10] + b"0123456789")
    cache2 = tmp_path / "cache2"
    with pytest.raises(ValueError, match="checksum mismatch for imdb.npz: SHA256"):
        imdb.load_data(cache=cache2, base_url=served.as_uri())
    assert list(cache2.iterdir()) == []


def test_default_location_is_keras_public_folder_and_cache(monkeypatch, tmp_path):
    seen = []

    class Opener:
        def open(self, url, timeout):
            seen.append(url)
            raise urllib.error.URLError("no network in this test")

    monkeypatch.setattr(urllib.request, "build_opener", lambda: Opener())
    monkeypatch.setenv("NNRS_HOME", str(tmp_path))
    with pytest.raises(OSError, match="could not download imdb_word_index.json"):
        imdb.get_word_index()
    assert seen == ["https://storage.googleapis.com/tensorflow/tf-keras-datasets/imdb_word_index.json"]
    assert list((tmp_path / "datasets" / "imdb").iterdir()) == []


def test_get_word_index_reads_json(tmp_path):
    p = tmp_path / "wi.json"
    p.write_text(json.dumps({"the": 1, "and": 2}))
    assert imdb.get_word_index(path=str(p)) == {"the": 1, "and": 2}
    assert nnrs.datasets.imdb is imdb


# ---- sentiment --------------------------------------------------------------------------------
def test_sentiment_files_give_the_documented_counts(sentiment_dir):
    counts = {f.name: len(sentiment.read_labelled(f)[0]) for f in sorted(sentiment_dir.glob("*_labelled.txt"))}
    assert counts == {"amazon_cells_labelled.txt": 932, "imdb_labelled.txt": 952, "yelp_labelled.txt": 954}
    x, y = sentiment.load_files(sentiment_dir)
    assert len(x) == len(y) == 2838 and set(y.tolist()) == {0, 1} and y.dtype == np.int64
    assert all(isinstance(s, str) and s == s.strip() and s and "\t" not in s for s in x)
    nel = [s for s in x if "\x85" in s]
    assert len(nel) == 2 and nel[0].startswith("The script is\x85was there a script?")  # kept whole, not cut at U+0085


def test_sentiment_load_data_split_is_seeded_80_20(sentiment_dir):
    (xtr, ytr), (xte, yte) = sentiment.load_data(sentiment_dir)
    assert (len(xtr), len(xte)) == (2270, 568)
    (xtr2, _), (xte2, _) = sentiment.load_data(sentiment_dir)
    assert xtr.tolist() == xtr2.tolist() and xte.tolist() == xte2.tolist()
    (xtr3, _), _ = sentiment.load_data(sentiment_dir, seed=1)
    assert xtr3.tolist() != xtr.tolist()
    assert sorted(xtr.tolist() + xte.tolist()) == sorted(sentiment.load_files(sentiment_dir)[0].tolist())
    assert 0.4 < ytr.mean() < 0.6


def test_sentiment_line_ends_quotes_and_bad_labels(tmp_path):
    p = tmp_path / "x_labelled.txt"
    p.write_bytes('  "Great"  phone!\t1\r\nbad\u0085worse \t 0\rok\tthen\t1\n\n'.encode("utf-8"))
    s, l = sentiment.read_labelled(p)
    assert s == ['"Great"  phone!', "bad\u0085worse", "ok\tthen"] and l == [1, 0, 1]
    (tmp_path / "y_labelled.txt").write_text("fine\t2\n")
    with pytest.raises(ValueError, match=r"y_labelled.txt, line 1: expected 'sentence<TAB>label'"):
        sentiment.load_files(tmp_path)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        sentiment.load_data(tmp_path / "nope")
