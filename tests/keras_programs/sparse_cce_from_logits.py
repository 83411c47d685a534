import keras
import numpy as np

logits = np.array([[1.0, 2.0, 0.5], [0.0, -1.0, 3.0]], "float32")
labels = np.array([1, 2])
z = logits - logits.max(1, keepdims=True)
logp = z - np.log(np.exp(z).sum(1, keepdims=True))
want = -logp[np.arange(2), labels].mean()
got = float(keras.losses.SparseCategoricalCrossentropy(from_logits=True)(labels, logits))
assert abs(got - want) < 1e-6
