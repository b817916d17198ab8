// main_job/deploy.hpp: Deployment<B>, stage 5 of the main job: every method (mixers/registry.hpp,
// the two agents, the hindsight static grid) deployed on every setting x seed x target weight.
// The work is (setting, seed) jobs, `parallel` at a time; a job writes runs/<setting>/seed-<i>.json
// (each run also its own runs/<setting>/<method>-w<weight>-s<seed>.json, so a killed job resumes
// run by run); a setting's settings/<name>.json is assembled once all its seeds are done.
// The refit methods' deployment-time search is made once per setting before the jobs (fit_refits).
// Tested end to end through tests/integration/experiment_tiny.cpp.
#pragma once

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "dma/agent/agent.hpp"
#include "dma/core/config.hpp"
#include "dma/core/error.hpp"
#include "dma/core/parallel.hpp"
#include "dma/core/progress.hpp"
#include "dma/env/cpt.hpp"
#include "dma/mixers/agent.hpp"
#include "dma/mixers/episode.hpp"
#include "dma/mixers/registry.hpp"
#include "dma/reward/balanced.hpp"
#include "dma/trainer/any_mixer.hpp"
#include "main_job/results.hpp"
#include "main_job/scoring.hpp"
#include "main_job/settings.hpp"
#include "main_job/worlds.hpp"

namespace dma::main_job {

// The main job's clock and its progress lines on stderr (Experiment and Deployment).
using Clock = std::chrono::steady_clock;
inline double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }
inline void log_line(bool on, const std::string& s) {
  if (on) std::fprintf(stderr, "experiment: %s\n", s.c_str());
}

template <class B = backend::Cpu>
class Deployment {
 public:
  using CptEnv = env::Cpt<B>;
  using CptWorldPtr = typename Worlds<B>::CptWorldPtr;
  // What stages 3 and 4 made: the carried static share (stages/tuning.json), RegMix fitted once on
  // the collection setting (per target weight), the agents.
  struct Inputs {
    const Json* tuning = nullptr;
    std::function<std::shared_ptr<const mixers::RegMix<CptEnv>>(double)> regmix_transfer;
    std::shared_ptr<const agent::Agent> sft, cql;
  };

  Deployment(const ExperimentConfig& cfg, std::filesystem::path out, Worlds<B>& worlds, Inputs in, bool progress)
      : m_cfg(cfg), m_out(std::move(out)), m_worlds(worlds), m_in(std::move(in)), m_progress(progress) {
    if (!m_in.tuning || !m_in.regmix_transfer || !m_in.sft || !m_in.cql) fail("experiment: deployment needs the tuning, RegMix and both agents");
  }

  // Deploys every (setting, seed) not yet on disk; phases gets regmix_transfer_fit, refit_fits, deploy.
  void run(Json& phases) {
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
      for (double tw : m_cfg.target_weights) (void)m_in.regmix_transfer(tw);
    phases["regmix_transfer_fit"] = seconds_since(t0);
    const auto t_fit = Clock::now();
    fit_refits(jobs);
    phases["refit_fits"] = seconds_since(t_fit);
    std::size_t done = 0;
    Progress prog("deployment jobs (setting x seed)", jobs.size(), 0.0, m_progress);
    std::mutex pm;
    parallel_for(jobs.size(), m_cfg.parallel, [&](std::size_t k, std::size_t) {
      const SeedJob& job = jobs[k];
      const Json j = deploy_seed(job.s, job.si);
      save_json(seed_file(job.s.name, job.si), j);
      std::lock_guard<std::mutex> g(pm);
      prog.update(++done, job.s.name + " seed " + std::to_string(job.si));
    });
    for (const auto& s : todo) {
      const auto p = m_out / "settings" / (s.name + ".json");
      std::filesystem::create_directories(p.parent_path());
      save_json(p, assemble_setting(s));
    }
    phases["deploy"] = seconds_since(t0);
  }

 private:
  struct SeedJob {
    SettingDef s;
    std::size_t si = 0;
  };
  [[nodiscard]] std::filesystem::path seed_file(const std::string& setting, std::size_t si) const {
    return m_out / "runs" / setting / ("seed-" + std::to_string(si) + ".json");
  }
  // Whether settings/NAME.json is finished for this config's number of seeds.
  [[nodiscard]] bool setting_done(const std::string& name) const {
    const auto p = m_out / "settings" / (name + ".json");
    if (!std::filesystem::exists(p)) return false;
    const Json j = load_json(p);
    const std::size_t n = j.contains("seeds") ? j["seeds"].get<std::size_t>() : j.value("pools_drawn", Json::object()).size();
    return n == m_cfg.seeds;
  }

  // The share tuned once on the collection setting, carried (stages/tuning.json).
  [[nodiscard]] double static_share(double tw) const {
    const Json& t = *m_in.tuning;
    return t.at("static").at(weight_key(tw)).at("share").get<double>();
  }
  void log(const std::string& s) const { log_line(m_progress, s); }

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
      if (std::none_of(need.begin(), need.end(), [&](const SettingDef& s) { return s.name == j.s.name; }))
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
      const std::vector<std::size_t> pools = m_worlds.setting_pools(s);
      const CptWorldPtr world = m_worlds.make_world(s.space, s.base, s.target, m_cfg.target_weights.front(), pools, m_cfg.threads);
      const std::uint64_t inst = s.scarce ? Worlds<B>::scarce_instance(*world, pools, 0) : 0;
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
    const std::vector<std::size_t> pools = m_worlds.setting_pools(s);
    std::vector<CptWorldPtr> worlds;
    for (double tw : m_cfg.target_weights) worlds.push_back(m_worlds.make_world(s.space, s.base, s.target, tw, pools, threads));
    const auto& w0 = *worlds.front();
    const EpisodeSpec spec = w0.spec();
    const auto mc = w0.config().base.model;
    env::CptEvalConfig ec = w0.config().eval;
    BenchmarkSuite<> bench(m_worlds.data().per_source(), m_worlds.base_sources(s.base), s.target, mc, ec, m_cfg.benchmark.windows,
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
    const std::uint64_t inst = s.scarce ? Worlds<B>::scarce_instance(w0, pools, si) : 0;
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
      in.static_share = static_share(tw);
      in.regmix_transfer = m_in.regmix_transfer(tw);
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
      recs.push_back(deploy("sft_agent", tw, trainer::AnyMixer(mixers::AgentMixer(m_in.sft, "sft_agent")), world, inst, seed, 0));
      recs.push_back(deploy("cql_agent", tw, trainer::AnyMixer(mixers::AgentMixer(m_in.cql, "cql_agent")), world, inst, seed, 0));
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

  const ExperimentConfig& m_cfg;
  std::filesystem::path m_out;
  Worlds<B>& m_worlds;
  Inputs m_in;
  bool m_progress;
  std::map<std::string, RefitFits> m_refits;  // per setting, made before the deployment jobs
};

}  // namespace dma::main_job
