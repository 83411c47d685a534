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
    """A symbolic tensor: a shape (batch dim None), a dtype, and the layer call ("node")
    that made it, as output number ``index`` of that call (Keras' ``(layer, node_index,
    tensor_index)`` history). Tensors of ``nnrs.Input`` have no node.

    ``KerasTensor(shape, dtype, layer=l, inputs=(a, b))`` records a one-output call of ``l``
    on ``a`` (or on the list ``[a, b]``), for layers that make their symbolic output themselves."""

    _serials = itertools.count()

    def __init__(self, shape, dtype="float32", layer=None, inputs=(), name=None):
        self.serial = next(KerasTensor._serials)
        self.shape = tuple(shape)
        self.dtype = np.dtype(dtype)
        self.name = name
        self.node = None
        self.index = 0
        if layer is not None:
            ins = tuple(inputs)
            Node(layer, (ins[0],) if len(ins) == 1 else (list(ins),), {}, self)

    @property
    def layer(self):
        """The layer whose call made this tensor (None for an input)."""
        return None if self.node is None else self.node.layer

    @property
    def inputs(self):
        """Every symbolic tensor the call that made this one read (positional and keyword arguments)."""
        return () if self.node is None else self.node.inputs

    @property
    def _keras_history(self):
        """(layer, index of the call among the layer's symbolic calls, index of this output), as in Keras."""
        if self.node is None:
            return None
        return self.node.layer, self.node.layer._inbound_nodes.index(self.node), self.index

    @property
    def ndim(self):
        return len(self.shape)

    def __repr__(self):
        return f"<KerasTensor shape={shape_str(self.shape)} dtype={self.dtype}>"


def _flat(obj, out=None):
    """The leaves of a structure of nested lists, tuples and dicts (dict values by sorted key, as Keras
    flattens), in order; a KerasTensor, Tensor or any other object is a leaf."""
    if out is None:
        out = []
    if isinstance(obj, (list, tuple)):
        for o in obj:
            _flat(o, out)
    elif isinstance(obj, dict):
        for k in sorted(obj):
            _flat(obj[k], out)
    else:
        out.append(obj)
    return out


def _symbolic_leaves(obj):
    """The KerasTensors inside ``obj`` (nested lists, tuples and dicts), in ``_flat``'s order."""
    return [t for t in _flat(obj) if isinstance(t, KerasTensor)]


def _has_symbolic(obj):
    if isinstance(obj, KerasTensor):
        return True
    if isinstance(obj, (list, tuple)):
        return any(_has_symbolic(o) for o in obj)
    if isinstance(obj, dict):
        return any(_has_symbolic(o) for o in obj.values())
    return False


def _map_symbolic(obj, fn):
    """``obj`` with each KerasTensor ``t`` replaced by ``fn(t)`` (containers copied, tuples stay tuples)."""
    if isinstance(obj, KerasTensor):
        return fn(obj)
    if isinstance(obj, (list, tuple)):
        return type(obj)(_map_symbolic(o, fn) for o in obj)
    if isinstance(obj, dict):
        return {k: _map_symbolic(o, fn) for k, o in obj.items()}
    return obj


def _flatten_like(template, value, who):
    """The leaves of ``value`` matched to the structure ``template`` (of KerasTensors): what a
    layer call returned at run time, one entry per symbolic output recorded for it."""
    if isinstance(template, KerasTensor):
        return [value]
    if isinstance(template, (list, tuple)):
        if not isinstance(value, (list, tuple)) or len(value) != len(template):
            got = f"{len(value)} outputs" if isinstance(value, (list, tuple)) else f"one {type(value).__name__}"
            raise ValueError(f"{who}: the layer returned {got}, but its symbolic call gave {len(template)} "
                             "(compute_output_shape and call disagree)")
        return [v for t, x in zip(template, value) for v in _flatten_like(t, x, who)]
    if isinstance(template, dict):
        if not isinstance(value, dict) or set(value) != set(template):
            got = sorted(value) if isinstance(value, dict) else type(value).__name__
            raise ValueError(f"{who}: the layer returned {got}, but its symbolic call gave the keys {sorted(template)}")
        return [v for k in sorted(template) for v in _flatten_like(template[k], value[k], who)]
    return [value]


def _is_shape(s):
    """Whether ``s`` is one shape (a tuple or list of ints and None), not a structure of shapes."""
    return isinstance(s, (tuple, list)) and all(d is None or isinstance(d, (int, np.integer)) for d in s)


def _fill_leaves(obj, values):
    """``obj`` (nested lists, tuples, dicts) with each leaf replaced by the next of ``values``, in ``_flat``'s order."""
    if isinstance(obj, (list, tuple)):
        return type(obj)(_fill_leaves(o, values) for o in obj)
    if isinstance(obj, dict):
        filled = {k: _fill_leaves(obj[k], values) for k in sorted(obj)}
        return {k: filled[k] for k in obj}
    return next(values)


def _shapes_to_tensors(shapes, dtype, who):
    """KerasTensors for ``compute_output_shape``'s answer: one shape, or a list/tuple/dict of shapes."""
    if _is_shape(shapes):
        return KerasTensor(tuple(shapes), dtype)
    if isinstance(shapes, (list, tuple)):
        return list(_shapes_to_tensors(s, dtype, who) for s in shapes) if isinstance(shapes, list) else \
            tuple(_shapes_to_tensors(s, dtype, who) for s in shapes)
    if isinstance(shapes, dict):
        return {k: _shapes_to_tensors(s, dtype, who) for k, s in shapes.items()}
    raise ValueError(f"{who}: compute_output_shape must return a shape (a tuple of ints and None) or a list/tuple/dict "
                     f"of shapes, got {shapes!r}")


class Node:
    """One call of a layer on symbolic tensors: the layer, the arguments as given (KerasTensors
    in place, in positional ``args`` and keyword ``kwargs``), and the outputs (a KerasTensor or
    a list/tuple/dict of them, as the call returns). ``inputs`` are the KerasTensors of the
    arguments, ``flat_outputs`` the outputs in order: output ``i`` is Keras' tensor index ``i``.
    The node is appended to the layer's ``_inbound_nodes`` (Keras' node index is its place there)."""

    _serials = itertools.count()

    def __init__(self, layer, args, kwargs, outputs):
        self.serial = next(Node._serials)
        self.layer = layer
        self.args = tuple(_map_symbolic(list(args), lambda t: t))
        self.kwargs = {k: _map_symbolic(v, lambda t: t) for k, v in kwargs.items()}
        self.inputs = tuple(_symbolic_leaves((self.args, [self.kwargs[k] for k in self.kwargs])))
        self.outputs = outputs
        self.flat_outputs = _symbolic_leaves(outputs)
        for i, kt in enumerate(self.flat_outputs):
            kt.node, kt.index = self, i
        # the common call: one tensor in, nothing by keyword, one tensor out
        self.simple = len(self.args) == 1 and isinstance(self.args[0], KerasTensor) and not self.kwargs
        nodes = getattr(layer, "_inbound_nodes", None)
        if nodes is None:
            nodes = []
            object.__setattr__(layer, "_inbound_nodes", nodes)
        nodes.append(self)

    def __repr__(self):
        return f"<Node {self.layer.name} in={len(self.inputs)} out={len(self.flat_outputs)}>"


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


_call_keyword_names: dict = {}


def _call_keywords(layer):
    """The parameter names of ``type(layer).call``, or None when it takes any keyword (``**kwargs``); read once per class."""
    cls = type(layer)
    if cls not in _call_keyword_names:
        params = inspect.signature(cls.call).parameters
        any_kw = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())
        _call_keyword_names[cls] = None if any_kw else tuple(params)
    return _call_keyword_names[cls]


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
        v = Variable(value, name=name, trainable=bool(trainable), regularizer=regularizers.get(regularizer),
                     backend=getattr(self, "_placed_backend", None))  # None: the active backend
        v.constraint = _get_constraint(constraint, who)
        v.path = f"{self.name}/{name}"
        self._track_variable(v)
        _bump()
        return v

    def home_backend(self):
        """The backend this layer computes on: its weights'; while it has none, the one
        given to ``to()``, else the active one."""
        ws = self.weights
        if ws:
            return ws[0].backend
        return getattr(self, "_placed_backend", None) or _backend.current()

    def _placement_state(self):
        """Variables this layer keeps besides its weights that must move with it (the
        states of a stateful recurrent layer)."""
        st = getattr(self, "states", None)
        if isinstance(st, (list, tuple)):
            return [s for s in st if isinstance(s, Variable)]
        return []

    def to(self, backend):
        """Move this layer to ``backend`` (``"numpy"``, ``"cpu"``, ``"cuda"`` or a Backend) in
        place and return it, as PyTorch's ``Module.to``: every weight of it and of its
        sub-layers stays the same Variable object (so optimizers and references stay
        valid) and now holds its values on that backend; layers without weights compute
        there, and weights built later are made there. Nothing moves when the backend
        cannot be used (an unknown name is a ``ValueError``, ``cuda`` without CuPy or a GPU
        a ``nnrs.backend.BackendUnavailableError``)."""
        b = _backend.resolve(backend)  # raises before anything moves
        for layer in self._flatten_layers():
            object.__setattr__(layer, "_placed_backend", b)
            for v in layer._placement_state():
                v.move_to(b)
        for v in self.weights:
            v.move_to(b)
        _bump()  # models re-read their backend and weight lists before the next step
        return self

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
        # while no loss was added anywhere (and nothing was attached) since this layer last
        # cleared, every list it cleared is still empty: skip the walk over its sub-layers
        if self.__dict__.get("_cleared_at") == _loss_adds[0]:
            return
        for l in self._flatten_layers():
            getattr(l, "_losses", []).clear()
        self.__dict__["_cleared_at"] = _loss_adds[0]

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
        """By default the shapes of ``call``'s output on zeros of ``input_shape`` (one shape,
        or a list of shapes for several inputs): one shape, or a list/tuple/dict of shapes for
        a call that returns several tensors. Sizes not known (None) are tried at two values and
        come out None where the output follows them; where the call cannot run on such stand-ins,
        the input shape is taken. Layers that know better override this."""
        several = isinstance(input_shape, list) and not _is_shape(input_shape)  # several inputs: a list of shapes
        shapes = [tuple(s) for s in input_shape] if several else [tuple(input_shape)]
        xs = [KerasTensor(s, self.dtype) for s in shapes]
        out = self._trace_output_spec((xs if several else xs[0],), {})
        return _map_symbolic(out, lambda t: t.shape)

    def _trace_output_spec(self, args, kwargs):
        """The symbolic outputs (KerasTensors without a node, in the structure ``call`` returns)
        of ``call(*args, **kwargs)``, found by running it on stand-ins for the KerasTensors in
        the arguments: zeros (all-True for bool tensors), floating ones in the layer's dtype.
        A size not known (None) is run at two values (batch 1 and 2, other axes 2 and 3); an
        output size that differs between the two runs is None."""
        leaves = _symbolic_leaves((args, kwargs))
        unknown = any(d is None for t in leaves for d in t.shape)
        if type(self).call is Layer.call:
            return _map_symbolic(args[0], lambda t: KerasTensor(t.shape, t.dtype))
        from ..tensor import no_grad

        takes_training = _call_spec(self)[0]
        runs = []
        # the runs leave no losses behind (add_loss, activity regularizers), and sub-layers do not
        # drop the losses of the last real call as an outermost call would
        lists = [getattr(l, "_losses", []) for l in self._flatten_layers()]
        kept = [list(lst) for lst in lists]
        st = _call_state
        prev = st.entry, st.training
        st.entry, st.training = self, False
        try:
            for nb, nt in ((1, 2), (2, 3)) if unknown else ((1, 1),):
                def stand_in(t, nb=nb, nt=nt):
                    shape = tuple((nb if i == 0 else nt) if d is None else d for i, d in enumerate(t.shape))
                    dt = self.dtype if t.dtype.kind == "f" else t.dtype
                    a = np.ones(shape, dtype=dt) if dt == np.bool_ else np.zeros(shape, dtype=dt)
                    return Tensor(a, backend=self.home_backend())

                a, kw = _map_symbolic(list(args), stand_in), _map_symbolic(kwargs, stand_in)
                with no_grad():
                    runs.append(self.call(*a, **kw, training=False) if takes_training else self.call(*a, **kw))
        except Exception:
            if not unknown or len(args) != 1 or kwargs or len(leaves) != len(_flat(args[0])):
                raise
            # sizes unknown and the call cannot run on stand-ins: assume it keeps its input's shape
            return _map_symbolic(args[0], lambda t: KerasTensor(t.shape, self.dtype if t.dtype.kind == "f" else t.dtype))
        finally:
            st.entry, st.training = prev
            for lst, old in zip(lists, kept):
                lst[:] = old
        flat = [_flat(r) for r in runs]
        for r in flat:
            bad = [type(v).__name__ for v in r if not isinstance(v, Tensor)]
            if bad:
                raise ValueError(f"{type(self).__name__} {self.name!r}: call returned {', '.join(bad)} where tensors were expected; "
                                 "define compute_output_shape (or compute_output_spec) for this layer")
        specs = []
        for i, v in enumerate(flat[0]):
            shape = tuple(v.data.shape)
            if len(flat) > 1:
                other = tuple(flat[1][i].data.shape)
                shape = tuple(d if len(other) == len(shape) and d == e else None for d, e in zip(shape, other))
            specs.append(KerasTensor(shape, v.dtype))
        return _fill_leaves(runs[0], iter(specs))

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
        if isinstance(x, KerasTensor) or ((args or kwargs or isinstance(x, (list, tuple, dict)))
                                          and _has_symbolic((x, args, list(kwargs.values())))):
            return self._symbolic_call(x, args, kwargs)
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

    def _node_tensors(self, what):
        """The input or output KerasTensors of the layer's first symbolic call (one, or a list), as Keras' ``input``/``output``."""
        nodes = getattr(self, "_inbound_nodes", None)
        if not nodes:
            raise AttributeError(f"{type(self).__name__} {self.name!r} has never been called on symbolic tensors, so it has "
                                 f"no {what}")
        values = list(nodes[0].inputs) if what == "input" else list(nodes[0].flat_outputs)
        return values[0] if len(values) == 1 else values

    @property
    def input(self):
        """The symbolic input of the layer's first call in a functional graph (a list for several)."""
        return self._node_tensors("input")

    @property
    def output(self):
        """The symbolic output of the layer's first call in a functional graph (a list for several, e.g. ``return_state``)."""
        return self._node_tensors("output")

    def _symbolic_call(self, x, args, kwargs):
        """A call on symbolic tensors (functional API): build the layer for the shapes of ``x``,
        work out the outputs and record the call as a ``Node`` (every KerasTensor in ``args`` and
        ``kwargs`` becomes an edge of the graph). Returns the outputs in the structure the call
        returns on tensors: one KerasTensor, or a list/tuple/dict of them."""
        who = f"{type(self).__name__} {self.name!r}"
        if isinstance(x, KerasTensor):
            shapes = x.shape
        elif isinstance(x, (list, tuple)) and x and all(isinstance(t, KerasTensor) for t in x):
            shapes = [t.shape for t in x]  # a layer of several symbolic inputs
        else:
            given = sorted(k for k, v in kwargs.items() if _has_symbolic(v)) + (["positional arguments"] if _has_symbolic(args) else [])
            raise ValueError(f"{who}: {', '.join(given) or 'the first input'} holds symbolic tensors but the first input is not "
                             f"a KerasTensor or a list of KerasTensors (got {type(x).__name__}); in a functional graph the first "
                             "input must be symbolic: a tensor of nnrs.Input or of a layer, or a list of them")
        kwargs = {k: v for k, v in kwargs.items() if v is not None}
        names = _call_keywords(self)
        if kwargs and names is not None:
            bad = sorted(k for k in kwargs if k not in names)
            if bad:  # refused now, not when the model first runs
                raise TypeError(f"{who}: call() takes no keyword argument(s) {', '.join(bad)} (its arguments: "
                                f"{', '.join(n for n in names if n != 'self')})")
        self._maybe_build(shapes)
        if isinstance(x, KerasTensor):
            self._check_input(x.shape)
        self._build_sublayers(shapes)
        outputs = self._symbolic_outputs(x, shapes, args, kwargs)
        Node(self, (x,) + tuple(args), kwargs, outputs)
        return outputs

    def _symbolic_outputs(self, x, shapes, args, kwargs):
        """Fresh KerasTensors for the outputs of a symbolic call: from ``compute_output_spec``
        where the layer defines it (Keras' hook, given every argument), else from an own
        ``compute_output_shape`` (of the first input's shapes; one shape or a structure of
        shapes for several outputs), else by running ``call`` on stand-ins of every argument."""
        cls = type(self)
        if getattr(cls, "compute_output_spec", None) is not None:
            spec = self.compute_output_spec(x, *args, **kwargs)
            if not _symbolic_leaves(spec) or any(not isinstance(v, KerasTensor) for v in _flat(spec)):
                raise ValueError(f"{cls.__name__} {self.name!r}: compute_output_spec must return a KerasTensor or a "
                                 f"list/tuple/dict of them, got {spec!r}")
            return _map_symbolic(spec, lambda t: KerasTensor(t.shape, t.dtype))
        if cls.compute_output_shape is Layer.compute_output_shape:
            return self._trace_output_spec((x,) + tuple(args), kwargs)
        dtype = (x if isinstance(x, KerasTensor) else x[0]).dtype
        return _shapes_to_tensors(self.compute_output_shape(shapes), dtype, f"{cls.__name__} {self.name!r}")

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
