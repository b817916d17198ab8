// dma/trainer/experiment.hpp: Experiment, the main job on the LLM proxy (env::Cpt):
// data spaces -> base proxies (env/base_model.hpp cache) -> trajectory collection (collect::Campaign
// on 2-D and K-D instances with hidden target pools) -> the static share tuned once and RegMix fitted
// once on the collection setting -> agents (SFT, then CQL) -> every method (mixers/registry.hpp +
// the agents + the hindsight static grid) deployed on every setting x seed x target weight ->
// OUT/results.json (schema dma.results/1, docs/RESULTS_SCHEMA.md; assembled by
// experiment_results.hpp; the settings table is experiment_config.hpp's). Every stage is a file
// written atomically under OUT (stages/*.json, collection/, agents/, runs/<setting>/*.json,
// settings/*.json); a rerun skips what is finished. Deployment runs (setting, seed) jobs `parallel` at a time.
// Tested end to end in tests/integration/experiment_tiny.cpp (synthetic corpus).
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <exception>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <numeric>
#include <string>
#include <thread>
#include <vector>

#include "dma/agent/agent.hpp"
#include "dma/collect/campaign.hpp"
#include "dma/collect/mixed.hpp"
#include "dma/collect/store.hpp"
#include "dma/core/config.hpp"
#include "dma/core/error.hpp"
#include "dma/core/parallel.hpp"
#include "dma/core/progress.hpp"
#include "dma/env/cpt.hpp"
#include "dma/mixers/agent.hpp"
#include "dma/mixers/episode.hpp"
#include "dma/mixers/registry.hpp"
#include "dma/reward/balanced.hpp"
#include "dma/reward/levels.hpp"
#include "dma/rl/pipeline.hpp"
#include "dma/trainer/experiment_config.hpp"
#include "dma/trainer/experiment_data.hpp"
#include "dma/trainer/experiment_results.hpp"
#include "dma/trainer/experiment_scoring.hpp"

namespace dma::trainer {

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
      : m_cfg(std::move(cfg)), m_out(std::move(out)), m_data(std::move(data)), m_progress(progress) {
    if (!m_data) fail("experiment: no data provider");
    if constexpr (B::is_device) m_cfg.parallel = 1;
  }

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
  using Clock = std::chrono::steady_clock;
  static double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }
  static std::string utc_now() {
    const std::time_t t = std::time(nullptr);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&t));
    return buf;
  }
  void log(const std::string& s) const {
    if (m_progress) std::fprintf(stderr, "experiment: %s\n", s.c_str());
  }

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
  // Whether settings/NAME.json is finished for this config's number of seeds.
  [[nodiscard]] bool setting_done(const std::string& name) const {
    const auto p = m_out / "settings" / (name + ".json");
    if (!std::filesystem::exists(p)) return false;
    const Json j = load_json(p);
    const std::size_t n = j.contains("seeds") ? j["seeds"].get<std::size_t>() : j.value("pools_drawn", Json::object()).size();
    return n == m_cfg.seeds;
  }

  // ---- worlds (public: the headroom diagnostic, examples/headroom.cpp, builds the same settings) --
 public:
  [[nodiscard]] ExperimentData& data() { return *m_data; }
  [[nodiscard]] model::ModelConfig proxy_model(bool large) const {
    const Json& j = large ? m_cfg.large : m_cfg.proxy;
    return model::ModelConfig::from_config(Config(j, std::string("experiment:") + (large ? "large" : "proxy")));
  }
  [[nodiscard]] std::vector<std::string> base_sources(const std::string& base) const {
    if (base == "alt") return m_cfg.alt_sources;
    std::vector<std::string> s;
    const auto& d = m_data->per_source();
    for (std::size_t i = 0; i < d.size(); ++i)
      if (d.field(i) == Field::Source) s.push_back(d.name(i));
    return s;
  }
  const env::CptData& space_data(const std::string& space) {
    if (space == "2d") return m_data->two_d(m_cfg.two_d_tokens_per_source);
    if (space == "kd") return m_data->kd(m_cfg.kd.k);
    if (space == "kd_unseen") return m_data->kd(m_cfg.kd.k_unseen);
    return m_data->per_source();
  }
  [[nodiscard]] std::vector<std::string> space_domains(const std::string& space, const env::CptData& d,
                                                       const std::string& target) const {
    std::vector<std::string> names;
    if (space == "sources") {
      names = m_cfg.alt_sources;
    } else {
      for (std::size_t i = 0; i < d.size(); ++i)
        if (d.field(i) == Field::Source) names.push_back(d.name(i));
    }
    names.push_back(target);
    return names;
  }
  env::CptConfig cpt_config(const std::string& space, const std::string& base, const std::string& target, double tw,
                            const std::vector<std::size_t>& pools, std::size_t threads) {
    Json c = m_cfg.cpt;
    const auto& d = space_data(space);
    c["domains"] = space_domains(space, d, target);
    Json b = m_cfg.base;
    if (base == "large") b.merge_patch(m_cfg.large_base);
    b["model"] = base == "large" ? m_cfg.large : m_cfg.proxy;
    if (base == "alt") b["sources"] = m_cfg.alt_sources;
    b["cache_dir"] = m_cfg.cache_dir.string();
    b["threads"] = threads;
    c["base"] = b;
    c["target_weight"] = tw;
    c["threads"] = threads;
    c["target_pool_choices"] = pools;
    c.erase("shards");
    return env::CptConfig::from_json(c, "experiment:cpt(" + space + "," + base + ")");
  }
  CptWorldPtr make_world(const std::string& space, const std::string& base, const std::string& target, double tw,
                         const std::vector<std::size_t>& pools, std::size_t threads) {
    const auto cc = cpt_config(space, base, target, tw, pools, threads);
    return CptWorld::create(cc, space_data(space), m_data->per_source(), m_progress);
  }

  // The hidden target pools a setting's instances draw from (empty: the whole target domain).
  [[nodiscard]] std::vector<std::size_t> setting_pools(const SettingDef& s) const {
    if (s.scarce) return m_cfg.collection.scarcity_pools;
    if (m_cfg.target_pool != 0) return {m_cfg.target_pool};
    return {};
  }
  // Seed si of the scarcity setting: the first instance from 7001 + 1000 si whose hidden draw is
  // choices[si mod n], so that the seeds cover the pool sizes.
  static std::uint64_t scarce_instance(const CptWorld& w, const std::vector<std::size_t>& choices, std::size_t si) {
    if (choices.empty()) fail("experiment: the scarcity setting needs collection.scarcity_pools");
    const std::size_t want = choices[si % choices.size()];
    const EpisodeSpec spec = w.spec();
    for (std::uint64_t inst = 7001 + 1000 * std::uint64_t(si); inst < 7001 + 1000 * std::uint64_t(si + 1); ++inst) {
      const auto drawn = w.pools(inst);
      for (std::size_t d = 0; d < spec.num_domains(); ++d)
        if (spec.domains[d].field == Field::Target && drawn[d] == want) return inst;
    }
    fail("experiment: no instance draws the scarcity pool ", want, " (is it in collection.scarcity_pools?)");
  }

 private:
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
      const auto w = make_world("sources", kind, "math", 0.5, {}, m_cfg.threads);
      (void)w;
      const auto& bm = w->base();
      std::lock_guard<std::mutex> g(mu);
      info[kind] = Json{{"name", "base-" + kind}, {"key", bm.key}, {"params", bm.state.num_params()},
                        {"from_cache", bm.from_cache},
                        {"seconds", bm.meta.contains("pretrain") ? bm.meta["pretrain"].value("seconds", 0.0) : 0.0},
                        {"tokens", bm.meta.contains("pretrain") ? bm.meta["pretrain"].value("tokens", 0.0) : 0.0},
                        {"sources", base_sources(kind)}};
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
    if (!w) w = make_world(inst % 2 == 1 ? "2d" : "kd", "main", "math", tw, m_cfg.collection.pools, threads);
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

  // ---- stage 5: deployment ------------------------------------------------------------------------
  // The work is split into (setting, seed) jobs, `parallel` at a time, so that no setting (the
  // larger model's is ~2-5x the others) is a one-core critical path. A job writes
  // runs/<setting>/seed-<i>.json; a setting's file is assembled once every seed of it is done.
  struct SeedJob {
    SettingDef s;
    std::size_t si = 0;
  };
  [[nodiscard]] std::filesystem::path seed_file(const std::string& setting, std::size_t si) const {
    return m_out / "runs" / setting / ("seed-" + std::to_string(si) + ".json");
  }
  void stage_deploy() {
    const auto t0 = Clock::now();
    log("stage 5/5: deploying every method on every setting");
    std::vector<SettingDef> todo;
    for (const auto& s : experiment_settings())
      if (std::find(m_cfg.settings.begin(), m_cfg.settings.end(), s.name) != m_cfg.settings.end() &&
          !setting_done(s.name))
        todo.push_back(s);
    // The larger model's jobs first: they are the longest.
    std::stable_sort(todo.begin(), todo.end(), [](const auto& a, const auto& b) { return (a.base == "large") > (b.base == "large"); });
    std::vector<SeedJob> jobs;
    for (const auto& s : todo)
      for (std::size_t si = 0; si < m_cfg.seeds; ++si)
        if (!std::filesystem::exists(seed_file(s.name, si))) jobs.push_back({s, si});
    // RegMix transferred is fitted once (per weight) before any job needs it.
    if (!jobs.empty())
      for (double tw : m_cfg.target_weights) (void)regmix_transfer(tw);
    m_phases["regmix_transfer_fit"] = seconds_since(t0);
    const auto t_fit = Clock::now();
    fit_refits(jobs);
    m_phases["refit_fits"] = seconds_since(t_fit);
    std::atomic<std::size_t> done{0};
    Progress prog("deployment jobs (setting x seed)", jobs.size(), 0.0, m_progress);
    std::mutex pm;
    run_parallel(jobs, [&](const SeedJob& job) {
      const Json j = deploy_seed(job.s, job.si);
      save_json(seed_file(job.s.name, job.si), j);
      std::lock_guard<std::mutex> g(pm);
      prog.update(++done, job.s.name + " seed " + std::to_string(job.si));
    }, m_cfg.parallel);
    for (const auto& s : todo) {
      const auto p = m_out / "settings" / (s.name + ".json");
      std::filesystem::create_directories(p.parent_path());
      save_json(p, assemble_setting(s));
    }
    m_phases["deploy"] = seconds_since(t0);
  }

  // The refit methods' deployment-time search (RegMix refit's proxy runs, DoReMi's reference and
  // proxy runs) is made once per setting, on seed 0's instance with seed 0's seeds (so seed 0's
  // runs are those of a per-seed fit), `parallel` settings at a time, and serves every seed: each
  // seed's run then differs from the others only in the deployed run itself. Not cached on disk: a
  // resumed job recomputes it (deterministic, same fits).
  struct RefitFits {
    std::shared_ptr<mixers::RegMixRuns> regmix;
    std::shared_ptr<const mixers::DoReMi<CptEnv>> doremi;
  };
  void fit_refits(const std::vector<SeedJob>& jobs) {
    std::vector<SettingDef> need;
    for (const auto& j : jobs)
      if (!m_refits.contains(j.s.name) &&
          std::none_of(need.begin(), need.end(), [&](const SettingDef& s) { return s.name == j.s.name; }))
        need.push_back(j.s);
    if (need.empty()) return;
    log("  refit methods' proxy runs (RegMix refit, DoReMi), once per setting: " + std::to_string(need.size()) +
        " settings");
    std::vector<RefitFits> fits(need.size());
    Progress prog("refit methods' fits (settings)", need.size(), 0.0, m_progress);
    std::mutex pm;
    std::size_t done = 0;
    parallel_for(need.size(), m_cfg.parallel, [&](std::size_t k, std::size_t) {
      const SettingDef& s = need[k];
      const std::vector<std::size_t> pools = setting_pools(s);
      const CptWorldPtr world = make_world(s.space, s.base, s.target, m_cfg.target_weights.front(), pools, m_cfg.threads);
      const std::uint64_t inst = s.scarce ? scarce_instance(*world, pools, 0) : 0;
      mixers::BaselineInputs<CptEnv> in;
      in.proxy_env = [world, inst] { return CptEnv(world, inst); };
      in.regmix_runs = m_cfg.baselines.regmix_runs;
      in.seed = 1;  // deploy_seed's in.seed for seed 0
      mixers::fit_refits(in);
      fits[k] = RefitFits{in.regmix_refit_runs, in.doremi_fitted};
      std::lock_guard<std::mutex> g(pm);
      prog.update(++done, s.name);
    });
    for (std::size_t k = 0; k < need.size(); ++k) m_refits[need[k].name] = fits[k];
  }

  // settings/<name>.json from its seed files: the first seed's description, every seed's records
  // in seed order, the pools drawn per seed, the summed job seconds.
  Json assemble_setting(const SettingDef& s) const {
    Json j;
    Json recs = Json::array(), pools_drawn = Json::object();
    double seconds = 0;
    for (std::size_t si = 0; si < m_cfg.seeds; ++si) {
      Json sj = load_json(seed_file(s.name, si));
      if (si == 0) j = sj["setting"];
      for (auto& r : sj["records"]) recs.push_back(std::move(r));
      pools_drawn[std::to_string(si)] = sj["target_pool"];
      j["grid_tokens_per_seed"] = sj["grid_tokens"];
      seconds += sj["seconds"].get<double>();
    }
    j["pools_drawn"] = pools_drawn;
    j["seeds"] = m_cfg.seeds;
    j["records"] = std::move(recs);
    j["seconds"] = seconds;
    return j;
  }

  // One seed of one setting: the hindsight grid, every baseline and both agents at every target
  // weight, and the base model's scores. Returns {setting (description), records, target_pool,
  // grid_tokens, seconds}.
  Json deploy_seed(const SettingDef& s, std::size_t si) {
    const auto t0 = Clock::now();
    const std::size_t threads = m_cfg.threads;
    const std::vector<std::size_t> pools = setting_pools(s);
    std::vector<CptWorldPtr> worlds;
    for (double tw : m_cfg.target_weights) worlds.push_back(make_world(s.space, s.base, s.target, tw, pools, threads));
    const auto& w0 = *worlds.front();
    const EpisodeSpec spec = w0.spec();
    const auto mc = w0.config().base.model;
    env::CptEvalConfig ec = w0.config().eval;
    BenchmarkSuite<> bench(m_data->per_source(), base_sources(s.base), s.target, mc, ec, m_cfg.benchmark.windows,
                           m_cfg.benchmark.probe_items, threads, m_cfg.benchmark.choice_items, m_cfg.benchmark.kinds);
    const RunScores base_scores = bench.evaluate(w0.base().state.params.data());
    const auto run_dir = m_out / "runs" / s.name;
    std::filesystem::create_directories(run_dir);
    std::vector<RunRecord> recs;
    const auto grid = mixers::share_grid(m_cfg.baselines.grid);
    const std::size_t per_seed = grid.size() + 14 * m_cfg.target_weights.size();
    Progress prog("  " + s.name + " seed " + std::to_string(si), per_seed, 5.0, m_progress);
    std::size_t n_done = 0;
    // One run (or its cached record).
    auto deploy = [&](const std::string& method, double tw_tag, trainer::AnyMixer m, const CptWorldPtr& world,
                      std::uint64_t inst, std::uint64_t seed, double extra) {
      char fn[160];
      std::snprintf(fn, sizeof fn, "%s-w%s-s%llu.json", method.c_str(), tw_tag < 0 ? "any" : weight_key(tw_tag).c_str(),
                    static_cast<unsigned long long>(seed));
      const auto f = run_dir / fn;
      prog.update(++n_done, method);
      if (std::filesystem::exists(f)) return RunRecord::from_json(load_json(f));
      const auto r0 = Clock::now();
      CptEnv env(world, inst);
      // An open-loop method (static shares, RegMix, offline DoReMi) is evaluated once, after its
      // last stage: its final model is the same, its early stages have no per-stage scores.
      const History hist = m.open_loop() ? mixers::run_open_loop(m, env, 1000 + seed)
                                         : mixers::run_episode(m, env, reward::Balanced{}, 1000 + seed).history;
      RunRecord r;
      r.method = method;
      r.seed = seed;
      r.target_weight = tw_tag;
      r.scores = bench.evaluate(env.state().params.data()).scores;
      for (std::size_t d = 0; d < spec.num_domains(); ++d)
        (spec.domains[d].field == Field::Source ? r.tokens_source : r.tokens_target) += double(env.domain_tokens(d));
      r.extra_tokens = extra;
      for (const auto& st : hist.steps) {
        if (st.feedback.loss.empty()) {  // trained without the per-stage evaluation
          r.stages.push_back(Json{{"mixture", st.mixture}});
          continue;
        }
        double sa = 0, ta = 0, ns = 0, nt = 0;
        for (std::size_t d = 0; d < spec.num_domains(); ++d)
          (spec.domains[d].field == Field::Source ? (sa += scale_bpb(st.feedback.loss[d]), ns += 1)
                                                  : (ta += scale_bpb(st.feedback.loss[d]), nt += 1));
        r.stages.push_back(Json{{"mixture", st.mixture}, {"source_avg", ns > 0 ? sa / ns : 0.0},
                                {"target_avg", nt > 0 ? ta / nt : 0.0}});
      }
      r.wall_seconds = seconds_since(r0);
      save_json(f, r.to_json());
      return r;
    };

    double grid_tokens = 0;
    const std::uint64_t seed = si;
    // A scarce run draws its hidden pool from its instance: seed si takes the first instance from
    // 7001 + 1000 si whose draw is the list's entry si mod n, so that the seeds cover the pool sizes
    // (3 seeds, 3 pools: one each; independent draws once left all three seeds unlimited). The
    // methods see nothing of it: the pool stays the environment's hidden per-instance draw.
    const std::uint64_t inst = s.scarce ? scarce_instance(w0, pools, si) : 0;
    std::size_t target_pool = 0;  // the target domain's hidden pool in tokens (0 = whole domain)
    {
      const auto drawn = w0.pools(inst);
      for (std::size_t d = 0; d < spec.num_domains(); ++d)
        if (spec.domains[d].field == Field::Target) target_pool = drawn.at(d);
    }
    // The hindsight grid (weight-free; also the runs of static_tuned, whose share is on the grid).
    std::vector<RunRecord> grid_recs;
    for (double sh : grid) {
      char nm[32];
      std::snprintf(nm, sizeof nm, "grid_%.3f", sh);
      grid_recs.push_back(deploy(nm, -1, trainer::AnyMixer(mixers::FixedRatio(sh), nm), worlds[0], inst, seed, 0));
    }
    for (const auto& g : grid_recs) grid_tokens += g.tokens_source + g.tokens_target;
    for (auto& g : grid_recs) recs.push_back(g);
    auto grid_twin = [&](mixers::Baseline& bl) -> std::size_t {
      static const std::set<std::string> constant{"target_only", "uniform", "replay_25", "replay_50", "replay_75"};
      if (!constant.contains(bl.name) || bl.uses_target_weight) return grid.size();
      bl.mixer.reset(spec);
      History h;
      h.spec = spec;
      const Mixture m = bl.mixer.next(h);
      for (std::size_t g = 0; g < grid.size(); ++g)
        if (mixers::fixed_mixture(spec, grid[g]) == m) return g;
      return grid.size();
    };
    // The refit methods' fits of this setting (fit_refits), re-scored at every weight.
    const RefitFits& refits = m_refits.at(s.name);
    for (std::size_t wi = 0; wi < m_cfg.target_weights.size(); ++wi) {
      const double tw = m_cfg.target_weights[wi];
      const CptWorldPtr world = worlds[wi];
      mixers::BaselineInputs<CptEnv> in;
      in.proxy_env = [world, inst] { return CptEnv(world, inst); };
      in.static_share = m_tuning["static"][weight_key(tw)]["share"].get<double>();
      in.regmix_transfer = regmix_transfer(tw);
      in.regmix_runs = m_cfg.baselines.regmix_runs;
      in.regmix_refit_runs = refits.regmix;
      in.doremi_fitted = refits.doremi;
      in.seed = seed + 1;
      in.weight_free = wi == 0;  // weight-free baselines run once, at the first weight
      for (auto& b : mixers::all_baselines(in)) {
        if (b.name == "static_tuned") {
          const std::size_t g = std::size_t(std::lround(in.static_share * double(m_cfg.baselines.grid)));
          RunRecord r = grid_recs.at(g);
          r.method = "static_tuned";
          r.target_weight = tw;
          recs.push_back(r);
          continue;
        }
        // A constant baseline whose mixture is a grid share's bit for bit (replay_R, target_only,
        // uniform in 2-D) would repeat that grid run exactly (same mixture, seed and instance): reuse it.
        if (const auto g = grid_twin(b); g < grid_recs.size()) {
          RunRecord r = grid_recs[g];
          r.method = b.name;
          recs.push_back(r);
          continue;
        }
        recs.push_back(deploy(b.name, b.uses_target_weight ? tw : -1, b.mixer, world, inst, seed, b.cost.tokens));
      }
      recs.push_back(deploy("sft_agent", tw, trainer::AnyMixer(mixers::AgentMixer(m_sft, "sft_agent")), world, inst, seed, 0));
      recs.push_back(deploy("cql_agent", tw, trainer::AnyMixer(mixers::AgentMixer(m_cql, "cql_agent")), world, inst, seed, 0));
    }
    RunRecord b;
    b.method = "base";
    b.seed = seed;
    b.scores = base_scores.scores;
    recs.push_back(b);

    Json j;
    j["name"] = s.name;
    j["title"] = s.title;
    j["kind"] = s.kind;
    j["target_field"] = s.target;
    j["stages"] = spec.stages;
    j["domains"] = Json::array();
    for (const auto& d : spec.domains) j["domains"].push_back({{"name", d.name}, {"field", to_string(d.field)}});
    j["benchmarks"] = Json::array();
    for (const auto& bm : bench.benchmarks()) j["benchmarks"].push_back({{"name", bm.name}, {"field", to_string(bm.field)}});
    j["base_scores"] = base_scores.scores;
    j["grid"] = grid;
    j["pools"] = pools;
    j["base_model"] = w0.base().key;
    j["params"] = w0.base().state.num_params();
    Json out{{"setting", j}, {"records", Json::array()}, {"target_pool", target_pool}, {"grid_tokens", grid_tokens},
             {"seconds", seconds_since(t0)}};
    for (const auto& r : recs) out["records"].push_back(r.to_json());
    return out;
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
    res["data"] = m_data->describe();
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
  std::unique_ptr<ExperimentData> m_data;
  bool m_progress;
  std::string m_started;
  Json m_phases = Json::object(), m_bases, m_collection, m_tuning, m_agents;
  std::mutex m_coll_mu;
  std::map<double, CptWorldPtr> m_coll2d, m_collkd;
  std::vector<Trajectory> m_trajectories;
  std::mutex m_transfer_mu;
  std::map<double, std::shared_ptr<const mixers::RegMix<CptEnv>>> m_transfer;
  std::map<double, mixers::ProxyCost> m_transfer_cost;
  std::map<std::string, RefitFits> m_refits;  // per setting, made before the deployment jobs
  std::shared_ptr<const agent::Agent> m_sft, m_cql;
};

}  // namespace dma::trainer
