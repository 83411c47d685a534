import keras
import numpy as np

a = keras.Input(batch_shape=(None, 3), name="feats")
assert a.shape == (None, 3)
b = keras.Input(shape=(3,), dtype="float64")
assert str(b.dtype) == "float64"
model = keras.Model(a, keras.layers.Dense(2, name="proj")(a))
assert [type(l).__name__ for l in model.layers] == ["InputLayer", "Dense"]
assert model.layers[0].name == "feats"
assert model.predict(np.zeros((4, 3), "float32"), verbose=0).shape == (4, 2)
