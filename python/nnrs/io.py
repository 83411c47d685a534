"""Weights files. ``model.save_weights`` / ``load_weights`` pick the format by suffix:

- ``.weights.h5`` (and ``.keras`` for loading): Keras 3's HDF5 layout, see ``nnrs.saving``;
- ``.safetensors``: plain tensors and a JSON header, matched to the model's weights in order.

Neither format can execute code on load (no pickle). A save writes a temporary file
beside the target and renames it over the target only when complete, so a failed save
leaves the previous file as it was.
"""

from __future__ import annotations

import os
import tempfile

import numpy as np


def _key(i: int, var) -> str:
    return f"{i:04d}:{getattr(var, 'path', getattr(var, 'name', 'weight'))}"


def _format(filepath, who):
    if filepath.endswith(".safetensors"):
        return "safetensors"
    if filepath.endswith((".weights.h5", ".keras")):
        return "keras"
    raise ValueError(f"{who}: the filename must end in '.weights.h5' (Keras 3's format) or '.safetensors', got {filepath!r}")


def save_weights(model, filepath, overwrite=True) -> None:
    """Write every weight of ``model`` to ``filepath`` (``.weights.h5`` or ``.safetensors``)."""
    filepath = os.fspath(filepath)
    if _format(filepath, "save_weights") == "keras":
        from . import saving

        saving.save_weights(model, filepath, overwrite=overwrite)
        return
    if not overwrite and os.path.exists(filepath):
        raise FileExistsError(f"save_weights: {filepath!r} exists and overwrite=False")
    from safetensors.numpy import save_file

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


def load_weights(model, filepath, skip_mismatch=False) -> None:
    """Set the weights of ``model`` from a file written by ``save_weights`` (or by Keras 3).

    Every shape is checked before any weight changes (a ValueError names the first one
    that does not match). Safetensors weights are matched in order, HDF5 ones by Keras'
    group layout; there ``skip_mismatch=True`` leaves the layers that do not fit as they are.
    """
    filepath = os.fspath(filepath)
    if _format(filepath, "load_weights") == "keras":
        from . import saving

        saving.load_weights(model, filepath, skip_mismatch)
        return
    if skip_mismatch:
        raise ValueError("load_weights: skip_mismatch=True applies to Keras files (.weights.h5, .keras), not to safetensors")
    from safetensors import SafetensorError
    from safetensors.numpy import load_file

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
