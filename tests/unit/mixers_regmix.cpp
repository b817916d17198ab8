// RegMix and its regressors: ridge recovers linear coefficients, kernel ridge a curved response;
// RegMix recovers the optimum of a synthetic quadratic response from noisy proxy runs, transfers
// across domain spaces with field-share features, counts its proxy cost, and on the simulated
// environment deploys a mixture near the best static mixture.
#include <catch2/catch.hpp>

#include <dma/env/sim.hpp>
#include <dma/env/sim_oracle.hpp>
#include <dma/mixers/fixed.hpp>
#include <dma/mixers/regmix.hpp>
#include <dma/mixers/regression.hpp>
#include <dma/reward/balanced.hpp>
#include <dma/space/simplex.hpp>

#include <cmath>

// A namespace of its own: the test programs are unity builds (tests/CMakeLists.txt).
namespace dma_test_mixers_regmix {

using Catch::Matchers::Contains;
using dma::Field;
using dma::Mixture;
using dma::mixers::RegMix;
using dma::mixers::RegMixOptions;
namespace reg = dma::mixers::regression;

namespace {
// A toy Environment whose probe score after each stage is -(m - w*)' (m - w*) (or, with
// `field_only`, -(target share - 0.6)^2) plus noise: its best static mixture is known.
class QuadraticEnv {
 public:
  QuadraticEnv(std::vector<dma::DomainInfo> d, Mixture opt, bool field_only = false, double target_weight = 0.5)
      : m_spec{std::move(d), 3, target_weight}, m_opt(std::move(opt)), m_field_only(field_only) {}
  [[nodiscard]] dma::EpisodeSpec spec() const { return m_spec; }
  dma::Feedback reset(std::uint64_t seed) {
    m_rng = dma::Rng(seed);
    m_tokens = 0;
    return feedback(0.0);
  }
  dma::Feedback step(const Mixture& m) {
    m_tokens += 1000;
    double v = 0;
    if (m_field_only) {
      const double ts = dma::space::field_share(m, m_spec, Field::Target);
      v = -(ts - 0.6) * (ts - 0.6);
    } else {
      for (std::size_t i = 0; i < m.size(); ++i) v -= (m[i] - m_opt[i]) * (m[i] - m_opt[i]);
    }
    m_source = -dma::space::field_share(m, m_spec, Field::Target);  // more target, less source
    return feedback(v + m_rng.normal(0.0, 0.002));
  }
  [[nodiscard]] QuadraticEnv fork() const { return *this; }
  void save(const std::filesystem::path&) const { dma::fail("QuadraticEnv: save not supported"); }
  void load(const std::filesystem::path&) { dma::fail("QuadraticEnv: load not supported"); }
  [[nodiscard]] double tokens_seen() const { return m_tokens; }

 private:
  dma::Feedback feedback(double v) const {
    dma::Feedback f;
    f.loss.assign(m_spec.num_domains(), 1.0);
    f.score = {v, m_source};
    f.score_field = {Field::Target, Field::Source};
    f.tokens = m_tokens;
    return f;
  }
  dma::EpisodeSpec m_spec;
  Mixture m_opt;
  bool m_field_only;
  double m_source = 0;
  dma::Rng m_rng;
  double m_tokens = 0;
};
static_assert(dma::Environment<QuadraticEnv>);

std::vector<dma::DomainInfo> domains(std::size_t ns, std::size_t nt) {
  std::vector<dma::DomainInfo> d;
  for (std::size_t i = 0; i < ns; ++i) d.push_back({"s" + std::to_string(i), Field::Source});
  for (std::size_t i = 0; i < nt; ++i) d.push_back({"t" + std::to_string(i), Field::Target});
  return d;
}
double last_score(const dma::History& h) { return h.last().score[0]; }
}  // namespace

TEST_CASE("regression: ridge recovers the coefficients of a linear response", "[mixers][regmix][cpu]") {
  dma::Rng rng(3);
  Eigen::MatrixXd X(40, 2);
  Eigen::VectorXd y(40);
  for (int i = 0; i < 40; ++i) {
    X(i, 0) = rng.uniform();
    X(i, 1) = rng.uniform(-1, 1);
    y(i) = 1.0 + 2.0 * X(i, 0) - 3.0 * X(i, 1) + rng.normal(0, 0.01);
  }
  reg::RidgeLinear lin;
  lin.fit(X, y);
  const auto c = lin.coefficients();
  CHECK(c(0) == Approx(2.0).margin(0.03));
  CHECK(c(1) == Approx(-3.0).margin(0.03));
  CHECK(lin.loo_mse() < 1e-3);
}

TEST_CASE("regression: kernel ridge fits a curved response that the linear model cannot", "[mixers][regmix][cpu]") {
  dma::Rng rng(5);
  Eigen::MatrixXd X(40, 1);
  Eigen::VectorXd y(40);
  for (int i = 0; i < 40; ++i) {
    X(i, 0) = rng.uniform();
    y(i) = -(X(i, 0) - 0.3) * (X(i, 0) - 0.3) + rng.normal(0, 0.001);
  }
  reg::Regressor r(reg::Kind::Auto);
  r.fit(X, y);
  CHECK(r.chosen() == "kernel_ridge");
  CHECK(r.kernel_loo_mse() < r.linear_loo_mse());
  Eigen::MatrixXd T(3, 1);
  T << 0.1, 0.3, 0.8;
  const auto p = r.predict(T);
  CHECK(p(0) == Approx(-0.04).margin(0.004));
  CHECK(p(1) == Approx(0.0).margin(0.004));
  CHECK(p(2) == Approx(-0.25).margin(0.01));
  CHECK_THROWS_WITH(reg::RidgeLinear{}.fit(X.topRows(2), y.head(2)), Contains("at least 3"));
}

TEST_CASE("regmix: recovers the optimum of a synthetic quadratic response", "[mixers][regmix][cpu]") {
  const Mixture opt{0.2, 0.3, 0.5};
  const QuadraticEnv proto(domains(2, 1), opt);
  RegMixOptions o;
  o.runs = 48;
  RegMix<QuadraticEnv> rm([&](std::size_t) { return proto.fork(); }, o, "regmix", {}, last_score);
  rm.reset(proto.spec());
  const Mixture m = rm.next(dma::History{});
  for (std::size_t i = 0; i < 3; ++i) CHECK(m[i] == Approx(opt[i]).margin(0.05));
  CHECK(rm.report().features == "per_domain");
  CHECK(rm.report().regressor == "kernel_ridge");
  CHECK(rm.cost().runs == 48);
  CHECK(rm.cost().tokens == Approx(48.0 * 3 * 1000));
  // The deployed mixture is predicted to beat the best proxy run it saw (up to noise).
  CHECK(rm.report().predicted > rm.report().best_proxy_score - 0.005);
}

TEST_CASE("regmix: field-share features transfer across domain spaces; per-domain ones must refit",
          "[mixers][regmix][cpu]") {
  RegMixOptions o;
  o.runs = 40;
  RegMix<QuadraticEnv> rm(
      [](std::size_t i) { return QuadraticEnv(domains(2 + i % 3, 1 + i % 2), {}, true); }, o, "regmix", {}, last_score);
  const dma::EpisodeSpec five{domains(3, 2), 3, 0.5};
  rm.reset(five);
  CHECK(rm.report().features == "field_shares");
  CHECK(dma::space::field_share(rm.next(dma::History{}), five, Field::Target) == Approx(0.6).margin(0.05));

  const QuadraticEnv proto(domains(2, 1), {0.3, 0.3, 0.4});
  RegMix<QuadraticEnv> fixed([&](std::size_t) { return proto.fork(); }, o, "regmix", {}, last_score);
  CHECK_THROWS_WITH(fixed.reset(five), Contains("refit per domain space"));
  o.features = dma::mixers::RegMixFeatures::PerDomain;
  RegMix<QuadraticEnv> forced(
      [](std::size_t i) { return QuadraticEnv(domains(2 + i % 2, 1), {}, true); }, o, "regmix", {}, last_score);
  CHECK_THROWS_WITH(forced.fit(), Contains("one domain space"));
}

TEST_CASE("regmix: proxy runs re-scored at another target weight fit as a rerun would", "[mixers][regmix][cpu]") {
  RegMixOptions o;
  o.runs = 24;
  const Mixture opt{0.2, 0.3, 0.5};
  auto at = [&](double tw) {
    return RegMix<QuadraticEnv>([&, tw](std::size_t) { return QuadraticEnv(domains(2, 1), opt, false, tw); }, o);
  };
  auto first = at(0.5), rerun = at(0.9), rescored = at(0.9), unscored = at(0.9);
  first.fit();
  rerun.fit();
  rescored.fit_from(first.runs().at_weight(0.9));
  unscored.fit_from(first.runs());  // the histories still say 0.5: the default score reads that
  REQUIRE(rerun.scores().size() == 24);
  CHECK((rescored.scores() - rerun.scores()).cwiseAbs().maxCoeff() == 0.0);
  CHECK((rescored.features_matrix() - rerun.features_matrix()).cwiseAbs().maxCoeff() == 0.0);
  CHECK((unscored.scores() - rerun.scores()).cwiseAbs().maxCoeff() > 1e-3);
  const dma::EpisodeSpec spec{domains(2, 1), 3, 0.9};
  CHECK(rescored.choose(spec) == rerun.choose(spec));
  CHECK(rescored.cost().runs == 24);
  CHECK(rescored.cost().tokens == rerun.cost().tokens);
  dma::mixers::RegMixRuns two = first.runs();
  two.mixes.resize(2);
  two.histories.resize(2);
  CHECK_THROWS_WITH(at(0.9).fit_from(two), Contains(">= 3 proxy runs"));
}

TEST_CASE("regmix: on the simulated environment it deploys a mixture near the best static one", "[mixers][regmix][cpu]") {
  const dma::reward::Balanced reward;
  for (std::uint64_t seed : {12u, 34u}) {
    const dma::env::SimEnv proto(dma::env::SimFamily{}, seed, 3);
    RegMixOptions o;
    o.runs = 32;
    RegMix<dma::env::SimEnv> rm([&](std::size_t) { return proto.fork(); }, o);
    rm.reset(proto.spec());
    const Mixture m = rm.next(dma::History{});
    dma::env::OracleOptions oo;
    oo.dynamic = false;
    const auto best = dma::env::sim_oracle(proto, reward, oo);
    const double v = dma::env::noise_free_return(proto, reward, {m});
    const double uni = dma::env::noise_free_return(proto, reward, {dma::space::uniform(3)});
    INFO("seed " << seed << ": regmix " << v << ", best static " << best.best_static_value << ", uniform " << uni);
    CHECK(v > uni);
    CHECK(v > best.best_static_value - 0.05);
  }
}

}  // namespace dma_test_mixers_regmix
