import keras
import numpy as np

a_in, b_in = keras.Input((4,), name="a"), keras.Input((4,), name="b")
shared = keras.layers.Dense(4, use_bias=False, kernel_initializer="identity")  # one layer, two calls
sa, sb = shared(a_in), shared(b_in)
merged = [
    keras.layers.Add()([sa, sb]), keras.layers.Subtract()([sa, sb]), keras.layers.Multiply()([sa, sb]),
    keras.layers.Average()([sa, sb]), keras.layers.Maximum()([sa, sb]), keras.layers.Minimum()([sa, sb]),
]
cat = keras.layers.concatenate(merged, axis=-1)
dot = keras.layers.Dot(axes=1)([sa, sb])
out = keras.layers.concatenate([cat, dot])
model = keras.Model([a_in, b_in], out)
assert out.shape == (None, 25)
assert [type(l).__name__ for l in model.layers][:2] == ["InputLayer", "InputLayer"]
assert len(model.weights) == 1  # the shared layer counts once
rng = np.random.default_rng(0)
a, b = rng.standard_normal((3, 4)).astype("float32"), rng.standard_normal((3, 4)).astype("float32")
got = model.predict([a, b], verbose=0)
want = np.concatenate([a + b, a - b, a * b, (a + b) / 2, np.maximum(a, b), np.minimum(a, b), (a * b).sum(1, keepdims=True)], axis=1)
np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
