// dma/collect/mixed.hpp: Mixed, a ScheduleGenerator that draws one of several generators per
// schedule (by weight) so that a collection covers many heuristics. sample_named() also returns
// which generator produced the schedule (the collector stores it in Trajectory::generator).
// Tested in tests/unit/collect_generators.cpp.
#pragma once

#include <utility>
#include <variant>

#include "dma/collect/generators.hpp"
#include "dma/core/error.hpp"

namespace dma::collect {

class Mixed {
 public:
  using Any = std::variant<DirichletWalk, Ramp, Steps, FixedReplay, DomainBoost>;

  // The default mix: every generator, ramps in both shapes.
  Mixed()
      : Mixed({{DirichletWalk{}, 1.0}, {Ramp{Ramp::Shape::Linear}, 1.0}, {Ramp{Ramp::Shape::Cosine}, 0.5},
               {Steps{}, 1.0}, {FixedReplay{}, 1.5}, {DomainBoost{}, 1.0}}) {}
  explicit Mixed(std::vector<std::pair<Any, double>> parts) : m_parts(std::move(parts)) {
    double s = 0;
    for (const auto& p : m_parts) {
      if (!(p.second >= 0)) fail("collect::Mixed: weights must be >= 0");
      s += p.second;
    }
    if (m_parts.empty() || !(s > 0)) fail("collect::Mixed: needs at least one generator with weight > 0");
    m_total = s;
  }

  std::pair<std::string, std::vector<Mixture>> sample_named(const EpisodeSpec& spec, std::size_t steps,
                                                            Rng& rng) const {
    double u = rng.uniform() * m_total;
    std::size_t k = 0;
    while (k + 1 < m_parts.size() && u >= m_parts[k].second) u -= m_parts[k++].second;
    return std::visit([&](const auto& g) { return std::make_pair(g.name(), g.sample(spec, steps, rng)); },
                      m_parts[k].first);
  }
  std::vector<Mixture> sample(const EpisodeSpec& spec, std::size_t steps, Rng& rng) const {
    return sample_named(spec, steps, rng).second;
  }
  [[nodiscard]] std::string name() const { return "mixed"; }

 private:
  std::vector<std::pair<Any, double>> m_parts;
  double m_total = 0;
};

static_assert(ScheduleGenerator<Mixed>);

}  // namespace dma::collect
