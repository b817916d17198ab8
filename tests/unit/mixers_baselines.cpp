#include <catch2/catch.hpp>

#include <dma/env/sim.hpp>
#include <dma/mixers/episode.hpp>
#include <dma/mixers/fixed.hpp>
#include <dma/mixers/target_only.hpp>
#include <dma/mixers/uniform.hpp>
#include <dma/reward/balanced.hpp>

#include <cmath>

// A namespace of its own: the test programs are unity builds (tests/CMakeLists.txt).
namespace dma_test_mixers_baselines {

using dma::Field;
using dma::Mixture;

namespace {
const dma::EpisodeSpec kSpec{{{"a", Field::Source}, {"m", Field::Target}, {"b", Field::Source}, {"c", Field::Target}}, 5, 0.5};

struct Broken {  // returns a bad mixture at stage 3
  void reset(const dma::EpisodeSpec&) {}
  Mixture next(const dma::History& h) { return h.t() == 2 ? Mixture{0.5, 0.5, 0.5, std::nan("")} : Mixture(4, 0.25); }
  std::string name() const { return "broken"; }
};
}  // namespace

TEST_CASE("mixers: uniform, fixed ratio and target-only give the documented mixtures", "[mixers][cpu]") {
  STATIC_REQUIRE(dma::Mixer<dma::mixers::Uniform>);
  STATIC_REQUIRE(dma::Mixer<dma::mixers::FixedRatio>);
  STATIC_REQUIRE(dma::Mixer<dma::mixers::TargetOnly>);
  dma::History h;
  h.spec = kSpec;
  dma::mixers::Uniform u;
  u.reset(kSpec);
  CHECK(u.next(h) == Mixture(4, 0.25));
  dma::mixers::FixedRatio f(0.3);
  f.reset(kSpec);
  const Mixture m = f.next(h);
  CHECK(m[0] == Approx(0.35));
  CHECK(m[1] == Approx(0.15));
  CHECK(m[2] == Approx(0.35));
  CHECK(m[3] == Approx(0.15));
  CHECK(f.name() == "fixed(0.30)");
  dma::mixers::TargetOnly t;
  t.reset(kSpec);
  CHECK(t.next(h) == Mixture{0.0, 0.5, 0.0, 0.5});
  CHECK_THROWS_WITH(dma::mixers::FixedRatio(1.5), Catch::Contains("[0, 1]"));
}

TEST_CASE("mixers episode: rewards telescope and every stage is recorded", "[mixers][cpu]") {
  dma::env::SimEnv env(dma::env::SimFamily{}, 3, 4);
  dma::mixers::FixedRatio f(0.4);
  const auto tr = dma::mixers::run_episode(f, env, dma::reward::Balanced{}, 5);
  REQUIRE(tr.history.steps.size() == env.spec().stages);
  CHECK(tr.generator == "fixed(0.40)");
  CHECK(tr.episode_seed == 3);
  CHECK(tr.total_return() ==
        Approx(dma::reward::balanced_level(tr.history.last(), tr.history.initial, env.spec().target_weight)));
  // Same seed, same trajectory.
  dma::env::SimEnv env2(dma::env::SimFamily{}, 3, 4);
  const auto tr2 = dma::mixers::run_episode(f, env2, dma::reward::Balanced{}, 5);
  CHECK(tr2.history.last().loss == tr.history.last().loss);
}

TEST_CASE("mixers episode: an invalid mixture names the mixer and the stage", "[mixers][cpu]") {
  dma::env::SimEnv env(dma::env::SimFamily{}, 3, 4);
  Broken b;
  CHECK_THROWS_WITH(dma::mixers::run_episode(b, env, dma::reward::Balanced{}, 1),
                    Catch::Contains("mixer 'broken'") && Catch::Contains("stage 3") && Catch::Contains("not finite"));
}

TEST_CASE("mixers: target-only lowers source scores and raises target scores on the sim", "[mixers][cpu]") {
  dma::env::SimEnv env(dma::env::SimFamily{}, 8, 3);
  dma::mixers::TargetOnly t;
  const auto tr = dma::mixers::run_episode(t, env, dma::reward::Balanced{}, 1);
  CHECK(dma::reward::mean_gain(tr.history.last(), tr.history.initial, Field::Target) > 0.2);
  CHECK(dma::reward::mean_gain(tr.history.last(), tr.history.initial, Field::Source) < -0.3);
}

}  // namespace dma_test_mixers_baselines
