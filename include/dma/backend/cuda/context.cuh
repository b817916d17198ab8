// dma/backend/cuda/context.cuh: the per-process CUDA context of the backend: the cuBLAS handle,
// the GEMM math mode (strict FP32 by default, TF32 on request) and a grow-only scratch workspace
// that ops borrow for the duration of one call (attention's permuted heads, partial sums). All
// work runs on the legacy default stream, in order. Used by every op in backend/cuda/.
#pragma once

#include <cstddef>

#include "dma/backend/cuda/buffer.cuh"
#include "dma/backend/cuda/check.cuh"

namespace dma::backend::cuda {

// Launch geometry of the element-wise kernels (grid-stride loops).
inline constexpr unsigned kThreads = 256;
inline unsigned grid_for(std::size_t n, unsigned threads = kThreads) {
  const std::size_t b = (n + threads - 1) / threads;
  return unsigned(b < 1 ? 1 : (b > (1u << 20) ? (1u << 20) : b));
}

// Element-wise kernels index with 32-bit unsigned arithmetic (64-bit division is slow on GPUs);
// their launchers check that the element count fits with room for the grid stride.
inline void check_index_range(std::size_t total, const char* op) {
  if (total > (std::size_t(1) << 31))
    dma::fail("CUDA op ", op, ": ", total, " elements exceed the 2^31 limit of 32-bit indexing");
}

class Context {
 public:
  static Context& get() {
    static Context ctx;
    return ctx;
  }
  Context(const Context&) = delete;
  Context& operator=(const Context&) = delete;
  ~Context() {
    if (m_cublas) cublasDestroy(m_cublas);  // at exit: errors are ignored, never thrown
  }

  cublasHandle_t cublas() {
    if (!m_cublas) DMA_CUBLAS_CHECK(cublasCreate(&m_cublas));
    return m_cublas;
  }
  // TF32 tensor cores for the GEMMs (10-bit mantissa inputs, FP32 accumulation). Off by default,
  // as in PyTorch; the benchmark turns it on and says so.
  void set_tf32(bool on) noexcept { m_tf32 = on; }
  [[nodiscard]] bool tf32() const noexcept { return m_tf32; }
  [[nodiscard]] cublasComputeType_t compute_type() const noexcept {
    return m_tf32 ? CUBLAS_COMPUTE_32F_FAST_TF32 : CUBLAS_COMPUTE_32F;
  }

  // Scratch of at least `bytes`, valid until the next call; growing frees the old block
  // (cudaFree synchronises, so no queued kernel still uses it).
  void* workspace(std::size_t bytes) {
    if (bytes > m_ws.size()) m_ws = DeviceBuffer<unsigned char>(bytes + bytes / 4, false);
    return m_ws.data();
  }
  template <class T>
  T* workspace_as(std::size_t count) {
    return static_cast<T*>(workspace(count * sizeof(T)));
  }

 private:
  Context() = default;
  cublasHandle_t m_cublas = nullptr;
  bool m_tf32 = false;
  DeviceBuffer<unsigned char> m_ws;
};

inline Context& context() { return Context::get(); }

// True when at least one CUDA device is usable (tests skip otherwise).
inline bool device_available() noexcept {
  int n = 0;
  return cudaGetDeviceCount(&n) == cudaSuccess && n > 0;
}

}  // namespace dma::backend::cuda
