// Replays the fuzz targets (tests/fuzz/fuzz_*.cpp) under g++: every input kept in
// tests/fuzz/regressions/<target>/ (each once crashed a reader; now refused or accepted
// cleanly) and the generated seeds. Runs in the normal suite and under scripts/sanitize.sh, so
// a fixed crash that comes back fails CI even where clang/libFuzzer is not installed.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <string>

#define DMA_FUZZ_ENTRY dma_fuzz_state
#include "../fuzz/fuzz_state.cpp"
#undef DMA_FUZZ_ENTRY
#define DMA_FUZZ_ENTRY dma_fuzz_store
#include "../fuzz/fuzz_store.cpp"
#undef DMA_FUZZ_ENTRY
#define DMA_FUZZ_ENTRY dma_fuzz_agent
#include "../fuzz/fuzz_agent.cpp"
#undef DMA_FUZZ_ENTRY
#define DMA_FUZZ_ENTRY dma_fuzz_shard
#include "../fuzz/fuzz_shard.cpp"
#undef DMA_FUZZ_ENTRY
#define DMA_FUZZ_ENTRY dma_fuzz_config
#include "../fuzz/fuzz_config.cpp"
#undef DMA_FUZZ_ENTRY
#define DMA_FUZZ_ENTRY dma_fuzz_manifest
#include "../fuzz/fuzz_manifest.cpp"
#undef DMA_FUZZ_ENTRY
#define DMA_FUZZ_ENTRY dma_fuzz_jsonl
#include "../fuzz/fuzz_jsonl.cpp"
#undef DMA_FUZZ_ENTRY
#define DMA_FUZZ_ENTRY dma_fuzz_serve
#include "../fuzz/fuzz_serve.cpp"
#undef DMA_FUZZ_ENTRY
#include "../fuzz/seeds.hpp"

// A namespace of its own: the test programs are unity builds (tests/CMakeLists.txt).
namespace dma_test_reliability_fuzz_replay {

namespace {

using Entry = int (*)(const std::uint8_t*, std::size_t);
const std::map<std::string, Entry> kTargets{{"state", dma_fuzz_state},   {"store", dma_fuzz_store},
                                            {"agent", dma_fuzz_agent},   {"shard", dma_fuzz_shard},
                                            {"config", dma_fuzz_config}, {"manifest", dma_fuzz_manifest},
                                            {"jsonl", dma_fuzz_jsonl},   {"serve", dma_fuzz_serve}};

int feed(Entry f, const std::string& bytes) {
  return f(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size());
}

}  // namespace

TEST_CASE("fuzz replay: every kept crash input is now refused or accepted cleanly", "[fuzz][cpu]") {
  const std::filesystem::path root = std::filesystem::path(DMA_TEST_DATA_DIR).parent_path() / "fuzz" / "regressions";
  std::size_t replayed = 0;
  if (std::filesystem::exists(root))
    for (const auto& dir : std::filesystem::directory_iterator(root)) {
      if (!dir.is_directory()) continue;
      const auto name = dir.path().filename().string();
      const auto it = kTargets.find(name.rfind("fuzz_", 0) == 0 ? name.substr(5) : name);
      INFO("regressions folder " << dir.path() << " has no fuzz target");
      REQUIRE(it != kTargets.end());
      for (const auto& f : std::filesystem::directory_iterator(dir.path())) {
        INFO("replaying " << f.path());
        CHECK(feed(it->second, dma::io::read_file(f.path())) == 0);
        ++replayed;
      }
    }
  std::printf("fuzz replay: %zu regression inputs\n", replayed);
}

TEST_CASE("fuzz replay: the seeds of every target run through it, and a one-byte mutation of each too", "[fuzz][cpu]") {
  const auto scratch = std::filesystem::temp_directory_path() / ("dma_fuzz_seeds_" + std::to_string(::getpid()));
  const auto seeds = dma_fuzz::make_seeds(scratch);
  std::filesystem::remove_all(scratch);
  REQUIRE(seeds.size() == kTargets.size());
  for (const auto& [target, files] : seeds) {
    REQUIRE(kTargets.count(target) == 1);
    for (const auto& [name, bytes] : files) {
      INFO(target << "/" << name);
      CHECK(feed(kTargets.at(target), bytes) == 0);
      for (std::size_t at : {std::size_t(1), bytes.size() / 3, bytes.size() - 1}) {
        std::string m = bytes;
        if (at < m.size()) m[at] = char(m[at] ^ 0x5a);
        CHECK(feed(kTargets.at(target), m) == 0);
      }
    }
  }
}

TEST_CASE("fuzz replay: the seeds are valid files that their readers accept", "[fuzz][cpu]") {
  const auto scratch = std::filesystem::temp_directory_path() / ("dma_fuzz_valid_" + std::to_string(::getpid()));
  const auto seeds = dma_fuzz::make_seeds(scratch);
  std::filesystem::remove_all(scratch);
  const std::string& st = seeds.at("state").at(0).second;
  CHECK_NOTHROW(dma::model::TrainState<>::deserialize(std::string_view(st).substr(1), "seed"));
  const std::string& rec = seeds.at("store").at(1).second;
  CHECK(dma::collect::deserialize_trajectory(rec, "seed").history.steps.size() > 0);
  CHECK_NOTHROW(dma::data::CorpusManifest::parse(dma::parse_json(seeds.at("manifest").at(0).second, "seed"), "m.json"));
}

}  // namespace dma_test_reliability_fuzz_replay
