// DoReMi: on the simulated environment, the proxy run's Group-DRO weights move toward the domain
// with the largest excess loss over the reference run, the deployed mixture is their average,
// the online variant re-weights the deployed run itself, and cost() counts every run.
#include <catch2/catch.hpp>

#include <dma/env/sim.hpp>
#include <dma/mixers/doremi.hpp>
#include <dma/mixers/episode.hpp>
#include <dma/reward/balanced.hpp>
#include <dma/space/simplex.hpp>

#include <algorithm>
#include <cmath>

// A namespace of its own: the test programs are unity builds (tests/CMakeLists.txt).
namespace dma_test_mixers_doremi {

using Catch::Matchers::Contains;
using dma::Field;
using dma::Mixture;
using dma::env::SimEnv;
using dma::mixers::DoReMi;

namespace {
std::size_t argmax(const std::vector<double>& v) {
  return std::size_t(std::max_element(v.begin(), v.end()) - v.begin());
}
}  // namespace

TEST_CASE("doremi: proxy weights move toward the domain with the largest excess loss", "[mixers][cpu]") {
  for (std::uint64_t seed : {3u, 17u, 29u}) {
    const SimEnv proto(dma::env::SimFamily{}, seed, 4);
    DoReMi<SimEnv> dr([&] { return proto.fork(); });
    dr.fit();
    const auto& w = dr.proxy_weights();
    const auto& ex = dr.proxy_excess();
    const std::size_t S = proto.spec().stages, D = 4;
    REQUIRE(w.size() == S);
    REQUIRE(ex.size() == S);
    Mixture prev = dma::space::uniform(D);
    for (std::size_t t = 0; t < S; ++t) {
      // The domain with the largest excess gains the most (multiplicatively), and gains weight.
      std::vector<double> ratio(D);
      for (std::size_t i = 0; i < D; ++i) ratio[i] = w[t][i] / prev[i];
      const std::size_t top = argmax(ex[t]);
      if (ex[t][top] > 1e-9) {
        CHECK(argmax(ratio) == top);
        CHECK(w[t][top] > prev[top]);
      }
      prev = w[t];
    }
    // Exponentiated gradient from a uniform start: the last weights are ~ exp(eta * total excess)
    // (up to the small smoothing), so the domain with the largest total excess ends on top and
    // above uniform. The deployed mixture is the average of the proxy weights.
    std::vector<double> total(D, 0.0);
    for (const auto& e : ex)
      for (std::size_t i = 0; i < D; ++i) total[i] += e[i];
    const auto& m = dr.mixture();
    for (std::size_t i = 0; i < D; ++i) {
      double avg = 0;
      for (const auto& a : w) avg += a[i] / double(S);
      CHECK(m[i] == Approx(avg));
    }
    CHECK(argmax(w.back()) == argmax(total));
    CHECK(w.back()[argmax(total)] > 1.0 / double(D));
  }
}

TEST_CASE("doremi: cost counts the reference and proxy runs; deployment is static", "[mixers][cpu]") {
  const SimEnv proto(dma::env::SimFamily{}, 8, 3);
  DoReMi<SimEnv> dr([&] { return proto.fork(); });
  dr.fit();
  const auto S = proto.spec().stages;
  CHECK(dr.cost().runs == 2);
  CHECK(dr.cost().stages == 2 * S);
  CHECK(dr.cost().tokens == Approx(2.0 * double(S) * proto.instance().tokens_per_stage));
  SimEnv env = proto.fork();
  DoReMi<SimEnv> copy = dr;
  const auto tr = dma::mixers::run_episode(copy, env, dma::reward::Balanced{}, 5);
  for (const auto& s : tr.history.steps)
    for (std::size_t i = 0; i < 3; ++i) CHECK(s.mixture[i] == Approx(dr.mixture()[i]));
  CHECK(copy.cost().runs == 2);  // fitted before the copy: deploying runs nothing more
}

TEST_CASE("doremi: the online variant re-weights the deployed run from its own excess loss", "[mixers][cpu]") {
  const SimEnv proto(dma::env::SimFamily{}, 21, 4);
  dma::mixers::DoremiOptions opt;
  opt.online = true;
  DoReMi<SimEnv> dr([&] { return proto.fork(); }, opt);
  dr.fit();
  CHECK(dr.cost().runs == 1);
  CHECK(dr.name() == "doremi(online)");
  SimEnv env = proto.fork();
  const auto tr = dma::mixers::run_episode(dr, env, dma::reward::Balanced{}, 5);
  const auto& ref = dr.reference_losses().back();
  const auto& h = tr.history;
  for (std::size_t t = 1; t < h.steps.size(); ++t) {
    std::vector<double> excess(4), ratio(4);
    for (std::size_t i = 0; i < 4; ++i) {
      excess[i] = std::max(h.steps[t - 1].feedback.loss[i] - ref[i], 0.0);
      ratio[i] = h.steps[t].mixture[i] / h.steps[t - 1].mixture[i];
    }
    if (excess[argmax(excess)] > 1e-9) CHECK(argmax(ratio) == argmax(excess));
  }
}

TEST_CASE("doremi: deploying on another domain space is an error", "[mixers][cpu]") {
  const SimEnv proto(dma::env::SimFamily{}, 8, 3);
  DoReMi<SimEnv> dr([&] { return proto.fork(); });
  const SimEnv other(dma::env::SimFamily{}, 9, 5);
  CHECK_THROWS_WITH(dr.reset(other.spec()), Contains("different one"));
}

}  // namespace dma_test_mixers_doremi
