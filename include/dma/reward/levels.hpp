// dma/reward/levels.hpp: the levels that rewards are differences of.
// A level is a function of one Feedback relative to the base model's Feedback (probe score
// minus the base probe score, so the base model is at 0): the mean target-probe gain, the mean
// and the worst source-probe gain, and the balanced score that combines them with the user's
// target weight. Rewards (balanced.hpp, target_only.hpp, compose.hpp) are potential differences
// of these, so a run's return telescopes to the final level. Tested in tests/unit/reward_levels.cpp.
#pragma once

#include <algorithm>
#include <cmath>
#include <limits>

#include "dma/core/error.hpp"
#include "dma/core/types.hpp"

namespace dma::reward {

namespace detail {
inline void check_probes(const Feedback& f, const Feedback& base) {
  if (f.score.size() != base.score.size() || f.score_field.size() != f.score.size())
    fail("reward: feedback has ", f.score.size(), " probe scores and ", f.score_field.size(),
         " probe fields, the base feedback ", base.score.size(), " scores; expected equal counts");
}
}  // namespace detail

// Mean over the probes of `field` of (score - base score); 0 when the field has no probe.
inline double mean_gain(const Feedback& f, const Feedback& base, Field field) {
  detail::check_probes(f, base);
  double s = 0;
  std::size_t n = 0;
  for (std::size_t k = 0; k < f.score.size(); ++k)
    if (f.score_field[k] == field) {
      s += f.score[k] - base.score[k];
      ++n;
    }
  return n ? s / double(n) : 0.0;
}

// Smallest (score - base score) over the probes of `field`; 0 when the field has no probe.
inline double worst_gain(const Feedback& f, const Feedback& base, Field field) {
  detail::check_probes(f, base);
  double w = std::numeric_limits<double>::infinity();
  for (std::size_t k = 0; k < f.score.size(); ++k)
    if (f.score_field[k] == field) w = std::min(w, f.score[k] - base.score[k]);
  return std::isinf(w) ? 0.0 : w;
}

// The balanced score [ours]: tw * target gain + (1 - tw) * source retention, where source
// retention = (1 - worst_weight) * mean source gain + worst_weight * worst source gain
// (ENVIRONMENT_NOTES: the source side must count the worst domain, not only the mean).
inline double balanced_level(const Feedback& f, const Feedback& base, double target_weight,
                             double worst_weight = 0.5) {
  const double src = (1.0 - worst_weight) * mean_gain(f, base, Field::Source) +
                     worst_weight * worst_gain(f, base, Field::Source);
  return target_weight * mean_gain(f, base, Field::Target) + (1.0 - target_weight) * src;
}

}  // namespace dma::reward
