"""Vanishing (and exploding) gradients, made visible.

``gradient_norms(model, x, y)`` runs one forward and backward pass of a compiled model on
a batch, without updating it, and returns:

- ``"time_steps"``: for every recurrent layer (by name), the norm of dLoss/dh_t for each
  time step t, in the order the layer processed the steps. h_t is the hidden state the
  layer hands to step t + 1 (and to its output), so dLoss/dh_t holds everything that
  reaches the loss from step t on: through the outputs and through the later steps. For
  a plain RNN it shrinks geometrically as t moves away from the steps that feed the loss;
  for LSTM and GRU it does not have to.
- ``"weights"``: for every trainable weight (by its path), the norm of dLoss/dweight.

Each norm is the Euclidean norm over the whole batch. To see the per-step gradients the
recurrent layers run their step loop (the fused whole-sequence kernel keeps h_t to
itself): after each step the loop adds one zero "probe" leaf to the step's output and to
its state h_t (for the built-in cells the output is h_t), whose gradient after
``backward`` is exactly dLoss/dh_t. ``plot_gradient_norms`` draws the result.
"""

from __future__ import annotations

import threading
from contextlib import contextmanager

import numpy as np

from .tensor import Tensor


class _Probes(threading.local):
    def __init__(self):
        self.active = None  # {layer name: [probe leaf per step]} while gradient_norms runs


_probes = _Probes()


def probing() -> bool:
    """Whether the recurrent layers must run their step loop and report each state."""
    return _probes.active is not None


def probe_leaf(layer, like: Tensor):
    """A zero leaf shaped as ``like``, recorded for ``layer``'s next time step (None outside
    ``gradient_norms``). The step loop adds it to the step's output and state, so its gradient
    is dLoss/dh_t."""
    if _probes.active is None:
        return None
    be = like.backend
    leaf = Tensor(be.xp.zeros(like.data.shape, dtype=like.data.dtype), backend=be, requires_grad=True)
    _probes.active.setdefault(layer.name, []).append(leaf)
    return leaf


@contextmanager
def _collecting():
    prev = _probes.active
    _probes.active = {}
    try:
        yield _probes.active
    finally:
        _probes.active = prev


def _norm(a) -> float:
    return float(np.sqrt(np.sum(np.square(np.asarray(a, dtype=np.float64))))) if a is not None else 0.0


def gradient_norms(model, x, y, sample_weight=None) -> dict:
    """Norms of dLoss/dh_t per time step of every recurrent layer, and of dLoss/dw for every
    trainable weight, for one batch (see the module docstring). The model must be compiled
    (its loss is used); its weights and optimizer are left as they were."""
    if getattr(model, "loss", None) is None:
        raise ValueError(f"gradient_norms: compile the model {model.name!r} first (its loss is what is differentiated)")
    weights = model.trainable_weights
    saved = [w.grad for w in weights]
    for w in weights:
        w.grad = None
    try:
        with _collecting() as probes:
            out = model(x, training=False)
            loss = model.loss(y, out, sample_weight)
        if not loss.requires_grad:
            raise ValueError(f"gradient_norms: the loss of {model.name!r} does not depend on any trainable weight")
        loss.backward()
        time_steps = {name: np.array([_norm(p.grad) for p in leaves]) for name, leaves in probes.items()}
        grads = {w.path: _norm(w.grad) for w in weights}
    finally:
        for w, g in zip(weights, saved):
            w.grad = g
    return {"time_steps": time_steps, "weights": grads}


def plot_gradient_norms(curves, path, title=None):
    """Write an SVG chart of per-time-step gradient norms: ``curves`` maps a name (a model,
    a layer) to the norms over time steps (e.g. ``gradient_norms(...)["time_steps"][layer]``).
    The y axis is log10 of the norm, so geometric decay is a straight line; a zero norm is
    drawn at the smallest positive one. Returns ``path``."""
    from .plotting import _svg_panel, _title_height, _write_svg

    series = []
    for name, norms in curves.items():
        v = np.asarray(norms, dtype=np.float64)
        if v.size == 0:
            raise ValueError(f"plot_gradient_norms: no norms for {name!r}")
        floor = v[v > 0].min() if np.any(v > 0) else 1.0
        series.append((name, list(np.log10(np.maximum(v, floor)))))
    w, h = 640, 320
    body = _svg_panel(0, _title_height(title), w, h, "log10 ||dLoss/dh_t|| by time step t", series)
    return _write_svg(path, w, h, title, body)
