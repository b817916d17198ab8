// End to end on a tiny config: the experiment driver (examples/experiment) runs every stage on
// the synthetic corpus, writes results.json with every method and setting, and a rerun skips the
// finished stages (no run file is rewritten). Runs the built program as a process (~5-15 s).
#include <catch2/catch.hpp>

#include <dma/core/config.hpp>

#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <set>
#include <string>

// A namespace of its own: the test programs are unity builds (tests/CMakeLists.txt).
namespace dma_test_experiment_tiny {

namespace fs = std::filesystem;

namespace {
const char* kTiny = R"({
  "data": "synthetic", "threads": 1, "parallel": 2, "seeds": 1, "target_weights": [0.5, 0.7],
  "proxy": {"d_model": 16, "layers": 1, "heads": 2, "context": 16},
  "large": {"d_model": 32, "layers": 2, "heads": 2, "context": 16},
  "base": {"tokens": 8192, "batch": 4, "peak_lr": 0.003},
  "alt_sources": ["prose", "digits"],
  "cpt": {"stages": 3, "tokens_per_stage": 128, "batch": 4, "peak_lr": 0.002,
          "eval": {"windows": 4, "probe_items": 2, "probe_context_bytes": 8, "probe_answer_bytes": 8, "batch": 8,
                   "final_windows": 4, "final_probe_items": 2, "final_exact_items": 0}},
  "two_d_tokens_per_source": 4000,
  "kd": {"k": 3, "k_unseen": 2},
  "collection": {"pools": [0, 200], "scarcity_pools": [100, 200], "instances": 2, "groups": 1, "branches": 2,
                 "prefix_stages": 1},
  "agents": {"sft_epochs": 2, "cql_epochs": 2},
  "benchmark": {"windows": 4, "probe_items": 2},
  "baselines": {"grid": 2, "tune_instances": 2, "regmix_runs": 3, "regmix_transfer_runs": 3}
})";

std::map<std::string, fs::file_time_type> stamps(const fs::path& dir) {
  std::map<std::string, fs::file_time_type> m;
  for (const auto& e : fs::recursive_directory_iterator(dir))
    if (e.is_regular_file()) m[e.path().string()] = e.last_write_time();
  return m;
}
}  // namespace

TEST_CASE("experiment: a tiny end-to-end run has every method and setting, and a rerun skips finished stages",
          "[integration][cpu]") {
  const fs::path exe = fs::path(DMA_BINARY_DIR) / "examples" / "experiment";
  if (!fs::exists(exe)) {
    WARN("experiment is not built (examples off?): " << exe);
    return;
  }
  const auto dir = fs::temp_directory_path() / ("dma_exp_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  dma::io::atomic_write(dir / "tiny.json", kTiny);
  const auto out = dir / "out";
  const std::string cmd = exe.string() + " --config " + (dir / "tiny.json").string() + " --cache_dir " +
                          (dir / "cache").string() + " --out " + out.string() + " --quiet --no-report > " +
                          (dir / "log1").string() + " 2>&1";
  REQUIRE(std::system(cmd.c_str()) == 0);

  const auto j = dma::load_json(out / "results.json");
  CHECK(j["schema"] == "dma.results/1");
  CHECK(j["target_weights"].size() == 2);
  const std::set<std::string> want_settings{"in_dist_2d", "in_dist_kd", "scarcity", "unseen_model",
                                            "unseen_source", "unseen_space", "code_target"};
  const std::set<std::string> want_methods{"base", "target_only", "uniform", "replay_25", "replay_50", "replay_75",
                                           "static_tuned", "regmix_transfer", "regmix_refit", "dbl", "doremi",
                                           "odm", "sft_agent", "cql_agent", "hindsight_static"};
  std::set<std::string> settings;
  for (const auto& s : j["settings"]) {
    settings.insert(s["name"].get<std::string>());
    for (double w : {0.5, 0.7}) {
      std::set<std::string> methods;
      for (const auto& r : s["runs"])
        if (std::abs(r["target_weight"].get<double>() - w) < 1e-12) {
          methods.insert(r["method"].get<std::string>());
          CHECK(r["scores"].size() == s["benchmarks"].size());
          CHECK(std::isfinite(r["objective"].get<double>()));
        }
      CHECK(methods == want_methods);
    }
    // The base model is the zero of the objective; the refit baselines report their proxy cost.
    for (const auto& r : s["runs"]) {
      if (r["method"] == "base") CHECK(r["objective"].get<double>() == Approx(0.0).margin(1e-12));
      if (r["method"] == "regmix_refit" || r["method"] == "doremi" || r["method"] == "hindsight_static")
        CHECK(r["extra_tokens"].get<double>() > 0);
      if (r["method"] == "cql_agent") CHECK(r["extra_tokens"].get<double>() == 0);
      // Each run records the hidden target pool its seed drew: in scarcity, seed i gets entry i mod n
      // of scarcity_pools (stratified instances), elsewhere the pool is unlimited.
      REQUIRE(r["target_pool_tokens"].is_number_unsigned());
      const auto pool = r["target_pool_tokens"].get<std::size_t>();
      if (s["name"] == "scarcity") CHECK(pool == (r["seed"].get<std::size_t>() % 2 == 0 ? 100u : 200u));
      else CHECK(pool == 0);
    }
    CHECK(s["summary"].size() == 2 * want_methods.size());
  }
  CHECK(settings == want_settings);
  // The unseen model is larger than the proxy the agents were trained on.
  double small = 0, large = 0;
  for (const auto& s : j["settings"]) {
    if (s["name"] == "in_dist_kd") small = s["params"].get<double>();
    if (s["name"] == "unseen_model") large = s["params"].get<double>();
  }
  CHECK(large > 2 * small);

  // Rerun: every stage is found finished; no file under runs/ or settings/ is rewritten.
  const auto before = stamps(out / "runs");
  const auto t0 = std::chrono::steady_clock::now();
  REQUIRE(std::system((exe.string() + " --config " + (dir / "tiny.json").string() + " --cache_dir " +
                       (dir / "cache").string() + " --out " + out.string() + " --quiet --no-report > " +
                       (dir / "log2").string() + " 2>&1").c_str()) == 0);
  const double rerun = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  CHECK(stamps(out / "runs") == before);
  CHECK(dma::load_json(out / "results.json")["settings"].size() == 7);
  CHECK(rerun < 10.0);

  // More seeds in the same folder: the finished seed's runs are kept, only seed 1 is deployed.
  REQUIRE(std::system((exe.string() + " --config " + (dir / "tiny.json").string() + " --seeds 2 --cache_dir " +
                       (dir / "cache").string() + " --out " + out.string() + " --quiet --no-report > " +
                       (dir / "log3").string() + " 2>&1").c_str()) == 0);
  const auto after = stamps(out / "runs");
  for (const auto& [path, t] : before) CHECK(after.at(path) == t);
  CHECK(after.size() > before.size());
  const auto j2 = dma::load_json(out / "results.json");
  CHECK(j2["seeds_per_setting"] == 2);
  for (const auto& s : j2["settings"])
    for (const auto& row : s["summary"]) CHECK(row["seeds"] == 2);

  // Another config in the same folder is refused, not mixed in.
  CHECK(std::system((exe.string() + " --config " + (dir / "tiny.json").string() + " --seeds 2 --agents.sft_epochs 3 "
                     "--cache_dir " + (dir / "cache").string() + " --out " + out.string() + " --quiet --no-report > " +
                     (dir / "log4").string() + " 2>&1").c_str()) != 0);
  CHECK_THAT(dma::io::read_file(dir / "log4"), Catch::Contains("made with another experiment config"));
  fs::remove_all(dir);
}

}  // namespace dma_test_experiment_tiny
