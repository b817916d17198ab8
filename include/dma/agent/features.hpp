// dma/agent/features.hpp: what the agent sees of a History, in features whose meaning does not
// depend on the number of domains D [ours]. Per stage token t = 0..S (t = 0 is the base model)
// and domain i, f(t,i); per token, g(t). FeatureNorm standardises them with statistics taken
// from a training set and travels inside the agent checkpoint with the schema's names, so a
// checkpoint refuses to run on features it was not trained for. Tested in agent_network.cpp.
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <string>
#include <vector>

#include "dma/agent/tape.hpp"
#include "dma/core/error.hpp"
#include "dma/core/types.hpp"

namespace dma::agent {

// The feature schema. Bump kFeatureVersion whenever a name, order or definition changes.
inline constexpr std::uint32_t kFeatureVersion = 1;

// Per (stage, domain). "Rel" values are relative to the base model (History.initial).
inline const std::vector<std::string>& domain_feature_names() {
  static const std::vector<std::string> n{
      "is_target",            // field of the domain (1 target, 0 source)
      "field_share",          // share of the domain's field in the last stage's mixture
      "within_field_weight",  // n_field * w_i / field_share: 1 = uniform inside its field
      "cum_field_share",      // mean field share over the stages so far
      "cum_within_field",     // mean within-field weight over the stages so far
      "loss_rel",             // (loss_t - loss_0) / loss_0: forgetting (+) or learning (-)
      "loss_delta",           // (loss_t - loss_{t-1}) / loss_0: change over the last stage
      "loss_rel_vs_field",    // loss_rel minus its mean over the domain's field
  };
  return n;
}

// Per stage token.
inline const std::vector<std::string>& global_feature_names() {
  static const std::vector<std::string> n{
      "progress",          // t / stages
      "is_start",          // 1 for the base-model token
      "target_weight",     // the user's objective weight of the target field
      "target_share",      // target share of the last stage's mixture
      "cum_target_share",  // mean target share so far
      "src_score_rel",     // mean over source probes of score_t - score_0
      "tgt_score_rel",     // same for target probes
      "src_score_delta",   // mean over source probes of score_t - score_{t-1}
      "tgt_score_delta",   // same for target probes
      "src_loss_rel",      // mean loss_rel over source domains
      "tgt_loss_rel",      // mean loss_rel over target domains
      "src_loss_delta",    // mean loss_delta over source domains
      "tgt_loss_delta",    // mean loss_delta over target domains
      "worst_src_loss_rel" // max loss_rel over source domains (the most forgotten one)
  };
  return n;
}

// The features of tokens 0..history.t(): domain rows are token-major (row t*D + i).
struct Features {
  Eigen::Index tokens = 0, D = 0;
  Mat domain;  // (tokens*D) x Fd
  Mat global;  // tokens x Fg
  std::vector<Field> field;
};

namespace detail {
inline double mean_of(const std::vector<double>& v, const std::vector<bool>& take) {
  double s = 0;
  int n = 0;
  for (std::size_t i = 0; i < v.size(); ++i)
    if (take[i]) s += v[i], ++n;
  return n ? s / n : 0.0;
}
}  // namespace detail

inline Features extract_features(const History& h) {
  const auto& spec = h.spec;
  const std::size_t D = spec.num_domains();
  if (D == 0) fail("agent features: the episode spec has no domains");
  const std::size_t T = h.t() + 1;
  const std::size_t Fd = domain_feature_names().size(), Fg = global_feature_names().size();
  Features f;
  f.tokens = static_cast<Eigen::Index>(T);
  f.D = static_cast<Eigen::Index>(D);
  f.domain = Mat::Zero(f.tokens * f.D, static_cast<Eigen::Index>(Fd));
  f.global = Mat::Zero(f.tokens, static_cast<Eigen::Index>(Fg));
  std::array<int, 2> count{0, 0};
  for (const auto& d : spec.domains) {
    f.field.push_back(d.field);
    ++count[static_cast<int>(d.field)];
  }
  const auto is_t = [&](std::size_t i) { return f.field[i] == Field::Target; };

  auto check_loss = [&](const Feedback& fb, std::size_t t) {
    if (!fb.loss.empty() && fb.loss.size() != D)
      fail("agent features: stage ", t, " feedback has ", fb.loss.size(), " losses, expected ", D,
           " (one per domain) or none");
  };
  const Feedback& base = h.initial;
  check_loss(base, 0);
  const auto loss_of = [&](const Feedback& fb, std::size_t i) {
    return fb.loss.empty() ? 0.0 : fb.loss[i];
  };
  const auto rel = [&](double cur, std::size_t i) {
    const double b = loss_of(base, i);
    return std::abs(b) > 1e-12 ? (cur - b) / std::abs(b) : 0.0;
  };
  const auto score_mean = [&](const Feedback& fb, Field fld) {
    double s = 0;
    int n = 0;
    for (std::size_t p = 0; p < fb.score.size() && p < fb.score_field.size(); ++p)
      if (fb.score_field[p] == fld) s += fb.score[p], ++n;
    return n ? s / n : 0.0;
  };

  std::vector<double> cum_share(2, 0.0), cum_within(D, 0.0);
  std::vector<bool> src_mask(D), tgt_mask(D);
  for (std::size_t i = 0; i < D; ++i) src_mask[i] = !is_t(i), tgt_mask[i] = is_t(i);

  for (std::size_t t = 0; t < T; ++t) {
    const Feedback& fb = t == 0 ? base : h.steps[t - 1].feedback;
    const Feedback& prev = t <= 1 ? base : h.steps[t - 2].feedback;
    check_loss(fb, t);
    std::array<double, 2> share{0.0, 0.0};
    std::vector<double> within(D, 1.0);
    if (t > 0) {
      const Mixture& m = h.steps[t - 1].mixture;
      if (m.size() != D)
        fail("agent features: stage ", t, " mixture has ", m.size(), " weights, expected ", D);
      for (std::size_t i = 0; i < D; ++i) share[static_cast<int>(f.field[i])] += m[i];
      for (std::size_t i = 0; i < D; ++i) {
        const int k = static_cast<int>(f.field[i]);
        within[i] = share[k] > 1e-9 ? double(count[k]) * m[i] / share[k] : 1.0;
      }
      for (int k = 0; k < 2; ++k) cum_share[k] += share[k];
      for (std::size_t i = 0; i < D; ++i) cum_within[i] += within[i];
    }
    const double tn = t > 0 ? double(t) : 1.0;
    std::vector<double> lrel(D), ldelta(D);
    for (std::size_t i = 0; i < D; ++i) {
      lrel[i] = rel(loss_of(fb, i), i);
      ldelta[i] = lrel[i] - rel(loss_of(prev, i), i);
    }
    const double src_lrel = detail::mean_of(lrel, src_mask);
    const double tgt_lrel = detail::mean_of(lrel, tgt_mask);
    double worst = 0;
    bool any_src = false;
    for (std::size_t i = 0; i < D; ++i)
      if (!is_t(i)) worst = any_src ? std::max(worst, lrel[i]) : lrel[i], any_src = true;

    const auto r = static_cast<Eigen::Index>(t);
    for (std::size_t i = 0; i < D; ++i) {
      const int k = static_cast<int>(f.field[i]);
      auto row = f.domain.row(r * f.D + static_cast<Eigen::Index>(i));
      row(0) = is_t(i) ? 1.0 : 0.0;
      row(1) = t > 0 ? share[k] : 0.0;
      row(2) = within[i];
      row(3) = t > 0 ? cum_share[k] / tn : 0.0;
      row(4) = t > 0 ? cum_within[i] / tn : 1.0;
      row(5) = lrel[i];
      row(6) = ldelta[i];
      row(7) = lrel[i] - (is_t(i) ? tgt_lrel : src_lrel);
    }
    auto g = f.global.row(r);
    g(0) = spec.stages ? double(t) / double(spec.stages) : 0.0;
    g(1) = t == 0 ? 1.0 : 0.0;
    g(2) = spec.target_weight;
    g(3) = t > 0 ? share[1] : 0.0;
    g(4) = t > 0 ? cum_share[1] / tn : 0.0;
    g(5) = score_mean(fb, Field::Source) - score_mean(base, Field::Source);
    g(6) = score_mean(fb, Field::Target) - score_mean(base, Field::Target);
    g(7) = score_mean(fb, Field::Source) - score_mean(prev, Field::Source);
    g(8) = score_mean(fb, Field::Target) - score_mean(prev, Field::Target);
    g(9) = src_lrel;
    g(10) = tgt_lrel;
    g(11) = detail::mean_of(ldelta, src_mask);
    g(12) = detail::mean_of(ldelta, tgt_mask);
    g(13) = worst;
  }
  return f;
}

// Per-feature standardisation fitted on a training set (mean, sd over all rows).
struct FeatureNorm {
  Mat dom_mean, dom_sd, glob_mean, glob_sd;  // 1 x F each

  [[nodiscard]] bool fitted() const noexcept { return dom_mean.size() > 0; }

  static FeatureNorm identity() {
    FeatureNorm n;
    const auto Fd = static_cast<Eigen::Index>(domain_feature_names().size());
    const auto Fg = static_cast<Eigen::Index>(global_feature_names().size());
    n.dom_mean = Mat::Zero(1, Fd);
    n.dom_sd = Mat::Ones(1, Fd);
    n.glob_mean = Mat::Zero(1, Fg);
    n.glob_sd = Mat::Ones(1, Fg);
    return n;
  }

  static FeatureNorm fit(const std::vector<Features>& data) {
    FeatureNorm n = identity();
    auto stats = [](const std::vector<const Mat*>& ms, Mat& mean, Mat& sd) {
      double rows = 0;
      Mat s = Mat::Zero(1, mean.cols()), s2 = Mat::Zero(1, mean.cols());
      for (const Mat* m : ms) {
        s += m->colwise().sum();
        s2 += m->array().square().matrix().colwise().sum();
        rows += double(m->rows());
      }
      if (rows == 0) return;
      mean = s / rows;
      for (Eigen::Index c = 0; c < mean.cols(); ++c) {
        const double var = std::max(s2(0, c) / rows - mean(0, c) * mean(0, c), 0.0);
        // A feature constant in training (e.g. one objective weight) keeps unit scale, so an
        // unseen value at deployment reads as a plain offset rather than a huge one.
        sd(0, c) = var > 1e-12 ? std::sqrt(var) : 1.0;
      }
    };
    std::vector<const Mat*> dom, glob;
    for (const auto& f : data) dom.push_back(&f.domain), glob.push_back(&f.global);
    stats(dom, n.dom_mean, n.dom_sd);
    stats(glob, n.glob_mean, n.glob_sd);
    return n;
  }

  void apply(Features& f) const {
    DMA_ASSERT(fitted(), "FeatureNorm::apply before fit");
    f.domain = ((f.domain.rowwise() - dom_mean.row(0)).array().rowwise() / dom_sd.row(0).array()).matrix();
    f.global = ((f.global.rowwise() - glob_mean.row(0)).array().rowwise() / glob_sd.row(0).array()).matrix();
  }
};

}  // namespace dma::agent
