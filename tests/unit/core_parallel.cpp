#include <catch2/catch.hpp>

#include <dma/core/error.hpp>
#include <dma/core/parallel.hpp>

#include <atomic>
#include <chrono>
#include <set>
#include <stdexcept>
#include <thread>
#include <vector>

// A namespace of its own: the test programs are unity builds (tests/CMakeLists.txt).
namespace dma_test_core_parallel {

TEST_CASE("parallel_for: every item runs exactly once, on workers below the count", "[core][cpu]") {
  for (std::size_t workers : {1u, 3u, 16u}) {
    std::vector<std::atomic<int>> hits(50);
    std::atomic<std::size_t> max_worker{0};
    dma::parallel_for(hits.size(), workers, [&](std::size_t i, std::size_t w) {
      ++hits[i];
      for (std::size_t m = max_worker; w > m && !max_worker.compare_exchange_weak(m, w);) {
      }
    });
    for (const auto& h : hits) CHECK(h == 1);
    CHECK(max_worker < workers);
  }
  dma::parallel_for(0, 4, [](std::size_t, std::size_t) { FAIL("no items: f is never called"); });
}

TEST_CASE("parallel_for: the first error stops the hand-out and is rethrown after the join", "[core][cpu]") {
  std::atomic<int> ran{0};
  CHECK_THROWS_WITH(dma::parallel_for(1000, 2,
                                      [&](std::size_t i, std::size_t) {
                                        ++ran;
                                        if (i == 3) dma::fail("item ", i, " failed");
                                        // Items take a while, so that the hand-out has not
                                        // already run out when the error arrives.
                                        std::this_thread::sleep_for(std::chrono::milliseconds(1));
                                      }),
                    Catch::Contains("item 3 failed"));
  CHECK(ran < 1000);  // items after the error were not handed out
}

}  // namespace dma_test_core_parallel
