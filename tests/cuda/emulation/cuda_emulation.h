// CPU emulation of the small part of CUDA C++ that the nnrs kernels use, so the same .cu
// sources compile with g++ and their logic (indexing, bounds, formulas) is tested without
// a GPU (tests/cuda/test_emulated_kernels.py).
//
// None of the kernels uses shared memory or __syncthreads: the threads of a block are
// independent, so a launch runs the blocks and the threads of each block as two nested
// loops, setting blockIdx / threadIdx before each call of the kernel body. Using
// __shared__ or __syncthreads here is a compile error (a kernel that needs them needs a
// launcher that runs a block's threads as real threads with a barrier).
#pragma once

#include <math.h>

#include <cmath>

#define __global__
#define __device__
#define __host__
#define __forceinline__ inline __attribute__((always_inline))
#define __shared__ static_assert(false, "cuda_emulation.h: __shared__ is not emulated (threads run as a loop)");
#define __syncthreads() static_assert(false, "cuda_emulation.h: __syncthreads is not emulated (threads run as a loop)")

// atomicAdd: the threads run one after another, so a plain add (returning the old value, as CUDA's).
static inline float atomicAdd(float* address, float val) {
    const float old = *address;
    *address = old + val;
    return old;
}
static inline double atomicAdd(double* address, double val) {
    const double old = *address;
    *address = old + val;
    return old;
}

struct emu_dim3 {
    unsigned x, y, z;
};

// The built-in index variables, one copy per host thread.
static thread_local emu_dim3 blockIdx = {0, 0, 0};
static thread_local emu_dim3 threadIdx = {0, 0, 0};
static thread_local emu_dim3 blockDim = {1, 1, 1};
static thread_local emu_dim3 gridDim = {1, 1, 1};

// kernel<<<grid, block>>>(args...) for a 1-D grid: every (block, thread) pair runs the body once.
template <typename... P, typename... A> static void emu_launch(void (*kernel)(P...), unsigned grid, unsigned block, A... args) {
    gridDim = {grid, 1, 1};
    blockDim = {block, 1, 1};
    for (unsigned b = 0; b < grid; ++b) {
        blockIdx = {b, 0, 0};
        for (unsigned t = 0; t < block; ++t) {
            threadIdx = {t, 0, 0};
            kernel(args...);
        }
    }
}
