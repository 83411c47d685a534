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
from .layers.base import KerasTensor, Layer, shape_str
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
        self._np_dtype = np.dtype(self.dtype)
        if inputs is not None or outputs is not None:
            self._init_functional(inputs, outputs)

    # ---- structure --------------------------------------------------------------------
    def __setattr__(self, key, value):
        if isinstance(value, Layer) and "_layers" in self.__dict__:
            if value not in self.__dict__["_layers"]:
                self.__dict__["_layers"].append(value)
        object.__setattr__(self, key, value)

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
        return list(self._layers)

    def get_layer(self, name=None, index=None):
        if index is not None:
            return self.layers[index]
        for l in self._layers:
            if l.name == name:
                return l
        raise ValueError(f"Model {self.name!r}: no layer named {name!r}; layers are {[l.name for l in self._layers]}")

    def call(self, x, training=False):
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
            shape = tuple(1 if d is None else d for d in input_shape)
            with no_grad():
                self.call(Tensor(np.zeros(shape, dtype=self.dtype)), training=False)
            self.input_shape = tuple(input_shape)
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
    def _penalties(self):
        out = []
        for l in self._all_layers():
            out.extend(l.weight_losses())
            out.extend(l.losses)
        return out

    def _all_layers(self):
        stack, out = list(self._layers), []
        while stack:
            l = stack.pop()
            out.append(l)
            stack.extend(getattr(l, "_layers", []))
        return out

    def _has_penalties(self):
        return any(w.regularizer is not None for w in self.weights) or any(
            l.activity_regularizer is not None for l in self._all_layers())

    def _train_batch(self, xb, yb, wb):
        """One optimisation step on backend arrays; returns (loss value, predictions)."""
        tw = self._trainable_cache
        for v in tw:
            v.grad = None
        out = self.call(Tensor.wrap(xb, self._bk), training=True)
        loss = self.loss(yb, out, wb)
        if self._penalized:
            for p in self._penalties():
                loss = loss + p
        loss.backward()  # releases the graph's saved arrays as it goes
        self.optimizer.apply_gradients([(v.grad, v) for v in tw])
        return loss.data, out.detach()

    def _prepare_training(self):
        if not self.built:
            raise RuntimeError(f"{self.name}: model is not built")
        self._trainable_cache = self.trainable_weights
        self._penalized = self._has_penalties()
        self._bk = self.home_backend()

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
        penalized = self._has_penalties()
        with no_grad():
            for lo in range(0, n, batch_size):
                hi = min(n, lo + batch_size)
                out = self.call(Tensor.wrap(b.asarray(xh[lo:hi]), b), training=False)
                wb = None if sw is None else sw[lo:hi]
                lv = self.loss(yh[lo:hi], out, wb)
                if penalized:
                    for p in self._penalties():
                        lv = lv + p
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
                outs.append(self.call(Tensor.wrap(b.asarray(xh[lo:lo + batch_size]), b), training=False).numpy())
        if not outs:
            shape = self.compute_output_shape((0,) + tuple(xh.shape[1:]))
            return np.zeros((0,) + tuple(shape[1:]), dtype=self.dtype)
        return np.concatenate(outs, axis=0)

    def predict_on_batch(self, x):
        """Outputs for one batch as a numpy array (no batching, no graph)."""
        b = self.__dict__.get("_bk")
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
            return b.to_numpy(self.call(Tensor.wrap(b.asarray(x), b), training=False).data)
        finally:
            g.enabled = prev

    def train_on_batch(self, x, y=None, sample_weight=None, class_weight=None, return_dict=False):
        """One optimisation step on one batch; returns the loss (and metrics)."""
        who = f"{type(self).__name__} {self.name!r}: train_on_batch"
        self._need_compiled("train_on_batch")
        xh, yh, sw = self._data(x, y, sample_weight, class_weight, who)
        self._ensure_built(xh)
        self._check_model_input(xh, "train_on_batch")
        if self._step_cache is None or self._bk is None:
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

    def __call__(self, x, training=False, **kwargs):
        if isinstance(x, (list, tuple)):
            return self.call(x, training=training)
        if not isinstance(x, KerasTensor):
            if not isinstance(x, Tensor):
                x = Tensor(x, dtype=self.dtype, backend=self.home_backend())
            self._check_model_input(x.data, "call")
        return super().__call__(x, training=training, **kwargs)

    # ---- weights and summary ------------------------------------------------------------
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
        a ``.safetensors`` file; no code in the file is executed (HDF5 or safetensors, never pickle)."""
        from . import io

        if skip_mismatch or kwargs:
            raise NotImplementedError(f"load_weights: {'skip_mismatch=True' if skip_mismatch else sorted(kwargs)} "
                                      "is not supported by nnrs yet; every weight must match")
        io.load_weights(self, filepath)

    def summary(self, print_fn=None):
        """Prints each layer with its output shape and parameter count, then the totals."""
        pf = print_fn or print
        rows = [(f"{l.name} ({type(l).__name__})", shape_str(l.output_shape) if l.output_shape is not None else "?",
                 f"{l.count_params():,}") for l in self._layers if not isinstance(l, InputLayer)]
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
        total = self.count_params()
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
        node_of = {id(kt.layer): kt for kt in self._nodes}

        def producer(kt):
            return input_refs[id(kt)].name if id(kt) in input_refs else kt.layer.name

        def tensor_record(kt):
            return {"class_name": "__keras_tensor__", "config": {"shape": list(kt.shape), "dtype": kt.dtype.name,
                                                                  "keras_history": [producer(kt), 0, 0]}}

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
            kt = node_of[id(obj)]
            args = [tensor_record(p) for p in kt.inputs]
            rec["name"] = obj.name
            rec["inbound_nodes"] = [{"args": args if len(args) == 1 else [args], "kwargs": {}}]
            layers.append(rec)

        def refs(kts):
            out = [[producer(kt), 0, 0] for kt in kts]
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
        tensors, pending = {}, []
        for rec in config["layers"]:
            name = rec.get("name") or (rec.get("config") or {}).get("name")
            if rec.get("class_name") == "InputLayer":
                c = plain_config(rec.get("config") or {})
                shape = c.get("batch_shape") or c.get("batch_input_shape")
                if shape is None:
                    raise ValueError(f"Model.from_config: input layer {name!r} has no batch_shape")
                tensors[name] = Input(tuple(shape[1:]), batch_size=shape[0], dtype=c.get("dtype", "float32"), name=name)
                continue
            nodes = rec.get("inbound_nodes") or []
            if len(nodes) > 1:
                raise ValueError(f"Model.from_config: layer {name!r} is called {len(nodes)} times; shared layers are not supported yet")
            pending.append((name, deserialize_keras_object(rec, custom_objects=custom_objects), nodes))

        def resolve(arg):
            if isinstance(arg, list):
                return [resolve(a) for a in arg]
            if isinstance(arg, dict) and arg.get("class_name") == "__keras_tensor__":
                layer_name, node_index, tensor_index = arg["config"]["keras_history"]
                if node_index != 0 or tensor_index != 0:
                    raise ValueError(f"Model.from_config: {layer_name!r} output {tensor_index} of call {node_index} is "
                                     "not supported (nnrs layers have one call and one output)")
                if layer_name not in tensors:
                    raise KeyError(layer_name)
                return tensors[layer_name]
            raise ValueError(f"Model.from_config: unsupported call argument {arg!r}")

        while pending:
            progress = []
            for item in pending:
                name, layer, nodes = item
                if not nodes:
                    progress.append(item)
                    continue
                node = nodes[0]
                extra = {k: v for k, v in (node.get("kwargs") or {}).items() if v is not None and k != "training"}
                if extra:
                    raise ValueError(f"Model.from_config: layer {name!r} is called with unsupported arguments {sorted(extra)}")
                try:
                    args = [resolve(a) for a in node.get("args") or []]
                except KeyError:
                    continue
                if len(args) != 1:
                    raise ValueError(f"Model.from_config: layer {name!r} is called with {len(args)} positional arguments; expected 1")
                tensors[name] = layer(args[0])
                progress.append(item)
            if not progress:
                missing = sorted(name for name, _, _ in pending)
                raise ValueError(f"Model.from_config: the inputs of layers {missing} are never produced (broken graph in config)")
            pending = [p for p in pending if p not in progress]

        def refs(spec):
            many = not (spec and isinstance(spec[0], str))
            items = spec if many else [spec]
            for item in items:
                if item[0] not in tensors:
                    raise ValueError(f"Model.from_config: input/output {item[0]!r} names no layer of the config")
            out = [tensors[item[0]] for item in items]
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
        self.built = False
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
        self._direct = all(l.activity_regularizer is None and l.built for l in self._layers)
        self.built = True

    def call(self, x, training=False):
        if self.built and self._direct:
            # build() checked that each layer takes the previous one's output shape, and
            # the model checks its input, so the layers' own checks can be skipped.
            for l in self._layers:
                x = l.call(x, training=training)
            return x
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
        self.built = False
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
