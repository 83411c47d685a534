"""nnrs: deep learning with Rust CPU kernels and a Keras 3-like API.

    import nnrs
    model = nnrs.Sequential([nnrs.Input((784,)), nnrs.layers.Dense(128, activation="relu"),
                             nnrs.layers.Dense(10, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(x, y, epochs=5)

``import nnrs as keras`` runs a Keras 3 script wherever it uses what nnrs offers.
"""

from . import (
    activations,
    applications,
    backend,
    callbacks,
    config,
    constraints,
    data,
    datasets,
    diagnostics,
    initializers,
    layers,
    losses,
    metrics,
    models,
    ops,
    optimizers,
    random,
    regularizers,
    saving,
    utils,
)
from ._core import __version__, get_num_threads, set_num_threads
from .backend import set_backend
from .function import Function
from .gradcheck import GradcheckError, gradcheck
from .layers import Input
from .models import Model, Sequential
from .tensor import Tensor, Variable, enable_grad, is_grad_enabled, no_grad

__all__ = [
    "__version__", "Function", "GradcheckError", "Input", "Model", "Sequential", "Tensor", "Variable",
    "activations", "applications", "backend", "callbacks", "config", "constraints", "data", "datasets", "diagnostics", "enable_grad",
    "get_num_threads", "gradcheck",
    "initializers", "is_grad_enabled", "layers", "losses", "metrics", "no_grad", "ops", "optimizers",
    "models", "random", "regularizers", "saving", "set_backend", "set_num_threads", "utils",
]

# text: tokenizer / vocabulary
from . import text  # noqa: E402

__all__ += ["text"]

# functional graphs: Keras' symbolic tensor (for a layer's compute_output_spec)
from .layers import KerasTensor  # noqa: E402

__all__ += ["KerasTensor"]

# cross-backend parity: the same model from the same weights on two backends, layer by layer
from .parity import check_parity  # noqa: E402

__all__ += ["check_parity"]
