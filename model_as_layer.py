import keras
import numpy as np

inner_in = keras.Input((3,))
inner = keras.Model(inner_in, keras.layers.Dense(2, kernel_initializer="ones", bias_initializer="zeros")(inner_in))
outer_in = keras.Input((3,))
outer = keras.Model(outer_in, keras.layers.Dense(1, kernel_initializer="ones", bias_initializer="zeros")(inner(outer_in)))
x = np.arange(6, dtype="float32").reshape(2, 3)
np.testing.assert_allclose(outer.predict(x, verbose=0), 2 * x.sum(1, keepdims=True))
assert outer.count_params() == inner.count_params() + 3
outer.compile(optimizer="sgd", loss="mse")
w0 = inner.get_weights()[0].copy()
outer.fit(x, np.zeros((2, 1), "float32"), epochs=1, verbose=0)
assert not np.allclose(inner.get_weights()[0], w0)  # the inner model trains with the outer one
