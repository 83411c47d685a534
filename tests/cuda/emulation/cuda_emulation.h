// CPU emulation of the small part of CUDA C++ that the nnrs kernels use, so the same .cu
// sources compile with g++ and their logic (indexing, bounds, formulas) is tested without
// a GPU (tests/cuda/test_emulated_kernels.py).
//
// None of the kernels uses shared memory or __syncthreads: the threads of a block are
// independent, so a launch runs every (block, thread) pair once, one after another, setting
// blockIdx / threadIdx before each call of the kernel body. Using __shared__ or
// __syncthreads here is a compile error (a kernel that needs them needs a launcher that runs
// a block's threads as real threads with a barrier).
//
// The pairs run in a scrambled order, different for each launch. A GPU runs them at once in
// no fixed order, so a kernel whose threads read what other threads of the same launch write
// is wrong there; run in order here it could still look right, scrambled it fails its test.
#pragma once

#include <math.h>

#include <cmath>
#include <numeric>

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
// Pair k of the run is (k * step + shift) mod count, a permutation of all pairs because step is
// coprime to count; shift changes with every launch.
static unsigned long long emu_launches = 0;

template <typename... P, typename... A> static void emu_launch(void (*kernel)(P...), unsigned grid, unsigned block, A... args) {
    gridDim = {grid, 1, 1};
    blockDim = {block, 1, 1};
    const unsigned long long count = (unsigned long long)grid * block;  // at most 4096 * 1024: k * step fits in 64 bits
    unsigned long long step = 0x9E3779B97F4A7C15ull % count;
    while (std::gcd(step, count) != 1) step = (step + 1) % count;
    const unsigned long long shift = (++emu_launches * 0xD1B54A32D192ED03ull) % count;
    for (unsigned long long k = 0; k < count; ++k) {
        const unsigned long long pair = (k * step + shift) % count;
        blockIdx = {(unsigned)(pair / block), 0, 0};
        threadIdx = {(unsigned)(pair % block), 0, 0};
        kernel(args...);
    }
}
