// dma/collect/mpi.hpp: run_mpi(), the collection Campaign under `mpirun -np N` (OpenMPI). Rank 0
// recovers the ledger (the store plus every per-rank journal) and broadcasts the done set; rank
// r runs the pending work items with id % N == r into its own journal P.rank<r> (crash-safe like
// the store); after a barrier rank 0 merges everything into the store in canonical id order
// (campaign_ledger.hpp), so `mpirun -np N` and a single process give byte-identical stores.
// Compiled only where CMake defines DMA_WITH_MPI (the collect_mpi program); without it this
// header declares nothing. Tested in tests/integration/collect_mpi.cpp.
#pragma once

#if defined(DMA_WITH_MPI)
#include <mpi.h>

#include <cstdio>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "dma/collect/campaign.hpp"

namespace dma::collect {

// MPI_Init / MPI_Finalize as a scope.
class MpiSession {
 public:
  MpiSession(int& argc, char**& argv) {
    int inited = 0;
    MPI_Initialized(&inited);
    if (!inited) {
      MPI_Init(&argc, &argv);
      m_owner = true;
    }
    MPI_Comm_rank(MPI_COMM_WORLD, &m_rank);
    MPI_Comm_size(MPI_COMM_WORLD, &m_size);
  }
  MpiSession(const MpiSession&) = delete;
  MpiSession& operator=(const MpiSession&) = delete;
  ~MpiSession() {
    if (m_owner) MPI_Finalize();
  }
  [[nodiscard]] int rank() const noexcept { return m_rank; }
  [[nodiscard]] int size() const noexcept { return m_size; }

 private:
  int m_rank = 0, m_size = 1;
  bool m_owner = false;
};

namespace detail {
// A failure on one rank must not leave the others waiting in a collective: report and abort.
template <class F>
void on_rank_or_abort(MPI_Comm comm, int rank, const char* what, F&& f) {
  try {
    f();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "collect (rank %d): %s failed: %s\n", rank, what, e.what());
    std::fflush(stderr);
    MPI_Abort(comm, 1);
  }
}
}  // namespace detail

// Runs the campaign across the ranks of `comm`; every rank returns the totals of all ranks
// (items_run, written, stats), and complete/rewritten as seen by rank 0. Worker processes are
// not used under MPI (forking an MPI process is unsafe): opt.mode is forced to threads.
template <Environment Env, Reward R, ScheduleGenerator G>
CampaignReport run_mpi(Campaign<Env, R, G>& campaign, const std::filesystem::path& store, CampaignOptions opt,
                       MPI_Comm comm = MPI_COMM_WORLD) {
  const auto t0 = MPI_Wtime();
  int rank = 0, size = 1;
  MPI_Comm_rank(comm, &rank);
  MPI_Comm_size(comm, &size);
  opt.mode = WorkerMode::Threads;
  if (rank != 0) opt.progress = false;
  const std::size_t total = campaign.plan().trajectories();
  const Json meta = campaign.metadata();
  CampaignReport rep;
  rep.items = campaign.plan().items();
  rep.trajectories = total;
  std::vector<std::uint8_t> done(total, 0);
  std::optional<StoreLock> lock;  // rank 0 holds it for the whole collection
  if (rank == 0)
    detail::on_rank_or_abort(comm, rank, "recovery", [&] {
      if (store.has_parent_path()) std::filesystem::create_directories(store.parent_path());
      lock.emplace(store);
      remove_leftovers(store);
      Ledger L = recover_ledger(store, meta, total);
      for (const auto& n : L.notes) std::fprintf(stderr, "collect: %s: %s\n", store.c_str(), n.c_str());
      done = std::move(L.done);
      rep.dropped_bytes = L.dropped_bytes;
    });
  MPI_Bcast(done.data(), int(total), MPI_UINT8_T, 0, comm);
  for (auto d : done) rep.already_done += d;

  const auto mine = campaign.pending(done, [&](std::uint64_t id) { return id % std::uint64_t(size) == std::uint64_t(rank); });
  detail::on_rank_or_abort(comm, rank, "collection", [&] {
    if (mine.empty()) return;
    const auto jp = journal_path(store, rank);
    StoreWriter w = std::filesystem::exists(jp) ? StoreWriter::open(jp) : StoreWriter::create(jp, meta);
    campaign.execute(mine, done, w, opt, rep);
  });

  // Totals over ranks (counts as doubles: exact far beyond any plausible campaign).
  double local[6] = {double(rep.items_run), double(rep.written), double(rep.recomputed),
                     double(rep.stats.env_stages), double(rep.stats.stages_saved), rep.stats.tokens};
  double sum[6] = {};
  MPI_Allreduce(local, sum, 6, MPI_DOUBLE, MPI_SUM, comm);
  rep.items_run = std::size_t(sum[0]);
  rep.written = std::size_t(sum[1]);
  rep.recomputed = std::size_t(sum[2]);
  rep.stats.env_stages = std::size_t(sum[3]);
  rep.stats.stages_saved = std::size_t(sum[4]);
  rep.stats.tokens = sum[5];
  rep.stats.trajectories = rep.written;

  // Rank 0 merges once every rank's journal is closed (their writers went out of scope above).
  MPI_Barrier(comm);
  int flags[2] = {0, 0};
  if (rank == 0)
    detail::on_rank_or_abort(comm, rank, "merge", [&] {
      if (rep.already_done + rep.written == total) {
        flags[0] = 1;
        flags[1] = finalize_store(store, meta, total) ? 1 : 0;
      }
    });
  MPI_Bcast(flags, 2, MPI_INT, 0, comm);
  rep.complete = flags[0] != 0;
  rep.rewritten = flags[1] != 0;
  rep.wall_seconds = MPI_Wtime() - t0;
  return rep;
}

}  // namespace dma::collect

#endif  // DMA_WITH_MPI
