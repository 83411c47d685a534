"""The TensorBoard callback: event files in Keras 3's layout, read back record by record."""

import struct
from pathlib import Path

import nnrs
import numpy as np
import pytest

tbx = pytest.importorskip("tensorboardX", reason="the TensorBoard callback writes through tensorboardX (nnrs[tensorboard])")
from tensorboardX.proto import event_pb2  # noqa: E402


def read_events(folder):
    """Every Event of the event files in ``folder`` (TFRecord framing: length, crc, data, crc)."""
    events = []
    for path in sorted(Path(folder).glob("events.out.tfevents.*")):
        data = path.read_bytes()
        pos = 0
        while pos < len(data):
            (n,) = struct.unpack("<Q", data[pos:pos + 8])
            payload = data[pos + 12:pos + 12 + n]
            pos += 12 + n + 4
            e = event_pb2.Event()
            e.ParseFromString(payload)
            events.append(e)
    return events


def scalars(folder):
    out = {}
    for e in read_events(folder):
        for v in e.summary.value:
            if v.HasField("simple_value"):
                out.setdefault(v.tag, []).append((e.step, v.simple_value))
    return out


def histograms(folder):
    return {v.tag for e in read_events(folder) for v in e.summary.value if v.HasField("histo")}


def test_epoch_scalars_and_validation_folder(tmp_path):
    nnrs.random.seed(0)
    x = np.random.default_rng(0).standard_normal((40, 3)).astype("float32")
    y = x[:, :1] * 2
    model = nnrs.Sequential([nnrs.Input((3,)), nnrs.layers.Dense(4, activation="relu"), nnrs.layers.Dense(1)])
    model.compile(optimizer=nnrs.optimizers.SGD(0.05), loss="mse", metrics=["mae"])
    cb = nnrs.callbacks.TensorBoard(log_dir=tmp_path, histogram_freq=1, update_freq=2)
    hist = model.fit(x, y, batch_size=10, epochs=3, verbose=0, validation_split=0.25, callbacks=[cb])
    train, val = scalars(tmp_path / "train"), scalars(tmp_path / "validation")
    assert [s for s, _ in train["epoch_loss"]] == [0, 1, 2]
    np.testing.assert_allclose([v for _, v in train["epoch_loss"]], hist.history["loss"], rtol=1e-6)
    np.testing.assert_allclose([v for _, v in val["epoch_mae"]], hist.history["val_mae"], rtol=1e-6)
    np.testing.assert_allclose([v for _, v in train["epoch_learning_rate"]], [0.05] * 3, rtol=1e-6)
    assert [s for s, _ in train["batch_loss"]] == [2, 4, 6, 8]  # 3 batches an epoch, every second one logged
    assert histograms(tmp_path / "train") == {f"{layer.name}/{w}" for layer in model.layers for w in ("kernel", "bias")}


@pytest.mark.parametrize("kwargs", [{"write_images": True}, {"profile_batch": 2}, {"embeddings_freq": 1}, {"update_freq": 0}])
def test_unsupported_arguments_are_errors(kwargs):
    with pytest.raises(ValueError, match="TensorBoard"):
        nnrs.callbacks.TensorBoard(**kwargs)
