// dma/backend/cuda/swiglu.cuh: the SwiGLU gate of the LLaMA MLP (Shazeer 2020, "GLU Variants",
// eq. 6: silu(x W) * (x V)) over the fused gate_up rows, for backend::Cuda; element-wise.
// Signatures: model/ops.hpp. Tested against the CPU op in tests/parity/cuda_ops.cu.
#pragma once

#include <cstddef>

#include "dma/backend/cuda/context.cuh"
#include "dma/backend/tags.hpp"

namespace dma::backend {

namespace cuda::kernels {
DMA_KERNEL void swiglu_forward(float* out, const float* gate_up, unsigned N, unsigned H) {
  const unsigned total = N * H;
  for (unsigned i = blockIdx.x * blockDim.x + threadIdx.x; i < total; i += gridDim.x * blockDim.x) {
    const unsigned n = i / H, j = i - n * H;
    const float g = gate_up[n * 2 * H + j], u = gate_up[n * 2 * H + H + j];
    out[i] = g / (1.0f + expf(-g)) * u;
  }
}
// d gate = dy * u * sig(g) * (1 + g (1 - sig(g))),  d up = dy * silu(g)
DMA_KERNEL void swiglu_backward(float* dgate_up, const float* dout, const float* gate_up,
                                unsigned N, unsigned H) {
  const unsigned total = N * H;
  for (unsigned i = blockIdx.x * blockDim.x + threadIdx.x; i < total; i += gridDim.x * blockDim.x) {
    const unsigned n = i / H, j = i - n * H;
    const float g = gate_up[n * 2 * H + j], u = gate_up[n * 2 * H + H + j], dy = dout[i];
    const float sig = 1.0f / (1.0f + expf(-g));
    dgate_up[n * 2 * H + j] = dy * u * sig * (1.0f + g * (1.0f - sig));
    dgate_up[n * 2 * H + H + j] = dy * g * sig;
  }
}
}  // namespace cuda::kernels

inline void swiglu_forward(Cuda, float* out, const float* gate_up, std::size_t N, std::size_t H) {
  if (N * H == 0) return;
  cuda::check_index_range(2 * N * H, "swiglu_forward");
  cuda::kernels::swiglu_forward<<<cuda::grid_for(N * H), cuda::kThreads>>>(out, gate_up, N, H);
  DMA_CUDA_LAUNCH_CHECK();
}
inline void swiglu_backward(Cuda, float* dgate_up, const float* dout, const float* gate_up,
                            std::size_t N, std::size_t H) {
  if (N * H == 0) return;
  cuda::check_index_range(2 * N * H, "swiglu_backward");
  cuda::kernels::swiglu_backward<<<cuda::grid_for(N * H), cuda::kThreads>>>(dgate_up, dout, gate_up, N, H);
  DMA_CUDA_LAUNCH_CHECK();
}

}  // namespace dma::backend
