// End to end on tiny settings: the online reference (examples/sim_policy_search) improves its share
// policy on the training instances and reports it under the oracle on both instance sets.
#include <catch2/catch.hpp>

#include <dma/core/config.hpp>

#include <cstdlib>
#include <filesystem>
#include <string>

// A namespace of its own: the test programs are unity builds (tests/CMakeLists.txt).
namespace dma_test_sim_policy_search {

double mean_of(const dma::Json& summary, const std::string& method) {
  for (const auto& s : summary)
    if (s["method"] == method) return s["mean_return"].get<double>();
  FAIL("no row for " << method);
  return 0;
}

TEST_CASE("sim policy search: CEM improves the share policy, which stays under the oracle", "[integration][cpu]") {
  const std::filesystem::path exe = std::filesystem::path(DMA_BINARY_DIR) / "examples" / "sim_policy_search";
  if (!std::filesystem::exists(exe)) {
    WARN("sim_policy_search is not built (examples off?): " << exe);
    return;
  }
  const auto out = std::filesystem::temp_directory_path() / ("dma_sps_" + std::to_string(::getpid()));
  const std::string cmd = exe.string() + " --out " + out.string() +
                          " --train_instances 8 --iterations 8 --population 12 --elite 3 --heldout 6 --seeds 1"
                          " --quiet > /dev/null";
  REQUIRE(std::system(cmd.c_str()) == 0);
  const auto j = dma::load_json(out / "results.json");
  // The initial mean weights (all zero) give a constant share of 0.5, far above most instances'
  // best; eight CEM iterations find better weights on the same run seed.
  CHECK(j["train"]["return_final"].get<double>() > j["train"]["return_initial"].get<double>() + 0.005);
  CHECK(j["cem"]["curve"].size() == 8);
  CHECK(j["policy"]["weights"].size() == 6u * (16u + 1u) + 6u + 1u);  // hidden 6, 16 inputs
  for (const char* set : {"validation", "heldout"}) {
    const auto& all = j[set]["summary"]["all"];
    CHECK(mean_of(all, "oracle") >= mean_of(all, "share_policy(online CEM)"));
    CHECK(mean_of(all, "oracle") >= mean_of(all, "uniform"));
  }
  CHECK(j["heldout"]["base"].get<std::uint64_t>() == 900000);
  std::filesystem::remove_all(out);
}

TEST_CASE("sim policy search: bad options are refused with the field's name", "[integration][cpu]") {
  const std::filesystem::path exe = std::filesystem::path(DMA_BINARY_DIR) / "examples" / "sim_policy_search";
  if (!std::filesystem::exists(exe)) return;
  const std::string cmd = exe.string() + " --out /tmp/dma_sps_bad --population 4 --elite 5 --quiet 2>&1 | grep -q \"field 'elite'\"";
  CHECK(std::system(cmd.c_str()) == 0);
}

}  // namespace dma_test_sim_policy_search
