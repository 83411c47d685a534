import keras
import numpy as np

b = keras.metrics.BinaryAccuracy(threshold=0.7)
b.update_state(np.array([[1.0], [0.0], [1.0]]), np.array([[0.8], [0.6], [0.65]]))
assert abs(float(b.result()) - 2 / 3) < 1e-6
c = keras.metrics.CategoricalAccuracy()
c.update_state(np.eye(3)[[0, 1]], np.array([[0.5, 0.3, 0.2], [0.6, 0.3, 0.1]]))
assert abs(float(c.result()) - 0.5) < 1e-6
s = keras.metrics.SparseCategoricalAccuracy()
s.update_state(np.array([2, 0]), np.array([[0.1, 0.2, 0.7], [0.3, 0.4, 0.3]]))
assert abs(float(s.result()) - 0.5) < 1e-6
