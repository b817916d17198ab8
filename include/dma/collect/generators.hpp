// dma/collect/generators.hpp: open-loop schedule generators for collection (ScheduleGenerator).
// Each draws a whole schedule (S mixtures) for a domain space from an Rng: DirichletWalk (a
// random walk on the simplex), Ramp (linear or cosine ramp of the target share), Steps (piecewise
// constant target share), FixedReplay (a static replay ratio), DomainBoost (one domain boosted
// for a window of stages). Mixed (collect/mixed.hpp) draws among them. They cover the heuristics
// the paper's 384 trajectories were chosen from [paper]. Tested in tests/unit/collect_generators.cpp.
#pragma once

#include <cmath>
#include <numbers>
#include <string>
#include <vector>

#include "dma/core/concepts.hpp"
#include "dma/mixers/fixed.hpp"
#include "dma/space/simplex.hpp"

namespace dma::collect {

namespace detail {
// A mixture with target share `share`, the target weight split by `wt` and the source weight
// by `ws` (both over their field's domains, in domain order).
inline Mixture compose_mixture(const EpisodeSpec& spec, double share, const std::vector<double>& ws,
                               const std::vector<double>& wt) {
  const std::size_t nt = spec.count(Field::Target), ns = spec.count(Field::Source);
  if (nt == 0) share = 0;
  if (ns == 0) share = 1;
  Mixture m(spec.num_domains());
  std::size_t a = 0, b = 0;
  for (std::size_t i = 0; i < m.size(); ++i)
    m[i] = spec.domains[i].field == Field::Target ? share * wt[b++] : (1.0 - share) * ws[a++];
  return space::normalize(m);
}
// A random split of a field's weight: even with probability p_even, else Dirichlet(alpha).
inline std::vector<double> random_split(std::size_t n, Rng& rng, double p_even = 0.5, double alpha = 2.0) {
  if (n == 0) return {};
  if (rng.uniform() < p_even) return std::vector<double>(n, 1.0 / double(n));
  return space::dirichlet(n, alpha, rng);
}
}  // namespace detail

// Random walk on the simplex: m_1 ~ Dir(start_concentration), m_{t+1} ~ Dir(step_concentration *
// m_t + floor): larger step_concentration means smaller steps.
struct DirichletWalk {
  double start_concentration = 1.0;
  double step_concentration = 30.0;
  double floor = 0.05;
  std::vector<Mixture> sample(const EpisodeSpec& spec, std::size_t steps, Rng& rng) const {
    const std::size_t D = spec.num_domains();
    std::vector<Mixture> s;
    Mixture m = space::dirichlet(D, start_concentration, rng);
    for (std::size_t t = 0; t < steps; ++t) {
      s.push_back(m);
      std::vector<double> a(D);
      for (std::size_t i = 0; i < D; ++i) a[i] = step_concentration * m[i] + floor;
      m = space::dirichlet(a, rng);
    }
    return s;
  }
  [[nodiscard]] std::string name() const { return "dirichlet_walk"; }
};

// Target share ramps from a random start to a random end, linearly or along a half cosine.
struct Ramp {
  enum class Shape { Linear, Cosine };
  Shape shape = Shape::Linear;
  std::vector<Mixture> sample(const EpisodeSpec& spec, std::size_t steps, Rng& rng) const {
    const double a = rng.uniform(), b = rng.uniform();
    const auto ws = detail::random_split(spec.count(Field::Source), rng);
    const auto wt = detail::random_split(spec.count(Field::Target), rng);
    std::vector<Mixture> s;
    for (std::size_t t = 0; t < steps; ++t) {
      const double p = steps > 1 ? double(t) / double(steps - 1) : 0.0;
      const double f = shape == Shape::Linear ? p : 0.5 * (1.0 - std::cos(std::numbers::pi * p));
      s.push_back(detail::compose_mixture(spec, a + (b - a) * f, ws, wt));
    }
    return s;
  }
  [[nodiscard]] std::string name() const { return shape == Shape::Linear ? "linear_ramp" : "cosine_ramp"; }
};

// Piecewise-constant target share with 1..max_changes change points at random stages.
struct Steps {
  std::size_t max_changes = 2;
  std::vector<Mixture> sample(const EpisodeSpec& spec, std::size_t steps, Rng& rng) const {
    const auto ws = detail::random_split(spec.count(Field::Source), rng);
    const auto wt = detail::random_split(spec.count(Field::Target), rng);
    const std::size_t changes = 1 + rng.below(std::uint32_t(std::max<std::size_t>(max_changes, 1)));
    std::vector<bool> cut(steps, false);
    for (std::size_t c = 0; c < changes && steps > 1; ++c) cut[1 + rng.below(std::uint32_t(steps - 1))] = true;
    double share = rng.uniform();
    std::vector<Mixture> s;
    for (std::size_t t = 0; t < steps; ++t) {
      if (cut[t]) share = rng.uniform();
      s.push_back(detail::compose_mixture(spec, share, ws, wt));
    }
    return s;
  }
  [[nodiscard]] std::string name() const { return "steps"; }
};

// A static replay ratio: target share uniform in [min_share, max_share], even splits.
struct FixedReplay {
  double min_share = 0.0, max_share = 1.0;
  std::vector<Mixture> sample(const EpisodeSpec& spec, std::size_t steps, Rng& rng) const {
    return std::vector<Mixture>(steps, mixers::fixed_mixture(spec, rng.uniform(min_share, max_share)));
  }
  [[nodiscard]] std::string name() const { return "fixed_replay"; }
};

// A static mixture in which one random domain's weight is multiplied by `boost` for a random
// window of stages (per-domain boosts probe what each domain does).
struct DomainBoost {
  double boost = 4.0;
  std::vector<Mixture> sample(const EpisodeSpec& spec, std::size_t steps, Rng& rng) const {
    const Mixture base = mixers::fixed_mixture(spec, rng.uniform(0.2, 0.8));
    const std::size_t d = rng.below(std::uint32_t(spec.num_domains()));
    const std::size_t a = rng.below(std::uint32_t(steps)), b = a + 1 + rng.below(std::uint32_t(steps - a));
    std::vector<Mixture> s;
    for (std::size_t t = 0; t < steps; ++t) {
      Mixture m = base;
      if (t >= a && t < b) m[d] *= boost;
      s.push_back(space::normalize(m));
    }
    return s;
  }
  [[nodiscard]] std::string name() const { return "domain_boost"; }
};

static_assert(ScheduleGenerator<DirichletWalk> && ScheduleGenerator<Ramp> && ScheduleGenerator<Steps> &&
              ScheduleGenerator<FixedReplay> && ScheduleGenerator<DomainBoost>);

}  // namespace dma::collect
