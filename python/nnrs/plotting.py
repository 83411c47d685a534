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
    """The DOT text of ``model``'s graph: one box per layer (as Keras draws it: a shared layer
    once, with the shapes of its first call; several outputs as a list of shapes), one arrow
    from each layer to each layer that reads any of its outputs."""
    lines = ["digraph model {", f'  rankdir="{rankdir}";', '  node [shape=record, fontname="Helvetica"];']
    ids = {}

    def node(key, name, kind, shape, dtype):
        ids[key] = f"n{len(ids)}"
        text = f"{name} ({kind})" if show_layer_names else kind
        if show_shapes:
            text += f" | {shape}"
        if show_dtype:
            text += f" | {dtype}"
        lines.append(f'  {ids[key]} [label="{_label(text)}"];')

    if model._nodes is not None:
        from .saving import InputRef, functional_order

        first = {}  # layer id -> its first call in the model
        for n in sorted(model._nodes, key=lambda n: n.serial):
            first.setdefault(id(n.layer), n)
        for obj in functional_order(model)[0]:
            if isinstance(obj, InputRef):
                t = obj.tensor
                il = getattr(t, "input_layer", None)
                node(id(t), il.name if il is not None else (t.name or "input"), "InputLayer", shape_str(t.shape), t.dtype)
                continue
            n = first[id(obj)]
            outs = n.flat_outputs
            single = len(outs) == 1 and not isinstance(n.outputs, (list, tuple, dict))
            shape = shape_str(outs[0].shape) if single else "[" + ", ".join(shape_str(t.shape) for t in outs) + "]"
            dtype = outs[0].dtype if single or len({t.dtype for t in outs}) == 1 else "[" + ", ".join(str(t.dtype) for t in outs) + "]"
            node(id(obj), obj.name, type(obj).__name__, shape, dtype)
        drawn = set()
        for n in model._nodes:
            for p in n.inputs:  # one arrow per (producer, consumer) pair, however many tensors or calls join them
                edge = (id(p) if p.node is None else id(p.node.layer), id(n.layer))
                if edge not in drawn:
                    drawn.add(edge)
                    lines.append(f"  {ids[edge[0]]} -> {ids[edge[1]]};")
    else:
        prev = None
        for layer in model.layers:
            node(id(layer), layer.name, type(layer).__name__, shape_str(layer.output_shape or ()), layer.dtype)
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
        raise ImportError(f"plot_model: Graphviz's `dot` program was not found ({e}); install Graphviz "
                          "(as Keras, an ImportError)") from None
    return None


# ---- training curves -----------------------------------------------------------------------

_COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b")


def _svg_panel(x0, y0, w, h, title, series):
    """One chart: axes, ticks and a polyline per (name, values) of ``series``."""
    pad_l, pad_b, pad_t = 46, 28, 22
    values = [v for _, vals in series for v in vals]
    lo, hi = min(values), max(values)
    if hi - lo < 1e-12:
        lo, hi = lo - 0.5, hi + 0.5
    n = max(len(vals) for _, vals in series)
    px = lambda i: x0 + pad_l + (w - pad_l - 10) * (i / max(n - 1, 1))  # noqa: E731
    py = lambda v: y0 + pad_t + (h - pad_t - pad_b) * (1 - (v - lo) / (hi - lo))  # noqa: E731
    out = [f'<text x="{x0 + w / 2:.1f}" y="{y0 + 15}" text-anchor="middle" font-size="13">{_xml(title)}</text>',
           f'<rect x="{x0 + pad_l}" y="{y0 + pad_t}" width="{w - pad_l - 10}" height="{h - pad_t - pad_b}" '
           'fill="none" stroke="#888"/>']
    for k in range(5):
        v = lo + (hi - lo) * k / 4
        out.append(f'<text x="{x0 + pad_l - 4}" y="{py(v) + 4:.1f}" text-anchor="end" font-size="10">{v:.3g}</text>')
    for i in range(n):
        if n <= 12 or i % max(n // 10, 1) == 0:
            out.append(f'<text x="{px(i):.1f}" y="{y0 + h - pad_b + 14}" text-anchor="middle" font-size="10">{i + 1}</text>')
    for j, (name, vals) in enumerate(series):
        colour = _COLOURS[j % len(_COLOURS)]
        pts = " ".join(f"{px(i):.1f},{py(v):.1f}" for i, v in enumerate(vals))
        out.append(f'<polyline points="{pts}" fill="none" stroke="{colour}" stroke-width="2"/>')
        out.append(f'<text x="{x0 + pad_l + 8}" y="{y0 + pad_t + 14 + 13 * j}" font-size="11" fill="{colour}">{_xml(name)}</text>')
    return out


def plot_history(history, path, title=None):
    """Write the training curves of a ``History`` (or its ``.history`` dict) to ``path`` as
    an SVG file: one panel per metric (loss, accuracy, ...), the training value and, where
    there is one, the ``val_`` value per epoch. nnrs writes the SVG itself (no plotting
    library); returns ``path``."""
    logs = getattr(history, "history", history)
    names = [k for k in logs if not k.startswith("val_") and len(logs[k])]
    if not names:
        raise ValueError("plot_history: the history holds no values to plot")
    w, h = 420, 260
    body = []
    for i, name in enumerate(names):
        series = [(name, [float(v) for v in logs[name]])]
        if logs.get("val_" + name):
            series.append(("val_" + name, [float(v) for v in logs["val_" + name]]))
        body += _svg_panel(i * w, _title_height(title), w, h, name, series)
    return _write_svg(path, w * len(names), h, title, body)


def _title_height(title):
    return 24 if title else 0


def _write_svg(path, width, height, title, body):
    """Write an SVG file of ``body`` (lines of elements, below the title band when there is
    a ``title``) on white, ``width`` x ``height`` plus the band; returns ``path``."""
    total_h = height + _title_height(title)
    head = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{total_h}" font-family="Helvetica, sans-serif">',
            '<rect width="100%" height="100%" fill="white"/>']
    if title:
        head.append(f'<text x="{width / 2}" y="17" text-anchor="middle" font-size="15">{_xml(title)}</text>')
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(head + body + ["</svg>"]) + "\n")
    return path


def _xml(text):
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
