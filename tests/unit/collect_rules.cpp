#include <catch2/catch.hpp>

#include <dma/collect/collector.hpp>
#include <dma/collect/mixed.hpp>
#include <dma/collect/rules.hpp>
#include <dma/env/sim.hpp>
#include <dma/mixers/episode.hpp>
#include <dma/reward/balanced.hpp>
#include <dma/space/simplex.hpp>

// A namespace of its own: the test programs are unity builds (tests/CMakeLists.txt).
namespace dma_test_collect_rules {

using dma::Field;
using dma::Mixture;

// Positive and negative checks of the PlanGenerator concept.
static_assert(dma::collect::PlanGenerator<dma::collect::WithRules<dma::collect::Mixed>>);
static_assert(!dma::collect::PlanGenerator<dma::collect::Mixed>);  // open loop: a ScheduleGenerator
static_assert(dma::ScheduleGenerator<dma::collect::Mixed>);
static_assert(!dma::ScheduleGenerator<dma::collect::WithRules<dma::collect::Mixed>>);
static_assert(!dma::collect::PlanGenerator<int>);

namespace {
auto make_env = [](std::uint64_t seed) { return dma::env::SimEnv(dma::env::SimFamily{}, seed, 3 + seed % 3); };
}  // namespace

TEST_CASE("collect rules: closed-loop plans follow the feedback; rule_share 0 is the open-loop generator", "[collect][cpu]") {
  dma::collect::CollectOptions o;
  o.per_instance = 4;
  o.prefix_stages = 3;
  o.branches = 4;
  const std::vector<std::uint64_t> inst{21, 22};
  // rule_share 0 draws nothing extra: the same trajectories as Mixed itself.
  dma::collect::Collector<dma::env::SimEnv, dma::reward::Balanced> c0(make_env, {}, o), c1(make_env, {}, o);
  const auto plain = c0.run(dma::collect::Mixed{}, inst);
  const auto with0 = c1.run(dma::collect::WithRules(dma::collect::Mixed{}, 0.0), inst);
  REQUIRE(plain.size() == with0.size());
  for (std::size_t k = 0; k < plain.size(); ++k) {
    CHECK(plain[k].generator == with0[k].generator);
    CHECK(plain[k].total_return() == with0[k].total_return());
  }

  // rule_share 1: every trajectory is a ProbeCommit rule. Branch 0 continues the prefix's rule, so
  // it equals deploying that rule as a Mixer from the start with the same run seed; its share is
  // constant while probing and changes at the commit, as the feedback dictates.
  // Degenerate ranges fix the drawn options, so the rule can be rebuilt here.
  dma::collect::RuleRanges r;
  r.start_lo = r.start_hi = 0.3;
  r.probe_lo = r.probe_hi = 2;
  r.gain_lo = r.gain_hi = 0.6;
  r.p_even_sources = 1.0;
  dma::collect::Collector<dma::env::SimEnv, dma::reward::Balanced> c2(make_env, {}, o);
  const auto rules = c2.run(dma::collect::WithRules(dma::collect::Mixed{}, 1.0, r), {23});
  REQUIRE(rules.size() == 4);
  for (const auto& tr : rules) CHECK(tr.generator == "probe_commit_rule/branch");
  const auto& tr = rules[0];
  const auto& spec = tr.history.spec;
  // The group's run seed is the first draw of the collector's per-instance stream.
  const std::uint64_t run_seed = dma::Rng(o.seed).split(std::uint64_t(23)).split("collect.schedules").next_u64();
  dma::mixers::ProbeCommitOptions po;
  po.start_share = 0.3;
  po.probe_stages = 2;
  po.gain = 0.6;
  po.source_temperature = 0.0;
  dma::mixers::ProbeCommit pc(po);
  auto env = make_env(23);
  const auto again = dma::mixers::run_episode(pc, env, dma::reward::Balanced{}, run_seed);
  REQUIRE(again.history.steps.size() == tr.history.steps.size());
  for (std::size_t t = 0; t < tr.history.steps.size(); ++t)
    CHECK(again.history.steps[t].mixture == tr.history.steps[t].mixture);
  for (std::size_t t = 0; t < po.probe_stages; ++t)
    CHECK(dma::space::field_share(tr.history.steps[t].mixture, spec, Field::Target) == Approx(po.start_share));
  CHECK(dma::space::field_share(tr.history.steps[po.probe_stages].mixture, spec, Field::Target) != Approx(po.start_share));

  CHECK_THROWS_WITH(dma::collect::WithRules(dma::collect::Mixed{}, 1.5), Catch::Contains("rule_share"));
}

}  // namespace dma_test_collect_rules
