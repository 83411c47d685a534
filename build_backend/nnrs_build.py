"""PEP 517 backend: maturin, asking for a manylinux_2_34 wheel (glibc >= 2.34: the oldest that the
Rust standard library built here links against).

maturin's own PEP 517 hooks build with ``--compatibility off`` (a ``linux_x86_64`` tag)
unless told otherwise; this makes ``pip wheel . -w dist`` give a portable manylinux
abi3 wheel (maturin checks the manylinux rules before it tags the wheel). An explicit
``MATURIN_PEP517_ARGS`` still wins.
"""

import os

os.environ.setdefault("MATURIN_PEP517_ARGS", "--compatibility manylinux_2_34")

from maturin import *  # noqa: E402,F401,F403
