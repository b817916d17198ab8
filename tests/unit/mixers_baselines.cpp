#include <catch2/catch.hpp>

#include <dma/env/sim.hpp>
#include <dma/mixers/episode.hpp>
#include <dma/mixers/fixed.hpp>
#include <dma/mixers/target_only.hpp>
#include <dma/mixers/uniform.hpp>
#include <dma/reward/balanced.hpp>
#include <dma/trainer/any_mixer.hpp>

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
// The sim with a train() that skips the evaluation (as env::Cpt's does); counts both.
struct TrainableSim {
  dma::env::SimEnv env;
  int* evals;
  int* trains;
  [[nodiscard]] dma::EpisodeSpec spec() const { return env.spec(); }
  dma::Feedback reset(std::uint64_t s) { return env.reset(s); }
  dma::Feedback step(const Mixture& m) { return ++*evals, env.step(m); }
  void train(const Mixture& m) { ++*trains, (void)env.step(m); }
  [[nodiscard]] TrainableSim fork() const { return *this; }
  void save(const std::filesystem::path& p) const { env.save(p); }
  void load(const std::filesystem::path& p) { env.load(p); }
  [[nodiscard]] double tokens_seen() const { return env.tokens_seen(); }
};
}  // namespace

TEST_CASE("mixers episode: an open-loop run evaluates only its last stage and trains the same model", "[mixers][cpu]") {
  int evals = 0, trains = 0;
  TrainableSim env{dma::env::SimEnv(dma::env::SimFamily{}, 3, 4), &evals, &trains};
  STATIC_REQUIRE(dma::mixers::TrainsWithoutFeedback<TrainableSim>);
  STATIC_REQUIRE_FALSE(dma::mixers::TrainsWithoutFeedback<dma::env::SimEnv>);
  dma::mixers::FixedRatio f(0.4);
  REQUIRE(dma::is_open_loop(f));
  const dma::History h = dma::mixers::run_open_loop(f, env, 5);
  const std::size_t S = env.spec().stages;
  REQUIRE(h.steps.size() == S);
  CHECK(trains == int(S) - 1);
  CHECK(evals == 1);
  for (std::size_t t = 0; t + 1 < S; ++t) CHECK(h.steps[t].feedback.loss.empty());
  dma::env::SimEnv plain(dma::env::SimFamily{}, 3, 4);
  const auto tr = dma::mixers::run_episode(f, plain, dma::reward::Balanced{}, 5);
  CHECK(h.last().loss == tr.history.last().loss);
  CHECK(h.last().score == tr.history.last().score);
  // Without train() every stage is evaluated; a mixer that reads the feedback is refused.
  dma::env::SimEnv plain2(dma::env::SimFamily{}, 3, 4);
  const dma::History all = dma::mixers::run_open_loop(f, plain2, 5);
  for (const auto& st : all.steps) CHECK(!st.feedback.loss.empty());
  Broken b;
  CHECK_THROWS_WITH(dma::mixers::run_open_loop(b, env, 5), Catch::Contains("mixer 'broken'") && Catch::Contains("reads the feedback"));
  // AnyMixer passes the property on.
  CHECK(dma::trainer::AnyMixer(f).open_loop());
  CHECK_FALSE(dma::trainer::AnyMixer(b).open_loop());
}

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
