"""The Python driver of scripts/gpu_check.sh (see README, "Checking parity and the GPU check").

    python scripts/gpu_check.py parity --out DIR [--backends cpu cuda] [--quick] [--only NAME ...]
    python scripts/gpu_check.py bench  --out DIR [--backend cuda] [--quick]

``parity`` runs ``nnrs.check_parity`` between two backends on every example model (random
data of the model's input shape, float32, 10 training steps from the same weights, relative
tolerance 1e-4; a model that diverges is checked again in float64, where the backends must
agree to ~1e-9, to tell float32 rounding growth from a wrong kernel) and writes
``parity.txt`` (the tables) and ``parity.json`` (one record per model: ``ok``, ``diverges``
with its float64 recheck, or ``unsupported`` with the kernel the backend lacks). Exit status
1 when a model diverges; a model the backend cannot run yet is reported, not failed.

``bench`` times one training step of LeNet-5 (batch 256) and of an LSTM (batch 256, T 100,
hidden 512) with nnrs on ``--backend`` and with PyTorch on the matching device where torch is
importable, and writes ``bench.txt`` and ``bench.json`` (medians in ms and the ratio
nnrs / PyTorch). ``--quick`` shrinks every size so the logic runs in seconds on a CPU (the
dry run CI exercises).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
import traceback

import numpy as np

# ---- the example models ----------------------------------------------------------------------

def _models(quick):
    """{name: (build() -> compiled model, x, y)} for every example model; small inputs."""
    import nnrs
    from nnrs import applications
    from nnrs.examples import adding_problem, char_lstm, mnist_mlp, sentiment_bilstm, sentiment_textcnn

    n = 8 if quick else 32
    rng = np.random.default_rng(0)
    T = 12 if quick else 40
    units = 16 if quick else 64

    def classes(k, shape=()):
        return rng.integers(0, k, size=(n,) + shape).astype(np.int64)

    def img():
        return rng.random((n, 28, 28, 1), dtype=np.float32)

    def compiled(build, loss):
        def make(dtype="float32"):
            prev = nnrs.config.floatx()
            nnrs.config.set_floatx(dtype)
            try:
                nnrs.random.seed(0)
                m = build()
                m.compile(optimizer=nnrs.optimizers.Adam(1e-3), loss=loss)
            finally:
                nnrs.config.set_floatx(prev)
            return m
        return make

    sce = "sparse_categorical_crossentropy"
    ids = rng.integers(1, 100, size=(n, T)).astype(np.int32)
    vocab = 30
    out = {
        "mlp": (compiled(lambda: mnist_mlp.build(0), sce), rng.random((n, 784), dtype=np.float32), classes(10)),
        "lenet": (compiled(lambda: applications.LeNet5((28, 28, 1), 10), sce), img(), classes(10)),
        "resnet": (compiled(lambda: applications.ResNet(8, input_shape=(28, 28, 1), classes=10), sce), img(), classes(10)),
        "lstm": (compiled(lambda: adding_problem.build("LSTM", T, units), "mse"),
                 rng.random((n, T, 2), dtype=np.float32), rng.random((n, 1), dtype=np.float32)),
        "gru": (compiled(lambda: adding_problem.build("GRU", T, units), "mse"),
                rng.random((n, T, 2), dtype=np.float32), rng.random((n, 1), dtype=np.float32)),
        "simple_rnn": (compiled(lambda: adding_problem.build("SimpleRNN", T, units), "mse"),
                       rng.random((n, T, 2), dtype=np.float32), rng.random((n, 1), dtype=np.float32)),
        "char_lstm": (compiled(lambda: char_lstm.build(vocab, embed=16, units=units),
                               nnrs.losses.SparseCategoricalCrossentropy(from_logits=True)),
                      rng.integers(0, vocab, size=(n, T)).astype(np.int32), classes(vocab, (T,))),
        "sentiment_bilstm": (compiled(lambda: sentiment_bilstm.build_model(100, T, embed_dim=16, units=units), "binary_crossentropy"),
                             ids, rng.integers(0, 2, size=(n, 1)).astype(np.float32)),
        "sentiment_textcnn": (compiled(lambda: sentiment_textcnn.build_model(100, T, embed_dim=16, filters=units),
                                       "binary_crossentropy"), ids, rng.integers(0, 2, size=(n, 1)).astype(np.float32)),
    }
    return out


def missing_kernel(exc):
    """The kernel named by a backend's NotImplementedError ('<kernel>: the cuda backend has no kernel ...')."""
    root = exc
    while root.__cause__ is not None:
        root = root.__cause__
    m = re.match(r"\s*([A-Za-z_][A-Za-z0-9_]*)\s*:", str(root))
    return m.group(1) if m else str(root)


def parity(args):
    import nnrs

    os.makedirs(args.out, exist_ok=True)
    records = {}
    lines = []
    for name, (make, x, y) in _models(args.quick).items():
        if args.only and name not in args.only:
            continue
        t0 = time.perf_counter()
        try:
            r = nnrs.check_parity(make(), x, y, backends=tuple(args.backends), steps=args.steps, rtol=1e-4, atol=1e-6)
        except NotImplementedError as e:
            k = missing_kernel(e)
            records[name] = {"status": "unsupported", "missing_kernel": k, "error": str(e)}
            lines.append(f"== {name}: {args.backends[1]} cannot run it yet: missing kernel {k}\n   {e}")
            continue
        except Exception as e:  # a crash is a finding too: log it and go on with the other models
            records[name] = {"status": "error", "error": f"{type(e).__name__}: {e}"}
            lines.append(f"== {name}: ERROR {type(e).__name__}: {e}\n{traceback.format_exc()}")
            continue
        first = r.first_divergence
        records[name] = {
            "status": "ok" if r.ok else "diverges",
            "max_rel_output": r.max_rel("output"), "max_rel_grad": r.max_rel("grad"), "max_rel": r.max_rel(),
            "first_divergence": None if first is None else {"layer": first.layer, "what": first.what, "max_rel": first.max_rel},
            "seconds": round(time.perf_counter() - t0, 2),
        }
        if not r.ok:
            # float32 rounding differences can grow over training steps (through batch norm of a
            # channel with a tiny variance, a ReLU input near zero, Adam's ~sign(gradient) first
            # steps) until they exceed 1e-4. The same check in float64 tells that growth apart from
            # a kernel that computes something else: there the backends agree to ~1e-12 or not at all.
            x64 = x.astype(np.float64) if x.dtype == np.float32 else x
            y64 = y.astype(np.float64) if y.dtype == np.float32 else y
            s = nnrs.check_parity(make("float64"), x64, y64, backends=tuple(args.backends), steps=args.steps)
            records[name]["float64"] = {"ok": s.ok, "max_rel": s.max_rel()}
            lines.append(f"== {name} again in float64: {'within' if s.ok else 'BEYOND'} tolerance, max rel diff {s.max_rel():.2e}\n{s}")
        lines.append(f"== {name} ({records[name]['seconds']} s)\n{r}")
    summary = ["", f"summary ({args.backends[0]} vs {args.backends[1]}, {args.steps} steps, rtol 1e-4):"]
    for name, rec in records.items():
        extra = {"unsupported": f"missing kernel {rec.get('missing_kernel')}", "error": rec.get("error", "")}.get(
            rec["status"], f"max rel diff {rec.get('max_rel', 0):.2e}")
        if "float64" in rec:
            extra += f" (in float64: {'ok' if rec['float64']['ok'] else 'diverges'}, {rec['float64']['max_rel']:.2e})"
        summary.append(f"  {name:18s} {rec['status']:12s} {extra}")
    text = "\n\n".join(lines) + "\n" + "\n".join(summary) + "\n"
    print(text)
    with open(os.path.join(args.out, "parity.txt"), "w") as f:
        f.write(text)
    with open(os.path.join(args.out, "parity.json"), "w") as f:
        json.dump({"backends": list(args.backends), "steps": args.steps, "models": records}, f, indent=1)
    return 1 if any(r["status"] in ("diverges", "error") for r in records.values()) else 0


# ---- training step timings against PyTorch ---------------------------------------------------------

def _median_ms(step, warmup, reps, sync=lambda: None):
    for _ in range(warmup):
        step()
    sync()
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        step()
        sync()
        times.append(time.perf_counter() - t0)
    return 1e3 * float(np.median(times))


def _torch_step(kind, device, batch, T, hidden, feat, x, y):
    import torch
    from torch import nn

    torch.manual_seed(0)
    if kind == "lenet":
        net = nn.Sequential(nn.Conv2d(1, 16, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(16, 32, 5, padding=2), nn.ReLU(),
                            nn.MaxPool2d(2), nn.Flatten(), nn.Linear(32 * 7 * 7, 128), nn.ReLU(), nn.Dropout(0.5), nn.Linear(128, 10))
        xt = torch.tensor(np.ascontiguousarray(x.transpose(0, 3, 1, 2)), device=device)
    else:
        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.lstm = nn.LSTM(feat, hidden, batch_first=True)
                self.fc = nn.Linear(hidden, 10)

            def forward(self, v):
                return self.fc(self.lstm(v)[0][:, -1])

        net = Net()
        xt = torch.tensor(x, device=device)
    net = net.to(device)
    yt = torch.tensor(y, device=device)
    opt = torch.optim.Adam(net.parameters(), 1e-3)
    lossf = nn.CrossEntropyLoss()

    def step():
        opt.zero_grad(set_to_none=True)
        loss = lossf(net(xt), yt)
        loss.backward()
        opt.step()
        return loss.item()  # the same host read nnrs' train_on_batch makes

    sync = (lambda: torch.cuda.synchronize()) if device == "cuda" else (lambda: None)
    return step, sync


def bench(args):
    import nnrs
    from nnrs import applications, layers

    os.makedirs(args.out, exist_ok=True)
    q = args.quick
    batch, T, hidden, feat = (8, 10, 16, 8) if q else (256, 100, 512, 32)
    warmup, reps = (1, 2) if q else (3, 10)
    rng = np.random.default_rng(0)
    cases = {
        "lenet": (lambda: applications.LeNet5((28, 28, 1), 10), rng.random((batch, 28, 28, 1), dtype=np.float32),
                  f"LeNet-5, batch {batch}"),
        "lstm": (lambda: nnrs.Sequential([layers.Input((T, feat)), layers.LSTM(hidden), layers.Dense(10)]),
                 rng.random((batch, T, feat), dtype=np.float32), f"LSTM, batch {batch}, T {T}, hidden {hidden}"),
    }
    y = rng.integers(0, 10, size=batch).astype(np.int64)
    try:
        import torch

        tdev = ("cuda" if torch.cuda.is_available() else None) if args.backend == "cuda" else "cpu"
        torch_note = None if tdev else "torch has no CUDA device here"
    except ImportError:
        tdev, torch_note = None, "torch is not importable here"
    records = {}
    for name, (build, x, label) in cases.items():
        rec = {"case": label, "backend": args.backend}
        nnrs.random.seed(0)
        m = build()
        m.compile(optimizer=nnrs.optimizers.Adam(1e-3), loss=nnrs.losses.SparseCategoricalCrossentropy(from_logits=name == "lstm"))
        try:
            m.to(args.backend)
            rec["nnrs_ms"] = _median_ms(lambda m=m, x=x: m.train_on_batch(x, y), warmup, reps)  # float(loss): a host sync per step
        except NotImplementedError as e:
            rec["nnrs_unsupported"] = missing_kernel(e)
            rec["nnrs_error"] = str(e)
        if tdev:
            step, sync = _torch_step(name, tdev, batch, T, hidden, feat, x, y)
            rec["torch_ms"] = _median_ms(step, warmup, reps, sync)
            rec["torch_device"] = tdev
        else:
            rec["torch_note"] = torch_note
        if "nnrs_ms" in rec and "torch_ms" in rec:
            rec["ratio"] = rec["nnrs_ms"] / rec["torch_ms"]
        records[name] = rec
    lines = [f"training step, float32, nnrs on {args.backend!r} against PyTorch on {tdev or '-'} (median of {reps})"]
    for r in records.values():
        nn_ = f"{r['nnrs_ms']:.2f} ms" if "nnrs_ms" in r else f"cannot run: missing kernel {r.get('nnrs_unsupported')}"
        tt = f"{r['torch_ms']:.2f} ms" if "torch_ms" in r else r.get("torch_note", "-")
        ratio = f"{r['ratio']:.2f}x" if "ratio" in r else "-"
        lines.append(f"  {r['case']:40s} nnrs {nn_:28s} torch {tt:28s} ratio {ratio}")
    try:
        dev = _device_name(args.backend)
    except Exception as e:  # the name is a nicety; the timings stand without it
        dev = f"unknown ({type(e).__name__})"
    lines.append(f"device: {dev}")
    text = "\n".join(lines) + "\n"
    print(text)
    with open(os.path.join(args.out, "bench.txt"), "w") as f:
        f.write(text)
    with open(os.path.join(args.out, "bench.json"), "w") as f:
        json.dump({"device": dev, "cases": records}, f, indent=1)
    return 0


def _device_name(backend):
    if backend != "cuda":
        import platform

        return platform.processor() or platform.machine()
    import cupy

    props = cupy.cuda.runtime.getDeviceProperties(cupy.cuda.Device().id)
    name = props["name"]
    return name.decode() if isinstance(name, bytes) else str(name)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("parity", help="check_parity on every example model")
    p.add_argument("--out", required=True)
    p.add_argument("--backends", nargs=2, default=["cpu", "cuda"])
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--only", nargs="*", default=None, help="model names to check (default: all)")
    p.add_argument("--quick", action="store_true", help="small sizes, for a dry run on a CPU")
    b = sub.add_parser("bench", help="time a training step against PyTorch")
    b.add_argument("--out", required=True)
    b.add_argument("--backend", default="cuda")
    b.add_argument("--quick", action="store_true", help="small sizes, for a dry run on a CPU")
    args = ap.parse_args(argv)
    return parity(args) if args.cmd == "parity" else bench(args)


if __name__ == "__main__":
    sys.exit(main())
