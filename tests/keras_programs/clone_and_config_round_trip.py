import keras
import numpy as np

inputs = keras.Input((3,), name="x")
out = keras.layers.Dense(2, activation="tanh", kernel_regularizer=keras.regularizers.L2(0.01), name="d")(inputs)
model = keras.Model(inputs, out, name="small")
config = model.get_config()
rebuilt = keras.Model.from_config(config)
assert [l.name for l in rebuilt.layers] == [l.name for l in model.layers]
seq = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
again = keras.Sequential.from_config(seq.get_config())
assert [w.shape for w in again.get_weights()] == [w.shape for w in seq.get_weights()]
clone = keras.models.clone_model(model)
assert clone is not model and [w.shape for w in clone.get_weights()] == [w.shape for w in model.get_weights()]
x = np.ones((2, 3), "float32")
clone.set_weights(model.get_weights())
np.testing.assert_allclose(clone.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-6)
