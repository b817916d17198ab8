// dma/mixers/regmix.hpp: RegMix (Liu et al., 2024, "RegMix: Data Mixture as Regression for
// Language Model Pre-training", arXiv 2407.01492): sample M static mixtures (Dirichlet around a
// prior, e.g. the natural distribution), run one short proxy run per mixture, regress the run's
// score on the mixture, deploy the average of the top-k mixtures by predicted score. A static Mixer.
// CPT adaptation [ours]: a proxy run is a CPT run of the user's environment factory (any
// dma::Environment; a small model in practice) from the base model; its score is the balanced
// level of its last feedback. Cost: cost() (regmix.hpp's proxies, see proxy.hpp). Tested in
// tests/unit/mixers_regmix.cpp; described in docs/BASELINES.md.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <numeric>
#include <string>
#include <vector>

#include <Eigen/Core>

#include "dma/core/concepts.hpp"
#include "dma/core/config.hpp"
#include "dma/core/error.hpp"
#include "dma/core/rng.hpp"
#include "dma/mixers/proxy.hpp"
#include "dma/mixers/regression.hpp"
#include "dma/reward/levels.hpp"
#include "dma/space/simplex.hpp"

namespace dma::mixers {

// How a mixture is described to the regressor. PerDomain: (source share, target share, w_1..w_D),
// valid only when every proxy run and the deployment share one domain list (RegMix is refit per
// domain space). FieldShares: (source share, target share) only, which lets one fit serve spaces
// of any size (a "transferred" RegMix; within-field splits are then not learnt).
// Auto: PerDomain when all proxy runs share a domain list, else FieldShares.
enum class RegMixFeatures { Auto, PerDomain, FieldShares };

struct RegMixOptions {
  std::size_t runs = 32;           // M proxy runs (one mixture each)
  std::size_t candidates = 4096;   // mixtures scored by the fitted regressor
  std::size_t top_k = 32;          // the deployed mixture averages the k best predicted
  // Dirichlet concentration around the prior: alpha_i = c * D * prior_i with c log-uniform in
  // [min, max] per draw (RegMix varies the spread of its samples; small c gives corners).
  double concentration_min = 0.5, concentration_max = 8.0;
  regression::Kind regressor = regression::Kind::Auto;
  RegMixFeatures features = RegMixFeatures::Auto;
  std::uint64_t seed = 1;
};

// What the fit found (for the results JSON and for tests).
struct RegMixReport {
  std::size_t points = 0;
  std::string features, regressor;
  double linear_loo_mse = std::nan(""), kernel_loo_mse = std::nan("");
  double score_mean = 0, score_sd = 0;       // of the proxy runs' scores
  double best_proxy_score = 0;               // best observed proxy score
  double predicted = 0;                      // predicted score of the deployed mixture
  Mixture mixture;                           // deployed mixture (last spec chosen for)

  [[nodiscard]] Json to_json() const {
    auto num = [](double x) { return std::isfinite(x) ? Json(x) : Json(nullptr); };
    return Json{{"points", points}, {"features", features}, {"regressor", regressor},
                {"linear_loo_mse", num(linear_loo_mse)}, {"kernel_loo_mse", num(kernel_loo_mse)},
                {"score_mean", score_mean}, {"score_sd", score_sd}, {"best_proxy_score", best_proxy_score},
                {"predicted", predicted}, {"mixture", mixture}};
  }
};

// The proxy runs of a fit: each run's mixture and history, and their cost. A proxy run's training
// does not depend on the user's target weight, so one set can be re-scored at another weight
// (RegMix::fit_from) instead of being run again.
struct RegMixRuns {
  std::vector<Mixture> mixes;
  std::vector<History> histories;
  ProxyCost cost;
  // The same runs seen by a user of weight tw (their specs carry it; the default score reads it).
  [[nodiscard]] RegMixRuns at_weight(double tw) const {
    RegMixRuns r = *this;
    for (auto& h : r.histories) h.spec.target_weight = tw;
    return r;
  }
};

template <Environment Env>
class RegMix {
 public:
  // factory(i) returns the environment of proxy run i (the same one, or one of several instances).
  using Factory = std::function<Env(std::size_t proxy_index)>;
  // The prior the mixtures are sampled around (default: uniform), per domain space.
  using Prior = std::function<Mixture(const EpisodeSpec&)>;
  // The score a proxy run is regressed on (default: balanced level of the last feedback,
  // reward/levels.hpp, with the spec's target weight: the Balanced reward's return).
  using Score = std::function<double(const History&)>;

  explicit RegMix(Factory factory, RegMixOptions opt = {}, std::string name = "regmix", Prior prior = {},
                  Score score = {})
      : m_factory(std::move(factory)), m_opt(opt), m_name(std::move(name)), m_prior(std::move(prior)),
        m_score(std::move(score)) {
    if (!m_factory) fail("mixer '", m_name, "': an environment factory is required");
    if (m_opt.runs < 3) fail("mixer '", m_name, "': 'runs' must be >= 3 to fit a regression, got ", m_opt.runs);
    if (m_opt.top_k < 1 || m_opt.candidates < m_opt.top_k)
      fail("mixer '", m_name, "': need 1 <= top_k <= candidates, got top_k ", m_opt.top_k, ", candidates ",
           m_opt.candidates);
    if (!(m_opt.concentration_min > 0) || m_opt.concentration_max < m_opt.concentration_min)
      fail("mixer '", m_name, "': need 0 < concentration_min <= concentration_max");
    if (!m_score)
      m_score = [](const History& h) { return reward::balanced_level(h.last(), h.initial, h.spec.target_weight); };
  }

  // Runs the M proxy runs and fits the regressor; idempotent (cost is counted once).
  void fit() {
    if (m_fitted) return;
    Rng root(m_opt.seed);
    Rng mix_rng = root.split("regmix.mixtures"), run_rng = root.split("regmix.runs");
    RegMixRuns runs;
    for (std::size_t i = 0; i < m_opt.runs; ++i) {
      Env env = m_factory(i);
      Mixture m = sample(env.spec(), mix_rng);
      runs.histories.push_back(proxy_run_static(env, run_rng.next_u64(), m, runs.cost, "mixer '" + m_name + "'"));
      runs.mixes.push_back(std::move(m));
    }
    fit_from(std::move(runs));
  }
  // Fits the regressor on proxy runs made elsewhere (e.g. the same runs re-scored at another
  // target weight, RegMixRuns::at_weight); their cost becomes this fit's cost. Idempotent.
  void fit_from(RegMixRuns runs) {
    if (m_fitted) return;
    if (runs.mixes.size() != runs.histories.size() || runs.mixes.size() < 3)
      fail("mixer '", m_name, "': fit_from needs >= 3 proxy runs with one mixture each, got ", runs.mixes.size(),
           " mixtures and ", runs.histories.size(), " histories");
    std::vector<EpisodeSpec> specs;
    std::vector<double> ys;
    for (std::size_t i = 0; i < runs.histories.size(); ++i) {
      const double y = m_score(runs.histories[i]);
      if (!std::isfinite(y)) fail("mixer '", m_name, "': proxy run ", i, " has a non-finite score");
      specs.push_back(runs.histories[i].spec);
      ys.push_back(y);
    }
    const std::vector<Mixture>& mixes = runs.mixes;
    bool one_space = true;
    for (const auto& s : specs) one_space = one_space && same_domains(s, specs.front());
    m_mode = m_opt.features;
    if (m_mode == RegMixFeatures::Auto) m_mode = one_space ? RegMixFeatures::PerDomain : RegMixFeatures::FieldShares;
    if (m_mode == RegMixFeatures::PerDomain && !one_space)
      fail("mixer '", m_name, "': per-domain features need every proxy run on one domain space; the factory "
           "returned different ones (use RegMixFeatures::FieldShares to fit across spaces)");
    m_fit_spec = specs.front();
    const std::size_t F = features(specs.front(), mixes.front()).size();
    Eigen::MatrixXd X(Eigen::Index(mixes.size()), Eigen::Index(F));
    Eigen::VectorXd y(Eigen::Index(ys.size()));
    for (std::size_t i = 0; i < mixes.size(); ++i) {
      const auto f = features(specs[i], mixes[i]);
      for (std::size_t j = 0; j < F; ++j) X(Eigen::Index(i), Eigen::Index(j)) = f[j];
      y(Eigen::Index(i)) = ys[i];
    }
    m_reg = regression::Regressor(m_opt.regressor);
    m_reg.fit(X, y);
    m_X = X;
    m_y = y;
    m_report.points = ys.size();
    m_report.features = m_mode == RegMixFeatures::PerDomain ? "per_domain" : "field_shares";
    m_report.regressor = m_reg.chosen();
    m_report.linear_loo_mse = m_reg.linear_loo_mse();
    m_report.kernel_loo_mse = m_reg.kernel_loo_mse();
    m_report.score_mean = y.mean();
    m_report.score_sd = ys.size() > 1 ? std::sqrt((y.array() - y.mean()).square().sum() / double(ys.size() - 1)) : 0.0;
    m_report.best_proxy_score = y.maxCoeff();
    m_cost = runs.cost;
    m_runs = std::move(runs);
    m_fitted = true;
  }

  // The mixture for `spec`: the average of the top-k of `candidates` prior draws by predicted score.
  Mixture choose(const EpisodeSpec& spec) {
    fit();
    if (m_mode == RegMixFeatures::PerDomain && !same_domains(spec, m_fit_spec))
      fail("mixer '", m_name, "': fitted with per-domain features on a space of ", m_fit_spec.num_domains(),
           " domains, deployed on a different one (", spec.num_domains(),
           " domains); RegMix must be refit per domain space, or fitted with field-share features");
    Rng rng = Rng(m_opt.seed).split("regmix.candidates");
    std::vector<Mixture> cand(m_opt.candidates);
    for (auto& c : cand) c = sample(spec, rng);
    const std::size_t F = features(spec, cand.front()).size();
    Eigen::MatrixXd X(Eigen::Index(cand.size()), Eigen::Index(F));
    for (std::size_t i = 0; i < cand.size(); ++i) {
      const auto f = features(spec, cand[i]);
      for (std::size_t j = 0; j < F; ++j) X(Eigen::Index(i), Eigen::Index(j)) = f[j];
    }
    const Eigen::VectorXd pred = m_reg.predict(X);
    std::vector<std::size_t> idx(cand.size());
    std::iota(idx.begin(), idx.end(), std::size_t{0});
    std::partial_sort(idx.begin(), idx.begin() + std::ptrdiff_t(m_opt.top_k), idx.end(),
                      [&](std::size_t a, std::size_t b) { return pred(Eigen::Index(a)) > pred(Eigen::Index(b)); });
    Mixture avg(spec.num_domains(), 0.0);
    for (std::size_t k = 0; k < m_opt.top_k; ++k)
      for (std::size_t d = 0; d < avg.size(); ++d) avg[d] += cand[idx[k]][d] / double(m_opt.top_k);
    avg = space::normalize(avg);
    m_report.mixture = avg;
    m_report.predicted = predict(spec, avg);
    return avg;
  }

  void reset(const EpisodeSpec& spec) {
    if (m_mix.empty() || !same_domains(spec, m_mix_spec)) {
      m_mix = choose(spec);
      m_mix_spec = spec;
    }
  }
  Mixture next(const History&) { return m_mix; }
  [[nodiscard]] bool open_loop() const noexcept { return true; }  // never reads the feedback
  [[nodiscard]] std::string name() const { return m_name; }

  // Predicted score of mixture m on `spec` (after fit()).
  [[nodiscard]] double predict(const EpisodeSpec& spec, const Mixture& m) const {
    DMA_ASSERT(m_fitted, "RegMix::predict before fit()");
    const auto f = features(spec, m);
    Eigen::MatrixXd X(1, Eigen::Index(f.size()));
    for (std::size_t j = 0; j < f.size(); ++j) X(0, Eigen::Index(j)) = f[j];
    return m_reg.predict(X)(0);
  }
  [[nodiscard]] const ProxyCost& cost() const noexcept { return m_cost; }
  // The proxy runs the fit used (after fit()).
  [[nodiscard]] const RegMixRuns& runs() const noexcept { return m_runs; }
  [[nodiscard]] const RegMixReport& report() const noexcept { return m_report; }
  [[nodiscard]] bool fitted() const noexcept { return m_fitted; }
  [[nodiscard]] const Eigen::MatrixXd& features_matrix() const noexcept { return m_X; }
  [[nodiscard]] const Eigen::VectorXd& scores() const noexcept { return m_y; }

 private:
  Mixture sample(const EpisodeSpec& spec, Rng& rng) const {
    const std::size_t D = spec.num_domains();
    Mixture prior = m_prior ? m_prior(spec) : space::uniform(D);
    space::validate_mixture(prior, D, "mixer '" + m_name + "': prior");
    const double lo = std::log(m_opt.concentration_min), hi = std::log(m_opt.concentration_max);
    const double c = std::exp(rng.uniform(lo, hi));
    std::vector<double> alpha(D);
    for (std::size_t i = 0; i < D; ++i) alpha[i] = std::max(c * double(D) * prior[i], 1e-3);
    return space::dirichlet(alpha, rng);
  }
  std::vector<double> features(const EpisodeSpec& spec, const Mixture& m) const {
    std::vector<double> f{space::field_share(m, spec, Field::Source), space::field_share(m, spec, Field::Target)};
    if (m_mode == RegMixFeatures::PerDomain) f.insert(f.end(), m.begin(), m.end());
    return f;
  }

  Factory m_factory;
  RegMixOptions m_opt;
  std::string m_name;
  Prior m_prior;
  Score m_score;
  bool m_fitted = false;
  RegMixFeatures m_mode = RegMixFeatures::Auto;
  EpisodeSpec m_fit_spec, m_mix_spec;
  regression::Regressor m_reg;
  Eigen::MatrixXd m_X;
  Eigen::VectorXd m_y;
  ProxyCost m_cost;
  RegMixRuns m_runs;
  RegMixReport m_report;
  Mixture m_mix;
};

static_assert(Mixer<RegMix<detail::ArchetypeEnv>>);

}  // namespace dma::mixers
