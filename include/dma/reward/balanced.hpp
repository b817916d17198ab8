// dma/reward/balanced.hpp: the default reward, Balanced: the stage's change of the balanced
// score (levels.hpp) weighted by spec.target_weight, with a penalty on the worst source domain.
// As a potential difference it rewards the level: a run's return is its final balanced score
// relative to the base model, so one-step reversals cancel. Tested in tests/unit/reward_balanced.cpp.
#pragma once

#include "dma/core/concepts.hpp"
#include "dma/reward/levels.hpp"

namespace dma::reward {

struct Balanced {
  double worst_weight = 0.5;  // share of the source side given to the worst source domain

  double operator()(const Feedback& prev, const Feedback& next, const Mixture&,
                    const RewardContext& ctx) const {
    const double tw = ctx.spec.target_weight;
    return balanced_level(next, ctx.base, tw, worst_weight) - balanced_level(prev, ctx.base, tw, worst_weight);
  }
  [[nodiscard]] std::string name() const { return "balanced"; }
};

static_assert(Reward<Balanced>);

}  // namespace dma::reward
