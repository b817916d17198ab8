// dma/backend/cuda/buffer.cuh: DeviceBuffer<T>, an owning, move-only buffer in GPU memory (the
// device counterpart of dma::Buffer), with explicit host<->device copies. The CUDA proxy
// (backend/cuda/llama.cuh) keeps parameters, moments, activations and gradients in these.
// Tested in tests/parity/cuda_ops.cu (round trips) and through every parity test.
#pragma once

#include <cstddef>
#include <utility>
#include <vector>

#include "dma/backend/cuda/check.cuh"

namespace dma::backend::cuda {

template <class T>
class DeviceBuffer {
 public:
  DeviceBuffer() = default;
  explicit DeviceBuffer(std::size_t n, bool zero_fill = true) : m_size(n) {
    if (n == 0) return;
    DMA_CUDA_CHECK(cudaMalloc(reinterpret_cast<void**>(&m_data), n * sizeof(T)));
    if (zero_fill) zero();
  }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  DeviceBuffer(DeviceBuffer&& o) noexcept
      : m_data(std::exchange(o.m_data, nullptr)), m_size(std::exchange(o.m_size, 0)) {}
  DeviceBuffer& operator=(DeviceBuffer&& o) noexcept {
    if (this != &o) {
      release();
      m_data = std::exchange(o.m_data, nullptr);
      m_size = std::exchange(o.m_size, 0);
    }
    return *this;
  }
  ~DeviceBuffer() { release(); }

  static DeviceBuffer from_host(const T* host, std::size_t n) {
    DeviceBuffer b(n, false);
    b.upload(host, n);
    return b;
  }
  static DeviceBuffer from_host(const std::vector<T>& host) { return from_host(host.data(), host.size()); }

  // Copies n elements host -> device at element offset `at`.
  void upload(const T* host, std::size_t n, std::size_t at = 0) {
    DMA_ASSERT(at + n <= m_size, "DeviceBuffer::upload out of range");
    if (n) DMA_CUDA_CHECK(cudaMemcpy(m_data + at, host, n * sizeof(T), cudaMemcpyHostToDevice));
  }
  // Copies n elements device -> host from element offset `at` (synchronises the device).
  void download(T* host, std::size_t n, std::size_t at = 0) const {
    DMA_ASSERT(at + n <= m_size, "DeviceBuffer::download out of range");
    if (n) DMA_CUDA_CHECK(cudaMemcpy(host, m_data + at, n * sizeof(T), cudaMemcpyDeviceToHost));
  }
  [[nodiscard]] std::vector<T> to_host() const {
    std::vector<T> v(m_size);
    download(v.data(), m_size);
    return v;
  }
  [[nodiscard]] DeviceBuffer clone() const {
    DeviceBuffer b(m_size, false);
    if (m_size) DMA_CUDA_CHECK(cudaMemcpy(b.m_data, m_data, m_size * sizeof(T), cudaMemcpyDeviceToDevice));
    return b;
  }
  void zero() {
    if (m_size) DMA_CUDA_CHECK(cudaMemsetAsync(m_data, 0, m_size * sizeof(T)));
  }

  T* data() noexcept { return m_data; }
  const T* data() const noexcept { return m_data; }
  [[nodiscard]] std::size_t size() const noexcept { return m_size; }

 private:
  void release() noexcept {
    if (m_data) cudaFree(m_data);  // never throws from a destructor; a failure here is sticky
    m_data = nullptr;             // and reported by the next checked call
    m_size = 0;
  }
  T* m_data = nullptr;
  std::size_t m_size = 0;
};

}  // namespace dma::backend::cuda
