// main_job/experiment.hpp: Experiment<B>, the main job on the LLM proxy (env::Cpt<B>), put
// together from the library's policies: base proxies (env/base_model.hpp cache) -> trajectory
// collection (collect::Campaign on 2-D and K-D instances with hidden target pools) -> the static
// share tuned once and RegMix fitted once on the collection setting -> agents (rl::train_agents:
// SFT, then CQL) -> deployment of every method on every setting x seed x target weight
// (main_job/deploy.hpp) -> OUT/results.json (schema dma.results/1, docs/RESULTS_SCHEMA.md;
// main_job/results.hpp). The settings and the preset's keys are main_job/settings.hpp's, the
// environments main_job/worlds.hpp's. Every stage is a file written atomically under OUT
// (stages/*.json, collection/, agents/, runs/<setting>/*.json, settings/*.json); a rerun skips
// what is finished. Tested end to end in tests/integration/experiment_tiny.cpp (synthetic corpus).
#pragma once

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <numeric>
#include <string>
#include <vector>

#include "dma/agent/agent.hpp"
#include "dma/collect/campaign.hpp"
#include "dma/collect/mixed.hpp"
#include "dma/collect/store.hpp"
#include "dma/core/config.hpp"
#include "dma/core/error.hpp"
#include "dma/core/parallel.hpp"
#include "dma/env/cpt.hpp"
#include "dma/mixers/registry.hpp"
#include "dma/reward/balanced.hpp"
#include "dma/reward/levels.hpp"
#include "dma/rl/pipeline.hpp"
#include "main_job/data.hpp"
#include "main_job/deploy.hpp"
#include "main_job/results.hpp"
#include "main_job/scoring.hpp"
#include "main_job/settings.hpp"
#include "main_job/worlds.hpp"

namespace dma::main_job {

// The main job on backend B: every CPT run (collection, tuning, proxy runs, deployment) is an
// env::Cpt<B>. On a device backend the runs share the one GPU, so they run one at a time.
template <class B = backend::Cpu>
class Experiment {
 public:
  using CptEnv = env::Cpt<B>;
  using CptWorld = env::CptWorld<B>;
  using CptWorldPtr = std::shared_ptr<const CptWorld>;

  Experiment(ExperimentConfig cfg, std::filesystem::path out, std::unique_ptr<ExperimentData> data,
             bool progress = true)
      : m_cfg(device_config(std::move(cfg))), m_out(std::move(out)), m_worlds(m_cfg, std::move(data), progress),
        m_progress(progress) {}

  // Runs (or resumes) every stage; returns results.json's content (also written to OUT).
  Json run() {
    const auto t0 = Clock::now();
    std::filesystem::create_directories(m_out / "stages");
    check_fingerprint();
    m_started = utc_now();
    stage_bases();
    stage_collection();
    stage_tuning();
    stage_agents();
    stage_deploy();
    Json res = assemble();
    // This invocation's wall time (finished stages are skipped on a rerun; each stage file keeps its own seconds).
    res["wall_seconds"] = seconds_since(t0);
    save_json(m_out / "results.json", res);
    return res;
  }

  // Per-phase wall seconds of this invocation (a skipped stage counts ~0).
  [[nodiscard]] const Json& phases() const noexcept { return m_phases; }

 private:
  // On a device backend the runs share the one GPU: one at a time.
  static ExperimentConfig device_config(ExperimentConfig c) {
    if constexpr (B::is_device) c.parallel = 1;
    return c;
  }
  static std::string utc_now() {
    const std::time_t t = std::time(nullptr);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&t));
    return buf;
  }
  void log(const std::string& s) const { log_line(m_progress, s); }

  // A finished OUT belongs to one config: a rerun with another config is refused, not mixed in.
  // The one exception is the number of deployment seeds: runs are cached per seed, so a rerun with
  // more (or fewer) seeds reuses the finished ones and a setting is redone only for the seeds it lacks.
  void check_fingerprint() {
    const auto p = m_out / "stages" / "config.json";
    const Json mine = m_cfg.to_json();
    if (std::filesystem::exists(p)) {
      const Json theirs = load_json(p);
      Json a = theirs.at("config"), b = mine;
      a.erase("seeds");
      b.erase("seeds");
      if (a != b)
        fail(p.string(), ": this output folder was made with another experiment config; use another --out "
             "or delete the folder");
      if (theirs.at("config").value("seeds", Json()) != mine.at("seeds")) save_json(p, Json{{"config", mine}});
    } else {
      save_json(p, Json{{"config", mine}});
    }
  }

  // ---- stage 1: base proxies -------------------------------------------------------------------
  void stage_bases() {
    const auto t0 = Clock::now();
    const auto p = m_out / "stages" / "bases.json";
    if (std::filesystem::exists(p)) {
      m_bases = load_json(p);
      m_phases["bases"] = seconds_since(t0);
      return;
    }
    // Each base is pre-trained once (cached in cache_dir); the large one first, next to main then alt.
    std::vector<std::string> kinds{"large", "main", "alt"};
    std::map<std::string, Json> info;
    std::mutex mu;
    auto work = [&](const std::string& kind) {
      const auto w = m_worlds.make_world("sources", kind, "math", 0.5, {}, m_cfg.threads);
      (void)w;
      const auto& bm = w->base();
      std::lock_guard<std::mutex> g(mu);
      info[kind] = Json{{"name", "base-" + kind}, {"key", bm.key}, {"params", bm.state.num_params()},
                        {"from_cache", bm.from_cache},
                        {"seconds", bm.meta.contains("pretrain") ? bm.meta["pretrain"].value("seconds", 0.0) : 0.0},
                        {"tokens", bm.meta.contains("pretrain") ? bm.meta["pretrain"].value("tokens", 0.0) : 0.0},
                        {"sources", m_worlds.base_sources(kind)}};
    };
    log("stage 1/5: base proxies (cached in " + m_cfg.cache_dir.string() + ")");
    run_parallel(kinds, work, m_cfg.parallel);
    m_bases = Json::array();
    for (const auto& k : kinds) m_bases.push_back(info[k]);
    save_json(p, m_bases);
    m_phases["bases"] = seconds_since(t0);
  }

  template <class T, class F>
  static void run_parallel(const std::vector<T>& items, F&& f, std::size_t workers) {
    parallel_for(items.size(), workers, [&](std::size_t i, std::size_t) { f(items[i]); });
  }

  // ---- stage 2: collection -----------------------------------------------------------------------
  // Instances alternate: odd seeds the 2-D space, even seeds the K-D space; each draws a hidden pool.
  CptEnv collection_env(std::uint64_t inst, double tw, std::size_t threads) {
    std::lock_guard<std::mutex> g(m_coll_mu);
    auto& w = (inst % 2 == 1) ? m_coll2d[tw] : m_collkd[tw];
    if (!w) w = m_worlds.make_world(inst % 2 == 1 ? "2d" : "kd", "main", "math", tw, m_cfg.collection.pools, threads);
    return CptEnv(w, inst);
  }
  void stage_collection() {
    const auto t0 = Clock::now();
    const auto p = m_out / "stages" / "collection.json";
    const auto store = m_out / "collection" / "trajectories.dmat";
    if (!std::filesystem::exists(p)) {
      log("stage 2/5: collecting trajectories on the proxy");
      // Worlds first (before any worker thread): one per space, shared by the workers.
      (void)collection_env(1, 0.5, 1);
      (void)collection_env(2, 0.5, 1);
      const CptWorldPtr w2 = m_coll2d[0.5], wk = m_collkd[0.5];
      collect::CampaignPlan plan;
      plan.seed = m_cfg.collection.seed;
      for (std::size_t i = 0; i < m_cfg.collection.instances; ++i) plan.instances.push_back(i + 1);
      plan.groups_per_instance = m_cfg.collection.groups;
      plan.branches = m_cfg.collection.branches;
      plan.prefix_stages = m_cfg.collection.prefix_stages;
      auto make = [w2, wk](std::uint64_t inst) { return CptEnv(inst % 2 == 1 ? w2 : wk, inst); };
      collect::Campaign<CptEnv, reward::Balanced, collect::Mixed> camp(
          plan, make, reward::Balanced{}, collect::Mixed{},
          Json{{"experiment", m_cfg.preset}, {"world_2d", std::to_string(w2->fingerprint())},
               {"world_kd", std::to_string(wk->fingerprint())}});
      collect::CampaignOptions opt;
      opt.workers = m_cfg.parallel;
      opt.mode = collect::WorkerMode::Threads;
      opt.progress = m_progress;
      const auto rep = camp.run(store, opt);
      Json j = rep.to_json();
      j["seconds_this_run"] = seconds_since(t0);
      j["stages_trained"] = rep.stats.env_stages;
      save_json(p, j);
    }
    m_collection = load_json(p);
    m_trajectories = collect::read_store(store);
    m_phases["collection"] = seconds_since(t0);
  }

  // ---- stage 3: tuned once on the collection setting ----------------------------------------------
  void stage_tuning() {
    const auto t0 = Clock::now();
    const auto p = m_out / "stages" / "tuning.json";
    if (std::filesystem::exists(p)) {
      m_tuning = load_json(p);
      m_phases["tuning"] = seconds_since(t0);
      return;
    }
    log("stage 3/5: static share tuned once + RegMix fitted once on the collection setting");
    const auto grid = mixers::share_grid(m_cfg.baselines.grid);
    // The grid runs do not depend on the weight: run once (`parallel` at a time), score at every weight.
    std::vector<std::vector<History>> runs(grid.size(), std::vector<History>(m_cfg.baselines.tune_instances));
    std::vector<double> run_tokens(grid.size() * m_cfg.baselines.tune_instances, 0.0);
    std::vector<std::size_t> items(run_tokens.size());
    std::iota(items.begin(), items.end(), std::size_t{0});
    (void)collection_env(1, 0.5, m_cfg.threads);  // the worlds first, before any worker thread
    (void)collection_env(2, 0.5, m_cfg.threads);
    run_parallel(items, [&](std::size_t k) {
      const std::size_t g = k / m_cfg.baselines.tune_instances, i = k % m_cfg.baselines.tune_instances;
      CptEnv e = collection_env(i + 1, 0.5, m_cfg.threads);
      mixers::ProxyCost c;
      const Mixture m = mixers::fixed_mixture(e.spec(), grid[g]);
      runs[g][i] = mixers::proxy_run_static(e, 99 + i, m, c, "static tuning");
      run_tokens[k] = c.tokens;
    }, m_cfg.parallel);
    double tokens = 0;
    for (double t : run_tokens) tokens += t;
    Json shares = Json::object();
    for (double tw : m_cfg.target_weights) {
      const auto t = mixers::tune_static_share(grid, [&](double s) {
        const std::size_t g = std::size_t(std::lround(s * double(m_cfg.baselines.grid)));
        double v = 0;
        for (const auto& h : runs[g]) v += reward::balanced_level(h.last(), h.initial, tw);
        return v / double(runs[g].size());
      });
      shares[weight_key(tw)] = Json{{"share", t.share}, {"values", t.values}};
    }
    m_tuning = Json{{"grid", grid}, {"static", shares}, {"static_tokens", tokens}, {"seconds", seconds_since(t0)}};
    save_json(p, m_tuning);
    m_phases["tuning"] = seconds_since(t0);
  }

  // RegMix fitted once on the collection setting (field-share features: it serves any space),
  // one fit per target weight; refit in a resumed run only when some setting still needs it.
  std::shared_ptr<const mixers::RegMix<CptEnv>> regmix_transfer(double tw) {
    std::lock_guard<std::mutex> g(m_transfer_mu);
    auto& slot = m_transfer[tw];
    if (slot) return slot;
    mixers::RegMixOptions o;
    o.runs = m_cfg.baselines.regmix_transfer_runs;
    o.seed = 101;
    o.features = mixers::RegMixFeatures::FieldShares;
    const std::size_t n = std::max<std::size_t>(2, m_cfg.baselines.tune_instances);
    auto r = std::make_shared<mixers::RegMix<CptEnv>>(
        [this, n](std::size_t i) { return collection_env(i % n + 1, 0.5, m_cfg.threads); }, o, "regmix_transfer",
        typename mixers::RegMix<CptEnv>::Prior{},
        [tw](const History& h) { return reward::balanced_level(h.last(), h.initial, tw); });
    // Its proxy runs (on the collection setting at weight 0.5) are the same for every weight: an
    // earlier weight's are re-scored.
    const auto earlier = std::find_if(m_transfer.begin(), m_transfer.end(), [](const auto& kv) { return kv.second != nullptr; });
    if (earlier != m_transfer.end())
      r->fit_from(earlier->second->runs());
    else
      r->fit();
    m_transfer_cost[tw] = r->cost();
    slot = r;
    return slot;
  }

  // ---- stage 4: agents ---------------------------------------------------------------------------
  void stage_agents() {
    const auto t0 = Clock::now();
    const auto dir = m_out / "agents";
    const auto p = m_out / "stages" / "agents.json";
    if (!std::filesystem::exists(p)) {
      log("stage 4/5: training the agents (rl::train_agents: SFT, then CQL) on " +
          std::to_string(m_trajectories.size()) + " trajectories x " + std::to_string(m_cfg.target_weights.size()) +
          " target weights");
      std::filesystem::create_directories(dir);
      // rl::train_agents: rewards recomputed (Balanced) once per target weight, which the agent
      // reads as an input; SFT on the top trajectories, then CQL from the SFT agent.
      rl::PipelineConfig pc;
      pc.learner = rl::PipelineLearner::SftCql;
      pc.reward.kind = "balanced";
      pc.reward.target_weights = m_cfg.target_weights;
      pc.holdout_fraction = m_cfg.agents.holdout_fraction;
      pc.sft.epochs = m_cfg.agents.sft_epochs;
      pc.cql.epochs = m_cfg.agents.cql_epochs;
      pc.cql.warmup_epochs = std::min(pc.cql.warmup_epochs, pc.cql.epochs / 2);
      const rl::TrainedAgents ta = rl::train_agents(m_trajectories, pc);
      if (!ta.warm || !ta.cql) fail("experiment: train_agents did not return both the SFT and the CQL agent");
      ta.warm->save(dir / "sft.agent");
      ta.cql->save(dir / "cql.agent");
      Json rep = ta.report;
      rep["seconds_total"] = rep["seconds"];
      rep["seconds"] = rep["seconds"].value("total", 0.0);
      rep["learner"] = "rl::train_agents (sft+cql)";
      save_json(p, rep);
    }
    m_agents = load_json(p);
    m_sft = std::make_shared<const agent::Agent>(agent::Agent::load(dir / "sft.agent"));
    m_cql = std::make_shared<const agent::Agent>(agent::Agent::load(dir / "cql.agent"));
    m_phases["agents"] = seconds_since(t0);
  }

  // ---- stage 5: deployment (main_job/deploy.hpp) -----------------------------------------------------
  void stage_deploy() {
    typename Deployment<B>::Inputs in;
    in.tuning = &m_tuning;
    in.regmix_transfer = [this](double tw) { return regmix_transfer(tw); };
    in.sft = m_sft;
    in.cql = m_cql;
    Deployment<B>(m_cfg, m_out, m_worlds, std::move(in), m_progress).run(m_phases);
  }

  // ---- results.json ---------------------------------------------------------------------------------
  Json assemble() {
    Json res;
    res["schema"] = "dma.results/1";
    res["preset"] = m_cfg.preset;
    res["commit"] = git_commit();
    res["machine"] = machine();
    res["started_utc"] = m_started;
    res["score_scale"] = kScoreScale;
    res["target_weights"] = m_cfg.target_weights;
    res["data"] = m_worlds.data().describe();
    res["seeds_per_setting"] = m_cfg.seeds;
    Json cost;
    const double tps = m_cfg.cpt.value("tokens_per_stage", 16384.0);
    cost["collection"] = {{"trajectories", m_collection.value("trajectories", 0)},
                          {"stages_trained", m_collection.value("env_stages", 0)},
                          {"stages_saved_by_prefix_sharing", m_collection.value("stages_saved", 0)},
                          {"tokens", double(m_collection.value("env_stages", 0)) * tps},
                          {"trajectory_tokens", m_collection.value("trajectory_tokens", 0.0)},
                          {"seconds", m_collection.value("seconds_this_run", 0.0)}};
    cost["agent_training"] = {{"seconds", m_agents.value("seconds", 0.0)}};
    cost["base_models"] = m_bases;
    cost["static_tuning"] = {{"tokens", m_tuning.value("static_tokens", 0.0)}};
    Json rt = Json::object();
    for (const auto& [tw, c] : m_transfer_cost) rt[weight_key(tw)] = c.to_json();
    cost["regmix_transfer_fit"] = rt;
    res["cost"] = cost;
    res["phases_seconds"] = m_phases;
    res["settings"] = Json::array();
    for (const auto& s : experiment_settings()) {
      const auto p = m_out / "settings" / (s.name + ".json");
      if (!std::filesystem::exists(p)) continue;
      res["settings"].push_back(setting_result(load_json(p), m_cfg.target_weights));
    }
    return res;
  }

  ExperimentConfig m_cfg;
  std::filesystem::path m_out;
  Worlds<B> m_worlds;
  bool m_progress;
  std::string m_started;
  Json m_phases = Json::object(), m_bases, m_collection, m_tuning, m_agents;
  std::mutex m_coll_mu;
  std::map<double, CptWorldPtr> m_coll2d, m_collkd;
  std::vector<Trajectory> m_trajectories;
  std::mutex m_transfer_mu;
  std::map<double, std::shared_ptr<const mixers::RegMix<CptEnv>>> m_transfer;
  std::map<double, mixers::ProxyCost> m_transfer_cost;
  std::shared_ptr<const agent::Agent> m_sft, m_cql;
};

}  // namespace dma::main_job