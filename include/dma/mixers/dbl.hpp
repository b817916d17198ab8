// dma/mixers/dbl.hpp: Dbl, dynamic batch loading (Xia et al., 2023, "Sheared LLaMA", arXiv
// 2310.06694, Alg. 1): after each stage, w_i <- w_i * exp(eta * max(loss_i - ref_i, 0)), then
// renormalise. A closed-loop Mixer that only reads History.
// CPT adaptation [ours]: Sheared-LLaMA's reference losses come from a scaling-law fit of the
// source model; here a source domain's reference is the base model's held-out loss
// (History.initial.loss: "do not forget"), a target domain's is `target_reference` x its base
// loss (a documented target, since the base model's target loss is what CPT must improve on).
// Tested in tests/unit/mixers_dbl.cpp.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "dma/core/concepts.hpp"
#include "dma/core/error.hpp"
#include "dma/mixers/fixed.hpp"
#include "dma/space/simplex.hpp"

namespace dma::mixers {

struct DblOptions {
  double eta = 1.0;               // step size on the excess loss (Sheared-LLaMA: 1, losses in nats)
  double target_reference = 0.6;  // target reference loss = this x the base model's target loss
  double initial_share = -1;      // target share of the first stage; < 0: the spec's target_weight
  double min_weight = 0.0;        // optional floor per domain (after renormalising), 0 = none
};

class Dbl {
 public:
  explicit Dbl(DblOptions opt = {}, std::string name = "dbl") : m_opt(opt), m_name(std::move(name)) {
    if (!(opt.eta >= 0) || !std::isfinite(opt.eta)) fail("mixer '", m_name, "': 'eta' must be finite and >= 0");
    if (!(opt.target_reference >= 0)) fail("mixer '", m_name, "': 'target_reference' must be >= 0");
    if (opt.initial_share > 1) fail("mixer '", m_name, "': 'initial_share' must be <= 1");
    if (!(opt.min_weight >= 0)) fail("mixer '", m_name, "': 'min_weight' must be >= 0");
  }

  void reset(const EpisodeSpec& spec) {
    if (m_opt.min_weight * double(spec.num_domains()) > 1.0)
      fail("mixer '", m_name, "': min_weight ", m_opt.min_weight, " x ", spec.num_domains(), " domains exceeds 1");
    m_w = fixed_mixture(spec, m_opt.initial_share < 0 ? spec.target_weight : m_opt.initial_share);
    m_seen = 0;
    m_last_excess.assign(spec.num_domains(), 0.0);
  }

  Mixture next(const History& h) {
    // Apply the update of every stage not seen yet (normally exactly one).
    for (; m_seen < h.t(); ++m_seen) update(h, h.steps[m_seen].feedback);
    return m_w;
  }
  [[nodiscard]] std::string name() const { return m_name; }

  // Reference loss of domain i given the base model's losses.
  [[nodiscard]] double reference(const History& h, std::size_t i) const {
    const double base = h.initial.loss[i];
    return h.spec.domains[i].field == Field::Source ? base : m_opt.target_reference * base;
  }
  [[nodiscard]] const std::vector<double>& last_excess() const noexcept { return m_last_excess; }
  [[nodiscard]] const Mixture& weights() const noexcept { return m_w; }

 private:
  void update(const History& h, const Feedback& f) {
    const std::size_t D = m_w.size();
    if (f.loss.size() != D || h.initial.loss.size() != D)
      fail("mixer '", m_name, "': feedback has ", f.loss.size(), " domain losses (base: ", h.initial.loss.size(),
           "), expected ", D);
    for (std::size_t i = 0; i < D; ++i) {
      m_last_excess[i] = std::max(f.loss[i] - reference(h, i), 0.0);
      m_w[i] *= std::exp(m_opt.eta * m_last_excess[i]);
    }
    m_w = space::normalize(m_w);
    if (m_opt.min_weight > 0) {
      // Mix with uniform just enough to lift the smallest weight to the floor.
      const double lo = *std::min_element(m_w.begin(), m_w.end());
      if (lo < m_opt.min_weight) {
        const double u = 1.0 / double(D);
        const double lam = (m_opt.min_weight - lo) / (u - lo);
        for (double& x : m_w) x = (1.0 - lam) * x + lam * u;
      }
    }
  }

  DblOptions m_opt;
  std::string m_name;
  Mixture m_w;
  std::size_t m_seen = 0;
  std::vector<double> m_last_excess;
};

static_assert(Mixer<Dbl>);

}  // namespace dma::mixers
