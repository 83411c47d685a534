"""nnrs vs PyTorch on the CPU, side by side, in one run.

Both libraries run in this one process, in float32, on the same number of threads
(``--threads``, default 2: NNRS_NUM_THREADS, OMP_NUM_THREADS and MKL_NUM_THREADS are set
before either library is imported, then ``torch.set_num_threads`` and nnrs's
``set_num_threads`` are called). Samples are taken in blocks ordered nnrs, torch,
torch, nnrs, each block after a pause and warm-up calls (see ``time_blocks``); each
case reports the medians.

Run it from the bench venv, which has torch (setup in benches/README.md)::

    benches/.venv/bin/python benches/run.py            # full table
    benches/.venv/bin/python benches/run.py --quick    # smoke run: few repeats, 2 epochs for fit
    benches/.venv/bin/python benches/run.py --only sgemm --only fit
    benches/.venv/bin/python benches/run.py --write    # also record the table in benches/README.md

Cases (the ratio is time nnrs / time PyTorch, lower is better):

    sgemm      1024x1024x1024 float32 product, nnrs.backend.get("cpu").matmul vs torch.mm
    mlp        784-512-256-10 relu, batch 128, one SGD(momentum 0.9) training step
    tiny       20-32-32-2 relu, batch 32, one Adam training step
    infer1     batch-1 inference of the tiny MLP
    fit        MNIST MLP 784-256-128-10 + Dropout(0.2), Adam 1e-3, batch 64, 10 epochs,
               8,000 training images, wall time of model.fit vs a plain PyTorch loop

Each case fails on its own: an error (for instance a part of the nnrs API that does
not exist yet) is printed in that case's row and the other rows are still measured.
"""

from __future__ import annotations

import argparse
import datetime
import gzip
import os
import platform
import statistics
import subprocess
import sys
import time
import traceback
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
README = HERE / "README.md"
DEFAULT_MNIST = ROOT.parent / "shared" / "data" / "mnist"
START = "<!-- results:start (written by benches/run.py --write) -->"
END = "<!-- results:end -->"

CASES = ("sgemm", "mlp", "tiny", "infer1", "fit", "conv", "conv3", "lenet", "lstm", "gru", "rnn", "lstm_infer1", "charlstm")


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--threads", type=int, default=2, help="threads for both libraries (default 2)")
    p.add_argument("--quick", action="store_true", help="few repeats and 2 epochs for fit: a smoke run")
    p.add_argument("--only", action="append", choices=CASES, metavar="NAME",
                   help=f"run only this case (repeatable); one of {', '.join(CASES)}")
    p.add_argument("--write", action="store_true", help="record the table in benches/README.md")
    p.add_argument("--max-busy", type=float, default=10.0, metavar="PCT",
                   help="--write records nothing if other processes kept more than PCT%% of the CPUs busy "
                        "during the run (default 10; 100 to always record)")
    p.add_argument("--wait-idle", type=float, default=0.0, metavar="SECONDS",
                   help="first wait up to SECONDS for the CPUs to be idle (other processes < 10%% busy over 2 s)")
    p.add_argument("--mnist", type=Path, default=DEFAULT_MNIST,
                   help=f"folder with t10k-images-idx3-ubyte.gz and t10k-labels-idx1-ubyte.gz (default {DEFAULT_MNIST})")
    return p.parse_args(argv)


# --------------------------------------------------------------------------- setup

def set_thread_env(threads: int) -> None:
    """Before numpy, torch or nnrs is imported: every library's thread count."""
    for var in ("NNRS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MATMUL_NUM_THREADS"):
        os.environ[var] = str(threads)


def nnrs_set_threads(nnrs, threads: int) -> None:
    fn = getattr(nnrs, "set_num_threads", None) or nnrs._core.set_num_threads
    fn(threads)


def nnrs_seed(nnrs, seed: int) -> None:
    rnd = getattr(nnrs, "random", None)
    if rnd is not None and hasattr(rnd, "seed"):
        rnd.seed(seed)


def machine_info(threads: int) -> dict:
    cpu, logical = "unknown", os.cpu_count()
    try:
        with open("/proc/cpuinfo") as f:
            text = f.read()
        fields = {}
        for ln in text.splitlines():
            k, _, v = ln.partition(":")
            fields.setdefault(k.strip(), v.strip())
        cpu = fields.get("model name", cpu)
        if "cpu family" in fields and "model" in fields:
            cpu += f" (family {fields['cpu family']}, model {fields['model']})"
        logical = sum(1 for ln in text.splitlines() if ln.startswith("processor")) or logical
    except OSError:
        pass
    info = {"cpu": cpu, "cores": logical, "threads": threads, "python": platform.python_version()}
    try:
        info["loadavg"] = "{:.2f} {:.2f} {:.2f}".format(*os.getloadavg())
    except OSError:
        info["loadavg"] = "n/a"
    try:
        info["commit"] = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
                                        capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        info["commit"] = "n/a"
    return info


class CpuWatch:
    """Share of all CPUs that *other* processes kept busy between start and stop
    (busy time from /proc/stat minus this process's own CPU time), to tell whether
    a run was disturbed: on a shared 2-core machine one busy neighbour halves a
    2-thread timing."""

    @staticmethod
    def _busy() -> float | None:
        try:
            with open("/proc/stat") as f:
                v = [int(x) for x in f.readline().split()[1:]]
        except (OSError, ValueError):
            return None
        # user nice system idle iowait irq softirq steal ...: busy = all but idle and iowait
        return (sum(v[:8]) - v[3] - v[4]) / os.sysconf("SC_CLK_TCK")

    def __init__(self):
        self.start()

    def start(self):
        t = os.times()
        self.t0, self.own0, self.busy0 = time.perf_counter(), t.user + t.system, self._busy()

    def other_share(self) -> float | None:
        if self.busy0 is None:
            return None
        t = os.times()
        wall = time.perf_counter() - self.t0
        other = (self._busy() - self.busy0) - (t.user + t.system - self.own0)
        if wall < 1.0:  # /proc/stat counts in clock ticks: too coarse for a short window
            return None
        return min(1.0, max(0.0, other / (wall * (os.cpu_count() or 1))))


def wait_idle(limit: float) -> float | None:
    """Wait up to ``limit`` seconds for a 2 s window with other processes < 10% busy;
    returns the share seen last."""
    deadline = time.perf_counter() + limit
    while True:
        w = CpuWatch()
        time.sleep(2.0)
        share = w.other_share()
        if share is None or share < 0.10 or time.perf_counter() >= deadline:
            return share


def pct(x) -> str:
    return "n/a" if x is None else f"{100 * x:.0f}%"


# --------------------------------------------------------------------------- timing

def time_blocks(sides: dict, warmup: int, repeats: int, number: int) -> dict:
    """Median seconds per call of each side's function.

    ``sides`` maps a name to a zero-argument function (or to an Exception from its
    setup). The samples are taken in blocks, in the order A B B A (each side gets two
    blocks of ``repeats / 2`` samples of ``number`` calls), so that a slow drift of the
    machine hits both sides alike. Every block starts with a 20 ms pause and ``warmup``
    untimed calls: right after one library has run, its idle worker threads still spin
    for a while (PyTorch's OpenMP threads do) and would take a core from the other
    library's first calls if the samples alternated one by one. A side that raises is
    dropped from the rest of the run and gets its exception as its result.
    """
    out = {}
    live = {}
    for name, fn in sides.items():
        if isinstance(fn, BaseException):
            out[name] = fn
        else:
            live[name] = fn
    names = list(live)
    order = names + names[::-1]
    per_block = max(1, repeats // 2)
    samples = {name: [] for name in names}
    for name in order:
        fn = live.get(name)
        if fn is None:
            continue
        try:
            time.sleep(0.02)
            for _ in range(warmup):
                fn()
            for _ in range(per_block):
                t0 = time.perf_counter()
                for _ in range(number):
                    fn()
                samples[name].append((time.perf_counter() - t0) / number)
        except Exception as e:  # noqa: BLE001 - a failing side is a row, not a crash
            out[name] = e
            del live[name]
    for name in live:
        out[name] = statistics.median(samples[name])
    return out


def attempt(fn):
    """fn() or the exception it raised (so one side's setup may fail alone)."""
    try:
        return fn()
    except Exception as e:  # noqa: BLE001
        return e


def err_text(e: BaseException) -> str:
    msg = f"{type(e).__name__}: {e}".replace("\n", " ").replace("|", "/")
    return msg if len(msg) <= 110 else msg[:107] + "..."


# --------------------------------------------------------------------------- cases

def case_sgemm(ctx):
    import numpy as np
    torch = ctx["torch"]
    n = 1024
    rng = np.random.default_rng(0)
    a = rng.standard_normal((n, n), dtype=np.float32)
    b = rng.standard_normal((n, n), dtype=np.float32)
    ta, tb = torch.from_numpy(a), torch.from_numpy(b)

    def nnrs_side():
        mm = ctx["nnrs"].backend.get("cpu").matmul
        c = mm(a, b)
        ref = (ta @ tb).numpy()
        err = float(np.max(np.abs(np.asarray(c) - ref)))
        if not err < 1e-2:
            raise AssertionError(f"nnrs matmul differs from torch.mm by {err}")
        return lambda: mm(a, b)

    sides = {"nnrs": attempt(nnrs_side), "torch": lambda: torch.mm(ta, tb)}
    r = time_blocks(sides, warmup=3, repeats=5 if ctx["quick"] else 30, number=1)
    flops = 2.0 * n ** 3
    notes = []
    for side in ("nnrs", "torch"):
        if isinstance(r[side], float):
            notes.append(f"{side} {flops / r[side] / 1e9:.1f} GFLOP/s")
    return {"case": "sgemm 1024^3 (f32)", "nnrs": r["nnrs"], "torch": r["torch"], "goal": "throughput >= 0.9x",
            "goal_ratio": 1 / 0.9, "unit": "GFLOP/s", "work": flops, "notes": notes}


def _nnrs_mlp(nnrs, sizes, optimizer, dropout=None):
    layers = [nnrs.Input((sizes[0],))]
    for units in sizes[1:-1]:
        layers.append(nnrs.layers.Dense(units, activation="relu"))
        if dropout:
            layers.append(nnrs.layers.Dropout(dropout))
    layers.append(nnrs.layers.Dense(sizes[-1]))
    model = nnrs.Sequential(layers)
    model.compile(optimizer=optimizer, loss=nnrs.losses.SparseCategoricalCrossentropy(from_logits=True))
    return model


def _torch_mlp(torch, sizes, dropout=None):
    mods = []
    for i in range(len(sizes) - 2):
        mods += [torch.nn.Linear(sizes[i], sizes[i + 1]), torch.nn.ReLU()]
        if dropout:
            mods.append(torch.nn.Dropout(dropout))
    mods.append(torch.nn.Linear(sizes[-2], sizes[-1]))
    return torch.nn.Sequential(*mods)


def _train_step_case(ctx, label, sizes, batch, make_nnrs_opt, make_torch_opt, goal):
    import numpy as np
    torch, quick = ctx["torch"], ctx["quick"]
    rng = np.random.default_rng(1)
    x = rng.standard_normal((batch, sizes[0]), dtype=np.float32)
    y = rng.integers(0, sizes[-1], size=batch).astype(np.int64)

    def nnrs_side():
        nnrs = ctx["nnrs"]
        nnrs_seed(nnrs, 0)
        model = _nnrs_mlp(nnrs, sizes, make_nnrs_opt(nnrs))
        return lambda: model.train_on_batch(x, y)

    def torch_side():
        torch.manual_seed(0)
        net = _torch_mlp(torch, sizes)
        net.train()
        opt = make_torch_opt(torch, net.parameters())
        loss_fn = torch.nn.CrossEntropyLoss()
        tx, ty = torch.from_numpy(x), torch.from_numpy(y)

        def step():
            opt.zero_grad()
            loss = loss_fn(net(tx), ty)
            loss.backward()
            opt.step()
            return loss.item()
        return step

    sides = {"nnrs": attempt(nnrs_side), "torch": attempt(torch_side)}
    small = sizes[1] < 100
    number = 20 if small else 5
    r = time_blocks(sides, warmup=20, repeats=10 if quick else 100, number=number)
    return {"case": label, "nnrs": r["nnrs"], "torch": r["torch"], "goal": f"<= {goal}x", "goal_ratio": goal,
            "unit": "samples/s", "work": float(batch), "notes": []}


def case_mlp(ctx):
    return _train_step_case(
        ctx, "MLP 784-512-256-10 b128 SGD-m step", (784, 512, 256, 10), 128,
        lambda nnrs: nnrs.optimizers.SGD(0.01, momentum=0.9),
        lambda torch, params: torch.optim.SGD(params, lr=0.01, momentum=0.9), 1.0)


def case_tiny(ctx):
    return _train_step_case(
        ctx, "tiny MLP 20-32-32-2 b32 Adam step", (20, 32, 32, 2), 32,
        lambda nnrs: nnrs.optimizers.Adam(),
        lambda torch, params: torch.optim.Adam(params), 0.5)


def case_infer1(ctx):
    import numpy as np
    torch, quick = ctx["torch"], ctx["quick"]
    sizes = (20, 32, 32, 2)
    x = np.random.default_rng(2).standard_normal((1, sizes[0]), dtype=np.float32)

    def nnrs_side():
        nnrs = ctx["nnrs"]
        nnrs_seed(nnrs, 0)
        model = _nnrs_mlp(nnrs, sizes, nnrs.optimizers.Adam())
        out = np.asarray(model.predict_on_batch(x))
        if out.shape != (1, 2):
            raise AssertionError(f"predict_on_batch gave shape {out.shape}, expected (1, 2)")
        return lambda: model.predict_on_batch(x)

    def torch_side():
        torch.manual_seed(0)
        net = _torch_mlp(torch, sizes).eval()
        tx = torch.from_numpy(x)

        def infer():
            with torch.inference_mode():
                return net(tx)
        return infer

    sides = {"nnrs": attempt(nnrs_side), "torch": attempt(torch_side)}
    r = time_blocks(sides, warmup=200, repeats=10 if quick else 100, number=100)
    return {"case": "tiny MLP batch-1 inference", "nnrs": r["nnrs"], "torch": r["torch"], "goal": "<= 0.5x",
            "goal_ratio": 0.5, "unit": "calls/s", "work": 1.0, "notes": []}


def load_mnist(folder: Path):
    """The t10k IDX gz files as (images float32 (N, 784) in [0, 1], labels int64 (N,))."""
    import numpy as np

    def idx(name):
        with gzip.open(folder / name, "rb") as f:
            data = f.read()
        ndim = data[3]
        shape = tuple(int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
        return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(shape)

    images = idx("t10k-images-idx3-ubyte.gz").reshape(-1, 784).astype(np.float32) / 255.0
    labels = idx("t10k-labels-idx1-ubyte.gz").astype(np.int64)
    return images, labels


FIT_SIZES, FIT_BATCH, FIT_TRAIN = (784, 256, 128, 10), 64, 8000


def fit_nnrs(nnrs, x, y, epochs):
    """The fit case's nnrs side: a fresh seeded model, ``model.fit``; (model, seconds of fit)."""
    nnrs_seed(nnrs, 0)
    model = _nnrs_mlp(nnrs, FIT_SIZES, nnrs.optimizers.Adam(1e-3), dropout=0.2)
    t0 = time.perf_counter()
    model.fit(x, y, batch_size=FIT_BATCH, epochs=epochs, shuffle=True, verbose=0)
    return model, time.perf_counter() - t0


def fit_torch(torch, x, y, epochs):
    """The fit case's PyTorch side: a plain loop over a shuffled permutation; (net, seconds)."""
    torch.manual_seed(0)
    net = _torch_mlp(torch, FIT_SIZES, dropout=0.2)
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    loss_fn = torch.nn.CrossEntropyLoss()
    tx, ty = torch.from_numpy(x), torch.from_numpy(y)
    n = len(x)
    t0 = time.perf_counter()
    net.train()
    for _ in range(epochs):
        perm = torch.randperm(n)
        for i in range(0, n, FIT_BATCH):
            idx = perm[i:i + FIT_BATCH]
            opt.zero_grad()
            loss = loss_fn(net(tx[idx]), ty[idx])
            loss.backward()
            opt.step()
    return net, time.perf_counter() - t0


def case_fit(ctx):
    import numpy as np
    torch, quick = ctx["torch"], ctx["quick"]
    epochs, n_train = (2 if quick else 10), FIT_TRAIN
    images, labels = load_mnist(ctx["mnist"])
    x_tr, y_tr = images[:n_train], labels[:n_train]
    x_te, y_te = images[-2000:], labels[-2000:]
    acc = {}

    def nnrs_run():
        model, dt = fit_nnrs(ctx["nnrs"], x_tr, y_tr, epochs)
        pred = np.asarray(model.predict_on_batch(x_te))
        acc["nnrs"] = float(np.mean(pred.argmax(axis=1) == y_te))
        return dt

    def torch_run():
        net, dt = fit_torch(torch, x_tr, y_tr, epochs)
        net.eval()
        with torch.inference_mode():
            pred = net(torch.from_numpy(x_te)).argmax(dim=1).numpy()
        acc["torch"] = float(np.mean(pred == y_te))
        return dt

    # Whole runs alternate; each run times only the training (fit / the loop), on a fresh model.
    runs = {"nnrs": nnrs_run, "torch": torch_run}
    times = {k: [] for k in runs}
    out = {}
    for _ in range(1 if quick else 3):
        for name, fn in runs.items():
            if name in out:
                continue
            try:
                times[name].append(fn())
            except Exception as e:  # noqa: BLE001
                out[name] = e
    for name in runs:
        out.setdefault(name, statistics.median(times[name]) if times[name] else RuntimeError("no run"))
    notes = ["test acc (last 2,000): " + ", ".join(f"{k} {v:.4f}" for k, v in acc.items())] if acc else []
    return {"case": f"MNIST MLP fit, {epochs} epochs b64 Adam", "nnrs": out["nnrs"], "torch": out["torch"],
            "goal": "<= 1.2x", "goal_ratio": 1.2, "unit": "samples/s", "work": float(epochs * n_train), "notes": notes}


CASE_FUNCS = {"sgemm": case_sgemm, "mlp": case_mlp, "tiny": case_tiny, "infer1": case_infer1, "fit": case_fit}


# --------------------------------------------------------------------------- report

# ---- convolution cases (conv family) ----------------------------------------------------------

def conv_data(cin, cout, batch=64, size=32):
    """Inputs of the conv benchmark (channels-last, float32): x, kernel (3, 3, cin, cout), bias, gy."""
    import numpy as np
    rng = np.random.default_rng(3)
    return (rng.standard_normal((batch, size, size, cin), dtype=np.float32),
            (rng.standard_normal((3, 3, cin, cout), dtype=np.float32) * 0.1).astype(np.float32),
            rng.standard_normal(cout, dtype=np.float32),
            rng.standard_normal((batch, size, size, cout), dtype=np.float32))


CONV_GEO = ((1, 1), (1, 1, 1, 1), (1, 1), 1)  # strides, padding (3x3 "same"), dilation, groups


def conv_step_nnrs(nnrs, data, need_gx):
    """One forward + backward of the conv benchmark in nnrs (channels-last, its layout)."""
    x, w, b, gy = data
    tx = nnrs.Tensor(x, requires_grad=need_gx)
    tw, tb = nnrs.Variable(w), nnrs.Variable(b)

    def step():
        tw.grad = tb.grad = tx.grad = None
        nnrs.functions.Conv2D.apply(tx, tw, tb, *CONV_GEO).backward(gy)
        return tw.grad
    return step


def conv_step_torch(torch, data, need_gx):
    """The same in PyTorch, NCHW (its native layout)."""
    x, w, b, gy = data
    tx = torch.from_numpy(x).permute(0, 3, 1, 2).contiguous().requires_grad_(need_gx)
    tw = torch.from_numpy(w).permute(3, 2, 0, 1).contiguous().requires_grad_(True)
    tb = torch.from_numpy(b).requires_grad_(True)
    tg = torch.from_numpy(gy).permute(0, 3, 1, 2).contiguous()

    def step():
        tw.grad = tb.grad = tx.grad = None
        torch.nn.functional.conv2d(tx, tw, tb, padding=1).backward(tg)
        return tw.grad
    return step


def conv_setup(ctx, cin, cout, need_gx):
    """The conv benchmark's two sides: forward + backward of a 3x3 "same" convolution with
    bias, float32, batch 64 of 32x32 images, ``cin`` -> ``cout`` channels. Both take the
    gradient wrt the weights and bias, and wrt the input when ``need_gx`` (a layer inside a
    network; the first layer of a network does not need it)."""
    import numpy as np
    torch = ctx["torch"]
    data = conv_data(cin, cout)

    def nnrs_side():
        nnrs = ctx["nnrs"]
        x, w, b, _ = data
        ref = torch.nn.functional.conv2d(torch.from_numpy(x).permute(0, 3, 1, 2), torch.from_numpy(w).permute(3, 2, 0, 1),
                                         torch.from_numpy(b), padding=1).permute(0, 2, 3, 1).numpy()
        got = np.asarray(nnrs.functions.Conv2D.apply(nnrs.Tensor(x), nnrs.Tensor(w), nnrs.Tensor(b), *CONV_GEO).data)
        err = float(np.max(np.abs(got - ref)))
        if not err < 1e-3:
            raise AssertionError(f"nnrs conv differs from torch's by {err}")
        return conv_step_nnrs(nnrs, data, need_gx)

    return {"nnrs": attempt(nnrs_side), "torch": attempt(lambda: conv_step_torch(torch, data, need_gx))}


def _conv_case(ctx, cin, cout, need_gx, goal):
    r = time_blocks(conv_setup(ctx, cin, cout, need_gx), warmup=2, repeats=4 if ctx["quick"] else 20, number=1)
    what = "with" if need_gx else "without"
    return {"case": f"conv2d 3x3 same b64 32x32 {cin}->{cout} fwd+bwd ({what} gx)", "nnrs": r["nnrs"], "torch": r["torch"],
            "goal": f"<= {goal}x", "goal_ratio": goal, "unit": "images/s", "work": 64.0, "notes": []}


def case_conv(ctx):
    return _conv_case(ctx, 32, 64, True, 1.15)


def case_conv3(ctx):
    return _conv_case(ctx, 3, 32, False, 1.0)


CASE_FUNCS.update(conv=case_conv, conv3=case_conv3)


# ---- LeNet training step ------------------------------------------------------------------


def case_lenet(ctx):
    """One training step (forward, loss, backward, Adam) of the LeNet-5 style MNIST network
    of nnrs.applications.LeNet5 and the same network in PyTorch (NCHW), batch 64, float32.
    Dropout is active on both sides."""
    import numpy as np
    torch, quick = ctx["torch"], ctx["quick"]
    rng = np.random.default_rng(4)
    x = rng.random((64, 28, 28, 1), dtype=np.float32)
    y = rng.integers(0, 10, size=64).astype(np.int64)

    def nnrs_side():
        nnrs = ctx["nnrs"]
        nnrs_seed(nnrs, 0)
        model = nnrs.applications.LeNet5((28, 28, 1), 10)
        model.compile(optimizer=nnrs.optimizers.Adam(1e-3), loss=nnrs.losses.SparseCategoricalCrossentropy())
        return lambda: model.train_on_batch(x, y)

    def torch_side():
        torch.manual_seed(0)
        nn = torch.nn
        net = nn.Sequential(nn.Conv2d(1, 16, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(16, 32, 5, padding=2),
                            nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(32 * 7 * 7, 128), nn.ReLU(), nn.Dropout(0.5),
                            nn.Linear(128, 10))
        net.train()
        opt = torch.optim.Adam(net.parameters(), 1e-3)
        loss_fn = nn.CrossEntropyLoss()
        tx, ty = torch.from_numpy(x).permute(0, 3, 1, 2).contiguous(), torch.from_numpy(y)

        def step():
            opt.zero_grad()
            loss = loss_fn(net(tx), ty)
            loss.backward()
            opt.step()
            return loss.item()
        return step

    r = time_blocks({"nnrs": attempt(nnrs_side), "torch": attempt(torch_side)}, warmup=3, repeats=4 if quick else 30, number=1)
    return {"case": "LeNet-5 MNIST train step b64 Adam", "nnrs": r["nnrs"], "torch": r["torch"], "goal": "<= 1.0x",
            "goal_ratio": 1.0, "unit": "images/s", "work": 64.0, "notes": []}


CASE_FUNCS.update(lenet=case_lenet)


# ---- recurrent cases (rnn family) -----------------------------------------------------------

def rnn_data(batch, steps, features, units):
    """Inputs of the recurrent benchmarks (float32): the sequence x and the gradient of the
    sequence output (each side makes its own weights)."""
    import numpy as np
    rng = np.random.default_rng(5)
    return (rng.standard_normal((batch, steps, features), dtype=np.float32),
            rng.standard_normal((batch, steps, units), dtype=np.float32))


def rnn_sides(ctx, kind, batch, steps, features, units, train):
    """nnrs: the Keras layer (``layers.LSTM`` / ``GRU`` / ``SimpleRNN``, return_sequences,
    called on a Tensor: one fused ``rnn_sequence`` op), backward of the sequence wrt x and
    the weights when ``train``; PyTorch: ``nn.LSTM`` / ``nn.GRU`` / ``nn.RNN`` (batch_first,
    tanh), the same gradients (each side has its own weights: equal weights do not matter
    for timing). Inference runs under ``nnrs.no_grad()`` / ``torch.inference_mode()``."""
    torch = ctx["torch"]
    x, gy = rnn_data(batch, steps, features, units)

    def nnrs_side():
        nnrs = ctx["nnrs"]
        nnrs_seed(nnrs, 0)
        cls = {"lstm": nnrs.layers.LSTM, "gru": nnrs.layers.GRU, "simple_rnn": nnrs.layers.SimpleRNN}[kind]
        layer = cls(units, return_sequences=True)
        tx = nnrs.Tensor(x, requires_grad=train)
        layer(tx)  # builds the weights
        if not train:
            def infer():
                with nnrs.no_grad():
                    return layer(tx)
            return infer

        def step():
            tx.grad = None
            for w in layer.trainable_weights:
                w.grad = None
            layer(tx).backward(gy)
            return tx.grad
        return step

    def torch_side():
        torch.manual_seed(0)
        cls = {"lstm": torch.nn.LSTM, "gru": torch.nn.GRU, "simple_rnn": torch.nn.RNN}[kind]
        net = cls(features, units, batch_first=True)
        tx = torch.from_numpy(x).requires_grad_(train)
        tg = torch.from_numpy(gy)
        if not train:
            def infer():
                with torch.inference_mode():
                    return net(tx)[0]
            return infer

        def step():
            net.zero_grad(set_to_none=True)
            tx.grad = None
            net(tx)[0].backward(tg)
            return tx.grad
        return step

    return {"nnrs": attempt(nnrs_side), "torch": attempt(torch_side)}


def _rnn_case(ctx, kind, label, goal, batch=64, steps=50, features=64, units=128, train=True):
    quick = ctx["quick"]
    r = time_blocks(rnn_sides(ctx, kind, batch, steps, features, units, train), warmup=2 if train else 20,
                    repeats=4 if quick else (20 if train else 100), number=1 if train else 10)
    what = "fwd+bwd" if train else "inference"
    return {"case": f"{label} b{batch} T{steps} in{features} h{units} {what}", "nnrs": r["nnrs"], "torch": r["torch"],
            "goal": f"<= {goal}x", "goal_ratio": goal, "unit": "sequences/s", "work": float(batch), "notes": []}


def case_lstm(ctx):
    return _rnn_case(ctx, "lstm", "LSTM", 1.0)


def case_gru(ctx):
    return _rnn_case(ctx, "gru", "GRU", 0.7)


def case_rnn(ctx):
    return _rnn_case(ctx, "simple_rnn", "SimpleRNN tanh", 1.0)


def case_lstm_infer1(ctx):
    return _rnn_case(ctx, "lstm", "LSTM", 0.5, batch=1, steps=20, features=64, units=64, train=False)


CASE_FUNCS.update(lstm=case_lstm, gru=case_gru, rnn=case_rnn, lstm_infer1=case_lstm_infer1)


# ---- character LSTM training step --------------------------------------------------------


def case_charlstm(ctx):
    """One training step of the character LSTM of nnrs.examples.char_lstm (embedding 64,
    LSTM 256 over all steps, dense over 65 characters; batch 32, sequence 100, Adam 2e-3
    with clipnorm 5, cross-entropy over every step) and the same network in PyTorch."""
    import numpy as np
    torch, quick = ctx["torch"], ctx["quick"]
    vocab, batch, seq = 65, 32, 100
    rng = np.random.default_rng(6)
    x = rng.integers(0, vocab, size=(batch, seq)).astype(np.int32)
    y = rng.integers(0, vocab, size=(batch, seq)).astype(np.int64)

    def nnrs_side():
        nnrs = ctx["nnrs"]
        nnrs_seed(nnrs, 0)
        model = nnrs.Sequential([nnrs.Input((seq,), dtype="int32"), nnrs.layers.Embedding(vocab, 64),
                                 nnrs.layers.LSTM(256, return_sequences=True), nnrs.layers.Dense(vocab)])
        model.compile(optimizer=nnrs.optimizers.Adam(2e-3, clipnorm=5.0),
                      loss=nnrs.losses.SparseCategoricalCrossentropy(from_logits=True))
        return lambda: model.train_on_batch(x, y)

    def torch_side():
        torch.manual_seed(0)
        nn = torch.nn

        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.emb, self.lstm, self.out = nn.Embedding(vocab, 64), nn.LSTM(64, 256, batch_first=True), nn.Linear(256, vocab)

            def forward(self, t):
                return self.out(self.lstm(self.emb(t))[0])

        net = Net()
        opt = torch.optim.Adam(net.parameters(), 2e-3)
        loss_fn = nn.CrossEntropyLoss()
        tx, ty = torch.from_numpy(x.astype(np.int64)), torch.from_numpy(y)

        def step():
            opt.zero_grad()
            loss = loss_fn(net(tx).reshape(-1, vocab), ty.reshape(-1))
            loss.backward()
            nn.utils.clip_grad_norm_(net.parameters(), 5.0)
            opt.step()
            return loss.item()
        return step

    r = time_blocks({"nnrs": attempt(nnrs_side), "torch": attempt(torch_side)}, warmup=2, repeats=3 if quick else 15, number=1)
    return {"case": "char-LSTM train step b32 T100 h256 Adam", "nnrs": r["nnrs"], "torch": r["torch"], "goal": "<= 1.0x",
            "goal_ratio": 1.0, "unit": "sequences/s", "work": float(batch), "notes": []}


CASE_FUNCS.update(charlstm=case_charlstm)


def fmt_time(t) -> str:
    if isinstance(t, BaseException):
        return "error"
    if t >= 1.0:
        return f"{t:.3f} s"
    if t >= 1e-3:
        return f"{t * 1e3:.3f} ms"
    return f"{t * 1e6:.1f} us"


def fmt_rate(r: float, unit: str) -> str:
    if unit == "GFLOP/s":
        return f"{r / 1e9:.1f} GFLOP/s"
    return f"{r:,.0f} {unit}"


def row_cells(r: dict) -> list:
    n, t = r["nnrs"], r["torch"]
    notes = list(r["notes"])
    if isinstance(n, float) and isinstance(t, float):
        ratio = n / t
        ratio_s = f"{ratio:.2f}x"
        tput = f"{t / n:.2f}x"
        met = "yes" if ratio <= r["goal_ratio"] + 1e-12 else "no"
    else:
        ratio_s, tput, met = "-", "-", "-"
    for side, v in (("nnrs", n), ("torch", t)):
        if isinstance(v, BaseException):
            notes.insert(0, f"{side} failed: {err_text(v)}")
        elif r["unit"] != "GFLOP/s" and isinstance(v, float):
            notes.append(f"{side} {fmt_rate(r['work'] / v, r['unit'])}")
    return [r["case"], fmt_time(n), fmt_time(t), ratio_s, tput, r["goal"], met, "; ".join(notes)]


HEADER = ["case", "nnrs (median)", "PyTorch (median)", "time ratio nnrs/torch", "throughput ratio nnrs/torch",
          "goal (time ratio unless said)", "met", "notes"]


def markdown_table(rows: list) -> str:
    lines = ["| " + " | ".join(HEADER) + " |", "|" + "---|" * len(HEADER)]
    lines += ["| " + " | ".join(c) + " |" for c in rows]
    return "\n".join(lines)


def text_table(rows: list) -> str:
    table = [HEADER[:7]] + [c[:7] for c in rows]
    widths = [max(len(r[i]) for r in table) for i in range(7)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths)) for r in table]
    lines.insert(1, "  ".join("-" * w for w in widths))
    for c in rows:
        if c[7]:
            lines.append(f"  {c[0]}: {c[7]}")
    return "\n".join(lines)


def write_readme(block: str) -> None:
    text = README.read_text() if README.exists() else "# Benchmarks\n"
    section = f"{START}\n{block}\n{END}"
    if START in text and END in text:
        head, rest = text.split(START, 1)
        tail = rest.split(END, 1)[1]
        text = head + section + tail
    else:
        text = text.rstrip("\n") + "\n\n## Results\n\n" + section + "\n"
    README.write_text(text)


def main(argv=None) -> int:
    args = parse_args(argv)
    set_thread_env(args.threads)
    import numpy as np  # noqa: E402 - after the thread variables are set
    import torch

    torch.set_num_threads(args.threads)
    ctx = {"torch": torch, "quick": args.quick, "mnist": args.mnist, "nnrs": None}
    try:
        import nnrs

        nnrs_set_threads(nnrs, args.threads)
        nnrs.set_backend("cpu")
        ctx["nnrs"] = nnrs
        nnrs_version = nnrs.__version__
        simd = nnrs._core.simd_level() if hasattr(nnrs._core, "simd_level") else "?"
    except Exception as e:  # noqa: BLE001 - every nnrs side then fails with this error
        nnrs_version, simd = f"not importable ({err_text(e)})", "?"
        ctx["nnrs"] = _Missing(e)

    if args.wait_idle > 0:
        print(f"waiting for idle CPUs (other processes {pct(wait_idle(args.wait_idle))} busy)", file=sys.stderr)
    info = machine_info(args.threads)
    watch = CpuWatch()
    when = datetime.datetime.now().strftime("%Y-%m-%d %H:%M")
    mode = "quick (--quick)" if args.quick else "full"
    header = (f"{when}, {mode} run, commit {info['commit']}\n"
              f"machine: {info['cpu']}, {info['cores']} logical cores; {args.threads} threads for both; "
              f"load average at start {info['loadavg']}\n"
              f"nnrs {nnrs_version} (SIMD {simd}), torch {torch.__version__}, numpy {np.__version__}, "
              f"Python {info['python']}, float32")
    print(header, flush=True)

    rows = []
    for name in CASES:
        if args.only and name not in args.only:
            continue
        print(f"... {name}", file=sys.stderr, flush=True)
        case_watch = CpuWatch()
        try:
            r = CASE_FUNCS[name](ctx)
        except Exception as e:  # noqa: BLE001 - the whole case failed (e.g. data missing)
            traceback.print_exc(file=sys.stderr)
            r = {"case": name, "nnrs": e, "torch": e, "goal": "-", "goal_ratio": 0.0, "unit": "", "work": 0.0,
                 "notes": []}
        for side in ("nnrs", "torch"):
            if isinstance(r[side], BaseException):
                print(f"    {side} failed: {err_text(r[side])}", file=sys.stderr, flush=True)
        share = case_watch.other_share()
        if share is not None and share >= 0.05:
            r["notes"].append(f"other processes kept {pct(share)} of the CPUs busy meanwhile")
        rows.append(row_cells(r))

    share = watch.other_share()
    other = pct(share)
    print()
    print(text_table(rows))
    print(f"\nother processes kept {other} of the CPUs busy during the run")
    if args.write and share is not None and 100 * share > args.max_busy:
        print(f"not recorded: other processes kept {other} of the CPUs busy (> --max-busy {args.max_busy:g}%)",
              file=sys.stderr)
        return 3
    if args.write:
        block = (f"Run of {when} ({mode}), commit `{info['commit']}`.\n\n"
                 f"- machine: {info['cpu']}, {info['cores']} logical cores "
                 f"(load average at start {info['loadavg']}; other processes kept {other} of the CPUs busy during the run)\n"
                 f"- threads: {args.threads} for both (nnrs `set_num_threads`, `torch.set_num_threads`, "
                 f"OMP/MKL_NUM_THREADS), float32\n"
                 f"- versions: nnrs {nnrs_version} (SIMD {simd}), torch {torch.__version__}, "
                 f"numpy {np.__version__}, Python {info['python']}\n"
                 f"- command: `benches/.venv/bin/python benches/run.py {' '.join(argv if argv is not None else sys.argv[1:])}`\n\n"
                 + markdown_table(rows))
        write_readme(block)
        print(f"\nrecorded in {README}")
    return 0


class _Missing:
    """Stands for nnrs when it cannot be imported: any use raises the import error."""

    def __init__(self, err):
        self._err = err

    def __getattr__(self, name):
        raise RuntimeError(f"nnrs not importable: {err_text(self._err)}")


if __name__ == "__main__":
    sys.exit(main())
