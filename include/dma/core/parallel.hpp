// dma/core/parallel.hpp: parallel_for(n, workers, f), the one work-sharing loop of the drivers
// (the main job's stages, the headroom diagnostic): items 0..n-1 are handed out one at a time to
// `workers` threads (the caller's thread is worker 0), f(i, worker) runs each; the first exception
// stops the hand-out and is rethrown after every thread has joined. No work is lost to a slow
// item: the next free worker takes the next item. Tested in tests/unit/core_parallel.cpp.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

namespace dma {

template <class F>
void parallel_for(std::size_t n, std::size_t workers, F&& f) {
  std::atomic<std::size_t> next{0};
  std::exception_ptr err;
  std::mutex mu;
  auto loop = [&](std::size_t worker) {
    for (;;) {
      const std::size_t i = next++;
      if (i >= n) return;
      try {
        f(i, worker);
      } catch (...) {
        std::lock_guard<std::mutex> g(mu);
        if (!err) err = std::current_exception();
        next = n;
      }
    }
  };
  std::vector<std::thread> ts;
  for (std::size_t w = 1; w < std::min(workers, n); ++w) ts.emplace_back(loop, w);
  loop(0);
  for (auto& t : ts) t.join();
  if (err) std::rethrow_exception(err);
}

}  // namespace dma
