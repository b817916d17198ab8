// dma/mixers/natural.hpp: Natural, the static mixture proportional to each domain's data size
// (optionally tempered: w_i ∝ n_i^(1/tau), the "temperature sampling" of multilingual LMs).
// Sizes are an input (per domain in spec order, or by domain name), because no environment can
// be asked for them; it is also the centre RegMix samples around. A Mixer.
// Tested in tests/unit/mixers_natural.cpp.
#pragma once

#include <cmath>
#include <cstdio>
#include <initializer_list>
#include <map>
#include <string>
#include <vector>

#include "dma/core/concepts.hpp"
#include "dma/core/error.hpp"
#include "dma/space/simplex.hpp"

namespace dma::mixers {

// w_i ∝ sizes_i^(1/temperature). Sizes must be finite, >= 0, one per domain, not all 0.
inline Mixture natural_mixture(const EpisodeSpec& spec, const std::vector<double>& sizes,
                               double temperature = 1.0, const std::string& who = "mixer 'natural'") {
  if (sizes.size() != spec.num_domains())
    fail(who, ": 'sizes' has ", sizes.size(), " entries, expected one per domain (", spec.num_domains(), ")");
  if (!(temperature > 0) || !std::isfinite(temperature))
    fail(who, ": 'temperature' must be finite and > 0, got ", temperature);
  std::vector<double> w(sizes.size());
  double total = 0;
  for (std::size_t i = 0; i < sizes.size(); ++i) {
    if (!std::isfinite(sizes[i]) || sizes[i] < 0)
      fail(who, ": size of domain ", i, " ('", spec.domains[i].name, "') must be finite and >= 0, got ", sizes[i]);
    total += (w[i] = sizes[i] > 0 ? std::pow(sizes[i], 1.0 / temperature) : 0.0);
  }
  if (!(total > 0)) fail(who, ": every domain has size 0; at least one must hold data");
  for (double& x : w) x /= total;
  return w;
}

class Natural {
 public:
  // Sizes (tokens, bytes or documents: only ratios matter) in the order of spec.domains.
  explicit Natural(std::vector<double> sizes, double temperature = 1.0, std::string name = {})
      : m_sizes(std::move(sizes)), m_temperature(temperature), m_name(std::move(name)) {
    set_default_name();
  }
  Natural(std::initializer_list<double> sizes, double temperature = 1.0, std::string name = {})
      : Natural(std::vector<double>(sizes), temperature, std::move(name)) {}
  // Sizes by domain name; reset() fails naming any domain of the spec that has no size.
  explicit Natural(std::map<std::string, double> sizes_by_name, double temperature = 1.0, std::string name = {})
      : m_by_name(std::move(sizes_by_name)), m_temperature(temperature), m_name(std::move(name)) {
    set_default_name();
  }

  void reset(const EpisodeSpec& spec) {
    std::vector<double> sizes = m_sizes;
    if (!m_by_name.empty()) {
      sizes.clear();
      for (const auto& d : spec.domains) {
        const auto it = m_by_name.find(d.name);
        if (it == m_by_name.end()) fail("mixer '", m_name, "': no size given for domain '", d.name, "'");
        sizes.push_back(it->second);
      }
    }
    m_mix = natural_mixture(spec, sizes, m_temperature, "mixer '" + m_name + "'");
  }
  Mixture next(const History&) { return m_mix; }
  [[nodiscard]] bool open_loop() const noexcept { return true; }  // never reads the feedback
  [[nodiscard]] std::string name() const { return m_name; }
  [[nodiscard]] const Mixture& mixture() const noexcept { return m_mix; }

 private:
  void set_default_name() {
    if (!m_name.empty()) return;
    if (m_temperature == 1.0) {
      m_name = "natural";
    } else {
      char buf[40];
      std::snprintf(buf, sizeof buf, "natural(T=%.2g)", m_temperature);
      m_name = buf;
    }
  }
  std::vector<double> m_sizes;
  std::map<std::string, double> m_by_name;
  double m_temperature = 1.0;
  std::string m_name;
  Mixture m_mix;
};

static_assert(Mixer<Natural>);

}  // namespace dma::mixers
