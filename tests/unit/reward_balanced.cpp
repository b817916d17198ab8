#include <catch2/catch.hpp>

#include <dma/reward/balanced.hpp>
#include <dma/reward/compose.hpp>
#include <dma/reward/target_only.hpp>

// A namespace of its own: the test programs are unity builds (tests/CMakeLists.txt).
namespace dma_test_reward_balanced {

using dma::Feedback;
using dma::Field;

namespace {
// Probes: source a, source b, target t.
Feedback fb(double a, double b, double t, double tokens = 0) {
  Feedback f;
  f.score = {a, b, t};
  f.score_field = {Field::Source, Field::Source, Field::Target};
  f.score_name = {"a", "b", "t"};
  f.tokens = tokens;
  return f;
}
dma::EpisodeSpec spec(double tw) {
  return dma::EpisodeSpec{{{"a", Field::Source}, {"b", Field::Source}, {"t", Field::Target}}, 4, tw};
}
}  // namespace

TEST_CASE("reward balanced: hand-computed value with the worst-source penalty", "[reward][cpu]") {
  STATIC_REQUIRE(dma::Reward<dma::reward::Balanced>);
  const Feedback base = fb(-2.0, -2.0, -4.0);
  const Feedback prev = fb(-2.1, -2.3, -3.5);
  const Feedback next = fb(-2.2, -2.6, -3.0);
  const auto sp = spec(0.6);
  const dma::RewardContext ctx{base, sp, 2};
  // level(next) = 0.6 * 1.0 + 0.4 * (0.5 * mean(-0.2, -0.6) + 0.5 * (-0.6)) = 0.6 - 0.2 = 0.4
  // level(prev) = 0.6 * 0.5 + 0.4 * (0.5 * (-0.2) + 0.5 * (-0.3)) = 0.3 - 0.1 = 0.2
  CHECK(dma::reward::balanced_level(next, base, 0.6) == Approx(0.4));
  CHECK(dma::reward::Balanced{}(prev, next, {}, ctx) == Approx(0.2));
  // worst_weight 0: the mean only. level(next) = 0.6 - 0.4 * 0.4 = 0.44; level(prev) = 0.3 - 0.4 * 0.2 = 0.22
  CHECK(dma::reward::Balanced{0.0}(prev, next, {}, ctx) == Approx(0.22));
}

TEST_CASE("reward balanced: the return telescopes to the final balanced level", "[reward][cpu]") {
  const Feedback base = fb(-2.0, -2.0, -4.0);
  const std::vector<Feedback> path{base, fb(-2.3, -2.1, -3.0), fb(-2.0, -2.5, -3.2), fb(-2.2, -2.2, -2.7)};
  const auto sp = spec(0.5);
  double ret = 0;
  for (std::size_t t = 1; t < path.size(); ++t)
    ret += dma::reward::Balanced{}(path[t - 1], path[t], {}, dma::RewardContext{base, sp, t});
  CHECK(ret == Approx(dma::reward::balanced_level(path.back(), base, 0.5)));
}

TEST_CASE("reward target-only and terms: hand-computed values", "[reward][cpu]") {
  const Feedback base = fb(-2.0, -2.0, -4.0);
  const Feedback prev = fb(-2.1, -2.3, -3.5, 100);
  const Feedback next = fb(-2.2, -2.6, -3.0, 2100);
  const auto sp = spec(0.5);
  const dma::RewardContext ctx{base, sp, 2};
  CHECK(dma::reward::TargetOnly{}(prev, next, {}, ctx) == Approx(0.5));
  CHECK(dma::reward::SourceMean{}(prev, next, {}, ctx) == Approx(-0.2));
  CHECK(dma::reward::SourceWorst{}(prev, next, {}, ctx) == Approx(-0.3));
  CHECK(dma::reward::TokenCost{}(prev, next, {}, ctx) == Approx(-0.002));
}

TEST_CASE("reward compose: a weighted sum of terms; reproduces Balanced", "[reward][cpu]") {
  using namespace dma::reward;
  const Feedback base = fb(-2.0, -2.0, -4.0);
  const Feedback prev = fb(-2.1, -2.3, -3.5);
  const Feedback next = fb(-2.2, -2.6, -3.0);
  const auto sp = spec(0.6);
  const dma::RewardContext ctx{base, sp, 2};
  const auto r = compose(term(0.6, TargetOnly{}), term(0.2, SourceMean{}), term(0.2, SourceWorst{}));
  STATIC_REQUIRE(dma::Reward<decltype(r)>);
  STATIC_REQUIRE(decltype(r)::size() == 3);
  CHECK(r(prev, next, {}, ctx) == Approx(0.6 * 0.5 + 0.2 * -0.2 + 0.2 * -0.3));
  CHECK(r(prev, next, {}, ctx) == Approx(Balanced{}(prev, next, {}, ctx)));
  CHECK(r.name().find("target_only") != std::string::npos);
}

TEST_CASE("reward: mismatched probe counts raise a clear error", "[reward][cpu]") {
  const Feedback base = fb(-2.0, -2.0, -4.0);
  Feedback bad = base;
  bad.score.pop_back();
  const auto sp = spec(0.5);
  CHECK_THROWS_WITH(dma::reward::Balanced{}(base, bad, {}, dma::RewardContext{base, sp, 1}),
                    Catch::Contains("probe"));
}

}  // namespace dma_test_reward_balanced
