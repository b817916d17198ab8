// dma/backend/cuda/attention.cuh: causal multi-head softmax attention (Vaswani et al. 2017, eq. 1)
// for backend::Cuda, llm.c style: q, k, v are gathered from the qkv rows into per-head
// [Bn*NH, T, hs] planes in the Context workspace, scores and products are strided-batched cuBLAS
// GEMMs, and a warp-per-row kernel applies the causal mask and softmax (probabilities kept in
// att for the backward). Signatures and layouts: model/ops.hpp. Tested against the CPU op with
// T, hs and NH that are not multiples of the warp in tests/parity/cuda_ops.cu.
#pragma once

#include <cmath>
#include <cstddef>

#include "dma/backend/cuda/context.cuh"
#include "dma/backend/cuda/matmul.cuh"
#include "dma/backend/cuda/norm.cuh"
#include "dma/backend/tags.hpp"

namespace dma::backend {

namespace cuda::kernels {
// rows [Bn, T, parts*C] <-> planes[p][(b*NH + h), t, d] (plane stride M = Bn*T*C): gathers rows
// into planes (to_rows = false: src = rows, dst = planes) or scatters back (to_rows = true).
DMA_KERNEL void heads_permute(float* dst, const float* src, unsigned Bn, unsigned T, unsigned C,
                              unsigned NH, unsigned parts, bool to_rows) {
  const unsigned hs = C / NH, W = parts * C, total = Bn * T * W, M = Bn * T * C;
  for (unsigned i = blockIdx.x * blockDim.x + threadIdx.x; i < total; i += gridDim.x * blockDim.x) {
    const unsigned bt = i / W, r = i - bt * W, p = r / C, hd = r - p * C, h = hd / hs,
                   d = hd - h * hs, b = bt / T, t = bt - b * T;
    const unsigned pl = p * M + ((b * NH + h) * T + t) * hs + d;
    if (to_rows)
      dst[i] = src[pl];
    else
      dst[pl] = src[i];
  }
}

// Row r of att (t = r % T): softmax over keys 0..t of scale * scores, zeros above.
DMA_KERNEL void causal_softmax(float* att, std::size_t rows, std::size_t T, float scale) {
  const std::size_t r = blockIdx.x * std::size_t(kWarpsPerBlock) + threadIdx.x / 32;
  const unsigned lane = threadIdx.x % 32;
  if (r >= rows) return;
  const std::size_t t = r % T;
  float* a = att + r * T;
  float mx = -INFINITY;
  for (std::size_t j = lane; j <= t; j += 32) mx = fmaxf(mx, a[j]);
  mx = warp_max(mx);
  float s = 0.f;
  for (std::size_t j = lane; j <= t; j += 32) {
    const float e = expf((a[j] - mx) * scale);
    a[j] = e;
    s += e;
  }
  s = warp_sum(s);
  const float inv = 1.0f / s;
  for (std::size_t j = lane; j < T; j += 32) a[j] = j <= t ? a[j] * inv : 0.f;
}

// dS = A * (dA - rowsum(A * dA)) * scale, in place on dA; zeros above the diagonal.
DMA_KERNEL void causal_softmax_backward(float* datt, const float* att, std::size_t rows,
                                        std::size_t T, float scale) {
  const std::size_t r = blockIdx.x * std::size_t(kWarpsPerBlock) + threadIdx.x / 32;
  const unsigned lane = threadIdx.x % 32;
  if (r >= rows) return;
  const std::size_t t = r % T;
  const float* a = att + r * T;
  float* d = datt + r * T;
  float s = 0.f;
  for (std::size_t j = lane; j <= t; j += 32) s += a[j] * d[j];
  s = warp_sum(s);
  for (std::size_t j = lane; j < T; j += 32) d[j] = j <= t ? a[j] * (d[j] - s) * scale : 0.f;
}
}  // namespace cuda::kernels

namespace cuda {
inline void heads_permute(float* dst, const float* src, std::size_t Bn, std::size_t T,
                          std::size_t C, std::size_t NH, std::size_t parts, bool to_rows) {
  const std::size_t total = Bn * T * parts * C;
  if (total == 0) return;
  check_index_range(total, "attention");
  kernels::heads_permute<<<grid_for(total), kThreads>>>(dst, src, Bn, T, C, NH, parts, to_rows);
  DMA_CUDA_LAUNCH_CHECK();
}
}  // namespace cuda

inline void attention_forward(Cuda, float* out, float* att, const float* qkv, std::size_t Bn,
                              std::size_t T, std::size_t C, std::size_t NH) {
  if (Bn * T == 0) return;
  const std::size_t hs = C / NH, M = Bn * T * C, Z = Bn * NH, Ths = T * hs, TT = T * T;
  float* ws = cuda::context().workspace_as<float>(4 * M);
  float *q = ws, *k = ws + M, *v = ws + 2 * M, *y = ws + 3 * M;
  cuda::heads_permute(ws, qkv, Bn, T, C, NH, 3, false);
  // att = Q K^T (unscaled; the softmax applies 1/sqrt(hs) as the CPU op does)
  cuda::gemm_batched(CUBLAS_OP_T, CUBLAS_OP_N, T, T, hs, 1.0f, k, hs, Ths, q, hs, Ths, 0.0f, att, T, TT, Z);
  cuda::kernels::causal_softmax<<<cuda::grid_rows(Z * T), 32 * cuda::kWarpsPerBlock>>>(
      att, Z * T, T, 1.0f / std::sqrt(float(hs)));
  DMA_CUDA_LAUNCH_CHECK();
  // Y = A V
  cuda::gemm_batched(CUBLAS_OP_N, CUBLAS_OP_N, hs, T, T, 1.0f, v, hs, Ths, att, T, TT, 0.0f, y, hs, Ths, Z);
  cuda::heads_permute(out, y, Bn, T, C, NH, 1, true);
}

// dqkv is overwritten; scratch [Bn, NH, T, T] holds dA then dS.
inline void attention_backward(Cuda, float* dqkv, float* scratch, const float* dout, const float* qkv,
                               const float* att, std::size_t Bn, std::size_t T, std::size_t C,
                               std::size_t NH) {
  if (Bn * T == 0) return;
  const std::size_t hs = C / NH, M = Bn * T * C, Z = Bn * NH, Ths = T * hs, TT = T * T;
  float* ws = cuda::context().workspace_as<float>(7 * M);
  float *q = ws, *k = ws + M, *v = ws + 2 * M, *dy = ws + 3 * M, *dq = ws + 4 * M, *dk = ws + 5 * M,
        *dv = ws + 6 * M;
  cuda::heads_permute(ws, qkv, Bn, T, C, NH, 3, false);
  cuda::heads_permute(dy, dout, Bn, T, C, NH, 1, false);
  // dV = A^T dY ; dA = dY V^T
  cuda::gemm_batched(CUBLAS_OP_N, CUBLAS_OP_T, hs, T, T, 1.0f, dy, hs, Ths, att, T, TT, 0.0f, dv, hs, Ths, Z);
  cuda::gemm_batched(CUBLAS_OP_T, CUBLAS_OP_N, T, T, hs, 1.0f, v, hs, Ths, dy, hs, Ths, 0.0f, scratch, T, TT, Z);
  cuda::kernels::causal_softmax_backward<<<cuda::grid_rows(Z * T), 32 * cuda::kWarpsPerBlock>>>(
      scratch, att, Z * T, T, 1.0f / std::sqrt(float(hs)));
  DMA_CUDA_LAUNCH_CHECK();
  // dQ = dS K ; dK = dS^T Q
  cuda::gemm_batched(CUBLAS_OP_N, CUBLAS_OP_N, hs, T, T, 1.0f, k, hs, Ths, scratch, T, TT, 0.0f, dq, hs, Ths, Z);
  cuda::gemm_batched(CUBLAS_OP_N, CUBLAS_OP_T, hs, T, T, 1.0f, q, hs, Ths, scratch, T, TT, 0.0f, dk, hs, Ths, Z);
  cuda::heads_permute(dqkv, dq, Bn, T, C, NH, 3, true);
}

}  // namespace dma::backend
