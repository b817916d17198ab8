// dma/collect/campaign_ledger.hpp: the trajectory store as the ledger of a collection campaign.
// recover_ledger() opens the store P and any per-rank journals P.rank<r> (MPI), drops a torn last
// record of each (a crash mid-append), checks that they were written for the same plan, and
// returns which trajectory ids are done. finalize_store() merges P and the journals into P in
// canonical order (sorted by trajectory id, one record per id) with an atomic rename, so the
// final bytes do not depend on worker count, completion order, MPI ranks or crashes.
// Tested in tests/unit/collect_campaign.cpp and tests/integration/collect_kill.cpp.
#pragma once

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "dma/collect/store.hpp"
#include "dma/core/config.hpp"
#include "dma/core/error.hpp"

namespace dma::collect {

namespace detail {
inline bool starts_with(const std::string& s, const std::string& p) { return s.rfind(p, 0) == 0; }
inline void fsync_dir(const std::filesystem::path& file) {
  const auto dir = file.has_parent_path() ? file.parent_path() : std::filesystem::path(".");
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
}
inline void check_metadata(const std::filesystem::path& p, const Json& expected) {
  const Json schema = read_store_schema(p);
  const Json got = schema.contains("metadata") ? schema["metadata"] : Json();
  if (got != expected)
    fail(p.string(), ": field 'metadata': this store was written for another campaign (plan, generator or "
                     "environment differ), so it cannot be resumed; expected ",
         expected.dump(), ", found ", got.dump(), ". Use another output path or delete the store.");
}
}  // namespace detail

// An exclusive lock on a store for the lifetime of a collection (flock on P.lock): a second
// collector started on the same store fails fast instead of interleaving appends. The kernel
// drops the lock when the holder dies, so a kill -9 never leaves a stale lock behind.
class StoreLock {
 public:
  explicit StoreLock(const std::filesystem::path& store) : m_path(store.string() + ".lock") {
    m_fd = ::open(m_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (m_fd < 0) fail(m_path, ": cannot open the store's lock file: ", std::strerror(errno));
    if (::flock(m_fd, LOCK_EX | LOCK_NB) != 0) {
      ::close(m_fd);
      m_fd = -1;
      fail(store.string(), ": another collector is writing this store (", m_path,
           " is locked); wait for it to finish or stop it first");
    }
  }
  StoreLock(const StoreLock&) = delete;
  StoreLock& operator=(const StoreLock&) = delete;
  ~StoreLock() {
    if (m_fd >= 0) ::close(m_fd);  // closing releases the flock
  }

 private:
  std::string m_path;
  int m_fd = -1;
};

// The journal that MPI rank `rank` appends to (merged into the store by finalize_store).
inline std::filesystem::path journal_path(const std::filesystem::path& store, int rank) {
  return std::filesystem::path(store.string() + ".rank" + std::to_string(rank));
}

// Existing journals of `store`, in a fixed order (by name).
inline std::vector<std::filesystem::path> journal_paths(const std::filesystem::path& store) {
  namespace fs = std::filesystem;
  std::vector<fs::path> out;
  const fs::path dir = store.has_parent_path() ? store.parent_path() : fs::path(".");
  if (!fs::exists(dir)) return out;
  const std::string prefix = store.filename().string() + ".rank";
  for (const auto& e : fs::directory_iterator(dir)) {
    const std::string n = e.path().filename().string();
    if (detail::starts_with(n, prefix) && n.find(".tmp.") == std::string::npos) out.push_back(e.path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

// Removes what an interrupted atomic write leaves behind (P.tmp.<pid>, P.compact*). Call it only
// when no other process writes this store.
inline std::size_t remove_leftovers(const std::filesystem::path& store) {
  namespace fs = std::filesystem;
  const fs::path dir = store.has_parent_path() ? store.parent_path() : fs::path(".");
  if (!fs::exists(dir)) return 0;
  const std::string base = store.filename().string();
  std::vector<fs::path> stale;
  for (const auto& e : fs::directory_iterator(dir)) {
    const std::string n = e.path().filename().string();
    if (!detail::starts_with(n, base + ".")) continue;
    if (n.find(".tmp.") != std::string::npos || detail::starts_with(n, base + ".compact")) stale.push_back(e.path());
  }
  for (const auto& p : stale) fs::remove(p);
  return stale.size();
}

struct Ledger {
  std::vector<std::uint8_t> done;  // per trajectory id: 1 when a durable record exists
  std::size_t done_count = 0;
  std::size_t dropped_bytes = 0;   // torn tails removed (crash mid-append)
  std::vector<std::string> notes;  // what recovery did, for the log
};

// Opens the store (creating it, with `metadata`, when absent) and every journal; recovers torn
// tails; checks metadata; returns the done set over ids [0, total).
inline Ledger recover_ledger(const std::filesystem::path& store, const Json& metadata, std::size_t total) {
  Ledger L;
  L.done.assign(total, 0);
  if (!std::filesystem::exists(store)) {
    StoreWriter::create(store, metadata);
  }
  std::vector<std::filesystem::path> files{store};
  for (auto& j : journal_paths(store)) files.push_back(j);
  for (const auto& f : files) {
    {
      const StoreWriter w = StoreWriter::open(f);  // truncates a torn last record
      if (!w.recovered().empty()) {
        L.dropped_bytes += w.dropped_bytes();
        L.notes.push_back("dropped a torn last record (" + std::to_string(w.dropped_bytes()) + " bytes): " +
                          w.recovered());
      }
    }
    detail::check_metadata(f, metadata);
    for (const auto& tr : read_store(f)) {
      if (tr.id >= total)
        fail(f.string(), ": trajectory id ", tr.id, " is outside this plan's ids [0, ", total, ")");
      if (!L.done[tr.id]) ++L.done_count;
      L.done[tr.id] = 1;
    }
  }
  return L;
}

// Merges the store and its journals into the store in canonical order (ids 0 .. total-1, one
// record each), atomically; removes the journals. Every id must be present. A trajectory
// recorded twice must be byte-identical (else the environment is not deterministic: error).
// Returns true when the store was rewritten (false: it was already canonical).
inline bool finalize_store(const std::filesystem::path& store, const Json& metadata, std::size_t total) {
  namespace fs = std::filesystem;
  std::vector<fs::path> files{store};
  const auto journals = journal_paths(store);
  for (auto& j : journals) files.push_back(j);
  std::vector<Trajectory> by_id(total);
  std::vector<std::string> bytes(total);
  std::vector<std::uint8_t> have(total, 0);
  bool canonical = journals.empty();
  std::size_t position = 0;
  for (const auto& f : files) {
    detail::check_metadata(f, metadata);
    for (auto& tr : read_store(f)) {
      if (tr.id >= total)
        fail(f.string(), ": trajectory id ", tr.id, " is outside this plan's ids [0, ", total, ")");
      std::string b = serialize_trajectory(tr);
      if (have[tr.id]) {
        if (b != bytes[tr.id])
          fail(f.string(), ": trajectory id ", tr.id,
               " is recorded twice with different content (is the environment deterministic?)");
        canonical = false;
        continue;
      }
      if (tr.id != position) canonical = false;
      ++position;
      have[tr.id] = 1;
      bytes[tr.id] = std::move(b);
      by_id[tr.id] = std::move(tr);
    }
  }
  const auto missing = std::count(have.begin(), have.end(), std::uint8_t(0));
  if (missing > 0)
    fail(store.string(), ": cannot finalize: ", missing, " of ", total, " trajectories are missing");
  if (!canonical) {
    const fs::path tmp(store.string() + ".compact");
    {
      StoreWriter w = StoreWriter::create(tmp, metadata, /*overwrite=*/true);
      for (const auto& tr : by_id) w.append(tr, /*sync=*/false);
      w.sync();
    }
    if (std::rename(tmp.c_str(), store.c_str()) != 0)
      fail(store.string(), ": cannot replace the store with its canonical version (rename failed)");
    detail::fsync_dir(store);
  }
  // Only after the canonical store is durable: every journal's content is in it.
  for (const auto& j : journals) fs::remove(j);
  if (!journals.empty()) detail::fsync_dir(store);
  return !canonical;
}

}  // namespace dma::collect
