import keras
import numpy as np

y_true = np.array([[0.0, 1.0], [1.0, 1.0], [2.0, 0.0]], "float32")
y_pred = np.array([[0.5, 1.0], [1.0, 0.0], [0.0, 0.0]], "float32")
per = ((y_true - y_pred) ** 2).mean(-1)
w = np.array([1.0, 0.0, 3.0], "float32")
none = keras.losses.MeanSquaredError(reduction="none")(y_true, y_pred)
np.testing.assert_allclose(np.asarray(none), per, rtol=1e-6)
total = keras.losses.MeanSquaredError(reduction="sum")(y_true, y_pred, sample_weight=w)
assert abs(float(total) - (per * w).sum()) < 1e-5
mean = keras.losses.MeanSquaredError()(y_true, y_pred, sample_weight=w)
assert abs(float(mean) - (per * w).sum() / 3) < 1e-5  # zero weights still count in the divisor, as in Keras
np.testing.assert_allclose(np.asarray(keras.losses.mean_absolute_error(y_true, y_pred)), np.abs(y_true - y_pred).mean(-1), rtol=1e-6)
