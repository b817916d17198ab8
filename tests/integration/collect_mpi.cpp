// MPI collection: `mpirun -np 2 collect_mpi` and a single-process `collect` with the same
// preset and seed produce the same trajectories (the same store bytes), and a campaign started
// under one can be finished by the other (the store + per-rank journals are one ledger).
// Needs the collect and collect_mpi programs (tests/CMakeLists.txt adds the dependencies and
// DMA_MPIEXEC when DMA_ENABLE_MPI is on); without MPI the test only reports that it was skipped.
#include <catch2/catch.hpp>

#include <dma/collect/campaign_ledger.hpp>
#include <dma/collect/store.hpp>

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <set>
#include <string>

// A namespace of its own: the test programs are unity builds (tests/CMakeLists.txt).
namespace dma_test_collect_mpi {

namespace fs = std::filesystem;

#if defined(DMA_MPIEXEC)
namespace {
const fs::path kBin = fs::path(DMA_BINARY_DIR) / "examples";
const fs::path kPreset = fs::path(DMA_TEST_DATA_DIR) / ".." / ".." / "examples" / "presets" / "sim-small.json";

int run(const std::string& cmd, const fs::path& log) {
  const std::string full = cmd + " > " + log.string() + " 2>&1";
  const int rc = std::system(full.c_str());
  if (rc != 0) {
    std::string text;
    if (fs::exists(log)) text = dma::io::read_file(log);
    FAIL_CHECK("command failed (" << rc << "): " << full << "\n" << text);
  }
  return rc;
}
std::string mpirun(int np) {
  // Root in CI containers; localhost only; shared memory without the CMA single-copy path
  // (unavailable in many containers).
  return "OMPI_MCA_btl_vader_single_copy_mechanism=none " + std::string(DMA_MPIEXEC) +
         " --allow-run-as-root --oversubscribe -np " + std::to_string(np) + " " + (kBin / "collect_mpi").string();
}
std::string single() { return (kBin / "collect").string(); }
std::string args(const fs::path& out, const std::string& extra = "") {
  return " --config " + kPreset.string() + " --out " + out.string() + " " + extra;
}
std::set<std::string> records(const fs::path& p) {
  std::set<std::string> s;
  for (const auto& tr : dma::collect::read_store(p)) s.insert(dma::collect::serialize_trajectory(tr));
  return s;
}
}  // namespace

TEST_CASE("collect mpi: mpirun -np 2 and one process give the same trajectories", "[collect][mpi][integration][cpu]") {
  REQUIRE(fs::exists(kBin / "collect_mpi"));
  REQUIRE(fs::exists(kBin / "collect"));
  const fs::path dir = fs::temp_directory_path() / ("dma_mpi_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  REQUIRE(run(single() + args(dir / "one.dmat", "--workers 1"), dir / "one.log") == 0);
  REQUIRE(run(mpirun(2) + args(dir / "mpi.dmat"), dir / "mpi.log") == 0);
  const auto one = records(dir / "one.dmat");
  CHECK(one.size() == 192);
  CHECK(records(dir / "mpi.dmat") == one);
  CHECK(dma::io::read_file(dir / "mpi.dmat") == dma::io::read_file(dir / "one.dmat"));
  CHECK(dma::collect::journal_paths(dir / "mpi.dmat").empty());

  // Started under MPI (stopped after 5 items per rank, journals left), finished by one process...
  REQUIRE(run(mpirun(2) + args(dir / "a.dmat", "--max-items 5"), dir / "a1.log") == 0);
  CHECK(dma::collect::journal_paths(dir / "a.dmat").size() == 2);
  REQUIRE(run(single() + args(dir / "a.dmat", "--workers 2"), dir / "a2.log") == 0);
  CHECK(dma::io::read_file(dir / "a.dmat") == dma::io::read_file(dir / "one.dmat"));
  // ...and the other way round.
  REQUIRE(run(single() + args(dir / "b.dmat", "--max-items 7"), dir / "b1.log") == 0);
  REQUIRE(run(mpirun(2) + args(dir / "b.dmat"), dir / "b2.log") == 0);
  CHECK(dma::io::read_file(dir / "b.dmat") == dma::io::read_file(dir / "one.dmat"));
  fs::remove_all(dir);
}
#else
TEST_CASE("collect mpi: skipped, this build has no MPI (DMA_ENABLE_MPI=OFF)", "[collect][mpi][integration][cpu]") {
  WARN("collect_mpi was not built; the MPI collection test did not run");
  SUCCEED();
}
#endif

}  // namespace dma_test_collect_mpi
