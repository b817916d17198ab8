// dma/mixers/replay.hpp: Replay, the continual pre-training practice of replaying a fixed share
// of source data: `ratio` of every stage goes to the source field (split over the source domains
// evenly or by given weights, e.g. their sizes), 1 - ratio to the target field, split evenly.
// Replay(r) with even splits equals FixedRatio(1 - r) (fixed.hpp). A Mixer.
// Tested in tests/unit/mixers_replay.cpp.
#pragma once

#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "dma/core/concepts.hpp"
#include "dma/core/error.hpp"
#include "dma/mixers/fixed.hpp"

namespace dma::mixers {

class Replay {
 public:
  // `source_weights` (optional): one non-negative weight per source domain, in spec order.
  explicit Replay(double ratio, std::vector<double> source_weights = {}, std::string name = {})
      : m_ratio(ratio), m_source_weights(std::move(source_weights)), m_name(std::move(name)) {
    if (!(ratio >= 0.0 && ratio <= 1.0)) fail("mixer replay: replay ratio must be in [0, 1], got ", ratio);
    if (m_name.empty()) {
      char buf[40];
      std::snprintf(buf, sizeof buf, "replay(%.2f)", ratio);
      m_name = buf;
    }
  }

  void reset(const EpisodeSpec& spec) {
    m_mix = fixed_mixture(spec, 1.0 - m_ratio);
    if (m_source_weights.empty()) return;
    const std::size_t ns = spec.count(Field::Source);
    if (m_source_weights.size() != ns)
      fail("mixer '", m_name, "': 'source_weights' has ", m_source_weights.size(),
           " entries, expected one per source domain (", ns, ")");
    double total = 0;
    for (double w : m_source_weights) {
      if (!std::isfinite(w) || w < 0) fail("mixer '", m_name, "': source weights must be finite and >= 0, got ", w);
      total += w;
    }
    if (!(total > 0)) fail("mixer '", m_name, "': source weights are all 0");
    const double src_share = spec.count(Field::Target) == 0 ? 1.0 : m_ratio;  // as fixed_mixture
    std::size_t k = 0;
    for (std::size_t i = 0; i < spec.num_domains(); ++i)
      if (spec.domains[i].field == Field::Source) m_mix[i] = src_share * m_source_weights[k++] / total;
  }
  Mixture next(const History&) { return m_mix; }
  [[nodiscard]] std::string name() const { return m_name; }
  [[nodiscard]] double ratio() const noexcept { return m_ratio; }
  [[nodiscard]] bool open_loop() const noexcept { return true; }  // never reads the feedback

 private:
  double m_ratio;
  std::vector<double> m_source_weights;
  std::string m_name;
  Mixture m_mix;
};

static_assert(Mixer<Replay>);

}  // namespace dma::mixers
