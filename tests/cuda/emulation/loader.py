"""Builds each ``cuda_kernels/*.cu`` with ``cuda_emulation.h`` into a shared library (g++) and
calls its kernels through ctypes with the launch configuration of ``nnrs.backend.cuda_launch``.

For every ``extern "C" __global__ void k(params)`` of a file a wrapper
``emu_k(unsigned grid, unsigned block, params)`` is generated that runs ``k`` over the grid;
the ctypes argument types come from the same parameter list, so the .cu file is the only
place a signature is written.
"""

from __future__ import annotations

import ctypes
import os
import shutil
import subprocess

import numpy as np
from nnrs.backend import cuda_launch

HERE = os.path.dirname(os.path.abspath(__file__))
_SCALARS = {
    "float": ctypes.c_float, "double": ctypes.c_double, "int": ctypes.c_int, "nn_index": ctypes.c_longlong,
    "long long": ctypes.c_longlong, "nn_u64": ctypes.c_ulonglong,
}
_POINTEES = {"float": np.float32, "double": np.float64, "long long": np.int64, "int": np.int32, "unsigned char": np.uint8,
             "bool": np.bool_}
GUARD = 64  # elements of poison written before and after every array passed to a kernel


def build(cu_path, out_dir, cxx="g++"):
    """Compiles ``cu_path`` + the emulation header + launch wrappers; returns the .so path."""
    with open(cu_path) as f:
        kernels = cuda_launch.parse_kernels(f.read())
    base = os.path.splitext(os.path.basename(cu_path))[0]
    wrap = ['#include "cuda_emulation.h"', f'#include "{os.path.abspath(cu_path)}"', ""]
    for name, args in kernels:
        params = ", ".join(f"{t} {a}" for t, a in args)
        names = ", ".join(a for _, a in args)
        wrap.append(f'extern "C" void emu_{name}(unsigned grid, unsigned block, {params}) {{ emu_launch({name}, grid, block, {names}); }}')
    cpp = os.path.join(out_dir, f"{base}_emu.cpp")
    so = os.path.join(out_dir, f"{base}_emu.so")
    with open(cpp, "w") as f:
        f.write("\n".join(wrap) + "\n")
    cmd = [cxx, "-std=c++17", "-O1", "-shared", "-fPIC", "-ffp-contract=off", "-Wall", "-Wextra", "-Werror",
           f"-I{HERE}", f"-I{cuda_launch.KERNEL_DIR}", cpp, "-o", so]
    return cmd, so, kernels


def compile_all(out_dir, cxx="g++"):
    """{file base name: EmulatedModule} for every .cu of cuda_launch.KERNEL_FILES (compiled in parallel)."""
    jobs = []
    for fname in cuda_launch.KERNEL_FILES:
        cmd, so, kernels = build(os.path.join(cuda_launch.KERNEL_DIR, fname), out_dir, cxx)
        jobs.append((fname, so, kernels, subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True), cmd))
    mods = {}
    for fname, so, kernels, proc, cmd in jobs:
        log = proc.communicate()[0]
        if proc.returncode != 0:
            raise RuntimeError(f"g++ emulation build of {fname} failed:\n{' '.join(cmd)}\n{log}")
        mods[fname] = EmulatedModule(so, kernels)
    return mods


def have_cxx(cxx="g++"):
    return shutil.which(cxx) is not None


class EmulatedModule:
    """The kernels of one .cu file; ``launch(kernel, items, *args)`` runs one on the CPU."""

    def __init__(self, so_path, kernels):
        self.lib = ctypes.CDLL(so_path)
        self.sig = {}
        for name, args in kernels:
            fn = getattr(self.lib, f"emu_{name}")
            fn.argtypes = [ctypes.c_uint, ctypes.c_uint] + [ctypes.c_void_p if t.endswith("*") else _SCALARS[t] for t, _ in args]
            fn.restype = None
            self.sig[name] = (fn, args)

    def launch(self, kernel, dtype, items, *args, max_grid=cuda_launch.MAX_GRID):
        """Runs ``kernel`` (no suffix) for ``dtype`` over ``items`` with cuda_launch's grid and
        block. Arrays must be ``Guarded``; None is a null pointer; the rest are scalars."""
        name = cuda_launch.kernel_name(kernel, dtype)
        fn, params = self.sig[name]
        if len(args) != len(params):
            raise TypeError(f"{name} takes {len(params)} arguments, got {len(args)}")
        grid, block = cuda_launch.launch_config(kernel, items, max_grid)
        cargs = []
        for (t, a), v in zip(params, cuda_launch.scalar_args(name, args)):
            if t.endswith("*"):
                if v is cuda_launch.NULL:  # scalar_args' null pointer (None given)
                    cargs.append(None)
                    continue
                want = np.dtype(_POINTEES[t.replace("const", "").rstrip("*").strip()])
                if not isinstance(v, Guarded) or v.inner.dtype != want:
                    raise TypeError(f"{name}: argument {a} must be a Guarded {want} array")
                cargs.append(v.ptr)
            else:
                cargs.append(v)
        fn(grid, block, *cargs)
        return grid, block


class Guarded:
    """A C-contiguous copy of an array with GUARD poison elements on each side, so that
    ``check()`` fails when a kernel wrote outside the array and an out-of-bounds read shows
    in the results: for floats the two elements next to the array are +inf (a running
    maximum that reads one element too far becomes inf) and the rest NaN (arithmetic that
    reads further becomes NaN); for integers a huge sentinel (an out-of-range label)."""

    def __init__(self, a, dtype=None):
        a = np.asarray(a, dtype=dtype)
        if a.dtype.kind == "f":
            guard = np.full(GUARD, np.nan, dtype=a.dtype)
            head, tail = guard.copy(), guard.copy()
            head[-2:] = np.inf
            tail[:2] = np.inf
        elif a.dtype.kind == "i":
            head = tail = np.full(GUARD, max(-(2 ** 62), np.iinfo(a.dtype).min), dtype=a.dtype)
        elif a.dtype.kind == "u":
            head = tail = np.full(GUARD, np.iinfo(a.dtype).max, dtype=a.dtype)
        else:
            head = tail = np.full(GUARD, True, dtype=a.dtype)
        self.head, self.tail = head, tail
        self.buf = np.concatenate([head, a.ravel(), tail])
        self.shape = a.shape
        self.ptr = self.buf.ctypes.data + GUARD * a.dtype.itemsize

    @property
    def inner(self):
        return self.buf[GUARD:self.buf.size - GUARD].reshape(self.shape)

    def check(self, what="array"):
        same = np.array_equal(self.buf[:GUARD], self.head, equal_nan=True) and \
            np.array_equal(self.buf[self.buf.size - GUARD:], self.tail, equal_nan=True)
        assert same, f"a kernel wrote outside {what}"
        return self.inner.copy()
