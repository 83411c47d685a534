import keras
import numpy as np

m = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1, kernel_initializer="zeros")])
m.compile(loss="mse", metrics=["mae"], weighted_metrics=["mse", "mae"])
x = np.ones((4, 1), "float32")
y = np.array([[1.0], [2.0], [3.0], [4.0]], "float32")
res = m.evaluate(x, y, sample_weight=np.array([1.0, 0, 0, 0]), return_dict=True, verbose=0)
# values as Keras 3 reports them: metrics unweighted, weighted_metrics weighted, "weighted_" on a name clash
expected = {"loss": 0.25, "mae": 2.5, "mse": 1.0, "weighted_mae": 1.0}
assert set(res) == set(expected), res
for k, v in expected.items():
    assert abs(res[k] - v) < 1e-6, (k, res[k], v)
