// dma/mixers/probe_commit.hpp: ProbeCommit, a closed-loop rule [ours]: "probe, then commit". It
// runs the first `probe_stages` stages at `start_share`; then q = (target-loss gain of the last
// probe stage) / (gain of the one before) tells how fast the (hidden) target data is running out
// (diminishing returns, repetition), and the rule commits to the target share `gain * q`, clamped
// to [min_share, max_share]. The source share goes to the source domains that have forgotten most
// (weights exp(excess / source_temperature), excess = loss - base loss, as in DBL's excess loss),
// or evenly when source_temperature <= 0. Used as a baseline in examples/quickstart_sim.cpp and,
// with drawn options, as closed-loop behaviour in collection (collect/rules.hpp).
// Tested in tests/unit/mixers_probe_commit.cpp and tests/unit/collect_rules.cpp.
#pragma once

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "dma/core/concepts.hpp"
#include "dma/core/error.hpp"
#include "dma/space/simplex.hpp"

namespace dma::mixers {

struct ProbeCommitOptions {
  double start_share = 0.4;          // target share while probing
  std::size_t probe_stages = 3;      // stages at start_share before committing (>= 2)
  double gain = 0.6;                 // committed share = gain * (last gain / previous gain)
  double min_share = 0.05, max_share = 0.8;
  double source_temperature = 0.3;   // <= 0: even source split
};

class ProbeCommit {
 public:
  explicit ProbeCommit(ProbeCommitOptions opt = {}, std::string name = "probe_commit")
      : m_opt(opt), m_name(std::move(name)) {
    if (opt.probe_stages < 2) fail("mixer '", m_name, "': 'probe_stages' must be >= 2 (two gains are compared)");
    if (!(opt.start_share >= 0 && opt.start_share <= 1)) fail("mixer '", m_name, "': 'start_share' must be in [0, 1]");
    if (!(opt.min_share >= 0 && opt.min_share <= opt.max_share && opt.max_share <= 1))
      fail("mixer '", m_name, "': need 0 <= min_share <= max_share <= 1");
    if (!(opt.gain >= 0) || !std::isfinite(opt.gain)) fail("mixer '", m_name, "': 'gain' must be finite and >= 0");
  }

  void reset(const EpisodeSpec&) { m_share = m_opt.start_share; }

  Mixture next(const History& h) {
    const auto& spec = h.spec;
    if (h.t() == m_opt.probe_stages) {
      const std::size_t p = m_opt.probe_stages;
      const auto& before = p >= 3 ? h.steps[p - 3].feedback : h.initial;
      const double d_prev = target_loss(spec, before) - target_loss(spec, h.steps[p - 2].feedback);
      const double d_last = target_loss(spec, h.steps[p - 2].feedback) - target_loss(spec, h.steps[p - 1].feedback);
      m_share = std::clamp(m_opt.gain * d_last / std::max(d_prev, 1e-3), m_opt.min_share, m_opt.max_share);
    }
    std::vector<double> ws;
    std::size_t nt = 0;
    for (std::size_t i = 0; i < spec.num_domains(); ++i) {
      if (spec.domains[i].field == Field::Target) {
        ++nt;
        continue;
      }
      const double excess = h.last().loss.empty() ? 0.0 : h.last().loss[i] - h.initial.loss[i];
      ws.push_back(m_opt.source_temperature > 0 ? std::exp(std::clamp(excess, -1.0, 2.0) / m_opt.source_temperature)
                                                : 1.0);
    }
    double ss = 0;
    for (double x : ws) ss += x;
    const double share = nt == 0 ? 0.0 : ws.empty() ? 1.0 : m_share;
    Mixture m(spec.num_domains());
    std::size_t a = 0;
    for (std::size_t i = 0; i < m.size(); ++i)
      m[i] = spec.domains[i].field == Field::Source ? (1.0 - share) * ws[a++] / ss : share / double(nt);
    return space::normalize(m);
  }

  [[nodiscard]] std::string name() const { return m_name; }
  [[nodiscard]] const ProbeCommitOptions& options() const noexcept { return m_opt; }

 private:
  static double target_loss(const EpisodeSpec& spec, const Feedback& f) {
    double s = 0, n = 0;
    for (std::size_t i = 0; i < f.loss.size(); ++i)
      if (spec.domains[i].field == Field::Target) s += f.loss[i], n += 1;
    return n > 0 ? s / n : 0.0;
  }

  ProbeCommitOptions m_opt;
  std::string m_name;
  double m_share = 0.4;
};

static_assert(Mixer<ProbeCommit>);

}  // namespace dma::mixers
