// Dbl (dynamic batch loading): on the simulated environment, each stage multiplies every weight
// by exp(eta * excess loss) and renormalises, so the domain with the largest excess loss gains
// the most weight; a source domain that forgets fastest ends with the largest source weight.
#include <catch2/catch.hpp>

#include <dma/env/sim.hpp>
#include <dma/mixers/dbl.hpp>
#include <dma/mixers/episode.hpp>
#include <dma/reward/balanced.hpp>
#include <dma/space/simplex.hpp>

#include <algorithm>
#include <cmath>

// A namespace of its own: the test programs are unity builds (tests/CMakeLists.txt).
namespace dma_test_mixers_dbl {

using Catch::Matchers::Contains;
using dma::Field;
using dma::mixers::Dbl;

namespace {
// Four domains; the source domain `fast` forgets three times as much as the others.
dma::env::SimEnv forgetful_env(std::size_t& fast) {
  dma::env::SimFamily fam;
  fam.pool_fixed = std::numeric_limits<double>::infinity();
  auto in = dma::env::draw_instance(fam, 42, 4);
  fast = in.size();
  for (std::size_t i = 0; i < in.size(); ++i)
    if (in.domains[i].field == Field::Source) {
      in.forget[i] = 0.4;
      if (fast == in.size()) fast = i;
    }
  in.forget[fast] = 2.4;
  return dma::env::SimEnv(in, 42);
}
}  // namespace

TEST_CASE("dbl: the domain with the largest excess loss gets the largest weight increase", "[mixers][cpu]") {
  std::size_t fast = 0;
  auto env = forgetful_env(fast);
  dma::mixers::DblOptions opt;
  opt.eta = 1.0;
  Dbl dbl(opt);
  const auto tr = dma::mixers::run_episode(dbl, env, dma::reward::Balanced{}, 9);
  const auto& h = tr.history;
  const auto& spec = h.spec;
  // Stage 1 uses the spec's target weight as the target share.
  CHECK(dma::space::field_share(h.steps[0].mixture, spec, Field::Target) == Approx(spec.target_weight));
  for (std::size_t t = 1; t < spec.stages; ++t) {
    const auto& prev = h.steps[t - 1].mixture;
    const auto& now = h.steps[t].mixture;
    const auto& loss = h.steps[t - 1].feedback.loss;
    std::vector<double> excess(prev.size()), ratio(prev.size());
    double z = 0;
    for (std::size_t i = 0; i < prev.size(); ++i) {
      const double ref = spec.domains[i].field == Field::Source ? h.initial.loss[i] : 0.6 * h.initial.loss[i];
      excess[i] = std::max(loss[i] - ref, 0.0);
      z += prev[i] * std::exp(excess[i]);
      ratio[i] = now[i] / prev[i];
    }
    for (std::size_t i = 0; i < prev.size(); ++i) CHECK(now[i] == Approx(prev[i] * std::exp(excess[i]) / z));
    const auto top = std::size_t(std::max_element(excess.begin(), excess.end()) - excess.begin());
    CHECK(std::size_t(std::max_element(ratio.begin(), ratio.end()) - ratio.begin()) == top);
    if (excess[top] > 0) CHECK(now[top] > prev[top]);
  }
  // Among the source domains, the fast-forgetting one ends with the largest weight.
  const auto& last = h.steps.back().mixture;
  for (std::size_t i = 0; i < last.size(); ++i)
    if (i != fast && spec.domains[i].field == Field::Source) CHECK(last[fast] > last[i]);
}

TEST_CASE("dbl: no excess loss leaves the weights unchanged; a floor is respected", "[mixers][cpu]") {
  dma::History h;
  h.spec = dma::EpisodeSpec{{{"s1", Field::Source}, {"s2", Field::Source}, {"m", Field::Target}}, 4, 0.5};
  h.initial.loss = {2.0, 2.0, 4.0};
  dma::mixers::DblOptions opt;
  opt.initial_share = 0.2;
  opt.min_weight = 0.15;
  Dbl dbl(opt);
  dbl.reset(h.spec);
  auto m0 = dbl.next(h);
  CHECK(m0[2] == Approx(0.2));
  dma::Step s;
  s.mixture = m0;
  s.feedback.loss = {1.9, 2.0, 2.0};  // nothing above its reference (target ref = 2.4)
  h.steps.push_back(s);
  auto m1 = dbl.next(h);
  for (std::size_t i = 0; i < 3; ++i) CHECK(m1[i] == Approx(m0[i]));
  s.feedback.loss = {5.0, 2.0, 2.0};  // s1 forgets badly: s2 and m would fall under the floor
  h.steps.push_back(s);
  auto m2 = dbl.next(h);
  for (double x : m2) CHECK(x >= 0.15 - 1e-12);
  CHECK(m2[0] > m1[0]);
  CHECK_THROWS_WITH(Dbl(dma::mixers::DblOptions{-1.0}), Contains("eta"));
}

}  // namespace dma_test_mixers_dbl
