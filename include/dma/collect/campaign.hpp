// dma/collect/campaign.hpp: Campaign, the collection driver over any dma::Environment. It runs a
// CampaignPlan (collect/campaign_plan.hpp): each work item is one prefix group run by the
// Collector (collect/collector.hpp: k stages trained once, fork()ed into b branches), on worker
// threads or worker processes; one writer appends finished trajectories to ONE store with group
// commit (write, one fsync, then report). The store is the ledger (campaign_ledger.hpp): a
// restart after kill -9 skips what is durable, reruns only in-flight items, and the final store is
// rewritten in canonical id order, byte-identical to an uninterrupted run. collect/mpi.hpp splits
// the same plan across MPI ranks. Tested in tests/unit/collect_campaign.cpp and
// tests/integration/collect_{kill,mpi}.cpp; docs/COLLECTION.md.
// Over 400 lines: worker threads, worker processes and the one writer share one item protocol.
#pragma once

#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <exception>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "dma/collect/campaign_ledger.hpp"
#include "dma/collect/campaign_plan.hpp"
#include "dma/collect/collector.hpp"
#include "dma/core/concepts.hpp"
#include "dma/core/progress.hpp"

namespace dma::collect {

// Threads share one address space (cheap, the default); processes isolate allocators and any
// per-process state of an environment (fork() happens before any environment is built).
enum class WorkerMode { Threads, Processes };

inline WorkerMode parse_worker_mode(const std::string& s, const std::string& source = "campaign") {
  if (s == "threads") return WorkerMode::Threads;
  if (s == "processes") return WorkerMode::Processes;
  fail(source, ": key 'mode': expected \"threads\" or \"processes\", got \"", s, "\"");
}
inline const char* to_string(WorkerMode m) noexcept { return m == WorkerMode::Threads ? "threads" : "processes"; }

struct CampaignOptions {
  std::size_t workers = 1;
  WorkerMode mode = WorkerMode::Threads;
  bool progress = false;
  // Called with each trajectory id once its record is durable (after the fsync).
  std::function<void(std::uint64_t)> on_durable;
  // Stop after this many work items have been written (0: no limit); for tests of resumption.
  std::size_t max_items = 0;
};

struct CampaignReport {
  std::size_t items = 0, items_run = 0, trajectories = 0;
  std::size_t already_done = 0;  // durable in the ledger at start
  std::size_t written = 0;       // appended by this run
  std::size_t recomputed = 0;    // computed again for a partly written item and discarded
  std::size_t dropped_bytes = 0; // torn tails recovered
  CollectStats stats;            // env_stages, stages_saved, tokens, env seconds (this run)
  double wall_seconds = 0;
  bool complete = false, rewritten = false;

  [[nodiscard]] Json to_json() const {
    const double h = wall_seconds / 3600.0;
    return Json{{"items", items},
                {"items_run", items_run},
                {"trajectories", trajectories},
                {"already_done", already_done},
                {"written", written},
                {"recomputed", recomputed},
                {"dropped_bytes", dropped_bytes},
                {"env_stages", stats.env_stages},
                {"stages_saved", stats.stages_saved},
                // Tokens of the trajectories written, shared prefixes counted once per branch
                // (what independent runs would have trained); trained tokens scale with env_stages.
                {"trajectory_tokens", stats.tokens},
                {"wall_seconds", wall_seconds},
                {"trajectories_per_hour", h > 0 ? double(written) / h : 0.0},
                {"trajectory_tokens_per_second", wall_seconds > 0 ? stats.tokens / wall_seconds : 0.0},
                {"complete", complete},
                {"rewritten", rewritten}};
  }
};

namespace detail {
// One finished work item, as the writer receives it.
struct ItemResult {
  std::uint64_t item = 0;
  std::vector<Trajectory> trajectories;
  CollectStats stats;
};

// Blocking full read/write on a stream socket (EINTR-safe; never raises SIGPIPE).
inline bool read_exact(int fd, void* buf, std::size_t n) {
  auto* p = static_cast<char*>(buf);
  while (n > 0) {
    const ssize_t r = ::read(fd, p, n);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return false;
    p += r;
    n -= std::size_t(r);
  }
  return true;
}
inline bool write_all(int fd, const void* buf, std::size_t n) {
  const auto* p = static_cast<const char*>(buf);
  while (n > 0) {
    const ssize_t r = ::send(fd, p, n, MSG_NOSIGNAL);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return false;
    p += r;
    n -= std::size_t(r);
  }
  return true;
}
inline constexpr std::uint64_t kStopItem = ~std::uint64_t(0);

inline std::string encode_result(const ItemResult& r) {
  io::Writer w;
  w.put<std::uint64_t>(r.item);
  w.put<std::uint64_t>(r.stats.trajectories);
  w.put<std::uint64_t>(r.stats.env_stages);
  w.put<std::uint64_t>(r.stats.stages_saved);
  w.put(r.stats.tokens);
  w.put(r.stats.seconds);
  w.put<std::uint64_t>(r.trajectories.size());
  for (const auto& tr : r.trajectories) w.put_string(serialize_trajectory(tr));
  return std::move(w.bytes());
}
inline ItemResult decode_result(std::string_view bytes, const std::string& source) {
  io::Reader r(bytes, source);
  ItemResult out;
  out.item = r.get<std::uint64_t>("item");
  out.stats.trajectories = r.get<std::uint64_t>("trajectories");
  out.stats.env_stages = r.get<std::uint64_t>("env stages");
  out.stats.stages_saved = r.get<std::uint64_t>("stages saved");
  out.stats.tokens = r.get<double>("tokens");
  out.stats.seconds = r.get<double>("seconds");
  const auto n = r.get_count("trajectory count", 1u << 20);
  for (std::size_t k = 0; k < n; ++k)
    out.trajectories.push_back(deserialize_trajectory(r.get_string("trajectory", 1u << 30), source));
  return out;
}
inline void add_stats(CollectStats& a, const CollectStats& b) {
  a.trajectories += b.trajectories;
  a.env_stages += b.env_stages;
  a.stages_saved += b.stages_saved;
  a.tokens += b.tokens;
  a.seconds += b.seconds;
}
}  // namespace detail

template <Environment Env, Reward R, ScheduleGenerator G>
class Campaign {
 public:
  using MakeEnv = std::function<Env(std::uint64_t instance_seed)>;

  // `context` (e.g. the environment's config) goes into the store's metadata with the plan: a
  // store is resumed only by a campaign with the same plan, generator and context.
  Campaign(CampaignPlan plan, MakeEnv make_env, R reward = {}, G gen = {}, Json context = Json::object())
      : m_plan(std::move(plan)), m_make(std::move(make_env)), m_reward(std::move(reward)),
        m_gen(std::move(gen)), m_context(std::move(context)) {
    m_plan.validate();
  }

  [[nodiscard]] const CampaignPlan& plan() const noexcept { return m_plan; }
  [[nodiscard]] Json metadata() const {
    return Json{{"campaign", m_plan.to_json()}, {"generator", m_gen.name()}, {"context", m_context}};
  }

  // Runs one work item: a prefix group on its instance, ids first_id .. first_id + b - 1.
  // `make` may be a caching wrapper of the campaign's MakeEnv (see cached_maker()).
  detail::ItemResult run_item(const WorkItem& w, const MakeEnv& make) const {
    CollectOptions o;
    o.per_instance = w.trajectories;
    o.branches = w.trajectories;
    o.prefix_stages = m_plan.prefix_stages;
    o.seed = w.seed;
    Collector<Env, R> c(make, m_reward, o);
    c.set_next_id(w.first_id);
    detail::ItemResult r;
    r.item = w.id;
    r.trajectories = c.run(m_gen, {w.instance_seed});
    r.stats = c.stats();
    return r;
  }

  // A MakeEnv for one worker that builds each instance once and hands out forks of it (building
  // an instance can mean loading a base model; items of one instance are adjacent in the plan).
  MakeEnv cached_maker() const {
    struct Cache {
      std::optional<std::uint64_t> seed;
      std::optional<Env> env;
    };
    auto cache = std::make_shared<Cache>();
    MakeEnv make = m_make;
    return [cache, make](std::uint64_t s) {
      if (!cache->seed || *cache->seed != s) {
        cache->env.reset();
        cache->env.emplace(make(s));
        cache->seed = s;
      }
      return cache->env->fork();
    };
  }

  // Work items with at least one trajectory not yet done, in id order; `keep(id)` partitions.
  [[nodiscard]] std::vector<std::uint64_t> pending(const std::vector<std::uint8_t>& done,
                                                   const std::function<bool(std::uint64_t)>& keep = {}) const {
    std::vector<std::uint64_t> out;
    for (std::uint64_t i = 0; i < m_plan.items(); ++i) {
      if (keep && !keep(i)) continue;
      const WorkItem w = m_plan.item(i);
      bool all = true;
      for (std::size_t b = 0; b < w.trajectories; ++b) all = all && done[w.first_id + b];
      if (!all) out.push_back(i);
    }
    return out;
  }

  // The whole single-machine job: recover the ledger, run what is pending, finalize the store.
  CampaignReport run(const std::filesystem::path& store, const CampaignOptions& opt = {}) {
    const auto t0 = std::chrono::steady_clock::now();
    if (store.has_parent_path()) std::filesystem::create_directories(store.parent_path());
    const StoreLock lock(store);
    remove_leftovers(store);
    Ledger L = recover_ledger(store, metadata(), m_plan.trajectories());
    CampaignReport rep;
    rep.items = m_plan.items();
    rep.trajectories = m_plan.trajectories();
    rep.already_done = L.done_count;
    rep.dropped_bytes = L.dropped_bytes;
    for (const auto& n : L.notes) std::fprintf(stderr, "collect: %s: %s\n", store.c_str(), n.c_str());
    {
      StoreWriter w = StoreWriter::open(store);
      execute(pending(L.done), L.done, w, opt, rep);
    }
    rep.complete = std::count(L.done.begin(), L.done.end(), std::uint8_t(1)) == std::ptrdiff_t(m_plan.trajectories());
    if (rep.complete) rep.rewritten = finalize_store(store, metadata(), m_plan.trajectories());
    rep.wall_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return rep;
  }

  // Runs `items` with opt.workers workers, appending to `writer` every trajectory whose id is
  // not marked in `done` (which it then marks). Used by run() and by the MPI driver.
  void execute(const std::vector<std::uint64_t>& items, std::vector<std::uint8_t>& done, StoreWriter& writer,
               const CampaignOptions& opt, CampaignReport& rep) {
    std::vector<std::uint64_t> todo = items;
    if (opt.max_items > 0 && todo.size() > opt.max_items) todo.resize(opt.max_items);
    std::size_t done_count = 0, to_write = 0, written = 0;
    for (auto d : done) done_count += d;
    for (auto i : todo) {
      const WorkItem w = m_plan.item(i);
      for (std::size_t b = 0; b < w.trajectories; ++b) to_write += !done[w.first_id + b];
    }
    // Rate and ETA over what this run writes (trajectories already in the ledger are not "fast").
    Progress prog("collect", to_write, 2.0, opt.progress);
    const auto write = [&](std::vector<detail::ItemResult>& batch) {
      std::vector<std::uint64_t> fresh;
      for (auto& r : batch) {
        detail::add_stats(rep.stats, r.stats);
        ++rep.items_run;
        for (const auto& tr : r.trajectories) {
          if (done[tr.id]) {
            ++rep.recomputed;
            continue;
          }
          writer.append(tr, /*sync=*/false);
          fresh.push_back(tr.id);
        }
      }
      if (fresh.empty()) return;
      writer.sync();  // group commit: everything in the batch is durable from here on
      for (auto id : fresh) {
        done[id] = 1;
        ++rep.written;
        if (opt.on_durable) opt.on_durable(id);
      }
      done_count += fresh.size();
      written += fresh.size();
      char extra[160];
      std::snprintf(extra, sizeof extra, "items %zu/%zu  stages trained %zu (saved %zu)  store %zu/%zu",
                    rep.items_run, todo.size(), rep.stats.env_stages, rep.stats.stages_saved, done_count,
                    done.size());
      prog.update(written, extra);
    };
    if (todo.empty()) return;
    const std::size_t W = std::max<std::size_t>(1, std::min(opt.workers, todo.size()));
    if (opt.mode == WorkerMode::Processes && W > 1)
      execute_processes(todo, W, write);
    else
      execute_threads(todo, W, write);
  }

 private:
  template <class Write>
  void execute_threads(const std::vector<std::uint64_t>& todo, std::size_t W, Write& write) {
    if (W == 1) {
      const MakeEnv make = cached_maker();
      for (auto i : todo) {
        std::vector<detail::ItemResult> batch;
        batch.push_back(run_item(m_plan.item(i), make));
        write(batch);
      }
      return;
    }
    std::mutex mu;
    std::condition_variable cv;
    std::deque<detail::ItemResult> queue;
    std::atomic<std::size_t> next{0};
    std::atomic<bool> stop{false};
    std::size_t finished = 0;
    std::exception_ptr error;
    std::vector<std::thread> pool;
    for (std::size_t k = 0; k < W; ++k)
      pool.emplace_back([&] {
        try {
          const MakeEnv make = cached_maker();
          for (std::size_t i; !stop && (i = next++) < todo.size();) {
            auto r = run_item(m_plan.item(todo[i]), make);
            std::lock_guard lk(mu);
            queue.push_back(std::move(r));
            cv.notify_all();
          }
        } catch (...) {
          std::lock_guard lk(mu);
          if (!error) error = std::current_exception();
          stop = true;
        }
        std::lock_guard lk(mu);
        ++finished;
        cv.notify_all();
      });
    try {
      for (;;) {
        std::vector<detail::ItemResult> batch;
        bool all_finished;
        {
          std::unique_lock lk(mu);
          cv.wait(lk, [&] { return !queue.empty() || finished == W; });
          while (!queue.empty()) {
            batch.push_back(std::move(queue.front()));
            queue.pop_front();
          }
          all_finished = finished == W;
        }
        if (!batch.empty()) write(batch);
        if (all_finished && batch.empty()) break;
      }
    } catch (...) {
      stop = true;
      for (auto& t : pool) t.join();
      throw;
    }
    for (auto& t : pool) t.join();
    if (error) std::rethrow_exception(error);
  }

  // Worker processes: one socketpair per child; the parent is the only writer of the store.
  // A child asks for nothing: it receives an item id, sends back the item's result, and waits
  // for the next id (or the stop id). PR_SET_PDEATHSIG kills children with a killed parent.
  template <class Write>
  void execute_processes(const std::vector<std::uint64_t>& todo, std::size_t W, Write& write) {
    struct Child {
      pid_t pid = -1;
      int fd = -1;
      std::uint64_t item = detail::kStopItem;  // in flight
      bool open = false;
    };
    std::vector<Child> kids(W);
    const pid_t parent = ::getpid();
    std::fflush(nullptr);  // a child must not flush the parent's buffered output again
    for (std::size_t k = 0; k < W; ++k) {
      int sv[2];
      if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
        fail("collect: socketpair for worker process failed: ", std::strerror(errno));
      const pid_t pid = ::fork();
      if (pid < 0) fail("collect: fork of worker process failed: ", std::strerror(errno));
      if (pid == 0) {
        ::close(sv[0]);
        for (std::size_t j = 0; j < k; ++j) ::close(kids[j].fd);
        ::prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (::getppid() != parent) ::_exit(3);
        child_loop(sv[1]);  // never returns
      }
      ::close(sv[1]);
      kids[k].pid = pid;
      kids[k].fd = sv[0];
      kids[k].open = true;
    }
    std::size_t next = 0;
    auto send_next = [&](Child& c) {
      const std::uint64_t id = next < todo.size() ? todo[next++] : detail::kStopItem;
      c.item = id;
      if (!detail::write_all(c.fd, &id, sizeof id)) fail("collect: worker process ", c.pid, " is gone");
      if (id == detail::kStopItem) {
        ::close(c.fd);
        c.open = false;
      }
    };
    auto reap_all = [&](bool kill_them) {
      for (auto& c : kids) {
        if (c.open) ::close(c.fd), c.open = false;
        if (c.pid > 0) {
          if (kill_them) ::kill(c.pid, SIGKILL);
          int st;
          while (::waitpid(c.pid, &st, 0) < 0 && errno == EINTR) {
          }
          c.pid = -1;
        }
      }
    };
    try {
      for (auto& c : kids) send_next(c);
      for (;;) {
        std::vector<pollfd> pfd;
        std::vector<Child*> who;
        for (auto& c : kids)
          if (c.open) pfd.push_back({c.fd, POLLIN, 0}), who.push_back(&c);
        if (pfd.empty()) break;
        if (::poll(pfd.data(), pfd.size(), -1) < 0) {
          if (errno == EINTR) continue;
          fail("collect: poll failed: ", std::strerror(errno));
        }
        std::vector<detail::ItemResult> batch;
        std::vector<Child*> ready;
        for (std::size_t k = 0; k < pfd.size(); ++k) {
          if (!(pfd[k].revents & (POLLIN | POLLHUP | POLLERR))) continue;
          Child& c = *who[k];
          char type = 0;
          std::uint64_t len = 0;
          std::string what = "worker process " + std::to_string(c.pid) + " (item " + std::to_string(c.item) + ")";
          if (!detail::read_exact(c.fd, &type, 1) || !detail::read_exact(c.fd, &len, 8))
            fail("collect: ", what, " died without a result");
          if (len > (std::uint64_t(1) << 34)) fail("collect: ", what, ": implausible message length ", len);
          std::string msg(len, '\0');
          if (!detail::read_exact(c.fd, msg.data(), len)) fail("collect: ", what, " died mid-result");
          if (type == 'E') fail("collect: ", what, " failed: ", msg);
          auto r = detail::decode_result(msg, what);
          if (r.item != c.item) fail("collect: ", what, " answered for item ", r.item);
          batch.push_back(std::move(r));
          ready.push_back(&c);
        }
        if (!batch.empty()) write(batch);
        for (auto* c : ready) send_next(*c);
      }
    } catch (...) {
      reap_all(true);
      throw;
    }
    reap_all(false);
  }

  [[noreturn]] void child_loop(int fd) {
    int code = 0;
    try {
      const MakeEnv make = cached_maker();
      for (;;) {
        std::uint64_t id;
        if (!detail::read_exact(fd, &id, sizeof id)) {
          code = 4;  // the parent is gone
          break;
        }
        if (id == detail::kStopItem) break;
        const std::string msg = detail::encode_result(run_item(m_plan.item(id), make));
        const char type = 'I';
        const std::uint64_t len = msg.size();
        if (!detail::write_all(fd, &type, 1) || !detail::write_all(fd, &len, 8) ||
            !detail::write_all(fd, msg.data(), msg.size())) {
          code = 4;
          break;
        }
      }
    } catch (const std::exception& e) {
      const std::string text = e.what();
      const char type = 'E';
      const std::uint64_t len = text.size();
      detail::write_all(fd, &type, 1);
      detail::write_all(fd, &len, 8);
      detail::write_all(fd, text.data(), text.size());
      code = 1;
    }
    ::close(fd);
    ::_exit(code);  // no atexit handlers, no flushing of the parent's buffers
  }

  CampaignPlan m_plan;
  MakeEnv m_make;
  R m_reward;
  G m_gen;
  Json m_context;
};

}  // namespace dma::collect
