// tests/parity/parity_util.hpp: helpers of the CUDA parity tests: seeded random inputs (dma::Rng)
// and an element-wise closeness check |gpu - cpu| <= atol + rtol |cpu| that reports the worst
// element. Host-only; used by tests/parity/*.cu.
#pragma once

#include <catch2/catch.hpp>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "dma/core/rng.hpp"
#include "dma/core/types.hpp"

namespace dma::parity {

inline std::vector<float> random_floats(std::size_t n, Rng& rng, double sd = 1.0) {
  std::vector<float> v(n);
  for (auto& x : v) x = float(rng.normal(0.0, sd));
  return v;
}
inline std::vector<Token> random_tokens(std::size_t n, std::size_t V, Rng& rng) {
  std::vector<Token> v(n);
  for (auto& t : v) t = Token(rng.below(std::uint32_t(V)));
  return v;
}

struct Closeness {
  double worst_ratio = 0;  // max over elements of |a - b| / (atol + rtol |b|); <= 1 passes
  double max_abs = 0;      // max |a - b|
  std::size_t worst = 0;
};
inline Closeness closeness(const std::vector<float>& gpu, const std::vector<float>& cpu, double atol,
                           double rtol) {
  Closeness c;
  for (std::size_t i = 0; i < cpu.size(); ++i) {
    const double d = std::fabs(double(gpu[i]) - double(cpu[i]));
    const double r = std::isfinite(d) ? d / (atol + rtol * std::fabs(double(cpu[i]))) : INFINITY;
    if (d > c.max_abs || !std::isfinite(d)) c.max_abs = d;
    if (!(r <= c.worst_ratio)) {
      c.worst_ratio = r;
      c.worst = i;
    }
  }
  return c;
}
// CHECKs that gpu matches cpu element-wise and says where it does not.
inline void check_close(const std::vector<float>& gpu, const std::vector<float>& cpu, double atol,
                        double rtol, const std::string& what) {
  REQUIRE(gpu.size() == cpu.size());
  const Closeness c = closeness(gpu, cpu, atol, rtol);
  INFO(what << ": worst element " << c.worst << " gpu " << (cpu.empty() ? 0.f : gpu[c.worst])
            << " cpu " << (cpu.empty() ? 0.f : cpu[c.worst]) << ", max |diff| " << c.max_abs
            << " (atol " << atol << ", rtol " << rtol << ")");
  CHECK(c.worst_ratio <= 1.0);
}

}  // namespace dma::parity
