// dma/model/guard.hpp: the numerical-fault policy of proxy training. model::train_step skips the
// AdamW update when the loss or the gradient norm is NaN/Inf (StepStats::skipped; parameters,
// moments and the schedule position stay as they were). StepGuard counts those skips and throws
// dma::Error after `max_consecutive_skips` in a row (the run is poisoned: retrying cannot help);
// require_finite() refuses a Feedback with a non-finite value, so none reaches a trajectory.
// env::Cpt uses both per stage (docs/ENVIRONMENT.md, "Numerical faults"). Tested in
// tests/unit/reliability_numeric.cpp by poisoning a parameter and the learning rate.
#pragma once

#include <cmath>
#include <cstddef>
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>

#include "dma/core/error.hpp"
#include "dma/core/types.hpp"

namespace dma::model {

struct FaultPolicy {
  // A stage of 8+ consecutive skipped optimizer steps fails: one bad batch is noise (fp
  // overflow on an outlier), eight in a row mean the parameters or the LR are poisoned.
  std::size_t max_consecutive_skips = 8;
};

class StepGuard {
 public:
  StepGuard() = default;
  explicit StepGuard(FaultPolicy p) : m_policy(p) {}

  // Records one optimizer step (`skipped` from StepStats). `where` names the run and stage.
  void record(bool skipped, float loss, float grad_norm, std::string_view where) {
    if (!skipped) {
      m_consecutive = 0;
      return;
    }
    ++m_skipped;
    if (++m_consecutive >= m_policy.max_consecutive_skips)
      fail(where, ": ", m_consecutive, " consecutive training steps had a non-finite loss or gradient (last loss ",
           loss, ", gradient norm ", grad_norm, "); the run is numerically broken (check the learning rate, ",
           "the data and the checkpoint it started from)");
  }
  [[nodiscard]] std::size_t skipped() const noexcept { return m_skipped; }
  [[nodiscard]] std::size_t consecutive() const noexcept { return m_consecutive; }
  [[nodiscard]] const FaultPolicy& policy() const noexcept { return m_policy; }

 private:
  FaultPolicy m_policy;
  std::size_t m_skipped = 0, m_consecutive = 0;
};

// Every number of a Feedback must be finite before it is returned to a collector.
inline void require_finite(const Feedback& f, std::string_view where) {
  for (std::size_t i = 0; i < f.loss.size(); ++i)
    if (!std::isfinite(f.loss[i])) fail(where, ": field 'loss[", i, "]': expected a finite value, got ", f.loss[i]);
  for (std::size_t k = 0; k < f.score.size(); ++k)
    if (!std::isfinite(f.score[k])) fail(where, ": field 'score[", k, "]': expected a finite value, got ", f.score[k]);
  for (const auto& [name, v] : {std::pair<const char*, double>{"tokens", f.tokens}, {"flops", f.flops}, {"seconds", f.seconds}})
    if (!std::isfinite(v)) fail(where, ": field '", name, "': expected a finite value, got ", v);
}

}  // namespace dma::model
