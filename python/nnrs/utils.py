"""Keras' ``keras.utils`` names that nnrs offers."""

from .data import PyDataset, to_categorical  # noqa: F401
from .plotting import model_to_dot_source, plot_history, plot_model  # noqa: F401
from .random import seed as set_random_seed  # noqa: F401
from .saving import get_registered_name, get_registered_object, register_keras_serializable  # noqa: F401

__all__ = ["PyDataset", "get_registered_name", "get_registered_object", "model_to_dot_source", "plot_history", "plot_model",
           "register_keras_serializable", "set_random_seed", "to_categorical"]
