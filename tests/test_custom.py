"""User-defined layers and models: subclassing Layer and Model, gradcheck on a user layer."""

import nnrs
import numpy as np
from nnrs import ops


class Scale(nnrs.layers.Layer):
    """y = x * s + t with trainable per-feature s and t."""

    def build(self, input_shape):
        self.s = self.add_weight((input_shape[-1],), "ones", name="s")
        self.t = self.add_weight((input_shape[-1],), "zeros", name="t")

    def call(self, x, training=False):
        return ops.add(ops.multiply(x, self.s), self.t)


class TwoTower(nnrs.Model):
    def __init__(self):
        super().__init__()
        self.a = nnrs.layers.Dense(8, activation="tanh")
        self.b = nnrs.layers.Dense(8, activation="relu")
        self.out = nnrs.layers.Dense(1)

    def call(self, x, training=False):
        return self.out(ops.concatenate([self.a(x), self.b(x)], axis=-1))


def test_gradcheck_on_a_user_layer(backend):
    layer = Scale(dtype="float64")
    layer.build((None, 3))
    layer.s.assign(np.array([0.5, -1.0, 2.0]))
    x = np.random.default_rng(0).normal(size=(4, 3))
    assert nnrs.gradcheck(lambda t: layer(t), x, wrt=[layer.s, layer.t])


def test_subclassed_model_trains(backend):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(128, 4)).astype(np.float32)
    y = (x ** 2).sum(1, keepdims=True)
    nnrs.random.seed(0)
    m = TwoTower()
    m.compile(optimizer=nnrs.optimizers.Adam(0.02), loss="mse")
    h = m.fit(x, y, epochs=20, batch_size=32, verbose=0)
    assert h.history["loss"][-1] < 0.3 * h.history["loss"][0]
    assert len(m.trainable_weights) == 6 and m.count_params() == 4 * 8 * 2 + 16 + 16 + 1


def test_custom_layer_in_sequential(backend):
    nnrs.random.seed(0)
    m = nnrs.Sequential([nnrs.Input((3,)), Scale(), nnrs.layers.Dense(2)])
    assert [w.shape for w in m.get_weights()] == [(3,), (3,), (3, 2), (2,)]
    assert m.predict(np.ones((5, 3), np.float32), verbose=0).shape == (5, 2)
