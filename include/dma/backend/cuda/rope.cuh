// dma/backend/cuda/rope.cuh: rotary position embeddings (Su et al. 2021, RoFormer eq. 34) in
// place on the q and k parts of the qkv rows, for backend::Cuda; "rotate-half" pairing
// (i, i + hs/2) as in HF LLaMA; the backward is the inverse rotation. The cos/sin tables are
// built on the host (backend/cpu/rope.hpp's formula, in double) and uploaded once. Signatures:
// model/ops.hpp. Tested against the CPU op in tests/parity/cuda_ops.cu.
#pragma once

#include <cmath>
#include <cstddef>
#include <vector>

#include "dma/backend/cuda/context.cuh"
#include "dma/backend/tags.hpp"

namespace dma::backend {

namespace cuda::kernels {
DMA_KERNEL void rope_apply(float* qkv, const float* cos_t, const float* sin_t, unsigned Bn,
                           unsigned T, unsigned C, unsigned NH, float sign) {
  const unsigned hs = C / NH, half = hs / 2, per_row = 2 * NH * half, total = Bn * T * per_row;
  for (unsigned i = blockIdx.x * blockDim.x + threadIdx.x; i < total; i += gridDim.x * blockDim.x) {
    const unsigned bt = i / per_row, r = i - bt * per_row, h = r / half, j = r - h * half;
    const unsigned t = bt % T;
    float* x = qkv + bt * 3 * C + h * hs;  // q heads then k heads: contiguous in the row
    const float c = cos_t[t * half + j], s = sign * sin_t[t * half + j];
    const float x1 = x[j], x2 = x[j + half];
    x[j] = x1 * c - x2 * s;
    x[j + half] = x2 * c + x1 * s;
  }
}
}  // namespace cuda::kernels

namespace cuda {
// Host tables cos/sin[T, hs/2]: angle(t, i) = t * theta^(-2i/hs) (same formula as the CPU backend).
inline void rope_tables_host(std::vector<float>& cos_t, std::vector<float>& sin_t, std::size_t T,
                             std::size_t hs, double theta) {
  const std::size_t half = hs / 2;
  cos_t.assign(T * half, 0.f);
  sin_t.assign(T * half, 0.f);
  for (std::size_t t = 0; t < T; ++t)
    for (std::size_t i = 0; i < half; ++i) {
      const double a = double(t) * std::pow(theta, -2.0 * double(i) / double(hs));
      cos_t[t * half + i] = float(std::cos(a));
      sin_t[t * half + i] = float(std::sin(a));
    }
}
inline void rope_launch(float* qkv, const float* cos_t, const float* sin_t, std::size_t Bn,
                        std::size_t T, std::size_t C, std::size_t NH, float sign) {
  const std::size_t total = Bn * T * C;  // 2 NH (hs/2) = C rotations per row
  if (total == 0) return;
  check_index_range(3 * total, "rope");
  kernels::rope_apply<<<grid_for(total), kThreads>>>(qkv, cos_t, sin_t, Bn, T, C, NH, sign);
  DMA_CUDA_LAUNCH_CHECK();
}
}  // namespace cuda

inline void rope_forward(Cuda, float* qkv, const float* cos_t, const float* sin_t, std::size_t Bn,
                         std::size_t T, std::size_t C, std::size_t NH) {
  cuda::rope_launch(qkv, cos_t, sin_t, Bn, T, C, NH, 1.0f);
}
inline void rope_backward(Cuda, float* dqkv, const float* cos_t, const float* sin_t, std::size_t Bn,
                          std::size_t T, std::size_t C, std::size_t NH) {
  cuda::rope_launch(dqkv, cos_t, sin_t, Bn, T, C, NH, -1.0f);
}

}  // namespace dma::backend
