// dma/core/rng.hpp: the specified random number generator of dma.
// PCG32 (O'Neill 2014, pcg-random.org; the "XSH RR" 64/32 variant) seeded through SplitMix64,
// with every distribution written here (no std:: distributions: they differ across standard
// libraries), so the same seed gives the same stream on every platform. Streams are split per
// component with `split(tag)`: changing how many numbers one component draws never shifts another.
#pragma once

#include <cmath>
#include <cstdint>
#include <numbers>
#include <string_view>

namespace dma {

// SplitMix64 (Steele, Lea, Flood 2014): used to derive seeds and stream ids.
constexpr std::uint64_t splitmix64(std::uint64_t& state) noexcept {
  std::uint64_t z = (state += 0x9E3779B97F4A7C15ULL);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

// FNV-1a over a string: turns a component name into a stream tag at compile time.
constexpr std::uint64_t hash_tag(std::string_view s) noexcept {
  std::uint64_t h = 0xcbf29ce484222325ULL;
  for (char c : s) {
    h ^= static_cast<unsigned char>(c);
    h *= 0x100000001b3ULL;
  }
  return h;
}

class Rng {
 public:
  Rng() : Rng(0) {}
  explicit Rng(std::uint64_t seed, std::uint64_t stream = 0) { seed_with(seed, stream); }

  // The reference PCG32 seeding (pcg32_srandom_r(initstate, initseq)); used to check the
  // generator against the published reference stream.
  static Rng pcg32_reference(std::uint64_t initstate, std::uint64_t initseq) noexcept {
    Rng r;
    r.m_inc = (initseq << 1u) | 1u;
    r.m_state = 0;
    r.next_u32();
    r.m_state += initstate;
    r.next_u32();
    r.m_seed = initstate;
    return r;
  }

  // A generator for a named sub-component; independent of how much *this has been used.
  [[nodiscard]] Rng split(std::uint64_t tag) const noexcept {
    std::uint64_t s = m_seed ^ (tag * 0xD1B54A32D192ED03ULL);
    std::uint64_t a = splitmix64(s);
    std::uint64_t b = splitmix64(s);
    return Rng(a, b);
  }
  [[nodiscard]] Rng split(std::string_view name) const noexcept { return split(hash_tag(name)); }

  std::uint32_t next_u32() noexcept {
    const std::uint64_t old = m_state;
    m_state = old * 6364136223846793005ULL + m_inc;
    const auto xorshifted = static_cast<std::uint32_t>(((old >> 18u) ^ old) >> 27u);
    const auto rot = static_cast<std::uint32_t>(old >> 59u);
    return (xorshifted >> rot) | (xorshifted << ((32u - rot) & 31u));
  }
  std::uint64_t next_u64() noexcept {
    const std::uint64_t hi = next_u32();
    return (hi << 32) | next_u32();
  }
  // Uniform in [0, 1) with 53 random bits.
  double uniform() noexcept { return static_cast<double>(next_u64() >> 11) * 0x1.0p-53; }
  double uniform(double lo, double hi) noexcept { return lo + (hi - lo) * uniform(); }
  // Uniform integer in [0, n) without modulo bias (Lemire's method with rejection).
  std::uint32_t below(std::uint32_t n) noexcept {
    if (n <= 1) return 0;
    std::uint64_t m = std::uint64_t(next_u32()) * n;
    auto low = static_cast<std::uint32_t>(m);
    if (low < n) {
      const std::uint32_t threshold = (0u - n) % n;
      while (low < threshold) {
        m = std::uint64_t(next_u32()) * n;
        low = static_cast<std::uint32_t>(m);
      }
    }
    return static_cast<std::uint32_t>(m >> 32);
  }
  // Standard normal by the Box-Muller transform (one value per call, the pair's second dropped
  // so that the stream position does not depend on a cached value).
  double normal() noexcept {
    double u1 = uniform();
    while (u1 <= 0.0) u1 = uniform();
    const double u2 = uniform();
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * std::numbers::pi * u2);
  }
  double normal(double mean, double sd) noexcept { return mean + sd * normal(); }
  // Gamma(shape, 1) by Marsaglia & Tsang (2000), with the shape < 1 boost.
  double gamma(double shape) noexcept {
    if (shape < 1.0) {
      double u = uniform();
      while (u <= 0.0) u = uniform();
      return gamma(shape + 1.0) * std::pow(u, 1.0 / shape);
    }
    const double d = shape - 1.0 / 3.0;
    const double c = 1.0 / std::sqrt(9.0 * d);
    for (;;) {
      double x = normal();
      double v = 1.0 + c * x;
      if (v <= 0.0) continue;
      v = v * v * v;
      const double u = uniform();
      if (u < 1.0 - 0.0331 * x * x * x * x) return d * v;
      if (u > 0.0 && std::log(u) < 0.5 * x * x + d * (1.0 - v + std::log(v))) return d * v;
    }
  }

  // Full state, for exact resume of a component.
  struct State {
    std::uint64_t state, inc, seed;
  };
  [[nodiscard]] State state() const noexcept { return {m_state, m_inc, m_seed}; }
  void set_state(const State& s) noexcept {
    m_state = s.state;
    m_inc = s.inc;
    m_seed = s.seed;
  }

 private:
  void seed_with(std::uint64_t seed, std::uint64_t stream) noexcept {
    std::uint64_t s = seed;
    m_seed = splitmix64(s) ^ stream;
    m_inc = (stream << 1u) | 1u;
    m_state = 0;
    next_u32();
    m_state += splitmix64(s);
    next_u32();
  }
  std::uint64_t m_state = 0, m_inc = 1, m_seed = 0;
};

}  // namespace dma
