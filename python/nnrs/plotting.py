"""``nnrs.utils.plot_model``: a diagram of a model's layers and their connections.

The graph is written in Graphviz's DOT language by nnrs itself; a ``.dot`` file needs
nothing more. Other formats (png, svg, pdf, ...) are rendered by Graphviz through
``pydot``, an optional extra (``pip install "nnrs[plot]"`` plus Graphviz's ``dot`` program);
without them the call says what is missing.
"""

from __future__ import annotations

import os

from .layers.base import shape_str


def _label(text):
    return text.replace("\\", "\\\\").replace('"', '\\"')


def model_to_dot_source(model, show_shapes=False, show_dtype=False, show_layer_names=True, rankdir="TB"):
    """The DOT text of ``model``'s graph (one box per layer call, arrows along the data)."""
    lines = ["digraph model {", f'  rankdir="{rankdir}";', '  node [shape=record, fontname="Helvetica"];']
    ids = {}

    def node(key, name, kind, shape, dtype):
        ids[key] = f"n{len(ids)}"
        text = f"{name} ({kind})" if show_layer_names else kind
        if show_shapes:
            text += f" | {shape_str(shape)}"
        if show_dtype:
            text += f" | {dtype}"
        lines.append(f'  {ids[key]} [label="{_label(text)}"];')

    if model._nodes is not None:
        for t in model._inputs:
            il = getattr(t, "input_layer", None)
            node(id(t), il.name if il is not None else (t.name or "input"), "InputLayer", t.shape, t.dtype)
        for kt in model._nodes:
            node(id(kt), kt.layer.name, type(kt.layer).__name__, kt.shape, kt.dtype)
            for p in kt.inputs:
                lines.append(f"  {ids[id(p)]} -> {ids[id(kt)]};")
    else:
        prev = None
        for layer in model.layers:
            node(id(layer), layer.name, type(layer).__name__, layer.output_shape or (), layer.dtype)
            if prev is not None:
                lines.append(f"  {ids[prev]} -> {ids[id(layer)]};")
            prev = id(layer)
    lines.append("}")
    return "\n".join(lines) + "\n"


def plot_model(model, to_file="model.png", show_shapes=False, show_dtype=False, show_layer_names=True, rankdir="TB",
               expand_nested=False, dpi=200, show_layer_activations=False, show_trainable=False, **kwargs):
    """Draws ``model`` into ``to_file``; the format follows the extension (``.dot`` is the
    DOT text itself). Keras' arguments are accepted; expand_nested, show_layer_activations
    and show_trainable are not supported (an error says so when set)."""
    for arg, val in (("expand_nested", expand_nested), ("show_layer_activations", show_layer_activations),
                     ("show_trainable", show_trainable), *kwargs.items()):
        if val:
            raise ValueError(f"plot_model: {arg}={val!r} is not supported by nnrs")
    source = model_to_dot_source(model, show_shapes, show_dtype, show_layer_names, rankdir)
    ext = os.path.splitext(os.fspath(to_file))[1].lstrip(".").lower() or "png"
    if ext == "dot":
        with open(to_file, "w") as f:
            f.write(source)
        return None
    try:
        import pydot
    except ImportError:
        raise ImportError("plot_model: drawing a picture needs pydot and Graphviz (pip install pydot, and install "
                          "Graphviz's `dot` program); a .dot file needs neither") from None
    graphs = pydot.graph_from_dot_data(source)
    graph = graphs[0]
    graph.set("dpi", str(dpi))
    try:
        graph.write(os.fspath(to_file), format=ext)
    except FileNotFoundError as e:
        raise OSError(f"plot_model: Graphviz's `dot` program was not found ({e}); install Graphviz") from None
    return None
