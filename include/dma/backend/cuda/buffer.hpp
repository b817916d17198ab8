// dma/backend/cuda/buffer.hpp: DeviceBuffer<T>, an owning, move-only buffer in GPU memory (the
// device counterpart of dma::Buffer), with explicit host<->device copies. This header declares
// it without any CUDA header, so host code compiled by g++ can hold device buffers (the
// parameters of a TrainState<backend::Cuda>); the member definitions are in buffer.cuh, and a
// program that uses DeviceBuffer from host code compiles backend/cuda/host_impl.cuh (which
// instantiates it for float, Token and double) in one .cu file. Tested in tests/parity/cuda_ops.cu
// (round trips) and through every parity test.
#pragma once

#include <cstddef>
#include <utility>
#include <vector>

namespace dma::backend::cuda {

template <class T>
class DeviceBuffer {
 public:
  DeviceBuffer() = default;
  explicit DeviceBuffer(std::size_t n, bool zero_fill = true);
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

  static DeviceBuffer from_host(const T* host, std::size_t n);
  static DeviceBuffer from_host(const std::vector<T>& host) { return from_host(host.data(), host.size()); }

  // Copies n elements host -> device at element offset `at`.
  void upload(const T* host, std::size_t n, std::size_t at = 0);
  // Copies n elements device -> host from element offset `at` (synchronises the device).
  void download(T* host, std::size_t n, std::size_t at = 0) const;
  [[nodiscard]] std::vector<T> to_host() const;
  [[nodiscard]] DeviceBuffer clone() const;
  void zero();

  T* data() noexcept { return m_data; }
  const T* data() const noexcept { return m_data; }
  [[nodiscard]] std::size_t size() const noexcept { return m_size; }

 private:
  void release() noexcept;  // cudaFree; never throws (a failure is sticky, reported by the next checked call)
  T* m_data = nullptr;
  std::size_t m_size = 0;
};

}  // namespace dma::backend::cuda
