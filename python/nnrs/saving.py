"""Keras 3 files: whole models as ``.keras`` archives, weights as ``.weights.h5``.

A ``.keras`` file is an uncompressed zip of three members:

- ``metadata.json``: the Keras version of the format and the date;
- ``config.json``: the model's architecture as nested ``{"module", "class_name",
  "config", "registered_name", "build_config", "compile_config"}`` records;
- ``model.weights.h5``: every layer's variables, one HDF5 group per layer at
  ``layers/<name>/vars/<index>``, where ``<name>`` is the snake-case class name with a
  counter (``dense``, ``dense_1``, ...) in the order Keras lists the model's layers,
  and nested models add their own ``layers/`` level.

nnrs writes and reads exactly that layout, so files move between nnrs and Keras 3.

Loading never runs code from a file: classes are looked up by name among nnrs' layers,
the classes registered with :func:`register_keras_serializable` and ``custom_objects``
(nothing is imported by module name, nothing is unpickled), functions are found by the
name they were saved under, and a config that asks for a ``Lambda`` layer or a function
serialized as bytecode is refused: with ``safe_mode=True`` as Keras does, and with
``safe_mode=False`` too, since nnrs never loads code.

Every write goes to a temporary file in the target's folder, is flushed to disk and then
renamed over the target, so a failed save leaves the previous file intact.
"""

from __future__ import annotations

import datetime
import inspect
import io as _pyio
import json
import os
import tempfile
import threading
import warnings
import zipfile

import numpy as np

from ._util import snake_case

__all__ = [
    "register_keras_serializable", "get_registered_name", "get_registered_object", "save_model", "load_model",
    "save_weights", "load_weights", "serialize_keras_object", "deserialize_keras_object", "clone_model",
    "custom_object_scope", "CustomObjectScope", "get_custom_objects", "model_from_json",
]

FORMAT_VERSION = "3.15.1"  # the Keras release whose layout these files follow (checked with it)
_CONFIG, _METADATA, _WEIGHTS = "config.json", "metadata.json", "model.weights.h5"

# ---- registration --------------------------------------------------------------------------

_REGISTERED: dict = {}  # "Package>Name" -> class
_REGISTERED_NAMES: dict = {}  # class -> "Package>Name"


def register_keras_serializable(package="Custom", name=None):
    """Decorator: makes a custom layer (or any class with ``get_config``, or a function such
    as an activation) loadable from saved files under ``"<package>><name or __name__>"``."""

    def decorate(cls):
        key = f"{package}>{name or cls.__name__}"
        if isinstance(cls, type) and not hasattr(cls, "get_config"):
            raise TypeError(f"register_keras_serializable: {cls.__name__} has no get_config(), so it cannot be saved")
        if key in _REGISTERED and _REGISTERED[key] is not cls and _REGISTERED[key].__qualname__ != cls.__qualname__:
            raise ValueError(f"register_keras_serializable: {key!r} is already registered to {_REGISTERED[key]!r}")
        _REGISTERED[key] = cls
        _REGISTERED_NAMES[cls] = key
        return cls

    return decorate


def get_registered_name(obj):
    """The name ``obj`` (a class, a function or an instance) is saved under."""
    key = obj if isinstance(obj, type) or inspect.isfunction(obj) else type(obj)
    return _REGISTERED_NAMES.get(key, key.__name__)


def function_record(fn):
    """Keras' record of a function argument (an activation, a loss): saved by its name."""
    return {"module": "builtins", "class_name": "function", "config": get_registered_name(fn), "registered_name": "function"}


_GLOBAL_CUSTOM: dict = {}  # get_custom_objects()
_local = threading.local()  # per thread (DESIGN rule 10): the dicts of the active custom_object_scope blocks


def _scopes():
    if not hasattr(_local, "scopes"):
        _local.scopes = []
    return _local.scopes


def get_custom_objects():
    """The process-wide dict of custom classes consulted on load (name -> class); edit it in place."""
    return _GLOBAL_CUSTOM


class CustomObjectScope:
    """``with custom_object_scope({"MyLayer": MyLayer}):`` makes those classes known to
    ``load_model`` and ``from_config`` inside the block (in this thread)."""

    def __init__(self, *custom_objects):
        self.custom_objects = {}
        for d in custom_objects:
            self.custom_objects.update(d or {})

    def __enter__(self):
        _scopes().append(self.custom_objects)
        return self

    def __exit__(self, *exc):
        _scopes().pop()
        return False


custom_object_scope = CustomObjectScope


def get_registered_object(name, custom_objects=None, module_objects=None):
    """The class passed in ``custom_objects``, in an active ``custom_object_scope``, in
    ``get_custom_objects()`` or registered under ``name``; else None."""
    tables = [custom_objects or {}, *reversed(_scopes()), _GLOBAL_CUSTOM, _REGISTERED, module_objects or {}]
    for table in tables:
        if name in table:
            return table[name]
    return None


def _builtin_layers():
    """Every layer class ``nnrs.layers`` exports. Keras knows each by the same name in
    ``keras.layers``, except those marked ``nnrs_only = True``, which nnrs files name
    ``nnrs>ClassName`` (Keras cannot open a model holding one)."""
    from . import layers

    found = {}
    for name in layers.__all__:
        obj = getattr(layers, name)
        if isinstance(obj, type) and issubclass(obj, layers.Layer) and obj is not layers.Layer:
            found[name] = obj
    return found


def _builtins():
    from . import models

    return {**_builtin_layers(), "Sequential": models.Sequential, "Functional": models.Model, "Model": models.Model}


def _refuse_code(config, safe_mode, where):
    """Raise if ``config`` (any nesting) asks for a Lambda layer or a serialized function."""
    if isinstance(config, dict):
        cls = config.get("class_name")
        if cls in ("Lambda", "__lambda__") and ("config" in config or "module" in config):
            what = "a Lambda layer" if cls == "Lambda" else "a serialized Python function"
            if safe_mode:
                raise ValueError(f"{where}: the file asks for {what} ({config.get('config', {}).get('name', '?')!r}), "
                                 "whose code would run on load; refused because safe_mode=True. Pass safe_mode=False "
                                 "only for files you trust.")
            raise ValueError(f"{where}: the file asks for {what}; nnrs never loads code from a file, even with safe_mode=False")
        # {"class_name": "function", "config": "name"} only names a function (looked up, never run from the file)
        for v in config.values():
            _refuse_code(v, safe_mode, where)
    elif isinstance(config, list):
        for v in config:
            _refuse_code(v, safe_mode, where)


def _resolve_class(entry, custom_objects):
    name, reg = entry.get("class_name"), entry.get("registered_name")
    for key in (reg, name):
        if key:
            cls = get_registered_object(key, custom_objects)
            if cls is not None:
                return cls
    cls = _builtins().get(name)
    if cls is not None:
        return cls
    raise ValueError(f"Unknown layer class {name!r} (registered name {reg!r}, module {entry.get('module')!r}). "
                     "Decorate the class with @nnrs.saving.register_keras_serializable() or pass it in "
                     "custom_objects={...} to load_model.")


# ---- configs -------------------------------------------------------------------------------


def dtype_policy(name):
    """Keras' record of a layer dtype (``DTypePolicy``)."""
    return {"module": "keras", "class_name": "DTypePolicy", "config": {"name": str(name)}, "registered_name": None}


def keras_record(module, obj_config):
    """``{"class_name", "config"}`` of an initializer/regularizer/optimizer as Keras writes it."""
    if obj_config is None:
        return None
    return {"module": module, "class_name": obj_config["class_name"], "config": obj_config["config"], "registered_name": None}


# Keras arguments nnrs does not take, dropped on load when they hold Keras' default value
_KERAS_ONLY_DEFAULTS = {
    "input_axes": None, "output_axes": None, "quantization_config": None, "use_ema": False, "ema_momentum": 0.99,
    "ema_overwrite_frequency": None, "loss_scale_factor": None, "gradient_accumulation_steps": None,
    "kernel_constraint": None, "bias_constraint": None, "noise_shape": None, "data_format": "channels_last",
    "sparse": False, "ragged": False, "optional": False,
}


def plain_config(config, strip=True):
    """A Keras config made ready for nnrs constructors: dtype policies become dtype names,
    function records the functions they name, and (``strip``, for nnrs' own classes)
    Keras-only arguments holding their default value are dropped, recursively in nested
    records. A custom class gets its own arguments untouched (``strip=False``)."""
    out = {}
    for k, v in config.items():
        if strip and k in _KERAS_ONLY_DEFAULTS and v == _KERAS_ONLY_DEFAULTS[k]:
            continue
        if k == "dtype" and isinstance(v, dict):
            v = (v.get("config") or {}).get("name", "float32")
            if v not in ("float16", "bfloat16", "float32", "float64"):
                raise ValueError(f"layer {config.get('name')!r}: dtype policy {v!r} is not supported by nnrs "
                                 "(a layer computes in one float dtype)")
        elif _is_function_record(v):
            v = _function_of(v)
        elif strip and isinstance(v, dict) and "class_name" in v and isinstance(v.get("config"), dict):
            v = {"class_name": v["class_name"], "config": plain_config(v["config"])}
        out[k] = v
    return out


def _is_function_record(v):
    return isinstance(v, dict) and v.get("class_name") == "function" and isinstance(v.get("config"), str)


def _function_of(record):
    """The registered (or custom) function a record names, else its name (a built-in one)."""
    name = record["config"]
    found = get_registered_object(name)
    return found if found is not None else name


def _is_model(layer):
    from .models import Model

    return isinstance(layer, Model)


_NO_BUILD_CONFIG = ("InputLayer", "Dropout", "Activation", "Reshape")  # Keras builds these in __init__


def _module_of(layer):
    from .models import Model, Sequential

    cls = type(layer)
    if _builtin_layers().get(cls.__name__) is cls:
        if cls.__dict__.get("nnrs_only"):  # nnrs' own layers (blocks, DynamicConv2D): Keras has no such class
            return "nnrs.layers", cls.__name__, f"nnrs>{cls.__name__}"
        return "keras.layers", cls.__name__, None
    model_record = _MODEL_RECORDS.get(cls.__name__) if cls in (Sequential, Model) else None
    if model_record is not None:
        return model_record
    return cls.__module__, cls.__name__, get_registered_name(cls)


# The (module, class_name, registered_name) triple a Keras 3 config.json holds for each of nnrs'
# two model classes, as found in files Keras wrote (tests/fixtures/keras3). Keras finds the class
# again from these strings, so they must match its files exactly. A functional nnrs Model is
# saved as Keras' graph-model class, whose files name it by the module that defines it.
_KERAS_GRAPH_MODEL = "Functional"
_MODEL_RECORDS = {
    "Sequential": ("keras", "Sequential", None),
    "Model": ("keras.src.models." + _KERAS_GRAPH_MODEL.lower(), _KERAS_GRAPH_MODEL, _KERAS_GRAPH_MODEL),
}


def serialize_keras_object(layer):
    """The record of ``layer`` as it appears in ``config.json``."""
    from .layers.symbolic import OpNode

    if isinstance(layer, OpNode):
        raise ValueError(f"cannot serialize graph node {layer.name!r}: nnrs.ops.{layer.op_name} applied to a symbolic "
                         "tensor has no saved form in nnrs yet; put the op in a layer's call() (a Layer subclass "
                         "registered with @nnrs.saving.register_keras_serializable) to save the model")
    module, class_name, registered = _module_of(layer)
    rec = {"module": module, "class_name": class_name, "config": layer.get_config(), "registered_name": registered}
    if class_name not in _NO_BUILD_CONFIG and layer.built and layer.input_shape is not None:
        shape = layer.input_shape
        if isinstance(shape, list):  # several inputs: Keras writes none for a model, one per input for a merge layer
            rec["build_config"] = {"input_shape": None if _is_model(layer) else [list(s) for s in shape]}
        else:
            rec["build_config"] = {"input_shape": list(shape)}
    return rec


def deserialize_keras_object(record, custom_objects=None, safe_mode=True):
    """A layer (or model) from its ``config.json`` record, built if the record says how."""
    if not isinstance(record, dict) or "class_name" not in record:
        raise ValueError(f"a layer record must be a dict with 'class_name' and 'config', got {record!r}")
    _refuse_code(record, safe_mode, "load_model")
    cls = _resolve_class(record, custom_objects)
    config = record.get("config") or {}
    builtin = cls in _builtins().values()
    if builtin and _is_model_class(cls):
        layer = cls.from_config(config, custom_objects=custom_objects)
    else:  # nnrs' layers take Keras' configs in their from_config; a custom class gets its own config back
        layer = cls.from_config(config if builtin else plain_config(config, strip=False))
    shape = (record.get("build_config") or {}).get("input_shape")
    if shape is not None and not layer.built:
        if _is_model_class(cls):
            layer.build(tuple(shape))
        else:
            layer._maybe_build(tuple(shape))
    if shape is not None and not _is_model_class(cls):
        several = bool(shape) and isinstance(shape[0], (list, tuple))  # a list of shapes, one per input
        layer._build_sublayers([tuple(s) for s in shape] if several else tuple(shape))
    cc = record.get("compile_config")
    if cc and _is_model_class(cls):  # as Keras: a record with compile settings gives a compiled model
        try:
            _compile_from_config(layer, cc)
        except (ValueError, TypeError, KeyError, NotImplementedError) as e:
            warnings.warn(f"the model {layer.name!r} was not compiled; its compile settings could not be restored ({e}). "
                          "Call compile() yourself.", stacklevel=2)
    return layer


def _is_model_class(cls):
    from .models import Model

    return isinstance(cls, type) and issubclass(cls, Model)


# ---- layer order and the h5 layout ---------------------------------------------------------


class InputRef:
    """An input of a functional model as Keras lists it: a layer without variables."""

    def __init__(self, tensor, name):
        self.tensor, self.name = tensor, name
        self._weights, self._layers = [], []


def functional_order(model):
    """The layers of a functional ``model`` (inputs first, as ``InputRef``) in the order
    Keras lists them: deepest first, ties in the order a depth-first walk from the outputs
    meets them. Depths follow Keras' rule: calls are visited from the outputs back, a call
    sits one deeper than its deepest consumer and never above its layer's depth so far,
    and a layer's depth is that of its deepest call."""
    inputs, outputs = model._inputs, model._outputs
    from .layers.core import InputLayer

    names, taken = {}, {l.name for l in model._layers if not isinstance(l, InputLayer)}
    for kt in inputs:
        il = getattr(kt, "input_layer", None)
        base = il.name if il is not None else (kt.name or "input_layer")
        name, n = base, 0
        while name in taken:
            n += 1
            name = f"{base}_{n}"
        taken.add(name)
        names[id(kt)] = InputRef(kt, name)
    index, depth, seen = {}, {}, set()

    def key(kt):
        return id(kt) if id(kt) in names else id(kt.node.layer)

    def walk(kt):
        k = key(kt)
        if k not in index:
            index[k] = len(index)
        if id(kt) in names or id(kt.node) in seen:
            return
        seen.add(id(kt.node))
        for p in kt.node.inputs:
            walk(p)

    for o in outputs:
        walk(o)
    tdepth = {}
    for node in reversed(model._nodes):  # a call's depth: the deepest of its outputs' consumers, plus one
        k = id(node.layer)
        d = max([depth.get(k, 0)] + [tdepth.get(id(t), 0) for t in node.flat_outputs])  # as Keras: no higher than its layer
        depth[k] = max(depth.get(k, 0), d)
        for p in node.inputs:
            tdepth[id(p)] = max(tdepth.get(id(p), 0), d + 1)
    for kt in inputs:
        k = key(kt)
        depth[k] = max(depth.get(k, 0), tdepth.get(id(kt), 0))
        index.setdefault(k, -1)
    objs = {id(kt): names[id(kt)] for kt in inputs}
    objs.update({id(l): l for l in model._layers})
    order = sorted(depth, key=lambda k: (-depth[k], index[k]))
    return [objs[k] for k in order], names


def _children(layer):
    """The sub-layers of a Sequential or functional model, in the order Keras lists them."""
    if getattr(layer, "_nodes", None) is not None:
        return functional_order(layer)[0]
    return list(layer._layers)


def _child_names(children):
    from .models import Model

    used, out = {}, []
    for c in children:
        if isinstance(c, InputRef):
            base = "input_layer"
        elif type(c) is Model and getattr(c, "_nodes", None) is not None:
            base = "functional"  # Keras' class of a functional model is Functional
        else:
            base = snake_case(type(c).__name__)
        n = used.get(base, 0)
        used[base] = n + 1
        out.append(base if n == 0 else f"{base}_{n}")
    return out


def _is_graph_model(layer):
    """Sequential and functional models keep their sub-layers under a ``layers/`` group."""
    from .models import Sequential

    return isinstance(layer, Sequential) or (_is_model(layer) and getattr(layer, "_nodes", None) is not None)


def _entries(layer):
    """``(group path below layer's group, sub-layer)`` pairs, named as Keras names them:
    ``layers/<class>_<n>`` in a Sequential or functional model; the attribute name in a
    subclassed model or a layer that owns layers (``<attribute>/<class>_<n>`` for a list
    attribute); sub-layers held by no public attribute go under ``layers/``."""
    from .layers.base import Layer

    if _is_graph_model(layer):
        kids = _children(layer)
        return [(f"layers/{n}", c) for n, c in zip(_child_names(kids), kids)]
    out, seen = [], set()
    for attr, v in vars(layer).items():
        if attr.startswith("_"):
            continue
        if isinstance(v, Layer) and id(v) not in seen:
            out.append((attr, v))
            seen.add(id(v))
        elif isinstance(v, (list, tuple, dict)) and v and all(isinstance(x, Layer) for x in (v.values() if isinstance(v, dict) else v)):
            fresh = [x for x in (v.values() if isinstance(v, dict) else v) if id(x) not in seen]
            out.extend((f"{attr}/{n}", x) for n, x in zip(_child_names(fresh), fresh))
            seen.update(id(x) for x in fresh)
    rest = [c for c in getattr(layer, "_layers", []) if id(c) not in seen]
    out.extend((f"layers/{n}", c) for n, c in zip(_child_names(rest), rest))
    return out


def _own_variables(layer):
    """The variables a layer holds itself (not those of its sub-layers), in Keras' order."""
    return list(layer._weights) if isinstance(layer, InputRef) else layer._children()[1]


def _write_h5(group, layer):
    vs = group.create_group("vars")
    vs.attrs["name"] = layer.name
    for i, v in enumerate(_own_variables(layer)):
        vs.create_dataset(str(i), data=np.ascontiguousarray(v.numpy()))
    if _is_graph_model(layer):
        group.require_group("layers")
    for rel, c in _entries(layer):
        _write_h5(group.require_group(rel), c)


def _collect_h5(group, layer, path, out, skip_mismatch=False):
    """Check ``group`` against ``layer`` and append (variable, array) pairs to ``out``. With
    ``skip_mismatch`` a layer whose stored variables differ in number or shape keeps its
    own weights (a warning names it), as Keras' ``skip_mismatch``."""
    own = _own_variables(layer)
    vs = group.get("vars") if group is not None else None
    stored = [] if vs is None else sorted((k for k in vs.keys()), key=lambda s: int(s) if s.isdigit() else -1)
    problem = None
    if len(stored) != len(own):
        who = f"{type(layer).__name__} {layer.name!r}" if not isinstance(layer, InputRef) else f"input {layer.name!r}"
        problem = (f"load_weights: {who} has {len(own)} variable(s) but the file holds {len(stored)} at "
                   f"{path or '/'}vars (is the file from a different model?)")
    else:
        for v, k in zip(own, stored):
            if tuple(vs[k].shape) != tuple(v.shape):
                problem = (f"load_weights: {path}vars/{k} in the file has shape {tuple(vs[k].shape)}, "
                           f"variable {getattr(v, 'path', v.name)!r} of layer {layer.name!r} expects {tuple(v.shape)}")
                break
    if problem is None:
        out.extend((v, np.asarray(vs[k][()])) for v, k in zip(own, stored))
    elif skip_mismatch:
        warnings.warn(f"{problem}; skip_mismatch=True: layer {layer.name!r} keeps its weights", stacklevel=4)
    else:
        raise ValueError(problem)
    for rel, c in _entries(layer):
        sub = group.get(rel) if group is not None else None
        head, _, last = rel.rpartition("/")
        if sub is None and group is not None and last.startswith("functional"):
            # files of earlier nnrs versions named a nested functional model "model", "model_1", ...
            sub = group.get(f"{head}/model{last[len('functional'):]}" if head else f"model{last[len('functional'):]}")
        if sub is None and _count(c) and not skip_mismatch:
            raise ValueError(f"load_weights: the file has no group {path}{rel} for layer {c.name!r} "
                             "(is the file from a different model?)")
        _collect_h5(sub, c, f"{path}{rel}/", out, skip_mismatch)


def _count(layer):
    return len(_own_variables(layer)) + sum(_count(c) for _, c in _entries(layer))


# ---- optimizer state ------------------------------------------------------------------------
#
# Keras lists an optimizer's variables as ``iteration``, ``learning_rate``, then its slots
# over the model's trainable variables (in the model's order): "interleaved" slots go
# variable by variable (Adam: m0, v0, m1, v1, ...), "grouped" ones slot by slot
# (RMSprop: every velocity, then every momentum). nnrs keeps the same arrays per variable.
_OPTIMIZER_SLOTS = {"Adam": "interleaved", "AdamW": "interleaved", "SGD": "grouped", "RMSprop": "grouped", "Adagrad": "grouped"}


def _trainable_in_keras_order(layer):
    out = [v for v in _own_variables(layer) if v.trainable] if getattr(layer, "trainable", True) else []
    if not getattr(layer, "trainable", True):
        return out
    for _, c in _entries(layer):
        out.extend(_trainable_in_keras_order(c))
    return out


def _slot_arrays(opt, variables):
    """Keras' list of ``opt``'s slot arrays for ``variables``, or None when nnrs has no state yet."""
    recs = [opt._slots.get(id(v)) for v in variables]
    if not variables or any(r is None for r in recs):
        return None
    per_var = [[a for a in r[1:-1] if a is not None] for r in recs]
    if _OPTIMIZER_SLOTS[type(opt).__name__] == "interleaved":
        return [a for slots in per_var for a in slots]
    return [slots[k] for k in range(len(per_var[0])) for slots in per_var]


def _saved_optimizer(model):
    opt = getattr(model, "optimizer", None) if getattr(model, "compiled", False) else None
    return opt if opt is not None and type(opt).__name__ in _OPTIMIZER_SLOTS else None


def _write_optimizer(f, model):
    opt = _saved_optimizer(model)
    if opt is None:
        return
    vs = f.create_group("optimizer").create_group("vars")
    vs.attrs["name"] = opt.name
    vs.create_dataset("0", data=np.int32(opt.iterations))
    vs.create_dataset("1", data=np.float32(opt.learning_rate))
    arrays = _slot_arrays(opt, _trainable_in_keras_order(model)) or []
    for i, a in enumerate(arrays, start=2):
        vs.create_dataset(str(i), data=np.ascontiguousarray(opt_to_host(a)))


def opt_to_host(a):
    from ._util import to_host

    return to_host(a)


def _read_optimizer(f, model, where):
    """Restore the optimizer state saved beside the weights; like Keras, a state that does
    not fit the optimizer is skipped with a warning and the optimizer starts fresh."""
    opt = _saved_optimizer(model)
    vs = f.get("optimizer/vars")
    if opt is None or vs is None:
        return
    keys = sorted(vs.keys(), key=lambda k: int(k) if k.isdigit() else -1)
    stored = [np.asarray(vs[k][()]) for k in keys]
    variables = _trainable_in_keras_order(model)
    if len(stored) > 2:
        opt.build(variables)
        arrays = _slot_arrays(opt, variables)
        if arrays is None or len(arrays) != len(stored) - 2 or any(a.shape != b.shape for a, b in zip(arrays, stored[2:])):
            warnings.warn(f"{where}: skipping the optimizer state of {opt.name!r}: the file holds {len(stored)} variables, "
                          f"the optimizer has {2 + len(arrays or [])}", stacklevel=3)
            opt._slots.clear()
            opt._built_vars = None
            return
        for a, b in zip(arrays, stored[2:]):
            a[...] = variables[0].backend.asarray(b.astype(a.dtype, copy=False)) if not isinstance(a, np.ndarray) else b
    if len(stored) >= 2:
        opt.iterations = int(stored[0])
        if opt._schedule is None and np.float32(opt.learning_rate) != np.float32(stored[1]):
            opt.learning_rate = float(stored[1])  # changed since compile (e.g. by ReduceLROnPlateau)


def _reached(layer, out):
    """Ids of the variables the h5 layout stores for ``layer`` (its own, then its entries')."""
    out.update(id(v) for v in _own_variables(layer))
    for _, c in _entries(layer):
        _reached(c, out)
    return out


def _check_storable(model):
    """Refuse to write a file that would silently lose weights: Keras' layout names a
    sub-layer by the attribute (or flat list or dict) that holds it, so one kept deeper
    (a list of lists, a tuple inside a list) has no place in it."""
    reached = _reached(model, set())
    parent = {id(c): l for l in model._flatten_layers() for c in l._children()[0]}
    for layer in model._flatten_layers():
        if any(id(v) not in reached for v in layer._children()[1]):
            owner = parent.get(id(layer))
            where = f" inside {type(owner).__name__} {owner.name!r}" if owner is not None else ""
            raise ValueError(f"save: the weights of {type(layer).__name__} {layer.name!r}{where} have no place in Keras' file "
                             "layout: the layer is held inside a nested container (a list of lists, a tuple in a list, ...). "
                             "Keep sub-layers in attributes, flat lists or dicts of the layer that owns them")


def _write_weights_file(model, fileobj):
    import h5py

    _check_storable(model)
    with h5py.File(fileobj, "w") as f:
        _write_h5(f, model)
        _write_optimizer(f, model)


def _read_weights_file(model, fileobj, where, skip_mismatch=False):
    import h5py

    try:
        f = h5py.File(fileobj, "r")
    except OSError as e:
        raise ValueError(f"{where}: not a readable HDF5 weights file ({e})") from None
    with f:
        pairs = []
        _collect_h5(f, model, "", pairs, skip_mismatch)
        for v, a in pairs:  # every shape checked before anything is assigned
            v.assign(a.astype(v.dtype, copy=False))
        _read_optimizer(f, model, where)


# ---- atomic writes -------------------------------------------------------------------------


def _atomic_write(filepath, write):
    """Run ``write(tmp_path)`` on a temporary file beside ``filepath``, fsync it, then
    rename it over ``filepath``; on any failure the temporary file is removed and the
    old file stays."""
    filepath = os.fspath(filepath)
    folder = os.path.dirname(os.path.abspath(filepath))
    fd, tmp = tempfile.mkstemp(prefix=".nnrs-save-", suffix=".tmp", dir=folder)
    os.close(fd)
    try:
        write(tmp)
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.replace(tmp, filepath)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    try:  # make the rename itself durable
        dfd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dfd)
    except OSError:
        pass
    finally:
        os.close(dfd)


def _check_overwrite(filepath, overwrite, who):
    if not overwrite and os.path.exists(filepath):
        raise FileExistsError(f"{who}: {os.fspath(filepath)!r} exists and overwrite=False")


# ---- weights files -------------------------------------------------------------------------


def save_weights(model, filepath, overwrite=True):
    """Write ``model``'s weights to ``filepath`` (must end in ``.weights.h5``) in Keras 3's layout."""
    filepath = os.fspath(filepath)
    if not filepath.endswith(".weights.h5"):
        raise ValueError(f"save_weights: the filename must end in '.weights.h5' (as in Keras 3), got {filepath!r}")
    _check_overwrite(filepath, overwrite, "save_weights")
    _atomic_write(filepath, lambda tmp: _write_weights_file(model, tmp))


def load_weights(model, filepath, skip_mismatch=False):
    """Set ``model``'s weights from a ``.weights.h5`` file (or the weights of a ``.keras``
    archive). ``skip_mismatch``: layers whose stored weights do not fit are left as they are."""
    filepath = os.fspath(filepath)
    if filepath.endswith(".keras"):
        with _open_archive(filepath, "load_weights") as z:
            _read_weights_file(model, _pyio.BytesIO(z.read(_WEIGHTS)), f"load_weights: {filepath!r}", skip_mismatch)
        return
    if not filepath.endswith(".weights.h5"):
        raise ValueError(f"load_weights: the filename must end in '.weights.h5' or '.keras', got {filepath!r}")
    if not os.path.exists(filepath):
        raise FileNotFoundError(f"load_weights: no such file {filepath!r}")
    _read_weights_file(model, filepath, f"load_weights: {filepath!r}", skip_mismatch)


# ---- whole models --------------------------------------------------------------------------


def _compile_config(model):
    if not getattr(model, "compiled", False):
        return {}
    from . import losses, metrics, optimizers

    def metric_entry(m):
        try:
            same = type(metrics.get(m.name, loss=model.loss.name)) is type(m)
        except (ValueError, TypeError):
            same = False
        return m.name if same else keras_record("keras.metrics", metrics.serialize(m))

    return {
        "optimizer": keras_record("keras.optimizers", optimizers.serialize(model.optimizer)),
        "loss": keras_record("keras.losses", losses.serialize(model.loss)),
        "loss_weights": None,
        "metrics": [metric_entry(m) for m in model._metrics] or None,
        "weighted_metrics": [metric_entry(m) for m in getattr(model, "_weighted_metrics", [])] or None,
        "run_eagerly": False, "steps_per_execution": 1, "jit_compile": False,
    }


def _compile_from_config(model, cc):
    from . import optimizers

    def plain(rec):
        if _is_function_record(rec):
            return _function_of(rec)
        return {"class_name": rec["class_name"], "config": plain_config(rec.get("config") or {})} if isinstance(rec, dict) else rec

    opt = cc.get("optimizer")
    opt = optimizers.deserialize(plain(opt)) if isinstance(opt, dict) else opt
    metrics = [plain(m) for m in cc.get("metrics") or []]
    weighted = [plain(m) for m in cc.get("weighted_metrics") or []]
    model.compile(optimizer=opt or "rmsprop", loss=plain(cc.get("loss")), metrics=metrics or None,
                  weighted_metrics=weighted or None)


def model_to_config(model):
    """The ``config.json`` record of ``model`` (with ``compile_config``)."""
    rec = serialize_keras_object(model)
    rec["compile_config"] = _compile_config(model)
    return rec


def save_model(model, filepath, overwrite=True, zipped=True):
    """Write ``model`` as a Keras 3 ``.keras`` archive (architecture, compile settings, weights)."""
    filepath = os.fspath(filepath)
    if not filepath.endswith(".keras"):
        raise ValueError(f"save: the filename must end in '.keras' (as in Keras 3), got {filepath!r}")
    if not zipped:
        raise ValueError("save: only zipped .keras archives are supported (zipped=True)")
    _check_overwrite(filepath, overwrite, "save")
    from . import __version__

    config = json.dumps(model_to_config(model), indent=None)
    meta = json.dumps({"keras_version": FORMAT_VERSION, "date_saved": datetime.datetime.now().strftime("%Y-%m-%d@%H:%M:%S"),
                       "saved_by": f"nnrs {__version__}"})
    buf = _pyio.BytesIO()
    _write_weights_file(model, buf)

    def write(tmp):
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_STORED) as z:
            z.writestr(_METADATA, meta)
            z.writestr(_CONFIG, config)
            z.writestr(_WEIGHTS, buf.getvalue())

    _atomic_write(filepath, write)


def _open_archive(filepath, who):
    filepath = os.fspath(filepath)
    if not os.path.exists(filepath):
        raise FileNotFoundError(f"{who}: no such file {filepath!r}")
    if not zipfile.is_zipfile(filepath):
        raise ValueError(f"{who}: {filepath!r} is not a .keras archive (a zip of {_CONFIG}, {_METADATA} and {_WEIGHTS})")
    z = zipfile.ZipFile(filepath)
    missing = [m for m in (_CONFIG, _WEIGHTS) if m not in z.namelist()]
    if missing:
        z.close()
        raise ValueError(f"{who}: {filepath!r} has no {', '.join(missing)} (members: {z.namelist()}); not a Keras 3 archive")
    return z


def load_model(filepath, custom_objects=None, compile=True, safe_mode=True):
    """A model from a ``.keras`` archive written by nnrs or Keras 3.

    Classes come from nnrs, from ``@register_keras_serializable`` and from
    ``custom_objects``; nothing in the file is executed (see the module docstring)."""
    filepath = os.fspath(filepath)
    if filepath.endswith((".h5", ".hdf5")) and not filepath.endswith(".weights.h5"):
        raise ValueError(f"load_model: {filepath!r} looks like a legacy Keras 2 HDF5 model, which nnrs does not read; "
                         "resave it with Keras 3 as a .keras file")
    with _open_archive(filepath, "load_model") as z:
        try:
            record = json.loads(z.read(_CONFIG).decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as e:
            raise ValueError(f"load_model: {_CONFIG} in {filepath!r} is not valid JSON ({e})") from None
        weights = z.read(_WEIGHTS)
    if not compile:
        record = {k: v for k, v in record.items() if k != "compile_config"}
    with CustomObjectScope(custom_objects):  # also seen by nested configs (activations, losses)
        # compiled here when the file says so, before the weights, so that the optimizer state is restored too
        model = deserialize_keras_object(record, custom_objects=custom_objects, safe_mode=safe_mode)
    _read_weights_file(model, _pyio.BytesIO(weights), f"load_model: {_WEIGHTS} of {filepath!r}")
    return model


def model_from_json(json_string, custom_objects=None):
    """A model (new weights) from ``model.to_json()``'s architecture string."""
    try:
        record = json.loads(json_string)
    except json.JSONDecodeError as e:
        raise ValueError(f"model_from_json: not valid JSON ({e})") from None
    with CustomObjectScope(custom_objects):
        return deserialize_keras_object(record, custom_objects=custom_objects, safe_mode=True)


def clone_model(model, input_tensors=None, clone_function=None, call_function=None, recursive=False, custom_objects=None):
    """A new model with ``model``'s structure and freshly initialised weights.

    Each layer is rebuilt from its config, or by ``clone_function(layer)`` when given
    (which may return the layer itself to share it); ``input_tensors`` (symbolic tensors
    from ``nnrs.Input``) replace a functional model's inputs."""
    from .models import Model, Sequential

    if call_function is not None or recursive:
        raise NotImplementedError("clone_model: call_function and recursive=True are not supported by nnrs yet")
    if clone_function is None and input_tensors is None:
        with CustomObjectScope(custom_objects):
            return deserialize_keras_object(serialize_keras_object(model), custom_objects=custom_objects, safe_mode=True)
    fn = clone_function or (lambda layer: deserialize_keras_object(serialize_keras_object(layer), custom_objects=custom_objects))
    if isinstance(model, Sequential):
        if input_tensors is not None:
            raise NotImplementedError("clone_model: input_tensors for a Sequential model are not supported by nnrs yet")
        new = Sequential(name=model.name, trainable=model.trainable)
        if model._input_spec is not None:
            from .layers.core import InputLayer

            new.add(InputLayer(shape=model._input_spec[1:], batch_size=model._input_spec[0], dtype=model.dtype))
        for layer in model._layers:
            new.add(fn(layer))
        return new
    if not isinstance(model, Model) or model._nodes is None:
        raise ValueError(f"clone_model: expected a Sequential or functional model, got {type(model).__name__}")
    from .layers.core import Input

    given = list(input_tensors) if isinstance(input_tensors, (list, tuple)) else None if input_tensors is None else [input_tensors]
    if given is not None and len(given) != len(model._inputs):
        raise ValueError(f"clone_model: model {model.name!r} has {len(model._inputs)} inputs, got {len(given)} input_tensors")
    from .layers.base import _map_symbolic, _symbolic_leaves
    from .layers.symbolic import OpNode, _fill, _find, symbolic

    new_t = {}
    for i, kt in enumerate(model._inputs):
        new_t[id(kt)] = given[i] if given is not None else Input(kt.shape[1:], batch_size=kt.shape[0], dtype=kt.dtype, name=kt.name)

    def new(t):
        return new_t[id(t)]

    clones = {}
    for node in model._nodes:
        if isinstance(node.layer, OpNode):  # an nnrs.ops function on symbolic tensors: applied again to the new ones
            op = node.layer
            values = iter([new(t) for t in _find((op.args, op.kwargs), [])])
            out = symbolic(op.fn)(*_fill(op.args, values), **_fill(op.kwargs, values))
        else:
            layer = clones.setdefault(id(node.layer), fn(node.layer))
            out = layer(*_map_symbolic(node.args, new), **{k: _map_symbolic(v, new) for k, v in node.kwargs.items()})
        outs = _symbolic_leaves(out)
        if len(outs) != len(node.flat_outputs):
            raise ValueError(f"clone_model: the clone of layer {node.layer.name!r} gives {len(outs)} output(s) where the "
                             f"original gives {len(node.flat_outputs)}")
        for kt, t in zip(node.flat_outputs, outs):
            new_t[id(kt)] = t
    outs = [new_t[id(o)] for o in model._outputs]
    ins = [new_t[id(i)] for i in model._inputs]
    return Model(ins if len(ins) > 1 else ins[0], outs if len(outs) > 1 else outs[0], name=model.name, trainable=model.trainable)
