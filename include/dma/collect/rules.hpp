// dma/collect/rules.hpp: closed-loop behaviour in collection [ours]. The paper's trajectories were
// chosen to cover many heuristics [paper]; the open-loop generators (generators.hpp) fix a whole
// schedule in advance, while some heuristics read the feedback before each stage. WithRules<G>
// draws, per trajectory, either a closed-loop ProbeCommit rule (mixers/probe_commit.hpp) with
// drawn options (probability `rule_share`) or an open-loop schedule from G. It is a PlanGenerator
// (collect/collector.hpp), so Collector and Trainer::collect take it; the real-environment
// campaign (campaign.hpp) takes open-loop generators only. Tested in tests/unit/collect_rules.cpp.
#pragma once

#include <string>
#include <utility>

#include "dma/collect/collector.hpp"
#include "dma/core/error.hpp"
#include "dma/mixers/probe_commit.hpp"

namespace dma::collect {

// The ranges ProbeCommit's options are drawn from (uniform in each).
struct RuleRanges {
  double start_lo = 0.15, start_hi = 0.7;      // start (probe) share
  std::size_t probe_lo = 2, probe_hi = 4;      // probe stages
  double gain_lo = 0.3, gain_hi = 1.1;         // commit gain
  double p_even_sources = 0.5;                 // even source split, else excess-weighted
  double temperature_lo = 0.1, temperature_hi = 0.6;
};

template <ScheduleGenerator G>
class WithRules {
 public:
  WithRules(G open_loop, double rule_share, RuleRanges r = {})
      : m_gen(std::move(open_loop)), m_share(rule_share), m_r(r) {
    if (!(rule_share >= 0 && rule_share <= 1)) fail("collect::WithRules: rule_share must be in [0, 1], got ", rule_share);
    if (m_r.probe_lo < 2 || m_r.probe_hi < m_r.probe_lo) fail("collect::WithRules: need 2 <= probe_lo <= probe_hi");
  }

  Plan sample_plan(const EpisodeSpec& spec, std::size_t steps, Rng& rng) const {
    if (m_share > 0 && rng.uniform() < m_share) {
      mixers::ProbeCommitOptions o;
      o.start_share = m_r.start_lo + (m_r.start_hi - m_r.start_lo) * rng.uniform();
      o.probe_stages = m_r.probe_lo + rng.below(static_cast<std::uint32_t>(m_r.probe_hi - m_r.probe_lo + 1));
      o.gain = m_r.gain_lo + (m_r.gain_hi - m_r.gain_lo) * rng.uniform();
      o.source_temperature = rng.uniform() < m_r.p_even_sources
                                 ? 0.0 : m_r.temperature_lo + (m_r.temperature_hi - m_r.temperature_lo) * rng.uniform();
      return Plan::closed_loop(mixers::ProbeCommit(o, "probe_commit_rule"), spec);
    }
    return draw_plan(m_gen, spec, steps, rng);
  }
  [[nodiscard]] std::string name() const { return "with_rules(" + m_gen.name() + ")"; }

 private:
  G m_gen;
  double m_share;
  RuleRanges m_r;
};

}  // namespace dma::collect
