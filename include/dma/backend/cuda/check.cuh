// dma/backend/cuda/check.cuh: error checks for the CUDA backend. DMA_CUDA_CHECK(expr) and
// DMA_CUBLAS_CHECK(expr) throw dma::Error naming file:line, the failing expression and the CUDA
// message; DMA_CUDA_LAUNCH_CHECK() follows every kernel launch (device code never throws).
// nvcc-only (includes CUDA headers). Exercised by every op in tests/parity/.
#pragma once

#include <cublas_v2.h>
#include <cuda_runtime.h>

#include "dma/core/error.hpp"

namespace dma::backend::cuda::detail {

[[noreturn]] inline void cuda_fail(cudaError_t e, const char* expr, const char* file, int line) {
  cudaGetLastError();  // clear a non-sticky error so that the next launch check does not repeat it
  dma::fail(file, ":", line, ": CUDA error ", cudaGetErrorName(e), " (", cudaGetErrorString(e),
            ") in '", expr, "'");
}
[[noreturn]] inline void cublas_fail(cublasStatus_t s, const char* expr, const char* file, int line) {
  dma::fail(file, ":", line, ": cuBLAS error ", cublasGetStatusName(s), " (",
            cublasGetStatusString(s), ") in '", expr, "'");
}

}  // namespace dma::backend::cuda::detail

#define DMA_CUDA_CHECK(expr)                                                            \
  do {                                                                                  \
    const cudaError_t dma_err_ = (expr);                                                \
    if (dma_err_ != cudaSuccess)                                                        \
      ::dma::backend::cuda::detail::cuda_fail(dma_err_, #expr, __FILE__, __LINE__);     \
  } while (0)

#define DMA_CUBLAS_CHECK(expr)                                                          \
  do {                                                                                  \
    const cublasStatus_t dma_st_ = (expr);                                              \
    if (dma_st_ != CUBLAS_STATUS_SUCCESS)                                               \
      ::dma::backend::cuda::detail::cublas_fail(dma_st_, #expr, __FILE__, __LINE__);    \
  } while (0)

// After a <<<...>>> launch: reports a bad configuration at once (asynchronous faults surface at
// the next synchronising call, which is checked too).
#define DMA_CUDA_LAUNCH_CHECK() DMA_CUDA_CHECK(cudaGetLastError())

// Kernels defined in headers get internal linkage so that several .cu files of one program can
// include the same .cuh without duplicate host stubs.
#define DMA_KERNEL static __global__
