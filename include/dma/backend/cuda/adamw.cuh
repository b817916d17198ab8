// dma/backend/cuda/adamw.cuh: fused AdamW (Loshchilov & Hutter 2019, Alg. 2; PyTorch's
// formulation, as backend/cpu/adamw.hpp) and the squared norm for gradient clipping, for
// backend::Cuda. norm_squared reduces in double in a fixed order (bit-reproducible) and returns
// a host value. Signatures: model/ops.hpp. Tested against the CPU ops in tests/parity/cuda_ops.cu
// and through the 10-step trajectory in tests/parity/cuda_model.cu.
#pragma once

#include <cmath>
#include <cstddef>

#include "dma/backend/cuda/context.cuh"
#include "dma/backend/tags.hpp"

namespace dma::backend {

namespace cuda::kernels {
DMA_KERNEL void adamw(float* params, const float* grads, float* m, float* v, std::size_t n,
                      float step_size, float beta1, float beta2, float eps, float decay,
                      float bc2_sqrt, float grad_scale) {
  for (std::size_t i = blockIdx.x * std::size_t(blockDim.x) + threadIdx.x; i < n;
       i += std::size_t(gridDim.x) * blockDim.x) {
    const float g = grads[i] * grad_scale;
    const float mi = beta1 * m[i] + (1.0f - beta1) * g;
    const float vi = beta2 * v[i] + (1.0f - beta2) * g * g;
    m[i] = mi;
    v[i] = vi;
    const float p = params[i] * decay;
    params[i] = p - step_size * mi / (sqrtf(vi) / bc2_sqrt + eps);
  }
}

inline constexpr unsigned kNormBlocks = 512, kNormThreads = 256;
DMA_KERNEL void sumsq_partial(double* partial, const float* x, std::size_t n) {
  __shared__ double red[kNormThreads];
  double s = 0.0;
  for (std::size_t i = blockIdx.x * std::size_t(blockDim.x) + threadIdx.x; i < n;
       i += std::size_t(gridDim.x) * blockDim.x)
    s += double(x[i]) * double(x[i]);
  red[threadIdx.x] = s;
  __syncthreads();
  for (unsigned o = blockDim.x / 2; o > 0; o >>= 1) {
    if (threadIdx.x < o) red[threadIdx.x] += red[threadIdx.x + o];
    __syncthreads();
  }
  if (threadIdx.x == 0) partial[blockIdx.x] = red[0];
}
DMA_KERNEL void sum_in_order(double* out, const double* partial, unsigned count) {
  double s = 0.0;
  for (unsigned i = 0; i < count; ++i) s += partial[i];
  *out = s;
}
}  // namespace cuda::kernels

inline void adamw_update(Cuda, float* params, const float* grads, float* m, float* v, std::size_t n,
                         float lr, float beta1, float beta2, float eps, float weight_decay,
                         float grad_scale, int step) {
  if (n == 0) return;
  // Bias corrections on the host, in double then rounded, exactly as the CPU op.
  const float bc1 = 1.0f - float(std::pow(double(beta1), step));
  const float bc2_sqrt = float(std::sqrt(1.0 - std::pow(double(beta2), step)));
  cuda::kernels::adamw<<<cuda::grid_for(n), cuda::kThreads>>>(params, grads, m, v, n, lr / bc1, beta1,
                                                              beta2, eps, 1.0f - lr * weight_decay,
                                                              bc2_sqrt, grad_scale);
  DMA_CUDA_LAUNCH_CHECK();
}

// Sum of squares of x[0..n) in double; synchronises (the result is a host value).
inline double norm_squared(Cuda, const float* x, std::size_t n) {
  if (n == 0) return 0.0;
  const unsigned blocks = cuda::grid_for(n, cuda::kernels::kNormThreads) < cuda::kernels::kNormBlocks
                              ? cuda::grid_for(n, cuda::kernels::kNormThreads)
                              : cuda::kernels::kNormBlocks;
  double* ws = cuda::context().workspace_as<double>(blocks + 1);
  cuda::kernels::sumsq_partial<<<blocks, cuda::kernels::kNormThreads>>>(ws, x, n);
  DMA_CUDA_LAUNCH_CHECK();
  cuda::kernels::sum_in_order<<<1, 1>>>(ws + blocks, ws, blocks);
  DMA_CUDA_LAUNCH_CHECK();
  double out = 0.0;
  DMA_CUDA_CHECK(cudaMemcpy(&out, ws + blocks, sizeof(double), cudaMemcpyDeviceToHost));
  return out;
}

}  // namespace dma::backend
