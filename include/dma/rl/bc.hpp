// dma/rl/bc.hpp: Bc, plain behaviour cloning on ALL trajectories (an ablation of the SFT
// warm-up, which clones only the best ones by return). Same loss and optimiser as rl/sft.hpp:
// cross-entropy between each stage's mixture and the policy's output, so BC learns the data's
// average behaviour while SFT learns the best trajectories' behaviour. Tested in
// tests/unit/rl_pipeline.cpp (on data of good and bad schedules, BC lands between them, SFT on the good).
#pragma once

#include <string>
#include <vector>

#include "dma/agent/agent.hpp"
#include "dma/core/concepts.hpp"
#include "dma/rl/report.hpp"
#include "dma/rl/sft.hpp"

namespace dma::rl {

struct BcConfig {
  int epochs = 30;  // all data: more trajectories per epoch than SFT's top quarter
  int batch = 8;
  agent::AdamConfig adam{.lr = 3e-3, .clip_norm = 1.0};
  bool refit_feature_norm = false;
  double max_seconds = 0;
  std::uint64_t seed = 1;
  bool progress = false;

  // The JSON keys (docs/AGENT.md); `progress` is a run-time switch, not configuration.
  static constexpr auto fields() {
    using namespace reflect;
    return make_fields(field("epochs", &BcConfig::epochs), field("batch", &BcConfig::batch),
                       field("lr", [](auto& c) -> auto& { return c.adam.lr; }),
                       field("clip_norm", [](auto& c) -> auto& { return c.adam.clip_norm; }),
                       field("refit_feature_norm", &BcConfig::refit_feature_norm),
                       field("max_seconds", &BcConfig::max_seconds), field("seed", &BcConfig::seed));
  }
  void validate(const std::string& where) const {
    if (epochs < 0 || batch <= 0) fail(where, ": epochs must be >= 0 and batch > 0");
  }
  [[nodiscard]] Json to_json() const { return reflect::to_json(*this); }
};

class Bc {
 public:
  explicit Bc(BcConfig cfg = {}) : m_cfg(cfg) {
    m_cfg.validate("bc config");
  }

  LearnReport fit(const std::vector<Trajectory>& data, agent::Agent& a) const {
    // SFT with every trajectory imitated is exactly behaviour cloning.
    SftConfig s;
    s.top_fraction = 1.0;
    s.per_instance = false;
    s.epochs = m_cfg.epochs;
    s.batch = m_cfg.batch;
    s.adam = m_cfg.adam;
    s.refit_feature_norm = m_cfg.refit_feature_norm;
    s.max_seconds = m_cfg.max_seconds;
    s.seed = m_cfg.seed;
    s.progress = m_cfg.progress;
    LearnReport rep = Sft(s).fit(data, a);
    rep.learner = name();
    return rep;
  }

  [[nodiscard]] std::string name() const { return "bc"; }
  [[nodiscard]] const BcConfig& config() const noexcept { return m_cfg; }

 private:
  BcConfig m_cfg;
};

static_assert(Learner<Bc, agent::Agent>);

}  // namespace dma::rl
