"""Layer: the Keras 3 shape of a layer. ``__init__`` stores config, ``build`` creates
weights, ``call`` uses ops only, ``get_config`` round-trips.

Calling a layer on a symbolic ``KerasTensor`` (from ``nnrs.Input``) records the call for
a functional ``nnrs.Model`` instead of computing.
"""

from __future__ import annotations

import functools
import inspect
import itertools
import threading
import warnings
import weakref
from collections import defaultdict

import numpy as np

from .. import backend as _backend
from .. import config as _config
from .. import initializers, regularizers
from .._util import snake_case
from ..tensor import Tensor, Variable

_name_counts: dict = defaultdict(int)


def unique_name(base: str) -> str:
    n = _name_counts[base]
    _name_counts[base] += 1
    return base if n == 0 else f"{base}_{n}"


def shape_str(shape) -> str:
    return "(" + ", ".join("None" if d is None else str(d) for d in shape) + ("," if len(shape) == 1 else "") + ")"


class KerasTensor:
    """A symbolic tensor: a shape (batch dim None), a dtype, and the layer call that made it.
    ``serial`` counts creations, so the calls of one shared layer keep their order (Keras'
    node index)."""

    _serials = itertools.count()

    def __init__(self, shape, dtype="float32", layer=None, inputs=(), name=None):
        self.serial = next(KerasTensor._serials)
        self.shape = tuple(shape)
        self.dtype = np.dtype(dtype)
        self.layer = layer
        self.inputs = tuple(inputs)
        self.name = name

    @property
    def ndim(self):
        return len(self.shape)

    def __repr__(self):
        return f"<KerasTensor shape={shape_str(self.shape)} dtype={self.dtype}>"


class _CallState(threading.local):
    """Per thread: the layer whose call is outermost, and the training flag resolved so far."""

    entry = None
    training = None


_call_state = _CallState()

#: Bumped whenever a layer's structure or trainability changes; models compare it to
#: decide whether their cached list of trainable weights is still current.
_generation = [0]


#: Counts losses added anywhere (``add_loss``, activity regularizers) and structure
#: changes: a model skips clearing its layers' loss lists while it has not moved.
_loss_adds = [0]


def _bump():
    _generation[0] += 1
    _loss_adds[0] += 1


# ---- masks ----------------------------------------------------------------------------
# A mask rides on the tensor it describes, as Keras' ``_keras_mask`` does. nnrs' Tensor has
# fixed slots, so the masks live in a side table keyed by the tensor's id, each entry
# dropped when its tensor is collected. The table is empty while no mask exists, so code
# without masks pays one truth test per layer call.
_masks: dict = {}


def get_keras_mask(x):
    """The mask attached to the tensor ``x`` (a boolean Tensor), or None."""
    if not _masks:
        return None
    entry = _masks.get(id(x))
    if entry is None or entry[0]() is not x:
        return None
    return entry[1]


def set_keras_mask(x, mask):
    """Attach ``mask`` (a boolean Tensor, array or None to remove it) to the tensor ``x``."""
    key = id(x)
    if mask is None:
        _masks.pop(key, None)
        return
    if not isinstance(mask, Tensor):
        mask = Tensor(np.asarray(mask, dtype=bool), backend=getattr(x, "backend", None))
    elif mask.dtype != np.bool_:
        from .. import ops

        mask = ops.cast(mask, "bool")

    def drop(ref, key=key):
        entry = _masks.get(key)
        if entry is not None and entry[0] is ref:
            _masks.pop(key, None)

    _masks[key] = (weakref.ref(x, drop), mask)


def _masks_of(x):
    """The masks of ``x`` (one tensor, or a list of masks for a list), None when there are none."""
    if not _masks:
        return None
    if isinstance(x, (list, tuple)):
        ms = [get_keras_mask(v) for v in x]
        return None if all(m is None for m in ms) else ms
    return get_keras_mask(x)


def _attach_masks(outputs, masks):
    """Attach ``masks`` (one, or a list matching the list ``outputs``) where an output has none."""
    if isinstance(outputs, (list, tuple)):
        ms = masks if isinstance(masks, (list, tuple)) else [masks]
        for o, m in zip(outputs, ms):
            if m is not None and isinstance(o, Tensor) and get_keras_mask(o) is None:
                set_keras_mask(o, m)
    elif isinstance(outputs, Tensor) and masks is not None and get_keras_mask(outputs) is None:
        set_keras_mask(outputs, masks)


def _has_mask(x):
    return isinstance(x, Tensor) and get_keras_mask(x) is not None


_call_specs: dict = {}


def _call_spec(layer):
    """(takes ``training``, its default, takes ``mask``) of ``type(layer).call``; read once per class."""
    cls = type(layer)
    spec = _call_specs.get(cls)
    if spec is None:
        params = inspect.signature(cls.call).parameters
        t = params.get("training")
        default = None if t is None or t.default is inspect.Parameter.empty else t.default
        spec = _call_specs[cls] = (t is not None, default, "mask" in params)
    return spec


def _collect(value, layers, variables, seen):
    """Append the Layers and Variables found in ``value`` (nested lists, tuples, dicts) in order."""
    if isinstance(value, Layer):
        if id(value) not in seen:
            seen.add(id(value))
            layers.append(value)
    elif isinstance(value, Variable):
        if id(value) not in seen:
            seen.add(id(value))
            variables.append(value)
    elif isinstance(value, (list, tuple, dict)):
        if id(value) in seen:  # a container that holds itself
            return
        seen.add(id(value))
        for v in value.values() if isinstance(value, dict) else value:
            _collect(v, layers, variables, seen)


_AGGREGATIONS = (None, "none", "mean", "sum", "only_first_replica")


class Layer:
    """Base of every layer.

    Layers, Variables and Models assigned as attributes (also inside lists, tuples and
    dicts, however nested) are tracked: their weights belong to this layer, in Keras 3's
    order (own trainable weights, own non-trainable weights, then each sub-layer's in the
    order they were assigned), each shared one once.

    ``autocast`` is accepted as in Keras; nnrs has no mixed precision, so both values
    compute the same.
    """

    #: Attributes the base classes use for their own bookkeeping: never walked for tracking.
    _untracked = frozenset({"_layers", "_losses", "_own", "_tracked", "input_shape",
                            "output_shape", "_spec_axes", "_input_shape_arg"})

    #: Warn when an input's mask ends at this layer (models leave that to their layers).
    _warn_dropped_mask = True

    def __init_subclass__(cls, **kwargs):
        """A subclass's own ``build`` marks the layer built when it returns (as Keras does),
        so calling ``build`` by hand and then the layer does not build it twice."""
        super().__init_subclass__(**kwargs)
        own = cls.__dict__.get("build")
        if own is not None and not getattr(own, "_marks_built", False):
            @functools.wraps(own)
            def build(self, *args, **kw):
                own(self, *args, **kw)
                self.built = True

            build._marks_built = True
            cls.build = build

    def __init__(self, name=None, trainable=True, dtype=None, input_shape=None, input_dim=None,
                 activity_regularizer=None, autocast=True, **kwargs):
        if kwargs:
            raise TypeError(f"{type(self).__name__}: unexpected keyword argument(s) {sorted(kwargs)}")
        # internal state is read and written through getattr/object.__setattr__, never through
        # self.__dict__: on CPython 3.11+ touching __dict__ makes every attribute read slower
        self._init_tracking()
        if not hasattr(self, "_layers"):
            object.__setattr__(self, "_layers", [])  # sub-layers listed explicitly (Sequential, functional)
        object.__setattr__(self, "_trainable", bool(trainable))
        self.name = name or unique_name(snake_case(type(self).__name__))
        self.dtype = np.dtype(dtype or _config.floatx()).name
        self.activity_regularizer = regularizers.get(activity_regularizer)
        if input_dim is not None:
            input_shape = (input_dim,)
        self._input_shape_arg = None if input_shape is None else (None,) + tuple(input_shape)
        self.built = False
        self.input_shape = None
        self.output_shape = None
        self._spec_axes: dict = {}
        self._spec_ndim = None

    # ---- tracking -------------------------------------------------------------------
    def __setattr__(self, name, value):
        if isinstance(value, (Layer, Variable, list, tuple, dict)) and name not in self._untracked:
            self._init_tracking()
            self._tracked[name] = True
            if isinstance(value, (Variable, list, tuple, dict)):
                found: list = []
                _collect(value, [], found, {id(self)})
                for v in found:
                    self._track_variable(v)
            _bump()
        object.__setattr__(self, name, value)

    def __delattr__(self, name):
        getattr(self, "_tracked", {}).pop(name, None)
        object.__delattr__(self, name)
        _bump()

    def _init_tracking(self):
        """The tracking state (also for attributes assigned before ``Layer.__init__`` ran):
        names of tracked attributes, own variables (trainable when made, the others), own losses."""
        if not hasattr(self, "_tracked"):
            object.__setattr__(self, "_tracked", {})
            object.__setattr__(self, "_own", ([], []))
            object.__setattr__(self, "_losses", [])

    def _track_variable(self, v):
        self._init_tracking()
        made_trainable, others = self._own
        if any(v is w for w in made_trainable) or any(v is w for w in others):
            return
        (made_trainable if v.trainable else others).append(v)
        if v.trainable and not self.trainable:
            v.trainable = v.requires_grad = False

    def _children(self):
        """(sub-layers, own variables) in tracking order, each once."""
        self._init_tracking()
        layers, variables = [], self._own[0] + self._own[1]
        seen = {id(self)} | {id(v) for v in variables}
        _collect(getattr(self, "_layers", []), layers, variables, seen)
        for name in self._tracked:
            _collect(getattr(self, name, None), layers, variables, seen)
        return layers, variables

    def _flatten_layers(self, include_self=True):
        """This layer and every layer under it, depth first, each once."""
        out, seen, stack = [], set(), [self]
        while stack:
            l = stack.pop()
            if id(l) in seen:
                continue
            seen.add(id(l))
            if l is not self or include_self:
                out.append(l)
            stack.extend(reversed(l._children()[0]))
        return out

    @property
    def trainable(self):
        return getattr(self, "_trainable", True)

    @trainable.setter
    def trainable(self, value):
        """Freezing a layer freezes its weights and every sub-layer (as Keras 3 does)."""
        value = bool(value)
        object.__setattr__(self, "_trainable", value)
        self._init_tracking()
        for v in self._own[0]:
            v.trainable = v.requires_grad = value
        for l in self._children()[0]:
            l.trainable = value
        _bump()

    # ---- weights --------------------------------------------------------------------
    def add_weight(self, *args, shape=None, initializer=None, dtype=None, trainable=True, autocast=True,
                   regularizer=None, constraint=None, aggregation="none", overwrite_with_gradient=False,
                   name=None) -> Variable:
        """A new weight of this layer, with Keras 3's signature: ``shape``, ``initializer``
        and ``dtype`` may be positional, everything else is by keyword. ``initializer``
        defaults to glorot_uniform for floating weights and zeros otherwise, ``dtype`` to
        the layer's. ``constraint`` is kept on the variable (``variable.constraint``)."""
        who = f"{type(self).__name__} {self.name!r}: add_weight"
        if len(args) > 3:
            raise TypeError(f"{who} takes shape, initializer and dtype positionally ({len(args)} positional "
                            "arguments given); pass the others by keyword")
        if args and isinstance(args[0], str):
            raise ValueError(f"{who}: the first positional argument is the shape, got the string {args[0]!r}; "
                             f"give the weight's name as name={args[0]!r}")
        for key, given in (("shape", shape), ("initializer", initializer), ("dtype", dtype))[:len(args)]:
            if given is not None:
                raise ValueError(f"{who}: {key} given both positionally and by keyword")
        shape, initializer, dtype = (tuple(args) + (shape, initializer, dtype)[len(args):])[:3]
        if aggregation not in _AGGREGATIONS:
            raise ValueError(f"{who}: aggregation must be one of {list(_AGGREGATIONS)}, got {aggregation!r}")
        if overwrite_with_gradient:
            raise ValueError(f"{who}: overwrite_with_gradient=True is not supported by nnrs' optimizers")
        if shape is None:
            shape = ()
        elif isinstance(shape, (int, np.integer)) or not hasattr(shape, "__iter__"):
            raise ValueError(f"{who}: shape must be a tuple of integers, got {shape!r}")
        shape = tuple(int(s) for s in shape)
        dt = np.dtype(dtype or self.dtype)
        if initializer is None:
            initializer = "glorot_uniform" if dt.kind == "f" else "zeros"
        init = initializers.get(initializer)
        name = "variable" if name is None else str(name)
        # initializers make floating values; integer and bool weights take them converted
        value = np.asarray(init(shape, dtype=dt.name if dt.kind == "f" else "float64")).astype(dt)
        v = Variable(value, name=name, trainable=bool(trainable), regularizer=regularizers.get(regularizer))
        v.constraint = _get_constraint(constraint, who)
        v.path = f"{self.name}/{name}"
        self._track_variable(v)
        _bump()
        return v

    def home_backend(self):
        """The backend this layer computes on: its weights' (the active one while it has none)."""
        ws = self.weights
        return ws[0].backend if ws else _backend.current()

    @property
    def weights(self):
        """Every weight: own trainable, own non-trainable, then each sub-layer's, each once."""
        layers, out = self._children()
        seen = {id(v) for v in out}
        for l in layers:
            for w in l.weights:
                if id(w) not in seen:
                    seen.add(id(w))
                    out.append(w)
        return out

    @property
    def trainable_weights(self):
        return [w for w in self.weights if w.trainable] if self.trainable else []

    @property
    def non_trainable_weights(self):
        return [w for w in self.weights if not w.trainable] if self.trainable else self.weights

    @property
    def trainable_variables(self):
        return self.trainable_weights

    @property
    def non_trainable_variables(self):
        return self.non_trainable_weights

    @property
    def variables(self):
        return self.weights

    def get_weights(self):
        """The weights as numpy arrays, in Keras 3's order and shapes."""
        return [w.numpy().copy() for w in self.weights]

    def set_weights(self, weights):
        """Set the weights from numpy arrays (same order and shapes as ``get_weights``)."""
        ws = self.weights
        weights = list(weights)
        if len(weights) != len(ws):
            raise ValueError(f"{type(self).__name__} {self.name!r}: set_weights expected {len(ws)} arrays, got {len(weights)}")
        for v, a in zip(ws, weights):
            a = np.asarray(a)
            if tuple(a.shape) != v.shape:
                raise ValueError(f"{type(self).__name__} {self.name!r}: weight {v.name!r} expects shape "
                                 f"{v.shape}, got {tuple(a.shape)}")
        for v, a in zip(ws, weights):
            v.assign(np.asarray(a).astype(v.dtype, copy=False))

    def count_params(self) -> int:
        """The number of scalars in the weights; the layer must be built (as in Keras)."""
        if not self.built:
            raise ValueError(f"{type(self).__name__} {self.name!r}: count_params() needs a built layer; call it on "
                             "data or call build(input_shape) first")
        return int(sum(int(np.prod(w.shape)) for w in self.weights))

    # ---- losses -----------------------------------------------------------------------
    def add_loss(self, loss):
        """Add a scalar loss (or a list of them), typically from inside ``call``; it counts in
        the training loss and is listed in ``losses`` until the next outermost call."""
        items = list(loss) if isinstance(loss, (list, tuple)) else [loss]
        for t in items:
            if not isinstance(t, Tensor):
                raise TypeError(f"{type(self).__name__} {self.name!r}: add_loss takes Tensors, got {type(t).__name__}")
        self._init_tracking()
        self._losses.extend(items)
        _loss_adds[0] += 1

    @property
    def losses(self):
        """The losses of ``add_loss`` and activity regularizers of this layer and every layer
        under it (from the latest call), then the penalties of the trainable weights' regularizers."""
        out = []
        for l in self._flatten_layers():
            out.extend(getattr(l, "_losses", ()))
        out.extend(self.weight_losses())
        return out

    def _clear_losses(self):
        for l in self._flatten_layers():
            getattr(l, "_losses", []).clear()

    def weight_losses(self):
        """Penalties of the trainable weights' regularizers (scalar Tensors), as Keras counts them."""
        return [w.regularizer(w) for w in self.trainable_weights if w.regularizer is not None]

    # ---- building and calling -------------------------------------------------------
    def build(self, input_shape):
        self.built = True

    def call(self, x, training=False):  # pragma: no cover - documentation
        raise NotImplementedError

    @property
    def supports_masking(self):
        """Whether the layer gives its output a mask from ``compute_mask``. As in Keras 3, True
        by default exactly when the class defines its own ``compute_mask``; layers that pass a
        mask through unchanged (Dense, Dropout, ...) set it to True."""
        v = getattr(self, "_supports_masking", None)
        return type(self).compute_mask is not Layer.compute_mask if v is None else v

    @supports_masking.setter
    def supports_masking(self, value):
        object.__setattr__(self, "_supports_masking", bool(value))

    def compute_mask(self, inputs, mask=None):
        """The mask of the output for ``inputs`` whose mask is ``mask`` (None: no mask). The
        default passes the input's mask on; ``__call__`` asks only layers that support masking."""
        return mask

    def _set_output_mask(self, x, y, mask):
        """After ``call``: attach ``compute_mask(x, mask)`` to the outputs that carry no mask
        yet (Keras' rule), or warn when a mask dies at a layer that does not support masking."""
        outs = y if isinstance(y, (list, tuple)) else [y]
        if all(_has_mask(o) for o in outs):
            return
        if self.supports_masking:
            _attach_masks(y, self.compute_mask(x, mask))
        elif mask is not None and self._warn_dropped_mask and not any(_has_mask(o) for o in outs):
            warnings.warn(f"{type(self).__name__} {self.name!r} got an input with a mask but does not support masking; "
                          "its output has no mask, so the layers after it see none", stacklevel=3)

    def compute_output_shape(self, input_shape):
        """By default the shape of ``call``'s output on one sample of zeros (the input shape
        where a size other than the batch is unknown); layers that know better override it."""
        several = isinstance(input_shape, list)  # several inputs: a list of shapes
        shapes = [tuple(s) for s in input_shape] if several else [tuple(input_shape)]
        if type(self).call is Layer.call or any(not s or None in s[1:] for s in shapes):
            return shapes if several else shapes[0]
        from ..tensor import no_grad

        takes_training = _call_spec(self)[0]
        with no_grad():
            xs = [Tensor(np.zeros((1,) + s[1:], dtype=self.dtype), backend=self.home_backend()) for s in shapes]
            x = xs if several else xs[0]
            y = self.call(x, training=False) if takes_training else self.call(x)
        if not isinstance(y, Tensor):
            raise ValueError(f"{type(self).__name__} {self.name!r}: call returned {type(y).__name__}, not one Tensor; "
                             "define compute_output_shape for this layer")
        return (shapes[0][0],) + tuple(y.data.shape[1:])

    def _set_spec(self, ndim=None, axes=None):
        """What ``__call__`` checks before calling: a minimum ndim and fixed axis sizes."""
        self._spec_ndim = ndim if ndim is not None or not axes else 0
        self._spec_axes = dict(axes or {})

    def _check_input(self, shape):
        if self._spec_ndim is None:
            return
        if len(shape) < self._spec_ndim:
            raise ValueError(f"{type(self).__name__} {self.name!r}: expected input with at least "
                             f"{self._spec_ndim} dimensions, got shape {shape_str(shape)}")
        for ax, size in self._spec_axes.items():
            if shape[ax] != size and shape[ax] is not None:
                exp = list(shape)
                exp[ax] = size
                exp[0] = None
                raise ValueError(f"{type(self).__name__} {self.name!r}: expected input shape {shape_str(exp)} "
                                 f"(axis {ax} of size {size}), got {shape_str(shape)}")

    def _maybe_build(self, shape):
        if not self.built:
            if isinstance(shape, list):  # several inputs: build gets a list of shapes
                self.input_shape = [(None,) + tuple(s)[1:] for s in shape]
                self.build(self.input_shape)
                self.built = True
                return
            shape = tuple(shape)
            self.input_shape = (None,) + shape[1:]
            self.build(self.input_shape)
            self.built = True

    def _as_input(self, x):
        if isinstance(x, Tensor):
            t = x
        else:
            t = Tensor(x, backend=self.home_backend())
        if t.dtype.kind == "f" and t.dtype != self.dtype:
            from .. import ops  # floating inputs compute in the layer's dtype, as Keras casts them

            t = ops.cast(t, self.dtype)
        return t

    def _build_sublayers(self, shape):
        """Build the sub-layers a ``build`` leaves to the first call (as Keras does on a
        symbolic call): run the layer once on zeros of ``shape`` (batch 1, inference, no
        gradient). Nothing to do when every sub-layer is built."""
        if all(c.built for c in self._flatten_layers(include_self=False)):
            return
        from ..tensor import no_grad

        def zeros(s):
            return Tensor(np.zeros(tuple(1 if d is None else d for d in s), dtype=self.dtype), backend=self.home_backend())

        with no_grad():
            self([zeros(s) for s in shape] if isinstance(shape, list) else zeros(shape), training=False)

    def __call__(self, x, *args, training=None, **kwargs):
        if kwargs and any(isinstance(v, KerasTensor) or (isinstance(v, (list, tuple)) and any(isinstance(t, KerasTensor) for t in v))
                          for v in kwargs.values()):
            bad = sorted(k for k, v in kwargs.items() if isinstance(v, (KerasTensor, list, tuple)))
            raise NotImplementedError(f"{type(self).__name__} {self.name!r}: symbolic tensors as keyword arguments ({', '.join(bad)}) "
                                      "are not recorded in nnrs' functional graphs yet; masks made by layers (Masking, "
                                      "Embedding(mask_zero=True)) reach the next layers on their own")
        if isinstance(x, KerasTensor):
            self._maybe_build(x.shape)
            self._check_input(x.shape)
            self._build_sublayers(x.shape)
            return KerasTensor(self.compute_output_shape(x.shape), x.dtype, layer=self, inputs=(x,))
        if isinstance(x, (list, tuple)) and x and all(isinstance(t, KerasTensor) for t in x):
            shapes = [t.shape for t in x]  # a layer of several symbolic inputs (functional API)
            self._maybe_build(shapes)
            self._build_sublayers(shapes)
            return KerasTensor(self.compute_output_shape(shapes), x[0].dtype, layer=self, inputs=tuple(x))
        several = isinstance(x, (list, tuple))
        mask = kwargs.get("mask") if kwargs else None
        if mask is None and _masks:  # the input carries a mask (read before any cast makes a new tensor)
            mask = _masks_of(x)
        x = [self._as_input(v) for v in x] if several else self._as_input(x)
        st = _call_state
        outer = st.entry is None
        if outer:  # the outermost call starts afresh: losses of the previous call are dropped
            st.entry = self
            self._clear_losses()
        prev = st.training
        takes_training, default, takes_mask = _call_spec(self)
        if mask is not None and takes_mask and kwargs.get("mask") is None:  # call takes the input's mask
            kwargs["mask"] = mask
        if training is None:
            training = prev if prev is not None else default
        if takes_training and training is not None:
            kwargs["training"] = training
        st.training = training
        try:
            fresh = not self.built
            if fresh:
                self._maybe_build([v.data.shape for v in x] if several else x.data.shape)
            if self._spec_ndim is not None and not several:
                self._check_input(x.data.shape)
            y = self.call(x, *args, **kwargs)
            if mask is not None or type(self).compute_mask is not Layer.compute_mask:
                self._set_output_mask(x, y, mask)
            if fresh and isinstance(y, Tensor):
                self.output_shape = (None,) + tuple(y.data.shape[1:])
            if self.activity_regularizer is not None and isinstance(y, Tensor):
                from .. import ops

                self.add_loss(ops.divide(self.activity_regularizer(y), float(max(y.data.shape[0], 1))))
        finally:
            st.training = prev
            if outer:
                st.entry = None
        return y

    # ---- config ---------------------------------------------------------------------
    def get_config(self) -> dict:
        cfg = {"name": self.name, "trainable": self.trainable, "dtype": self.dtype}
        if self._input_shape_arg is not None:
            cfg["input_shape"] = self._input_shape_arg[1:]
        return cfg

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name}, built={self.built}>"


def _get_constraint(constraint, who):
    """``constraint`` as a callable (or None); names resolve through ``nnrs.constraints`` where it exists."""
    if constraint is None or callable(constraint):
        return constraint
    try:
        from .. import constraints
    except ImportError:
        raise ValueError(f"{who}: constraint {constraint!r} is not a callable, and this nnrs has no named constraints") from None
    return constraints.get(constraint)
