// examples/baselines_sim.cpp: every baseline mixer next to the existing ones, on held-out
// simulated instances, on the same run seeds and budget, with the cost of each method.
// Static (uniform, target-only, replay ratios, natural, a share tuned once on training
// instances), open-loop ramps, closed-loop (DBL, ODM, DoReMi online), proxy-run based (RegMix
// refit on each instance, RegMix fitted once on training instances and transferred, DoReMi),
// and the per-instance oracle. Prints the results table and a cost table; writes results.json.
// Options: --out DIR, --train_instances N, --heldout N, --seeds N, --regmix_runs M, --quiet,
// --family {...} (env/sim_params.hpp). Methods and adaptations: docs/BASELINES.md.
#include <dma/core/config.hpp>
#include <dma/core/progress.hpp>
#include <dma/env/sim.hpp>
#include <dma/env/sim_oracle.hpp>
#include <dma/mixers/dbl.hpp>
#include <dma/mixers/doremi.hpp>
#include <dma/mixers/episode.hpp>
#include <dma/mixers/fixed.hpp>
#include <dma/mixers/natural.hpp>
#include <dma/mixers/odm.hpp>
#include <dma/mixers/ramp.hpp>
#include <dma/mixers/regmix.hpp>
#include <dma/mixers/registry.hpp>
#include <dma/mixers/replay.hpp>
#include <dma/mixers/target_only.hpp>
#include <dma/mixers/uniform.hpp>
#include <dma/reward/balanced.hpp>
#include <dma/space/runtime.hpp>
#include <dma/trainer/sim_suite.hpp>
#include <dma/trainer/trainer.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <map>

namespace {

using Clock = std::chrono::steady_clock;
double since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

using Env = dma::env::SimEnv;

// What each method spent before deployment, summed over the held-out instances.
struct CostRow {
  dma::mixers::ProxyCost per_instance;  // summed over instances (divide by the count)
  dma::mixers::ProxyCost one_time;      // fitted once, used on every instance
};

}  // namespace

int main(int argc, char** argv) try {
  const auto t_start = Clock::now();
  const dma::Config cfg = dma::Config::from_args(argc, argv);
  const std::filesystem::path out = cfg.get<std::string>("out", "out/baselines_sim");
  const auto n_train = cfg.get<std::size_t>("train_instances", 24);
  const auto n_heldout = cfg.get<std::size_t>("heldout", 24);
  const auto n_seeds = cfg.get<std::size_t>("seeds", 2);
  const auto regmix_runs = cfg.get<std::size_t>("regmix_runs", 32);
  const bool quiet = cfg.get<bool>("quiet", false);
  std::filesystem::create_directories(out);

  using Reward = dma::reward::Balanced;
  // The instance suite of examples/quickstart_sim.cpp (trainer/sim_suite.hpp): the same seeds, so
  // rows of the methods both programs run are directly comparable.
  dma::trainer::SimSuite suite;
  if (cfg.has("family")) suite.family = dma::env::SimFamily::from_json(cfg.json()["family"], cfg.source() + ":family");
  const dma::env::SimFamily& family = suite.family;
  auto make_env = [&](std::uint64_t seed) { return suite.make(seed); };
  dma::Trainer<Env, Reward> trainer(make_env, Reward{});
  const std::vector<std::uint64_t> train = suite.train_seeds(n_train);

  // ---- fitted once on the training instances, carried to every held-out instance -------------
  auto t0 = Clock::now();
  const auto grid = dma::mixers::share_grid(20);
  const double best_share = suite.tuned_static_share(trainer.reward(), train, grid);
  // The tuning grid above is noise-free full runs: 21 shares x the training instances.
  dma::mixers::ProxyCost carried_cost;
  carried_cost.runs = grid.size() * train.size();
  carried_cost.stages = carried_cost.runs * family.stages;
  carried_cost.tokens = double(carried_cost.stages) * family.tokens_per_stage;

  // DBL's target reference (a fraction of the base target loss) tuned the same way, on the
  // training instances (noisy runs, run seed 1), and carried: dbl(tuned).
  double best_ref = 0.6, best_ref_value = -1e300;
  dma::mixers::ProxyCost dbl_tune_cost;
  for (double ref : {0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 1.0}) {
    double v = 0;
    for (auto seed : train) {
      Env e = make_env(seed);
      dma::mixers::DblOptions o;
      o.target_reference = ref;
      dma::mixers::Dbl d(o);
      const auto tr = dma::mixers::run_episode(d, e, trainer.reward(), 1);
      v += tr.total_return();
      dbl_tune_cost.add_run(tr.history);
    }
    if (v > best_ref_value) best_ref_value = v, best_ref = ref;
  }

  // RegMix transferred: proxy runs spread over the training instances (spaces of different
  // sizes), so it describes mixtures by field shares only.
  dma::mixers::RegMixOptions ropt;
  ropt.runs = std::max<std::size_t>(regmix_runs, 2 * train.size());
  ropt.seed = 101;
  ropt.features = dma::mixers::RegMixFeatures::FieldShares;
  auto regmix_transfer_ptr = std::make_shared<dma::mixers::RegMix<Env>>(
      [&](std::size_t i) { return make_env(train[i % train.size()]); }, ropt, "regmix_transfer");
  regmix_transfer_ptr->fit();
  const auto& regmix_transfer = *regmix_transfer_ptr;
  std::printf("dbl target reference tuned on the training instances: %.2f x base loss\n", best_ref);
  std::printf("static share tuned on %zu training instances: %.2f; regmix(transfer) fitted on %zu proxy runs "
              "(%s, LOO mse linear %.3g, kernel %.3g); %.2f s\n",
              train.size(), best_share, regmix_transfer.cost().runs, regmix_transfer.report().regressor.c_str(),
              regmix_transfer.report().linear_loo_mse, regmix_transfer.report().kernel_loo_mse, since(t0));

  // ---- held-out instances ---------------------------------------------------------------------
  const std::vector<dma::trainer::Instance> heldout = suite.heldout(n_heldout);
  std::vector<std::uint64_t> run_seeds;
  for (std::size_t s = 0; s < n_seeds; ++s) run_seeds.push_back(11 + s);

  // The oracle and the best static mixture in hindsight (the target RegMix aims at), per instance.
  dma::trainer::OracleColumns oc;
  oc.options.extra_shares = {0.5, best_share};

  t0 = Clock::now();
  dma::trainer::ResultsTable table;
  std::map<std::string, CostRow> costs;
  costs["static_tuned"].one_time = carried_cost;
  costs["regmix_transfer"].one_time = regmix_transfer.cost();
  costs["dbl_tuned"].one_time = dbl_tune_cost;
  dma::Json fits = dma::Json::array();
  dma::Progress prog("baselines", heldout.size(), 1.0, !quiet);
  for (const auto& inst : heldout) {
    const Env proto = make_env(inst.seed);
    const auto spec = proto.spec();
    const auto& in = proto.instance();
    // Natural: source data is plentiful (one run's worth per domain stands in for "large"), the
    // target has its pool (capped at one run's worth). A practitioner knows these sizes; other
    // methods must discover the pool.
    const double run_tokens = double(in.stages) * in.tokens_per_stage;
    std::vector<double> sizes;
    for (std::size_t i = 0; i < spec.num_domains(); ++i)
      sizes.push_back(spec.domains[i].field == dma::Field::Source ? run_tokens : std::min(in.pool[i], run_tokens));
    // Every baseline from the one registry (mixers/registry.hpp); the proxy-run methods are fitted
    // here on this instance (same data, other run seeds), before deployment.
    dma::mixers::BaselineInputs<Env> bin;
    bin.proxy_env = [proto] { return proto.fork(); };
    bin.static_share = best_share;
    bin.regmix_transfer = regmix_transfer_ptr;
    bin.regmix_runs = regmix_runs;
    bin.seed = inst.seed;
    bin.extended = true;
    bin.natural_sizes = sizes;
    bin.dbl_tuned_reference = best_ref;
    std::vector<dma::trainer::AnyMixer> methods;
    dma::Json fit = dma::Json::object();
    for (auto& b : dma::mixers::all_baselines(bin)) {
      if (b.cost.runs > 0) costs[b.name].per_instance += b.cost;
      if (!b.fit.is_null()) fit[b.name] = b.fit;
      methods.push_back(std::move(b.mixer));
    }
    fits.push_back({{"instance", inst.seed}, {"fits", fit}});

    const auto part = trainer.compare(methods, {inst}, run_seeds, oc.columns<decltype(trainer)>(), false);
    table.rows.insert(table.rows.end(), part.rows.begin(), part.rows.end());
    prog.tick();
  }
  const double t_compare = since(t0);
  table.print(std::cout);

  // ---- cost per method: deployment tokens + what the method spent before deploying ------------
  const auto summary = table.summarize();
  const double n_inst = double(heldout.size());
  std::printf("\n== cost per held-out instance (tokens; one deployment run = %.0f) ==\n",
              double(family.stages) * family.tokens_per_stage);
  std::printf("%-22s %16s %17s %9s %10s %12s %12s %9s\n", "method", "return mean+-sd", "vs uniform+-se",
              "deploy", "proxy runs", "proxy tokens", "one-time tok", "x deploy");
  // The paired difference to uniform (same instances and run seeds) comes from the table:
  // instances differ a lot in scale, so its standard error is the spread to compare methods with.
  dma::Json cost_json = dma::Json::array();
  for (const auto& s : summary) {
    const CostRow c = costs.count(s.method) ? costs[s.method] : CostRow{};
    const double proxy_runs = double(c.per_instance.runs) / n_inst, proxy_tokens = c.per_instance.tokens / n_inst;
    const double per_inst_total = s.tokens + proxy_tokens;
    const double dm = s.diff_ref, dse = s.diff_ref_se;
    std::printf("%-22s %8.4f+-%-6.4f %8.4f+-%-7.4f %9.0f %10.1f %12.0f %12.0f %9.2f\n", s.method.c_str(), s.mean, s.sd,
                dm, dse, s.tokens, proxy_runs, proxy_tokens, c.one_time.tokens, per_inst_total / s.tokens);
    cost_json.push_back({{"method", s.method}, {"mean_return", s.mean}, {"sd_return", s.sd},
                         {"vs_uniform_mean", dm}, {"vs_uniform_se", dse},
                         {"instances", s.instances}, {"deploy_tokens", s.tokens},
                         {"proxy_runs_per_instance", proxy_runs}, {"proxy_tokens_per_instance", proxy_tokens},
                         {"one_time", c.one_time.to_json()}, {"tokens_per_instance_vs_deploy", per_inst_total / s.tokens}});
  }

  dma::Json results = table.to_json();
  results["cost"] = cost_json;
  results["fits"] = fits;
  results["carried_static_share"] = best_share;
  results["dbl_tuned_target_reference"] = best_ref;
  results["regmix_transfer"] = regmix_transfer.report().to_json();
  results["family"] = family.to_json();
  results["reward"] = "balanced(worst_weight=0.5)";
  results["run_seeds"] = run_seeds;
  results["seconds"] = {{"compare", t_compare}, {"total", since(t_start)}};
  dma::save_json(out / "results.json", results);
  std::printf("\nwrote %s; total %.2f s\n", (out / "results.json").c_str(), since(t_start));
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "baselines_sim: %s\n", e.what());
  return 1;
}
