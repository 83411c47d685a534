"""Keras' ``keras.utils`` names that nnrs offers."""

from .data import PyDataset, to_categorical  # noqa: F401
from .plotting import model_to_dot_source, plot_history, plot_model  # noqa: F401
from .random import seed as set_random_seed  # noqa: F401
from .saving import get_registered_name, get_registered_object, register_keras_serializable  # noqa: F401

__all__ = ["PyDataset", "get_registered_name", "get_registered_object", "model_to_dot_source", "plot_history", "plot_model",
           "register_keras_serializable", "set_random_seed", "to_categorical"]
__all__ += ["pad_sequences"]


def pad_sequences(sequences, maxlen=None, dtype="int32", padding="pre", truncating="pre", value=0.0):
    """Sequences of different lengths as one array ``(len(sequences), maxlen) + sample_shape``
    (Keras' ``keras.utils.pad_sequences``, same arguments, defaults and results).

    ``maxlen`` defaults to the longest sequence. Longer sequences lose elements at the start
    (``truncating="pre"``) or the end (``"post"``); shorter ones are filled with ``value`` before
    (``padding="pre"``) or after (``"post"``) their elements. Elements may themselves be arrays
    (every non-empty sequence's elements must then have the shape of the first one's).
    ``dtype`` may be a string dtype or the type ``object`` when ``value`` is a string. Without
    ``maxlen``, an empty list of sequences is an error (there is no width)."""
    import numpy as _np

    if not hasattr(sequences, "__len__"):
        raise ValueError("pad_sequences: sequences must be a list of sequences (it has no length)")
    if padding not in ("pre", "post"):
        raise ValueError(f'pad_sequences: padding must be "pre" or "post", got {padding!r}')
    if truncating not in ("pre", "post"):
        raise ValueError(f'pad_sequences: truncating must be "pre" or "post", got {truncating!r}')
    lengths, sample_shape, found = [], (), False
    for s in sequences:
        try:
            lengths.append(len(s))
        except TypeError:
            raise ValueError(f"pad_sequences: sequences must be a list of sequences, found {s!r}, which has no length") from None
        if not found and len(s):
            sample_shape, found = _np.asarray(s).shape[1:], True
    if maxlen is None:
        if not lengths:
            raise ValueError("pad_sequences: no sequences, and no maxlen to give the result's width")
        maxlen = max(lengths)
    maxlen = int(maxlen)
    if maxlen < 0:
        raise ValueError(f"pad_sequences: maxlen must be >= 0, got {maxlen}")
    dt = _np.dtype(dtype)
    text_dtype = dt.kind in "US" or dtype is object  # as Keras: the type object, not the name "object"
    if isinstance(value, str) and not text_dtype:
        raise ValueError(f"pad_sequences: a string padding value ({value!r}) needs dtype=object (the type) or a string dtype, "
                         f"got dtype {dt}")
    out = _np.full((len(lengths), maxlen) + tuple(sample_shape), value, dtype=dt)
    if maxlen == 0:
        return out
    for row, s in enumerate(sequences):
        if not len(s):
            continue
        part = s[-maxlen:] if truncating == "pre" else s[:maxlen]
        part = _np.asarray(part, dtype=dt)
        if part.shape[1:] != tuple(sample_shape):
            raise ValueError(f"pad_sequences: the elements of sequence {row} have shape {part.shape[1:]}, "
                             f"expected {tuple(sample_shape)} (the shape of the first non-empty sequence's elements)")
        if padding == "post":
            out[row, : len(part)] = part
        else:
            out[row, len(out[row]) - len(part):] = part
    return out
