import keras
import numpy as np

reg = keras.regularizers.L1L2(l1=0.01, l2=0.1)
w = np.array([[1.0, -2.0], [0.5, 0.0]], "float32")
assert abs(float(reg(w)) - (0.01 * 3.5 + 0.1 * 5.25)) < 1e-6
cfg = reg.get_config()
assert abs(cfg["l1"] - 0.01) < 1e-9 and abs(cfg["l2"] - 0.1) < 1e-9
