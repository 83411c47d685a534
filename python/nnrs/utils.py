"""Keras' ``keras.utils`` names that nnrs offers."""

from .data import PyDataset, to_categorical  # noqa: F401
from .random import seed as set_random_seed  # noqa: F401

__all__ = ["PyDataset", "to_categorical", "set_random_seed"]
