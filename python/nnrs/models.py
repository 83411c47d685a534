"""Models: ``Sequential``, functional ``Model(inputs, outputs)`` and subclassed ``Model``,
with Keras 3's training loop: ``compile``, ``fit``, ``evaluate``, ``predict``,
``train_on_batch``, ``test_on_batch``, ``predict_on_batch``, ``summary``.

The training step is deliberately short: forward through the layers, the loss (plus
regularization penalties), ``backward()``, one optimizer kernel per weight. Per-batch
work in Python is a handful of calls per layer, so small models stay fast.
"""

from __future__ import annotations

import numpy as np

from . import callbacks as callbacks_module
from . import losses as losses_module
from . import metrics as metrics_module
from . import optimizers as optimizers_module
from . import random as _random
from .layers.base import KerasTensor, Layer, _call_spec, _call_state, _generation, _loss_adds, shape_str
from .layers.core import InputLayer
from .tensor import Tensor, no_grad
from .tensor import _grad as _grad_state

__all__ = ["Model", "Sequential"]


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


class Model(Layer):
    """A model: a Layer with a training loop.

    ``Model(inputs, outputs)`` builds a functional model from symbolic tensors of
    ``nnrs.Input``; subclasses may instead define ``call`` and assign layers as attributes.
    """

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
        order, seen = [], set()

        def visit(t):
            if id(t) in seen:
                return
            seen.add(id(t))
            for p in t.inputs:
                visit(p)
            if t.layer is not None:
                order.append(t)
            elif not any(t is i for i in ins):
                raise ValueError(f"Model {self.name!r}: output depends on an input that is not in `inputs`")

        for o in outs:
            visit(o)
        self._nodes = order
        for t in order:
            if t.layer not in self._layers:
                self._layers.append(t.layer)
        self.input_shape = ins[0].shape if len(ins) == 1 else [i.shape for i in ins]
        self.output_shape = outs[0].shape if len(outs) == 1 else [o.shape for o in outs]
        self.built = True

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

    def call(self, x, training=None):
        if self._nodes is None:
            raise NotImplementedError(f"{type(self).__name__}: a subclassed Model must define call()")
        vals = {}
        xs = x if isinstance(x, (list, tuple)) else [x]
        for kt, v in zip(self._inputs, xs):
            vals[id(kt)] = v
        for kt in self._nodes:
            args = [vals[id(p)] for p in kt.inputs]
            vals[id(kt)] = kt.layer(args[0] if len(args) == 1 else args, training=training)
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
        """Configure training: optimizer and loss by name or object, metrics by name or object."""
        if loss_weights is not None:
            raise ValueError(f"{self.name}: loss_weights is only meaningful for several outputs, which nnrs does not train yet")
        self.optimizer = optimizers_module.get(optimizer)
        if loss is None:
            raise ValueError(f"{type(self).__name__} {self.name!r}: compile() needs a loss, e.g. loss='mse'")
        self.loss = losses_module.get(loss)
        loss_name = self.loss.name if not isinstance(loss, str) else loss
        self._metrics = [metrics_module.get(m, loss=loss_name) for m in (metrics or [])]
        self._weighted_metrics = [metrics_module.get(m, loss=loss_name) for m in (weighted_metrics or [])]
        self.compiled = True
        self._step_cache = None

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
        out = self._forward(Tensor.wrap(xb, self._bk), True)
        loss = self.loss(yb, out, wb)
        if self._reg_weights or self._loss_stamp != _loss_adds[0]:  # a regularizer, or add_loss ran
            loss = self._with_losses(loss, self._reg_weights)
        if loss.requires_grad:  # False when every weight is frozen: nothing to update
            loss.backward()  # releases the graph's saved arrays as it goes
            self.optimizer.apply_gradients([(v.grad, v) for v in tw])
        return loss.data, out.detach()

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
        p = out.numpy() if isinstance(out, Tensor) else np.asarray(out)
        for m in ms:
            m.update_state(y_host, p, sample_weight=w_host)

    # ---- fit --------------------------------------------------------------------------
    def fit(self, x=None, y=None, batch_size=None, epochs=1, verbose="auto", callbacks=None, validation_split=0.0,
            validation_data=None, shuffle=True, class_weight=None, sample_weight=None, initial_epoch=0,
            steps_per_epoch=None, validation_batch_size=None, validation_freq=1):
        """Train for ``epochs`` epochs; returns a ``History``."""
        who = f"{type(self).__name__} {self.name!r}: fit"
        self._need_compiled("fit")
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
        batch_size = int(batch_size or 32)
        if batch_size <= 0:
            raise ValueError(f"{who}: batch_size must be positive, got {batch_size}")
        self._ensure_built(xh)
        self._check_model_input(xh, "fit")
        self._prepare_training()

        b = self._bk
        xd = b.asarray(xh)
        n = len(xh)
        steps = (n + batch_size - 1) // batch_size
        if steps_per_epoch is not None:
            steps = min(steps, int(steps_per_epoch))
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
        logs = {}
        for epoch in range(initial_epoch, epochs):
            for m in ms:
                m.reset_state()
            cbl.on_epoch_begin(epoch)
            order = _random.generator().permutation(n) if shuffle else None
            total, seen = 0.0, 0
            for step in range(steps):
                lo, hi = step * batch_size, min(n, (step + 1) * batch_size)
                if order is None:
                    xb, yb = xd[lo:hi], yh[lo:hi]
                    wb = None if sw is None else sw[lo:hi]
                else:
                    idx = order[lo:hi]
                    xb, yb = xd[idx], yh[idx]
                    wb = None if sw is None else sw[idx]
                cbl.on_train_batch_begin(step)
                lv, out = self._train_batch(xb, yb, wb)
                total += float(lv) * (hi - lo)  # the loss reaches the host here, for the logs
                seen += hi - lo
                self._update_metrics(ms, yb, out, wb)
                del out
                logs = {"loss": total / seen}
                for m in ms:
                    logs[m.name] = m.result()
                cbl.on_train_batch_end(step, logs)
                if self.stop_training:
                    break
            epoch_logs = dict(logs)
            if validation_data is not None and (epoch + 1) % validation_freq == 0:
                vx, vy, *vw = validation_data
                val = self.evaluate(vx, vy, batch_size=validation_batch_size or batch_size, verbose=0,
                                    sample_weight=vw[0] if vw else None, return_dict=True)
                epoch_logs.update({f"val_{k}": v for k, v in val.items()})
            cbl.on_epoch_end(epoch, epoch_logs)
            if self.stop_training:
                break
        cbl.on_train_end(epoch_logs if epochs > initial_epoch else {})
        return history

    def _data(self, x, y, sample_weight, class_weight, who):
        """Host arrays (x in the model dtype, y, per-sample weights or None), checked."""
        if x is None or y is None:
            raise ValueError(f"{who}: x and y are required")
        xh, yh = _features(x, self.dtype, who), _targets(y, who)
        sw = None if sample_weight is None else np.asarray(sample_weight, dtype=self.dtype).reshape(-1)
        _check_lengths(xh, yh, sw, who)
        if class_weight is not None:
            cw = self._class_weights(class_weight, yh)
            sw = cw if sw is None else sw * cw
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
        """Loss (plus regularization penalties) and metrics over the data."""
        who = f"{type(self).__name__} {self.name!r}: evaluate"
        self._need_compiled("evaluate")
        xh, yh, sw = self._data(x, y, sample_weight, None, who)
        self._ensure_built(xh)
        self._check_model_input(xh, "evaluate")
        batch_size = int(batch_size or 32)
        b = self.home_backend()
        ms = self._metrics
        for m in ms:
            m.reset_state()
        total, n = 0.0, len(xh)
        reg_weights = [w for w in self.trainable_weights if w.regularizer is not None]
        with no_grad():
            for lo in range(0, n, batch_size):
                hi = min(n, lo + batch_size)
                out = self._forward(Tensor.wrap(b.asarray(xh[lo:hi]), b), False)
                wb = None if sw is None else sw[lo:hi]
                lv = self._with_losses(self.loss(yh[lo:hi], out, wb), reg_weights)
                total += float(lv.data) * (hi - lo)
                self._update_metrics(ms, yh[lo:hi], out, wb)
        res = {"loss": total / max(n, 1)}
        for m in ms:
            res[m.name] = m.result()
        if return_dict:
            return res
        vals = list(res.values())
        return vals[0] if len(vals) == 1 else vals

    def predict(self, x, batch_size=None, verbose="auto", steps=None, callbacks=None):
        """Outputs for ``x`` as a numpy array, computed in batches of ``batch_size`` (32)."""
        who = f"{type(self).__name__} {self.name!r}: predict"
        xh = _features(x, self.dtype, who)
        self._ensure_built(xh)
        self._check_model_input(xh, "predict")
        batch_size = int(batch_size or 32)
        b = self.home_backend()
        outs = []
        with no_grad():
            for lo in range(0, len(xh), batch_size):
                outs.append(self._forward(Tensor.wrap(b.asarray(xh[lo:lo + batch_size]), b), False).numpy())
        if not outs:
            shape = self.compute_output_shape((0,) + tuple(xh.shape[1:]))
            return np.zeros((0,) + tuple(shape[1:]), dtype=self.dtype)
        return np.concatenate(outs, axis=0)

    def predict_on_batch(self, x):
        """Outputs for one batch as a numpy array (no batching, no graph)."""
        b = self._bk
        if b is None:
            b = self.home_backend()
            if self.built:
                self._bk = b
        if not (isinstance(x, np.ndarray) and x.dtype == self._np_dtype and self.built):
            x = _features(x, self.dtype, f"{type(self).__name__} {self.name!r}: predict_on_batch")
            self._ensure_built(x)
        self._check_model_input(x, "predict_on_batch")
        g = _grad_state
        prev, g.enabled = g.enabled, False  # no_grad(), without building a context object per call
        try:
            return b.to_numpy(self._forward(Tensor.wrap(b.asarray(x), b), False).data)
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
        lv, out = self._train_batch(self._bk.asarray(xh), yh, sw)
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
    def save_weights(self, filepath, overwrite=True):
        """Save the weights to a safetensors file (atomically: a failed save keeps the old file)."""
        import os

        from . import io

        if not overwrite and os.path.exists(filepath):
            raise FileExistsError(f"save_weights: {filepath!r} exists and overwrite=False")
        io.save_weights(self, filepath)

    def load_weights(self, filepath):
        """Load weights saved by ``save_weights`` (no code is executed: safetensors, not pickle)."""
        from . import io

        io.load_weights(self, filepath)

    def summary(self, print_fn=None):
        """Prints each layer with its output shape and parameter count, then the totals."""
        pf = print_fn or print
        rows = [(f"{l.name} ({type(l).__name__})", shape_str(l.output_shape) if l.output_shape is not None else "?",
                 f"{l.count_params():,}" if l.built else "0 (unbuilt)") for l in self.layers if not isinstance(l, InputLayer)]
        w1 = max([len("Layer (type)")] + [len(r[0]) for r in rows]) + 2
        w2 = max([len("Output Shape")] + [len(r[1]) for r in rows]) + 2
        w3 = max([len("Param #")] + [len(r[2]) for r in rows])
        line = "-" * (w1 + w2 + w3)
        pf(f'Model: "{self.name}"')
        pf(line)
        pf(f"{'Layer (type)':<{w1}}{'Output Shape':<{w2}}{'Param #':>{w3}}")
        pf("=" * (w1 + w2 + w3))
        for r in rows:
            pf(f"{r[0]:<{w1}}{r[1]:<{w2}}{r[2]:>{w3}}")
        pf("=" * (w1 + w2 + w3))
        total = int(sum(int(np.prod(w.shape)) for w in self.weights))
        trainable = int(sum(int(np.prod(w.shape)) for w in self.trainable_weights))
        pf(f"Total params: {total:,}")
        pf(f"Trainable params: {trainable:,}")
        pf(f"Non-trainable params: {total - trainable:,}")
        pf(line)


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
        self._direct = all(l.activity_regularizer is None and l.built and not l._children()[0] for l in self._layers)
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
        for l in self._layers:
            kwargs = {}
            if mask is not None and _call_spec(l)[2]:
                kwargs["mask"] = mask
            mask = None  # nnrs layers make no masks: only the first layer can receive one
            x = l(x, training=training, **kwargs)
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
        return {"name": self.name, "layers": [{"class_name": type(l).__name__, "config": l.get_config()} for l in self._layers]}
