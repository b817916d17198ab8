#include <catch2/catch.hpp>

#include <dma/collect/mixed.hpp>
#include <dma/core/config.hpp>
#include <dma/env/sim.hpp>
#include <dma/reward/balanced.hpp>
#include <dma/rl/pipeline.hpp>
#include <dma/space/runtime.hpp>
#include <dma/trainer/trainer.hpp>

#include <cstdlib>
#include <filesystem>
#include <string>
#include <sys/wait.h>
#include <unistd.h>

// A namespace of its own: the test programs are unity builds (tests/CMakeLists.txt).
namespace dma_test_python_client {

// The Python client (examples/python/cpt_client.py, Debian's /usr/bin/python3 with torch 1.13)
// runs continual pre-training of a tiny byte LM on real corpus domains end to end against
// serve_agent. Skipped (with a warning) when /usr/bin/python3 has no torch or the corpus is not
// prepared; a machine with both must pass.
namespace fs = std::filesystem;

namespace {
int run(const std::string& cmd) {
  const int st = std::system(cmd.c_str());
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}
}  // namespace

TEST_CASE("python client: torch CPT against serve_agent, tiny settings", "[serve][integration][cpu]") {
  const fs::path repo = fs::path(DMA_TEST_DATA_DIR).parent_path().parent_path();  // <repo>/tests/data
  const fs::path client = repo / "examples/python/cpt_client.py";
  const fs::path server = fs::path(DMA_BINARY_DIR) / "examples/serve_agent";
  const fs::path data = repo / ".cache/dma-data";
  REQUIRE(fs::exists(client));
  if (run("/usr/bin/python3 -c 'import torch' > /dev/null 2>&1") != 0) {
    WARN("SKIPPED: /usr/bin/python3 has no torch (install python3-torch)");
    return;
  }
  if (!fs::exists(data / "corpus/math/heldout.jsonl")) {
    WARN("SKIPPED: the corpus is not prepared (scripts/prepare_data.sh)");
    return;
  }
  REQUIRE(fs::exists(server));  // built with the examples

  // A small agent trained here (SFT on simulated trajectories, about a second).
  const dma::env::SimFamily fam{};
  auto make = [&](std::uint64_t seed) { return dma::env::SimEnv(fam, seed, 2 + seed % 3); };
  dma::Trainer<dma::env::SimEnv, dma::reward::Balanced> tr(make, dma::reward::Balanced{});
  dma::collect::CollectOptions opt;
  opt.per_instance = 8;
  const auto traj = tr.collect(dma::collect::Mixed{}, {1, 2, 3, 4}, opt);
  dma::rl::PipelineConfig cfg;
  cfg.learner = dma::rl::PipelineLearner::Sft;
  cfg.sft.epochs = 5;
  cfg.holdout_fraction = 0;
  const fs::path dir = fs::temp_directory_path() / ("dma_python_client_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  dma::rl::train_agents(traj, cfg).final_agent().save(dir / "agent.dmaa");

  const std::string cmd = "cd '" + repo.string() + "' && /usr/bin/python3 '" + client.string() + "' --server '" +
                          server.string() + "' --agent '" + (dir / "agent.dmaa").string() +
                          "' --data .cache/dma-data --source fiction,code --target math --stages 3 --steps 3 "
                          "--pretrain 5 --batch 4 --ctx 32 --d-model 32 --layers 1 --eval-batches 1 "
                          "--max-bytes 40000 --threads 1 --json '" + (dir / "run.json").string() + "' > '" +
                          (dir / "log.txt").string() + "' 2>&1";
  const int rc = run(cmd);
  INFO("client log: " << dma::io::read_file(dir / "log.txt"));
  REQUIRE(rc == 0);
  const dma::Json rec = dma::load_json(dir / "run.json");
  REQUIRE(rec["stages"].size() == 3);
  for (const auto& st : rec["stages"]) {
    REQUIRE(st["mixture"].size() == 3);
    double s = 0;
    for (const auto& w : st["mixture"]) s += w.get<double>();
    CHECK(s == Approx(1.0).margin(1e-9));
    for (const auto& l : st["loss"]) CHECK(l.get<double>() > 0);
  }
  CHECK(rec["summary"]["server_exit"] == 0);
  fs::remove_all(dir);
}

}  // namespace dma_test_python_client
