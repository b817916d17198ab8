// dma/backend/cuda/adamw.cuh: fused AdamW (Loshchilov & Hutter 2019, Alg. 2; PyTorch's
// formulation, as backend/cpu/adamw.hpp) and the squared norm for gradient clipping, for
// backend::Cuda. norm_squared reduces in double in a fixed order (bit-reproducible) and returns
// a host value; grad_norm_and_clip / adamw_update_scaled keep the norm and the clipping factor on
// the device (the training step's path, no host sync). Signatures: model/ops.hpp. Tested against
// the CPU ops in tests/parity/cuda_ops.cu and through the 10-step trajectory in cuda_model.cu.
#pragma once

#include <cmath>
#include <cstddef>

#include "dma/backend/cuda/context.cuh"
#include "dma/backend/tags.hpp"

namespace dma::backend {

namespace cuda::kernels {
// grad_scale_dev (when not null) replaces grad_scale: the clipping factor computed on the device
// by sum_and_clip, so that a training step needs no host round trip.
DMA_KERNEL void adamw(float* params, const float* grads, float* m, float* v, std::size_t n,
                      float step_size, float beta1, float beta2, float eps, float decay,
                      float bc2_sqrt, float grad_scale, const float* grad_scale_dev) {
  if (grad_scale_dev) grad_scale = *grad_scale_dev;
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
// As sum_in_order, then the clipping factor of torch.nn.utils.clip_grad_norm_ (the host formula of
// model::adamw_step): min(1, clip / (norm + 1e-6)), 1 when clip <= 0.
DMA_KERNEL void sum_and_clip(double* norm2, float* scale, const double* partial, unsigned count, float clip) {
  double s = 0.0;
  for (unsigned i = 0; i < count; ++i) s += partial[i];
  *norm2 = s;
  const float f = float(double(clip) / (sqrt(s) + 1e-6));
  *scale = clip > 0 ? (f < 1.0f ? f : 1.0f) : 1.0f;
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
                                                              bc2_sqrt, grad_scale, nullptr);
  DMA_CUDA_LAUNCH_CHECK();
}

namespace cuda {
// adamw_update with the gradient scale read from device memory (no host value, no sync).
inline void adamw_update_scaled(float* params, const float* grads, float* m, float* v, std::size_t n,
                                float lr, float beta1, float beta2, float eps, float weight_decay,
                                const float* grad_scale_dev, int step) {
  if (n == 0) return;
  const float bc1 = 1.0f - float(std::pow(double(beta1), step));
  const float bc2_sqrt = float(std::sqrt(1.0 - std::pow(double(beta2), step)));
  kernels::adamw<<<grid_for(n), kThreads>>>(params, grads, m, v, n, lr / bc1, beta1, beta2, eps,
                                            1.0f - lr * weight_decay, bc2_sqrt, 1.0f, grad_scale_dev);
  DMA_CUDA_LAUNCH_CHECK();
}

// Enqueues norm2_dev[0] = sum of squares of x[0..n) (double, fixed order, as norm_squared) and
// scale_dev[0] = the clipping factor for max norm `clip`; nothing is read back.
inline void grad_norm_and_clip(double* norm2_dev, float* scale_dev, const float* x, std::size_t n, float clip) {
  const unsigned g = grid_for(n ? n : 1, kernels::kNormThreads);
  const unsigned blocks = g < kernels::kNormBlocks ? g : kernels::kNormBlocks;
  double* ws = context().workspace_as<double>(blocks);
  kernels::sumsq_partial<<<blocks, kernels::kNormThreads>>>(ws, x, n);
  DMA_CUDA_LAUNCH_CHECK();
  kernels::sum_and_clip<<<1, 1>>>(norm2_dev, scale_dev, ws, blocks, clip);
  DMA_CUDA_LAUNCH_CHECK();
}
}  // namespace cuda

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
