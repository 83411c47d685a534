"""Weights files (safetensors here; .weights.h5 in test_saving.py): round trip, atomic save, clear errors, no code execution on load."""

import os
import pickle

import nnrs
import numpy as np
import pytest


def model(units=4):
    nnrs.random.seed(0)
    return nnrs.Sequential([nnrs.Input((3,)), nnrs.layers.Dense(units, activation="relu"), nnrs.layers.Dense(2)])


def test_round_trip(tmp_path, backend):
    a, b = model(), model()
    b.set_weights([w + 1 for w in b.get_weights()])
    path = tmp_path / "m.weights.safetensors"
    a.save_weights(path)
    b.load_weights(path)
    for wa, wb in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_array_equal(wa, wb)


def test_failed_save_keeps_the_previous_file(tmp_path, monkeypatch):
    path = tmp_path / "m.safetensors"
    m = model()
    m.save_weights(path)
    before = path.read_bytes()

    import safetensors.numpy

    def boom(tensors, filename, metadata=None):
        with open(filename, "wb") as f:
            f.write(b"partial")
        raise OSError("disk full")

    monkeypatch.setattr(safetensors.numpy, "save_file", boom)
    m.set_weights([w * 0 for w in m.get_weights()])
    with pytest.raises(OSError, match="disk full"):
        m.save_weights(path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["m.safetensors"]  # no temp file left


def test_mismatched_model_is_a_clear_error(tmp_path):
    path = tmp_path / "m.safetensors"
    model(4).save_weights(path)
    with pytest.raises(ValueError, match=r"shape \(3, 4\).*expects \(3, 5\)"):
        model(5).load_weights(path)


def test_overwrite_false(tmp_path):
    path = tmp_path / "m.safetensors"
    model().save_weights(path)
    with pytest.raises(FileExistsError):
        model().save_weights(path, overwrite=False)


class _Evil:
    def __reduce__(self):
        return (os.system, ("touch PWNED",))


def test_loading_a_pickle_never_runs_it(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "evil.safetensors"
    path.write_bytes(pickle.dumps(_Evil()))
    with pytest.raises(ValueError, match="not a readable safetensors"):
        model().load_weights(path)
    assert not (tmp_path / "PWNED").exists()


def test_the_suffix_picks_the_format(tmp_path):
    m = model()
    with pytest.raises(ValueError, match=r"'\.weights\.h5' \(Keras 3's format\) or '\.safetensors'"):
        m.save_weights(tmp_path / "m.bin")
    with pytest.raises(ValueError, match=r"'\.weights\.h5' \(Keras 3's format\) or '\.safetensors'"):
        m.load_weights(tmp_path / "m.bin")
    m.save_weights(tmp_path / "m.weights.h5")
    m.save_weights(tmp_path / "m.safetensors")
    assert (tmp_path / "m.weights.h5").read_bytes()[:8] == b"\x89HDF\r\n\x1a\n"  # HDF5, as Keras 3 writes
    assert (tmp_path / "m.weights.h5").read_bytes() != (tmp_path / "m.safetensors").read_bytes()
