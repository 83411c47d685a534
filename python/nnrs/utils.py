"""Keras' ``keras.utils`` names that nnrs offers."""

from .data import PyDataset, to_categorical  # noqa: F401
from .plotting import model_to_dot_source, plot_model  # noqa: F401
from .random import seed as set_random_seed  # noqa: F401

__all__ = ["PyDataset", "model_to_dot_source", "plot_model", "to_categorical", "set_random_seed"]
