import keras
import numpy as np

logits = np.array([[2.0], [-1.0], [0.5]], "float32")
y = np.array([[1.0], [0.0], [1.0]], "float32")
a = float(keras.losses.BinaryCrossentropy(from_logits=True)(y, logits))
b = float(keras.losses.BinaryCrossentropy()(y, 1 / (1 + np.exp(-logits))))
p = 1 / (1 + np.exp(-logits.astype("float64")))
want = -(y * np.log(p) + (1 - y) * np.log(1 - p)).mean()
assert abs(a - want) < 1e-5 and abs(b - want) < 1e-4, (a, b, want)
