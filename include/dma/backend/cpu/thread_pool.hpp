// dma/backend/cpu/thread_pool.hpp: a tiny fork-join pool for the CPU backend. The proxy splits a
// batch across threads (data parallel) with run(n, fn): no allocation per call (the job is a
// pointer to the caller's callable), workers sleep on a futex-backed atomic between jobs.
// Tested by the 1- vs 2-thread checks in tests/unit/model_train.cpp.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <thread>
#include <vector>

namespace dma::backend::cpu {

class ThreadPool {
 public:
  explicit ThreadPool(std::size_t threads = 1) : m_threads(threads < 1 ? 1 : threads) {
    m_workers.reserve(m_threads - 1);
    for (std::size_t i = 1; i < m_threads; ++i) m_workers.emplace_back([this, i] { work(i); });
  }
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;
  ~ThreadPool() {
    m_stop.store(true);
    m_generation.fetch_add(1);
    m_generation.notify_all();
    for (auto& w : m_workers) w.join();
  }

  [[nodiscard]] std::size_t size() const noexcept { return m_threads; }

  // Calls fn(i) for i in [0, size()) concurrently, i = 0 on the calling thread; returns when all
  // are done. fn must not throw.
  template <class F>
  void run(F& fn) {
    if (m_threads == 1) {
      fn(std::size_t(0));
      return;
    }
    m_ctx = &fn;
    m_call = [](void* ctx, std::size_t i) { (*static_cast<F*>(ctx))(i); };
    m_pending.store(std::uint32_t(m_threads - 1), std::memory_order_release);
    m_generation.fetch_add(1, std::memory_order_acq_rel);
    m_generation.notify_all();
    fn(std::size_t(0));
    for (;;) {
      const std::uint32_t p = m_pending.load(std::memory_order_acquire);
      if (p == 0) break;
      m_pending.wait(p, std::memory_order_acquire);
    }
  }

 private:
  void work(std::size_t i) {
    std::uint32_t seen = 0;
    for (;;) {
      m_generation.wait(seen, std::memory_order_acquire);
      seen = m_generation.load(std::memory_order_acquire);
      if (m_stop.load()) return;
      m_call(m_ctx, i);
      if (m_pending.fetch_sub(1, std::memory_order_acq_rel) == 1) m_pending.notify_all();
    }
  }

  std::size_t m_threads;
  std::vector<std::thread> m_workers;
  std::atomic<std::uint32_t> m_generation{0};
  std::atomic<std::uint32_t> m_pending{0};
  std::atomic<bool> m_stop{false};
  void* m_ctx = nullptr;
  void (*m_call)(void*, std::size_t) = nullptr;
};

}  // namespace dma::backend::cpu
