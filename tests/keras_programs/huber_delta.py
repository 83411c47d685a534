import keras
import numpy as np

y = np.array([[0.0], [0.0], [0.0]], "float32")
p = np.array([[0.5], [2.0], [-4.0]], "float32")
d = 1.5
a = np.abs(p - y)
want = np.where(a <= d, 0.5 * a ** 2, d * (a - 0.5 * d)).mean()
assert abs(float(keras.losses.Huber(delta=d)(y, p)) - want) < 1e-6
