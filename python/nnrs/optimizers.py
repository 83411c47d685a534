"""Optimizers with Keras 3 names, defaults and update rules.

Every update is one kernel call per variable on the active backend
(``sgd_update``, ``adam_update``, ``rmsprop_update``, ``adagrad_update``), which
updates the variable's ``.data`` and the optimizer's state arrays in place. The
Python work per step is a loop over ``(grad, variable)`` pairs with one dict
lookup each; everything that does not change between steps is precomputed.

``iterations`` counts the applied steps (from 0); a learning-rate schedule is
evaluated at ``iterations`` before the step, and Adam's bias correction uses
``iterations + 1``, as in Keras.
"""

from __future__ import annotations

import math
import re

from . import backend as _backend
from .tensor import Tensor

__all__ = [
    "Optimizer", "SGD", "Adam", "AdamW", "RMSprop", "Adagrad",
    "schedules", "get", "serialize", "deserialize",
]


# ---------------------------------------------------------------------------------------
# Learning-rate schedules (``nnrs.optimizers.schedules``)
# ---------------------------------------------------------------------------------------

class LearningRateSchedule:
    """Base class of learning-rate schedules: ``schedule(step) -> float``."""

    def __call__(self, step):
        raise NotImplementedError(f"{type(self).__name__}: a schedule subclass defines __call__(step) -> learning rate")

    def get_config(self):
        raise NotImplementedError(f"{type(self).__name__}: a schedule subclass defines get_config() to be saved")

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{self.__class__.__name__}({args})"


def _check_decay_steps(decay_steps, arg="decay_steps"):
    if decay_steps <= 0:
        raise ValueError(f"{arg} has to be positive, got {decay_steps}")


class ExponentialDecay(LearningRateSchedule):
    """``initial_learning_rate * decay_rate ** (step / decay_steps)`` (the exponent is
    floored with ``staircase=True``)."""

    def __init__(self, initial_learning_rate, decay_steps, decay_rate, staircase=False,
                 name="ExponentialDecay"):
        _check_decay_steps(decay_steps)
        self.initial_learning_rate = initial_learning_rate
        self.decay_steps = decay_steps
        self.decay_rate = decay_rate
        self.staircase = staircase
        self.name = name

    def __call__(self, step):
        p = float(step) / self.decay_steps
        if self.staircase:
            p = math.floor(p)
        return float(self.initial_learning_rate) * float(self.decay_rate) ** p

    def get_config(self):
        return {
            "initial_learning_rate": self.initial_learning_rate, "decay_steps": self.decay_steps,
            "decay_rate": self.decay_rate, "staircase": self.staircase, "name": self.name,
        }


class PiecewiseConstantDecay(LearningRateSchedule):
    """``values[0]`` while ``step <= boundaries[0]``, ``values[i]`` while
    ``boundaries[i-1] < step <= boundaries[i]``, ``values[-1]`` after the last boundary."""

    def __init__(self, boundaries, values, name="PiecewiseConstant"):
        if len(boundaries) != len(values) - 1:
            raise ValueError(f"PiecewiseConstantDecay: {len(boundaries)} boundaries split the steps into "
                             f"{len(boundaries) + 1} ranges, so it needs {len(boundaries) + 1} values, got {len(values)}")
        self.boundaries = list(boundaries)
        self.values = list(values)
        self.name = name

    def __call__(self, step):
        step = float(step)
        for b, v in zip(self.boundaries, self.values):
            if step <= b:
                return float(v)
        return float(self.values[-1])

    def get_config(self):
        return {"boundaries": self.boundaries, "values": self.values, "name": self.name}


class InverseTimeDecay(LearningRateSchedule):
    """``initial_learning_rate / (1 + decay_rate * step / decay_steps)`` (floored
    ``step / decay_steps`` with ``staircase=True``)."""

    def __init__(self, initial_learning_rate, decay_steps, decay_rate, staircase=False,
                 name="InverseTimeDecay"):
        _check_decay_steps(decay_steps)
        self.initial_learning_rate = initial_learning_rate
        self.decay_steps = decay_steps
        self.decay_rate = decay_rate
        self.staircase = staircase
        self.name = name

    def __call__(self, step):
        p = float(step) / self.decay_steps
        if self.staircase:
            p = math.floor(p)
        return float(self.initial_learning_rate) / (1.0 + float(self.decay_rate) * p)

    def get_config(self):
        return {
            "initial_learning_rate": self.initial_learning_rate, "decay_steps": self.decay_steps,
            "decay_rate": self.decay_rate, "staircase": self.staircase, "name": self.name,
        }


class PolynomialDecay(LearningRateSchedule):
    """``(initial - end) * (1 - step / decay_steps) ** power + end`` with the step
    capped at ``decay_steps``; with ``cycle=True`` decay_steps grows to the first
    multiple of itself above the step instead."""

    def __init__(self, initial_learning_rate, decay_steps, end_learning_rate=0.0001, power=1.0,
                 cycle=False, name="PolynomialDecay"):
        _check_decay_steps(decay_steps)
        self.initial_learning_rate = initial_learning_rate
        self.decay_steps = decay_steps
        self.end_learning_rate = end_learning_rate
        self.power = power
        self.cycle = cycle
        self.name = name

    def __call__(self, step):
        step = float(step)
        decay_steps = float(self.decay_steps)
        if self.cycle:
            mult = 1.0 if step == 0 else math.ceil(step / decay_steps)
            decay_steps *= mult
        else:
            step = min(step, decay_steps)
        p = step / decay_steps
        init, end = float(self.initial_learning_rate), float(self.end_learning_rate)
        return (init - end) * (1.0 - p) ** self.power + end

    def get_config(self):
        return {
            "initial_learning_rate": self.initial_learning_rate, "decay_steps": self.decay_steps,
            "end_learning_rate": self.end_learning_rate, "power": self.power,
            "cycle": self.cycle, "name": self.name,
        }


class CosineDecay(LearningRateSchedule):
    """Cosine decay from ``initial_learning_rate`` (or, after an optional linear warmup
    of ``warmup_steps`` to ``warmup_target``, from ``warmup_target``) down to
    ``alpha`` times that rate over ``decay_steps``."""

    def __init__(self, initial_learning_rate, decay_steps, alpha=0.0, name="CosineDecay",
                 warmup_target=None, warmup_steps=0):
        _check_decay_steps(decay_steps)
        self.initial_learning_rate = initial_learning_rate
        self.decay_steps = decay_steps
        self.alpha = alpha
        self.name = name
        self.warmup_target = warmup_target
        self.warmup_steps = warmup_steps

    def _decay(self, step, decay_from):
        frac = step / float(self.decay_steps)
        cosine = 0.5 * (1.0 + math.cos(math.pi * frac))
        return decay_from * ((1.0 - self.alpha) * cosine + self.alpha)

    def __call__(self, step):
        step = float(step)
        init = float(self.initial_learning_rate)
        if self.warmup_target is None:
            return self._decay(min(step, float(self.decay_steps)), init)
        target = float(self.warmup_target)
        wsteps = float(self.warmup_steps)
        step = min(step, float(self.decay_steps) + wsteps)
        if step < wsteps:
            return (target - init) * (step / wsteps) + init
        return self._decay(step - wsteps, target)

    def get_config(self):
        return {
            "initial_learning_rate": self.initial_learning_rate, "decay_steps": self.decay_steps,
            "alpha": self.alpha, "name": self.name, "warmup_target": self.warmup_target,
            "warmup_steps": self.warmup_steps,
        }


class CosineDecayRestarts(LearningRateSchedule):
    """Cosine decay with warm restarts (SGDR): periods of ``first_decay_steps * t_mul**i``
    steps, the i-th starting from ``initial_learning_rate * m_mul**i``."""

    def __init__(self, initial_learning_rate, first_decay_steps, t_mul=2.0, m_mul=1.0, alpha=0.0,
                 name="SGDRDecay"):
        _check_decay_steps(first_decay_steps, "first_decay_steps")
        self.initial_learning_rate = initial_learning_rate
        self.first_decay_steps = first_decay_steps
        self._t_mul = t_mul
        self._m_mul = m_mul
        self.alpha = alpha
        self.name = name

    def __call__(self, step):
        frac = float(step) / float(self.first_decay_steps)
        t_mul, m_mul = float(self._t_mul), float(self._m_mul)
        if t_mul != 1.0:
            i_restart = math.floor(math.log(1.0 - frac * (1.0 - t_mul)) / math.log(t_mul))
            sum_r = (1.0 - t_mul ** i_restart) / (1.0 - t_mul)
            frac = (frac - sum_r) / t_mul ** i_restart
        else:
            i_restart = math.floor(frac)
            frac -= i_restart
        cosine = 0.5 * m_mul ** i_restart * (1.0 + math.cos(math.pi * frac))
        return float(self.initial_learning_rate) * ((1.0 - self.alpha) * cosine + self.alpha)

    def get_config(self):
        return {
            "initial_learning_rate": self.initial_learning_rate,
            "first_decay_steps": self.first_decay_steps, "t_mul": self._t_mul,
            "m_mul": self._m_mul, "alpha": self.alpha, "name": self.name,
        }


class _SchedulesNamespace:
    """``nnrs.optimizers.schedules``: the learning-rate schedules, as in Keras."""

    LearningRateSchedule = LearningRateSchedule
    ExponentialDecay = ExponentialDecay
    PiecewiseConstantDecay = PiecewiseConstantDecay
    InverseTimeDecay = InverseTimeDecay
    PolynomialDecay = PolynomialDecay
    CosineDecay = CosineDecay
    CosineDecayRestarts = CosineDecayRestarts

    @staticmethod
    def serialize(schedule):
        return {"class_name": type(schedule).__name__, "config": schedule.get_config()}

    @staticmethod
    def deserialize(config):
        name = config.get("class_name")
        cls = _SCHEDULES.get(name)
        if cls is None:
            raise ValueError(
                f"Unknown learning rate schedule {name!r}; known: {', '.join(sorted(_SCHEDULES))}"
            )
        return cls.from_config(dict(config.get("config", {})))

    def __repr__(self):
        return "<namespace nnrs.optimizers.schedules>"


_SCHEDULES = {
    c.__name__: c for c in (
        ExponentialDecay, PiecewiseConstantDecay, InverseTimeDecay, PolynomialDecay,
        CosineDecay, CosineDecayRestarts,
    )
}
schedules = _SchedulesNamespace()


# ---------------------------------------------------------------------------------------
# Optimizers
# ---------------------------------------------------------------------------------------

# Keras 3 arguments that nnrs accepts only at their default value.
_UNSUPPORTED_DEFAULTS = {
    "use_ema": False, "ema_momentum": 0.99, "ema_overwrite_frequency": None,
    "loss_scale_factor": None, "gradient_accumulation_steps": None,
}


class Optimizer:
    """Base optimizer: learning rate (float, schedule or callable), weight decay,
    gradient clipping, lazily created per-variable state, ``iterations``.

    Subclasses define ``_state_arrays(variable)`` (the state arrays of one variable),
    ``_kernel`` (the backend update kernel) and ``_hyper(lr)`` (its hyperparameters):
    one kernel call per variable.
    """

    def __init__(self, learning_rate, weight_decay=None, clipnorm=None, clipvalue=None,
                 global_clipnorm=None, name=None, **kwargs):
        for k, v in kwargs.items():
            if k not in _UNSUPPORTED_DEFAULTS:
                raise TypeError(f"{type(self).__name__}() got an unexpected keyword argument {k!r}")
            if v != _UNSUPPORTED_DEFAULTS[k]:
                raise NotImplementedError(f"nnrs optimizers do not support {k}={v!r}")
        if clipnorm is not None and global_clipnorm is not None:
            raise ValueError(f"{type(self).__name__}: clip either each gradient (clipnorm={clipnorm}) or all of them "
                             f"together (global_clipnorm={global_clipnorm}), not both")
        for arg, val in (("clipnorm", clipnorm), ("clipvalue", clipvalue),
                         ("global_clipnorm", global_clipnorm)):
            if val is not None and val < 0:
                raise ValueError(f"{type(self).__name__}: {arg} cannot be negative, got {val}")
        self.name = name or type(self).__name__.lower()
        self.clipnorm = clipnorm
        self.clipvalue = clipvalue
        self.global_clipnorm = global_clipnorm
        self._weight_decay = weight_decay
        self._exclude_names = None
        self._exclude_ids = set()
        self.iterations = 0
        self._slots = {}          # id(variable) -> (variable, state..., weight decay)
        self._slot_backends = {}  # id(variable) -> the backend its state arrays live on
        self._built_vars = None
        self.learning_rate = learning_rate

    # ---- learning rate ----------------------------------------------------------
    @property
    def learning_rate(self):
        """The current learning rate (a schedule is evaluated at ``iterations``)."""
        s = self._schedule
        if s is None:
            return self._lr
        if isinstance(s, LearningRateSchedule):
            return float(s(self.iterations))
        return float(s())

    @learning_rate.setter
    def learning_rate(self, value):
        if isinstance(value, LearningRateSchedule) or (callable(value) and not isinstance(value, (int, float))):
            self._schedule = value
            self._lr = None
            return
        try:
            lr = float(value)
        except (TypeError, ValueError):
            raise ValueError(f"{type(self).__name__}: learning_rate takes a number, a schedule or a function "
                             f"returning the rate, got {value!r}") from None
        self._schedule = None
        self._lr = lr

    # Keras 3 alias.
    lr = learning_rate

    # ---- weight decay -----------------------------------------------------------
    @property
    def weight_decay(self):
        return self._weight_decay

    @weight_decay.setter
    def weight_decay(self, value):
        self._weight_decay = value
        self._refresh_weight_decay()

    def exclude_from_weight_decay(self, var_list=None, var_names=None):
        """Variables (objects, or names matched with ``re.search``) not decayed."""
        if self._built_vars is not None or self._slots:
            raise ValueError(f"{type(self).__name__}: choose the variables excluded from weight decay before the "
                             "first step or build(); the optimizer already has its state")
        self._exclude_ids = {id(v) for v in (var_list or [])}
        self._exclude_names = list(var_names) if var_names else None

    def _wd_for(self, variable):
        wd = self._weight_decay
        if not wd:
            return 0.0
        if id(variable) in self._exclude_ids:
            return 0.0
        if self._exclude_names:
            name = getattr(variable, "name", "") or ""
            for pat in self._exclude_names:
                if re.search(pat, name):
                    return 0.0
        return float(wd)

    def _refresh_weight_decay(self):
        for key, rec in list(self._slots.items()):
            self._slots[key] = rec[:-1] + (self._wd_for(rec[0]),)

    # ---- state ------------------------------------------------------------------
    def _state_arrays(self, variable):
        """The state arrays of one variable, on its backend."""
        return ()

    def _make_slots(self, variable):
        rec = (variable,) + tuple(self._state_arrays(variable)) + (self._wd_for(variable),)
        self._slots[id(variable)] = rec
        self._slot_backends[id(variable)] = variable.backend
        return rec

    def to(self, backend):
        """Move the optimizer's state (moments, accumulators, momentum buffers) to ``backend``
        (a name or a Backend) and return the optimizer; ``model.to`` calls it. The values
        are kept exactly, so training continues as if nothing moved. State not yet made is
        made later on its variable's backend, as usual."""
        b = _backend.resolve(backend)
        from .tensor import _copy_to

        for key, rec in list(self._slots.items()):
            src = self._slot_backends.get(key, rec[0].backend)
            if src is b:
                continue
            state = tuple(None if a is None else _copy_to(a, src, b) for a in rec[1:-1])
            self._slots[key] = (rec[0],) + state + (rec[-1],)
            self._slot_backends[key] = b
        return self

    def build(self, var_list):
        """Create the state of every variable of ``var_list`` (otherwise created lazily)."""
        var_list = list(var_list)
        for v in var_list:
            if id(v) not in self._slots:
                self._make_slots(v)
        self._built_vars = var_list

    @property
    def built(self):
        return self._built_vars is not None

    @property
    def variables(self):
        """The optimizer's state arrays, in the order the variables were first seen."""
        out = []
        for rec in self._slots.values():
            out.extend(a for a in rec[1:-1] if a is not None)
        return out

    # ---- clipping ---------------------------------------------------------------
    @staticmethod
    def _clip_scale(b, sum_squares, c):
        """``c / max(norm, c)`` as a 0-d float64 array on the backend (no host round trip):
        1 when the norm is within ``c``, NaN when the norm is not finite (as Keras)."""
        norm = b.unary("sqrt", sum_squares)
        scale = b.binary_scalar("div", b.binary_scalar("maximum", norm, c), c, True)
        return b.binary("add", scale, b.binary("sub", norm, norm))  # + NaN when norm is inf or NaN

    def _clip_gradients(self, b, grads):
        if self.clipnorm:
            c = float(self.clipnorm)
            return [None if g is None else b.binary("mul", g, b.cast(self._clip_scale(b, b.sum_squares([g]), c), g.dtype))
                    for g in grads]
        if self.global_clipnorm:
            present = [g for g in grads if g is not None]
            if not present:
                return grads
            scale = self._clip_scale(b, b.sum_squares(present), float(self.global_clipnorm))
            return [None if g is None else b.binary("mul", g, b.cast(scale, g.dtype)) for g in grads]
        if self.clipvalue:
            v = float(self.clipvalue)
            return [None if g is None else b.clip(g, -v, v) for g in grads]
        return grads

    # ---- applying ---------------------------------------------------------------
    def apply_gradients(self, grads_and_vars):
        """Apply ``[(grad, variable), ...]``; a ``None`` grad skips its variable.
        Returns ``iterations`` after the step."""
        grads_and_vars = list(grads_and_vars)
        if not grads_and_vars:
            return self.iterations
        grads, variables = zip(*grads_and_vars)
        self.apply(grads, variables)
        return self.iterations

    def apply(self, grads, variables=None):
        """Apply ``grads`` (backend arrays, or None to skip) to ``variables`` (the
        variables given to ``build`` when omitted) and count one step."""
        if variables is None:
            if self._built_vars is None:
                raise ValueError(f"{type(self).__name__}.apply: without variables, the gradients are matched to the "
                                 "variables given to build(), which has not been called")
            variables = self._built_vars
        if len(grads) != len(variables):
            raise ValueError(
                f"Got {len(grads)} gradients for {len(variables)} variables; expected one each."
            )
        if not len(grads):
            return
        b = getattr(variables[0], "backend", None) or _backend.current()
        # a gradient given as a host array (or a Tensor) joins its variable's backend first; no copy when it is there
        grads = [None if g is None else getattr(v, "backend", b).asarray(g.data if isinstance(g, Tensor) else g)
                 for g, v in zip(grads, variables)]
        s = self._schedule
        if s is None:
            lr = self._lr
        elif isinstance(s, LearningRateSchedule):
            lr = float(s(self.iterations))
        else:
            lr = float(s())
        if self.clipnorm or self.global_clipnorm or self.clipvalue:
            grads = self._clip_gradients(b, grads)
        self._update(b, grads, variables, lr)
        self.iterations += 1

    #: Name of the backend kernel that updates one variable in place, called as
    #: ``kernel(param, grad, *state_arrays, *self._hyper(lr), weight_decay)``.
    _kernel = ""

    def _hyper(self, lr):
        """The kernel's hyperparameters after the state arrays, for this step."""
        return (lr,)

    def _update(self, b, grads, variables, lr):
        hyper = self._hyper(lr)
        slots = self._slots
        name = self._kernel
        for g, v in zip(grads, variables):
            if g is None:
                continue
            r = slots.get(id(v)) or self._make_slots(v)
            getattr(v.backend, name)(v.data, g, *r[1:-1], *hyper, r[-1])
            v._version += 1  # graphs recorded before this step can no longer be differentiated
            c = getattr(v, "constraint", None)  # set by e.g. Dense(kernel_constraint=...); plain arrays have none
            if c is not None:  # project the updated variable (in place, bumping _version)
                v.assign(c(v))

    # ---- config -----------------------------------------------------------------
    def get_config(self):
        lr = self._schedule if self._schedule is not None else self._lr
        if isinstance(lr, LearningRateSchedule):
            lr = schedules.serialize(lr)
        return {
            "name": self.name, "learning_rate": lr, "weight_decay": self._weight_decay,
            "clipnorm": self.clipnorm, "global_clipnorm": self.global_clipnorm,
            "clipvalue": self.clipvalue,
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        lr = config.get("learning_rate")
        if isinstance(lr, dict):
            config["learning_rate"] = schedules.deserialize(lr)
        return cls(**config)

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name!r} learning_rate={self.learning_rate!r} iterations={self.iterations}>"


class SGD(Optimizer):
    """Keras SGD: ``v = momentum*v - lr*g``; ``w += v`` (nesterov: ``w += momentum*v - lr*g``);
    plain ``w -= lr*g`` when momentum is 0."""

    def __init__(self, learning_rate=0.01, momentum=0.0, nesterov=False, weight_decay=None,
                 clipnorm=None, clipvalue=None, global_clipnorm=None, name="SGD", **kwargs):
        super().__init__(learning_rate, weight_decay=weight_decay, clipnorm=clipnorm,
                         clipvalue=clipvalue, global_clipnorm=global_clipnorm, name=name, **kwargs)
        if not 0.0 <= float(momentum) <= 1.0:
            raise ValueError(f"SGD: momentum lies in [0, 1], got {momentum}")
        self.momentum = float(momentum)
        self.nesterov = bool(nesterov)

    def _state_arrays(self, variable):
        return (variable.backend.xp.zeros_like(variable.data) if self.momentum else None,)

    _kernel = "sgd_update"

    def _hyper(self, lr):
        return (lr, self.momentum, self.nesterov)

    def get_config(self):
        c = super().get_config()
        c.update(momentum=self.momentum, nesterov=self.nesterov)
        return c


class Adam(Optimizer):
    """Keras Adam: ``m += (g-m)(1-b1)``; ``v += (g²-v)(1-b2)``;
    ``w -= lr*sqrt(1-b2^t)/(1-b1^t) * m/(sqrt(v)+eps)`` with ``t = iterations+1``."""

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, amsgrad=False,
                 weight_decay=None, clipnorm=None, clipvalue=None, global_clipnorm=None,
                 name="adam", **kwargs):
        super().__init__(learning_rate, weight_decay=weight_decay, clipnorm=clipnorm,
                         clipvalue=clipvalue, global_clipnorm=global_clipnorm, name=name, **kwargs)
        if amsgrad:
            raise NotImplementedError("nnrs Adam does not support amsgrad=True")
        self.beta_1 = float(beta_1)
        self.beta_2 = float(beta_2)
        self.epsilon = float(epsilon)
        self.amsgrad = False

    def _state_arrays(self, variable):
        xp, data = variable.backend.xp, variable.data
        return (xp.zeros_like(data), xp.zeros_like(data))

    _kernel = "adam_update"

    def _hyper(self, lr):
        return (lr, self.beta_1, self.beta_2, self.epsilon, self.iterations + 1)

    def get_config(self):
        c = super().get_config()
        c.update(beta_1=self.beta_1, beta_2=self.beta_2, epsilon=self.epsilon, amsgrad=self.amsgrad)
        return c


class AdamW(Adam):
    """Adam with decoupled weight decay (``w -= lr*weight_decay*w`` before each step)."""

    def __init__(self, learning_rate=0.001, weight_decay=0.004, beta_1=0.9, beta_2=0.999,
                 epsilon=1e-7, amsgrad=False, clipnorm=None, clipvalue=None, global_clipnorm=None,
                 name="adamw", **kwargs):
        if weight_decay is None:
            raise ValueError("AdamW: weight_decay is what sets AdamW apart from Adam; give it a number, not None")
        super().__init__(learning_rate, beta_1=beta_1, beta_2=beta_2, epsilon=epsilon,
                         amsgrad=amsgrad, weight_decay=weight_decay, clipnorm=clipnorm,
                         clipvalue=clipvalue, global_clipnorm=global_clipnorm, name=name, **kwargs)


class RMSprop(Optimizer):
    """Keras RMSprop: ``ms = rho*ms + (1-rho)*g²``; ``inc = lr*g/sqrt(ms+eps)``;
    ``mom = momentum*mom + inc; w -= mom`` (or ``w -= inc`` without momentum)."""

    def __init__(self, learning_rate=0.001, rho=0.9, momentum=0.0, epsilon=1e-7, centered=False,
                 weight_decay=None, clipnorm=None, clipvalue=None, global_clipnorm=None,
                 name="rmsprop", **kwargs):
        super().__init__(learning_rate, weight_decay=weight_decay, clipnorm=clipnorm,
                         clipvalue=clipvalue, global_clipnorm=global_clipnorm, name=name, **kwargs)
        if centered:
            raise NotImplementedError("nnrs RMSprop does not support centered=True")
        self.rho = float(rho)
        self.momentum = float(momentum)
        self.epsilon = float(epsilon)
        self.centered = False

    def _state_arrays(self, variable):
        xp, data = variable.backend.xp, variable.data
        return (xp.zeros_like(data), xp.zeros_like(data) if self.momentum > 0 else None)

    _kernel = "rmsprop_update"

    def _hyper(self, lr):
        return (lr, self.rho, self.momentum, self.epsilon)

    def get_config(self):
        c = super().get_config()
        c.update(rho=self.rho, momentum=self.momentum, epsilon=self.epsilon, centered=self.centered)
        return c


class Adagrad(Optimizer):
    """Keras Adagrad: ``acc += g²``; ``w -= lr*g/sqrt(acc+eps)``; acc starts at
    ``initial_accumulator_value``."""

    def __init__(self, learning_rate=0.001, initial_accumulator_value=0.1, epsilon=1e-7,
                 weight_decay=None, clipnorm=None, clipvalue=None, global_clipnorm=None,
                 name="adagrad", **kwargs):
        super().__init__(learning_rate, weight_decay=weight_decay, clipnorm=clipnorm,
                         clipvalue=clipvalue, global_clipnorm=global_clipnorm, name=name, **kwargs)
        self.initial_accumulator_value = float(initial_accumulator_value)
        self.epsilon = float(epsilon)

    def _state_arrays(self, variable):
        return (variable.backend.xp.full_like(variable.data, self.initial_accumulator_value),)

    _kernel = "adagrad_update"

    def _hyper(self, lr):
        return (lr, self.epsilon)

    def get_config(self):
        c = super().get_config()
        c.update(initial_accumulator_value=self.initial_accumulator_value, epsilon=self.epsilon)
        return c


_OPTIMIZERS = {"sgd": SGD, "adam": Adam, "adamw": AdamW, "rmsprop": RMSprop, "adagrad": Adagrad}


def _lookup(name):
    cls = _OPTIMIZERS.get(str(name).lower())
    if cls is None:
        raise ValueError(
            f"Unknown optimizer {name!r}; known optimizers: {', '.join(sorted(_OPTIMIZERS))}"
        )
    return cls


def serialize(optimizer):
    """``{"class_name": ..., "config": ...}`` of an optimizer."""
    return {"class_name": type(optimizer).__name__, "config": optimizer.get_config()}


def deserialize(config):
    """An optimizer from ``serialize``'s dict (or from a ``get_config()`` dict whose
    ``name`` is an optimizer name)."""
    config = dict(config)
    if "class_name" in config:
        return _lookup(config["class_name"]).from_config(config.get("config") or {})
    if "name" in config:
        return _lookup(config["name"]).from_config(config)
    raise ValueError(f"optimizers.deserialize: a config names its optimizer under 'class_name' or 'name'; got {config!r}")


def get(identifier):
    """An optimizer from a name ('sgd', 'adam', 'adamw', 'rmsprop', 'adagrad', any case),
    an Optimizer instance (returned as is), or a config dict."""
    if identifier is None:
        return None
    if isinstance(identifier, Optimizer):
        return identifier
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if isinstance(identifier, str):
        return _lookup(identifier)()
    raise ValueError(f"optimizers.get: expected an optimizer, its name or its config, got {identifier!r}")
