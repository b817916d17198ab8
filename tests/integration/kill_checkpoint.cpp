// Kill test, checkpoint half (collect_kill.cpp is the collection half). A forked child
// writes checkpoints in a loop and is killed with SIGKILL at a random moment; afterwards every
// file must be exactly one version the child meant to write (old or new, never torn) and a
// resumed run must end bit-identical to an uninterrupted one. Writers covered: the proxy's
// TrainState::save, Agent::save, env::Cpt::save, and store compaction (finalize_store).
// Each scenario runs 24 trials and prints "kill_checkpoint: WRITER: N trials, T torn, ...".
#include <catch2/catch.hpp>

#include "../support/temp_dir.hpp"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <functional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "dma/agent/agent.hpp"
#include "dma/collect/campaign_ledger.hpp"
#include "dma/collect/collector.hpp"
#include "dma/collect/mixed.hpp"
#include "dma/collect/store.hpp"
#include "dma/core/file_io.hpp"
#include "dma/core/rng.hpp"
#include "dma/env/sim.hpp"
#include "dma/model/optim.hpp"
#include "dma/model/state.hpp"
#include "dma/reward/balanced.hpp"
#include "../unit/env_cpt_fixture.hpp"

// A namespace of its own: the test programs are unity builds (tests/CMakeLists.txt).
namespace dma_test_kill_checkpoint {

namespace fs = std::filesystem;

namespace {

constexpr int kTrials = 24;

using dma::test::TempDir;

// Runs `work` in a forked child and SIGKILLs it after `delay` (unless it finished first).
// Returns true when the child was killed.
bool run_and_kill(const std::function<void()>& work, std::chrono::microseconds delay) {
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    try {
      work();
    } catch (...) {
      ::_exit(3);
    }
    ::_exit(0);
  }
  const auto deadline = std::chrono::steady_clock::now() + delay;
  int st = 0;
  for (;;) {
    const pid_t r = ::waitpid(pid, &st, WNOHANG);
    if (r == pid) {  // finished before the kill: must have succeeded
      REQUIRE(WIFEXITED(st));
      REQUIRE(WEXITSTATUS(st) == 0);
      return false;
    }
    if (std::chrono::steady_clock::now() >= deadline) break;
    std::this_thread::sleep_for(std::chrono::microseconds(100));
  }
  ::kill(pid, SIGKILL);
  while (::waitpid(pid, &st, 0) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(st)) REQUIRE(WEXITSTATUS(st) == 0);  // exited between the last poll and the kill
  return WIFSIGNALED(st);
}

// Measures how long `work` takes in a child, so kills land over its whole duration.
std::chrono::microseconds duration_of(const std::function<void()>& work) {
  const auto t0 = std::chrono::steady_clock::now();
  run_and_kill(work, std::chrono::seconds(60));
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - t0);
}

std::chrono::microseconds random_delay(dma::Rng& r, std::chrono::microseconds full) {
  return std::chrono::microseconds(std::int64_t(r.uniform() * 0.9 * double(full.count())));
}

std::size_t leftovers(const fs::path& dir) {
  std::size_t n = 0;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.path().filename().string().find(".tmp.") != std::string::npos) ++n;
  return n;
}

void report(const char* writer, int trials, int killed, int torn, int left) {
  std::printf("kill_checkpoint: %s: %d trials (%d killed mid-run), %d torn files, %d temp files left (ignored by readers)\n",
              writer, trials, killed, torn, left);
}

// ---- proxy TrainState ------------------------------------------------------------------------
dma::model::ModelConfig tiny() {
  dma::model::ModelConfig c;
  c.d_model = 32;
  c.layers = 2;
  c.heads = 2;
  c.context = 16;
  return c;
}
constexpr std::uint64_t kSteps = 40;

// Trains from `ckpt` (or a fresh state) to kSteps, saving after every step. The network is made
// here, in the process that uses it: a Llama's thread pool does not survive fork().
void train_to_end(const fs::path& ckpt, std::vector<std::string>* versions = nullptr) {
  using namespace dma::model;
  Llama<> net(tiny(), 4, 1);
  auto s = fs::exists(ckpt) ? TrainState<>::load(ckpt) : TrainState<>::create(tiny(), 11);
  if (versions) versions->push_back(s.serialize());
  std::vector<dma::Token> in(4 * 16), tg(4 * 16);
  const auto sched = LrSchedule::warmup_cosine(3e-3f, 4, kSteps);
  while (s.step < kSteps) {
    for (std::size_t j = 0; j < in.size(); ++j) {
      in[j] = dma::Token(97 + s.rng.below(12));
      tg[j] = dma::Token(97 + (in[j] - 97 + 3) % 12);
    }
    const MicroBatch mb{in.data(), tg.data(), 4, 16};
    train_step(net, s, sched, AdamWConfig{}, std::span(&mb, 1));
    s.save(ckpt);
    if (versions) versions->push_back(s.serialize());
  }
}

}  // namespace

TEST_CASE("kill: TrainState checkpoints are old or new after SIGKILL, and resuming ends bit-identical", "[kill][cpu]") {
  TempDir dir("state");
  std::vector<std::string> versions;  // every file content the writer may leave, in order
  train_to_end(dir.path / "ref.ckpt", &versions);
  const std::set<std::string> allowed(versions.begin(), versions.end());
  const std::string final_bytes = versions.back();
  const auto full = duration_of([&] { train_to_end(dir.path / "timing.ckpt"); });

  dma::Rng r(2026);
  int killed = 0, torn = 0, left = 0;
  for (int trial = 0; trial < kTrials; ++trial) {
    const fs::path run = dir.path / ("t" + std::to_string(trial));
    fs::create_directories(run);
    // A second kill on a resumed run in every third trial (crash during recovery).
    for (int k = 0; k < 1 + (trial % 3 == 2); ++k)
      killed += run_and_kill([&] { train_to_end(run / "ckpt"); }, random_delay(r, full));
    if (fs::exists(run / "ckpt")) {
      const std::string bytes = dma::io::read_file(run / "ckpt");
      if (!allowed.count(bytes)) ++torn;
      CHECK_NOTHROW(dma::model::TrainState<>::load(run / "ckpt"));
    }
    left += int(leftovers(run));
    train_to_end(run / "ckpt");  // resume in this process
    CHECK(dma::io::read_file(run / "ckpt") == final_bytes);
  }
  report("TrainState::save", kTrials, killed, torn, left);
  CHECK(torn == 0);
  CHECK(killed >= kTrials / 2);  // most kills landed mid-run (the test means something)
}

TEST_CASE("kill: agent checkpoints are one complete version after SIGKILL", "[kill][cpu]") {
  namespace ag = dma::agent;
  TempDir dir("agent");
  ag::AgentConfig cfg;
  cfg.d_model = 16;
  std::vector<std::string> versions;
  for (std::uint64_t seed = 1; seed <= 6; ++seed) {
    ag::Agent(cfg, seed).save(dir.path / "v.agent");
    versions.push_back(dma::io::read_file(dir.path / "v.agent"));
  }
  const std::set<std::string> allowed(versions.begin(), versions.end());
  auto writer = [&](const fs::path& p) {
    for (int round = 0; round < 4; ++round)
      for (std::uint64_t seed = 1; seed <= 6; ++seed) ag::Agent(cfg, seed).save(p);
  };
  const auto full = duration_of([&] { writer(dir.path / "timing.agent"); });
  dma::Rng r(7);
  int killed = 0, torn = 0, left = 0;
  for (int trial = 0; trial < kTrials; ++trial) {
    const fs::path run = dir.path / ("t" + std::to_string(trial));
    fs::create_directories(run);
    killed += run_and_kill([&] { writer(run / "a.agent"); }, random_delay(r, full));
    if (fs::exists(run / "a.agent")) {
      if (!allowed.count(dma::io::read_file(run / "a.agent"))) ++torn;
      CHECK_NOTHROW(ag::Agent::load(run / "a.agent"));
    }
    left += int(leftovers(run));
  }
  report("Agent::save", kTrials, killed, torn, left);
  CHECK(torn == 0);
  CHECK(killed >= kTrials / 2);
}

TEST_CASE("kill: env::Cpt saved runs survive SIGKILL and resume to the uninterrupted result", "[kill][env][cpu]") {
  TempDir dir("cpt");
  const auto world = cpt_test::world();
  const dma::Mixture mix{0.25, 0.25, 0.5};
  // Runs all stages from `path` (or a fresh run), saving after each; returns the last feedback.
  auto run_to_end = [&](const fs::path& path) {
    dma::env::Cpt<> env(world, 3);
    if (fs::exists(path)) env.load(path);
    dma::Feedback f;
    while (env.stage() < world->config().stages) {
      f = env.step(mix);
      env.save(path);
    }
    return env.steps().back().feedback;
  };
  const dma::Feedback ref = run_to_end(dir.path / "ref.cpt");
  const auto full = duration_of([&] { run_to_end(dir.path / "timing.cpt"); });
  dma::Rng r(99);
  int killed = 0, torn = 0, left = 0;
  for (int trial = 0; trial < kTrials; ++trial) {
    const fs::path run = dir.path / ("t" + std::to_string(trial));
    fs::create_directories(run);
    killed += run_and_kill([&] { run_to_end(run / "run.cpt"); }, random_delay(r, full));
    if (fs::exists(run / "run.cpt")) {
      try {
        dma::env::Cpt<> e(world, 3);
        e.load(run / "run.cpt");
      } catch (const dma::Error& e) {
        ++torn;
        FAIL_CHECK("torn env::Cpt file: " << e.what());
      }
    }
    left += int(leftovers(run));
    const dma::Feedback f = run_to_end(run / "run.cpt");
    CHECK(f.loss == ref.loss);  // bit-identical losses and scores after resuming
    CHECK(f.score == ref.score);
  }
  report("env::Cpt::save", kTrials, killed, torn, left);
  CHECK(torn == 0);
  CHECK(killed >= kTrials / 2);
}

TEST_CASE("kill: store compaction (finalize_store) leaves the old or the canonical store, never a torn one", "[kill][collect][cpu]") {
  namespace col = dma::collect;
  TempDir dir("compact");
  col::CollectOptions o;
  o.per_instance = 4;
  auto make_env = [](std::uint64_t seed) { return dma::env::SimEnv(dma::env::SimFamily{}, seed, 4); };
  col::Collector<dma::env::SimEnv, dma::reward::Balanced> c(make_env, {}, o);
  auto trs = c.run(col::Mixed{}, {21, 22, 23, 24, 25, 26, 27, 28});
  const std::size_t total = trs.size();
  const dma::Json meta{{"test", "compaction"}};
  // The store as a crashed collection leaves it: records out of id order (not canonical).
  auto make_unordered = [&](const fs::path& p) {
    fs::remove(p);
    auto w = col::StoreWriter::create(p, meta);
    for (std::size_t i = total; i-- > 0;) w.append(trs[i], false);
    w.sync();
  };
  make_unordered(dir.path / "old.dmat");
  const std::string old_bytes = dma::io::read_file(dir.path / "old.dmat");
  REQUIRE(col::finalize_store(dir.path / "old.dmat", meta, total));
  const std::string new_bytes = dma::io::read_file(dir.path / "old.dmat");
  REQUIRE(new_bytes != old_bytes);
  make_unordered(dir.path / "timing.dmat");
  const auto full = duration_of([&] { col::finalize_store(dir.path / "timing.dmat", meta, total); });
  dma::Rng r(5);
  int killed = 0, torn = 0, left = 0;
  for (int trial = 0; trial < kTrials; ++trial) {
    const fs::path run = dir.path / ("t" + std::to_string(trial));
    fs::create_directories(run);
    make_unordered(run / "s.dmat");
    killed += run_and_kill([&] { col::finalize_store(run / "s.dmat", meta, total); }, random_delay(r, full));
    const std::string now = dma::io::read_file(run / "s.dmat");
    if (now != old_bytes && now != new_bytes) ++torn;
    for (const auto& e : fs::directory_iterator(run))
      if (e.path().filename() != "s.dmat") ++left;
    col::remove_leftovers(run / "s.dmat");
    col::finalize_store(run / "s.dmat", meta, total);  // the restarted finalize
    CHECK(dma::io::read_file(run / "s.dmat") == new_bytes);
    CHECK(col::read_store(run / "s.dmat").size() == total);  // none lost, none duplicated
  }
  report("finalize_store (compaction)", kTrials, killed, torn, left);
  CHECK(torn == 0);
}

}  // namespace dma_test_kill_checkpoint
