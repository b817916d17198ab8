// dma/model/guard.hpp: the numerical-fault policy of proxy training. model::train_step skips the
// AdamW update when the loss or the gradient norm is NaN/Inf (StepStats::skipped; parameters,
// moments and the schedule position stay as they were). StepGuard counts those skips and throws
// dma::Error after `max_consecutive_skips` in a row (the run is poisoned: retrying cannot help);
// require_finite() refuses a Feedback with a non-finite value, so none reaches a trajectory.
// env::Cpt uses both per stage (docs/ENVIRONMENT.md, "Numerical faults"). Tested in
// tests/unit/reliability_numeric.cpp by poisoning a parameter and the learning rate.
// Also the resource guard: estimate_train_bytes() and check_memory_budget(), which env::CptWorld
// applies before allocating anything when its config sets memory_budget_mb.
#pragma once

#include <cmath>
#include <algorithm>
#include <cstddef>
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>

#include "dma/core/error.hpp"
#include "dma/core/types.hpp"
#include "dma/model/config.hpp"

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

// Bytes that Llama(c, max_batch, threads) plus one TrainState hold: the activation and gradient
// buffers of Llama's constructor (model/llama.hpp; keep the two in step), one gradient buffer
// per thread, and params + AdamW m, v. In double: a hostile config must not overflow the sum.
inline double estimate_train_bytes(const ModelConfig& c, std::size_t max_batch, std::size_t threads) {
  const double C = double(c.d_model), L = double(c.layers), H = double(c.hidden()), V = double(c.vocab),
               T = double(c.context), NH = double(c.heads), B = double(max_batch), N = B * T;
  const double P = double(ParamLayout(c).total);
  const double act = (L + 1) * N * C + 4 * L * N * C + 2 * L * N + 3 * L * N * C + L * B * NH * T * T +
                     3 * L * N * H + N * C + 2 * N + N * V + N      // forward: x, xa/h1/h2/ao, r1/r2, qkv, att, gu/sw, ...
                     + 5 * N * C + 3 * N * H + B * NH * T * T        // backward scratch
                     + T * double(c.head_size());                    // rope tables
  const double nt = double(std::max<std::size_t>(1, std::min(threads, max_batch)));
  return 4.0 * (act + nt * P + 3 * P) + 2.0 * 2 * N;  // floats, plus the input/target token buffers
}

// Refuses a setup whose estimate exceeds the budget, before anything is allocated.
inline void check_memory_budget(double need_bytes, double budget_bytes, std::string_view what) {
  if (budget_bytes > 0 && need_bytes > budget_bytes)
    fail(what, ": field 'memory_budget_mb': the configuration needs about ", need_bytes / 1048576.0,
         " MiB but the budget is ", budget_bytes / 1048576.0,
         " MiB (lower batch, context, d_model, layers or threads, or raise the budget)");
}

}  // namespace dma::model
