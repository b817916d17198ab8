// tests/support/finite_diff.hpp: grad_check(), the agent tests' check of Tape::backward() against
// central differences (f(x+h) - f(x-h)) / 2h, parameter entry by parameter entry. Shared by
// tests/unit/agent_autodiff.cpp (every entry of small layers) and agent_network.cpp (a few
// sampled entries per tensor of the whole agent). Test-only, included by relative path.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>

#include "dma/agent/tape.hpp"
#include "dma/core/rng.hpp"

namespace dma::test {

struct GradCheckOptions {
  int per_tensor = 0;           // entries checked per tensor, drawn with Rng(pick_seed); 0: every entry
  double floor = 1.0;           // relative error = |num - ana| / max(floor, |num| + |ana|)
  double h = 1e-6;              // central-difference step
  std::uint64_t pick_seed = 5;
};

// Max relative error between backward() and central differences over the checked entries.
inline double grad_check(agent::ParamStore& ps, const std::function<agent::Var(agent::Tape&)>& loss_fn,
                         const GradCheckOptions& opt = {}) {
  ps.zero_grad();
  {
    agent::Tape t;
    t.train(ps);
    t.backward(loss_fn(t));
  }
  auto loss_at = [&](double& x, double v) {
    x = v;
    agent::Tape t;
    return loss_fn(t).scalar();
  };
  double worst = 0;
  dma::Rng pick(opt.pick_seed);
  for (std::size_t p = 0; p < ps.size(); ++p) {
    const int k = static_cast<int>(p);
    const auto n = static_cast<std::uint32_t>(ps.value(k).size());
    const std::uint32_t checks = opt.per_tensor > 0 ? static_cast<std::uint32_t>(opt.per_tensor) : n;
    for (std::uint32_t j = 0; j < checks; ++j) {
      const auto e = opt.per_tensor > 0 ? pick.below(n) : j;
      double& x = ps.value(k).data()[e];
      const double x0 = x;
      const double fp = loss_at(x, x0 + opt.h);
      const double fm = loss_at(x, x0 - opt.h);
      x = x0;
      const double num = (fp - fm) / (2 * opt.h);
      const double ana = ps.grad(k).data()[e];
      worst = std::max(worst, std::abs(num - ana) / std::max(opt.floor, std::abs(num) + std::abs(ana)));
    }
  }
  return worst;
}

}  // namespace dma::test
