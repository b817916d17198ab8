// Natural: weights proportional to (tempered) data sizes, from a vector or by name; bad sizes
// fail naming the domain; on the simulated environment every stage uses the natural mixture.
#include <catch2/catch.hpp>

#include <dma/env/sim.hpp>
#include <dma/mixers/episode.hpp>
#include <dma/mixers/natural.hpp>
#include <dma/reward/balanced.hpp>

#include <cmath>
#include <map>

// A namespace of its own: the test programs are unity builds (tests/CMakeLists.txt).
namespace dma_test_mixers_natural {

using Catch::Matchers::Contains;
using dma::mixers::Natural;

namespace {
dma::EpisodeSpec spec3() {
  return dma::EpisodeSpec{{{"fiction", dma::Field::Source}, {"legal", dma::Field::Source}, {"math", dma::Field::Target}},
                          5, 0.5};
}
}  // namespace

TEST_CASE("natural: weights are proportional to the data sizes", "[mixers][cpu]") {
  Natural n({600, 300, 100});
  n.reset(spec3());
  const auto m = n.next(dma::History{});
  CHECK(m[0] == Approx(0.6));
  CHECK(m[1] == Approx(0.3));
  CHECK(m[2] == Approx(0.1));
  CHECK(n.name() == "natural");
}

TEST_CASE("natural: a temperature flattens the distribution as w ~ n^(1/T)", "[mixers][cpu]") {
  Natural n({400, 100, 100}, 2.0);
  n.reset(spec3());
  const auto m = n.next(dma::History{});
  // sqrt sizes 20, 10, 10
  CHECK(m[0] == Approx(0.5));
  CHECK(m[1] == Approx(0.25));
  CHECK(m[2] == Approx(0.25));
}

TEST_CASE("natural: sizes by name follow the spec's order; a missing name is an error", "[mixers][cpu]") {
  Natural n(std::map<std::string, double>{{"math", 1}, {"legal", 1}, {"fiction", 2}});
  n.reset(spec3());
  const auto m = n.next(dma::History{});
  CHECK(m[0] == Approx(0.5));
  CHECK(m[2] == Approx(0.25));
  Natural bad(std::map<std::string, double>{{"math", 1}, {"fiction", 2}});
  CHECK_THROWS_WITH(bad.reset(spec3()), Contains("no size given for domain 'legal'"));
}

TEST_CASE("natural: bad sizes are rejected with the domain named", "[mixers][cpu]") {
  CHECK_THROWS_WITH(Natural({1, 2}).reset(spec3()), Contains("expected one per domain (3)"));
  CHECK_THROWS_WITH(Natural({1, -2, 1}).reset(spec3()), Contains("'legal'"));
  CHECK_THROWS_WITH(Natural({0, 0, 0}).reset(spec3()), Contains("every domain has size 0"));
  CHECK_THROWS_WITH(Natural({1, 1, 1}, 0.0).reset(spec3()), Contains("temperature"));
}

TEST_CASE("natural: on the simulated environment every stage uses the natural mixture", "[mixers][cpu]") {
  dma::env::SimEnv env(dma::env::SimFamily{}, 7, 4);
  const auto spec = env.spec();
  std::vector<double> sizes;
  for (std::size_t i = 0; i < spec.num_domains(); ++i) sizes.push_back(double(i + 1));
  Natural n(sizes);
  const auto tr = dma::mixers::run_episode(n, env, dma::reward::Balanced{}, 3);
  REQUIRE(tr.history.steps.size() == spec.stages);
  for (const auto& s : tr.history.steps)
    for (std::size_t i = 0; i < sizes.size(); ++i) CHECK(s.mixture[i] == Approx(double(i + 1) / 10.0));
}

}  // namespace dma_test_mixers_natural
