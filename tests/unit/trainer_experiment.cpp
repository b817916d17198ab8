// Unit tests of the experiment driver's parts that do not need a model: the common score scale
// and the balanced objective (hand-computed numbers), the config's key checks, and the baseline
// registry (one list of fixed names; weight-free methods can be left out; proxy costs counted).
#include <catch2/catch.hpp>

#include <dma/env/sim.hpp>
#include <dma/mixers/registry.hpp>
#include "main_job/settings.hpp"
#include "main_job/scoring.hpp"

#include <cmath>
#include <set>
#include <string>

// A namespace of its own: the test programs are unity builds (tests/CMakeLists.txt).
namespace dma_test_trainer_experiment {

using dma::Field;
using dma::main_job::BenchmarkInfo;
using dma::main_job::RunScores;

TEST_CASE("experiment scoring: bits/byte and gold log-prob go to [0,1], higher better", "[trainer][cpu]") {
  CHECK(dma::main_job::scale_bpb(0.0) == Approx(1.0));
  CHECK(dma::main_job::scale_bpb(8.0) == Approx(0.0));
  CHECK(dma::main_job::scale_bpb(2.0) > dma::main_job::scale_bpb(3.0));
  CHECK(dma::main_job::scale_logprob(0.0) == Approx(1.0));
  CHECK(dma::main_job::scale_logprob(std::log(0.25)) == Approx(0.25));
}

TEST_CASE("experiment scoring: the objective counts the worst source benchmark and the target weight",
          "[trainer][cpu]") {
  const std::vector<BenchmarkInfo> b{{"a_bpb", Field::Source}, {"b_bpb", Field::Source}, {"math_bpb", Field::Target}};
  const RunScores base{{0.50, 0.60, 0.30}};
  const RunScores run{{0.52, 0.50, 0.40}};  // a +0.02, b -0.10 (forgot), math +0.10
  // source side: (mean(+0.02, -0.10) + min) / 2 = (-0.04 + -0.10) / 2 = -0.07
  CHECK(run.objective(base, b, 0.5) == Approx(0.5 * 0.10 + 0.5 * -0.07));
  CHECK(run.objective(base, b, 0.7) == Approx(0.7 * 0.10 + 0.3 * -0.07));
  CHECK(base.objective(base, b, 0.5) == Approx(0.0).margin(1e-15));
  CHECK(run.worst_source(base, b) == 1);
  // Avg weighs each field equally: (mean(0.52, 0.50) + 0.40) / 2 = 0.455, not the plain mean 0.4733.
  CHECK(run.avg(b) == Approx(0.455));
  // Var with the same weights (1/4, 1/4, 1/2) around 0.455.
  CHECK(run.var(b) == Approx(0.25 * 0.065 * 0.065 + 0.25 * 0.045 * 0.045 + 0.5 * 0.055 * 0.055));
  // A suite of one field is the plain mean.
  const std::vector<BenchmarkInfo> src_only{{"a_bpb", Field::Source}, {"b_bpb", Field::Source}};
  CHECK(RunScores{{0.2, 0.6}}.avg(src_only) == Approx(0.4));
  CHECK(std::isnan(run.avg(src_only)));  // scores and suite disagree in length
  CHECK(RunScores::mean_of(run.scores, b, Field::Target) == Approx(0.40));
}

TEST_CASE("experiment config: unknown keys and bad values are errors naming the key", "[trainer][cpu]") {
  using dma::main_job::ExperimentConfig;
  CHECK_THROWS_WITH(ExperimentConfig::from_json(dma::Json{{"sedes", 3}}, "p.json"), Catch::Contains("'sedes'"));
  CHECK_THROWS_WITH(ExperimentConfig::from_json(dma::Json{{"settings", {"in_dist_2d", "nope"}}}, "p.json"),
                    Catch::Contains("'nope'"));
  CHECK_THROWS_WITH(ExperimentConfig::from_json(dma::Json{{"target_weights", {1.5}}}, "p.json"),
                    Catch::Contains("target_weights"));
  CHECK_THROWS_WITH(ExperimentConfig::from_json(dma::Json{{"kd", {{"k", 4}, {"k_unseen", 4}}}}, "p.json"),
                    Catch::Contains("kd.k"));
  CHECK_THROWS_WITH(ExperimentConfig::from_json(dma::Json{{"benchmark", {{"kinds", {"bpb", "acc"}}}}}, "p.json"),
                    Catch::Contains("p.json") && Catch::Contains("benchmark.kinds") && Catch::Contains("'acc'"));
  CHECK_THROWS_WITH(ExperimentConfig::from_json(dma::Json{{"benchmark", {{"kinds", {"choice"}}}}}, "p.json"),
                    Catch::Contains("choice_items"));
  CHECK_THROWS_WITH(ExperimentConfig::from_json(dma::Json{{"benchmark", {{"choice_items", 3}}}}, "p.json"),
                    Catch::Contains("benchmark.choice_items"));
  // The default suite leaves the fingerprint as it was; a choice suite is part of it.
  CHECK_FALSE(ExperimentConfig::from_json(dma::Json::object(), "p.json").to_json()["benchmark"].contains("kinds"));
  const auto mc = ExperimentConfig::from_json(
      dma::Json{{"benchmark", {{"choice_items", 32}, {"kinds", {"choice"}}}}}, "p.json");
  CHECK(mc.to_json()["benchmark"]["kinds"] == dma::Json{"choice"});
  const auto c = ExperimentConfig::from_json(dma::Json{{"seeds", 3}, {"baselines", {{"grid", 10}}}}, "p.json");
  CHECK(c.seeds == 3);
  CHECK(c.baselines.grid == 10);
  CHECK(c.settings.size() == 7);
}

TEST_CASE("baseline registry: the fixed names, weight-free methods optional, refit cost counted", "[trainer][cpu]") {
  using Env = dma::env::SimEnv;
  const dma::env::SimFamily fam{};
  dma::mixers::BaselineInputs<Env> in;
  in.proxy_env = [fam] { return Env(fam, 5, 3); };
  in.static_share = 0.4;
  in.regmix_runs = 4;
  auto all = dma::mixers::all_baselines(in);
  std::set<std::string> names;
  for (const auto& b : all) names.insert(b.name);
  CHECK(names == std::set<std::string>{"target_only", "uniform", "replay_25", "replay_50", "replay_75", "static_tuned",
                                       "regmix_refit", "dbl", "doremi", "odm"});
  for (const auto& b : all) {
    if (b.name == "regmix_refit") CHECK(b.cost.runs == 4);
    if (b.name == "doremi") CHECK(b.cost.runs == 2);
    if (b.name == "uniform") CHECK(b.cost.tokens == 0);
  }
  // replay_25 keeps 25% source: the target share is 0.75.
  Env e(fam, 5, 3);
  for (auto& b : all)
    if (b.name == "replay_25") {
      b.mixer.reset(e.spec());
      dma::History h;
      h.spec = e.spec();
      CHECK(dma::space::field_share(b.mixer.next(h), e.spec(), Field::Target) == Approx(0.75));
    }
  in.weight_free = false;
  names.clear();
  for (const auto& b : dma::mixers::all_baselines(in)) {
    names.insert(b.name);
    CHECK(b.uses_target_weight);
  }
  CHECK(names == std::set<std::string>{"static_tuned", "regmix_refit", "dbl"});
  // A shared slot: the refit's proxy runs of one call are re-scored by the next, not run again.
  int made = 0;
  in.proxy_env = [fam, &made] { return ++made, Env(fam, 5, 3); };
  in.regmix_refit_runs = std::make_shared<dma::mixers::RegMixRuns>();
  auto fit_of = [](const std::vector<dma::mixers::Baseline>& v) {
    for (const auto& b : v)
      if (b.name == "regmix_refit") return std::pair{b.fit, b.cost.runs};
    return std::pair{dma::Json(), std::size_t{0}};
  };
  const auto first = fit_of(dma::mixers::all_baselines(in));
  CHECK(made == 4);
  CHECK(in.regmix_refit_runs->mixes.size() == 4);
  const auto second = fit_of(dma::mixers::all_baselines(in));
  CHECK(made == 5);  // once, to read the spec's weight
  CHECK(second.first == first.first);
  CHECK(second.second == 4);
  // fit_refits: the refit methods fitted once beforehand deploy the same mixtures, with the same
  // cost, as when all_baselines fits them, and all_baselines then makes no proxy run of its own.
  {
    dma::mixers::BaselineInputs<Env> a;
    a.proxy_env = [fam] { return Env(fam, 5, 3); };
    a.regmix_runs = 4;
    a.seed = 9;
    dma::mixers::BaselineInputs<Env> b = a;
    dma::mixers::fit_refits(b);
    REQUIRE(b.regmix_refit_runs);
    REQUIRE(b.doremi_fitted);
    CHECK(b.regmix_refit_runs->mixes.size() == 4);
    int made_after = 0;
    b.proxy_env = [fam, &made_after] { return ++made_after, Env(fam, 5, 3); };
    const auto fresh = dma::mixers::all_baselines(a);
    const auto reused = dma::mixers::all_baselines(b);
    CHECK(made_after == 1);  // once, to read the spec's weight (RegMix re-scoring)
    Env e2(fam, 5, 3);
    dma::History h;
    h.spec = e2.spec();
    std::size_t compared = 0;
    for (auto x : fresh)
      for (auto y : reused)
        if (x.name == y.name && (x.name == "regmix_refit" || x.name == "doremi")) {
          x.mixer.reset(e2.spec());
          y.mixer.reset(e2.spec());
          CHECK(x.mixer.next(h) == y.mixer.next(h));
          CHECK(x.cost.runs == y.cost.runs);
          CHECK(x.cost.tokens == y.cost.tokens);
          ++compared;
        }
    CHECK(compared == 2);
    // A different seed gives a different fit: the comparison above can fail.
    dma::mixers::BaselineInputs<Env> c = a;
    c.seed = 10;
    dma::mixers::fit_refits(c);
    CHECK(c.regmix_refit_runs->mixes != b.regmix_refit_runs->mixes);
  }
  // The tuned share: the argmax of the grid values.
  const auto t = dma::mixers::tune_static_share(dma::mixers::share_grid(4), [](double s) { return -(s - 0.5) * (s - 0.5); });
  CHECK(t.share == Approx(0.5));
  CHECK(t.values.size() == 5);
}

}  // namespace dma_test_trainer_experiment
