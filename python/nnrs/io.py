"""Saving and loading weights in the safetensors format: plain tensors and a JSON header,
so loading a file never executes code (no pickle).

A save writes a temporary file beside the target and renames it over the target only
when complete, so a failed save leaves the previous file as it was.
"""

from __future__ import annotations

import os
import tempfile

import numpy as np


def _key(i: int, var) -> str:
    return f"{i:04d}:{getattr(var, 'path', getattr(var, 'name', 'weight'))}"


def save_weights(model, filepath) -> None:
    """Write every weight of ``model`` (Keras order and shapes) to ``filepath``."""
    from safetensors.numpy import save_file

    filepath = os.fspath(filepath)
    tensors = {_key(i, v): np.ascontiguousarray(v.numpy()) for i, v in enumerate(model.weights)}
    folder = os.path.dirname(os.path.abspath(filepath))
    fd, tmp = tempfile.mkstemp(prefix=".nnrs-save-", suffix=".tmp", dir=folder)
    os.close(fd)
    try:
        save_file(tensors, tmp, metadata={"format": "nnrs", "model": model.name, "count": str(len(tensors))})
        os.replace(tmp, filepath)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def load_weights(model, filepath) -> None:
    """Set the weights of ``model`` from a file written by ``save_weights``.

    Weights are matched in order; the count and every shape must agree (a ValueError
    names the first weight that does not).
    """
    from safetensors import SafetensorError
    from safetensors.numpy import load_file

    filepath = os.fspath(filepath)
    try:
        stored = load_file(filepath)
    except (SafetensorError, OSError, ValueError) as e:
        raise ValueError(f"load_weights: {filepath!r} is not a readable safetensors weights file ({e})") from None
    keys = sorted(stored)
    variables = model.weights
    if len(keys) != len(variables):
        raise ValueError(f"load_weights: {filepath!r} holds {len(keys)} weights, model {model.name!r} has {len(variables)}")
    for k, v in zip(keys, variables):
        a = stored[k]
        if tuple(a.shape) != v.shape:
            raise ValueError(f"load_weights: weight {k.split(':', 1)[-1]!r} in the file has shape {tuple(a.shape)}, "
                             f"model weight {v.path!r} expects {v.shape}")
    for k, v in zip(keys, variables):
        v.assign(stored[k].astype(v.dtype, copy=False))
