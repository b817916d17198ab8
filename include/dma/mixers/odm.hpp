// dma/mixers/odm.hpp: Odm, online data mixing (Albalak et al., 2023, "Efficient Online Data
// Mixing For Language Model Pre-Training", arXiv 2312.02406, Alg. 1): an EXP3 bandit over
// domains, pi_i = (1 - K eps_t) softmax(eps_{t-1} R)_i + eps_t with the decaying exploration
// rate eps_t = min(1/K, sqrt(ln K / (K t))), and rewards R_i an exponential moving average of a
// domain's loss. A closed-loop Mixer that only reads History.
// CPT adaptation [ours]: docs/BASELINES.md (one stage = `steps_per_stage` bandit steps; every
// domain is observed each stage, so no importance weighting). Tested in tests/unit/mixers_odm.cpp.
#pragma once

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "dma/core/concepts.hpp"
#include "dma/core/error.hpp"
#include "dma/space/simplex.hpp"

namespace dma::mixers {

struct OdmOptions {
  // ODM updates after every batch; a stage stands for this many bandit steps in eps_t.
  double steps_per_stage = 16;
  double smoothing = 0.5;        // alpha of the reward EMA (ODM: 0.9 per batch; we have ~10 stages)
  bool relative_loss = true;     // reward = loss / base loss (scale-free across domains) or raw loss
  // The reward is multiplied by this; <= 0 means K, the size of ODM's importance-weighted estimate
  // loss / pi at pi = 1/K, so that eps_t acts on rewards of the size it was designed for.
  double reward_scale = 0;
};

class Odm {
 public:
  explicit Odm(OdmOptions opt = {}, std::string name = "odm") : m_opt(opt), m_name(std::move(name)) {
    if (!(opt.steps_per_stage >= 1)) fail("mixer '", m_name, "': 'steps_per_stage' must be >= 1");
    if (!(opt.smoothing >= 0 && opt.smoothing < 1)) fail("mixer '", m_name, "': 'smoothing' must be in [0, 1)");
  }

  void reset(const EpisodeSpec& spec) {
    m_k = spec.num_domains();
    if (m_k == 0) fail("mixer '", m_name, "': empty domain space");
    m_r.assign(m_k, 0.0);
    m_seen = 0;
  }

  // Exploration rate of stage t (1-based, the stage being planned): the floor every weight respects.
  [[nodiscard]] double epsilon(std::size_t t) const {
    const double K = double(m_k);
    if (m_k < 2) return 1.0;
    const double steps = std::max(1.0, double(t) * m_opt.steps_per_stage);
    return std::min(1.0 / K, std::sqrt(std::log(K) / (K * steps)));
  }

  Mixture next(const History& h) {
    const std::size_t K = m_k;
    const double scale = m_opt.reward_scale > 0 ? m_opt.reward_scale : double(K);
    for (; m_seen < h.t(); ++m_seen) {
      const auto& loss = h.steps[m_seen].feedback.loss;
      if (loss.size() != K || h.initial.loss.size() != K)
        fail("mixer '", m_name, "': feedback has ", loss.size(), " domain losses, expected ", K);
      for (std::size_t i = 0; i < K; ++i) {
        const double base = h.initial.loss[i];
        const double r = m_opt.relative_loss ? loss[i] / (std::abs(base) > 1e-12 ? base : 1.0) : loss[i];
        m_r[i] = m_opt.smoothing * m_r[i] + (1.0 - m_opt.smoothing) * scale * r;
      }
    }
    const std::size_t t = h.t() + 1;
    const double eps = epsilon(t), eps_prev = epsilon(t > 1 ? t - 1 : 1);
    const double mx = *std::max_element(m_r.begin(), m_r.end());
    Mixture p(K);
    double z = 0;
    for (std::size_t i = 0; i < K; ++i) z += (p[i] = std::exp(eps_prev * (m_r[i] - mx)));
    for (double& x : p) x = (1.0 - double(K) * eps) * x / z + eps;
    return space::normalize(p);
  }
  [[nodiscard]] std::string name() const { return m_name; }
  [[nodiscard]] const std::vector<double>& rewards() const noexcept { return m_r; }

 private:
  OdmOptions m_opt;
  std::string m_name;
  std::size_t m_k = 0;
  std::vector<double> m_r;
  std::size_t m_seen = 0;
};

static_assert(Mixer<Odm>);

}  // namespace dma::mixers
