// dma/trainer/sim_suite.hpp: the instance suite that the simulated examples share
// (examples/quickstart_sim.cpp, examples/baselines_sim.cpp) [ours]. Training instances have D in
// {2, 3, 4, 6}; held-out instances D in {2, 3, 4, 5, 6, 8}, so 5 and 8 are never seen in training.
// An instance seed encodes its domain count (seed % 100 = D): make() needs only the seed, and both
// programs deploy on the same instances, so their rows are directly comparable. Also the static
// target share "tuned once on the training instances" that both carry to every held-out one, and
// OracleColumns, the oracle and best-static-in-hindsight columns of their comparison tables.
// Tested in tests/unit/trainer_compare.cpp.
#pragma once

#include <algorithm>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "dma/env/sim.hpp"
#include "dma/env/sim_oracle.hpp"
#include "dma/mixers/fixed.hpp"
#include "dma/mixers/registry.hpp"
#include "dma/trainer/trainer.hpp"

namespace dma::trainer {

struct SimSuite {
  env::SimFamily family{};
  std::vector<std::size_t> train_domains{2, 3, 4, 6};
  std::vector<std::size_t> heldout_domains{2, 3, 4, 5, 6, 8};

  [[nodiscard]] static std::size_t domains_of(std::uint64_t seed) noexcept { return std::size_t(seed % 100); }
  [[nodiscard]] env::SimEnv make(std::uint64_t seed) const { return env::SimEnv(family, seed, domains_of(seed)); }

  // n training instance seeds: 1000 (i + 1) + D, D cycling through train_domains.
  [[nodiscard]] std::vector<std::uint64_t> train_seeds(std::size_t n) const {
    std::vector<std::uint64_t> s;
    for (std::size_t i = 0; i < n; ++i) s.push_back(1000 * (i + 1) + train_domains[i % train_domains.size()]);
    return s;
  }

  // n held-out instances from `base` (900000: the reported seeds; tune on another base), grouped
  // by D, with "(unseen D)" on domain counts not in train_domains.
  [[nodiscard]] std::vector<Instance> heldout(std::size_t n, std::uint64_t base = 900000) const {
    std::vector<Instance> out;
    for (std::size_t i = 0; i < n; ++i) {
      const std::size_t D = heldout_domains[i % heldout_domains.size()];
      const bool seen = std::find(train_domains.begin(), train_domains.end(), D) != train_domains.end();
      out.push_back({base + 1000 * i + D, "D=" + std::to_string(D) + (seen ? "" : " (unseen D)")});
    }
    return out;
  }

  // The target share on `grid` with the best noise-free return summed over the training seeds.
  template <class R>
  [[nodiscard]] double tuned_static_share(const R& reward, const std::vector<std::uint64_t>& train,
                                          const std::vector<double>& grid) const {
    return mixers::tune_static_share(grid, [&](double sh) {
      double v = 0;
      for (auto seed : train) {
        const env::SimEnv e = make(seed);
        v += env::noise_free_return(e, reward, {mixers::fixed_mixture(e.spec(), sh)});
      }
      return v;
    }).share;
  }
};

// The oracle and the best static mixture in hindsight as the two per-instance columns of
// Trainer::compare. Both come from one search per instance (env::sim_oracle), which `results`
// keeps by instance seed for reports. The columns refer to this object: keep it alive, in place,
// while they are used.
struct OracleColumns {
  env::OracleOptions options{};
  std::map<std::uint64_t, env::OracleResult> results;

  template <class Tr>
  [[nodiscard]] std::vector<typename Tr::PerInstance> columns() {
    return {{"oracle",
             [this](const env::SimEnv& e, const auto& r) {
               return (results[e.instance_seed()] = env::sim_oracle(e, r, options)).schedule;
             }},
            {"best_static(hindsight)", [this](const env::SimEnv& e, const auto&) {
               return std::vector<Mixture>{results.at(e.instance_seed()).best_static};
             }}};
  }
};

}  // namespace dma::trainer
