"""Recurrent layers (Keras 3 names, arguments, defaults, weights and configs).

Cells compute one time step: ``SimpleRNNCell``, ``GRUCell`` (``reset_after`` True or
False), ``LSTMCell`` and ``StackedRNNCells``. ``RNN(cell)`` runs any cell over the time
axis of a ``(batch, timesteps, features)`` input: a cell is any layer with a
``state_size`` (an int or a list of ints) and ``call(inputs, states, training=None)``
returning ``(output, new_states)``, as in Keras. ``SimpleRNN``, ``GRU`` and ``LSTM`` are
``RNN`` over their cell with the cell's arguments on the layer (Keras' class structure, so
their ``.keras`` files hold the weights at ``<layer>/cell/vars/<i>``), and
``Bidirectional`` runs a copy of a recurrent layer in each direction.

Semantics follow Keras 3:

- Masks (a bool ``(batch, timesteps)`` tensor passed as ``mask=``): at a masked step the
  states are carried over unchanged and the output repeats the previous step's output
  (zeros with ``zero_output_for_mask=True``; zeros before the first unmasked step).
- ``go_backwards=True`` processes the sequence from its end; the returned sequence is in
  processing order (reversed), as in Keras.
- ``stateful=True`` keeps the final states in non-trainable Variables (not saved, as in
  Keras) and starts the next call from them; they are copied, so no gradient flows into an
  earlier batch (truncated back-propagation through time). The batch size is fixed by the
  first call; ``reset_states()`` sets the states to zeros.
- ``dropout`` / ``recurrent_dropout`` draw one mask per call of the layer (the same mask at
  every step; one per gate where Keras draws one per gate), in training only.

``SimpleRNN``, ``GRU`` (``reset_after=True``) and ``LSTM`` with their default activations and
no recurrent dropout run the whole sequence as one fused op,
``nnrs.functions.recurrent.rnn_sequence``, when that module is present; otherwise (and for
every other configuration) they run the cell step by step.
"""

from __future__ import annotations

import copy

import numpy as np

from .. import activations, constraints, diagnostics, initializers, ops, regularizers
from .. import random as _random
from ..tensor import Tensor, Variable
from .base import KerasTensor, Layer, shape_str
from .core import _keras_config

__all__ = ["SimpleRNNCell", "GRUCell", "LSTMCell", "StackedRNNCells", "RNN", "SimpleRNN", "GRU", "LSTM", "Bidirectional"]


# ---- helpers ---------------------------------------------------------------------------------


def _init_config(i):
    from ..saving import keras_record

    return keras_record("keras.initializers", initializers.serialize(i))


def _reg_config(r):
    from ..saving import keras_record

    return keras_record("keras.regularizers", regularizers.serialize(r))


class _Act:
    """An activation argument: how to apply it and how Keras writes it in a config."""

    def __init__(self, identifier, where):
        self.kernel, self.alpha, self.fn, self.name = activations.resolve(identifier, where)

    def __call__(self, x):
        return self.fn(x) if self.fn is not None else ops.activation(x, self.kernel, self.alpha)

    def config(self):
        if self.fn is None:
            return self.name
        from ..saving import function_record

        return function_record(self.fn)

    @property
    def identifier(self):
        return self.fn if self.fn is not None else self.name


def _flatten(states):
    out = []
    for s in states:
        if isinstance(s, (list, tuple)):
            out.extend(_flatten(s))
        else:
            out.append(s)
    return out


def _pack(template, flat):
    """``flat`` (an iterator) arranged like ``template`` (nested lists)."""
    out = []
    for s in template:
        out.append(_pack(s, flat) if isinstance(s, (list, tuple)) else next(flat))
    return out


def _as_state(value, like, who):
    t = value if isinstance(value, Tensor) else Tensor(np.asarray(value), backend=like.backend)
    if t.dtype != like.dtype:
        t = ops.cast(t, like.dtype)
    return t


def _mask_tensor(mask, x, who):
    """``mask`` as a bool Tensor (batch, timesteps) of ``x``'s backend, checked."""
    if mask is None:
        return None
    if isinstance(mask, (list, tuple)):  # Keras passes a list of masks for several inputs: the sequence's counts
        mask = mask[0]
        if mask is None:
            return None
    data = mask.data if isinstance(mask, Tensor) else x.backend.asarray(np.asarray(mask))
    n, t = x.data.shape[:2]
    if tuple(data.shape) != (n, t):
        raise ValueError(f"{who}: expected a mask of shape ({n}, {t}) (batch, timesteps), got {tuple(data.shape)}")
    if data.dtype != np.bool_:
        data = data != 0
    return Tensor.wrap(data, x.backend)


def _step_mask(mask, i):
    """Column ``i`` of a bool mask as a (batch, 1) Tensor (a view: layout only)."""
    return Tensor.wrap(mask.data[:, i:i + 1], mask.backend)


# ---- cells -----------------------------------------------------------------------------------


class _DropoutCell(Layer):
    """Shared by the built-in cells: weights' arguments and Keras' per-call dropout masks."""

    _gates = 1  # gates per weight matrix (1 SimpleRNN, 3 GRU, 4 LSTM)

    def _init_common(self, units, activation, use_bias, kernel_initializer, recurrent_initializer, bias_initializer,
                     kernel_regularizer, recurrent_regularizer, bias_regularizer, kernel_constraint, recurrent_constraint,
                     bias_constraint, dropout, recurrent_dropout, seed):
        who = self._who()
        if isinstance(units, bool) or not isinstance(units, (int, np.integer)) or units <= 0:
            raise ValueError(f"{who}: units must be a positive integer, got {units!r}")
        self.units = int(units)
        self._activation = _Act(activation, f"{who}: activation")
        self.use_bias = bool(use_bias)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.recurrent_initializer = initializers.get(recurrent_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.recurrent_regularizer = regularizers.get(recurrent_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.recurrent_constraint = constraints.get(recurrent_constraint)
        self.bias_constraint = constraints.get(bias_constraint)
        self.dropout = min(1.0, max(0.0, float(dropout)))
        self.recurrent_dropout = min(1.0, max(0.0, float(recurrent_dropout)))
        if self.recurrent_dropout != 0.0:
            self.implementation = 1
        # Keras draws one mask per gate on the per-gate path (implementation 1)
        self._mask_count = self._gates if self.implementation == 1 else 1
        self.seed = seed
        object.__setattr__(self, "_rng", np.random.default_rng(seed) if seed is not None else None)
        object.__setattr__(self, "_dropout_mask", None)
        object.__setattr__(self, "_recurrent_dropout_mask", None)
        self.kernel = self.recurrent_kernel = self.bias = None

    def _who(self):
        return f"{type(self).__name__} {self.name!r}"

    @property
    def activation(self):
        return self._activation.identifier

    def _add_weights(self, input_dim, bias_shape, bias_initializer=None):
        g = self._gates
        self.kernel = self.add_weight((input_dim, g * self.units), self.kernel_initializer, name="kernel",
                                      regularizer=self.kernel_regularizer, constraint=self.kernel_constraint)
        self.recurrent_kernel = self.add_weight((self.units, g * self.units), self.recurrent_initializer,
                                                name="recurrent_kernel", regularizer=self.recurrent_regularizer,
                                                constraint=self.recurrent_constraint)
        if self.use_bias:
            self.bias = self.add_weight(bias_shape, bias_initializer or self.bias_initializer, name="bias",
                                        regularizer=self.bias_regularizer, constraint=self.bias_constraint)
        else:
            self.bias = None

    def _check_step_shape(self, input_shape):
        if len(input_shape) != 2 or input_shape[-1] is None:
            raise ValueError(f"{self._who()}: expected step inputs of shape (batch, features) with known features, "
                             f"got {shape_str(tuple(input_shape))}")
        return int(input_shape[-1])

    # dropout masks: drawn once per call of the RNN layer (reset after it), as Keras' DropoutRNNCell
    def _make_masks(self, like, rate):
        ones = ops.ones_like(Tensor.wrap(like.data, like.backend))
        masks = []
        for _ in range(self._mask_count):
            seed = int(self._rng.integers(0, 2**63 - 1)) if self._rng is not None else _random.next_seed()
            masks.append(ops.dropout(ones, rate, seed))
        return masks

    def get_dropout_mask(self, step_input):
        if self._dropout_mask is None and 0.0 < self.dropout < 1.0:
            object.__setattr__(self, "_dropout_mask", self._make_masks(step_input, self.dropout))
        return self._dropout_mask

    def get_recurrent_dropout_mask(self, state):
        if self._recurrent_dropout_mask is None and 0.0 < self.recurrent_dropout < 1.0:
            object.__setattr__(self, "_recurrent_dropout_mask", self._make_masks(state, self.recurrent_dropout))
        return self._recurrent_dropout_mask

    def reset_dropout_mask(self):
        object.__setattr__(self, "_dropout_mask", None)

    def reset_recurrent_dropout_mask(self):
        object.__setattr__(self, "_recurrent_dropout_mask", None)

    def _step_inputs(self, x, h, training):
        """Per gate: the (masked) input and state, or None when one product covers every gate."""
        dp = self.get_dropout_mask(x) if training and 0.0 < self.dropout < 1.0 else None
        rdp = self.get_recurrent_dropout_mask(h) if training and 0.0 < self.recurrent_dropout < 1.0 else None
        if self._mask_count == 1:
            return ([x * dp[0]] if dp is not None else [x]), [h], False
        xs = [x * m for m in dp] if dp is not None else [x] * self._gates
        hs = [h * m for m in rdp] if rdp is not None else [h] * self._gates
        return xs, hs, True

    def get_initial_state(self, batch_size=None):
        sizes = self.state_size if isinstance(self.state_size, (list, tuple)) else [self.state_size]
        be = self.home_backend()
        return [Tensor.wrap(be.xp.zeros((int(batch_size), d), dtype=self.dtype), be) for d in sizes]

    def _cell_config(self, **extra):
        fields = {"units": self.units, "activation": self._activation.config()}
        fields.update(extra.pop("_after_activation", {}))
        fields["use_bias"] = self.use_bias
        fields.update({"kernel_initializer": _init_config(self.kernel_initializer),
                       "recurrent_initializer": _init_config(self.recurrent_initializer),
                       "bias_initializer": _init_config(self.bias_initializer)})
        fields.update(extra.pop("_after_init", {}))
        fields.update({"kernel_regularizer": _reg_config(self.kernel_regularizer),
                       "recurrent_regularizer": _reg_config(self.recurrent_regularizer),
                       "bias_regularizer": _reg_config(self.bias_regularizer),
                       "kernel_constraint": constraints.serialize(self.kernel_constraint),
                       "recurrent_constraint": constraints.serialize(self.recurrent_constraint),
                       "bias_constraint": constraints.serialize(self.bias_constraint),
                       "dropout": self.dropout, "recurrent_dropout": self.recurrent_dropout})
        fields.update(extra)
        fields["seed"] = self.seed
        return _keras_config(self, **fields)

    @classmethod
    def from_config(cls, config):
        from ..saving import plain_config

        return cls(**plain_config(config))


class SimpleRNNCell(_DropoutCell):
    """``h_t = activation(x_t @ kernel + bias + h_{t-1} @ recurrent_kernel)``; kernel (features, units),
    recurrent_kernel (units, units), bias (units,)."""

    _gates = 1

    def __init__(self, units, activation="tanh", use_bias=True, kernel_initializer="glorot_uniform",
                 recurrent_initializer="orthogonal", bias_initializer="zeros", kernel_regularizer=None,
                 recurrent_regularizer=None, bias_regularizer=None, kernel_constraint=None, recurrent_constraint=None,
                 bias_constraint=None, dropout=0.0, recurrent_dropout=0.0, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.implementation = 2
        self._init_common(units, activation, use_bias, kernel_initializer, recurrent_initializer, bias_initializer,
                          kernel_regularizer, recurrent_regularizer, bias_regularizer, kernel_constraint,
                          recurrent_constraint, bias_constraint, dropout, recurrent_dropout, seed)
        self._mask_count = 1
        self.state_size = self.units
        self.output_size = self.units

    def build(self, input_shape):
        self._add_weights(self._check_step_shape(input_shape), (self.units,))

    def call(self, inputs, states, training=False):
        nested = isinstance(states, (list, tuple))
        h = states[0] if nested else states
        dp = self.get_dropout_mask(inputs) if training and 0.0 < self.dropout < 1.0 else None
        rdp = self.get_recurrent_dropout_mask(h) if training and 0.0 < self.recurrent_dropout < 1.0 else None
        x = inputs * dp[0] if dp is not None else inputs
        if rdp is not None:
            h = h * rdp[0]
        out = self._activation(ops.add(ops.dense(x, self.kernel, self.bias), ops.matmul(h, self.recurrent_kernel)))
        return out, ([out] if nested else out)

    def get_config(self):
        return self._cell_config()


class GRUCell(_DropoutCell):
    """Gated recurrent unit step; gates z (update), r (reset), h (candidate) in that order along
    the last axis of kernel (features, 3*units) and recurrent_kernel (units, 3*units). With
    ``reset_after=True`` (Keras' default) bias is (2, 3*units): input bias, recurrent bias, and
    the reset gate multiplies ``h @ recurrent_kernel_h + recurrent_bias_h``; with False bias is
    (3*units,) and the reset gate multiplies h before its product."""

    _gates = 3

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid", use_bias=True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal", bias_initializer="zeros",
                 kernel_regularizer=None, recurrent_regularizer=None, bias_regularizer=None, kernel_constraint=None,
                 recurrent_constraint=None, bias_constraint=None, dropout=0.0, recurrent_dropout=0.0, reset_after=True,
                 seed=None, **kwargs):
        self.implementation = int(kwargs.pop("implementation", 2))
        super().__init__(**kwargs)
        self._init_common(units, activation, use_bias, kernel_initializer, recurrent_initializer, bias_initializer,
                          kernel_regularizer, recurrent_regularizer, bias_regularizer, kernel_constraint,
                          recurrent_constraint, bias_constraint, dropout, recurrent_dropout, seed)
        self._recurrent_activation = _Act(recurrent_activation, f"{self._who()}: recurrent_activation")
        self.reset_after = bool(reset_after)
        self.state_size = self.units
        self.output_size = self.units

    @property
    def recurrent_activation(self):
        return self._recurrent_activation.identifier

    def build(self, input_shape):
        shape = (2, 3 * self.units) if self.reset_after else (3 * self.units,)
        self._add_weights(self._check_step_shape(input_shape), shape)

    def call(self, inputs, states, training=False):
        nested = isinstance(states, (list, tuple))
        h_prev = states[0] if nested else states
        u = self.units
        xs, hs, per_gate = self._step_inputs(inputs, h_prev, training)
        k, rk, b = self.kernel, self.recurrent_kernel, self.bias
        ib = rb = None
        if b is not None:
            ib, rb = (b[0], b[1]) if self.reset_after else (b, None)
        sig, act = self._recurrent_activation, self._activation

        def piece(t, g):
            return t[..., g * u:(g + 1) * u]

        if not per_gate:
            mx = ops.dense(xs[0], k, ib)
            x_z, x_r, x_h = piece(mx, 0), piece(mx, 1), piece(mx, 2)
            if self.reset_after:
                inner = ops.matmul(h_prev, rk)
                if rb is not None:
                    inner = inner + rb
                z = sig(x_z + piece(inner, 0))
                r = sig(x_r + piece(inner, 1))
                hh = act(x_h + r * piece(inner, 2))
            else:
                inner = ops.matmul(h_prev, rk[:, :2 * u])
                z = sig(x_z + piece(inner, 0))
                r = sig(x_r + piece(inner, 1))
                hh = act(x_h + ops.matmul(r * h_prev, rk[:, 2 * u:]))
        else:
            xg = [ops.dense(xs[g], k[:, g * u:(g + 1) * u], None if ib is None else piece(ib, g)) for g in range(3)]
            rz = ops.matmul(hs[0], piece(rk, 0))
            rr = ops.matmul(hs[1], piece(rk, 1))
            if self.reset_after and rb is not None:
                rz, rr = rz + piece(rb, 0), rr + piece(rb, 1)
            z = sig(xg[0] + rz)
            r = sig(xg[1] + rr)
            if self.reset_after:
                rh = ops.matmul(hs[2], piece(rk, 2))
                if rb is not None:
                    rh = rh + piece(rb, 2)
                hh = act(xg[2] + r * rh)
            else:
                hh = act(xg[2] + ops.matmul(r * hs[2], piece(rk, 2)))
        h = z * h_prev + (1.0 - z) * hh
        return h, ([h] if nested else h)

    def get_config(self):
        return self._cell_config(_after_activation={"recurrent_activation": self._recurrent_activation.config()},
                                 reset_after=self.reset_after)


class LSTMCell(_DropoutCell):
    """Long short-term memory step; gates i, f, c, o in that order along the last axis of kernel
    (features, 4*units), recurrent_kernel (units, 4*units) and bias (4*units,).
    ``unit_forget_bias=True`` starts the forget gate's bias at one."""

    _gates = 4

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid", use_bias=True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal", bias_initializer="zeros",
                 unit_forget_bias=True, kernel_regularizer=None, recurrent_regularizer=None, bias_regularizer=None,
                 kernel_constraint=None, recurrent_constraint=None, bias_constraint=None, dropout=0.0,
                 recurrent_dropout=0.0, seed=None, **kwargs):
        self.implementation = int(kwargs.pop("implementation", 2))
        super().__init__(**kwargs)
        self._init_common(units, activation, use_bias, kernel_initializer, recurrent_initializer, bias_initializer,
                          kernel_regularizer, recurrent_regularizer, bias_regularizer, kernel_constraint,
                          recurrent_constraint, bias_constraint, dropout, recurrent_dropout, seed)
        self._recurrent_activation = _Act(recurrent_activation, f"{self._who()}: recurrent_activation")
        self.unit_forget_bias = bool(unit_forget_bias)
        self.state_size = [self.units, self.units]
        self.output_size = self.units

    @property
    def recurrent_activation(self):
        return self._recurrent_activation.identifier

    def build(self, input_shape):
        u = self.units
        init = None
        if self.use_bias and self.unit_forget_bias:
            base = self.bias_initializer

            def init(shape, dtype=None):  # Keras: bias_initializer for i, ones for f, bias_initializer for c and o
                return np.concatenate([np.asarray(base((u,), dtype=dtype)), np.ones((u,), dtype=dtype),
                                       np.asarray(base((2 * u,), dtype=dtype))])

        self._add_weights(self._check_step_shape(input_shape), (4 * u,), init)

    def call(self, inputs, states, training=False):
        h_prev, c_prev = states[0], states[1]
        u = self.units
        xs, hs, per_gate = self._step_inputs(inputs, h_prev, training)
        k, rk, b = self.kernel, self.recurrent_kernel, self.bias
        sig, act = self._recurrent_activation, self._activation
        if not per_gate:
            z = ops.add(ops.dense(xs[0], k, b), ops.matmul(h_prev, rk))
            zs = [z[:, g * u:(g + 1) * u] for g in range(4)]
        else:
            zs = [ops.add(ops.dense(xs[g], k[:, g * u:(g + 1) * u], None if b is None else b[g * u:(g + 1) * u]),
                          ops.matmul(hs[g], rk[:, g * u:(g + 1) * u])) for g in range(4)]
        i, f, o = sig(zs[0]), sig(zs[1]), sig(zs[3])
        c = f * c_prev + i * act(zs[2])
        h = o * act(c)
        return h, [h, c]

    def get_config(self):
        return self._cell_config(_after_activation={"recurrent_activation": self._recurrent_activation.config()},
                                 _after_init={"unit_forget_bias": self.unit_forget_bias})


def _serialize(layer):
    from ..saving import serialize_keras_object

    return serialize_keras_object(layer)


def _deserialize(record, custom_objects=None):
    from ..saving import deserialize_keras_object

    return deserialize_keras_object(record, custom_objects=custom_objects)


def _state_sizes(cell):
    s = cell.state_size
    return list(s) if isinstance(s, (list, tuple)) else [s]


def _output_size(cell):
    out = getattr(cell, "output_size", None)
    if out is not None:
        return out
    s = _state_sizes(cell)[0]
    return s[0] if isinstance(s, (list, tuple)) else s


class StackedRNNCells(Layer):
    """Several cells run one after another at each time step (the output of one is the input of
    the next); its states are the list of each cell's states."""

    def __init__(self, cells, **kwargs):
        super().__init__(**kwargs)
        for c in cells:
            if not hasattr(c, "call") or not hasattr(c, "state_size"):
                raise ValueError(f"StackedRNNCells {self.name!r}: every cell needs a call method and a state_size, got {c!r}")
        self.cells = list(cells)

    @property
    def state_size(self):
        return [c.state_size for c in self.cells]

    @property
    def output_size(self):
        return _output_size(self.cells[-1])

    def get_initial_state(self, batch_size=None):
        out = []
        be = self.home_backend()
        for c in self.cells:
            fn = getattr(c, "get_initial_state", None)
            if fn is not None:
                s = fn(batch_size=batch_size)
                out.append(s if isinstance(c.state_size, (list, tuple)) else (s[0] if isinstance(s, (list, tuple)) else s))
            else:
                zs = [Tensor.wrap(be.xp.zeros((int(batch_size), d), dtype=self.dtype), be) for d in _state_sizes(c)]
                out.append(zs if isinstance(c.state_size, (list, tuple)) else zs[0])
        return out

    def build(self, input_shape):
        shape = tuple(input_shape)
        for c in self.cells:
            if isinstance(c, Layer) and not c.built:
                c._maybe_build(shape)
            shape = (shape[0], _output_size(c))

    def call(self, inputs, states, training=False):
        new_states = []
        for c, s in zip(self.cells, states):
            is_list = isinstance(s, (list, tuple))
            s = list(s) if is_list else [s]
            kw = {"training": training} if isinstance(c, Layer) and "training" in _call_params(c) else {}
            inputs, s = c(inputs, s, **kw)
            s = list(s) if isinstance(s, (list, tuple)) else [s]
            new_states.append(s if is_list else s[0])
        return inputs, new_states

    def get_config(self):
        return {**_keras_config(self), "cells": [_serialize(c) for c in self.cells]}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        from ..saving import plain_config

        config = dict(config)
        cells = [_deserialize(c, custom_objects) for c in config.pop("cells")]
        return cls(cells, **plain_config(config))


def _call_params(layer):
    import inspect

    try:
        return inspect.signature(type(layer).call).parameters
    except (TypeError, ValueError):
        return {}


# ---- the RNN layer ---------------------------------------------------------------------------


class RNN(Layer):
    """Runs ``cell`` over the time axis of ``(batch, timesteps, features)`` inputs.

    Returns the last output (batch, output_size), or every output (batch, timesteps,
    output_size) with ``return_sequences=True``; with ``return_state=True`` a list
    ``[output, *final_states]``. ``call(sequences, initial_state=None, mask=None, training=None)``.
    """

    def __init__(self, cell, return_sequences=False, return_state=False, go_backwards=False, stateful=False, unroll=False,
                 zero_output_for_mask=False, **kwargs):
        if isinstance(cell, (list, tuple)):
            cell = StackedRNNCells(cell)
        if not hasattr(cell, "call"):
            raise ValueError(f"RNN: the cell must be a layer with a call(inputs, states) method, got {cell!r}")
        state_size = getattr(cell, "state_size", None)
        if state_size is None:
            raise ValueError(f"RNN: the cell {type(cell).__name__} has no state_size (an int, or a list of ints per state)")
        if not isinstance(state_size, (list, tuple, int, np.integer)):
            raise ValueError(f"RNN: state_size must be an int or a list of ints, got {state_size!r}")
        super().__init__(**kwargs)
        self.cell = cell
        self.return_sequences = bool(return_sequences)
        self.return_state = bool(return_state)
        self.go_backwards = bool(go_backwards)
        self.stateful = bool(stateful)
        self.unroll = bool(unroll)
        self.zero_output_for_mask = bool(zero_output_for_mask)
        self.supports_masking = True
        object.__setattr__(self, "states", None)  # stateful: Variables (not weights, not saved, as in Keras)
        object.__setattr__(self, "_feature_dim", None)

    def _who(self):
        return f"{type(self).__name__} {self.name!r}"

    @property
    def state_size(self):
        return _state_sizes(self.cell)

    def _check_shape(self, shape):
        if len(shape) != 3:
            raise ValueError(f"{self._who()}: expected input of rank 3 (batch, timesteps, features), "
                             f"got shape {shape_str(tuple(shape))}")
        d = self._feature_dim
        if d is not None and shape[-1] is not None and shape[-1] != d:
            raise ValueError(f"{self._who()}: expected input shape {shape_str((None, None, d))} (features {d}), "
                             f"got {shape_str(tuple(shape))}")

    def build(self, sequences_shape, initial_state_shape=None):
        shape = tuple(sequences_shape)
        self._check_shape(shape)
        if shape[-1] is None:
            raise ValueError(f"{self._who()}: the number of features (last axis) must be known, got shape {shape_str(shape)}")
        object.__setattr__(self, "_feature_dim", int(shape[-1]))
        if isinstance(self.cell, Layer) and not self.cell.built:
            self.cell._maybe_build((shape[0], shape[2]))

    def compute_output_shape(self, sequences_shape, initial_state_shape=None):
        n, t = sequences_shape[0], sequences_shape[1]
        out = _output_size(self.cell)
        output_shape = (n, t, out) if self.return_sequences else (n, out)
        if self.return_state:
            states = []
            for s in self.state_size:
                states.append([(n, d) for d in s] if isinstance(s, (list, tuple)) else (n, s))
            return [output_shape] + states
        return output_shape

    def compute_mask(self, inputs, mask):
        if isinstance(mask, (list, tuple)):
            mask = mask[0]
        out = mask if self.return_sequences else None
        if self.return_state:
            return [out] + [None] * len(_flatten(self.state_size))
        return out

    def __call__(self, x, *args, **kwargs):
        if isinstance(x, KerasTensor):  # a functional graph: check what can be checked before recording the call
            self._check_shape(x.shape)
            state = args[0] if args else kwargs.get("initial_state")
            if state is not None:
                _check_symbolic_states(self._who(), state, self.state_size, x)
        return super().__call__(x, *args, **kwargs)

    # ---- states --------------------------------------------------------------------------
    def get_initial_state(self, batch_size):
        fn = getattr(self.cell, "get_initial_state", None)
        if fn is not None:
            s = fn(batch_size=batch_size)
            return list(s) if isinstance(s, (list, tuple)) else [s]
        be = self.home_backend()
        return [Tensor.wrap(be.xp.zeros((int(batch_size), d), dtype=self.dtype), be) for d in self.state_size]

    def reset_states(self):
        self.reset_state()

    def reset_state(self):
        if self.states is not None:
            for v in self.states:
                v.assign(np.zeros(v.shape, dtype=v.dtype))

    def _stateful_initial(self, n):
        if self.states is None:
            init = _flatten(self.get_initial_state(n))
            object.__setattr__(self, "states", [Variable(s.data.copy(), name="rnn_state", trainable=False, backend=s.backend)
                                                for s in init])
        expected = self.states[0].shape[0]
        if n != expected:
            raise ValueError(f"{self._who()}: a stateful RNN keeps states for batches of {expected} sequences; got a batch "
                             f"of {n} (use a fixed batch size, e.g. Input(batch_shape=...) and batch_size=, or reset by "
                             "making a new layer)")
        template = self.get_initial_state(n)
        # copies: the next batch starts from these values without a gradient path into the last one
        return _pack(template, iter(Tensor.wrap(v.data.copy(), v.backend) for v in self.states))

    # ---- the forward ----------------------------------------------------------------------
    def call(self, sequences, initial_state=None, mask=None, training=False):
        x = sequences
        self._check_shape(x.data.shape)
        n = x.data.shape[0]
        if initial_state is None:
            initial_state = self._stateful_initial(n) if self.stateful else self.get_initial_state(n)
        else:
            if self.stateful:
                self._stateful_initial(n)  # checks the batch size
            initial_state = list(initial_state) if isinstance(initial_state, (list, tuple)) else [initial_state]
            template = self.get_initial_state(n)
            flat_t = _flatten(template)
            flat = _flatten(initial_state)
            if len(flat) != len(flat_t):
                raise ValueError(f"{self._who()}: expected {len(flat_t)} initial state tensor(s), got {len(flat)}")
            flat = [_as_state(s, x, self._who()) for s in flat]
            for s, t in zip(flat, flat_t):
                if tuple(s.data.shape) != tuple(t.data.shape):
                    raise ValueError(f"{self._who()}: initial state of shape {tuple(s.data.shape)} does not match the "
                                     f"expected {tuple(t.data.shape)} (batch, state size)")
            initial_state = _pack(template, iter(flat))
        mask = _mask_tensor(mask, x, self._who())
        cell = self.cell
        try:
            result = self._fused_call(x, initial_state, mask, training)
            if result is None:
                result = self._loop(x, initial_state, mask, training)
        finally:
            _reset_dropout(cell)
        last, outputs, states = result
        if self.stateful:
            for v, s in zip(self.states, _flatten(states)):
                v.assign(s.data)
        output = outputs if self.return_sequences else last
        if self.return_state:
            return [output] + list(states)
        return output

    def _fused_call(self, x, initial_state, mask, training):
        """The whole sequence as one op (SimpleRNN, GRU, LSTM override this); None: use the step loop."""
        return None

    def _loop(self, x, initial_state, mask, training):
        """(last output, outputs (batch, t, out) in processing order or None, final states)."""
        cell = self.cell
        kw = {"training": training} if "training" in _call_params(cell) else {}
        states = list(initial_state)
        t = x.data.shape[1]
        if t == 0:
            raise ValueError(f"{self._who()}: the input has no time steps (shape {tuple(x.data.shape)})")
        order = range(t - 1, -1, -1) if self.go_backwards else range(t)
        outs, prev = [], None
        for i in order:
            out, new = cell(x[:, i], states, **kw)
            new = list(new) if isinstance(new, (list, tuple)) else [new]
            if mask is not None:
                m = _step_mask(mask, i)
                if prev is None or self.zero_output_for_mask:
                    fill = ops.zeros_like(Tensor.wrap(out.data, out.backend))
                else:
                    fill = prev
                out = ops.where(m, out, fill)
                flat_new = [ops.where(m, a, b) for a, b in zip(_flatten(new), _flatten(states))]
                new = _pack(new, iter(flat_new))
            states = new
            probe = diagnostics.probe_leaf(self, out)  # None unless diagnostics.gradient_norms runs
            if probe is not None:
                out = out + probe
                flat = _flatten(states)
                states = _pack(states, iter([flat[0] + probe] + flat[1:]))
            prev = out
            if self.return_sequences:
                outs.append(out)
        outputs = ops.stack(outs, axis=1) if self.return_sequences else None
        return prev, outputs, states

    # ---- config --------------------------------------------------------------------------
    def _rnn_flags(self):
        return {"return_sequences": self.return_sequences, "return_state": self.return_state,
                "go_backwards": self.go_backwards, "stateful": self.stateful, "unroll": self.unroll,
                "zero_output_for_mask": self.zero_output_for_mask}

    def get_config(self):
        return {**_keras_config(self), **self._rnn_flags(), "cell": _serialize(self.cell)}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        from ..saving import plain_config

        config = dict(config)
        cell = _deserialize(config.pop("cell"), custom_objects)
        return cls(cell, **plain_config(config))


def _check_symbolic_states(who, state, state_size, x):
    """Symbolic initial states of a recurrent layer in a functional graph: one (batch, size)
    KerasTensor per state of ``state_size``, checked before the call is recorded."""
    flat = _flatten(list(state) if isinstance(state, (list, tuple)) else [state])
    sizes = _flatten(list(state_size))
    if not all(isinstance(s, KerasTensor) for s in flat):
        return  # concrete states: the call itself checks them
    if len(flat) != len(sizes):
        raise ValueError(f"{who}: expected {len(sizes)} initial state tensor(s), got {len(flat)}")
    for i, (s, d) in enumerate(zip(flat, sizes)):
        want = (x.shape[0], d)
        if len(s.shape) != 2 or (s.shape[1] is not None and s.shape[1] != d) or \
                (s.shape[0] is not None and x.shape[0] is not None and s.shape[0] != x.shape[0]):
            raise ValueError(f"{who}: initial state {i} has shape {shape_str(s.shape)}, expected {shape_str(want)} "
                             "(batch, state size)")


def _reset_dropout(cell):
    if isinstance(cell, _DropoutCell):
        cell.reset_dropout_mask()
        cell.reset_recurrent_dropout_mask()
    elif isinstance(cell, StackedRNNCells):
        for c in cell.cells:
            _reset_dropout(c)


# ---- SimpleRNN, GRU, LSTM ---------------------------------------------------------------------


class _FusedRNN(RNN):
    """An RNN over one of the built-in cells, with the cell's arguments as properties and a
    fused whole-sequence path."""

    _cell_class = None
    _kind = None
    _cell_args = ()  # cell arguments that are layer properties and config keys, in Keras' order

    def _cudnn_options(self, use_cudnn, kwargs):
        """Keras' ``use_cudnn`` (checked and stored; it changes nothing here) and ``implementation``
        (taken out of ``kwargs`` and returned, for the cell)."""
        if use_cudnn not in ("auto", True, False):
            raise ValueError(f"{type(self).__name__}: use_cudnn must be 'auto', True or False, got {use_cudnn!r}")
        self.use_cudnn = use_cudnn
        return kwargs.pop("implementation", 2)

    def _init_layer(self, cell_kwargs, rnn_kwargs, kwargs):
        cell_name = {"SimpleRNNCell": "simple_rnn_cell", "GRUCell": "gru_cell", "LSTMCell": "lstm_cell"}
        cell = self._cell_class(**cell_kwargs, dtype=kwargs.get("dtype"), trainable=kwargs.get("trainable", True),
                                name=cell_name[self._cell_class.__name__])
        super().__init__(cell, **rnn_kwargs, **kwargs)

    def _fusable(self, training):
        c = self.cell
        if type(c) is not self._cell_class or c.implementation != 2:
            return False
        fused_acts = ("tanh", "relu") if self._kind == "simple_rnn" else ("tanh",)
        if c._activation.name not in fused_acts or c._activation.fn is not None:
            return False
        if hasattr(c, "_recurrent_activation") and (c._recurrent_activation.name != "sigmoid" or c._recurrent_activation.fn is not None):
            return False
        if getattr(c, "reset_after", True) is not True:
            return False
        if training and 0.0 < c.recurrent_dropout < 1.0:
            return False
        return True

    def _fused_call(self, x, initial_state, mask, training):
        if not self._fusable(training) or diagnostics.probing():
            return None
        try:
            from ..functions.recurrent import rnn_sequence
        except ImportError:
            return None
        c = self.cell
        t = x.data.shape[1]
        if training and 0.0 < c.dropout < 1.0:  # one input mask for every step, as Keras applies it
            m = c.get_dropout_mask(x[:, 0])[0]
            x = x * ops.reshape(m, (m.data.shape[0], 1, m.data.shape[1]))
        bias = c.bias
        if bias is None:
            shape = {"simple_rnn": (c.units,), "gru": (2, 3 * c.units), "lstm": (4 * c.units,)}[self._kind]
            bias = Tensor.wrap(x.backend.xp.zeros(shape, dtype=c.kernel.dtype), x.backend)
        states = tuple(_flatten(initial_state))
        packed = rnn_sequence(self._kind, x, c.kernel, c.recurrent_kernel, bias, states, mask=mask,
                              reverse=self.go_backwards, activation=c._activation.name, zero_masked=self.zero_output_for_mask)
        # only the pieces the call returns or keeps are sliced out (a slice is an op of its own)
        outputs = packed[:, :t] if self.return_sequences else None
        last = None if self.return_sequences else packed[:, t - 1]
        final = [packed[:, t + k] for k in range(len(states))] if self.return_state or self.stateful else None
        return last, outputs, final

    def get_config(self):
        cfg = {**_keras_config(self), **self._rnn_flags()}
        cell_cfg = self.cell.get_config()
        for k in ("name", "trainable", "dtype"):
            cell_cfg.pop(k, None)
        ar = _reg_config(self.activity_regularizer)
        cfg.pop("activity_regularizer", None)
        out = {**cfg}
        for k, v in cell_cfg.items():
            if k == "seed":
                continue
            out[k] = v
            if k == "bias_regularizer":
                out["activity_regularizer"] = ar
        out.update(self._extra_config())
        out["seed"] = self.cell.seed
        return out

    def _extra_config(self):
        return {}

    @classmethod
    def from_config(cls, config):
        from ..saving import plain_config

        config = dict(config)
        config.pop("cell", None)
        return cls(**plain_config(config))


def _cell_property(name):
    return property(lambda self: getattr(self.cell, name))


class SimpleRNN(_FusedRNN):
    """A fully connected RNN: ``RNN(SimpleRNNCell(units, ...))``."""

    _cell_class = SimpleRNNCell
    _kind = "simple_rnn"

    def __init__(self, units, activation="tanh", use_bias=True, kernel_initializer="glorot_uniform",
                 recurrent_initializer="orthogonal", bias_initializer="zeros", kernel_regularizer=None,
                 recurrent_regularizer=None, bias_regularizer=None, activity_regularizer=None, kernel_constraint=None,
                 recurrent_constraint=None, bias_constraint=None, dropout=0.0, recurrent_dropout=0.0, return_sequences=False,
                 return_state=False, go_backwards=False, stateful=False, unroll=False, seed=None, **kwargs):
        self._init_layer(dict(units=units, activation=activation, use_bias=use_bias, kernel_initializer=kernel_initializer,
                              recurrent_initializer=recurrent_initializer, bias_initializer=bias_initializer,
                              kernel_regularizer=kernel_regularizer, recurrent_regularizer=recurrent_regularizer,
                              bias_regularizer=bias_regularizer, kernel_constraint=kernel_constraint,
                              recurrent_constraint=recurrent_constraint, bias_constraint=bias_constraint, dropout=dropout,
                              recurrent_dropout=recurrent_dropout, seed=seed),
                         dict(return_sequences=return_sequences, return_state=return_state, go_backwards=go_backwards,
                              stateful=stateful, unroll=unroll),
                         dict(activity_regularizer=activity_regularizer, **kwargs))


class GRU(_FusedRNN):
    """Gated recurrent unit layer: ``RNN(GRUCell(units, ...))`` (Keras' weights and gate order z, r, h)."""

    _cell_class = GRUCell
    _kind = "gru"

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid", use_bias=True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal", bias_initializer="zeros",
                 kernel_regularizer=None, recurrent_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, recurrent_constraint=None, bias_constraint=None, dropout=0.0,
                 recurrent_dropout=0.0, seed=None, return_sequences=False, return_state=False, go_backwards=False,
                 stateful=False, unroll=False, reset_after=True, use_cudnn="auto", **kwargs):
        implementation = self._cudnn_options(use_cudnn, kwargs)
        self._init_layer(dict(units=units, activation=activation, recurrent_activation=recurrent_activation,
                              use_bias=use_bias, kernel_initializer=kernel_initializer,
                              recurrent_initializer=recurrent_initializer, bias_initializer=bias_initializer,
                              kernel_regularizer=kernel_regularizer, recurrent_regularizer=recurrent_regularizer,
                              bias_regularizer=bias_regularizer, kernel_constraint=kernel_constraint,
                              recurrent_constraint=recurrent_constraint, bias_constraint=bias_constraint, dropout=dropout,
                              recurrent_dropout=recurrent_dropout, reset_after=reset_after, seed=seed,
                              implementation=implementation),
                         dict(return_sequences=return_sequences, return_state=return_state, go_backwards=go_backwards,
                              stateful=stateful, unroll=unroll),
                         dict(activity_regularizer=activity_regularizer, **kwargs))


class LSTM(_FusedRNN):
    """Long short-term memory layer: ``RNN(LSTMCell(units, ...))`` (Keras' weights and gate order i, f, c, o)."""

    _cell_class = LSTMCell
    _kind = "lstm"

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid", use_bias=True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal", bias_initializer="zeros",
                 unit_forget_bias=True, kernel_regularizer=None, recurrent_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, kernel_constraint=None, recurrent_constraint=None, bias_constraint=None,
                 dropout=0.0, recurrent_dropout=0.0, seed=None, return_sequences=False, return_state=False,
                 go_backwards=False, stateful=False, unroll=False, use_cudnn="auto", **kwargs):
        implementation = self._cudnn_options(use_cudnn, kwargs)
        self._init_layer(dict(units=units, activation=activation, recurrent_activation=recurrent_activation,
                              use_bias=use_bias, kernel_initializer=kernel_initializer,
                              recurrent_initializer=recurrent_initializer, bias_initializer=bias_initializer,
                              unit_forget_bias=unit_forget_bias, kernel_regularizer=kernel_regularizer,
                              recurrent_regularizer=recurrent_regularizer, bias_regularizer=bias_regularizer,
                              kernel_constraint=kernel_constraint, recurrent_constraint=recurrent_constraint,
                              bias_constraint=bias_constraint, dropout=dropout, recurrent_dropout=recurrent_dropout,
                              seed=seed, implementation=implementation),
                         dict(return_sequences=return_sequences, return_state=return_state, go_backwards=go_backwards,
                              stateful=stateful, unroll=unroll),
                         dict(activity_regularizer=activity_regularizer, **kwargs))


for _cls, _names in ((SimpleRNN, ("units", "activation", "use_bias", "dropout", "recurrent_dropout")),
                     (GRU, ("units", "activation", "recurrent_activation", "use_bias", "dropout", "recurrent_dropout",
                            "reset_after")),
                     (LSTM, ("units", "activation", "recurrent_activation", "use_bias", "unit_forget_bias", "dropout",
                             "recurrent_dropout"))):
    for _n in _names + ("kernel_initializer", "recurrent_initializer", "bias_initializer", "kernel_regularizer",
                        "recurrent_regularizer", "bias_regularizer", "kernel_constraint", "recurrent_constraint",
                        "bias_constraint"):
        setattr(_cls, _n, _cell_property(_n))


# ---- Bidirectional ---------------------------------------------------------------------------

_MERGE_MODES = ("concat", "sum", "mul", "ave", None)


def _copy_layer(layer, **changes):
    cfg = copy.deepcopy(layer.get_config())
    cfg.update(changes)
    return type(layer).from_config(cfg)


class Bidirectional(Layer):
    """Runs a recurrent layer forwards and a copy of it backwards over the sequence and merges
    the two outputs (``merge_mode``: "concat", "sum", "mul", "ave" or None for a list of both).

    The forward layer is a copy of ``layer`` named ``forward_<name>``; the backward one is
    ``backward_layer`` or a copy named ``backward_<name>`` with ``go_backwards=True``. For
    sequences the backward outputs are re-reversed to line up with the forward ones. With
    ``return_state`` the result is the merged output followed by the forward then the
    backward states; ``initial_state`` is the forward states followed by the backward ones."""

    def __init__(self, layer, merge_mode="concat", weights=None, backward_layer=None, **kwargs):
        if not isinstance(layer, Layer):
            raise ValueError(f"Bidirectional: layer must be an nnrs layer (a recurrent one), got {layer!r}")
        if backward_layer is not None and not isinstance(backward_layer, Layer):
            raise ValueError(f"Bidirectional: backward_layer must be a layer, got {backward_layer!r}")
        if merge_mode not in _MERGE_MODES:
            raise ValueError(f"Bidirectional: merge_mode must be one of {list(_MERGE_MODES)}, got {merge_mode!r}")
        for attr in ("go_backwards", "return_sequences", "return_state", "stateful"):
            if not hasattr(layer, attr):
                raise ValueError(f"Bidirectional: the wrapped layer {layer.name!r} ({type(layer).__name__}) is not a "
                                 f"recurrent layer (it has no {attr!r})")
        super().__init__(**kwargs)
        base = layer.name[len("forward_"):] if layer.name.startswith("forward_") else layer.name
        self.forward_layer = _copy_layer(layer, name=f"forward_{base}")
        if backward_layer is None:
            base = layer.name[len("backward_"):] if layer.name.startswith("backward_") else layer.name
            self.backward_layer = _copy_layer(layer, name=f"backward_{base}", go_backwards=True)
        else:
            self.backward_layer = backward_layer
        f, b = self.forward_layer, self.backward_layer
        if f.go_backwards == b.go_backwards:
            raise ValueError(f"Bidirectional {self.name!r}: the forward and backward layers need different go_backwards, "
                             f"got {f.go_backwards} for both")
        for attr in ("stateful", "return_sequences", "return_state"):
            if getattr(f, attr) != getattr(b, attr):
                raise ValueError(f"Bidirectional {self.name!r}: the forward and backward layers need the same {attr}, got "
                                 f"{getattr(f, attr)} (forward) and {getattr(b, attr)} (backward)")
        for l in (f, b):  # as Keras: masked steps give zeros in sequences
            if hasattr(l, "zero_output_for_mask"):
                l.zero_output_for_mask = l.return_sequences
        self.merge_mode = merge_mode
        self.stateful = layer.stateful
        self.return_sequences = layer.return_sequences
        self.return_state = layer.return_state
        self.supports_masking = True
        if weights:
            object.__setattr__(self, "_initial_weights", list(weights))

    def _who(self):
        return f"Bidirectional {self.name!r}"

    def build(self, sequences_shape, initial_state_shape=None):
        shape = tuple(sequences_shape)
        if len(shape) != 3:
            raise ValueError(f"{self._who()}: expected input of rank 3 (batch, timesteps, features), got shape {shape_str(shape)}")
        for l in (self.forward_layer, self.backward_layer):
            if not l.built:
                l._maybe_build(shape)
        w = getattr(self, "_initial_weights", None)
        if w:
            self.set_weights(w)
            object.__setattr__(self, "_initial_weights", None)

    def compute_output_shape(self, sequences_shape, initial_state_shape=None):
        out = self.forward_layer.compute_output_shape(sequences_shape)
        states = []
        if self.return_state:
            out, states = out[0], list(out[1:])
        out = tuple(out)
        if self.merge_mode == "concat":
            out = out[:-1] + (None if out[-1] is None else 2 * out[-1],)
        elif self.merge_mode is None:
            out = [out, out]
        if self.return_state:
            return (out if isinstance(out, list) else [out]) + states + states
        return out

    def compute_mask(self, inputs, mask):
        if isinstance(mask, (list, tuple)):
            mask = mask[0]
        if self.return_sequences:
            out = [mask, mask] if self.merge_mode is None else mask
        else:
            out = [None, None] if self.merge_mode is None else None
        if self.return_state:
            n = len(_flatten(self.forward_layer.state_size)) if hasattr(self.forward_layer, "state_size") else 0
            return (out if isinstance(out, list) else [out]) + [None] * (2 * n)
        return out

    def __call__(self, x, *args, **kwargs):
        if isinstance(x, KerasTensor):  # a functional graph: the forward states, then the backward ones
            state = args[0] if args else kwargs.get("initial_state")
            sizes = getattr(self.forward_layer, "state_size", None)
            if state is not None and sizes is not None:
                _check_symbolic_states(self._who(), state, list(sizes) + list(sizes), x)
        return super().__call__(x, *args, **kwargs)

    def call(self, sequences, initial_state=None, mask=None, training=None):
        kw = {}
        if training is not None:
            kw["training"] = training
        if mask is not None:
            kw["mask"] = mask
        fs = bs = None
        if initial_state is not None:
            initial_state = list(initial_state)
            half = len(initial_state) // 2
            fs, bs = initial_state[:half], initial_state[half:]
        y = self.forward_layer(sequences, initial_state=fs, **kw)
        y_rev = self.backward_layer(sequences, initial_state=bs, **kw)
        states = []
        if self.return_state:
            states = list(y[1:]) + list(y_rev[1:])
            y, y_rev = y[0], y_rev[0]
        if self.return_sequences:
            y_rev = ops.flip(y_rev, axis=1)
        mode = self.merge_mode
        if mode == "concat":
            out = ops.concatenate([y, y_rev], axis=-1)
        elif mode == "sum":
            out = y + y_rev
        elif mode == "ave":
            out = (y + y_rev) / 2.0
        elif mode == "mul":
            out = y * y_rev
        else:
            out = [y, y_rev]
        if self.return_state:
            return (out if isinstance(out, list) else [out]) + states
        return out

    def reset_states(self):
        self.reset_state()

    def reset_state(self):
        if not self.stateful:
            raise AttributeError(f"{self._who()}: reset_state() needs a stateful layer")
        self.forward_layer.reset_state()
        self.backward_layer.reset_state()

    @property
    def states(self):
        f, b = self.forward_layer.states, self.backward_layer.states
        if f and b:
            return tuple(f) + tuple(b)
        return None

    def get_config(self):
        return {**_keras_config(self), "merge_mode": self.merge_mode, "layer": _serialize(self.forward_layer),
                "backward_layer": _serialize(self.backward_layer)}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        from ..saving import plain_config

        config = copy.deepcopy(dict(config))
        layer = _deserialize(config.pop("layer"), custom_objects)
        back = config.pop("backward_layer", None)
        if back is not None:
            back = _deserialize(back, custom_objects)
        return cls(layer, backward_layer=back, **plain_config(config))
