// Replay: a fixed share of every stage replays the source field (evenly or by weights), the rest
// goes evenly to the targets; 25/50/75% replay give those source shares on the simulated environment.
#include <catch2/catch.hpp>

#include <dma/env/sim.hpp>
#include <dma/mixers/episode.hpp>
#include <dma/mixers/fixed.hpp>
#include <dma/mixers/replay.hpp>
#include <dma/reward/balanced.hpp>
#include <dma/space/simplex.hpp>

// A namespace of its own: the test programs are unity builds (tests/CMakeLists.txt).
namespace dma_test_mixers_replay {

using Catch::Matchers::Contains;
using dma::Field;
using dma::mixers::Replay;

TEST_CASE("replay: 25/50/75% replay ratios give those source shares at every stage", "[mixers][cpu]") {
  dma::env::SimEnv env(dma::env::SimFamily{}, 5, 6);
  const auto spec = env.spec();
  for (double r : {0.25, 0.5, 0.75}) {
    Replay mix(r);
    const auto tr = dma::mixers::run_episode(mix, env, dma::reward::Balanced{}, 2);
    for (const auto& s : tr.history.steps) {
      CHECK(dma::space::field_share(s.mixture, spec, Field::Source) == Approx(r));
      CHECK(dma::space::field_share(s.mixture, spec, Field::Target) == Approx(1 - r));
      dma::mixers::FixedRatio same(1 - r);
      same.reset(spec);
      const auto f = same.next(tr.history);
      for (std::size_t i = 0; i < f.size(); ++i) CHECK(s.mixture[i] == Approx(f[i]));
    }
  }
}

TEST_CASE("replay: source weights split the replay share over the source domains", "[mixers][cpu]") {
  const dma::EpisodeSpec spec{{{"a", Field::Source}, {"m", Field::Target}, {"b", Field::Source}, {"c", Field::Source}}, 4, 0.5};
  Replay mix(0.4, {1, 2, 1});
  mix.reset(spec);
  const auto m = mix.next(dma::History{});
  CHECK(m[0] == Approx(0.1));
  CHECK(m[2] == Approx(0.2));
  CHECK(m[3] == Approx(0.1));
  CHECK(m[1] == Approx(0.6));
  CHECK(mix.name() == "replay(0.40)");
  CHECK_THROWS_WITH(Replay(0.4, {1, 2}).reset(spec), Contains("one per source domain (3)"));
  CHECK_THROWS_WITH(Replay(0.4, {0, 0, 0}).reset(spec), Contains("all 0"));
  CHECK_THROWS_WITH(Replay(1.5), Contains("[0, 1]"));
}

}  // namespace dma_test_mixers_replay
