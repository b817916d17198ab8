// Kill test: the `collect` example (examples/collect.cpp, preset sim-small) is
// killed with SIGKILL at random moments, sometimes twice in a row, then restarted with the same
// command. After every kill the store must be valid (at most a torn last record), hold only
// correct records, no id twice, and every trajectory the program reported as durable; after the
// restart it must be byte-identical to an uninterrupted run.
#include <catch2/catch.hpp>

#include <dma/collect/campaign_ledger.hpp>
#include <dma/collect/store.hpp>
#include <dma/core/rng.hpp>

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <thread>

// A namespace of its own: the test programs are unity builds (tests/CMakeLists.txt).
namespace dma_test_collect_kill {

namespace fs = std::filesystem;

namespace {
const fs::path kCollect = fs::path(DMA_BINARY_DIR) / "examples" / "collect";
const fs::path kPreset = fs::path(DMA_TEST_DATA_DIR) / ".." / ".." / "examples" / "presets" / "sim-small.json";

pid_t spawn(const std::vector<std::string>& args, const fs::path& out) {
  std::vector<char*> argv;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    const int fd = ::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    const int null = ::open("/dev/null", O_WRONLY);
    if (fd < 0 || null < 0) ::_exit(126);
    ::dup2(fd, 1);
    ::dup2(null, 2);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  return pid;
}
int wait_for(pid_t pid) {
  int st = 0;
  while (::waitpid(pid, &st, 0) < 0 && errno == EINTR) {
  }
  return st;
}
std::vector<std::uint64_t> reported(const fs::path& out) {
  std::ifstream in(out);
  std::vector<std::uint64_t> ids;
  std::string word;
  std::uint64_t id;
  while (in >> word) {
    if (word == "durable" && in >> id) ids.push_back(id);
  }
  return ids;
}
double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}
}  // namespace

TEST_CASE("collect kill: SIGKILL at random points loses no reported trajectory and resumes byte-identically",
          "[collect][integration][cpu]") {
  if (!fs::exists(kCollect)) FAIL("build the `collect` example first: " << kCollect);
  REQUIRE(fs::exists(kPreset));
  const fs::path dir = fs::temp_directory_path() / ("dma_kill_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  auto command = [&](const fs::path& store, const std::string& mode, int workers) {
    return std::vector<std::string>{kCollect.string(), "--config", kPreset.string(), "--out", store.string(),
                                    "--mode", mode, "--workers", std::to_string(workers), "--report-ids"};
  };

  // The uninterrupted reference, and how long a run takes here (kills land inside it).
  const fs::path ref_path = dir / "ref.dmat";
  const auto t0 = std::chrono::steady_clock::now();
  REQUIRE(wait_for(spawn(command(ref_path, "threads", 1), dir / "ref.out")) == 0);
  const double T = seconds_since(t0);
  const std::string ref = dma::io::read_file(ref_path);
  std::map<std::uint64_t, std::string> ref_records;
  for (const auto& tr : dma::collect::read_store(ref_path)) ref_records[tr.id] = dma::collect::serialize_trajectory(tr);
  const std::size_t total = ref_records.size();
  REQUIRE(total == 192);

  dma::Rng rng(20261128);
  const int trials = 24;
  int mid_run = 0, torn = 0, kills = 0;
  for (int trial = 0; trial < trials; ++trial) {
    const std::string mode = trial % 3 == 2 ? "processes" : "threads";
    const int workers = trial % 2 == 0 ? 2 : 1;
    const fs::path store = dir / ("t" + std::to_string(trial) + ".dmat");
    std::set<std::uint64_t> ever_reported;
    const int kills_this_trial = trial % 4 == 3 ? 2 : 1;
    for (int k = 0; k < kills_this_trial + 1; ++k) {
      const fs::path out = dir / ("t" + std::to_string(trial) + "_" + std::to_string(k) + ".out");
      const pid_t pid = spawn(command(store, mode, workers), out);
      const bool last = k == kills_this_trial;
      if (last) {
        const int st = wait_for(pid);
        INFO("trial " << trial << " final run, status " << st);
        REQUIRE((WIFEXITED(st) && WEXITSTATUS(st) == 0));
      } else {
        if (rng.uniform() < 0.5) {
          // At a random moment of a typical run (start-up, collection, finalize, or after it).
          std::this_thread::sleep_for(std::chrono::duration<double>(rng.uniform(0.0, 1.0) * T));
        } else {
          // Once a random number of trajectories is reported (timing-independent: always mid-run
          // unless the run is faster than the polling), plus up to 2 ms.
          const std::size_t target = 1 + rng.below(std::uint32_t(total - 1));
          const auto start = std::chrono::steady_clock::now();
          while (reported(out).size() < target && seconds_since(start) < 4 * T + 1.0)
            std::this_thread::sleep_for(std::chrono::microseconds(300));
          std::this_thread::sleep_for(std::chrono::duration<double>(rng.uniform(0.0, 0.002)));
        }
        ::kill(pid, SIGKILL);
        wait_for(pid);
        ++kills;
      }
      // Every id reported durable by this run is new (never written twice across restarts).
      for (auto id : reported(out)) {
        INFO("trial " << trial << " run " << k << " reported id " << id);
        CHECK(ever_reported.insert(id).second);
      }
      if (!fs::exists(store)) continue;  // killed before the store's header was renamed into place
      // The store is valid: at most a torn last record; each record is correct and unique.
      dma::collect::detail::ScanResult scan;
      REQUIRE_NOTHROW(scan = dma::collect::detail::scan_store(store, /*allow_torn_tail=*/true));
      if (!scan.tail_problem.empty()) ++torn;
      std::set<std::uint64_t> ids;
      for (const auto& tr : scan.records) {
        INFO("trial " << trial << " run " << k << " record id " << tr.id);
        CHECK(ids.insert(tr.id).second);
        REQUIRE(ref_records.count(tr.id) == 1);
        CHECK(dma::collect::serialize_trajectory(tr) == ref_records[tr.id]);
      }
      // Nothing reported durable is missing.
      for (auto id : ever_reported) {
        INFO("trial " << trial << " run " << k << ": reported id " << id << " missing from the store");
        CHECK(ids.count(id) == 1);
      }
      if (!last && !ids.empty() && ids.size() < total) ++mid_run;
    }
    CHECK(dma::io::read_file(store) == ref);
    CHECK(dma::collect::journal_paths(store).empty());
  }
  WARN("kill test: " << trials << " trials, " << kills << " kills (" << mid_run << " mid-run, " << torn
                     << " left a torn last record), run time " << T << " s");
  CHECK(mid_run >= kills / 3);  // the kills did land inside runs
  fs::remove_all(dir);
}

}  // namespace dma_test_collect_kill
