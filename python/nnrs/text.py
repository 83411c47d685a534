"""Text to integer ids: a word- or character-level vocabulary (``nnrs.text.Tokenizer``).

    tok = nnrs.text.Tokenizer(max_tokens=10000)        # words, lower-cased, punctuation stripped
    tok.adapt(train_texts)                              # (or tok.fit(...)): build the vocabulary
    ids = tok.encode(["A fine film!"])                  # [[id_a, id_fine, id_film]]
    x = nnrs.utils.pad_sequences(ids, maxlen=50, padding="post")
    tok.decode(ids[0])                                  # "a fine film"
    tok.save("vocab.json"); tok = nnrs.text.Tokenizer.load("vocab.json")

Reserved ids (as in Keras' ``TextVectorization``):

- **0 is padding**, its token the empty string ``""``. No text token ever gets id 0, so
  ``pad_sequences(..., value=0)`` and ``Embedding(mask_zero=True)`` can tell padding apart.
- **1 is out-of-vocabulary** (``oov_token``, ``"[UNK]"`` by default): every token that is
  not in the vocabulary (unseen, or cut by ``max_tokens``) encodes to 1.
- Tokens seen by ``adapt`` follow from id 2, the most frequent first; tokens of equal count
  keep the order in which they first appeared, so the vocabulary is reproducible.

``max_tokens`` bounds the whole vocabulary *including* the two reserved ids, as Keras
does: ``max_tokens=10000`` keeps the 9,998 most frequent tokens. ``min_count`` drops
tokens seen fewer times.

Standardization (``standardize``) runs before splitting: ``"lower_and_strip_punctuation"``
(default), ``"lower"``, ``"strip_punctuation"``, None, or a callable ``str -> str``.
Stripping removes the ASCII punctuation characters ``string.punctuation`` (so ``don't``
becomes ``dont``, as Keras' default does). Splitting (``split``): ``"whitespace"`` (default,
``str.split()``), ``"character"`` (every character, spaces included, is a token), or a
callable ``str -> list of str``.

Files are JSON (``save`` / ``load``: the config and the vocabulary list); nothing is
unpickled.
"""

from __future__ import annotations

import json
import string
from collections import Counter
from pathlib import Path

import numpy as np

__all__ = ["Tokenizer", "PAD_ID", "OOV_ID", "standardize_text"]

#: The id of padding (token ``""``).
PAD_ID = 0
#: The id of every token that is not in the vocabulary.
OOV_ID = 1

_STANDARDIZE = (None, "lower", "strip_punctuation", "lower_and_strip_punctuation")
_SPLIT = (None, "whitespace", "character")
_PUNCT = str.maketrans("", "", string.punctuation)
_FORMAT = "nnrs.text.Tokenizer"


def standardize_text(text, standardize="lower_and_strip_punctuation"):
    """``text`` lower-cased and/or stripped of ASCII punctuation, as ``standardize`` names."""
    if callable(standardize):
        return standardize(text)
    if standardize in ("lower", "lower_and_strip_punctuation"):
        text = text.lower()
    if standardize in ("strip_punctuation", "lower_and_strip_punctuation"):
        text = text.translate(_PUNCT)
    return text


class Tokenizer:
    """A vocabulary of words or characters, built from texts, that maps texts to ids and back.

    Arguments: ``max_tokens`` (vocabulary size bound including ids 0 and 1, None for no
    bound), ``standardize``, ``split`` (see the module docstring), ``min_count`` (drop
    rarer tokens), ``oov_token``, ``output_sequence_length`` (when set, ``encode`` returns an
    int array of that many columns, padded with 0 or truncated at the end, like Keras'
    ``TextVectorization``), ``vocabulary`` (a list of tokens to use instead of ``adapt``;
    without the reserved ``""`` and ``oov_token`` at its head, they are put there).
    """

    def __init__(self, max_tokens=None, standardize="lower_and_strip_punctuation", split="whitespace", min_count=1,
                 oov_token="[UNK]", output_sequence_length=None, vocabulary=None):
        if max_tokens is not None and (isinstance(max_tokens, bool) or not isinstance(max_tokens, (int, np.integer))
                                       or max_tokens < 3):
            raise ValueError(f"Tokenizer: max_tokens must be None or an integer >= 3 (two ids are reserved), got {max_tokens!r}")
        if not callable(standardize) and standardize not in _STANDARDIZE:
            raise ValueError(f"Tokenizer: standardize must be one of {list(_STANDARDIZE)} or a callable, got {standardize!r}")
        if not callable(split) and split not in _SPLIT:
            raise ValueError(f"Tokenizer: split must be one of {list(_SPLIT)} or a callable, got {split!r}")
        if isinstance(min_count, bool) or not isinstance(min_count, (int, np.integer)) or min_count < 1:
            raise ValueError(f"Tokenizer: min_count must be an integer >= 1, got {min_count!r}")
        if not isinstance(oov_token, str) or oov_token == "":
            raise ValueError(f"Tokenizer: oov_token must be a non-empty string, got {oov_token!r}")
        if output_sequence_length is not None and (not isinstance(output_sequence_length, (int, np.integer))
                                                   or output_sequence_length < 1):
            raise ValueError(f"Tokenizer: output_sequence_length must be None or a positive integer, got {output_sequence_length!r}")
        self.max_tokens = None if max_tokens is None else int(max_tokens)
        self.standardize = standardize
        self.split = "whitespace" if split is None else split
        self.min_count = int(min_count)
        self.oov_token = oov_token
        self.output_sequence_length = None if output_sequence_length is None else int(output_sequence_length)
        self._vocab: list = []
        self._index: dict = {}
        if vocabulary is not None:
            self.set_vocabulary(vocabulary)

    # ---- tokens -----------------------------------------------------------------------
    def tokenize(self, text):
        """The tokens of one text: standardized, then split."""
        if not isinstance(text, str):
            raise TypeError(f"Tokenizer: texts must be str, got {type(text).__name__}")
        text = standardize_text(text, self.standardize)
        if callable(self.split):
            return list(self.split(text))
        if self.split == "character":
            return list(text)
        return text.split()

    def _texts(self, texts, who):
        if isinstance(texts, str):
            raise TypeError(f"Tokenizer.{who}: expected a list of texts, got one str; wrap it in a list")
        return [t.decode("utf-8") if isinstance(t, bytes) else t for t in (texts.tolist() if isinstance(texts, np.ndarray) else texts)]

    # ---- building the vocabulary -------------------------------------------------------
    def adapt(self, texts):
        """Build the vocabulary from ``texts`` (an iterable of str): ids 0 and 1 reserved,
        then the tokens by decreasing count (ties in order of first appearance), at most
        ``max_tokens`` in all, each seen at least ``min_count`` times. Returns self."""
        counts: Counter = Counter()
        for t in self._texts(texts, "adapt"):
            counts.update(self.tokenize(t))
        counts.pop("", None)
        counts.pop(self.oov_token, None)
        ranked = sorted(counts.items(), key=lambda kv: -kv[1])  # stable: ties keep first appearance
        tokens = [tok for tok, c in ranked if c >= self.min_count]
        if self.max_tokens is not None:
            tokens = tokens[: self.max_tokens - 2]
        self._set(["", self.oov_token] + tokens)
        return self

    fit = adapt

    def set_vocabulary(self, vocabulary):
        """Use ``vocabulary`` (a list of distinct str) as the tokens; ``""`` and the OOV token
        are put at ids 0 and 1 unless it already starts with them."""
        vocab = list(vocabulary)
        if any(not isinstance(v, str) for v in vocab):
            raise TypeError("Tokenizer.set_vocabulary: every token must be a str")
        if vocab[:2] != ["", self.oov_token]:
            vocab = ["", self.oov_token] + vocab
        rest = vocab[2:]
        if "" in rest or self.oov_token in rest:
            raise ValueError(f"Tokenizer.set_vocabulary: the reserved tokens '' and {self.oov_token!r} may only be at ids 0 and 1")
        if len(set(rest)) != len(rest):
            dup = next(t for t, c in Counter(rest).items() if c > 1)
            raise ValueError(f"Tokenizer.set_vocabulary: token {dup!r} appears more than once")
        if self.max_tokens is not None and len(vocab) > self.max_tokens:
            raise ValueError(f"Tokenizer.set_vocabulary: {len(vocab)} tokens (with the 2 reserved) exceed max_tokens={self.max_tokens}")
        self._set(vocab)

    def _set(self, vocab):
        self._vocab = vocab
        self._index = {t: i for i, t in enumerate(vocab)}

    def _need_vocab(self, who):
        if not self._vocab:
            raise ValueError(f"Tokenizer.{who}: the vocabulary is empty; call adapt(texts) first or pass vocabulary=")

    # ---- access ------------------------------------------------------------------------
    @property
    def vocabulary(self):
        """The tokens in id order (id 0 ``""``, id 1 the OOV token, then the rest); a copy."""
        return list(self._vocab)

    def get_vocabulary(self):
        """Keras' name for ``vocabulary``."""
        return self.vocabulary

    @property
    def index(self):
        """The mapping token -> id (a copy)."""
        return dict(self._index)

    def vocabulary_size(self):
        """The number of ids, the reserved two included (the ``input_dim`` of an Embedding)."""
        return len(self._vocab)

    def __len__(self):
        return len(self._vocab)

    def token_to_id(self, token):
        """The id of ``token`` (1 when it is not in the vocabulary)."""
        return self._index.get(token, OOV_ID)

    def id_to_token(self, i):
        """The token of id ``i``; an ``IndexError`` outside ``[0, vocabulary_size())``."""
        i = int(i)
        if not 0 <= i < len(self._vocab):
            raise IndexError(f"Tokenizer: id {i} is out of range [0, {len(self._vocab)})")
        return self._vocab[i]

    # ---- encoding and decoding ---------------------------------------------------------
    def encode(self, texts):
        """Ids of ``texts`` (an iterable of str): a list of lists of ints, or, when
        ``output_sequence_length`` is set, an int64 array of that many columns (padded
        with 0 at the end, or truncated at the end)."""
        self._need_vocab("encode")
        get = self._index.get
        seqs = [[get(tok, OOV_ID) for tok in self.tokenize(t)] for t in self._texts(texts, "encode")]
        if self.output_sequence_length is None:
            return seqs
        n = self.output_sequence_length
        out = np.zeros((len(seqs), n), dtype=np.int64)
        for r, s in enumerate(seqs):
            s = s[:n]
            out[r, : len(s)] = s
        return out

    __call__ = encode

    def decode(self, ids, skip_padding=True):
        """The text of one sequence of ids (a list or 1-D array): tokens joined by a space
        (by nothing for ``split="character"``), padding ids 0 left out unless
        ``skip_padding=False``. A 2-D array or a list of lists gives a list of texts."""
        self._need_vocab("decode")
        if isinstance(ids, np.ndarray) and ids.ndim == 2 or (isinstance(ids, (list, tuple)) and ids
                                                              and isinstance(ids[0], (list, tuple, np.ndarray))):
            return [self.decode(row, skip_padding) for row in ids]
        toks = [self.id_to_token(i) for i in np.asarray(ids).reshape(-1).tolist() if not (skip_padding and int(i) == PAD_ID)]
        return ("" if self.split == "character" else " ").join(toks)

    # ---- config and files --------------------------------------------------------------
    def get_config(self):
        """The constructor arguments (a callable standardize / split cannot be saved)."""
        for what in ("standardize", "split"):
            if callable(getattr(self, what)):
                raise ValueError(f"Tokenizer: a callable {what} cannot be written to a config or file")
        return {"max_tokens": self.max_tokens, "standardize": self.standardize, "split": self.split,
                "min_count": self.min_count, "oov_token": self.oov_token,
                "output_sequence_length": self.output_sequence_length}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def save(self, path):
        """Write the config and the vocabulary to ``path`` as JSON (UTF-8)."""
        data = {"format": _FORMAT, "version": 1, "config": self.get_config(), "vocabulary": self._vocab}
        Path(path).write_text(json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8")

    @classmethod
    def load(cls, path):
        """A Tokenizer read from a JSON file written by ``save``."""
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        if not isinstance(data, dict) or data.get("format") != _FORMAT or not isinstance(data.get("vocabulary"), list):
            raise ValueError(f"{path}: not a tokenizer file written by {_FORMAT}.save")
        tok = cls.from_config(data["config"])
        if data["vocabulary"]:
            tok.set_vocabulary(data["vocabulary"])
        return tok

    def __repr__(self):
        return (f"<Tokenizer split={self.split!r} standardize={self.standardize!r} "
                f"vocabulary_size={len(self._vocab)}>")
