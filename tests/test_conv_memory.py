"""The convolution kernels' workspace is bounded: a conv whose whole patch matrix would take
~75 MB runs within a few MB more than its inputs and outputs (measured in a fresh process)."""

import subprocess
import sys
import textwrap

SCRIPT = textwrap.dedent("""
    import resource
    import numpy as np
    from nnrs import _core

    def peak_mb():
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0

    rng = np.random.default_rng(0)
    x = rng.standard_normal((8, 64, 64, 64), dtype=np.float32)   # 8 MB; patches 8*64*64 x 576 floats = 75 MB
    w = rng.standard_normal((3, 3, 64, 8), dtype=np.float32)
    gy = rng.standard_normal((8, 64, 64, 8), dtype=np.float32)
    gx = np.ones_like(x)                                         # as large as the input gradient
    y0 = np.ones_like(gy)
    geo = ((1, 1), (1, 1, 1, 1), (1, 1), 1)
    del gx, y0                                                    # their pages stay counted in the peak
    before = peak_mb()
    y = _core.conv2d_forward(x, w, None, *geo)
    gx = _core.conv2d_backward_input(gy, w, x.shape, *geo)
    gw, gb = _core.conv2d_backward_weight(x, gy, (3, 3), *geo)
    print(before, peak_mb())
""")


def test_conv_workspace_is_bounded():
    out = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    before, after = map(float, out.stdout.split())
    assert after - before < 30.0, f"peak RSS grew by {after - before:.1f} MB (from {before:.1f} MB)"
