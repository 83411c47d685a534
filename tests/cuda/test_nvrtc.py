"""Every .cu file of the cuda backend compiles with NVRTC, with no error and no warning.

NVRTC needs no GPU and no driver: this runs wherever the pip packages ``cuda-bindings<13``
and ``nvidia-cuda-nvrtc-cu12`` are installed (the ``test`` extra)."""

from __future__ import annotations

import glob
import os
import re

import pytest
from nnrs.backend import cuda_launch

nvrtc = pytest.importorskip("cuda.bindings.nvrtc", reason="cuda-bindings is not installed (pip install 'cuda-bindings<13')")

CU_FILES = sorted(glob.glob(os.path.join(cuda_launch.KERNEL_DIR, "*.cu")))
ARCHS = ("compute_80", "compute_90")


def _check(result, what):
    err = result[0]
    if err != nvrtc.nvrtcResult.NVRTC_SUCCESS:
        raise RuntimeError(f"{what} failed: {nvrtc.nvrtcGetErrorString(err)[1].decode()}")
    return result[1:] if len(result) > 2 else (result[1] if len(result) == 2 else None)


@pytest.fixture(scope="module")
def nvrtc_ready():
    try:
        _check(nvrtc.nvrtcVersion(), "nvrtcVersion")
    except Exception as e:  # the bindings are there but libnvrtc is not
        pytest.skip(f"libnvrtc is not loadable ({e}); pip install nvidia-cuda-nvrtc-cu12")


def compile_cu(path, arch):
    """(ok, log, ptx size) of compiling ``path`` for ``arch`` with the backend's options."""
    if os.path.dirname(os.path.abspath(path)) == cuda_launch.KERNEL_DIR:
        src = cuda_launch.kernel_source(os.path.basename(path)).encode()  # what the backend compiles
    else:
        with open(path, "rb") as f:
            src = f.read()
    prog = _check(nvrtc.nvrtcCreateProgram(src, os.path.basename(path).encode(), 0, [], []), "nvrtcCreateProgram")
    try:
        opts = [o.encode() for o in cuda_launch.nvrtc_options(arch)]
        err = nvrtc.nvrtcCompileProgram(prog, len(opts), opts)[0]
        size = _check(nvrtc.nvrtcGetProgramLogSize(prog), "nvrtcGetProgramLogSize")
        buf = b" " * size
        _check(nvrtc.nvrtcGetProgramLog(prog, buf), "nvrtcGetProgramLog")
        log = buf.rstrip(b"\x00 ").decode(errors="replace")
        ptx_size = 0
        if err == nvrtc.nvrtcResult.NVRTC_SUCCESS:
            ptx_size = _check(nvrtc.nvrtcGetPTXSize(prog), "nvrtcGetPTXSize")
        return err == nvrtc.nvrtcResult.NVRTC_SUCCESS, log, ptx_size
    finally:
        nvrtc.nvrtcDestroyProgram(prog)


def test_kernel_files_exist():
    names = {os.path.basename(p) for p in CU_FILES}
    assert set(cuda_launch.KERNEL_FILES) == names, f"cuda_launch.KERNEL_FILES {cuda_launch.KERNEL_FILES} != the .cu files {names}"


@pytest.mark.parametrize("arch", ARCHS)
@pytest.mark.parametrize("path", CU_FILES, ids=os.path.basename)
def test_compiles_without_warnings(nvrtc_ready, path, arch):
    ok, log, ptx_size = compile_cu(path, arch)
    assert ok, f"NVRTC failed on {os.path.basename(path)} for {arch}:\n{log}"
    assert not re.search(r"warning", log, re.IGNORECASE), f"NVRTC warned on {os.path.basename(path)} for {arch}:\n{log}"
    assert ptx_size > 0


@pytest.mark.parametrize("path", CU_FILES, ids=os.path.basename)
def test_every_kernel_has_both_dtypes_and_a_launch_config(path):
    """Each extern "C" kernel exists as _f32 and _f64 and is listed in cuda_launch.KERNELS."""
    with open(path) as f:
        names = re.findall(r'extern\s+"C"\s+__global__\s+void\s+(\w+)\s*\(', f.read())
    assert names, f"no kernels in {path}"
    bases = {n.rsplit("_", 1)[0] for n in names}
    for b in bases:
        assert {f"{b}_f32", f"{b}_f64"} <= set(names), f"{b}: needs both _f32 and _f64"
        assert b in cuda_launch.KERNELS and cuda_launch.KERNELS[b][0] == os.path.basename(path), f"{b} is not in cuda_launch.KERNELS"


def test_a_broken_kernel_fails_and_a_warning_is_seen(nvrtc_ready, tmp_path):
    """The check itself can fail: a syntax error is an error, an unused variable a warning."""
    bad = tmp_path / "bad.cu"
    bad.write_text('extern "C" __global__ void k(float* x) { x[0] = undefined_name; }\n')
    ok, log, _ = compile_cu(str(bad), "compute_80")
    assert not ok and "undefined_name" in log
    warn = tmp_path / "warn.cu"
    warn.write_text('extern "C" __global__ void k(float* x) { int unused = 0; x[0] = 1.0f; }\n')
    ok, log, _ = compile_cu(str(warn), "compute_80")
    assert ok and "warning" in log.lower(), log
