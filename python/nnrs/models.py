"""Models: ``Sequential``, functional ``Model(inputs, outputs)`` and subclassed ``Model``,
with Keras 3's training loop: ``compile``, ``fit``, ``evaluate``, ``predict``,
``train_on_batch``, ``test_on_batch``, ``predict_on_batch``, ``summary``.

The training step is deliberately short: forward through the layers, the loss (plus
regularization penalties), ``backward()``, one optimizer kernel per weight. Per-batch
work in Python is a handful of calls per layer, so small models stay fast.
"""

from __future__ import annotations

import warnings

import numpy as np

from . import callbacks as callbacks_module
from . import data as _data_module
from . import losses as losses_module
from . import metrics as metrics_module
from . import optimizers as optimizers_module
from . import random as _random
from .layers import base as _layer_base
from .layers.base import (
    KerasTensor,
    Layer,
    _call_spec,
    _call_state,
    _flatten_like,
    _generation,
    _loss_adds,
    _map_symbolic,
    _symbolic_leaves,
    get_keras_mask,
    set_keras_mask,
    shape_str,
)
from .layers.core import InputLayer
from .tensor import Tensor, no_grad
from .tensor import _grad as _grad_state

__all__ = ["Model", "Sequential", "clone_model", "load_model", "model_from_json", "save_model"]


def _as_numpy(x, who, arg):
    if isinstance(x, Tensor):
        return x.numpy()
    a = np.asarray(x)
    if a.dtype == object:
        raise TypeError(f"{who}: {arg} must be a numeric array, got an object array (ragged or mixed data?)")
    return a


def _features(x, dtype, who):
    a = _as_numpy(x, who, "x")
    if a.dtype.kind not in "biuf":
        raise TypeError(f"{who}: x must be numeric (convertible to {dtype}), got dtype {a.dtype}")
    if a.ndim == 0:
        raise ValueError(f"{who}: x must have a batch dimension, got a scalar")
    return np.ascontiguousarray(a, dtype=dtype)


class _Batched:
    """The arrays of a model with several inputs, which share their batch axis: indexing
    and slicing apply to every array, ``len`` is the batch size."""

    def __init__(self, arrays):
        self.arrays = list(arrays)

    def __len__(self):
        return len(self.arrays[0])

    def __getitem__(self, idx):
        return _Batched([a[idx] for a in self.arrays])

    @property
    def shape(self):
        return self.arrays[0].shape


def _to_backend(b, x):
    """Host input data (an array or ``_Batched``) as the backend's arrays, same structure."""
    return _Batched([b.asarray(a) for a in x.arrays]) if isinstance(x, _Batched) else b.asarray(x)


def _wrap(x, b):
    """Backend input data as the model's call argument: a Tensor, or a list of them."""
    return [Tensor.wrap(a, b) for a in x.arrays] if isinstance(x, _Batched) else Tensor.wrap(x, b)


def _check_lengths(xh, yh, sw, who):
    if len(xh) != len(yh):
        raise ValueError(f"{who}: x and y have different lengths: x has {len(xh)} samples, y has {len(yh)}")
    if sw is not None and len(sw) != len(xh):
        raise ValueError(f"{who}: sample_weight has {len(sw)} entries but x has {len(xh)} samples")


def _targets(y, who):
    a = _as_numpy(y, who, "y")
    if a.dtype.kind not in "biuf":
        raise TypeError(f"{who}: y must be numeric, got dtype {a.dtype}")
    return a


def _per_output(value, names, arg, who, listy=False):
    """``value`` given once, as a list in output order, or as a dict by output name, spread
    to one entry per output (``listy``: entries are lists, a flat list applies to each)."""
    if isinstance(value, dict):
        unknown = sorted(set(value) - set(names))
        if unknown:
            raise ValueError(f"{who}: {arg} names {unknown}, which are not outputs; the outputs are {names}")
        return [value.get(n, [] if listy else None) for n in names]
    if listy:
        value = list(value)
        if value and all(isinstance(v, (list, tuple)) for v in value):
            if len(value) != len(names):
                raise ValueError(f"{who}: {arg} has {len(value)} lists for {len(names)} outputs")
            return [list(v) for v in value]
        return [value for _ in names]
    if isinstance(value, (list, tuple)):
        if len(value) != len(names):
            raise ValueError(f"{who}: {arg} has {len(value)} entries for {len(names)} outputs {names}")
        return list(value)
    return [value for _ in names]


class _MultiOutputLoss:
    """The loss of a model with several outputs: ``sum_i weight_i * loss_i(y_i, out_i)``,
    keeping each output's last loss for the ``<output>_loss`` logs."""

    def __init__(self, model, losses, weights):
        self.losses = [losses_module.get(lo) if lo is not None else None for lo in losses]
        self.weights = [1.0 if w is None else float(w) for w in weights]
        self.names = model.output_names
        self.name = "loss"
        self.last = [None] * len(self.losses)
        self.trackers = [_OutputLossTracker(self, i, n) for i, n in enumerate(self.names) if self.losses[i] is not None]

    def __call__(self, y, out, sample_weight=None):
        from . import ops

        total = None
        for i, (lo, w) in enumerate(zip(self.losses, self.weights)):
            if lo is None:
                continue
            li = lo(y.arrays[i], out[i], sample_weight)
            self.last[i] = li
            term = li if w == 1.0 else ops.multiply(li, w)
            total = term if total is None else ops.add(total, term)
        return total


def _keep_mask(t):
    """``t.detach()`` with ``t``'s mask attached."""
    d = t.detach()
    m = get_keras_mask(t)
    if m is not None:
        set_keras_mask(d, m)
    return d


class _OutputLossTracker:
    """A metric-like running mean of one output's loss (read from the model's loss)."""

    def __init__(self, owner, index, output_name):
        self.owner, self.index, self.name = owner, index, f"{output_name}_loss"
        self.reset_state()

    def reset_state(self):
        self.total, self.count = 0.0, 0

    def update_state(self, y_true, y_pred, sample_weight=None):
        n = len(y_true.arrays[self.index]) if isinstance(y_true, _Batched) else len(y_true)
        self.total += float(self.owner.last[self.index].data) * n
        self.count += n

    def result(self):
        return self.total / max(self.count, 1)


class _OutputMetric:
    """A metric of one output of a model with several: it sees that output's targets and
    predictions, and reports as ``<output>_<metric>``."""

    def __init__(self, metric, index, output_name):
        self.metric, self.index, self.name = metric, index, f"{output_name}_{metric.name}"

    def reset_state(self):
        self.metric.reset_state()

    def update_state(self, y_true, y_pred, sample_weight=None):
        self.metric.update_state(y_true.arrays[self.index], y_pred[self.index], sample_weight=sample_weight)

    def result(self):
        return self.metric.result()


def _metric_state(m, depth=0):
    """The state Variables of a compiled metric (also of the metric an output wrapper holds)."""
    out = list(getattr(m, "variables", None) or []) if isinstance(m, metrics_module.Metric) else []
    inner = getattr(m, "metric", None)
    if inner is not None and inner is not m and depth < 4:
        out += _metric_state(inner, depth + 1)
    return [v for v in out if hasattr(v, "move_to")]


def _validate_now(freq, epoch):
    """Whether validation runs after ``epoch`` (0-based): every ``freq`` epochs, or at the
    epochs (counted from 1) listed in ``freq``."""
    if isinstance(freq, int):
        if freq < 1:
            raise ValueError(f"fit: validation_freq must be at least 1, got {freq}")
        return (epoch + 1) % freq == 0
    return (epoch + 1) in set(freq)


class Model(Layer):
    """A model: a Layer with a training loop.

    ``Model(inputs, outputs)`` builds a functional model from symbolic tensors of
    ``nnrs.Input``; subclasses may instead define ``call`` and assign layers as attributes.
    """

    _warn_dropped_mask = False
    _untracked = Layer._untracked | {"_metrics", "_weighted_metrics", "_nodes", "_inputs", "_outputs", "_trainable_cache",
                                     "_step_cache", "_reg_weights", "_loss_cache", "_input_spec", "_direct_calls"}

    def __init__(self, inputs=None, outputs=None, name=None, **kwargs):
        super().__init__(name=name, **kwargs)
        self.compiled = False
        self.optimizer = None
        self.loss = None
        self.stop_training = False
        self.history = None
        self._metrics = []
        self._weighted_metrics = []
        self._weighted_ids = set()
        self._nodes = None
        self._step_cache = self._bk = None
        self._loss_stamp = -1  # the value of _loss_adds when the layers' losses were last dropped
        self._loss_cache = None  # (generation, the loss list of every layer of the model)
        self._np_dtype = np.dtype(self.dtype)
        if inputs is not None or outputs is not None:
            self._init_functional(inputs, outputs)

    # ---- structure --------------------------------------------------------------------
    def _init_functional(self, inputs, outputs):
        ins = list(inputs) if isinstance(inputs, (list, tuple)) else [inputs]
        outs = list(outputs) if isinstance(outputs, (list, tuple)) else [outputs]
        for t in ins + outs:
            if not isinstance(t, KerasTensor):
                raise TypeError(f"Model {self.name!r}: inputs and outputs must be symbolic tensors from nnrs.Input, got {t!r}")
        self._inputs, self._outputs = ins, outs
        object.__setattr__(self, "_inputs_struct", inputs)  # as given, for .input / .output
        object.__setattr__(self, "_outputs_struct", outputs)
        object.__setattr__(self, "inputs", list(ins))  # Keras' flat lists (plain attributes: a subclass may set its own)
        object.__setattr__(self, "outputs", list(outs))
        # the layer calls (Nodes) between the inputs and the outputs, each once, every call after
        # the calls it reads from (positional and keyword arguments)
        order, seen, input_ids = [], set(), {id(t) for t in ins}

        def visit(t):
            if id(t) in input_ids:
                return
            node = t.node
            if node is None:
                raise ValueError(f"Model {self.name!r}: output depends on an input that is not in `inputs` ({t!r})")
            if id(node) in seen:
                return
            seen.add(id(node))
            for p in node.inputs:
                visit(p)
            order.append(node)

        for o in outs:
            visit(o)
        self._nodes = order
        for t in ins:  # Keras 3 lists a functional model's InputLayers first
            il = getattr(t, "input_layer", None)
            if il is not None and il not in self._layers:
                self._layers.append(il)
        for node in order:
            if not any(node.layer is l for l in self._layers):
                self._layers.append(node.layer)
        # then in Keras' order (that of its config and weights files): deepest first, so `layers`,
        # `weights` and `get_weights()` list what Keras lists, in the same order
        from .saving import InputRef, functional_order

        keras_order = [getattr(o.tensor, "input_layer", None) if isinstance(o, InputRef) else o for o in functional_order(self)[0]]
        keras_order = [l for l in keras_order if l is not None]
        rest = [l for l in self._layers if not any(l is k for k in keras_order)]
        self._layers[:] = keras_order + rest
        self.input_shape = ins[0].shape if len(ins) == 1 else [i.shape for i in ins]
        self.output_shape = outs[0].shape if len(outs) == 1 else [o.shape for o in outs]
        self.built = True

    @property
    def input(self):
        """A functional model's inputs as given to ``Model(inputs, outputs)`` (one tensor or a list)."""
        return self._inputs_struct if self._nodes is not None else super().input

    @property
    def output(self):
        """A functional model's outputs as given to ``Model(inputs, outputs)`` (one tensor or a list)."""
        return self._outputs_struct if self._nodes is not None else super().output

    @property
    def layers(self):
        """The direct sub-layers: listed ones (Sequential, functional), then those held in attributes."""
        return self._children()[0]

    def get_layer(self, name=None, index=None):
        layers = self.layers
        if index is not None:
            return layers[index]
        for l in layers:
            if l.name == name:
                return l
        raise ValueError(f"Model {self.name!r}: no layer named {name!r}; layers are {[l.name for l in layers]}")

    def call(self, x, training=None, mask=None):
        if self._nodes is None:
            raise NotImplementedError(f"{type(self).__name__}: a subclassed Model must define call()")
        vals = {}
        xs = x if isinstance(x, (list, tuple)) else [x]
        if mask is not None:  # masks given for the inputs (a nested model called on masked tensors)
            xs = [v if isinstance(v, Tensor) else Tensor(v, backend=self.home_backend()) for v in xs]
            for v, m in zip(xs, mask if isinstance(mask, (list, tuple)) else [mask]):
                if m is not None:
                    set_keras_mask(v, m)
        for kt, v in zip(self._inputs, xs):
            vals[id(kt)] = v

        def value(t):
            return vals[id(t)]

        for node in self._nodes:  # each layer call once, its outputs and keyword tensors routed by the graph
            if node.simple:
                y = node.layer(vals[id(node.args[0])], training=training)
            else:
                kwargs = {k: _map_symbolic(v, value) for k, v in node.kwargs.items()}
                y = node.layer(*_map_symbolic(node.args, value), training=training, **kwargs)
            outs = node.flat_outputs
            if len(outs) == 1 and isinstance(node.outputs, KerasTensor):
                vals[id(outs[0])] = y
            else:
                for kt, v in zip(outs, _flatten_like(node.outputs, y, f"{type(node.layer).__name__} {node.layer.name!r}")):
                    vals[id(kt)] = v
        outs = [vals[id(o)] for o in self._outputs]
        return outs[0] if len(outs) == 1 else outs

    def compute_output_shape(self, input_shape):
        if self._nodes is not None:
            return self.output_shape
        return super().compute_output_shape(input_shape)

    def _expected_input(self):
        return self.input_shape if self.built and isinstance(self.input_shape, tuple) else None

    def _check_model_input(self, x, who):
        exp = self._expected_input()
        if exp is None or (len(x.shape) == len(exp) and x.shape[1:] == exp[1:]):
            return
        got = (None,) + tuple(x.shape[1:])
        if len(got) != len(exp) or any(e is not None and e != g for e, g in zip(exp[1:], got[1:])):
            raise ValueError(f"{type(self).__name__} {self.name!r}: {who} expected input shape {shape_str(exp)}, "
                             f"got {shape_str(tuple(x.shape))}")

    def _ensure_built(self, x):
        if not self.built:
            self.build((None,) + tuple(x.shape[1:]))

    def build(self, input_shape):
        if self._nodes is None and type(self).call is Model.call:
            raise ValueError(f"Model {self.name!r}: nothing to build")
        if not self.built:
            # subclassed model: trace once with zeros to create the weights
            def zeros(shape):
                return Tensor(np.zeros(tuple(1 if d is None else d for d in shape), dtype=self.dtype))

            several = isinstance(input_shape, list)  # a model of several inputs gets a list of shapes
            with no_grad():
                self._forward([zeros(s) for s in input_shape] if several else zeros(input_shape), False)
            self.input_shape = [tuple(s) for s in input_shape] if several else tuple(input_shape)
            self.built = True

    # ---- compile ----------------------------------------------------------------------
    def compile(self, optimizer="rmsprop", loss=None, metrics=None, loss_weights=None, weighted_metrics=None,
                run_eagerly=False, steps_per_execution=1, jit_compile="auto", auto_scale_loss=True):
        """Configure training: optimizer and loss by name or object, metrics by name or object.

        A model with several outputs takes one loss for all of them, or a list (in output
        order) or dict (by output name) of losses, ``loss_weights`` likewise, and metrics
        as a list of lists or a dict of lists per output (a flat list applies to each).
        """
        who = f"{type(self).__name__} {self.name!r}: compile"
        self.optimizer = optimizers_module.get(optimizer)
        if loss is None:
            raise ValueError(f"{who} needs a loss, e.g. loss='mse'")
        names = self.output_names
        if len(names) > 1:
            self.loss = _MultiOutputLoss(self, _per_output(loss, names, "loss", who),
                                         _per_output(1.0 if loss_weights is None else loss_weights, names, "loss_weights", who))
            self._metrics = list(self.loss.trackers)
            per = _per_output(metrics or [], names, "metrics", who, listy=True)
            for i, (name, ms) in enumerate(zip(names, per)):
                lname = self.loss.losses[i].name
                self._metrics += [_OutputMetric(metrics_module.get(m, loss=lname), i, name) for m in ms]
            wper = _per_output(weighted_metrics or [], names, "weighted_metrics", who, listy=True)
            self._weighted_metrics = [_OutputMetric(metrics_module.get(m), i, name)
                                      for i, (name, ms) in enumerate(zip(names, wper)) for m in ms]
        else:
            if loss_weights is not None:
                lw = _per_output(loss_weights, names, "loss_weights", who)[0]
                if float(lw) != 1.0:
                    raise ValueError(f"{who}: loss_weights={loss_weights!r} for a model with one output; weigh the loss "
                                     "itself (nnrs does not scale a single output's loss)")
            self.loss = losses_module.get(loss)
            loss_name = self.loss.name if not isinstance(loss, str) else loss
            self._metrics = [metrics_module.get(m, loss=loss_name) for m in (metrics or [])]
            self._weighted_metrics = [metrics_module.get(m, loss=loss_name) for m in (weighted_metrics or [])]
        # Keras: `metrics` see no sample weights, `weighted_metrics` do; both are logged, a
        # weighted one whose name is taken gets the prefix "weighted_".
        taken = {m.name for m in self._metrics}
        for m in self._weighted_metrics:
            if m.name in taken:
                m.name = f"weighted_{m.name}"
            taken.add(m.name)
        self._weighted_ids = {id(m) for m in self._weighted_metrics}
        self._metrics = self._metrics + self._weighted_metrics
        self.compiled = True
        self._step_cache = None

    @property
    def output_names(self):
        """The names of the outputs: the layers that produce them (one name for one output)."""
        outs = getattr(self, "_outputs", None)
        if not outs:
            return ["output"]
        return [o.layer.name if o.layer is not None else (o.name or f"output_{i}") for i, o in enumerate(outs)]

    @property
    def metrics_names(self):
        return ["loss"] + [m.name for m in self._metrics]

    def _need_compiled(self, who):
        if not self.compiled:
            raise RuntimeError(f"{type(self).__name__} {self.name!r}: call compile() before {who}()")

    # ---- one step -----------------------------------------------------------------------
    def _forward(self, x, training):
        """The forward of fit, evaluate and predict: the outermost call, so the losses of the
        previous one are dropped first; ``training`` reaches ``call`` (and, through the call
        context, the sub-layers) only where ``call`` takes it, as in Keras."""
        self._drop_losses()
        st = _call_state
        prev = st.entry, st.training
        takes_training = _call_spec(self)[0]
        st.entry, st.training = self, (training if takes_training else None)
        try:
            return self.call(x, training=training) if takes_training else self.call(x)
        finally:
            st.entry, st.training = prev

    def _drop_losses(self):
        """Empty the loss lists of every layer of the model and note ``_loss_adds`` (callers
        on the fast path skip this while that counter has not moved)."""
        c = self._loss_cache
        if c is None or c[0] != _generation[0]:
            c = self._loss_cache = (_generation[0], [l._losses for l in self._flatten_layers()])
        for lst in c[1]:
            lst.clear()
        self._loss_stamp = _loss_adds[0]

    def _with_losses(self, loss, reg_weights):
        """``loss`` plus the regularizers of ``reg_weights`` and the losses added during the forward."""
        for w in reg_weights:
            loss = loss + w.regularizer(w)
        for lst in self._loss_cache[1]:
            for p in lst:
                loss = loss + p
        return loss

    def _train_batch(self, xb, yb, wb):
        """One optimisation step on backend arrays; returns (loss value, predictions)."""
        tw = self._trainable_cache
        for v in tw:
            v.grad = None
        out = self._forward(_wrap(xb, self._bk), True)
        loss = self.loss(yb, out, wb)
        if self._reg_weights or self._loss_stamp != _loss_adds[0]:  # a regularizer, or add_loss ran
            loss = self._with_losses(loss, self._reg_weights)
        if loss.requires_grad:  # False when every weight is frozen: nothing to update
            loss.backward()  # releases the graph's saved arrays as it goes
            self.optimizer.apply_gradients([(v.grad, v) for v in tw])
        if _layer_base._masks:  # the detached predictions keep their masks, for the metrics
            return loss.data, ([_keep_mask(o) for o in out] if isinstance(out, list) else _keep_mask(out))
        return loss.data, ([o.detach() for o in out] if isinstance(out, list) else out.detach())

    def _prepare_training(self):
        if not self.built:
            raise RuntimeError(f"{self.name}: model is not built")
        tw = self._trainable_cache = self.trainable_weights  # refreshed whenever trainability changed
        self._reg_weights = [w for w in tw if w.regularizer is not None]
        self._bk = self.home_backend()
        self._train_generation = _generation[0]

    def _update_metrics(self, ms, y_host, out, w_host):
        if not ms:
            return
        if _layer_base._masks:
            masks = [get_keras_mask(o) for o in out] if isinstance(out, list) else get_keras_mask(out)
            if masks is not None and (not isinstance(masks, list) or any(m is not None for m in masks)):
                return self._update_masked_metrics(ms, y_host, out, w_host, masks)
        if isinstance(out, list):
            p = [o.numpy() for o in out]
        else:
            p = out.numpy() if isinstance(out, Tensor) else np.asarray(out)
        weighted = self._weighted_ids
        for m in ms:
            m.update_state(y_host, p, sample_weight=w_host if id(m) in weighted else None)

    def _update_masked_metrics(self, ms, y_host, out, w_host, masks):
        """Metrics of outputs that carry masks: as in Keras, a mean metric (accuracy, mse, ...)
        takes the output's mask as a weight (times the sample weights for a weighted metric),
        so masked time steps count nowhere; other metrics see no mask."""
        p = [o.numpy() for o in out] if isinstance(out, list) else out.numpy()
        weighted = self._weighted_ids
        for m in ms:
            sw = w_host if id(m) in weighted else None
            inner, mask = m, masks
            if isinstance(m, _OutputMetric):
                inner, mask = m.metric, masks[m.index]
            if mask is not None and isinstance(inner, metrics_module.MeanMetricWrapper):
                sw = metrics_module.apply_mask(sw, mask)
            m.update_state(y_host, p, sample_weight=sw)

    # ---- fit --------------------------------------------------------------------------
    def fit(self, x=None, y=None, batch_size=None, epochs=1, verbose="auto", callbacks=None, validation_split=0.0,
            validation_data=None, shuffle=True, class_weight=None, sample_weight=None, initial_epoch=0,
            steps_per_epoch=None, validation_steps=None, validation_batch_size=None, validation_freq=1):
        """Train for ``epochs`` epochs; returns a ``History``.

        ``x`` is array data (with ``y``), or a source of whole batches: a
        ``nnrs.utils.PyDataset``, a generator or any iterable of ``(x, y)`` /
        ``(x, y, sample_weight)`` (then ``y`` is None). ``validation_freq`` is an int (every
        that many epochs) or a collection of epoch numbers counted from 1, as in Keras.
        """
        who = f"{type(self).__name__} {self.name!r}: fit"
        self._need_compiled("fit")
        batch_size = int(batch_size or 32)
        if batch_size <= 0:
            raise ValueError(f"{who}: batch_size must be positive, got {batch_size}")
        if _data_module.is_batch_source(x):
            if y is not None or sample_weight is not None or validation_split:
                raise ValueError(f"{who}: when x yields batches, y, sample_weight and validation_split must not be given "
                                 "(put them in the batches)")
            source = _data_module.BatchSource(x, steps_per_epoch)
            first = source.peek()
            if first is None:
                raise ValueError(f"{who}: the data source gave no batches")
            fx = self._host_x(_data_module.unpack_batch(first, who)[0], who)
            self._ensure_built(fx)
            self._check_model_input(fx, "fit")
            steps = source.known_steps

            def epoch_batches():
                for batch in source.epoch():
                    bx, by, bw = _data_module.unpack_batch(batch, who)
                    if by is None:
                        raise ValueError(f"{who}: a training batch needs targets: (x, y) or (x, y, sample_weight)")
                    xh, yh, sw = self._data(bx, by, bw, class_weight, who)
                    self._check_model_input(xh, "fit")
                    yield _to_backend(self._bk, xh), yh, sw, len(xh)
        else:
            xh, yh, sw = self._data(x, y, sample_weight, class_weight, who)
            if validation_data is None and validation_split:
                if not 0.0 < validation_split < 1.0:
                    raise ValueError(f"{who}: validation_split must be in (0, 1), got {validation_split}")
                cut = int(len(xh) * (1.0 - validation_split))
                validation_data = (xh[cut:], yh[cut:]) if sw is None else (xh[cut:], yh[cut:], sw[cut:])
                xh, yh = xh[:cut], yh[:cut]
                sw = None if sw is None else sw[:cut]
            if len(xh) == 0:
                raise ValueError(f"{who}: no training samples")
            self._ensure_built(xh)
            self._check_model_input(xh, "fit")
            n = len(xh)
            steps = (n + batch_size - 1) // batch_size
            if steps_per_epoch is not None:
                steps = min(steps, int(steps_per_epoch))
            arrays = [None]

            def epoch_batches():
                if arrays[0] is None:
                    arrays[0] = _to_backend(self._bk, xh)
                xd = arrays[0]
                order = _random.generator().permutation(n) if shuffle else None
                order_d = None if order is None else self._bk.asarray(order)  # x's rows are gathered where x lives
                for step in range(steps):
                    lo, hi = step * batch_size, min(n, (step + 1) * batch_size)
                    if order is None:
                        yield xd[lo:hi], yh[lo:hi], None if sw is None else sw[lo:hi], hi - lo
                    else:
                        idx = order[lo:hi]
                        yield xd[order_d[lo:hi]], yh[idx], None if sw is None else sw[idx], hi - lo

        self._prepare_training()
        verbose = 1 if verbose == "auto" else int(verbose)
        history = callbacks_module.History()
        cbs = list(callbacks or [])
        if verbose:
            cbs.append(callbacks_module.ProgbarLogger(verbose=verbose))
        cbs.append(history)
        cbl = callbacks_module.CallbackList(cbs, model=self)
        cbl.set_params({"epochs": epochs, "steps": steps, "verbose": verbose, "batch_size": batch_size})
        self.stop_training = False
        self.history = history
        ms = self._metrics
        cbl.on_train_begin()
        logs, epoch_logs = {}, {}
        for epoch in range(initial_epoch, epochs):
            for m in ms:
                m.reset_state()
            cbl.on_epoch_begin(epoch)
            total, seen, step = 0.0, 0, -1
            # the batch losses reach the host after each step only when a callback (the progress
            # bar, say) reads the batch logs; otherwise they stay on the backend until the epoch ends
            per_batch = cbl.wants("on_train_batch_end")
            pending = []
            for step, (xb, yb, wb, nb) in enumerate(epoch_batches()):
                cbl.on_train_batch_begin(step)
                if self._train_generation != _generation[0]:  # weights made or frozen since the last step
                    self._prepare_training()
                lv, out = self._train_batch(xb, yb, wb)
                seen += nb
                self._update_metrics(ms, yb, out, wb)
                del out
                if per_batch:
                    total += float(lv) * nb
                    logs = {"loss": total / seen}
                    for m in ms:
                        logs[m.name] = m.result()
                    cbl.on_train_batch_end(step, logs)
                else:
                    pending.append((lv, nb))
                if self.stop_training:
                    break
            if pending:  # one copy to the host for the whole epoch
                xp = self._bk.xp
                vals = xp.stack([xp.asarray(v) for v, _ in pending]).astype(xp.float64)
                total += float((vals * xp.asarray([n for _, n in pending], dtype=xp.float64)).sum())
                logs = {"loss": total / seen}
                for m in ms:
                    logs[m.name] = m.result()
            if step < 0:  # an iterator that has run dry: nothing left to train on
                warnings.warn(f"{who}: the data source ran out of batches at epoch {epoch + 1}; stopping "
                              "(give steps_per_epoch, or a source that can repeat)", stacklevel=2)
                break
            epoch_logs = dict(logs)
            if validation_data is not None and _validate_now(validation_freq, epoch):
                val = self._validate(validation_data, validation_batch_size or batch_size, validation_steps, who)
                epoch_logs.update({f"val_{k}": v for k, v in val.items()})
            cbl.on_epoch_end(epoch, epoch_logs)
            if self.stop_training:
                break
        cbl.on_train_end(epoch_logs)
        return history

    def _validate(self, validation_data, batch_size, steps, who):
        if _data_module.is_batch_source(validation_data):
            return self.evaluate(validation_data, batch_size=batch_size, steps=steps, verbose=0, return_dict=True)
        if not isinstance(validation_data, (tuple, list)) or len(validation_data) not in (2, 3):
            raise ValueError(f"{who}: validation_data must be (x, y), (x, y, sample_weight) or a source of batches")
        vx, vy, *vw = validation_data
        return self.evaluate(vx, vy, batch_size=batch_size, steps=steps, verbose=0,
                             sample_weight=vw[0] if vw else None, return_dict=True)

    def _host_x(self, x, who):
        """Input data as host arrays in the model dtype: one array, or for a model with
        several inputs a ``_Batched`` of one array per input (given as a list in the order
        of ``inputs``, or as a dict keyed by the inputs' names)."""
        ins = getattr(self, "_inputs", None)
        if self._nodes is None or len(ins) == 1:
            if isinstance(x, dict) and ins is not None and len(x) == 1:
                x = next(iter(x.values()))
            return _features(x, self.dtype, who)
        if isinstance(x, dict):
            missing = [t.name for t in ins if t.name not in x]
            if missing:
                raise ValueError(f"{who}: the input dict lacks {missing}; the model's inputs are {[t.name for t in ins]}")
            x = [x[t.name] for t in ins]
        if not isinstance(x, (list, tuple)) or len(x) != len(ins):
            raise ValueError(f"{who}: the model has {len(ins)} inputs; give a list of {len(ins)} arrays or a dict by name")
        arrays = [_features(a, t.dtype, who) for a, t in zip(x, ins)]
        if len({len(a) for a in arrays}) > 1:
            raise ValueError(f"{who}: the inputs have different numbers of samples: {[len(a) for a in arrays]}")
        return _Batched(arrays)

    def _host_y(self, y, who):
        """Targets as host arrays: one array, or for several outputs a ``_Batched`` of one
        per output (a list in output order, or a dict by output name)."""
        names = self.output_names if self._nodes is not None else ["output"]
        if len(names) == 1:
            return _targets(y, who)
        if isinstance(y, dict):
            missing = [n for n in names if n not in y]
            if missing:
                raise ValueError(f"{who}: the targets dict lacks {missing}; the outputs are {names}")
            y = [y[n] for n in names]
        if not isinstance(y, (list, tuple)) or len(y) != len(names):
            raise ValueError(f"{who}: the model has {len(names)} outputs {names}; give y as a list or dict of {len(names)}")
        return _Batched([_targets(a, who) for a in y])

    def _data(self, x, y, sample_weight, class_weight, who):
        """Host arrays (x in the model dtype, y, per-sample weights or None), checked."""
        if x is None or y is None:
            raise ValueError(f"{who}: x and y are required")
        xh, yh = self._host_x(x, who), self._host_y(y, who)
        sw = None if sample_weight is None else np.asarray(sample_weight, dtype=self.dtype)
        if sw is not None and (sw.ndim != 2 or sw.shape[1] == 1):  # (batch, time) weights stay (Keras' temporal weights)
            sw = sw.reshape(-1)
        _check_lengths(xh, yh, sw, who)
        if class_weight is not None:
            if isinstance(yh, _Batched):
                raise ValueError(f"{who}: class_weight applies to a model with one output; use sample_weight")
            cw = self._class_weights(class_weight, yh)
            sw = cw if sw is None else sw * cw.reshape((-1,) + (1,) * (sw.ndim - 1))
        return xh, yh, sw

    def _class_weights(self, class_weight, yh):
        y = yh.reshape(len(yh), -1)
        cls = y[:, 0].astype(np.int64) if y.shape[1] == 1 else np.argmax(y, axis=1)
        out = np.ones(len(yh), dtype=self.dtype)
        for c, wgt in class_weight.items():  # classes without a weight keep 1.0, as in Keras
            out[cls == int(c)] = wgt
        return out

    # ---- evaluate / predict -----------------------------------------------------------
    def evaluate(self, x=None, y=None, batch_size=None, verbose="auto", sample_weight=None, steps=None,
                 callbacks=None, return_dict=False):
        """Loss (plus regularization penalties) and metrics over the data (arrays, or a
        source of batches as ``fit`` takes; ``steps`` limits the batches)."""
        who = f"{type(self).__name__} {self.name!r}: evaluate"
        self._need_compiled("evaluate")
        batch_size = int(batch_size or 32)
        if _data_module.is_batch_source(x):
            if y is not None or sample_weight is not None:
                raise ValueError(f"{who}: when x yields batches, y and sample_weight must not be given")
            source = _data_module.BatchSource(x, steps)

            def batches():
                for batch in source.epoch():
                    bx, by, bw = _data_module.unpack_batch(batch, who)
                    if by is None:
                        raise ValueError(f"{who}: an evaluation batch needs targets: (x, y) or (x, y, sample_weight)")
                    yield self._data(bx, by, bw, None, who)
        else:
            xh, yh, sw = self._data(x, y, sample_weight, None, who)
            n = len(xh)
            limit = n if steps is None else min(n, int(steps) * batch_size)

            def batches():
                for lo in range(0, limit, batch_size):
                    hi = min(limit, lo + batch_size)
                    yield xh[lo:hi], yh[lo:hi], None if sw is None else sw[lo:hi]
        cbl = callbacks_module.CallbackList(list(callbacks or []), model=self)
        ms = self._metrics
        for m in ms:
            m.reset_state()
        total, n = 0.0, 0
        reg_weights = [w for w in self.trainable_weights if w.regularizer is not None]
        b = None
        cbl.on_test_begin()
        with no_grad():
            for step, (xb, yb, wb) in enumerate(batches()):
                if b is None:
                    self._ensure_built(xb)
                    b = self.home_backend()
                self._check_model_input(xb, "evaluate")
                cbl.on_test_batch_begin(step)
                out = self._forward(_wrap(_to_backend(b, xb), b), False)
                lv = self._with_losses(self.loss(yb, out, wb), reg_weights)
                total += float(lv.data) * len(xb)
                n += len(xb)
                self._update_metrics(ms, yb, out, wb)
                cbl.on_test_batch_end(step, {"loss": total / n})
        res = {"loss": total / max(n, 1)}
        for m in ms:
            res[m.name] = m.result()
        cbl.on_test_end(res)
        if return_dict:
            return res
        vals = list(res.values())
        return vals[0] if len(vals) == 1 else vals

    def predict(self, x, batch_size=None, verbose="auto", steps=None, callbacks=None):
        """Outputs for ``x`` as a numpy array, computed in batches of ``batch_size`` (32);
        ``x`` may also be a source of batches (of x, or of (x, ...) tuples whose x is used)."""
        who = f"{type(self).__name__} {self.name!r}: predict"
        batch_size = int(batch_size or 32)
        if _data_module.is_batch_source(x):
            source = _data_module.BatchSource(x, steps)
            xh = None
            pieces = (self._host_x(_data_module.unpack_batch(bt, who)[0], who) for bt in source.epoch())
        else:
            xh = self._host_x(x, who)
            limit = len(xh) if steps is None else min(len(xh), int(steps) * batch_size)
            pieces = (xh[lo:lo + batch_size] for lo in range(0, limit, batch_size))
        cbl = callbacks_module.CallbackList(list(callbacks or []), model=self)
        outs = []
        b = None
        cbl.on_predict_begin()
        with no_grad():
            for step, xb in enumerate(pieces):
                if b is None:
                    self._ensure_built(xb)
                    b = self.home_backend()
                self._check_model_input(xb, "predict")
                cbl.on_predict_batch_begin(step)
                o = self._forward(_wrap(_to_backend(b, xb), b), False)
                outs.append([t.numpy() for t in o] if isinstance(o, list) else o.numpy())
                cbl.on_predict_batch_end(step, {"outputs": outs[-1]})
        cbl.on_predict_end()
        if not outs:
            if xh is None:
                raise ValueError(f"{who}: the data source gave no batches")
            self._ensure_built(xh)
            shape = self.compute_output_shape((0,) + tuple(xh.shape[1:]))
            return np.zeros((0,) + tuple(shape[1:]), dtype=self.dtype)
        if isinstance(outs[0], list):
            return [np.concatenate(part, axis=0) for part in zip(*outs)]
        return np.concatenate(outs, axis=0)

    def predict_on_batch(self, x):
        """Outputs for one batch as a numpy array (no batching, no graph)."""
        b = self._bk
        if b is None:
            b = self.home_backend()
            if self.built:
                self._bk = b
        if not (isinstance(x, np.ndarray) and x.dtype == self._np_dtype and self.built):
            x = self._host_x(x, f"{type(self).__name__} {self.name!r}: predict_on_batch")
            self._ensure_built(x)
        self._check_model_input(x, "predict_on_batch")
        g = _grad_state
        prev, g.enabled = g.enabled, False  # no_grad(), without building a context object per call
        try:
            return b.to_numpy(self._forward(_wrap(_to_backend(b, x), b), False).data)
        finally:
            g.enabled = prev

    def train_on_batch(self, x, y=None, sample_weight=None, class_weight=None, return_dict=False):
        """One optimisation step on one batch; returns the loss (and metrics)."""
        who = f"{type(self).__name__} {self.name!r}: train_on_batch"
        self._need_compiled("train_on_batch")
        xh, yh, sw = self._data(x, y, sample_weight, class_weight, who)
        self._ensure_built(xh)
        self._check_model_input(xh, "train_on_batch")
        if self._step_cache is None or self._bk is None or self._train_generation != _generation[0]:
            self._prepare_training()
            self._step_cache = (self._bk,)
        lv, out = self._train_batch(_to_backend(self._bk, xh), yh, sw)
        self._update_metrics(self._metrics, yh, out, sw)
        return self._result(float(lv), return_dict)

    def test_on_batch(self, x, y=None, sample_weight=None, return_dict=False):
        res = self.evaluate(x, y, batch_size=len(x), verbose=0, sample_weight=sample_weight, return_dict=True)
        return res if return_dict else (list(res.values()) if len(res) > 1 else res["loss"])

    def _result(self, lv, return_dict):
        res = {"loss": lv}
        for m in self._metrics:
            res[m.name] = m.result()
        if return_dict:
            return res
        return lv if len(res) == 1 else list(res.values())

    def __call__(self, x, *args, **kwargs):
        if not isinstance(x, (KerasTensor, list, tuple)):
            if not isinstance(x, Tensor):
                x = Tensor(x, dtype=self.dtype, backend=self.home_backend())
            self._check_model_input(x.data, "call")
        return super().__call__(x, *args, **kwargs)

    # ---- weights and summary ------------------------------------------------------------
    def to(self, backend):
        """Move the model to ``backend`` (``"numpy"``, ``"cpu"``, ``"cuda"`` or a Backend) in
        place and return it, as PyTorch's ``Module.to``: every weight stays the same
        Variable object, the optimizer's state and the compiled metrics' state move too,
        so ``fit`` continues exactly where it was. ``fit``/``evaluate``/``predict`` then move
        their (numpy) batches to the new backend themselves. Nothing moves when the
        backend cannot be used here."""
        from . import backend as _backend_module

        b = _backend_module.resolve(backend)  # raises before anything moves
        opt = getattr(self, "optimizer", None)
        if isinstance(opt, optimizers_module.Optimizer):
            opt.to(b)
        super().to(b)
        for m in list(getattr(self, "_metrics", None) or []):
            for v in _metric_state(m):
                v.move_to(b)
        self._step_cache = self._bk = None
        return self

    def save_weights(self, filepath, overwrite=True, max_shard_size=None):
        """Save the weights (and the optimizer state, once compiled) in Keras 3's ``.weights.h5``
        layout, atomically: a failed save keeps the old file. A ``.safetensors`` path writes
        nnrs' safetensors file of the weights instead."""
        from . import io

        if max_shard_size is not None:
            raise NotImplementedError("save_weights: sharded weights files (max_shard_size) are not supported by nnrs yet")
        io.save_weights(self, filepath, overwrite=overwrite)

    def load_weights(self, filepath, skip_mismatch=False, **kwargs):
        """Load weights from a ``.weights.h5`` file (nnrs' or Keras 3's), a ``.keras`` archive or
        a ``.safetensors`` file; no code in the file is executed (HDF5 or safetensors, never pickle).
        ``skip_mismatch=True`` (Keras files) leaves layers whose stored weights do not fit as they are, with a warning."""
        from . import io

        if kwargs:
            raise TypeError(f"load_weights: unexpected arguments {sorted(kwargs)}")
        io.load_weights(self, filepath, skip_mismatch=skip_mismatch)

    def _summary_rows(self):
        """(layer (type), output shape, params, connected to) per row: one per layer, or for
        a functional model one per input and per call in the graph, with the layers each
        call reads from."""
        if self._nodes is None:
            return [(f"{l.name} ({type(l).__name__})", shape_str(l.output_shape) if l.output_shape is not None else "?",
                     f"{l.count_params():,}" if l.built else "0 (unbuilt)", None)
                    for l in self.layers if not isinstance(l, InputLayer)]

        node_index = self._node_indices()

        def ref(t):  # Keras' "layer[node][tensor]"
            if t.node is None:
                il = getattr(t, "input_layer", None)
                return f"{il.name if il is not None else t.name}[0][0]"
            return f"{t.node.layer.name}[{node_index[id(t.node)]}][{t.index}]"

        def producer(t):
            il = getattr(t, "input_layer", None)
            return il.name if il is not None else t.name

        from .saving import InputRef, functional_order

        calls = {}  # as Keras: one row per layer, its output shape from its first call, every call's inputs
        for node in sorted(self._nodes, key=lambda n: n.serial):
            calls.setdefault(id(node.layer), []).append(node)
        rows = []
        for obj in functional_order(self)[0]:
            if isinstance(obj, InputRef):
                rows.append((f"{producer(obj.tensor)} (InputLayer)", shape_str(obj.tensor.shape), "0", "-"))
                continue
            nodes = calls[id(obj)]
            outs = nodes[0].flat_outputs
            shape = shape_str(outs[0].shape) if len(outs) == 1 and isinstance(nodes[0].outputs, KerasTensor) else \
                "[" + ", ".join(shape_str(t.shape) for t in outs) + "]"
            rows.append((f"{obj.name} ({type(obj).__name__})", shape, f"{obj.count_params():,}",
                         ", ".join(ref(p) for node in nodes for p in node.inputs)))
        return rows

    def _node_indices(self):
        """Keras' node index of each call in this functional model: its place among the calls
        of its layer that belong to the model, in the order they were made."""
        calls = {}
        for node in sorted(self._nodes, key=lambda n: n.serial):
            calls.setdefault(id(node.layer), []).append(node)
        return {id(node): i for nodes in calls.values() for i, node in enumerate(nodes)}

    def summary(self, print_fn=None):
        """Prints each layer with its output shape and parameter count (and, for a
        functional model, the layers it is connected to), then the totals."""
        pf = print_fn or print
        rows = self._summary_rows()
        heads = ["Layer (type)", "Output Shape", "Param #"] + (["Connected to"] if self._nodes is not None else [])
        cols = [[r[i] for r in rows] for i in range(len(heads))]
        widths = [max([len(h)] + [len(c) for c in col]) + 2 for h, col in zip(heads, cols)]

        def fmt(cells):
            return "".join(f"{c:>{w - 2}}  " if i == 2 else f"{c:<{w}}" for i, (c, w) in enumerate(zip(cells, widths))).rstrip()

        line = "-" * sum(widths)
        pf(f'Model: "{self.name}"')
        pf(line)
        pf(fmt(heads))
        pf("=" * sum(widths))
        for r in rows:
            pf(fmt(r[:len(heads)]))
        pf("=" * sum(widths))
        total = int(sum(int(np.prod(w.shape)) for w in self.weights))
        trainable = int(sum(int(np.prod(w.shape)) for w in self.trainable_weights))
        pf(f"Total params: {total:,}")
        pf(f"Trainable params: {trainable:,}")
        pf(f"Non-trainable params: {total - trainable:,}")
        pf(line)


    # ---- saving (Keras 3 .keras archives) -----------------------------------------------
    def save(self, filepath, overwrite=True, zipped=None, **kwargs):
        """Save architecture, compile settings and weights as a Keras 3 ``.keras`` archive."""
        from . import saving

        saving.save_model(self, filepath, overwrite=overwrite, zipped=True if zipped is None else zipped)

    def to_json(self, **kwargs):
        """The architecture (Keras 3's config record, compile settings included) as JSON."""
        import json

        from .saving import model_to_config

        return json.dumps(model_to_config(self), **kwargs)

    def get_config(self):
        """Keras 3's config of a functional model: its layers with their inbound nodes, and
        the names of the input and output layers."""
        from .saving import InputRef, dtype_policy, functional_order, serialize_keras_object

        if self._nodes is None:
            return {"name": self.name, "trainable": self.trainable, "dtype": dtype_policy(self.dtype)}
        order, input_refs = functional_order(self)
        node_index = self._node_indices()
        calls = {}  # layer id -> its calls in this model, in the order they were made (Keras' node index)
        for node in sorted(self._nodes, key=lambda n: n.serial):
            calls.setdefault(id(node.layer), []).append(node)

        def history(kt):
            if id(kt) in input_refs:
                return [input_refs[id(kt)].name, 0, 0]
            return [kt.node.layer.name, node_index[id(kt.node)], kt.index]

        def record(value, where):
            """A call argument as Keras writes it: tensors as ``__keras_tensor__`` records, containers as lists and dicts."""
            if isinstance(value, KerasTensor):
                return {"class_name": "__keras_tensor__", "config": {"shape": list(value.shape), "dtype": value.dtype.name,
                                                                      "keras_history": history(value)}}
            if isinstance(value, (list, tuple)):
                return [record(v, where) for v in value]
            if isinstance(value, dict):
                return {str(k): record(v, where) for k, v in value.items()}
            if isinstance(value, np.generic):
                return value.item()
            if value is None or isinstance(value, (bool, int, float, str)):
                return value
            raise ValueError(f"Model {self.name!r}: layer {where!r} is called with {type(value).__name__} {value!r}, which "
                             "has no saved form (give call arguments as tensors, numbers, strings or lists of them)")

        def node_record(node):
            name = node.layer.name
            return {"args": [record(a, name) for a in node.args], "kwargs": {k: record(v, name) for k, v in node.kwargs.items()}}

        layers = []
        for obj in order:
            if isinstance(obj, InputRef):
                kt = obj.tensor
                layers.append({"module": "keras.layers", "class_name": "InputLayer",
                               "config": {"batch_shape": list(kt.shape), "dtype": kt.dtype.name, "sparse": False, "ragged": False,
                                          "name": obj.name, "optional": False},
                               "registered_name": None, "name": obj.name, "inbound_nodes": []})
                continue
            rec = serialize_keras_object(obj)
            rec["name"] = obj.name
            rec["inbound_nodes"] = [node_record(node) for node in calls[id(obj)]]
            layers.append(rec)

        def refs(kts):
            out = [history(kt) for kt in kts]
            return out[0] if len(out) == 1 else out

        return {"name": self.name, "trainable": self.trainable, "layers": layers,
                "input_layers": refs(self._inputs), "output_layers": refs(self._outputs)}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        """A functional model from ``get_config()`` (nnrs' or Keras 3's ``Functional`` config)."""
        from .layers.core import Input
        from .saving import deserialize_keras_object, plain_config

        if "layers" not in config or "input_layers" not in config:  # a subclassed model's own arguments
            return cls(**plain_config(config, strip=False))
        tensors, pending = {}, []  # tensors: (layer name, call index) -> the call's outputs, in Keras' tensor order
        for rec in config["layers"]:
            name = rec.get("name") or (rec.get("config") or {}).get("name")
            if rec.get("class_name") == "InputLayer":
                c = plain_config(rec.get("config") or {})
                shape = c.get("batch_shape") or c.get("batch_input_shape")
                if shape is None:
                    raise ValueError(f"Model.from_config: input layer {name!r} has no batch_shape")
                tensors[(name, 0)] = [Input(tuple(shape[1:]), batch_size=shape[0], dtype=c.get("dtype", "float32"), name=name)]
                continue
            nodes = list(rec.get("inbound_nodes") or [])
            pending.append((name, deserialize_keras_object(rec, custom_objects=custom_objects), nodes, [0]))

        class NotYet(Exception):
            """A call argument is the output of a call not made yet."""

        def tensor(history, who):
            layer_name, node_index, tensor_index = history
            outs = tensors.get((layer_name, node_index))
            if outs is None:
                raise NotYet(layer_name)
            if not 0 <= tensor_index < len(outs):
                raise ValueError(f"Model.from_config: {who} reads output {tensor_index} of call {node_index} of {layer_name!r}, "
                                 f"which has {len(outs)} output(s)")
            return outs[tensor_index]

        def resolve(arg, who):
            if isinstance(arg, list):
                return [resolve(a, who) for a in arg]
            if isinstance(arg, dict):
                if arg.get("class_name") == "__keras_tensor__":
                    return tensor(arg["config"]["keras_history"], who)
                if "class_name" in arg:
                    raise ValueError(f"Model.from_config: {who} is called with an unsupported argument {arg!r}")
                return {k: resolve(v, who) for k, v in arg.items()}
            return arg

        def call(name, layer, node, index):
            who = f"layer {name!r}"
            kwargs = {k: resolve(v, who) for k, v in (node.get("kwargs") or {}).items() if v is not None and k != "training"}
            args = [resolve(a, who) for a in node.get("args") or []]  # NotYet: an input is not made yet
            if not args:
                raise ValueError(f"Model.from_config: {who} is called without positional arguments")
            tensors[(name, index)] = _symbolic_leaves(layer(*args, **kwargs))

        while any(done[0] < len(nodes) for _, _, nodes, done in pending):  # each layer's calls in their order, as their inputs appear
            progress = False
            for name, layer, nodes, done in pending:  # done[0]: how many of the layer's calls are made
                while done[0] < len(nodes):
                    try:
                        call(name, layer, nodes[done[0]], done[0])
                    except NotYet:
                        break
                    done[0] += 1
                    progress = True
            if not progress:
                missing = sorted(name for name, _, nodes, done in pending if done[0] < len(nodes))
                raise ValueError(f"Model.from_config: the inputs of layers {missing} are never produced (broken graph in config)")

        def refs(spec):
            many = not (spec and isinstance(spec[0], str))
            items = spec if many else [spec]
            for item in items:
                if (item[0], item[1]) not in tensors:
                    raise ValueError(f"Model.from_config: input/output {item[0]!r} (call {item[1]}) names no layer call of the config")
            out = [tensor(item[:3] if len(item) >= 3 else [item[0], item[1], 0], "the model") for item in items]
            return out if many else out[0]

        return cls(inputs=refs(config["input_layers"]), outputs=refs(config["output_layers"]),
                   name=config.get("name"), trainable=config.get("trainable", True))

class Sequential(Model):
    """A plain stack of layers, each taking the previous one's output."""

    def __init__(self, layers=None, name=None, trainable=True):
        super().__init__(name=name, trainable=trainable)
        self._input_spec = None
        self._direct = False
        for l in layers or []:
            self.add(l)

    def add(self, layer):
        if isinstance(layer, KerasTensor):
            layer = InputLayer(shape=layer.shape[1:], dtype=layer.dtype)
        if not isinstance(layer, Layer):
            raise TypeError(f"Sequential {self.name!r}: add() takes a layer, got {type(layer).__name__}")
        if isinstance(layer, InputLayer):  # kept as the input spec, not listed in .layers (Keras 3)
            if self._layers:
                raise ValueError(f"Sequential {self.name!r}: an Input must come first")
            self._input_spec = layer.shape
            self.build(self._input_spec)
            return
        if not self._layers and layer._input_shape_arg is not None and self._input_spec is None:
            self._input_spec = layer._input_shape_arg
        self._layers.append(layer)
        self.built = self._direct = False
        self._step_cache = self._bk = None  # the trainable weights change
        if self._input_spec is not None:
            self.build(self._input_spec)

    def build(self, input_shape=None):
        shape = tuple(input_shape if input_shape is not None else self._input_spec)
        self.input_shape = shape
        for l in self._layers:
            l._maybe_build(shape)
            l._check_input(shape)
            shape = l.compute_output_shape(shape)
            l.output_shape = shape
        self.output_shape = shape
        # layers without sub-layers or activity regularizers are called directly by call();
        # each with training only where its call takes it
        self._direct_calls = [(l.call, *_call_spec(l)[:2]) for l in self._layers]
        self._direct = all(l.activity_regularizer is None and l.built and not l._children()[0]
                           and type(l).compute_mask is Layer.compute_mask for l in self._layers)  # no layer makes a mask
        self.built = True

    def _forward(self, x, training):
        if not self._direct:  # cleared by add() and pop() until the next build()
            return super()._forward(x, training)
        # leaf layers only, called directly: no call context to set up, losses dropped
        # only when one was added since the last drop
        if self._loss_stamp != _loss_adds[0]:
            self._drop_losses()
        for call, takes_training, _ in self._direct_calls:  # training is True or False here
            x = call(x, training=training) if takes_training else call(x)
        return x

    def call(self, inputs, training=None, mask=None):
        x = inputs
        if self.built and self._direct and mask is None:
            # build() checked that each layer takes the previous one's output shape, and
            # the model checks its input, so the layers' own checks can be skipped.
            for call, takes_training, default in self._direct_calls:
                if takes_training:
                    x = call(x, training=default if training is None else training)
                else:
                    x = call(x)
            return x
        if mask is not None:  # the mask of the input; each layer's output carries its own after that
            if not isinstance(x, Tensor):
                x = Tensor(x, backend=self.home_backend())
            set_keras_mask(x, mask)
        for l in self._layers:
            x = l(x, training=training)
        return x

    def compute_output_shape(self, input_shape):
        shape = tuple(input_shape)
        for l in self._layers:
            shape = l.compute_output_shape(shape)
        return shape

    def pop(self):
        l = self._layers.pop()
        self.built = self._direct = False
        self._step_cache = self._bk = None
        if self._input_spec is not None and self._layers:
            self.build(self._input_spec)
        return l

    def get_config(self):
        """Keras 3's config of a Sequential: its layers (an InputLayer first when the input
        shape is known) and the shape it was built for."""
        from .saving import dtype_policy, serialize_keras_object

        layers = []
        if self._input_spec is not None:
            layers.append({"module": "keras.layers", "class_name": "InputLayer",
                           "config": {"batch_shape": list(self._input_spec), "dtype": self.dtype, "sparse": False,
                                      "ragged": False, "name": "input_layer", "optional": False},
                           "registered_name": None})
        layers.extend(serialize_keras_object(l) for l in self._layers)
        cfg = {"name": self.name, "trainable": self.trainable, "dtype": dtype_policy(self.dtype), "layers": layers}
        if self.built and isinstance(self.input_shape, tuple):
            cfg["build_input_shape"] = list(self.input_shape)
        return cfg

    @classmethod
    def from_config(cls, config, custom_objects=None):
        """A Sequential from ``get_config()`` (nnrs' or Keras 3's)."""
        from .saving import deserialize_keras_object

        model = cls(name=config.get("name"), trainable=config.get("trainable", True))
        for rec in config.get("layers") or []:
            model.add(deserialize_keras_object(rec, custom_objects=custom_objects))
        shape = config.get("build_input_shape")
        if not model.built and shape is not None and model._layers:
            model._input_spec = tuple(shape)
            model.build(tuple(shape))
        return model


def save_model(model, filepath, overwrite=True, **kwargs):
    """``model.save(filepath)``: a Keras 3 ``.keras`` archive."""
    model.save(filepath, overwrite=overwrite, **kwargs)


def load_model(filepath, custom_objects=None, compile=True, safe_mode=True):
    """A model from a ``.keras`` archive (see ``nnrs.saving.load_model``)."""
    from . import saving

    return saving.load_model(filepath, custom_objects=custom_objects, compile=compile, safe_mode=safe_mode)


def model_from_json(json_string, custom_objects=None):
    """A model with new weights from ``model.to_json()``."""
    from . import saving

    return saving.model_from_json(json_string, custom_objects=custom_objects)


def clone_model(model, input_tensors=None, clone_function=None, call_function=None, recursive=False, **kwargs):
    """A new model with the same structure as ``model`` and freshly initialised weights
    (see ``nnrs.saving.clone_model``)."""
    from . import saving

    return saving.clone_model(model, input_tensors=input_tensors, clone_function=clone_function,
                              call_function=call_function, recursive=recursive, **kwargs)
