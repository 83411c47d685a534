"""The text CNN example trains end to end on the real Sentiment Labelled Sentences and reaches
the goal (>= 76% test accuracy on the seeded 20% split); 5 epochs instead of the default 10
(measured 80.8-83.6% over weight seeds 0-4 at 5 epochs, 81.5-82.2% at 10)."""

import nnrs
import numpy as np
import pytest
from nnrs.examples import sentiment_textcnn

from .conftest import DATA_DIR


def test_textcnn_reaches_76_percent(sentiment_dir, tmp_path):
    plot = tmp_path / "curves.svg"
    acc = sentiment_textcnn.main(["--data", str(sentiment_dir), "--epochs", "5", "--verbose", "0", "--plot", str(plot)])
    assert acc >= 0.76
    text = plot.read_text()
    assert text.startswith("<svg") and text.count("<polyline") == 4  # loss and accuracy, each with its val_ curve


def test_textcnn_model_shape(sentiment_dir):
    (x_train, y_train), (x_test, y_test), tok = sentiment_textcnn.prepare(str(sentiment_dir), maxlen=40, max_tokens=5000)
    assert x_train.shape == (2270, 40) and x_test.shape == (568, 40) and x_train.dtype.kind == "i"
    assert 0 < x_train.max() < tok.vocabulary_size() <= 5000
    model = sentiment_textcnn.build_model(tok.vocabulary_size(), 40)
    names = [l.name for l in model.layers]
    for n in ("embedding", "conv3", "conv4", "conv5", "pool3", "pool4", "pool5", "concat", "dropout", "out"):
        assert n in names
    assert model.predict(x_test[:3], verbose=0).shape == (3, 1)


def test_bilstm_reaches_76_percent(sentiment_dir, tmp_path):
    from nnrs.examples import sentiment_bilstm

    acc = sentiment_bilstm.main(["--data", str(sentiment_dir), "--verbose", "0", "--plot", str(tmp_path / "c.svg")])
    assert acc >= 0.76


def test_bilstm_reads_each_review_only_to_its_last_word(sentiment_dir):
    # the Embedding's mask stops both LSTM directions at the padding: a review padded to 40
    # ids gets the same prediction as the same review unpadded
    import numpy as np
    from nnrs.examples import sentiment_bilstm

    (x_train, _), _, tok = sentiment_textcnn.prepare(str(sentiment_dir), maxlen=40, max_tokens=5000)
    model = sentiment_bilstm.build_model(tok.vocabulary_size(), None)
    row = x_train[0]
    words = row[row != 0]
    padded = model.predict(row[None, :], verbose=0)
    bare = model.predict(words[None, :], verbose=0)
    np.testing.assert_allclose(padded, bare, rtol=1e-5, atol=1e-6)


def test_char_lstm_example_trains_and_samples(tmp_path):
    from nnrs.examples import char_lstm

    path = DATA_DIR / "tinyshakespeare" / "input.txt"
    if not path.exists():
        pytest.skip(f"tiny-shakespeare not found at {path} (set NNRS_DATA to the folder holding tinyshakespeare/)")
    text, chars, ids = char_lstm.load_text(path)
    assert len(chars) == 65 and len(ids) == len(text) == 1115394
    assert "".join(chars[i] for i in ids[:20]) == text[:20]
    x, y = char_lstm.windows(ids, np.array([0, 7]), 10)
    assert np.array_equal(x[1, 1:], y[1, :-1]) and np.array_equal(x[0], ids[:10])
    # a short run with a small LSTM: the validation loss falls well below log(65) = 4.17
    loss = char_lstm.main(["--data", str(path), "--steps", "60", "--units", "64", "--sample", "0"])
    assert loss < 3.4
    nnrs.random.seed(0)
    model = char_lstm.build(len(chars), units=16)
    out = char_lstm.sample(model, chars, "ROMEO:", n=25, temperature=0.8)
    assert out.startswith("ROMEO:") and len(out) == 31 and set(out) <= set(chars)
