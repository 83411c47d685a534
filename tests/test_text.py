"""nnrs.text.Tokenizer (word and character vocabularies, reserved ids, JSON files) and
nnrs.utils.pad_sequences (against results recorded from Keras 3.15)."""

import json
from pathlib import Path

import nnrs
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from nnrs.text import OOV_ID, PAD_ID, Tokenizer
from nnrs.utils import pad_sequences

FIX = Path(__file__).resolve().parent / "fixtures" / "text"
TEXTS = ["The cat sat.", "the DOG sat!", "A cat, a dog; the end.", "cat"]


# ---- Tokenizer ---------------------------------------------------------------------------
def test_word_vocabulary_reserved_ids_and_frequency_order():
    tok = Tokenizer().adapt(TEXTS)
    # counts: the 3, cat 3, sat 2, dog 2, a 2, end 1; ties keep first appearance
    assert tok.vocabulary == ["", "[UNK]", "the", "cat", "sat", "dog", "a", "end"]
    assert tok.get_vocabulary() == tok.vocabulary and tok.vocabulary_size() == len(tok) == 8
    assert (PAD_ID, OOV_ID) == (0, 1)
    assert tok.index["cat"] == 3 and tok.token_to_id("zebra") == OOV_ID and tok.id_to_token(2) == "the"
    assert tok.encode(["The cat, the zebra!"]) == [[2, 3, 2, 1]]
    assert tok(["end"]) == [[7]]


def test_max_tokens_counts_the_reserved_ids_and_min_count_drops_rare_tokens():
    tok = Tokenizer(max_tokens=4).adapt(TEXTS)
    assert tok.vocabulary == ["", "[UNK]", "the", "cat"]
    assert tok.encode(["the dog"]) == [[2, 1]]
    assert Tokenizer(min_count=2).adapt(TEXTS).vocabulary[2:] == ["the", "cat", "sat", "dog", "a"]
    with pytest.raises(ValueError, match="max_tokens must be None or an integer >= 3"):
        Tokenizer(max_tokens=2)


@pytest.mark.parametrize("standardize, tokens", [
    ("lower_and_strip_punctuation", ["dont", "stop", "now"]),
    ("lower", ["don't", "stop,", "now!"]),
    ("strip_punctuation", ["Don't".replace("'", ""), "STOP", "now"]),
    (None, ["Don't", "STOP,", "now!"]),
    (str.upper, ["DON'T", "STOP,", "NOW!"]),
])
def test_standardize_options(standardize, tokens):
    assert Tokenizer(standardize=standardize).tokenize("Don't STOP, now!") == tokens


def test_whitespace_split_includes_nel_and_tabs():
    assert Tokenizer().tokenize("is\x85was  there\tthen") == ["is", "was", "there", "then"]


def test_character_level_round_trip():
    tok = Tokenizer(split="character", standardize="lower").adapt(["abba cab"])
    assert tok.vocabulary == ["", "[UNK]", "a", "b", " ", "c"]  # a, b 3 times; " " before c (first seen)
    ids = tok.encode(["cab, ab"])
    assert ids == [[5, 2, 3, 1, 4, 2, 3]]
    assert tok.decode(ids[0]) == "cab[UNK] ab"


def test_decode_skips_padding_and_takes_batches():
    tok = Tokenizer().adapt(TEXTS)
    padded = pad_sequences(tok.encode(["the cat", "a dog sat"]), maxlen=4)
    assert tok.decode(padded) == ["the cat", "a dog sat"]
    assert tok.decode(padded[0], skip_padding=False) == "  the cat"
    with pytest.raises(IndexError, match="id 99 is out of range"):
        tok.decode([99])


def test_output_sequence_length_pads_and_truncates_at_the_end():
    tok = Tokenizer(output_sequence_length=3).adapt(TEXTS)
    out = tok.encode(["the cat", "the cat sat dog"])
    assert out.dtype == np.int64 and out.tolist() == [[2, 3, 0], [2, 3, 4]]


def test_given_vocabulary_and_its_checks():
    tok = Tokenizer(vocabulary=["hello", "world"])
    assert tok.vocabulary == ["", "[UNK]", "hello", "world"]
    assert tok.encode(["Hello, big world"]) == [[2, 1, 3]]
    with pytest.raises(ValueError, match="appears more than once"):
        Tokenizer(vocabulary=["a", "a"])
    with pytest.raises(ValueError, match="reserved tokens"):
        Tokenizer(vocabulary=["a", "[UNK]"])


def test_errors():
    with pytest.raises(ValueError, match="the vocabulary is empty"):
        Tokenizer().encode(["x"])
    with pytest.raises(TypeError, match="wrap it in a list"):
        Tokenizer().adapt("one text")
    with pytest.raises(ValueError, match="split must be one of"):
        Tokenizer(split="bpe")
    with pytest.raises(ValueError, match="callable split cannot be written"):
        Tokenizer(split=str.split).get_config()


def test_json_round_trip_without_pickle(tmp_path):
    tok = Tokenizer(max_tokens=6, standardize="lower", split="whitespace", oov_token="<oov>").adapt(TEXTS + ["naïve café"])
    path = tmp_path / "vocab.json"
    tok.save(path)
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data["vocabulary"] == tok.vocabulary and data["config"]["oov_token"] == "<oov>"
    back = Tokenizer.load(path)
    assert back.vocabulary == tok.vocabulary and back.get_config() == tok.get_config()
    assert back.encode(TEXTS) == tok.encode(TEXTS)
    (tmp_path / "bad.json").write_text('{"vocabulary": []}')
    with pytest.raises(ValueError, match="not a tokenizer file"):
        Tokenizer.load(tmp_path / "bad.json")


def test_adapt_takes_numpy_object_arrays_and_bytes():
    x = np.empty(2, dtype=object)
    x[:] = ["a b", b"b c"]
    assert Tokenizer().adapt(x).vocabulary == ["", "[UNK]", "b", "a", "c"]


def test_exported_as_nnrs_text():
    assert nnrs.text.Tokenizer is Tokenizer and "text" in nnrs.__all__


# ---- pad_sequences ------------------------------------------------------------------------
_RECORDS = json.loads((FIX / "pad_sequences.json").read_text())


@pytest.mark.parametrize("i", range(len(_RECORDS)))
def test_pad_sequences_matches_keras(i):
    r = _RECORDS[i]
    kw = dict(r["kwargs"])
    if kw.get("dtype") == "object":
        kw["dtype"] = "object"  # the name, as the fixture passed it to Keras
    if "error" in r:
        with pytest.raises(ValueError):
            pad_sequences(r["sequences"], **kw)
        return
    out = pad_sequences(r["sequences"], **kw)
    assert str(out.dtype) == r["dtype"] and list(out.shape) == r["shape"]
    assert out.tolist() == r["result"]


def test_pad_sequences_keras_cases_cover_every_mode():
    kws = [r["kwargs"] for r in _RECORDS if "error" not in r]
    assert len(kws) > 350
    for key in ("padding", "truncating"):
        assert {k.get(key, "pre") for k in kws} == {"pre", "post"}
    assert sum("error" in r for r in _RECORDS) >= 5


def test_pad_sequences_strings_with_the_object_type():
    out = pad_sequences([["a", "b"], ["c"]], dtype=object, value="<pad>")
    assert out.tolist() == [["a", "b"], ["<pad>", "c"]]


@settings(max_examples=60, deadline=None)
@given(seqs=st.lists(st.lists(st.integers(-1000, 1000), max_size=9), min_size=1, max_size=6),
       maxlen=st.one_of(st.none(), st.integers(1, 10)), padding=st.sampled_from(["pre", "post"]),
       truncating=st.sampled_from(["pre", "post"]), value=st.integers(-3, 3))
def test_pad_sequences_definition(seqs, maxlen, padding, truncating, value):
    out = pad_sequences(seqs, maxlen=maxlen, padding=padding, truncating=truncating, value=value)
    width = max(len(s) for s in seqs) if maxlen is None else maxlen
    assert out.shape == (len(seqs), width) and out.dtype == np.int32
    for row, s in zip(out.tolist(), seqs):
        kept = s[len(s) - width:] if truncating == "pre" and len(s) > width else s[:width]
        fill = [value] * (width - len(kept))
        assert row == (fill + kept if padding == "pre" else kept + fill)


def test_pad_sequences_errors():
    with pytest.raises(ValueError, match='padding must be "pre" or "post"'):
        pad_sequences([[1]], padding="middle")
    with pytest.raises(ValueError, match="has no length"):
        pad_sequences([[1], 2])
    with pytest.raises(ValueError, match="no sequences"):
        pad_sequences([])
    with pytest.raises(ValueError, match="have shape"):
        pad_sequences([[[1, 2]], [[1, 2, 3]]])
