import keras
import numpy as np


class MaxAbsError(keras.metrics.Metric):
    def __init__(self, name="max_abs_error", **kwargs):
        super().__init__(name=name, **kwargs)
        self.worst = self.add_variable(shape=(), initializer="zeros", name="worst")

    def update_state(self, y_true, y_pred, sample_weight=None):
        err = float(np.max(np.abs(np.asarray(y_true) - np.asarray(y_pred))))
        self.worst.assign(max(err, float(self.worst.numpy())))

    def result(self):
        return self.worst.numpy()


x = np.ones((4, 1), "float32")
y = np.array([[1.0], [2.0], [3.0], [5.0]], "float32")
model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1, kernel_initializer="zeros", bias_initializer="zeros")])
model.compile(loss="mse", metrics=[MaxAbsError()])
res = model.evaluate(x, y, verbose=0, return_dict=True)
assert abs(res["max_abs_error"] - 5.0) < 1e-6, res
