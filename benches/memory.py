"""Peak resident memory (RSS) of the benchmark MLP's ``fit``, nnrs vs PyTorch.

Each library runs in a fresh process that imports only that library (and numpy), loads
the same 8,000 MNIST images as run.py's ``fit`` case, then records its baseline: the
resident set at that point. The peak is the kernel's high-water mark (VmHWM of
/proc/self/status) over the fit alone: it is reset just before ``fit`` by writing 5 to
/proc/self/clear_refs (where the kernel does not allow that, the peak since the process
started is reported, which is then marked). Reported: baseline, peak during fit, and
peak minus baseline (what the training itself added), in MiB.

    benches/.venv/bin/python benches/memory.py [--threads 2] [--epochs 10] [--runs 3]

``--case conv`` / ``--case conv3`` measure run.py's conv benchmarks instead (forward +
backward of a 3x3 "same" convolution, batch 64 of 32x32 images, 32->64 with the input
gradient / 3->32 without): the baseline is taken once the inputs exist, the peak over
``--steps`` steps.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
from pathlib import Path

from run import (
    DEFAULT_MNIST,
    FIT_TRAIN,
    conv_data,
    conv_step_nnrs,
    conv_step_torch,
    fit_nnrs,
    fit_torch,
    load_mnist,
    machine_info,
    set_thread_env,
)

# conv family: (cin, cout, input gradient) of run.py's conv cases
CONV_CASES = {"conv": (32, 64, True), "conv3": (3, 32, False)}


def _status_kib(field: str) -> int | None:
    try:
        with open("/proc/self/status") as f:
            for ln in f:
                if ln.startswith(field + ":"):
                    return int(ln.split()[1])
    except OSError:
        pass
    return None


def _reset_peak() -> bool:
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def child(lib: str, threads: int, epochs: int, mnist: Path, case: str = "fit", steps: int = 5) -> None:
    set_thread_env(threads)
    if lib == "nnrs":
        import nnrs as mod
    else:
        import torch as mod
    mod.set_num_threads(threads)
    if case in CONV_CASES:
        import time

        cin, cout, need_gx = CONV_CASES[case]
        data = conv_data(cin, cout)
        step = (conv_step_nnrs if lib == "nnrs" else conv_step_torch)(mod, data, need_gx)
        baseline = _status_kib("VmRSS")
        reset = _reset_peak()
        t0 = time.perf_counter()
        for _ in range(steps):
            step()
        seconds = time.perf_counter() - t0
        peak = _status_kib("VmHWM") if reset else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        print(json.dumps({"baseline_kib": baseline, "peak_kib": peak, "reset": reset, "seconds": seconds}))
        return
    images, labels = load_mnist(mnist)
    x, y = images[:FIT_TRAIN].copy(), labels[:FIT_TRAIN].copy()
    del images, labels
    baseline = _status_kib("VmRSS")
    reset = _reset_peak()
    _, seconds = (fit_nnrs if lib == "nnrs" else fit_torch)(mod, x, y, epochs)
    peak = _status_kib("VmHWM") if reset else None
    if peak is None:  # no /proc: the peak since the process started
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"baseline_kib": baseline, "peak_kib": peak, "reset": reset, "seconds": seconds}))


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--runs", type=int, default=3, help="fresh processes per library (medians reported)")
    p.add_argument("--mnist", type=Path, default=DEFAULT_MNIST)
    p.add_argument("--case", choices=["fit", *CONV_CASES], default="fit", help="what to measure (default: fit)")
    p.add_argument("--steps", type=int, default=5, help="steps of a conv case")
    p.add_argument("--child", choices=["nnrs", "torch"], help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        child(args.child, args.threads, args.epochs, args.mnist, args.case, args.steps)
        return 0
    info = machine_info(args.threads)
    what = (f"fit of 784-256-128-10 + Dropout, Adam, batch 64, {args.epochs} epochs, {FIT_TRAIN} images" if args.case == "fit"
            else f"{args.case}: conv2d 3x3 same b64 32x32 {CONV_CASES[args.case][0]}->{CONV_CASES[args.case][1]} fwd+bwd, "
                 f"{args.steps} steps")
    print(f"machine: {info['cpu']}, {info['cores']} logical cores, commit {info['commit']}; {what}, {args.threads} threads")
    results = {"nnrs": [], "torch": []}
    for _ in range(args.runs):
        for lib in results:
            cmd = [sys.executable, __file__, "--child", lib, "--threads", str(args.threads), "--epochs", str(args.epochs),
                   "--mnist", str(args.mnist), "--case", args.case, "--steps", str(args.steps)]
            out = subprocess.run(cmd, capture_output=True, text=True)
            if out.returncode != 0:
                print(out.stderr, file=sys.stderr)
                return 1
            results[lib].append(json.loads(out.stdout.strip().splitlines()[-1]))
    print(f"| library | baseline RSS (import + data) | peak RSS during {args.case} | peak - baseline | {args.case} time |")
    print("|---|---:|---:|---:|---:|")
    for lib, rs in results.items():
        med = {k: statistics.median(r[k] for r in rs) for k in ("baseline_kib", "peak_kib", "seconds")}
        mark = "" if all(r["reset"] for r in rs) else " (peak since start)"
        print(f"| {lib} | {med['baseline_kib'] / 1024:.1f} MiB | {med['peak_kib'] / 1024:.1f} MiB{mark} | "
              f"{(med['peak_kib'] - med['baseline_kib']) / 1024:.1f} MiB | {med['seconds']:.2f} s |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
