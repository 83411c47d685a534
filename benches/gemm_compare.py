"""Matrix products only: nnrs (gemm crate) vs PyTorch vs numpy's OpenBLAS, 1 and 2 threads.

The evidence for the choice of GEMM path recorded in benches/README.md. Each thread count
runs in a fresh process (OpenBLAS and OpenMP read their thread counts once, at import),
with OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE removed from that process's environment so
that OpenBLAS picks its kernels for this CPU by itself. Shapes: 1024^3, and the products
of one training step of the benchmark MLP 784-512-256-10 at batch 128 (forward x @ w,
backward gy @ w^T and x^T @ gy). Timing as in run.py: blocks A B C C B A, medians.

    benches/.venv/bin/python benches/gemm_compare.py [--threads 1 2] [--wait-idle 120]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

from run import CpuWatch, machine_info, pct, set_thread_env, time_blocks, wait_idle

# (label, m, n, k, trans_a, trans_b): c (m, n) = op(a) @ op(b)
SHAPES = [
    ("1024^3", 1024, 1024, 1024, False, False),
    ("fwd 128x784 @ 784x512", 128, 512, 784, False, False),
    ("bwd gx 128x512 @ (784x512)^T", 128, 784, 512, False, True),
    ("bwd gw (128x784)^T @ 128x512", 784, 512, 128, True, False),
    ("fwd 128x512 @ 512x256", 128, 256, 512, False, False),
    ("fwd 128x256 @ 256x10", 128, 10, 256, False, False),
]


def child(threads: int, repeats: int) -> None:
    set_thread_env(threads)
    import nnrs
    import numpy as np
    import torch

    nnrs.set_num_threads(threads)
    torch.set_num_threads(threads)
    cpu = nnrs.backend.get("cpu")
    rng = np.random.default_rng(0)
    rows = []
    for label, m, n, k, ta, tb in SHAPES:
        a = rng.standard_normal((k, m) if ta else (m, k)).astype(np.float32)
        b = rng.standard_normal((n, k) if tb else (k, n)).astype(np.float32)
        ta_, tb_ = torch.from_numpy(a), torch.from_numpy(b)
        opa, opb = (ta_.t() if ta else ta_), (tb_.t() if tb else tb_)
        na, nb = (a.T if ta else a), (b.T if tb else b)
        work = m * n * k
        number = max(1, int(2e8 // max(work, 1)))  # about 5-10 ms per sample
        watch = CpuWatch()
        t = time_blocks({
            "nnrs": lambda a=a, b=b, ta=ta, tb=tb: cpu.matmul(a, b, ta, tb),
            "torch": lambda x=opa, y=opb: torch.mm(x, y),
            "numpy": lambda x=na, y=nb: x @ y,
        }, warmup=3, repeats=repeats, number=number)
        rows.append({"shape": label, "threads": threads, "gflops": {s: 2 * work / v / 1e9 for s, v in t.items()},
                     "ms": {s: v * 1e3 for s, v in t.items()}, "busy": watch.other_share()})
    print(json.dumps({"rows": rows, "simd": nnrs._core.simd_level() if hasattr(nnrs._core, "simd_level") else "?",
                      "numpy": np.__version__, "torch": torch.__version__}))


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    p.add_argument("--repeats", type=int, default=20, help="samples per side (in 2 blocks)")
    p.add_argument("--wait-idle", type=float, default=0.0, metavar="SECONDS", help="wait for quiet CPUs first")
    p.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        child(args.child, args.repeats)
        return 0
    info = machine_info(max(args.threads))
    print(f"machine: {info['cpu']}, {info['cores']} logical cores, load average {info['loadavg']}, commit {info['commit']}")
    env = {k: v for k, v in os.environ.items() if k not in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")}
    print("| product | threads | nnrs | PyTorch | numpy (OpenBLAS) | nnrs/torch throughput | numpy/torch throughput | others busy |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for threads in args.threads:
        if args.wait_idle:
            wait_idle(args.wait_idle)
        out = subprocess.run([sys.executable, __file__, "--child", str(threads), "--repeats", str(args.repeats)],
                             env=env, capture_output=True, text=True)
        if out.returncode != 0:
            print(out.stderr, file=sys.stderr)
            return 1
        res = json.loads(out.stdout.strip().splitlines()[-1])
        for r in res["rows"]:
            g, ms = r["gflops"], r["ms"]
            cells = [f"{ms[s]:.3f} ms ({g[s]:.0f} GFLOP/s)" for s in ("nnrs", "torch", "numpy")]
            print(f"| {r['shape']} | {threads} | " + " | ".join(cells)
                  + f" | {g['nnrs'] / g['torch']:.2f}x | {g['numpy'] / g['torch']:.2f}x | {pct(r['busy'])} |")
    print(f"versions: nnrs SIMD {res['simd']}, torch {res['torch']}, numpy {res['numpy']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
