import keras
import numpy as np

y = np.array([[0.0, 1.0, 0.0]], "float32")
p = np.array([[0.2, 0.7, 0.1]], "float32")
smooth = 0.1
ys = y * (1 - smooth) + smooth / 3
want = -(ys * np.log(p)).sum()
got = float(keras.losses.CategoricalCrossentropy(label_smoothing=smooth)(y, p))
assert abs(got - want) < 1e-5, (got, want)
