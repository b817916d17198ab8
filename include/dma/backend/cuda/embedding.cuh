// dma/backend/cuda/embedding.cuh: token embedding lookup and its backward for backend::Cuda, the
// first op of the proxy. The contract overload (no V in its signature) scatters with atomicAdd
// (summation order varies from run to run); the proxy calls encoder_backward_deterministic,
// which owns one vocabulary row per block and adds rows in token order. Signatures:
// model/ops.hpp. Tested against the CPU op in tests/parity/cuda_ops.cu.
#pragma once

#include <cstddef>

#include "dma/backend/cuda/context.cuh"
#include "dma/backend/tags.hpp"
#include "dma/core/types.hpp"

namespace dma::backend {

namespace cuda::kernels {
DMA_KERNEL void encoder_forward(float* out, const Token* inp, const float* wte, unsigned N,
                                unsigned C) {
  const unsigned total = N * C;
  for (unsigned i = blockIdx.x * blockDim.x + threadIdx.x; i < total; i += gridDim.x * blockDim.x) {
    const unsigned n = i / C, c = i - n * C;
    out[i] = wte[std::size_t(inp[n]) * C + c];
  }
}

DMA_KERNEL void encoder_backward_atomic(float* dwte, const float* dout, const Token* inp,
                                        unsigned N, unsigned C) {
  const unsigned total = N * C;
  for (unsigned i = blockIdx.x * blockDim.x + threadIdx.x; i < total; i += gridDim.x * blockDim.x) {
    const unsigned n = i / C, c = i - n * C;
    atomicAdd(dwte + std::size_t(inp[n]) * C + c, dout[i]);
  }
}

// Block (v, channel slice): scans the tokens in tiles through shared memory and sums the rows of
// dout whose token is v, in order n = 0..N-1; the branch is uniform across the block.
inline constexpr unsigned kEncTile = 2048;
DMA_KERNEL void encoder_backward_rows(float* dwte, const float* dout, const Token* inp,
                                      std::size_t N, std::size_t C) {
  __shared__ Token tile[kEncTile];
  const Token v = Token(blockIdx.x);
  const std::size_t c = blockIdx.y * std::size_t(blockDim.x) + threadIdx.x;
  float acc = 0.f;
  bool any = false;
  for (std::size_t n0 = 0; n0 < N; n0 += kEncTile) {
    const std::size_t len = N - n0 < kEncTile ? N - n0 : kEncTile;
    __syncthreads();
    for (std::size_t j = threadIdx.x; j < len; j += blockDim.x) tile[j] = inp[n0 + j];
    __syncthreads();
    if (c < C)
      for (std::size_t j = 0; j < len; ++j)
        if (tile[j] == v) {
          acc += dout[(n0 + j) * C + c];
          any = true;
        }
  }
  if (c < C && any) dwte[std::size_t(v) * C + c] += acc;
}
}  // namespace cuda::kernels

inline void encoder_forward(Cuda, float* out, const Token* inp, const float* wte, std::size_t N,
                            std::size_t C) {
  if (N * C == 0) return;
  cuda::check_index_range(N * C, "encoder_forward");
  cuda::kernels::encoder_forward<<<cuda::grid_for(N * C), cuda::kThreads>>>(out, inp, wte, N, C);
  DMA_CUDA_LAUNCH_CHECK();
}

// dwte[inp[n], :] += dout[n, :] with atomics: correct, but the float summation order varies.
inline void encoder_backward(Cuda, float* dwte, const float* dout, const Token* inp, std::size_t N,
                             std::size_t C) {
  if (N * C == 0) return;
  cuda::check_index_range(N * C, "encoder_backward");
  cuda::kernels::encoder_backward_atomic<<<cuda::grid_for(N * C), cuda::kThreads>>>(dwte, dout, inp, N, C);
  DMA_CUDA_LAUNCH_CHECK();
}

namespace cuda {
// Same result as encoder_backward, bit-reproducible: needs the vocabulary size V (every token < V).
inline void encoder_backward_deterministic(float* dwte, const float* dout, const Token* inp,
                                           std::size_t N, std::size_t C, std::size_t V) {
  if (N * C * V == 0) return;
  const unsigned threads = C >= 256 ? 256 : 128;
  const dim3 grid(unsigned(V), unsigned((C + threads - 1) / threads));
  kernels::encoder_backward_rows<<<grid, threads>>>(dwte, dout, inp, N, C);
  DMA_CUDA_LAUNCH_CHECK();
}
}  // namespace cuda

}  // namespace dma::backend
