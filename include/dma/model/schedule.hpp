// dma/model/schedule.hpp: learning-rate schedules of the proxy: constant, linear warmup + cosine
// decay (pre-training), and the re-warm used at the start of continual pre-training (linear from
// a starting LR up to a new peak, then cosine; Gupta et al. 2023, "Continual Pre-Training of
// LLMs: How to (re)warm your model?"), and its warmup-stable-decay variant (re-warm, hold the peak,
// decay linearly over the last decay_steps; Hu et al. 2024, MiniCPM; Hägele et al. 2024, "Scaling
// Laws and Compute-Optimal Training Beyond Fixed Training Durations"). The position is
// TrainState::step. Tested in tests/unit/model_train.cpp.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <numbers>
#include <string>

#include "dma/core/config.hpp"
#include "dma/core/error.hpp"
#include "dma/core/reflect.hpp"

namespace dma::model {

struct LrSchedule {
  enum class Kind { Constant, WarmupCosine, Rewarm, RewarmWsd };
  Kind kind = Kind::Constant;
  float peak_lr = 1e-3f;
  std::size_t warmup_steps = 0;
  std::size_t total_steps = 1;
  float min_ratio = 0.1f;  // the cosine ends at min_ratio * peak_lr
  float start_lr = 0.0f;   // Rewarm, RewarmWsd: where the linear warmup starts
  std::size_t decay_steps = 0;  // RewarmWsd: the last decay_steps decay linearly to min_ratio * peak

  static LrSchedule constant(float lr) { return {Kind::Constant, lr, 0, 1, 1.0f, lr, 0}; }
  static LrSchedule warmup_cosine(float peak, std::size_t warmup, std::size_t total, float min_ratio = 0.1f) {
    return {Kind::WarmupCosine, peak, warmup, total, min_ratio, 0.0f, 0};
  }
  static LrSchedule rewarm(float start, float peak, std::size_t warmup, std::size_t total,
                           float min_ratio = 0.1f) {
    return {Kind::Rewarm, peak, warmup, total, min_ratio, start, 0};
  }
  // Warmup-stable-decay: linear re-warm over `warmup` steps, the peak until total - decay, then a
  // linear decay that reaches min_ratio * peak at the last step.
  static LrSchedule rewarm_wsd(float start, float peak, std::size_t warmup, std::size_t decay, std::size_t total,
                               float min_ratio = 0.1f) {
    return {Kind::RewarmWsd, peak, warmup, total, min_ratio, start, decay};
  }

  // LR for optimizer step `step` (0-based). Warmup reaches the peak at step warmup_steps - 1.
  [[nodiscard]] float at(std::size_t step) const noexcept {
    if (kind == Kind::Constant) return peak_lr;
    const float from = kind == Kind::Rewarm || kind == Kind::RewarmWsd ? start_lr : 0.0f;
    if (step < warmup_steps)
      return from + (peak_lr - from) * float(step + 1) / float(warmup_steps);
    if (kind == Kind::RewarmWsd) {
      const std::size_t decay_from = total_steps > decay_steps ? total_steps - decay_steps : 0;
      if (step < decay_from || decay_steps == 0) return peak_lr;
      // Step decay_from is the first decayed step; step total_steps - 1 reaches min_ratio * peak.
      const double p = std::min(1.0, double(step - decay_from + 1) / double(decay_steps));
      const double lo = double(min_ratio) * peak_lr;
      return float(double(peak_lr) + (lo - double(peak_lr)) * p);
    }
    const std::size_t span = total_steps > warmup_steps ? total_steps - warmup_steps : 1;
    const double p = std::min(1.0, double(step - warmup_steps) / double(span));
    const double lo = double(min_ratio) * peak_lr;
    return float(lo + (double(peak_lr) - lo) * 0.5 * (1.0 + std::cos(std::numbers::pi * p)));
  }

  static constexpr auto fields() {
    using namespace reflect;
    using S = LrSchedule;
    return make_fields(
        field("kind", &S::kind,
              one_of<Kind>(std::pair{Kind::Constant, "constant"}, std::pair{Kind::WarmupCosine, "warmup_cosine"},
                           std::pair{Kind::Rewarm, "rewarm"}, std::pair{Kind::RewarmWsd, "rewarm_wsd"})),
        field("peak_lr", &S::peak_lr), field("warmup_steps", &S::warmup_steps), field("total_steps", &S::total_steps),
        field("min_ratio", &S::min_ratio), field("start_lr", &S::start_lr),
        field("decay_steps", &S::decay_steps).written_if([](const S& s) { return s.kind == Kind::RewarmWsd; }));
  }
  [[nodiscard]] Json to_json() const { return reflect::to_json(*this); }
  static LrSchedule from_config(const Config& c) { return reflect::from_json<LrSchedule>(c.json(), c.source()); }
};

}  // namespace dma::model
