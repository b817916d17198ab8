// make_seeds OUT_DIR: writes the seed corpus of every fuzz target (seeds.hpp) as
// OUT_DIR/<target>/<name>. Used by scripts/fuzz.sh before each bounded run.
#include <cstdio>
#include <filesystem>

#include "seeds.hpp"

int main(int argc, char** argv) try {
  if (argc != 2) {
    std::fprintf(stderr, "usage: make_seeds OUT_DIR\n");
    return 2;
  }
  const std::filesystem::path out = argv[1];
  const auto seeds = dma_fuzz::make_seeds(out / ".scratch");
  std::size_t n = 0;
  for (const auto& [target, files] : seeds) {
    std::filesystem::create_directories(out / target);
    for (const auto& [name, bytes] : files) {
      dma::io::atomic_write(out / target / name, bytes);
      ++n;
    }
  }
  std::filesystem::remove_all(out / ".scratch");
  std::printf("make_seeds: %zu seeds for %zu targets in %s\n", n, seeds.size(), out.c_str());
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "make_seeds: %s\n", e.what());
  return 1;
}
