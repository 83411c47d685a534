"""Optimizers: every update rule against a plain numpy transcription of the Keras 3
formula over several steps, on every backend; schedules, clipping, weight decay,
config round trips, ``get``, and the Python overhead of a step."""

import math

import numpy as np
import pytest
from nnrs import backend as _backend
from nnrs import optimizers
from nnrs.backend.base import Backend
from nnrs.optimizers import schedules

from tests.conftest import host

from .conftest import tol


class Var:
    """Stand-in for nnrs.Variable: what the optimizers use."""

    def __init__(self, value, name="v"):
        from nnrs import backend as _b

        self.backend = _b.current()
        self.data = self.backend.asarray(np.array(value))
        self._version = 0
        self.name = name
        self.shape = self.data.shape
        self.dtype = self.data.dtype


KERNELS = ("sgd_update", "adam_update", "rmsprop_update", "adagrad_update", "clip",
           "sum_squares", "binary_scalar")


def need_kernels(b):
    missing = [k for k in KERNELS if getattr(type(b), k, None) in (None, getattr(Backend, k))]
    if missing:
        pytest.skip(f"backend {b.name} lacks {', '.join(missing)} (not yet implemented)")


# ---- plain numpy transcriptions of the Keras 3 update rules (float64) -----------------

class RefSGD:
    def __init__(self, lr=0.01, momentum=0.0, nesterov=False, weight_decay=None):
        self.lr, self.m, self.nest, self.wd = lr, momentum, nesterov, weight_decay
        self.vel = {}

    def step(self, i, w, g, t):
        if self.wd:
            w = w - w * self.wd * self.lr
        if self.m:
            v = self.vel.get(i, np.zeros_like(w))
            v = -g * self.lr + v * self.m
            self.vel[i] = v
            return w + (-g * self.lr + v * self.m if self.nest else v)
        return w - g * self.lr


class RefAdam:
    def __init__(self, lr=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, weight_decay=None):
        self.lr, self.b1, self.b2, self.eps, self.wd = lr, beta_1, beta_2, epsilon, weight_decay
        self.m, self.v = {}, {}

    def step(self, i, w, g, t):
        if self.wd:
            w = w - w * self.wd * self.lr
        m = self.m.get(i, np.zeros_like(w))
        v = self.v.get(i, np.zeros_like(w))
        m = m + (g - m) * (1 - self.b1)
        v = v + (g * g - v) * (1 - self.b2)
        self.m[i], self.v[i] = m, v
        alpha = self.lr * math.sqrt(1 - self.b2 ** (t + 1)) / (1 - self.b1 ** (t + 1))
        return w - m * alpha / (np.sqrt(v) + self.eps)


class RefRMSprop:
    def __init__(self, lr=0.001, rho=0.9, momentum=0.0, epsilon=1e-7, weight_decay=None):
        self.lr, self.rho, self.mom, self.eps, self.wd = lr, rho, momentum, epsilon, weight_decay
        self.ms, self.mm = {}, {}

    def step(self, i, w, g, t):
        if self.wd:
            w = w - w * self.wd * self.lr
        ms = self.rho * self.ms.get(i, np.zeros_like(w)) + (1 - self.rho) * g * g
        self.ms[i] = ms
        inc = self.lr * g / np.sqrt(ms + self.eps)
        if self.mom > 0:
            mm = self.mom * self.mm.get(i, np.zeros_like(w)) + inc
            self.mm[i] = mm
            return w - mm
        return w - inc


class RefAdagrad:
    def __init__(self, lr=0.001, initial_accumulator_value=0.1, epsilon=1e-7, weight_decay=None):
        self.lr, self.init, self.eps, self.wd = lr, initial_accumulator_value, epsilon, weight_decay
        self.acc = {}

    def step(self, i, w, g, t):
        if self.wd:
            w = w - w * self.wd * self.lr
        acc = self.acc.get(i, np.full_like(w, self.init)) + g * g
        self.acc[i] = acc
        return w - self.lr * g / np.sqrt(acc + self.eps)


CASES = [
    ("sgd", lambda: optimizers.SGD(), lambda: RefSGD()),
    ("sgd_lr", lambda: optimizers.SGD(0.1), lambda: RefSGD(0.1)),
    ("sgd_momentum", lambda: optimizers.SGD(0.05, momentum=0.9), lambda: RefSGD(0.05, 0.9)),
    ("sgd_nesterov", lambda: optimizers.SGD(0.05, momentum=0.8, nesterov=True), lambda: RefSGD(0.05, 0.8, True)),
    ("sgd_wd", lambda: optimizers.SGD(0.05, momentum=0.5, weight_decay=0.1), lambda: RefSGD(0.05, 0.5, weight_decay=0.1)),
    ("adam", lambda: optimizers.Adam(), lambda: RefAdam()),
    ("adam_custom", lambda: optimizers.Adam(0.01, beta_1=0.5, beta_2=0.9, epsilon=1e-3), lambda: RefAdam(0.01, 0.5, 0.9, 1e-3)),
    ("adamw", lambda: optimizers.AdamW(0.01), lambda: RefAdam(0.01, weight_decay=0.004)),
    ("adamw_wd", lambda: optimizers.AdamW(0.01, weight_decay=0.2), lambda: RefAdam(0.01, weight_decay=0.2)),
    ("rmsprop", lambda: optimizers.RMSprop(), lambda: RefRMSprop()),
    ("rmsprop_momentum", lambda: optimizers.RMSprop(0.01, rho=0.8, momentum=0.7), lambda: RefRMSprop(0.01, 0.8, 0.7)),
    ("rmsprop_wd", lambda: optimizers.RMSprop(0.01, weight_decay=0.05), lambda: RefRMSprop(0.01, weight_decay=0.05)),
    ("adagrad", lambda: optimizers.Adagrad(), lambda: RefAdagrad()),
    ("adagrad_custom", lambda: optimizers.Adagrad(0.1, initial_accumulator_value=0.5, epsilon=1e-4), lambda: RefAdagrad(0.1, 0.5, 1e-4)),
]


def _run(opt, ref, dtype, steps=6, seed=0):
    rng = np.random.default_rng(seed)
    shapes = [(3, 4), (4,), (2, 3, 2), ()]
    init = [rng.standard_normal(s) for s in shapes]
    variables = [Var(a.astype(dtype), f"w{i}") for i, a in enumerate(init)]
    expect = [a.copy() for a in init]
    for t in range(steps):
        grads = [rng.standard_normal(s) for s in shapes]
        opt.apply_gradients([(g.astype(dtype), v) for g, v in zip(grads, variables)])
        expect = [ref.step(i, w, g, t) for i, (w, g) in enumerate(zip(expect, grads))]
    return variables, expect


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_update_matches_keras_formula(backend, case, dtype):
    need_kernels(backend)
    _, make_opt, make_ref = case
    opt, ref = make_opt(), make_ref()
    variables, expect = _run(opt, ref, dtype)
    assert opt.iterations == 6
    rtol, atol = tol(dtype)
    for v, e in zip(variables, expect):
        assert v.data.dtype == dtype
        np.testing.assert_allclose(backend.to_numpy(v.data), e, rtol=rtol * 10, atol=atol * 10)


def test_every_update_moves_weights(backend):
    need_kernels(backend)
    for name, make_opt, _ in CASES:
        v = Var(np.ones(5))
        make_opt().apply_gradients([(np.full(5, 0.5), v)])
        assert np.all(host(v.data) < 1.0), name


def test_one_kernel_call_per_variable():
    calls = []

    class Counting(type(_backend.get("numpy"))):
        def adam_update(self, *a, **k):
            calls.append(a)
            return super().adam_update(*a, **k)

    opt = optimizers.Adam()
    with _backend.use(Counting()):
        vs = [Var(np.ones(3), "a"), Var(np.ones(2), "b")]
        opt.apply([np.ones(3), np.ones(2)], vs)
        opt.apply([np.ones(3), np.ones(2)], vs)
    assert len(calls) == 4
    assert [c[8] for c in calls] == [1, 1, 2, 2]  # step counts from 1


def test_none_grad_skips_variable():
    with _backend.use("numpy"):
        a, b = Var(np.ones(3)), Var(np.ones(3))
        opt = optimizers.Adam(0.1)
        opt.apply_gradients([(np.ones(3), a), (None, b)])
        assert opt.iterations == 1
        assert np.all(a.data < 1) and np.all(b.data == 1)
        assert id(b) not in opt._slots and len(opt.variables) == 2


def test_state_is_per_variable_and_lazy():
    with _backend.use("numpy"):
        a, b = Var(np.zeros(2)), Var(np.zeros(2))
        opt = optimizers.SGD(0.1, momentum=0.9)
        opt.apply_gradients([(np.ones(2), a)])
        opt.apply_gradients([(np.ones(2), a), (np.ones(2), b)])
        # a has momentum from its first step, b starts fresh
        np.testing.assert_allclose(a.data, -0.1 + (-0.1 * 0.9 - 0.1))
        np.testing.assert_allclose(b.data, -0.1)
        assert len(opt.variables) == 2


def test_build_then_apply_without_variables():
    with _backend.use("numpy"):
        vs = [Var(np.ones(2)), Var(np.ones(3))]
        opt = optimizers.SGD(0.5)
        with pytest.raises(ValueError, match="build"):
            opt.apply([np.ones(2), np.ones(3)])
        opt.build(vs)
        assert opt.built and len(opt.variables) == 0  # plain SGD keeps no state
        opt.apply([np.ones(2), np.ones(3)])
        np.testing.assert_allclose(vs[1].data, 0.5)
        with pytest.raises(ValueError, match="gradients"):
            opt.apply([np.ones(2)], vs)


def test_learning_rate_property_and_schedule_at_iterations():
    with _backend.use("numpy"):
        sched = schedules.PiecewiseConstantDecay([1, 2], [1.0, 0.5, 0.25])
        opt = optimizers.SGD(learning_rate=sched)
        v = Var(np.zeros(1))
        seen = []
        for _ in range(4):
            seen.append(opt.learning_rate)
            opt.apply_gradients([(np.ones(1), v)])
        assert seen == [1.0, 1.0, 0.5, 0.25]
        np.testing.assert_allclose(v.data, -(1.0 + 1.0 + 0.5 + 0.25))
        opt.learning_rate = 0.125
        assert opt.learning_rate == 0.125 and isinstance(opt.learning_rate, float)
        opt.apply_gradients([(np.ones(1), v)])
        np.testing.assert_allclose(v.data, -2.875)
        opt.learning_rate = schedules.ExponentialDecay(1.0, 1, 0.5)
        assert opt.learning_rate == pytest.approx(0.5 ** 5)
        with pytest.raises(ValueError):
            opt.learning_rate = "fast"


def test_callable_learning_rate():
    with _backend.use("numpy"):
        box = [0.5]
        opt = optimizers.SGD(lambda: box[0])
        v = Var(np.zeros(1))
        opt.apply_gradients([(np.ones(1), v)])
        box[0] = 0.25
        opt.apply_gradients([(np.ones(1), v)])
        np.testing.assert_allclose(v.data, -0.75)


# ---- schedules ------------------------------------------------------------------------

def test_exponential_decay():
    s = schedules.ExponentialDecay(0.1, decay_steps=10, decay_rate=0.5)
    assert [s(k) for k in (0, 5, 10, 20)] == pytest.approx([0.1, 0.1 * 0.5 ** 0.5, 0.05, 0.025])
    s = schedules.ExponentialDecay(0.1, 10, 0.5, staircase=True)
    assert [s(k) for k in (0, 9, 10, 19, 20)] == pytest.approx([0.1, 0.1, 0.05, 0.05, 0.025])
    with pytest.raises(ValueError):
        schedules.ExponentialDecay(0.1, 0, 0.5)


def test_piecewise_constant_decay():
    s = schedules.PiecewiseConstantDecay([100, 110], [1.0, 0.5, 0.1])
    assert [s(k) for k in (0, 100, 101, 110, 111, 1000)] == [1.0, 1.0, 0.5, 0.5, 0.1, 0.1]
    with pytest.raises(ValueError):
        schedules.PiecewiseConstantDecay([1, 2], [1.0, 0.5])


def test_inverse_time_decay():
    s = schedules.InverseTimeDecay(0.1, decay_steps=1.0, decay_rate=0.5)
    assert [s(k) for k in (0, 1, 4)] == pytest.approx([0.1, 0.1 / 1.5, 0.1 / 3.0])
    s = schedules.InverseTimeDecay(0.1, 10, 1.0, staircase=True)
    assert [s(k) for k in (9, 10, 25)] == pytest.approx([0.1, 0.05, 0.1 / 3])


def test_polynomial_decay():
    s = schedules.PolynomialDecay(0.1, 100, end_learning_rate=0.01, power=2.0)
    assert s(0) == pytest.approx(0.1)
    assert s(50) == pytest.approx(0.09 * 0.25 + 0.01)
    assert s(100) == pytest.approx(0.01) and s(500) == pytest.approx(0.01)
    s = schedules.PolynomialDecay(0.1, 100, end_learning_rate=0.0, power=1.0, cycle=True)
    assert s(0) == pytest.approx(0.1)
    assert s(150) == pytest.approx(0.1 * (1 - 150 / 200))  # decay_steps grows to 200
    assert s(100) == pytest.approx(0.0)


def test_cosine_decay():
    s = schedules.CosineDecay(1.0, 100, alpha=0.1)
    assert s(0) == pytest.approx(1.0)
    assert s(50) == pytest.approx(0.9 * 0.5 + 0.1)
    assert s(100) == pytest.approx(0.1) and s(1000) == pytest.approx(0.1)
    w = schedules.CosineDecay(0.0, 100, warmup_target=1.0, warmup_steps=10)
    assert w(0) == 0.0 and w(5) == pytest.approx(0.5)
    assert w(10) == pytest.approx(1.0) and w(60) == pytest.approx(0.5)
    assert w(110) == pytest.approx(0.0, abs=1e-12)


def test_cosine_decay_restarts():
    s = schedules.CosineDecayRestarts(1.0, 10, t_mul=2.0, m_mul=0.5)
    assert s(0) == pytest.approx(1.0)
    assert s(5) == pytest.approx(0.5)
    assert s(10) == pytest.approx(0.5)       # second period starts at m_mul
    assert s(20) == pytest.approx(0.25 * (1 + math.cos(math.pi * 0.5)))  # halfway through 20 steps
    assert s(30) == pytest.approx(0.25)


def test_schedule_config_round_trip():
    for s in (schedules.ExponentialDecay(0.1, 10, 0.9, staircase=True),
              schedules.PiecewiseConstantDecay([3], [0.2, 0.1]),
              schedules.InverseTimeDecay(0.1, 5, 0.3),
              schedules.PolynomialDecay(0.1, 20, 0.001, 2.0, cycle=True),
              schedules.CosineDecay(0.1, 30, alpha=0.2, warmup_target=0.3, warmup_steps=4),
              schedules.CosineDecayRestarts(0.1, 7)):
        s2 = schedules.deserialize(schedules.serialize(s))
        assert type(s2) is type(s)
        assert [s2(k) for k in range(0, 40, 3)] == [s(k) for k in range(0, 40, 3)]
    assert isinstance(schedules.CosineDecay(0.1, 3), schedules.LearningRateSchedule)


# ---- clipping -------------------------------------------------------------------------

def _clip_run(backend, grads, **kw):
    variables = [Var(np.zeros(g.shape)) for g in grads]
    optimizers.SGD(1.0, **kw).apply_gradients([(g.copy(), v) for g, v in zip(grads, variables)])
    return [-backend.to_numpy(v.data) for v in variables]  # with lr 1, w = -clipped grad


def test_clipvalue(backend):
    need_kernels(backend)
    g = np.array([-3.0, -0.2, 0.0, 0.7, 5.0])
    (out,) = _clip_run(backend, [g], clipvalue=0.5)
    np.testing.assert_allclose(out, np.clip(g, -0.5, 0.5))


def test_clipnorm_per_gradient(backend):
    need_kernels(backend)
    big, small = np.array([3.0, 4.0]), np.array([0.3, 0.4])
    a, b = _clip_run(backend, [big, small], clipnorm=1.0)
    np.testing.assert_allclose(a, [0.6, 0.8])
    np.testing.assert_allclose(b, small)  # norm below the threshold: unchanged


def test_global_clipnorm(backend):
    need_kernels(backend)
    g1, g2 = np.array([3.0, 0.0]), np.array([[0.0], [4.0]])
    a, b = _clip_run(backend, [g1, g2], global_clipnorm=2.5)
    np.testing.assert_allclose(a, g1 * 0.5)
    np.testing.assert_allclose(b, g2 * 0.5)
    a, b = _clip_run(backend, [g1, g2], global_clipnorm=10.0)
    np.testing.assert_allclose(a, g1)


def test_global_clipnorm_with_none_grad():
    with _backend.use("numpy"):
        a, b = Var(np.zeros(2)), Var(np.zeros(2))
        optimizers.SGD(1.0, global_clipnorm=1.0).apply_gradients([(np.array([0.0, 2.0]), a), (None, b)])
        np.testing.assert_allclose(a.data, [0.0, -1.0])
        np.testing.assert_allclose(b.data, 0.0)


def test_clipnorm_and_global_clipnorm_conflict():
    with pytest.raises(ValueError, match="clipnorm"):
        optimizers.Adam(clipnorm=1.0, global_clipnorm=1.0)


# ---- weight decay ---------------------------------------------------------------------

def test_exclude_from_weight_decay():
    with _backend.use("numpy"):
        k, bias = Var(np.ones(2), "dense/kernel"), Var(np.ones(2), "dense/bias")
        opt = optimizers.SGD(0.1, weight_decay=0.5)
        opt.exclude_from_weight_decay(var_names=["bias"])
        opt.apply_gradients([(np.zeros(2), k), (np.zeros(2), bias)])
        np.testing.assert_allclose(k.data, 1 - 0.1 * 0.5)
        np.testing.assert_allclose(bias.data, 1.0)
        with pytest.raises(ValueError):
            opt.exclude_from_weight_decay(var_names=["kernel"])
        opt.weight_decay = 0.0
        opt.apply_gradients([(np.zeros(2), k)])
        np.testing.assert_allclose(k.data, 1 - 0.1 * 0.5)


def test_adamw_requires_weight_decay():
    with pytest.raises(ValueError, match="weight_decay"):
        optimizers.AdamW(weight_decay=None)
    assert optimizers.AdamW().weight_decay == 0.004


def test_unsupported_options_raise():
    with pytest.raises(NotImplementedError):
        optimizers.Adam(amsgrad=True)
    with pytest.raises(NotImplementedError):
        optimizers.RMSprop(centered=True)
    with pytest.raises(NotImplementedError):
        optimizers.SGD(use_ema=True)
    with pytest.raises(TypeError):
        optimizers.SGD(bogus=1)
    with pytest.raises(ValueError):
        optimizers.SGD(momentum=1.5)


# ---- defaults, config, get ------------------------------------------------------------

def test_keras_defaults():
    assert optimizers.SGD().learning_rate == 0.01
    sgd = optimizers.SGD()
    assert (sgd.momentum, sgd.nesterov, sgd.name) == (0.0, False, "SGD")
    adam = optimizers.Adam()
    assert (adam.learning_rate, adam.beta_1, adam.beta_2, adam.epsilon) == (0.001, 0.9, 0.999, 1e-7)
    assert adam.name == "adam" and adam.iterations == 0
    rms = optimizers.RMSprop()
    assert (rms.learning_rate, rms.rho, rms.momentum, rms.epsilon) == (0.001, 0.9, 0.0, 1e-7)
    ada = optimizers.Adagrad()
    assert (ada.learning_rate, ada.initial_accumulator_value, ada.epsilon) == (0.001, 0.1, 1e-7)


@pytest.mark.parametrize("cls", [optimizers.SGD, optimizers.Adam, optimizers.AdamW,
                                 optimizers.RMSprop, optimizers.Adagrad])
def test_config_round_trip(cls):
    opt = cls(learning_rate=0.05, clipvalue=2.0)
    cfg = opt.get_config()
    assert cfg["learning_rate"] == 0.05 and cfg["clipvalue"] == 2.0
    opt2 = cls.from_config(cfg)
    assert type(opt2) is cls and opt2.get_config() == cfg
    sched = schedules.ExponentialDecay(0.1, 10, 0.5)
    opt3 = cls.from_config(cls(learning_rate=sched).get_config())
    assert isinstance(opt3._schedule, schedules.ExponentialDecay)
    assert opt3.learning_rate == pytest.approx(0.1)


def test_get():
    for name, cls in [("sgd", optimizers.SGD), ("SGD", optimizers.SGD), ("Adam", optimizers.Adam),
                      ("adamw", optimizers.AdamW), ("RMSprop", optimizers.RMSprop),
                      ("adagrad", optimizers.Adagrad)]:
        assert type(optimizers.get(name)) is cls
    opt = optimizers.RMSprop(0.3)
    assert optimizers.get(opt) is opt
    assert optimizers.get(None) is None
    o = optimizers.get({"class_name": "Adam", "config": {"learning_rate": 0.02, "beta_1": 0.8}})
    assert type(o) is optimizers.Adam and o.learning_rate == 0.02 and o.beta_1 == 0.8
    o = optimizers.get(optimizers.SGD(0.2, momentum=0.5).get_config())
    assert type(o) is optimizers.SGD and o.momentum == 0.5
    o = optimizers.deserialize(optimizers.serialize(optimizers.Adagrad(0.7)))
    assert type(o) is optimizers.Adagrad and o.learning_rate == 0.7
    with pytest.raises(ValueError) as e:
        optimizers.get("adamax")
    for known in ("sgd", "adam", "adamw", "rmsprop", "adagrad"):
        assert known in str(e.value)
    with pytest.raises(ValueError):
        optimizers.get(42)
