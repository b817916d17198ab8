// End to end on tiny settings: the quickstart program collects, compares and writes its files.
#include <catch2/catch.hpp>

#include <dma/collect/store.hpp>
#include <dma/core/config.hpp>

#include <cstdlib>
#include <filesystem>
#include <set>
#include <string>

// A namespace of its own: the test programs are unity builds (tests/CMakeLists.txt).
namespace dma_test_quickstart_sim {

TEST_CASE("quickstart sim: a small run writes results.json with the oracle on top", "[integration][cpu]") {
  const std::filesystem::path exe = std::filesystem::path(DMA_BINARY_DIR) / "examples" / "quickstart_sim";
  if (!std::filesystem::exists(exe)) {
    WARN("quickstart_sim is not built (examples off?): " << exe);
    return;
  }
  const auto out = std::filesystem::temp_directory_path() / ("dma_qs_" + std::to_string(::getpid()));
  const std::string cmd = exe.string() + " --out " + out.string() +
                          " --train_instances 4 --per_instance 4 --heldout 6 --seeds 1 --branches 4"
                          " --sft_epochs 3 --cql_epochs 2 --quiet > /dev/null";
  REQUIRE(std::system(cmd.c_str()) == 0);
  const auto j = dma::load_json(out / "results.json");
  const auto& all = j["summary"]["all"];
  double oracle = -1e9, best_other = -1e9;
  for (const auto& s : all) {
    if (s["method"] == "oracle") oracle = s["mean_return"].get<double>();
    else best_other = std::max(best_other, s["mean_return"].get<double>());
  }
  CHECK(oracle >= best_other);
  CHECK(j["summary"].contains("D=5 (unseen D)"));
  // Both agents were trained and deployed; their learners' reports are kept.
  std::set<std::string> names;
  for (const auto& s : all) names.insert(s["method"].get<std::string>());
  CHECK(names.count("agent-sft") == 1);
  CHECK(names.count("agent-cql") == 1);
  CHECK(j["learners"]["sft"]["trajectories"].get<std::size_t>() > 0);
  CHECK(j["learners"]["cql"]["trajectories"].get<std::size_t>() == 16);
  CHECK(j["learners"]["cql"]["curve"].size() == 2);
  CHECK(dma::collect::read_store(out / "trajectories.dmat").size() == 16);
  CHECK(std::filesystem::file_size(out / "trajectories.npz") > 1000);
  std::filesystem::remove_all(out);
}

}  // namespace dma_test_quickstart_sim
