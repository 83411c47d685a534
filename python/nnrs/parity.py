"""Cross-backend parity: the same model, from the same weights, on two backends.

``check_parity(model, x, y, backends=("cpu", "cuda"))`` copies a compiled model once per
backend (``clone_model`` + ``set_weights``, and a fresh optimizer built from the model's
optimizer config), moves each copy to its backend, optionally trains both ``steps`` steps
on ``(x, y)`` from the same start (same seed, same optimizer), then runs one forward and
backward pass on each and compares, layer by layer (the model's top-level layers, in call
order):

- the layer's output (its activation),
- dLoss/d(output): during the pass each layer's output gets a zero "probe" leaf added,
  whose gradient after ``backward`` is exactly the gradient reaching that output,
- dLoss/dw for every trainable weight of the layer,

and also the loss itself. For each quantity it reports the largest absolute difference and
the relative difference ``max|a - b| / max|b|`` (the largest difference against the
quantity's scale; ``b`` is the first backend's value). A quantity diverges when
``max|a - b| > atol + rtol * max|b|`` (a tolerance relative to the quantity's scale, so an
element that is small because of cancellation is not held to a tighter bound than its
neighbours; a NaN or inf in one backend only always diverges). The report names the first
quantity that diverges in execution order: the outputs in call order, the loss, then the
gradients from the last layer back. The model itself is left untouched; ``nnrs.random`` is
reseeded with ``seed`` before each side runs.

A backend that cannot run the model (a kernel the cuda backend does not have yet) makes
``check_parity`` raise ``NotImplementedError`` naming the backend, the layer that was
running and the missing kernel; a backend that is not usable here raises
``nnrs.backend.BackendUnavailableError``.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

import numpy as np

from . import backend as _backend_module
from . import random as _random
from .tensor import Tensor

__all__ = ["ParityReport", "ParityRow", "check_parity"]


@dataclass
class ParityRow:
    """One compared quantity: ``layer`` (name), ``what`` (``"output"``, ``"grad output"``,
    ``"grad <weight name>"`` or ``"loss"``), its shape, the largest absolute and relative
    difference, and whether it stays within tolerance."""

    layer: str
    what: str
    shape: tuple
    max_abs: float
    max_rel: float
    ok: bool
    step: int = 0  # position in execution order: forward outputs, the loss, then the backward (last layer first)


@dataclass
class ParityReport:
    """What ``check_parity`` found. ``ok`` is True when every row is within tolerance;
    ``first_divergence`` is the first row that is not, in execution order (the layers' outputs
    in call order, the loss, then the gradients from the last layer back to the first), or None.
    The table lists the rows grouped by layer, in call order."""

    backends: tuple
    dtype: str
    steps: int
    rtol: float
    atol: float
    rows: list = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(r.ok for r in self.rows)

    @property
    def first_divergence(self):
        bad = [r for r in self.rows if not r.ok]
        return min(bad, key=lambda r: r.step) if bad else None

    @property
    def diverging_layers(self) -> list:
        """Names of the layers with at least one row out of tolerance, in execution order."""
        seen = []
        for r in sorted(self.rows, key=lambda r: r.step):
            if not r.ok and r.layer not in seen:
                seen.append(r.layer)
        return seen

    def max_rel(self, what=None) -> float:
        """The largest relative difference over all rows (or the rows whose ``what`` starts with ``what``)."""
        vals = [r.max_rel for r in self.rows if what is None or r.what.startswith(what)]
        return max(vals) if vals else 0.0

    def __str__(self):
        a, b = self.backends
        head = (f"parity {a} vs {b} ({self.dtype}, after {self.steps} training step(s), "
                f"rtol={self.rtol:g}, atol={self.atol:g})")
        cols = ("layer", "quantity", "shape", "max abs diff", "max rel diff", "")
        cells = [cols] + [(r.layer, r.what, "x".join(map(str, r.shape)) or "()", f"{r.max_abs:.3e}", f"{r.max_rel:.3e}",
                           "ok" if r.ok else "DIVERGES") for r in self.rows]
        widths = [max(len(c[i]) for c in cells) for i in range(len(cols))]
        lines = [head] + ["  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in cells]
        first = self.first_divergence
        lines.append("all within tolerance" if first is None else
                     f"first divergence: layer {first.layer!r}, {first.what} (max rel diff {first.max_rel:.3e})")
        return "\n".join(lines)

    __repr__ = __str__


def _compare(layer, what, a, b, rtol, atol):
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        return ParityRow(layer, what, tuple(b.shape), float("inf"), float("inf"), False)
    if a.size == 0:
        return ParityRow(layer, what, tuple(b.shape), 0.0, 0.0, True)
    d = np.abs(a - b)
    finite = np.isfinite(a) & np.isfinite(b)
    same_nonfinite = ~finite & ((a == b) | (np.isnan(a) & np.isnan(b)))
    d = np.where(same_nonfinite, 0.0, np.where(finite, d, np.inf))
    mag = np.abs(np.where(np.isfinite(b), b, 0.0))
    dmax = float(d.max())
    scale = float(mag.max())
    ok = dmax <= atol + rtol * scale
    rel = 0.0 if dmax == 0.0 else (dmax / scale if scale > 0.0 else float("inf"))
    return ParityRow(layer, what, tuple(b.shape), dmax, rel, ok)


def _copy_model(model, b):
    """A compiled copy of ``model`` with its weights and a fresh optimizer of the same config, on ``b``."""
    from . import config, optimizers
    from .models import _MultiOutputLoss, clone_model

    prev = config.floatx()
    config.set_floatx(str(np.dtype(model.dtype)) if isinstance(getattr(model, "dtype", None), str) else prev)
    try:  # the copy's own dtype (its input cast) follows floatx, not the model's: build it under the model's
        twin = clone_model(model)
    finally:
        config.set_floatx(prev)
    if not twin.built:
        twin.build(model._build_input_shape if hasattr(model, "_build_input_shape") else None)
    twin.set_weights(model.get_weights())
    opt = model.optimizer
    new_opt = type(opt).from_config(opt.get_config()) if isinstance(opt, optimizers.Optimizer) else opt
    if isinstance(model.loss, _MultiOutputLoss):
        twin.compile(optimizer=new_opt, loss=list(model.loss.losses), loss_weights=list(model.loss.weights))
    else:
        twin.compile(optimizer=new_opt, loss=model.loss)
    return twin.to(b)


class _Recorder:
    """Wraps each top-level layer's ``call`` (on the instance) for one pass: records its output
    and adds a zero probe leaf to it, whose gradient is dLoss/d(output)."""

    def __init__(self, layers):
        self.layers = layers
        self.outputs = {}
        self.probes = {}
        self.order = []
        self.failed_in = None  # the layer whose call raised NotImplementedError

    def __enter__(self):
        for layer in self.layers:
            layer.call = self._wrap(layer, layer.call)
        return self

    def __exit__(self, *exc):
        for layer in self.layers:
            layer.__dict__.pop("call", None)

    def _wrap(self, layer, call):
        @functools.wraps(call)
        def recorded(*args, **kwargs):
            try:
                y = call(*args, **kwargs)
            except NotImplementedError:
                self.failed_in = self.failed_in or layer.name
                raise
            if not isinstance(y, Tensor) or layer.name in self.outputs:
                return y  # several outputs, or a shared layer's second call: not probed
            be = y.backend
            if not y.requires_grad:
                self.outputs[layer.name] = y
                self.order.append(layer.name)
                return y
            probe = Tensor(be.xp.zeros(y.data.shape, dtype=y.data.dtype), backend=be, requires_grad=True)
            self.outputs[layer.name] = y
            self.probes[layer.name] = probe
            self.order.append(layer.name)
            return y + probe

        return recorded


def _weight_label(layer, w):
    """A weight's name within its top-level layer: ``kernel``, or ``conv2d/kernel`` inside a block."""
    path = getattr(w, "path", None) or w.name
    prefix = layer.name + "/"
    return path[len(prefix):] if path.startswith(prefix) else path


def _host(t, be):
    """A host (numpy) copy of a Tensor or a backend array of ``be``."""
    if t is None:
        return None
    if isinstance(t, Tensor):
        return np.array(t.backend.to_numpy(t.data))
    return np.array(be.to_numpy(t))


def _run_side(model, b, x, y, steps, seed, training):
    """Copy, train ``steps`` steps, then one probed forward and backward on ``b``; host arrays out."""
    from .models import _to_backend, _wrap

    be = _backend_module.resolve(b)
    twin = _copy_model(model, be)
    who = f"check_parity: backend {be.name!r} cannot run model {model.name!r}"
    rec = _Recorder(list(twin.layers))
    try:
        _random.seed(seed)
        for _ in range(steps):
            twin.train_on_batch(x, y)
        twin._prepare_training()
        for v in twin.trainable_weights:
            v.grad = None
        if getattr(twin, "_direct", False):
            twin._direct = False  # Sequential's fast path calls the layers' bound calls it kept; take the plain path
        with rec:
            xh, yh, sw = twin._data(x, y, None, None, "check_parity")  # host targets, as fit hands them to the loss
            out = twin._forward(_wrap(_to_backend(be, xh), be), training)
            loss = twin.loss(yh, out, sw)
            if twin._reg_weights or any(twin._loss_cache[1]):
                loss = twin._with_losses(loss, twin._reg_weights)
        if not loss.requires_grad:
            raise ValueError(f"check_parity: the loss of {model.name!r} does not depend on any trainable weight")
        loss.backward()
    except NotImplementedError as e:
        where = f" (in layer {rec.failed_in!r})" if rec.failed_in else ""
        raise NotImplementedError(f"{who}{where}: {e}") from e
    weights = {}
    for layer in twin.layers:
        weights[layer.name] = [(_weight_label(layer, w), _host(w.grad, be), tuple(w.shape)) for w in layer.trainable_weights]
    return {
        "order": rec.order,
        "outputs": {k: _host(v, be) for k, v in rec.outputs.items()},
        "grad_outputs": {k: _host(p.grad, be) for k, p in rec.probes.items()},
        "weights": weights,
        "loss": _host(loss, be),
    }


def check_parity(model, x, y, backends=("cpu", "cuda"), steps=0, rtol=None, atol=None, seed=0, training=True):
    """Run ``model`` (compiled) on two backends from the same weights and compare them layer by
    layer; return a ``ParityReport`` (``print`` it for a table; ``.ok``, ``.first_divergence``).

    ``x``/``y`` are host (numpy) arrays, one batch. ``steps`` training steps (``train_on_batch``
    on ``(x, y)``, the same optimizer config on both sides, seed ``seed`` before them) run on
    each copy before the compared pass; ``training`` is the mode of that pass (dropout masks
    are the same on both sides since each side is seeded alike). ``rtol``/``atol`` default to
    1e-9/1e-12 for a float64 model and 1e-4/1e-6 for float32. ``model`` is not changed.
    """
    if not getattr(model, "built", False):
        raise ValueError(f"check_parity: build the model {getattr(model, 'name', model)!r} first (give it an Input, or call "
                         "it once): its weights are what the two sides start from")
    if getattr(model, "loss", None) is None or not getattr(model, "compiled", False):
        raise ValueError(f"check_parity: compile the model {getattr(model, 'name', model)!r} first (its loss and "
                         "optimizer are what the two sides use)")
    backends = tuple(backends)
    if len(backends) != 2:
        raise ValueError(f"check_parity: backends must name exactly two backends, got {backends!r}")
    if not isinstance(steps, int) or steps < 0:
        raise ValueError(f"check_parity: steps must be a non-negative int, got {steps!r}")
    for b in backends:
        _backend_module.resolve(b)  # BackendUnavailableError before any work
    dtype = np.dtype(model.dtype if isinstance(getattr(model, "dtype", None), str) else "float32")
    f64 = dtype == np.float64
    rtol = (1e-9 if f64 else 1e-4) if rtol is None else float(rtol)
    atol = (1e-12 if f64 else 1e-6) if atol is None else float(atol)
    names = tuple(_backend_module.resolve(b).name for b in backends)
    ref = _run_side(model, backends[0], x, y, steps, seed, training)
    other = _run_side(model, backends[1], x, y, steps, seed, training)
    report = ParityReport(names, str(dtype), steps, rtol, atol)
    order = ref["order"] + [n for n in ref["weights"] if n not in ref["order"]]
    n = len(order)
    for i, name in enumerate(order):
        back = 2 * n + 2 * (n - i)  # the backward reaches the last layer first; a layer's output grad before its weights'
        if name in ref["outputs"]:
            report.rows.append(_compare(name, "output", other["outputs"].get(name), ref["outputs"][name], rtol, atol))
            report.rows[-1].step = i
        if name in ref["grad_outputs"] and ref["grad_outputs"][name] is not None:
            report.rows.append(_compare(name, "grad output", other["grad_outputs"].get(name), ref["grad_outputs"][name],
                                        rtol, atol))
            report.rows[-1].step = back
        for (wname, g_ref, shape), (_, g_oth, _) in zip(ref["weights"].get(name, []), other["weights"].get(name, [])):
            if g_ref is None and g_oth is None:
                continue
            g_ref = np.zeros(shape) if g_ref is None else g_ref
            g_oth = np.zeros(shape) if g_oth is None else g_oth
            report.rows.append(_compare(name, f"grad {wname}", g_oth, g_ref, rtol, atol))
            report.rows[-1].step = back + 1
    report.rows.append(_compare("(model)", "loss", other["loss"], ref["loss"], rtol, atol))
    report.rows[-1].step = n
    return report
