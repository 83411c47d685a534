import os
import tempfile
import warnings

import keras
import numpy as np


def net(classes):
    return keras.Sequential([keras.Input((6,)), keras.layers.Dense(8, name="features"), keras.layers.Dense(classes, name="head")])


pretrained, fresh = net(10), net(3)
path = os.path.join(tempfile.mkdtemp(), "pre.weights.h5")
pretrained.save_weights(path)
head = [w.copy() for w in fresh.get_layer("head").get_weights()]
try:
    fresh.load_weights(path)
    raise AssertionError("a head of another size must not load")
except ValueError:
    pass
with warnings.catch_warnings(record=True):
    warnings.simplefilter("always")
    fresh.load_weights(path, skip_mismatch=True)
for got, want in zip(fresh.get_layer("features").get_weights(), pretrained.get_layer("features").get_weights()):
    np.testing.assert_array_equal(got, want)
for got, want in zip(fresh.get_layer("head").get_weights(), head):
    np.testing.assert_array_equal(got, want)
