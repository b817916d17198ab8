// dma/backend/cuda/matmul.cuh: the Linear layer (weight [OC, IC], no bias) for backend::Cuda on
// cuBLAS. Row-major buffers are read by cuBLAS as their column-major transposes, so y = x W^T
// becomes y^T = W x^T with no copies. FP32 by default, TF32 when the Context says so. Most of
// the proxy's FLOPs run here. Signatures: model/ops.hpp. Tested against the CPU op over shapes
// that are not multiples of the tile size in tests/parity/cuda_ops.cu; timed by
// benchmarks/bench_proxy_cuda.cu.
#pragma once

#include <cstddef>

#include "dma/backend/cuda/context.cuh"
#include "dma/backend/tags.hpp"

namespace dma::backend {

namespace cuda {
// Column-major C[m, n] = alpha op(A) op(B) + beta C, FP32 storage, the Context's compute type.
inline void gemm(cublasOperation_t ta, cublasOperation_t tb, std::size_t m, std::size_t n,
                 std::size_t k, float alpha, const float* A, std::size_t lda, const float* B,
                 std::size_t ldb, float beta, float* Cm, std::size_t ldc) {
  if (m == 0 || n == 0) return;
  Context& ctx = context();
  DMA_CUBLAS_CHECK(cublasGemmEx(ctx.cublas(), ta, tb, int(m), int(n), int(k), &alpha, A, CUDA_R_32F,
                                int(lda), B, CUDA_R_32F, int(ldb), &beta, Cm, CUDA_R_32F, int(ldc),
                                ctx.compute_type(), CUBLAS_GEMM_DEFAULT));
}
// The same over `batch` matrices at fixed strides (elements).
inline void gemm_batched(cublasOperation_t ta, cublasOperation_t tb, std::size_t m, std::size_t n,
                         std::size_t k, float alpha, const float* A, std::size_t lda,
                         std::size_t sa, const float* B, std::size_t ldb, std::size_t sb,
                         float beta, float* Cm, std::size_t ldc, std::size_t sc, std::size_t batch) {
  if (m == 0 || n == 0 || batch == 0) return;
  Context& ctx = context();
  DMA_CUBLAS_CHECK(cublasGemmStridedBatchedEx(
      ctx.cublas(), ta, tb, int(m), int(n), int(k), &alpha, A, CUDA_R_32F, int(lda), (long long)sa,
      B, CUDA_R_32F, int(ldb), (long long)sb, &beta, Cm, CUDA_R_32F, int(ldc), (long long)sc,
      int(batch), ctx.compute_type(), CUBLAS_GEMM_DEFAULT));
}
}  // namespace cuda

// out[N, OC] = inp[N, IC] W^T  (column-major: out^T[OC, N] = W[OC, IC] inp^T)
inline void matmul_forward(Cuda, float* out, const float* inp, const float* weight, std::size_t N,
                           std::size_t IC, std::size_t OC) {
  cuda::gemm(CUBLAS_OP_T, CUBLAS_OP_N, OC, N, IC, 1.0f, weight, IC, inp, IC, 0.0f, out, OC);
}

// out = residual + inp W^T, the residual entering as the GEMM's beta = 1 term; out may alias
// residual.
inline void matmul_residual_forward(Cuda, float* out, const float* residual, const float* inp,
                                    const float* weight, std::size_t N, std::size_t IC,
                                    std::size_t OC) {
  if (out != residual && N * OC)
    DMA_CUDA_CHECK(cudaMemcpyAsync(out, residual, N * OC * sizeof(float), cudaMemcpyDeviceToDevice));
  cuda::gemm(CUBLAS_OP_T, CUBLAS_OP_N, OC, N, IC, 1.0f, weight, IC, inp, IC, 1.0f, out, OC);
}

// dinp[N, IC] = dout W (skipped when null); dweight[OC, IC] += dout^T inp.
inline void matmul_backward(Cuda, float* dinp, float* dweight, const float* dout, const float* inp,
                            const float* weight, std::size_t N, std::size_t IC, std::size_t OC) {
  if (dinp) cuda::gemm(CUBLAS_OP_N, CUBLAS_OP_N, IC, N, OC, 1.0f, weight, IC, dout, OC, 0.0f, dinp, IC);
  cuda::gemm(CUBLAS_OP_N, CUBLAS_OP_T, IC, OC, N, 1.0f, inp, IC, dout, OC, 1.0f, dweight, IC);
}

}  // namespace dma::backend
