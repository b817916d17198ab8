// dma/backend/cuda/crossentropy.cuh: softmax cross-entropy over the vocabulary for backend::Cuda,
// fused as on the CPU (no probability tensor: the backward recomputes softmax from the logits
// and the saved log-sum-exp, in place). Forward: one warp per row; backward: element-wise.
// Signatures: model/ops.hpp. Tested against the CPU op (V not a multiple of 32) in
// tests/parity/cuda_ops.cu.
#pragma once

#include <cstddef>

#include "dma/backend/cuda/context.cuh"
#include "dma/backend/cuda/norm.cuh"
#include "dma/backend/tags.hpp"
#include "dma/core/types.hpp"

namespace dma::backend {

namespace cuda::kernels {
DMA_KERNEL void crossentropy_forward(float* losses, float* lse, const float* logits,
                                     const Token* targets, std::size_t N, std::size_t V) {
  const std::size_t n = blockIdx.x * std::size_t(kWarpsPerBlock) + threadIdx.x / 32;
  const unsigned lane = threadIdx.x % 32;
  if (n >= N) return;
  const float* x = logits + n * V;
  float mx = -INFINITY;
  for (std::size_t v = lane; v < V; v += 32) mx = fmaxf(mx, x[v]);
  mx = warp_max(mx);
  float s = 0.f;
  for (std::size_t v = lane; v < V; v += 32) s += expf(x[v] - mx);
  s = warp_sum(s);
  if (lane == 0) {
    const float l = mx + logf(s);
    lse[n] = l;
    losses[n] = l - x[targets[n]];
  }
}
DMA_KERNEL void crossentropy_backward(float* dlogits, const float* logits, const float* lse,
                                      const Token* targets, float dloss, unsigned N, unsigned V) {
  const unsigned total = N * V;
  for (unsigned i = blockIdx.x * blockDim.x + threadIdx.x; i < total; i += gridDim.x * blockDim.x) {
    const unsigned n = i / V, v = i - n * V;
    float d = expf(logits[i] - lse[n]) * dloss;
    if (v == targets[n]) d -= dloss;
    dlogits[i] = d;
  }
}
}  // namespace cuda::kernels

inline void crossentropy_forward(Cuda, float* losses, float* lse, const float* logits,
                                 const Token* targets, std::size_t N, std::size_t V) {
  if (N == 0) return;
  cuda::kernels::crossentropy_forward<<<cuda::grid_rows(N), 32 * cuda::kWarpsPerBlock>>>(
      losses, lse, logits, targets, N, V);
  DMA_CUDA_LAUNCH_CHECK();
}
// dlogits = (softmax(logits) - onehot(target)) * dloss; dlogits may equal logits.
inline void crossentropy_backward(Cuda, float* dlogits, const float* logits, const float* lse,
                                  const Token* targets, float dloss, std::size_t N, std::size_t V) {
  if (N * V == 0) return;
  cuda::check_index_range(N * V, "crossentropy_backward");
  cuda::kernels::crossentropy_backward<<<cuda::grid_for(N * V), cuda::kThreads>>>(
      dlogits, logits, lse, targets, dloss, N, V);
  DMA_CUDA_LAUNCH_CHECK();
}

}  // namespace dma::backend
