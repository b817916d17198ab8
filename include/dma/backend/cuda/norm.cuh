// dma/backend/cuda/norm.cuh: RMSNorm forward/backward for backend::Cuda (Zhang & Sennrich 2019).
// One warp per row for the row-wise parts; the weight gradient is a column sum over N rows,
// done in two passes (fixed row groups, then groups in order) so that it is bit-reproducible.
// Signatures and write semantics (dinp, dweight accumulate): model/ops.hpp. Tested against the
// CPU op over a sweep of shapes in tests/parity/cuda_ops.cu.
#pragma once

#include <cstddef>

#include "dma/backend/cuda/context.cuh"
#include "dma/backend/tags.hpp"

namespace dma::backend {

namespace cuda {
__device__ __forceinline__ float warp_sum(float v) {
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}
__device__ __forceinline__ float warp_max(float v) {
  for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
  return v;
}
inline constexpr unsigned kWarpsPerBlock = 8;  // row kernels: 8 rows (warps) per block
inline unsigned grid_rows(std::size_t rows) {
  return unsigned((rows + kWarpsPerBlock - 1) / kWarpsPerBlock);
}
}  // namespace cuda

namespace cuda::kernels {
DMA_KERNEL void rmsnorm_forward(float* out, float* rstd, const float* inp, const float* weight,
                                std::size_t N, std::size_t C, float eps) {
  const std::size_t n = blockIdx.x * std::size_t(kWarpsPerBlock) + threadIdx.x / 32;
  const unsigned lane = threadIdx.x % 32;
  if (n >= N) return;
  const float* x = inp + n * C;
  float ss = 0.f;
  for (std::size_t c = lane; c < C; c += 32) ss += x[c] * x[c];
  ss = warp_sum(ss);
  const float r = 1.0f / sqrtf(ss / float(C) + eps);
  float* o = out + n * C;
  for (std::size_t c = lane; c < C; c += 32) o[c] = x[c] * r * weight[c];
  if (lane == 0) rstd[n] = r;
}

// dx_i += r w_i dy_i - r^3 x_i / C * sum_j dy_j w_j x_j
DMA_KERNEL void rmsnorm_backward_dinp(float* dinp, const float* dout, const float* inp,
                                      const float* weight, const float* rstd, std::size_t N,
                                      std::size_t C) {
  const std::size_t n = blockIdx.x * std::size_t(kWarpsPerBlock) + threadIdx.x / 32;
  const unsigned lane = threadIdx.x % 32;
  if (n >= N) return;
  const float* x = inp + n * C;
  const float* dy = dout + n * C;
  float* dx = dinp + n * C;
  float dot = 0.f;
  for (std::size_t c = lane; c < C; c += 32) dot += dy[c] * weight[c] * x[c];
  dot = warp_sum(dot);
  const float r = rstd[n];
  const float k = r * r * r * dot / float(C);
  for (std::size_t c = lane; c < C; c += 32) dx[c] += r * weight[c] * dy[c] - k * x[c];
}

// partial[g, c] = sum over rows of group g (kRowGroup rows) of dy[n, c] x[n, c] r[n].
inline constexpr unsigned kRowGroup = 256;
DMA_KERNEL void rmsnorm_dweight_partial(float* partial, const float* dout, const float* inp,
                                        const float* rstd, std::size_t N, std::size_t C) {
  __shared__ float red[8][33];
  const std::size_t c = blockIdx.x * std::size_t(32) + threadIdx.x;
  const std::size_t n0 = blockIdx.y * std::size_t(kRowGroup);
  const std::size_t n1 = n0 + kRowGroup < N ? n0 + kRowGroup : N;
  float acc = 0.f;
  if (c < C)
    for (std::size_t n = n0 + threadIdx.y; n < n1; n += 8) acc += dout[n * C + c] * inp[n * C + c] * rstd[n];
  red[threadIdx.y][threadIdx.x] = acc;
  __syncthreads();
  if (threadIdx.y == 0 && c < C) {
    float s = 0.f;
    for (int y = 0; y < 8; ++y) s += red[y][threadIdx.x];
    partial[blockIdx.y * C + c] = s;
  }
}

// out[c] += sum_g partial[g, c], groups in order.
DMA_KERNEL void add_column_sums(float* out, const float* partial, std::size_t G, std::size_t C) {
  const std::size_t c = blockIdx.x * std::size_t(blockDim.x) + threadIdx.x;
  if (c >= C) return;
  float s = 0.f;
  for (std::size_t g = 0; g < G; ++g) s += partial[g * C + c];
  out[c] += s;
}
}  // namespace cuda::kernels

inline void rmsnorm_forward(Cuda, float* out, float* rstd, const float* inp, const float* weight,
                            std::size_t N, std::size_t C, float eps) {
  if (N == 0) return;
  cuda::kernels::rmsnorm_forward<<<cuda::grid_rows(N), 32 * cuda::kWarpsPerBlock>>>(out, rstd, inp, weight, N, C, eps);
  DMA_CUDA_LAUNCH_CHECK();
}

inline void rmsnorm_backward(Cuda, float* dinp, float* dweight, const float* dout, const float* inp,
                             const float* weight, const float* rstd, std::size_t N, std::size_t C) {
  if (N == 0) return;
  cuda::kernels::rmsnorm_backward_dinp<<<cuda::grid_rows(N), 32 * cuda::kWarpsPerBlock>>>(
      dinp, dout, inp, weight, rstd, N, C);
  DMA_CUDA_LAUNCH_CHECK();
  const std::size_t G = (N + cuda::kernels::kRowGroup - 1) / cuda::kernels::kRowGroup;
  float* partial = cuda::context().workspace_as<float>(G * C);
  cuda::kernels::rmsnorm_dweight_partial<<<dim3(unsigned((C + 31) / 32), unsigned(G)), dim3(32, 8)>>>(
      partial, dout, inp, rstd, N, C);
  DMA_CUDA_LAUNCH_CHECK();
  cuda::kernels::add_column_sums<<<unsigned((C + 127) / 128), 128>>>(dweight, partial, G, C);
  DMA_CUDA_LAUNCH_CHECK();
}

}  // namespace dma::backend
