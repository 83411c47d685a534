"""Sentiment Labelled Sentences (Kotzias et al., KDD 2015): short reviews labelled 0/1.

``(x_train, y_train), (x_test, y_test) = nnrs.datasets.sentiment.load_data()`` reads every
``*_labelled.txt`` file of a folder (amazon_cells 1,000, imdb 1,000 and yelp 1,000 lines in
the UCI release; the copies in ``../shared/data/sentiment`` hold 932, 952 and 954), shuffles
the examples with a fixed seed and splits them, 80% train / 20% test by default. ``x`` are
numpy object arrays of Python ``str`` (one review each), ``y`` int64 arrays of 0 (negative)
and 1 (positive).

Each line of a file is ``sentence<TAB>label``. The files are real data, so the reader is
careful about three things:

- **Line ends.** Lines end at ``\\n``, ``\\r\\n`` or ``\\r`` only. Python's ``str.splitlines``
  also breaks at U+0085 (NEL), U+2028 and a few others; one imdb review holds a U+0085
  (the Windows-1252 ellipsis byte read as Latin-1), which would cut that review in two. The
  character stays in the text (``str.split()`` and the tokenizer treat it as whitespace).
- **The label** is what follows the *last* tab, stripped of whitespace, and must be ``0``
  or ``1``; anything else is a ``ValueError`` naming the file and line.
- **Whitespace and quotes.** The sentence is stripped of surrounding whitespace (many end
  in two spaces); quotes inside are kept as they are. Blank lines are skipped.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np

#: Environment variable naming the default folder; else ``../shared/data/sentiment``.
PATH_ENV = "NNRS_SENTIMENT_DIR"

#: Where ``load_data()`` looks without a ``path`` (relative to the working directory).
DEFAULT_PATH = os.path.join("..", "shared", "data", "sentiment")

_LINE_END = re.compile(r"\r\n|\r|\n")


def read_labelled(filename):
    """``(sentences, labels)`` of one ``sentence<TAB>label`` file, in file order: a list of
    ``str`` and a list of ints 0/1. The file must be UTF-8 (a BOM is ignored)."""
    raw = Path(filename).read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise ValueError(f"{filename}: not UTF-8 text ({e})") from None
    sentences, labels = [], []
    for lineno, line in enumerate(_LINE_END.split(text), start=1):
        if not line.strip():
            continue
        sentence, tab, label = line.rpartition("\t")
        label = label.strip()
        if not tab or label not in ("0", "1"):
            raise ValueError(f"{filename}, line {lineno}: expected 'sentence<TAB>label' with label 0 or 1, "
                             f"got {line[:80]!r}")
        sentences.append(sentence.strip())
        labels.append(int(label))
    return sentences, labels


def _files(path):
    p = Path(path).expanduser()
    if p.is_file():
        return [p]
    if p.is_dir():
        files = sorted(p.glob("*_labelled.txt"))
        if not files:
            raise FileNotFoundError(f"no *_labelled.txt files in {p}")
        return files
    raise FileNotFoundError(f"sentiment data {p} does not exist; pass path= a folder of *_labelled.txt files or one file "
                            f"(or set ${PATH_ENV})")


def load_files(path=None):
    """``(sentences, labels)`` of every ``*_labelled.txt`` file in ``path`` (a folder, in
    sorted file-name order, or one file), unshuffled: an object array of ``str`` and an
    int64 array. ``path`` defaults to ``$NNRS_SENTIMENT_DIR`` or ``../shared/data/sentiment``."""
    path = path if path is not None else os.environ.get(PATH_ENV, DEFAULT_PATH)
    sentences, labels = [], []
    for f in _files(path):
        s, l = read_labelled(f)
        sentences += s
        labels += l
    x = np.empty(len(sentences), dtype=object)
    x[:] = sentences
    return x, np.asarray(labels, dtype=np.int64)


def load_data(path=None, test_split=0.2, seed=113):
    """``(x_train, y_train), (x_test, y_test)``: the examples of ``load_files(path)``
    shuffled by a permutation from ``numpy.random.default_rng(seed)``; the last
    ``round(n * test_split)`` of them are the test set. ``x`` are object arrays of ``str``,
    ``y`` int64 labels (1 positive, 0 negative)."""
    if not 0.0 <= float(test_split) < 1.0:
        raise ValueError(f"sentiment.load_data: test_split must be in [0, 1), got {test_split!r}")
    x, y = load_files(path)
    order = np.random.default_rng(seed).permutation(len(x))
    x, y = x[order], y[order]
    n_test = int(round(len(x) * float(test_split)))
    cut = len(x) - n_test
    return (x[:cut], y[:cut]), (x[cut:], y[cut:])
