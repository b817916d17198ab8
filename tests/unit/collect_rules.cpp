#include <catch2/catch.hpp>

#include <dma/collect/collector.hpp>
#include <dma/collect/mixed.hpp>
#include <dma/collect/rules.hpp>
#include <dma/env/sim.hpp>
#include <dma/mixers/episode.hpp>
#include <dma/mixers/probe_commit.hpp>
#include <dma/reward/balanced.hpp>

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

double target_share(const dma::EpisodeSpec& spec, const Mixture& m) {
  double s = 0;
  for (std::size_t i = 0; i < m.size(); ++i)
    if (spec.domains[i].field == Field::Target) s += m[i];
  return s;
}

// A history whose mean target loss falls by d1, then d2 (2 stages done).
dma::History two_stages(double d1, double d2) {
  dma::History h;
  h.spec = {{{"s1", Field::Source}, {"s2", Field::Source}, {"t", Field::Target}}, 6, 0.5};
  h.initial.loss = {2.0, 2.0, 3.0};
  for (double tl : {3.0 - d1, 3.0 - d1 - d2}) {
    dma::Step s;
    s.mixture = {0.3, 0.3, 0.4};
    s.feedback.loss = {2.1, 2.5, tl};
    h.steps.push_back(s);
  }
  return h;
}
}  // namespace

TEST_CASE("probe_commit: probes at the start share, commits to gain x (last gain / previous gain)", "[mixers][cpu]") {
  dma::mixers::ProbeCommitOptions o;
  o.start_share = 0.35;
  o.probe_stages = 2;
  o.gain = 0.6;
  o.source_temperature = 0.3;
  dma::mixers::ProbeCommit pc(o);
  auto h = two_stages(0.2, 0.1);
  pc.reset(h.spec);
  dma::History first = h;
  first.steps.resize(1);
  CHECK(target_share(h.spec, pc.next(first)) == Approx(0.35));
  // Gains 0.2 then 0.1: q = 0.5, committed share 0.6 * 0.5 = 0.3, kept afterwards.
  const Mixture m = pc.next(h);
  CHECK(target_share(h.spec, m) == Approx(0.3));
  // The source that forgot more (s2: +0.5 over base, s1: +0.1) gets more, by exp(0.4 / 0.3).
  CHECK(m[1] / m[0] == Approx(std::exp(0.4 / 0.3)));
  // Gains that do not shrink (0.1, then 0.2): the share is clamped at max_share.
  dma::mixers::ProbeCommit up(o);
  up.reset(h.spec);
  CHECK(target_share(h.spec, up.next(two_stages(0.1, 0.2))) == Approx(o.max_share));
  o.probe_stages = 1;
  CHECK_THROWS_WITH(dma::mixers::ProbeCommit(o), Catch::Contains("probe_stages"));
}

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
  dma::collect::Collector<dma::env::SimEnv, dma::reward::Balanced> c2(make_env, {}, o);
  const auto rules = c2.run(dma::collect::WithRules(dma::collect::Mixed{}, 1.0), {23});
  REQUIRE(rules.size() == 4);
  for (const auto& tr : rules) CHECK(tr.generator == "probe_commit_rule/branch");
  const auto& tr = rules[0];
  const auto& spec = tr.history.spec;
  // Recover the drawn options with the collector's stream: run seed first, then the plan draws.
  dma::Rng rng = dma::Rng(o.seed).split(std::uint64_t(23)).split("collect.schedules");
  const std::uint64_t run_seed = rng.next_u64();
  (void)rng.uniform();  // WithRules: rule or not
  const dma::collect::RuleRanges r;
  dma::mixers::ProbeCommitOptions po;
  po.start_share = r.start_lo + (r.start_hi - r.start_lo) * rng.uniform();
  po.probe_stages = r.probe_lo + rng.below(static_cast<std::uint32_t>(r.probe_hi - r.probe_lo + 1));
  po.gain = r.gain_lo + (r.gain_hi - r.gain_lo) * rng.uniform();
  po.source_temperature = rng.uniform() < r.p_even_sources ? 0.0 : r.temperature_lo + (r.temperature_hi - r.temperature_lo) * rng.uniform();
  dma::mixers::ProbeCommit pc(po);
  auto env = make_env(23);
  const auto again = dma::mixers::run_episode(pc, env, dma::reward::Balanced{}, run_seed);
  REQUIRE(again.history.steps.size() == tr.history.steps.size());
  for (std::size_t t = 0; t < tr.history.steps.size(); ++t)
    CHECK(again.history.steps[t].mixture == tr.history.steps[t].mixture);
  for (std::size_t t = 0; t < po.probe_stages; ++t)
    CHECK(target_share(spec, tr.history.steps[t].mixture) == Approx(po.start_share));
  CHECK(target_share(spec, tr.history.steps[po.probe_stages].mixture) != Approx(po.start_share));

  CHECK_THROWS_WITH(dma::collect::WithRules(dma::collect::Mixed{}, 1.5), Catch::Contains("rule_share"));
}

}  // namespace dma_test_collect_rules
