// examples/collect.cpp: collect trajectories with a Campaign (collect/campaign.hpp) from a preset.
//
//   collect --config examples/presets/sim-small.json [--out runs/x.dmat] [--workers 2]
//           [--mode threads|processes] [--campaign.seed 7] [--progress] [--report-ids]
//   mpirun -np 2 collect_mpi --config examples/presets/sim-small.json --out runs/x.dmat
//
// Rerunning the same command after a crash (even kill -9) resumes: finished trajectories are
// kept, in-flight ones are redone, and the final store is byte-identical to an uninterrupted
// run. --report-ids prints "durable <id>" once a trajectory's record is on disk (the kill test
// reads these). The last line of stdout is a JSON report (rate, stages trained and saved).
// The same file builds `collect_mpi` when CMake defines DMA_WITH_MPI (collect/mpi.hpp), and
// `collect_cuda` (CUDA builds) with DMA_COLLECT_CUDA: env "cpt" then trains the proxy on the GPU
// (env::Cpt<backend::Cuda>, one worker).
#include <dma/collect/campaign.hpp>
#include <dma/collect/mixed.hpp>
#include <dma/collect/mpi.hpp>
#include <dma/core/config.hpp>
#include <dma/env/sim.hpp>
#include <dma/reward/balanced.hpp>
#if __has_include(<dma/env/cpt.hpp>)
#include <dma/env/cpt.hpp>
#define DMA_COLLECT_HAS_CPT 1
#endif
#if defined(DMA_COLLECT_CUDA)
#include <dma/backend/cuda/host.hpp>
#endif

#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

namespace {

using Reward = dma::reward::Balanced;
#if defined(DMA_COLLECT_CUDA)
using Backend = dma::backend::Cuda;
#else
using Backend = dma::backend::Cpu;
#endif
using Gen = dma::collect::Mixed;

// SimEnv plus a fixed amount of CPU work per stage (work_m million dependent multiply-adds):
// stands in for a compute-bound environment when measuring how workers scale (a plain SimEnv
// stage costs microseconds, so fsync dominates). Fixed work, not a wall-clock wait, so that
// contention for the cores shows in the measurement.
struct CostlySim {
  dma::env::SimEnv env;
  double work_m = 0;
  [[nodiscard]] dma::EpisodeSpec spec() const { return env.spec(); }
  dma::Feedback reset(std::uint64_t seed) { return env.reset(seed); }
  dma::Feedback step(const dma::Mixture& m) {
    double x = 1.0;
    const auto n = static_cast<std::uint64_t>(work_m * 1e6);
    for (std::uint64_t i = 0; i < n; ++i) {
      x = x * 0.999999999 + 1e-9;
      asm volatile("" : "+x"(x));  // keeps the loop: its result is otherwise unused
    }
    return env.step(m);
  }
  [[nodiscard]] CostlySim fork() const { return *this; }
  void save(const std::filesystem::path& p) const { env.save(p); }
  void load(const std::filesystem::path& p) { env.load(p); }
  [[nodiscard]] double tokens_seen() const { return env.tokens_seen(); }
  [[nodiscard]] std::uint64_t instance_seed() const { return env.instance_seed(); }
};
static_assert(dma::Environment<CostlySim>);

struct Job {
  dma::collect::CampaignPlan plan;
  dma::collect::CampaignOptions opt;
  std::filesystem::path out;
  dma::Json context;
};

Job read_job(const dma::Config& cfg) {
  Job job;
  const std::string src = cfg.source();
  if (!cfg.has("campaign")) dma::fail(src, ": missing required key 'campaign' (the work plan)");
  job.plan = dma::collect::CampaignPlan::from_json(cfg.json()["campaign"], src + ":campaign");
  if (cfg.get<std::string>("generator", "mixed") != "mixed")
    dma::fail(src, ": key 'generator': only \"mixed\" is wired into this example");
  if (cfg.get<std::string>("reward", "balanced") != "balanced")
    dma::fail(src, ": key 'reward': only \"balanced\" is wired into this example");
  job.opt.workers = cfg.get<std::size_t>("workers", cfg.get<std::size_t>("run.workers", 1));
  job.opt.mode = dma::collect::parse_worker_mode(cfg.get<std::string>("mode", cfg.get<std::string>("run.mode", "threads")), src);
  job.opt.progress = cfg.get<bool>("progress", false);
  job.opt.max_items = cfg.get<std::size_t>("max-items", 0);
  const std::string name = cfg.get<std::string>("name", "collection");
  job.out = cfg.get<std::string>("out", "runs/" + name + "/trajectories.dmat");
  const std::string kind = cfg.get<std::string>("env.kind", "sim");
  // What the store's metadata pins: a store is resumed only with the same environment config.
  job.context = dma::Json{{"env", kind}, {"reward", "balanced"}};
  if (cfg.json().contains("env") && cfg.json()["env"].is_object() && cfg.json()["env"].contains(kind))
    job.context["env_config"] = cfg.json()["env"][kind];
  return job;
}

int finish(const dma::collect::CampaignReport& rep, const Job& job, const char* mode) {
  dma::Json j = rep.to_json();
  j["store"] = job.out.string();
  j["workers"] = job.opt.workers;
  j["mode"] = mode;
  j["prefix_stages"] = job.plan.prefix_stages;
  j["branches"] = job.plan.branches;
  std::printf("%s\n", j.dump().c_str());
  std::fflush(stdout);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
#if defined(DMA_WITH_MPI)
  dma::collect::MpiSession mpi(argc, argv);
#endif
  try {
    // `--env cpt` is short for `--env.kind cpt` (a plain override would replace the env block).
    std::vector<std::string> args(argv, argv + argc);
    for (auto& a : args)
      if (a == "--env") a = "--env.kind";
    std::vector<char*> av;
    for (auto& a : args) av.push_back(a.data());
    const auto cfg = dma::Config::from_args(int(av.size()), av.data());
    Job job = read_job(cfg);
    if (cfg.get<bool>("report-ids", false))
      job.opt.on_durable = [](std::uint64_t id) {
        std::printf("durable %llu\n", static_cast<unsigned long long>(id));
        std::fflush(stdout);
      };
    const std::string kind = job.context["env"].get<std::string>();
    if (kind == "sim") {
      const dma::Json sim = job.context.value("env_config", dma::Json::object());
      const dma::env::SimFamily family = sim.contains("family")
          ? dma::env::SimFamily::from_json(sim["family"], cfg.source() + ":env.sim.family") : dma::env::SimFamily{};
      const std::size_t domains = sim.value("domains", std::size_t(0));
      const double work_m = sim.value("stage_work_m", 0.0);
      auto make = [family, domains, work_m](std::uint64_t seed) {
        return CostlySim{dma::env::SimEnv(family, seed, domains), work_m};
      };
      dma::collect::Campaign<CostlySim, Reward, Gen> campaign(job.plan, make, Reward{}, Gen{}, job.context);
#if defined(DMA_WITH_MPI)
      const auto rep = dma::collect::run_mpi(campaign, job.out, job.opt);
      if (mpi.rank() != 0) return 0;
      return finish(rep, job, ("mpi x" + std::to_string(mpi.size())).c_str());
#else
      const auto rep = campaign.run(job.out, job.opt);
      return finish(rep, job, dma::collect::to_string(job.opt.mode));
#endif
    }
    if (kind == "cpt") {
#if defined(DMA_COLLECT_HAS_CPT)
      // The world (data, cached base model, evaluation sets) is built once, before any worker
      // exists: threads share it, worker processes inherit it through fork().
      const dma::Json cj = job.context.value("env_config", dma::Json::object());
      const auto cc = dma::env::CptConfig::from_json(cj, cfg.source() + ":env.cpt");
      if (Backend::is_device && job.opt.workers > 1)
        dma::fail("collect_cuda: --workers ", job.opt.workers, ": the GPU proxy runs with one worker (one device, one stream)");
      const auto world = dma::env::CptWorld<Backend>::create(cc, job.opt.progress);
      job.context["world"] = std::to_string(world->fingerprint());
      using Env = dma::env::Cpt<Backend>;
      dma::collect::Campaign<Env, Reward, Gen> campaign(job.plan, [world](std::uint64_t seed) { return Env(world, seed); },
                                                        Reward{}, Gen{}, job.context);
#if defined(DMA_WITH_MPI)
      const auto rep = dma::collect::run_mpi(campaign, job.out, job.opt);
      if (mpi.rank() != 0) return 0;
      return finish(rep, job, ("mpi x" + std::to_string(mpi.size())).c_str());
#else
      const auto rep = campaign.run(job.out, job.opt);
      return finish(rep, job, dma::collect::to_string(job.opt.mode));
#endif
#else
      dma::fail(cfg.source(), ": key 'env': \"cpt\" needs env::Cpt (dma/env/cpt.hpp), which this build does not have");
#endif
    }
    dma::fail(cfg.source(), ": key 'env': expected \"sim\" or \"cpt\", got \"", kind, "\"");
  } catch (const std::exception& e) {
    std::fprintf(stderr, "collect: %s\n", e.what());
    return 1;
  }
}
