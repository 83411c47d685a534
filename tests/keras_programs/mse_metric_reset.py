import keras
import numpy as np

m = keras.metrics.MeanSquaredError()
m.update_state(np.array([[1.0], [2.0]]), np.array([[0.0], [0.0]]))
assert abs(float(m.result()) - 2.5) < 1e-6
m.reset_state()
m.update_state(np.array([[3.0]]), np.array([[1.0]]))
assert abs(float(m.result()) - 4.0) < 1e-6
rmse = keras.metrics.RootMeanSquaredError()
rmse.update_state(np.array([[3.0], [0.0]]), np.array([[0.0], [4.0]]))
assert abs(float(rmse.result()) - np.sqrt(12.5)) < 1e-5
