// Odm (EXP3 online data mixing): every weight respects the decaying exploration floor eps_t at
// every stage, the floor decays as sqrt(ln K / (K t)), and domains with higher (relative) loss
// are sampled more; checked on the simulated environment and on a hand-made history.
#include <catch2/catch.hpp>

#include <dma/env/sim.hpp>
#include <dma/mixers/episode.hpp>
#include <dma/mixers/odm.hpp>
#include <dma/reward/balanced.hpp>

#include <cmath>

// A namespace of its own: the test programs are unity builds (tests/CMakeLists.txt).
namespace dma_test_mixers_odm {

using dma::Field;
using dma::mixers::Odm;

TEST_CASE("odm: weights respect the exploration floor eps_t at every stage", "[mixers][cpu]") {
  for (std::size_t D : {2, 3, 5, 8}) {
    dma::env::SimEnv env(dma::env::SimFamily{}, 100 + D, D);
    Odm odm;
    const auto tr = dma::mixers::run_episode(odm, env, dma::reward::Balanced{}, 4);
    Odm probe;
    probe.reset(env.spec());
    bool moved = false;
    for (std::size_t t = 0; t < tr.history.steps.size(); ++t) {
      const double eps = probe.epsilon(t + 1);
      const auto& m = tr.history.steps[t].mixture;
      for (double x : m) CHECK(x >= eps - 1e-12);
      for (double x : m) moved = moved || std::abs(x - 1.0 / double(D)) > 1e-3;
    }
    CHECK(moved);  // the bandit does move off uniform within the run
  }
}

TEST_CASE("odm: the floor is min(1/K, sqrt(ln K / (K steps))) and decays", "[mixers][cpu]") {
  dma::mixers::OdmOptions opt;
  opt.steps_per_stage = 1;
  Odm odm(opt);
  odm.reset(dma::EpisodeSpec{std::vector<dma::DomainInfo>(4, {"d", Field::Source}), 50, 0.5});
  CHECK(odm.epsilon(1) == Approx(0.25));
  CHECK(odm.epsilon(20) == Approx(std::sqrt(std::log(4.0) / 80.0)));
  CHECK(odm.epsilon(40) < odm.epsilon(20));
}

TEST_CASE("odm: a domain whose loss stays high relative to its base gets more weight", "[mixers][cpu]") {
  dma::History h;
  h.spec = dma::EpisodeSpec{{{"s1", Field::Source}, {"s2", Field::Source}, {"m", Field::Target}}, 10, 0.5};
  h.initial.loss = {2.0, 2.0, 4.0};
  Odm odm;
  odm.reset(h.spec);
  for (int t = 0; t < 6; ++t) {
    dma::Step s;
    s.mixture = odm.next(h);
    s.feedback.loss = {2.6, 2.0, 3.0};  // s1 forgets, m is being learnt
    h.steps.push_back(s);
  }
  const auto m = odm.next(h);
  CHECK(m[0] > m[1]);
  CHECK(m[1] > m[2]);
  CHECK(odm.rewards()[0] > odm.rewards()[2]);
}

}  // namespace dma_test_mixers_odm
