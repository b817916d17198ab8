// dma/backend/cuda/buffer.cuh: the member definitions of DeviceBuffer<T> (declared in buffer.hpp,
// which host code may include). nvcc only. Tested in tests/parity/cuda_ops.cu (round trips) and
// through every parity test.
#pragma once

#include <cstddef>
#include <utility>
#include <vector>

#include "dma/backend/cuda/buffer.hpp"
#include "dma/backend/cuda/check.cuh"

namespace dma::backend::cuda {

template <class T>
DeviceBuffer<T>::DeviceBuffer(std::size_t n, bool zero_fill) : m_size(n) {
  if (n == 0) return;
  DMA_CUDA_CHECK(cudaMalloc(reinterpret_cast<void**>(&m_data), n * sizeof(T)));
  if (zero_fill) zero();
}

template <class T>
DeviceBuffer<T> DeviceBuffer<T>::from_host(const T* host, std::size_t n) {
  DeviceBuffer b(n, false);
  b.upload(host, n);
  return b;
}

template <class T>
void DeviceBuffer<T>::upload(const T* host, std::size_t n, std::size_t at) {
  DMA_ASSERT(at + n <= m_size, "DeviceBuffer::upload out of range");
  if (n) DMA_CUDA_CHECK(cudaMemcpy(m_data + at, host, n * sizeof(T), cudaMemcpyHostToDevice));
}

template <class T>
void DeviceBuffer<T>::download(T* host, std::size_t n, std::size_t at) const {
  DMA_ASSERT(at + n <= m_size, "DeviceBuffer::download out of range");
  if (n) DMA_CUDA_CHECK(cudaMemcpy(host, m_data + at, n * sizeof(T), cudaMemcpyDeviceToHost));
}

template <class T>
std::vector<T> DeviceBuffer<T>::to_host() const {
  std::vector<T> v(m_size);
  download(v.data(), m_size);
  return v;
}

template <class T>
DeviceBuffer<T> DeviceBuffer<T>::clone() const {
  DeviceBuffer b(m_size, false);
  if (m_size) DMA_CUDA_CHECK(cudaMemcpy(b.m_data, m_data, m_size * sizeof(T), cudaMemcpyDeviceToDevice));
  return b;
}

template <class T>
void DeviceBuffer<T>::zero() {
  if (m_size) DMA_CUDA_CHECK(cudaMemsetAsync(m_data, 0, m_size * sizeof(T)));
}

template <class T>
void DeviceBuffer<T>::release() noexcept {
  if (m_data) cudaFree(m_data);
  m_data = nullptr;
  m_size = 0;
}

}  // namespace dma::backend::cuda
