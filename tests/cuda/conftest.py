import pytest

from .emulation import loader


@pytest.fixture(scope="session")
def emu(tmp_path_factory):
    """{".cu file name": EmulatedModule}: every kernel file built once per session with g++."""
    if not loader.have_cxx():
        pytest.skip("g++ is not installed: the CPU emulation of the CUDA kernels needs a C++17 compiler")
    return loader.compile_all(str(tmp_path_factory.mktemp("cuda_emulation")))
