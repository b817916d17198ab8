// dma/reward/target_only.hpp: TargetOnly, the stage's change of the mean target-probe gain.
// What naive CPT optimises; a contrast to the balanced default (balanced.hpp) and a term for
// compose.hpp. Tested in tests/unit/reward_balanced.cpp with hand-computed values.
#pragma once

#include "dma/core/concepts.hpp"
#include "dma/reward/levels.hpp"

namespace dma::reward {

struct TargetOnly {
  double operator()(const Feedback& prev, const Feedback& next, const Mixture&,
                    const RewardContext& ctx) const {
    return mean_gain(next, ctx.base, Field::Target) - mean_gain(prev, ctx.base, Field::Target);
  }
  [[nodiscard]] std::string name() const { return "target_only"; }
};

// Change of the mean source-probe gain (forgetting shows as a negative reward).
struct SourceMean {
  double operator()(const Feedback& prev, const Feedback& next, const Mixture&,
                    const RewardContext& ctx) const {
    return mean_gain(next, ctx.base, Field::Source) - mean_gain(prev, ctx.base, Field::Source);
  }
  [[nodiscard]] std::string name() const { return "source_mean"; }
};

// Change of the worst source-probe gain.
struct SourceWorst {
  double operator()(const Feedback& prev, const Feedback& next, const Mixture&,
                    const RewardContext& ctx) const {
    return worst_gain(next, ctx.base, Field::Source) - worst_gain(prev, ctx.base, Field::Source);
  }
  [[nodiscard]] std::string name() const { return "source_worst"; }
};

// Cost: minus the tokens trained in the stage, in millions.
struct TokenCost {
  double operator()(const Feedback& prev, const Feedback& next, const Mixture&,
                    const RewardContext&) const {
    return -(next.tokens - prev.tokens) * 1e-6;
  }
  [[nodiscard]] std::string name() const { return "token_cost"; }
};

static_assert(Reward<TargetOnly> && Reward<SourceMean> && Reward<SourceWorst> && Reward<TokenCost>);

}  // namespace dma::reward
