// dma/space/simplex.hpp: utilities on the probability simplex over D domains.
// validate (clear dma::Error for NaN, negative, wrong length, bad sum), Euclidean projection
// (Duchi et al. 2008, "Efficient projections onto the l1-ball"), Dirichlet sampling through
// the specified Gamma sampler of core/rng.hpp, entropy and KL divergence.
#pragma once

#include <algorithm>
#include <cmath>
#include <numeric>
#include <string_view>
#include <vector>

#include "dma/core/error.hpp"
#include "dma/core/rng.hpp"
#include "dma/core/types.hpp"

namespace dma::space {

inline constexpr double kSimplexTolerance = 1e-6;

// Throws dma::Error naming `what` (e.g. "mixture from mixer 'dbl'") unless m is a valid
// mixture over `d` domains.
inline void validate_mixture(const Mixture& m, std::size_t d, std::string_view what = "mixture",
                             double tol = kSimplexTolerance) {
  if (m.size() != d) fail(what, ": expected ", d, " weights (one per domain), got ", m.size());
  double sum = 0;
  for (std::size_t i = 0; i < m.size(); ++i) {
    if (!std::isfinite(m[i])) fail(what, ": weight ", i, " is not finite (", m[i], ")");
    if (m[i] < 0) fail(what, ": weight ", i, " is negative (", m[i], "); weights must be >= 0");
    sum += m[i];
  }
  if (std::abs(sum - 1.0) > tol)
    fail(what, ": weights sum to ", sum, ", expected 1 (tolerance ", tol, ")");
}

// Euclidean projection of v onto the simplex {x >= 0, sum x = 1}.
inline Mixture project(const std::vector<double>& v) {
  DMA_ASSERT(!v.empty(), "projecting an empty vector");
  std::vector<double> u(v);
  std::sort(u.begin(), u.end(), std::greater<>());
  double css = 0, theta = 0;
  for (std::size_t j = 0; j < u.size(); ++j) {
    css += u[j];
    const double t = (css - 1.0) / double(j + 1);
    if (u[j] - t > 0) theta = t;
  }
  Mixture x(v.size());
  for (std::size_t i = 0; i < v.size(); ++i) x[i] = std::max(v[i] - theta, 0.0);
  return x;
}

// Rescales non-negative weights to sum to 1 (uniform if they are all zero).
inline Mixture normalize(std::vector<double> w) {
  double s = 0;
  for (double& x : w) s += (x = std::max(x, 0.0));
  if (s <= 0) return Mixture(w.size(), 1.0 / double(w.size()));
  for (double& x : w) x /= s;
  return w;
}

inline Mixture uniform(std::size_t d) { return Mixture(d, 1.0 / double(d)); }

// One draw from Dirichlet(alpha).
inline Mixture dirichlet(const std::vector<double>& alpha, Rng& rng) {
  Mixture x(alpha.size());
  double s = 0;
  for (std::size_t i = 0; i < alpha.size(); ++i) s += (x[i] = rng.gamma(alpha[i]));
  if (s <= 0) return uniform(alpha.size());
  for (double& v : x) v /= s;
  return x;
}
inline Mixture dirichlet(std::size_t d, double concentration, Rng& rng) {
  return dirichlet(std::vector<double>(d, concentration), rng);
}

// Log-density of Dirichlet(alpha) at x (x strictly inside the simplex).
inline double dirichlet_log_pdf(const Mixture& x, const std::vector<double>& alpha) {
  double a0 = 0, lp = 0;
  for (std::size_t i = 0; i < x.size(); ++i) {
    a0 += alpha[i];
    lp += (alpha[i] - 1.0) * std::log(std::max(x[i], 1e-300)) - std::lgamma(alpha[i]);
  }
  return lp + std::lgamma(a0);
}

// Shannon entropy in nats.
inline double entropy(const Mixture& p) {
  double h = 0;
  for (double x : p)
    if (x > 0) h -= x * std::log(x);
  return h;
}

// KL(p || q) in nats; +inf where q has zero mass under p's support.
inline double kl(const Mixture& p, const Mixture& q) {
  DMA_ASSERT(p.size() == q.size(), "kl: size mismatch");
  double d = 0;
  for (std::size_t i = 0; i < p.size(); ++i) {
    if (p[i] <= 0) continue;
    if (q[i] <= 0) return std::numeric_limits<double>::infinity();
    d += p[i] * std::log(p[i] / q[i]);
  }
  return d;
}

// Total weight on the domains of one field.
inline double field_share(const Mixture& m, const EpisodeSpec& spec, Field f) {
  double s = 0;
  for (std::size_t i = 0; i < m.size(); ++i) s += spec.domains[i].field == f ? m[i] : 0.0;
  return s;
}

}  // namespace dma::space
