// Whole-run reliability: determinism (the same seed gives a byte-identical trajectory
// store, on the simulator and on a tiny env::Cpt) and resource limits (a disk that fills up
// during a checkpoint or a store append, a domain with too little data, a memory budget that
// cannot hold the config): each a clear dma::Error before finished work is lost.
#include <catch2/catch.hpp>

#include "../support/temp_dir.hpp"

#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "dma/collect/collector.hpp"
#include "dma/collect/mixed.hpp"
#include "dma/collect/store.hpp"
#include "dma/core/file_io.hpp"
#include "dma/env/sim.hpp"
#include "dma/model/guard.hpp"
#include "dma/model/llama.hpp"
#include "dma/model/state.hpp"
#include "dma/reward/balanced.hpp"
#include "env_cpt_fixture.hpp"

// A namespace of its own: the test programs are unity builds (tests/CMakeLists.txt).
namespace dma_test_reliability_runs {

namespace fs = std::filesystem;

namespace {

using dma::test::TempDir;

template <class Env>
std::string collect_store(const fs::path& path, std::function<Env(std::uint64_t)> make, std::vector<std::uint64_t> inst,
                          std::size_t per, std::uint64_t seed) {
  dma::collect::CollectOptions o;
  o.per_instance = per;
  o.seed = seed;
  dma::collect::Collector<Env, dma::reward::Balanced> c(make, {}, o);
  fs::remove(path);
  auto w = dma::collect::StoreWriter::create(path);
  c.run(dma::collect::Mixed{}, inst, &w);
  return dma::io::read_file(path);
}

// Runs `fn` in a child whose files may not grow past `limit` bytes (RLIMIT_FSIZE: writes past
// it fail with EFBIG, as on a full disk). Returns the child's exit code (fn's return value).
int with_file_size_limit(std::size_t limit, const std::function<int()>& fn) {
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    ::signal(SIGXFSZ, SIG_IGN);  // get EFBIG from write() instead of being killed
    const rlimit rl{limit, limit};
    if (::setrlimit(RLIMIT_FSIZE, &rl) != 0) ::_exit(90);
    int rc = 91;
    try {
      rc = fn();
    } catch (...) {
      rc = 92;
    }
    ::_exit(rc);
  }
  int st = 0;
  while (::waitpid(pid, &st, 0) < 0 && errno == EINTR) {
  }
  REQUIRE(WIFEXITED(st));
  return WEXITSTATUS(st);
}

}  // namespace

TEST_CASE("determinism: two simulator collections with the same seed write byte-identical stores", "[collect][cpu]") {
  TempDir dir("det_sim");
  auto make = [](std::uint64_t s) { return dma::env::SimEnv(dma::env::SimFamily{}, s, 2 + s % 4); };
  const auto a = collect_store<dma::env::SimEnv>(dir.path / "a.dmat", make, {1, 2, 3}, 4, 7);
  const auto b = collect_store<dma::env::SimEnv>(dir.path / "b.dmat", make, {1, 2, 3}, 4, 7);
  const auto c = collect_store<dma::env::SimEnv>(dir.path / "c.dmat", make, {1, 2, 3}, 4, 8);
  CHECK(a.size() > 1000);
  CHECK(a == b);
  CHECK(a != c);  // the seed matters (the check above is not vacuous)
}

TEST_CASE("determinism: two env::Cpt collections with the same seed write byte-identical stores", "[collect][env][cpu]") {
  TempDir dir("det_cpt");
  const auto world = cpt_test::world();
  using Env = dma::env::Cpt<>;
  auto make = [world](std::uint64_t s) { return Env(world, s); };
  const auto a = collect_store<Env>(dir.path / "a.dmat", make, {5}, 2, 3);
  const auto b = collect_store<Env>(dir.path / "b.dmat", make, {5}, 2, 3);
  REQUIRE(dma::collect::read_store(dir.path / "a.dmat").size() == 2);
  CHECK(a == b);  // includes Feedback::seconds, which env::Cpt reports as a nominal cost
}

TEST_CASE("limits: a checkpoint write on a full disk fails clearly and keeps the previous file", "[model][cpu]") {
  TempDir dir("full_ckpt");
  dma::model::ModelConfig small, big;
  small.d_model = 16, small.layers = 1, small.heads = 2, small.context = 8;
  big = small;
  big.d_model = 64, big.layers = 2;
  const fs::path p = dir.path / "ckpt.bin";
  dma::model::TrainState<>::create(small, 1).save(p);
  const std::string old_bytes = dma::io::read_file(p);
  const auto big_state = dma::model::TrainState<>::create(big, 2);
  REQUIRE(big_state.serialize().size() > old_bytes.size() + 4096);
  const int rc = with_file_size_limit(old_bytes.size() + 4096, [&] {
    try {
      big_state.save(p);
    } catch (const dma::Error& e) {
      const std::string m = e.what();
      return m.find("ckpt.bin") != std::string::npos && m.find("write failed") != std::string::npos &&
                     m.find("previous file is kept") != std::string::npos
                 ? 0
                 : 2;
    }
    return 1;  // no error: the limit did not bite
  });
  CHECK(rc == 0);
  CHECK(dma::io::read_file(p) == old_bytes);  // the old checkpoint is intact
  std::size_t files = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(dir.path)) ++files;
  CHECK(files == 1);  // the temp file was removed
  CHECK_NOTHROW(dma::model::TrainState<>::load(p));
}

TEST_CASE("limits: a store append on a full disk fails clearly; reopening keeps every finished record", "[collect][cpu]") {
  TempDir dir("full_store");
  auto make = [](std::uint64_t s) { return dma::env::SimEnv(dma::env::SimFamily{}, s, 3); };
  dma::collect::CollectOptions o;
  o.per_instance = 6;
  dma::collect::Collector<dma::env::SimEnv, dma::reward::Balanced> c(make, {}, o);
  const auto trs = c.run(dma::collect::Mixed{}, {4});
  const fs::path p = dir.path / "s.dmat";
  {
    auto w = dma::collect::StoreWriter::create(p);
    w.append(trs[0]);
    w.append(trs[1]);
  }
  const auto size2 = fs::file_size(p);
  const std::size_t rec = 12 + dma::collect::serialize_trajectory(trs[2]).size() + 4;
  const int rc = with_file_size_limit(size2 + rec + rec / 2, [&] {  // the 4th record does not fit
    auto w = dma::collect::StoreWriter::open(p);
    try {
      for (std::size_t i = 2; i < trs.size(); ++i) w.append(trs[i]);
    } catch (const dma::Error& e) {
      const std::string m = e.what();
      return m.find("s.dmat") != std::string::npos && m.find("append of record") != std::string::npos ? 0 : 2;
    }
    return 1;
  });
  CHECK(rc == 0);
  auto w = dma::collect::StoreWriter::open(p);  // drops the torn tail the failed append left
  CHECK(w.count() == 3);           // the records appended before the disk filled
  CHECK(w.dropped_bytes() > 0);    // the torn 4th record was cut off
  const auto back = dma::collect::read_store(p);
  for (std::size_t i = 0; i < back.size(); ++i)
    CHECK(dma::collect::serialize_trajectory(back[i]) == dma::collect::serialize_trajectory(trs[i]));
}

TEST_CASE("limits: a domain with too little data fails with its name, not a crash", "[env][cpu]") {
  // 'records' holds 5 tokens: far fewer than one row of context + 1 = 33 tokens.
  dma::Rng r(2024);
  std::vector<dma::DomainInfo> info{{"prose", dma::Field::Source}, {"records", dma::Field::Source},
                                    {"math", dma::Field::Target}};
  auto full = cpt_test::corpus();
  std::vector<std::vector<dma::Token>> train(3);
  for (std::size_t d = 0; d < 3; ++d) train[d].assign(full.train[d].begin(), full.train[d].end());
  train[1].resize(5);
  auto data = dma::env::CptData::from_memory(info, std::move(train), full.heldout, "tiny-domain corpus");
  auto cfg = cpt_test::config();
  std::string msg = "no error";
  try {
    const auto world = dma::env::CptWorld<>::create(cfg, data, cpt_test::corpus(), false);
    dma::env::Cpt<> env(world);
    for (int s = 0; s < 4; ++s) env.step({0.1, 0.8, 0.1});
  } catch (const dma::Error& e) {
    msg = e.what();
  }
  INFO(msg);
  CHECK(msg.find("records") != std::string::npos);
}

namespace {
double resident_bytes() {
  std::FILE* f = std::fopen("/proc/self/statm", "r");
  long pages = 0, resident = 0;
  if (f) {
    if (std::fscanf(f, "%ld %ld", &pages, &resident) != 2) resident = 0;
    std::fclose(f);
  }
  return double(resident) * double(::sysconf(_SC_PAGESIZE));
}
}  // namespace

TEST_CASE("limits: the memory estimate matches what a proxy setup really holds", "[model][cpu]") {
  dma::model::ModelConfig c;
  c.d_model = 128, c.layers = 4, c.heads = 4, c.context = 128;
  const double est = dma::model::estimate_train_bytes(c, 8, 1);
#if defined(__GLIBC__)
  // Earlier tests in this program leave freed, still-resident heap that malloc would hand back
  // (and glibc's dynamic mmap threshold grows with it): give it back to the system and map every
  // large buffer afresh, so that the growth below is what this setup holds.
  ::mallopt(M_MMAP_THRESHOLD, 128 * 1024);
  ::malloc_trim(0);
#endif
  const double before = resident_bytes();
  dma::model::Llama<> net(c, 8, 1);  // buffers are zeroed on allocation: all of them become resident
  auto s = dma::model::TrainState<>::create(c, 1);
  const double held = resident_bytes() - before;
  INFO("estimate " << est / 1048576 << " MiB, resident growth " << held / 1048576 << " MiB");
  CHECK(est > 20e6);  // big enough for RSS to measure it
  CHECK(held > 0.85 * est);
  CHECK(held < 1.15 * est);
}

TEST_CASE("limits: a memory budget that cannot hold the config fails before anything is allocated", "[env][cpu]") {
  auto cfg = cpt_test::config();
  cfg.memory_budget_mb = 0.5;
  const auto t0 = std::chrono::steady_clock::now();
  const auto data = cpt_test::corpus();
  CHECK_THROWS_WITH(dma::env::CptWorld<>::create(cfg, data, data, false),
                    Catch::Contains("memory_budget_mb") && Catch::Contains("MiB"));
  CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::seconds(5));  // no pre-training happened
  cfg.memory_budget_mb = 4096;  // a budget that holds it changes nothing (not part of the world fingerprint)
  CHECK(cfg.identity() == cpt_test::config().identity());
  CHECK_THROWS_WITH(dma::env::CptConfig::from_json(dma::Json{{"memory_budget_mb", -1}}, "c.json"),
                    Catch::Contains("memory_budget_mb"));
}

}  // namespace dma_test_reliability_runs
