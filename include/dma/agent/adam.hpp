// dma/agent/adam.hpp: the Adam optimizer (Kingma & Ba 2015) over a ParamStore, with optional
// global-norm gradient clipping. The learners (rl/sft.hpp, rl/cql.hpp) own one per network;
// tests/unit/agent_autodiff.cpp checks that it minimises a quadratic.
#pragma once

#include <cmath>
#include <vector>

#include "dma/agent/tape.hpp"

namespace dma::agent {

struct AdamConfig {
  double lr = 1e-3;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  double clip_norm = 1.0;  // global gradient-norm clip; <= 0 turns clipping off
};

class Adam {
 public:
  Adam(const ParamStore& ps, AdamConfig cfg) : m_cfg(cfg) {
    for (std::size_t i = 0; i < ps.size(); ++i) {
      const auto& v = ps.value(static_cast<int>(i));
      m_m.push_back(Mat::Zero(v.rows(), v.cols()));
      m_v.push_back(Mat::Zero(v.rows(), v.cols()));
    }
  }

  // One update from the gradients in `ps` (divided by `grad_div`, e.g. the batch size), then
  // zeroes them. Returns the (pre-clip) gradient norm.
  double step(ParamStore& ps, double grad_div = 1.0) {
    DMA_ASSERT(ps.size() == m_m.size(), "Adam: store layout changed");
    double sq = 0;
    for (std::size_t i = 0; i < ps.size(); ++i) sq += ps.grad(static_cast<int>(i)).squaredNorm();
    const double norm = std::sqrt(sq) / grad_div;
    double mult = 1.0 / grad_div;
    if (m_cfg.clip_norm > 0 && norm > m_cfg.clip_norm) mult *= m_cfg.clip_norm / norm;
    ++m_t;
    const double c1 = 1.0 - std::pow(m_cfg.beta1, double(m_t));
    const double c2 = 1.0 - std::pow(m_cfg.beta2, double(m_t));
    for (std::size_t i = 0; i < ps.size(); ++i) {
      const int k = static_cast<int>(i);
      const Mat gk = ps.grad(k) * mult;
      m_m[i] = m_cfg.beta1 * m_m[i] + (1.0 - m_cfg.beta1) * gk;
      m_v[i] = m_cfg.beta2 * m_v[i] + (1.0 - m_cfg.beta2) * gk.cwiseProduct(gk);
      ps.value(k).array() -=
          m_cfg.lr * (m_m[i].array() / c1) / ((m_v[i].array() / c2).sqrt() + m_cfg.eps);
    }
    ps.zero_grad();
    return norm;
  }
  void set_lr(double lr) { m_cfg.lr = lr; }
  [[nodiscard]] const AdamConfig& config() const noexcept { return m_cfg; }

 private:
  AdamConfig m_cfg;
  std::vector<Mat> m_m, m_v;
  long m_t = 0;
};

}  // namespace dma::agent
