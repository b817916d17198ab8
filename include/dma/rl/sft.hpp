// dma/rl/sft.hpp: Sft, behaviour cloning of the agent's policy on the best trajectories
// [paper: a supervised warm-up on the good trajectories gives the "SFT" agent]. The policy is
// fit by cross-entropy between each stage's mixture and the policy's output at that stage,
// sum_i a_i log pi_i(h(t)), over the top `top_fraction` of trajectories by return (ranked per
// environment instance by default). The critic is left alone. Tested in tests/unit/rl_sft.cpp.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "dma/agent/adam.hpp"
#include "dma/agent/agent.hpp"
#include "dma/core/concepts.hpp"
#include "dma/core/progress.hpp"
#include "dma/core/reflect.hpp"
#include "dma/rl/dataset.hpp"
#include "dma/rl/report.hpp"

namespace dma::rl {

struct SftConfig {
  double top_fraction = 0.25;  // share of trajectories imitated
  bool per_instance = true;    // rank returns within each environment instance
  int epochs = 60;             // passes over the imitated trajectories
  int batch = 8;               // trajectories per optimizer step
  agent::AdamConfig adam{.lr = 3e-3, .clip_norm = 1.0};
  bool refit_feature_norm = false;  // fit normalisation even if the agent already has one
  double max_seconds = 0;      // stop early after this much wall time (0: no limit)
  std::uint64_t seed = 1;      // shuffling
  bool progress = false;

  // The JSON keys (docs/AGENT.md); `progress` is a run-time switch, not configuration.
  static constexpr auto fields() {
    using namespace reflect;
    return make_fields(field("top_fraction", &SftConfig::top_fraction), field("per_instance", &SftConfig::per_instance),
                       field("epochs", &SftConfig::epochs), field("batch", &SftConfig::batch),
                       field("lr", [](auto& c) -> auto& { return c.adam.lr; }),
                       field("clip_norm", [](auto& c) -> auto& { return c.adam.clip_norm; }),
                       field("refit_feature_norm", &SftConfig::refit_feature_norm),
                       field("max_seconds", &SftConfig::max_seconds), field("seed", &SftConfig::seed));
  }
  void validate(const std::string& where) const {
    if (epochs < 0 || batch <= 0) fail(where, ": epochs must be >= 0 and batch > 0");
  }
  [[nodiscard]] Json to_json() const { return reflect::to_json(*this); }
};

class Sft {
 public:
  explicit Sft(SftConfig cfg = {}) : m_cfg(cfg) { m_cfg.validate("sft config"); }

  LearnReport fit(const std::vector<Trajectory>& data, agent::Agent& a) const {
    using Clock = std::chrono::steady_clock;
    const auto t0 = Clock::now();
    validate_dataset(data, "sft");
    fit_feature_norm(data, a, m_cfg.refit_feature_norm);
    const auto top = top_by_return(data, m_cfg.top_fraction, m_cfg.per_instance);
    std::vector<Episode> eps;
    for (auto k : top) eps.push_back(make_episode(data[k], a));

    LearnReport rep;
    rep.learner = name();
    rep.trajectories = eps.size();
    agent::Adam opt(a.policy_params(), m_cfg.adam);
    a.policy_params().zero_grad();
    Rng rng = Rng(m_cfg.seed).split("rl.sft.shuffle");
    Progress prog("sft", static_cast<std::size_t>(m_cfg.epochs), 1.0, m_cfg.progress);
    for (int ep = 0; ep < m_cfg.epochs; ++ep) {
      double total = 0, count = 0;
      int in_batch = 0;
      for (std::size_t k : shuffled(eps.size(), rng)) {
        const Episode& e = eps[k];
        const Eigen::Index S = e.actions.rows();
        agent::Tape t;
        t.train(a.policy_params());
        const auto out = a.policy()(t, a.policy_params(), e.features);
        // Cross-entropy of the dataset mixtures under the policy, averaged over stages.
        const agent::Var loss = agent::scale(
            agent::weighted_sum(agent::slice_rows(out.log_mix, 0, S), -e.actions), 1.0 / double(S));
        t.backward(loss);
        total += loss.scalar();
        count += 1;
        if (++in_batch == m_cfg.batch) {
          opt.step(a.policy_params(), in_batch);
          ++rep.updates;
          in_batch = 0;
        }
      }
      if (in_batch > 0) opt.step(a.policy_params(), in_batch), ++rep.updates;
      rep.curve.push_back(count > 0 ? total / count : 0.0);
      prog.update(static_cast<std::size_t>(ep + 1));
      if (m_cfg.max_seconds > 0 &&
          std::chrono::duration<double>(Clock::now() - t0).count() > m_cfg.max_seconds)
        break;
    }
    rep.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
    rep.extra = Json{{"config", m_cfg.to_json()}, {"epochs_run", rep.curve.size()}};
    return rep;
  }

  [[nodiscard]] std::string name() const { return "sft"; }
  [[nodiscard]] const SftConfig& config() const noexcept { return m_cfg; }

 private:
  SftConfig m_cfg;
};

static_assert(Learner<Sft, agent::Agent>);

}  // namespace dma::rl
