// dma/mixers/fixed.hpp: FixedRatio, a static mixture with a given target share: the share is
// spread evenly over the target domains and the rest evenly over the source domains (a fixed
// replay ratio). With a share tuned once on training instances it is the "static mixture
// carried to every setting" baseline. fixed_mixture() is shared with collect/ generators.
// Tested in tests/unit/mixers_baselines.cpp.
#pragma once

#include <cstdio>

#include "dma/core/concepts.hpp"
#include "dma/core/error.hpp"

namespace dma::mixers {

// Target share `share` spread evenly over target domains, 1 - share over source domains.
// A field with no domain gives its share to the other field.
inline Mixture fixed_mixture(const EpisodeSpec& spec, double share) {
  if (!(share >= 0.0 && share <= 1.0)) fail("fixed mixture: target share must be in [0, 1], got ", share);
  const std::size_t nt = spec.count(Field::Target), ns = spec.count(Field::Source);
  if (nt == 0) share = 0.0;
  if (ns == 0) share = 1.0;
  Mixture m(spec.num_domains());
  for (std::size_t i = 0; i < m.size(); ++i)
    m[i] = spec.domains[i].field == Field::Target ? share / double(nt) : (1.0 - share) / double(ns);
  return m;
}

class FixedRatio {
 public:
  explicit FixedRatio(double target_share, std::string name = {})
      : m_share(target_share), m_name(std::move(name)) {
    if (!(target_share >= 0.0 && target_share <= 1.0))
      fail("mixer fixed: target share must be in [0, 1], got ", target_share);
    if (m_name.empty()) {
      char buf[32];
      std::snprintf(buf, sizeof buf, "fixed(%.2f)", target_share);
      m_name = buf;
    }
  }
  void reset(const EpisodeSpec& spec) { m_mix = fixed_mixture(spec, m_share); }
  Mixture next(const History&) { return m_mix; }
  [[nodiscard]] std::string name() const { return m_name; }
  [[nodiscard]] double share() const noexcept { return m_share; }
  [[nodiscard]] bool open_loop() const noexcept { return true; }  // never reads the feedback

 private:
  double m_share;
  std::string m_name;
  Mixture m_mix;
};

static_assert(Mixer<FixedRatio>);

}  // namespace dma::mixers
