"""Dynamic convolution (involution): the fused Rust kernels (forward + backward, no unfolded
tensor) against the explicit unfold-multiply-sum of the numpy oracle, float32, medians.

    .venv/bin/python benches/dynamic_compare.py [--threads 2] [--repeats 5]
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

SHAPES = [  # (label, N, H, W, C, G, K, stride)
    ("32x32x64 K3 G4 s1", 8, 32, 32, 64, 4, 3, 1),
    ("56x56x32 K7 G2 s1", 4, 56, 56, 32, 2, 7, 1),
    ("32x32x64 K3 G4 s2", 8, 32, 32, 64, 4, 3, 2),
]


def step(be, x, k, gy, geom):
    be.dynamic_conv2d_forward(x, k, *geom)
    be.dynamic_conv2d_backward(gy, x, k, *geom)


def median_time(f, repeats):
    f()  # warm up
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        f()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    import nnrs
    from nnrs import backend

    nnrs.set_num_threads(args.threads)
    cpu, ref = backend.get("cpu"), backend.get("numpy")
    rng = np.random.default_rng(0)
    print(f"float32, forward+backward, {args.threads} threads, median of {args.repeats}")
    for label, n, h, w, c, g, ks, s in SHAPES:
        pad = (ks - 1) // 2
        geom = ((ks, ks), (s, s), (pad, ks - 1 - pad, pad, ks - 1 - pad), (1, 1))
        oh, ow = (h - 1) // s + 1, (w - 1) // s + 1
        x = rng.standard_normal((n, h, w, c)).astype(np.float32)
        k = rng.standard_normal((n, oh, ow, ks * ks, g)).astype(np.float32)
        gy = rng.standard_normal((n, oh, ow, c)).astype(np.float32)
        t_rs = median_time(lambda: step(cpu, x, k, gy, geom), args.repeats)  # noqa: B023 - called in this iteration
        t_np = median_time(lambda: step(ref, x, k, gy, geom), args.repeats)  # noqa: B023
        print(f"{label:22s} fused rust {t_rs * 1e3:8.2f} ms   numpy unfold {t_np * 1e3:8.2f} ms   x{t_np / t_rs:5.1f}")


if __name__ == "__main__":
    main()
