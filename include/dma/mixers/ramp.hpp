// dma/mixers/ramp.hpp: LinearRamp, an open-loop schedule whose target share moves linearly from
// `start` at the first stage to `end` at the last (each field's share spread evenly over its
// domains, as fixed.hpp does). Decreasing ramps are the common "learn the target, then replay"
// heuristic; increasing ones the curriculum. A Mixer. Tested in tests/unit/mixers_ramp.cpp.
#pragma once

#include <algorithm>
#include <cstdio>
#include <string>

#include "dma/core/concepts.hpp"
#include "dma/core/error.hpp"
#include "dma/mixers/fixed.hpp"

namespace dma::mixers {

// Target share of stage t (0-based) of S stages: start + (end - start) * t / (S - 1).
inline double ramp_share(double start, double end, std::size_t t, std::size_t stages) {
  if (stages <= 1) return start;
  const double p = double(std::min(t, stages - 1)) / double(stages - 1);
  return start + (end - start) * p;
}

class LinearRamp {
 public:
  LinearRamp(double start_share, double end_share, std::string name = {})
      : m_start(start_share), m_end(end_share), m_name(std::move(name)) {
    for (double s : {start_share, end_share})
      if (!(s >= 0.0 && s <= 1.0)) fail("mixer ramp: target shares must be in [0, 1], got ", s);
    if (m_name.empty()) {
      char buf[48];
      std::snprintf(buf, sizeof buf, "ramp(%.2f->%.2f)", start_share, end_share);
      m_name = buf;
    }
  }
  void reset(const EpisodeSpec& spec) {
    if (spec.stages == 0) fail("mixer '", m_name, "': the episode has 0 stages");
    m_spec = spec;
  }
  Mixture next(const History& h) {
    return fixed_mixture(m_spec, ramp_share(m_start, m_end, h.t(), m_spec.stages));
  }
  [[nodiscard]] std::string name() const { return m_name; }
  [[nodiscard]] bool open_loop() const noexcept { return true; }  // never reads the feedback

 private:
  double m_start, m_end;
  std::string m_name;
  EpisodeSpec m_spec;
};

static_assert(Mixer<LinearRamp>);

}  // namespace dma::mixers
