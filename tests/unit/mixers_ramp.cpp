// LinearRamp: the target share moves linearly from start (first stage) to end (last stage),
// each field's share split evenly; checked on the simulated environment.
#include <catch2/catch.hpp>

#include <dma/env/sim.hpp>
#include <dma/mixers/episode.hpp>
#include <dma/mixers/ramp.hpp>
#include <dma/reward/balanced.hpp>
#include <dma/space/simplex.hpp>

// A namespace of its own: the test programs are unity builds (tests/CMakeLists.txt).
namespace dma_test_mixers_ramp {

using Catch::Matchers::Contains;
using dma::Field;
using dma::mixers::LinearRamp;

TEST_CASE("ramp: the target share goes linearly from start to end over the run", "[mixers][cpu]") {
  dma::env::SimEnv env(dma::env::SimFamily{}, 11, 5);
  const auto spec = env.spec();
  REQUIRE(spec.stages == 10);
  for (auto [a, b] : {std::pair{0.8, 0.2}, std::pair{0.1, 0.7}, std::pair{0.5, 0.5}}) {
    LinearRamp r(a, b);
    const auto tr = dma::mixers::run_episode(r, env, dma::reward::Balanced{}, 1);
    const double nt = double(spec.count(Field::Target)), ns = double(spec.count(Field::Source));
    for (std::size_t t = 0; t < spec.stages; ++t) {
      const auto& m = tr.history.steps[t].mixture;
      const double want = a + (b - a) * double(t) / double(spec.stages - 1);
      CHECK(dma::space::field_share(m, spec, Field::Target) == Approx(want).margin(1e-12));
      for (std::size_t i = 0; i < m.size(); ++i)
        CHECK(m[i] == Approx(spec.domains[i].field == Field::Target ? want / nt : (1 - want) / ns).margin(1e-12));
    }
  }
}

TEST_CASE("ramp: names say the shares; shares outside [0, 1] are rejected", "[mixers][cpu]") {
  CHECK(LinearRamp(0.8, 0.2).name() == "ramp(0.80->0.20)");
  CHECK_THROWS_WITH(LinearRamp(1.2, 0.2), Contains("[0, 1]"));
  CHECK_THROWS_WITH(LinearRamp(0.2, -0.1), Contains("[0, 1]"));
}

TEST_CASE("ramp: a one-stage run uses the start share", "[mixers][cpu]") {
  CHECK(dma::mixers::ramp_share(0.3, 0.9, 0, 1) == 0.3);
  CHECK(dma::mixers::ramp_share(0.3, 0.9, 4, 5) == Approx(0.9));
}

}  // namespace dma_test_mixers_ramp
