// dma/core/buffer.hpp: owning, move-only, 64-byte aligned host buffers and non-owning views.
// The LLM proxy preallocates every activation and gradient in Buffers so that a training step
// allocates nothing; backend/cpu/ maps views to Eigen (Eigen::Map) for the GEMMs.
#pragma once

#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <new>
#include <span>
#include <utility>

#include "dma/core/error.hpp"

namespace dma {

template <class T>
class Buffer {
 public:
  Buffer() = default;
  explicit Buffer(std::size_t n, bool zero = true) : m_size(n) {
    if (n == 0) return;
    const std::size_t bytes = ((n * sizeof(T) + 63) / 64) * 64;
    m_data = static_cast<T*>(std::aligned_alloc(64, bytes));
    if (!m_data) fail("out of memory: cannot allocate ", bytes, " bytes");
    if (zero) std::memset(static_cast<void*>(m_data), 0, bytes);
  }
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;
  Buffer(Buffer&& o) noexcept : m_data(std::exchange(o.m_data, nullptr)), m_size(std::exchange(o.m_size, 0)) {}
  Buffer& operator=(Buffer&& o) noexcept {
    if (this != &o) {
      std::free(m_data);
      m_data = std::exchange(o.m_data, nullptr);
      m_size = std::exchange(o.m_size, 0);
    }
    return *this;
  }
  ~Buffer() { std::free(m_data); }

  // An explicit deep copy (fork() of a training state uses it).
  [[nodiscard]] Buffer clone() const {
    Buffer b(m_size, false);
    if (m_size) std::memcpy(static_cast<void*>(b.m_data), m_data, m_size * sizeof(T));
    return b;
  }
  void zero() noexcept {
    if (m_size) std::memset(static_cast<void*>(m_data), 0, m_size * sizeof(T));
  }

  T* data() noexcept { return m_data; }
  const T* data() const noexcept { return m_data; }
  [[nodiscard]] std::size_t size() const noexcept { return m_size; }
  T& operator[](std::size_t i) noexcept { return m_data[i]; }
  const T& operator[](std::size_t i) const noexcept { return m_data[i]; }
  std::span<T> span() noexcept { return {m_data, m_size}; }
  std::span<const T> span() const noexcept { return {m_data, m_size}; }
  T* begin() noexcept { return m_data; }
  T* end() noexcept { return m_data + m_size; }
  const T* begin() const noexcept { return m_data; }
  const T* end() const noexcept { return m_data + m_size; }

 private:
  T* m_data = nullptr;
  std::size_t m_size = 0;
};

}  // namespace dma
