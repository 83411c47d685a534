"""Memory of a long training run: the step must not keep anything from earlier steps."""

import subprocess
import sys
import textwrap

SCRIPT = textwrap.dedent("""
    import resource, sys
    import numpy as np
    import nnrs

    (x, y), _ = nnrs.datasets.mnist.load_data(sys.argv[1])
    x = (x.reshape(-1, 784) / 255.0).astype(np.float32)
    nnrs.random.seed(0)
    m = nnrs.Sequential([nnrs.Input((784,)), nnrs.layers.Dense(256, activation="relu"), nnrs.layers.Dropout(0.2),
                         nnrs.layers.Dense(128, activation="relu"), nnrs.layers.Dropout(0.2), nnrs.layers.Dense(10)])
    m.compile(optimizer="adam", loss=nnrs.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])

    def steps(k, start):
        for i in range(start, start + k):
            lo = (i * 64) % (len(x) - 64)
            m.train_on_batch(x[lo:lo + 64], y[lo:lo + 64])

    def peak_mb():
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0

    steps(500, 0)  # warm-up: optimizer state, allocator pools
    before = peak_mb()
    steps(5000, 500)
    print(before, peak_mb())
""")


def test_5000_train_on_batch_steps_keep_peak_memory_flat(mnist_dir):
    out = subprocess.run([sys.executable, "-c", SCRIPT, str(mnist_dir)], capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr
    before, after = map(float, out.stdout.split())
    assert after - before < 20.0, f"peak RSS grew by {after - before:.1f} MB over 5000 steps (from {before:.1f} MB)"
