// dma/rl/dataset.hpp: turns a vector of Trajectories into what the learners train on: per
// trajectory the agent's normalised features of every stage token, the actions taken, the
// rewards, and whether the episode ended. Also the feature-normalisation fit and the choice of
// the top trajectories by return (for SFT). Read by rl/sft.hpp and rl/cql.hpp; tested through
// their tests (rl_sft.cpp, rl_cql.cpp).
#pragma once

#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>
#include <vector>

#include "dma/agent/agent.hpp"
#include "dma/core/error.hpp"
#include "dma/core/types.hpp"
#include "dma/space/simplex.hpp"

namespace dma::rl {

struct Episode {
  agent::Features features;  // tokens = S + 1 (the base model, then after every stage)
  agent::Mat actions;        // S x D: the mixture of stage t+1 is row t
  std::vector<double> rewards;
  bool terminal = true;      // the episode ran all spec.stages stages
  double ret = 0;
  std::uint64_t instance = 0;
};

// Checks a dataset and fails with the trajectory's id and what is wrong.
inline void validate_dataset(const std::vector<Trajectory>& data, const char* who) {
  if (data.empty()) fail(who, ": the dataset is empty");
  for (const auto& tr : data) {
    const std::size_t D = tr.history.spec.num_domains();
    if (tr.history.steps.empty()) fail(who, ": trajectory ", tr.id, " has no steps");
    for (std::size_t s = 0; s < tr.history.steps.size(); ++s) {
      space::validate_mixture(tr.history.steps[s].mixture, D,
                              std::string(who) + ": trajectory " + std::to_string(tr.id) +
                                  " stage " + std::to_string(s + 1) + " mixture");
      if (!std::isfinite(tr.history.steps[s].reward))
        fail(who, ": trajectory ", tr.id, " stage ", s + 1, " has a non-finite reward");
    }
  }
}

// Fits the agent's feature normalisation on `data` unless it already has one (or `force`).
inline void fit_feature_norm(const std::vector<Trajectory>& data, agent::Agent& a, bool force) {
  if (a.has_fitted_norm() && !force) return;
  std::vector<agent::Features> fs;
  fs.reserve(data.size());
  for (const auto& tr : data) fs.push_back(agent::extract_features(tr.history));
  a.set_feature_norm(agent::FeatureNorm::fit(fs));
  a.mark_norm_fitted();
}

inline Episode make_episode(const Trajectory& tr, const agent::Agent& a) {
  Episode e;
  e.features = a.features(tr.history);
  const auto& steps = tr.history.steps;
  e.actions.resize(static_cast<Eigen::Index>(steps.size()), e.features.D);
  for (std::size_t s = 0; s < steps.size(); ++s) {
    for (Eigen::Index i = 0; i < e.features.D; ++i)
      e.actions(static_cast<Eigen::Index>(s), i) = steps[s].mixture[static_cast<std::size_t>(i)];
    e.rewards.push_back(steps[s].reward);
  }
  e.terminal = tr.history.spec.stages == 0 || steps.size() >= tr.history.spec.stages;
  e.ret = tr.total_return();
  e.instance = tr.episode_seed;
  return e;
}

// Indices of the best `fraction` of trajectories by return; with `per_instance`, ranked among
// the trajectories of the same environment instance (episode_seed), since returns of different
// instances are not comparable (some instances allow more). At least one per group.
inline std::vector<std::size_t> top_by_return(const std::vector<Trajectory>& data, double fraction,
                                              bool per_instance) {
  if (!(fraction > 0 && fraction <= 1)) fail("sft: top_fraction must be in (0, 1], got ", fraction);
  std::map<std::uint64_t, std::vector<std::size_t>> groups;
  for (std::size_t k = 0; k < data.size(); ++k)
    groups[per_instance ? data[k].episode_seed : 0].push_back(k);
  std::vector<std::size_t> out;
  for (auto& [key, idx] : groups) {
    std::stable_sort(idx.begin(), idx.end(), [&](std::size_t a, std::size_t b) {
      return data[a].total_return() > data[b].total_return();
    });
    const auto n = std::max<std::size_t>(1, static_cast<std::size_t>(std::llround(fraction * double(idx.size()))));
    out.insert(out.end(), idx.begin(), idx.begin() + static_cast<std::ptrdiff_t>(std::min(n, idx.size())));
  }
  std::sort(out.begin(), out.end());
  return out;
}

// A permutation of 0..n-1 from the specified generator (Fisher-Yates).
inline std::vector<std::size_t> shuffled(std::size_t n, Rng& rng) {
  std::vector<std::size_t> p(n);
  std::iota(p.begin(), p.end(), std::size_t{0});
  for (std::size_t i = n; i > 1; --i) std::swap(p[i - 1], p[rng.below(static_cast<std::uint32_t>(i))]);
  return p;
}

}  // namespace dma::rl
