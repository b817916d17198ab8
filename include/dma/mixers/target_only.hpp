// dma/mixers/target_only.hpp: TargetOnly, naive CPT: all weight on the target domains (evenly).
// The paper's "naive" baseline: most target gain, most forgetting. A Mixer.
// Tested in tests/unit/mixers_baselines.cpp.
#pragma once

#include "dma/core/concepts.hpp"
#include "dma/mixers/fixed.hpp"

namespace dma::mixers {

class TargetOnly {
 public:
  void reset(const EpisodeSpec& spec) { m_mix = fixed_mixture(spec, 1.0); }
  Mixture next(const History&) { return m_mix; }
  [[nodiscard]] std::string name() const { return "target_only"; }
  [[nodiscard]] bool open_loop() const noexcept { return true; }  // never reads the feedback

 private:
  Mixture m_mix;
};

static_assert(Mixer<TargetOnly>);

}  // namespace dma::mixers
