"""Losses against reference values computed with Keras 3.15.1 on torch (KERAS_BACKEND=torch):
per-sample function forms, every reduction, sample and class weights, custom losses."""

import nnrs as keras
import numpy as np
import pytest
from nnrs import losses as L
from nnrs.tensor import Tensor

YT = np.array([[0., 1., 0.], [1., 0., 0.], [0., 0., 1.]], "float32")
YP = np.array([[0.2, 0.7, 0.1], [0.5, 0.3, 0.2], [0.1, 0.3, 0.6]], "float32")
Z = np.array([[1.0, -2.0, 0.5], [0.3, 0.2, -1.0], [-0.5, 1.5, 2.0]], "float32")
SW = np.array([1.0, 0.0, 3.0], "float32")
LAB = np.array([1, 0, 2])
SOFT = YT * 0.8 + 0.05


def near(got, want, rtol=1e-5, atol=1e-6):
    np.testing.assert_allclose(np.asarray(got.numpy() if isinstance(got, Tensor) else got), want, rtol=rtol, atol=atol)


# Per-sample function forms: (batch,) values, computed with Keras 3.15.1 on torch.
FUNCTIONS = [
    (lambda: L.mean_squared_error(YT, YP), [0.04666667, 0.12666667, 0.08666667]),
    (lambda: L.mse(YT, YP), [0.04666667, 0.12666667, 0.08666667]),
    (lambda: L.mean_absolute_error(YT, YP), [0.2, 0.33333334, 0.26666665]),
    (lambda: L.mae(YT, YP), [0.2, 0.33333334, 0.26666665]),
    (lambda: L.mean_absolute_percentage_error(YT + 1, YP), [78.33332825, 75.0, 76.66666412]),
    (lambda: L.mean_squared_logarithmic_error(YT, YP), [0.02291251, 0.06161234, 0.04257065]),
    (lambda: L.huber(YT, Z, delta=1.0), [1.04166663, 0.255, 0.54166669]),
    (lambda: L.log_cosh(YT, Z), [0.95440793, 0.2269731, 0.46977845]),
    (lambda: L.kl_divergence(SOFT, YP), [0.06106055, 0.29213133, 0.17181531]),
    (lambda: L.poisson(YT, YP), [0.45222494, 0.56438231, 0.50360847]),
    (lambda: L.cosine_similarity(YT, Z), [0.87287152, -0.28221628, -0.78446454]),
    (lambda: L.cosine_similarity(YT, Z, axis=0), [-0.25916055, 0.79745221, -0.87287152]),
    (lambda: L.hinge(YT, Z), [2.16666675, 0.63333338, 1.0]),
    (lambda: L.squared_hinge(YT, Z), [5.08333349, 0.64333338, 2.16666675]),
    (lambda: L.categorical_hinge(YT, Z), [4.0, 0.9, 0.5]),
    (lambda: L.binary_crossentropy(YT, YP), [0.22839302, 0.42432189, 0.32428703]),
    (lambda: L.binary_crossentropy(YT, Z, from_logits=True), [1.4714222, 0.5552519, 0.7674728]),
    (lambda: L.binary_crossentropy(YT, YP, label_smoothing=0.2), [0.37608686, 0.498775, 0.43928659]),
    (lambda: L.categorical_crossentropy(YT, YP), [0.35667497, 0.69314718, 0.51082557]),
    (lambda: L.categorical_crossentropy(YT, Z, from_logits=True), [3.50459695, 0.7781173, 0.52390909]),
    (lambda: L.categorical_crossentropy(YT, Z, from_logits=True, label_smoothing=0.3), [2.954597, 0.91811734, 0.82390916]),
    (lambda: L.sparse_categorical_crossentropy(LAB, YP), [0.35667497, 0.69314718, 0.51082557]),
    (lambda: L.sparse_categorical_crossentropy(LAB, Z, from_logits=True), [3.50459695, 0.7781173, 0.52390909]),
    (lambda: L.categorical_focal_crossentropy(YT, YP), [0.00802519, 0.0433217, 0.02043302]),
    (lambda: L.categorical_focal_crossentropy(YT, Z, alpha=0.5, gamma=1.5, from_logits=True, label_smoothing=0.1),
     [1.57284081, 0.17926465, 0.1191922]),
    (lambda: L.binary_focal_crossentropy(YT, YP), [0.0140267, 0.07143776, 0.03829548]),
    (lambda: L.binary_focal_crossentropy(YT, Z, from_logits=True, gamma=1.5), [1.01914608, 0.17433089, 0.45765582]),
    (lambda: L.binary_focal_crossentropy(YT, YP, apply_class_balancing=True, alpha=0.4, label_smoothing=0.2),
     [0.01390815, 0.03885339, 0.02551811]),
    (lambda: L.binary_focal_crossentropy(YT, Z, apply_class_balancing=True, from_logits=True, label_smoothing=0.1),
     [0.37036553, 0.07381529, 0.26155087]),
]


@pytest.mark.parametrize("i", range(len(FUNCTIONS)))
def test_function_form_is_per_sample(backend, i):
    fn, want = FUNCTIONS[i]
    got = fn()
    assert got.shape == (3,)
    near(got, want)


# Loss objects with reductions and sample weights (Keras 3.15.1 on torch).
OBJECTS = [
    (lambda: L.MeanSquaredError()(YT, YP, sample_weight=SW), 0.10222223),  # zero weights still count in the divisor
    (lambda: L.MeanSquaredError(reduction="mean")(YT, YP, sample_weight=SW), 0.10222223),
    (lambda: L.MeanSquaredError(reduction="sum")(YT, YP, sample_weight=SW), 0.30666667),
    (lambda: L.MeanSquaredError(reduction="mean_with_sample_weight")(YT, YP, sample_weight=SW), 0.07666667),
    (lambda: L.MeanAbsoluteError(reduction="sum")(YT, YP, sample_weight=SW), 0.99999994),
    (lambda: L.Huber(delta=0.5)(YT, Z), 0.40222225),
    (lambda: L.LogCosh()(YT, Z, sample_weight=SW), 0.78791445),
    (lambda: L.KLDivergence()(SOFT, YP), 0.1750024),
    (lambda: L.Poisson(reduction="sum")(YT, YP), 1.52021575),
    (lambda: L.CosineSimilarity()(YT, Z), -0.06460311),
    (lambda: L.Hinge()(YT * 2 - 1, Z), 1.26666677),
    (lambda: L.BinaryCrossentropy()(YT, YP, sample_weight=SW), 0.40041804),
    (lambda: L.BinaryCrossentropy(from_logits=True, label_smoothing=0.1)(YT, Z, sample_weight=SW), 1.25516903),
    (lambda: L.CategoricalCrossentropy(label_smoothing=0.1)(YT, YP, sample_weight=SW), 0.7480883),
    (lambda: L.CategoricalCrossentropy(from_logits=True, reduction="mean_with_sample_weight")(YT, Z, sample_weight=SW),
     1.26908112),
    (lambda: L.SparseCategoricalCrossentropy(from_logits=True)(LAB, Z, sample_weight=SW), 1.69210815),
    (lambda: L.SparseCategoricalCrossentropy(from_logits=True, reduction="mean_with_sample_weight")(LAB, Z, sample_weight=SW),
     1.26908112),
    (lambda: L.CategoricalFocalCrossentropy()(YT, YP, sample_weight=SW), 0.02310808),
    (lambda: L.BinaryFocalCrossentropy(apply_class_balancing=True)(YT, YP, sample_weight=SW), 0.0168229),
    (lambda: L.MeanSquaredError()(np.arange(24, dtype="float32").reshape(2, 3, 4) / 10,
                                  np.cos(np.arange(24, dtype="float32")).reshape(2, 3, 4)), 2.52701545),
]


@pytest.mark.parametrize("i", range(len(OBJECTS)))
def test_loss_object_reduces_like_keras(backend, i):
    fn, want = OBJECTS[i]
    got = fn()
    assert got.shape == ()
    near(got, want)


def test_reduction_none_returns_weighted_per_sample_values(backend):
    near(L.MeanSquaredError(reduction="none")(YT, YP, sample_weight=SW), [0.04666667, 0.0, 0.26])
    near(L.Huber(reduction=None)(YT, Z, sample_weight=SW), [1.04166663, 0.0, 1.625])  # Keras 3.15.1 on torch
    assert L.KLDivergence(reduction="none")(SOFT, YP).shape == (3,)


def test_rank_rules_follow_keras():
    # (3,) targets against (3, 1) predictions: one value per sample; two vectors: one value in all (Keras 3.15.1)
    near(L.MeanSquaredError(reduction=None)(np.array([1., 2., 3.]), np.array([[1.5], [2.], [2.]])), [0.25, 0.0, 1.0])
    near(L.mean_squared_error(np.array([1., 2., 3.]), np.array([1.5, 2., 2.])), 0.41666666)


def test_fused_path_equals_composed_values(backend):
    # the fused kernel (default reduction) and the per-sample ops (reduction="sum" / n) agree, with weights
    for loss, y in [(L.MeanSquaredError, YT), (L.MeanAbsoluteError, YT), (L.Huber, YT)]:
        a = loss()(y, Z, sample_weight=SW).item()
        b = loss(reduction="sum")(y, Z, sample_weight=SW).item() / 3
        assert abs(a - b) < 1e-6
    a = L.SparseCategoricalCrossentropy(from_logits=True)(LAB, Z).item()
    b = L.SparseCategoricalCrossentropy(from_logits=True, reduction="sum")(LAB, Z).item() / 3
    assert abs(a - b) < 1e-6


def test_gradient_of_composed_loss_matches_fused(backend):
    z1 = Tensor(Z.astype("float64"), requires_grad=True)
    z2 = Tensor(Z.astype("float64"), requires_grad=True)
    L.CategoricalCrossentropy(from_logits=True)(YT, z1, sample_weight=SW).backward()
    L.CategoricalCrossentropy(from_logits=True, reduction="sum")(YT, z2, sample_weight=SW.astype("float64") / 3).backward()
    np.testing.assert_allclose(backend.to_numpy(z1.grad), backend.to_numpy(z2.grad), rtol=1e-10, atol=1e-12)


def test_float64_predictions_give_float64_losses(backend):
    assert L.LogCosh()(YT, Z.astype("float64")).dtype == np.float64
    assert L.MeanSquaredError()(YT, Z.astype("float64")).dtype == np.float64
    assert L.MeanSquaredError(dtype="float32")(YT, Z.astype("float64")).dtype == np.float32


def test_bad_reduction_and_unsupported_argument_are_errors():
    with pytest.raises(ValueError, match="reduction"):
        L.MeanSquaredError(reduction="auto")
    with pytest.raises(ValueError, match="ignore_class"):
        L.SparseCategoricalCrossentropy(ignore_class=0)
    with pytest.raises(TypeError, match="delta"):
        L.MeanSquaredError(delta=2.0)
    with pytest.raises(ValueError, match="sample_weight"):
        L.LogCosh()(YT, YP, sample_weight=np.ones(4))


def test_config_round_trip_and_names():
    c = L.CategoricalFocalCrossentropy(alpha=0.5, gamma=1.0, label_smoothing=0.1)
    cfg = c.get_config()
    assert cfg == {"name": "categorical_focal_crossentropy", "reduction": "sum_over_batch_size", "alpha": 0.5, "gamma": 1.0,
                   "from_logits": False, "label_smoothing": 0.1, "axis": -1}
    assert L.CategoricalFocalCrossentropy.from_config(cfg).get_config() == cfg
    assert L.BinaryCrossentropy().get_config() == {"name": "binary_crossentropy", "reduction": "sum_over_batch_size",
                                                   "from_logits": False, "label_smoothing": 0.0, "axis": -1}
    assert L.BinaryFocalCrossentropy().get_config() == {
        "name": "binary_focal_crossentropy", "reduction": "sum_over_batch_size", "from_logits": False, "label_smoothing": 0.0,
        "axis": -1, "apply_class_balancing": False, "alpha": 0.25, "gamma": 2.0}
    assert L.Huber().name == "huber_loss"
    assert L.get("huber").delta == 1.0
    for name, cls in [("kld", L.KLDivergence), ("log_cosh", L.LogCosh), ("poisson", L.Poisson), ("hinge", L.Hinge),
                      ("cosine_similarity", L.CosineSimilarity), ("mape", L.MeanAbsolutePercentageError),
                      ("msle", L.MeanSquaredLogarithmicError), ("categorical_focal_crossentropy", L.CategoricalFocalCrossentropy)]:
        assert type(L.get(name)) is cls
    assert L.deserialize(L.serialize(L.Huber(delta=0.3))).delta == 0.3


class WeightedSquare(keras.losses.Loss):
    """A Keras-style Loss subclass: call(y_true, y_pred) returns per-sample values."""

    def __init__(self, scale=2.0, **kwargs):
        super().__init__(**kwargs)
        self.scale = scale

    def call(self, y_true, y_pred):
        return keras.ops.multiply(keras.ops.mean(keras.ops.square(y_true - y_pred), axis=-1), self.scale)

    def get_config(self):
        return {**super().get_config(), "scale": self.scale}


def test_custom_loss_subclass_reduces_and_weights(backend):
    loss = WeightedSquare(name="ws")
    near(loss(YT, YP), 2 * 0.08666667)
    near(loss(YT, YP, sample_weight=SW), 2 * 0.10222223)
    near(WeightedSquare(reduction="none")(YT, YP, sample_weight=SW), [2 * 0.04666667, 0.0, 2 * 0.26])
    assert loss.get_config() == {"name": "ws", "reduction": "sum_over_batch_size", "scale": 2.0}


def _regression_data():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(64, 4)).astype("float32")
    y = (x @ np.array([1.0, -2.0, 0.5, 0.0], "float32"))[:, None]
    return x, y


def _model():
    keras.utils.set_random_seed(0)
    m = keras.Sequential([keras.Input((4,)), keras.layers.Dense(8, activation="tanh"), keras.layers.Dense(1)])
    return m


def test_custom_loss_subclass_and_function_train_in_fit(backend):
    x, y = _regression_data()
    sw = np.where(np.arange(64) % 2 == 0, 1.0, 0.5).astype("float32")
    for loss in [WeightedSquare(scale=0.5), lambda t, p: keras.ops.mean(keras.ops.abs(t - p), axis=-1)]:
        m = _model()
        m.compile(optimizer=keras.optimizers.Adam(0.05), loss=loss)
        h = m.fit(x, y, batch_size=16, epochs=8, sample_weight=sw, verbose=0)
        assert h.history["loss"][-1] < 0.5 * h.history["loss"][0]


def test_custom_loss_sees_class_weights():
    # class_weight reaches a custom loss as per-sample weights; the output is 0, so each value is scale * y^2
    x = np.array([[0.0], [1.0], [2.0], [3.0]], "float32")
    y = np.array([[0.0], [1.0], [0.0], [1.0]], "float32")
    m = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1, kernel_initializer="zeros")])
    m.compile(optimizer="sgd", loss=WeightedSquare(scale=1.0))
    assert abs(m.evaluate(x, y, verbose=0) - 0.5) < 1e-6
    assert abs(m.train_on_batch(x, y, class_weight={0: 1.0, 1: 0.25}) - 0.125) < 1e-6


@pytest.mark.parametrize("make", [
    lambda: WeightedSquare(), lambda: L.LogCosh(reduction="mean_with_sample_weight"), lambda: L.CosineSimilarity(reduction="sum"),
    lambda: L.CategoricalFocalCrossentropy(from_logits=True, label_smoothing=0.1), lambda: L.BinaryFocalCrossentropy(from_logits=True),
    lambda: L.KLDivergence(), lambda: L.Poisson(), lambda: L.Hinge(), lambda: L.BinaryCrossentropy(label_smoothing=0.2),
    lambda: L.Huber(delta=0.1, reduction="sum"), lambda: L.SquaredHinge(), lambda: L.CategoricalHinge(),
    lambda: L.CategoricalCrossentropy(reduction="none"), lambda: L.MeanSquaredError(reduction="sum"),
])
def test_composed_losses_have_right_gradients_in_float64(backend, make):
    loss = make()
    y = np.array([[0.1, 0.7, 0.2], [0.3, 0.3, 0.4]])
    p = np.array([[0.25, 0.55, 0.2], [0.35, 0.15, 0.5]])
    assert keras.gradcheck(lambda q: loss(y, q, sample_weight=np.array([0.5, 2.0])), p)


def test_msle_and_mape_have_right_gradients(backend):
    y = np.array([[0.1, 0.7, 0.2], [0.3, 0.3, 0.4]])
    p = np.array([[0.25, 0.55, 0.2], [0.35, 0.15, 0.5]])
    assert keras.gradcheck(lambda q: L.MeanSquaredLogarithmicError()(y, q), p)
    assert keras.gradcheck(lambda q: L.MeanAbsolutePercentageError()(y, q), p + 0.01)


def test_sequence_targets_and_per_step_weights(backend):
    # (batch, time, classes) logits, (batch, time) labels and weights: Keras 3.15.1 on torch
    z = np.sin(np.arange(24, dtype="float32") * 1.3).reshape(2, 3, 4).astype("float32")
    lab = np.array([[0, 3, 1], [2, 2, 0]])
    w = np.array([[1., 0., 2.], [0.5, 1., 1.]], "float32")
    loss = L.SparseCategoricalCrossentropy(from_logits=True)
    near(loss(lab, z), 1.82841933)
    near(loss(lab, z, sample_weight=w), 1.82552993)
    near(L.SparseCategoricalCrossentropy(from_logits=True, reduction=None)(lab, z, sample_weight=w),
         [[1.7575444, 0.0, 4.78578472], [0.98124599, 2.48177433, 0.94682997]])


def test_default_losses_of_fit_take_the_fused_kernel():
    # the one-kernel path is what keeps train_on_batch fast: its graph node is functions.Loss
    from nnrs import functions as F
    z = Tensor(Z, requires_grad=True)
    assert isinstance(L.SparseCategoricalCrossentropy(from_logits=True)(LAB, z, sample_weight=SW)._ctx, F.Loss)
    assert isinstance(L.CategoricalCrossentropy(from_logits=True)(YT, z)._ctx, F.Loss)
    assert isinstance(L.BinaryCrossentropy(from_logits=True)(YT, z)._ctx, F.Loss)
    assert isinstance(L.MeanSquaredError()(YT, z, sample_weight=SW[:, None])._ctx, F.Loss)
    assert isinstance(L.get("huber")(YT, z)._ctx, F.Loss)
    assert isinstance(L.get("mae")(YT, z)._ctx, F.Loss)
    # where the kernel would compute something else, the composed ops run instead
    assert not isinstance(L.MeanSquaredError(reduction="sum")(YT, z)._ctx, F.Loss)
    assert not isinstance(L.CategoricalCrossentropy(from_logits=True, label_smoothing=0.1)(YT, z)._ctx, F.Loss)
