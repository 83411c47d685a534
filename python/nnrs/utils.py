"""Keras' ``keras.utils`` names that nnrs offers."""

from .data import to_categorical  # noqa: F401
from .random import seed as set_random_seed  # noqa: F401
from .saving import get_registered_name, get_registered_object, register_keras_serializable  # noqa: F401

__all__ = ["to_categorical", "set_random_seed", "register_keras_serializable", "get_registered_name", "get_registered_object"]
