// dma/rl/pipeline.hpp: train_agents(data, cfg), the one call that turns a trajectory store's
// contents into trained agents: optional reward relabelling (reward variants, several objective
// weights), a held-out split by environment instance, the warm-up learner (SFT on the best
// trajectories, or BC on all), then CQL, and a JSON report (curves, wall time per learner,
// Q-value sanity on held-out trajectories: predicted Q vs realised return-to-go). Used by
// examples/train_agent.cpp and the main job (examples/main_job/). Config keys and
// defaults: docs/AGENT.md "Training pipeline". Tested in tests/unit/rl_pipeline.cpp.
#pragma once

#include <algorithm>
#include <chrono>
#include <cmath>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "dma/agent/agent.hpp"
#include "dma/core/config.hpp"
#include "dma/core/error.hpp"
#include "dma/core/reflect.hpp"
#include "dma/core/rng.hpp"
#include "dma/core/types.hpp"
#include "dma/reward/balanced.hpp"
#include "dma/reward/target_only.hpp"
#include "dma/rl/bc.hpp"
#include "dma/rl/cql.hpp"
#include "dma/rl/dataset.hpp"
#include "dma/rl/sft.hpp"
#include "dma/rl/then.hpp"

namespace dma::rl {

// Which learners run, in order.
enum class PipelineLearner {
  SftCql,  // SFT on the top trajectories, then CQL from the SFT agent [paper]
  Cql,     // CQL from a fresh agent (no warm-up; the actor's BC term pulls to the data)
  Sft,     // SFT only
  Bc,      // behaviour cloning on all trajectories only
  BcCql,   // BC on all trajectories, then CQL from the BC agent
};

// The learners' names in configs and reports.
inline constexpr auto pipeline_learner_names = reflect::one_of<PipelineLearner>(
    std::pair{PipelineLearner::SftCql, "sft+cql"}, std::pair{PipelineLearner::Cql, "cql"},
    std::pair{PipelineLearner::Sft, "sft"}, std::pair{PipelineLearner::Bc, "bc"},
    std::pair{PipelineLearner::BcCql, "bc+cql"});
inline std::string to_string(PipelineLearner l) { return pipeline_learner_names.encode(l).get<std::string>(); }

// How the rewards the learners see are made from the stored feedback.
struct RewardRelabel {
  // "stored": as collected; "balanced": Balanced{worst_weight}; "source_mean": Balanced with
  // the source side = mean source gain; "worst_domain": source side = the worst source domain's
  // gain; "target_only": the target gain alone.
  std::string kind = "stored";
  double worst_weight = 0.5;  // for "balanced"
  // Non-empty: every trajectory is used once per weight, with spec.target_weight set to it and
  // its rewards recomputed, so one agent learns to serve several objective trade-offs.
  std::vector<double> target_weights;

  static constexpr auto fields() {
    using namespace reflect;
    return make_fields(field("kind", &RewardRelabel::kind), field("worst_weight", &RewardRelabel::worst_weight),
                       field("target_weights", &RewardRelabel::target_weights));
  }
  void validate(const std::string& where) const {
    if (!(worst_weight >= 0 && worst_weight <= 1)) fail(where, ": field 'worst_weight' must be in [0, 1], got ", worst_weight);
  }
};

struct PipelineConfig {
  PipelineLearner learner = PipelineLearner::SftCql;
  std::uint64_t seed = 1;         // agent initialisation and the held-out split
  double holdout_fraction = 0.1;  // share of instances held out for the Q-value sanity check
  RewardRelabel reward;
  agent::AgentConfig agent;
  SftConfig sft;
  BcConfig bc;
  // 10 epochs with 5 critic-only ones: chosen for ~400 trajectories on validation seeds
  // (docs/AGENT.md); CqlConfig's own defaults (20/10) were set for 192.
  CqlConfig cql = [] {
    CqlConfig c;
    c.epochs = 10;
    c.warmup_epochs = 5;
    return c;
  }();

  static constexpr auto fields() {
    using namespace reflect;
    return make_fields(field("learner", &PipelineConfig::learner, pipeline_learner_names),
                       field("seed", &PipelineConfig::seed), field("holdout_fraction", &PipelineConfig::holdout_fraction),
                       field("reward", &PipelineConfig::reward), field("agent", &PipelineConfig::agent),
                       field("sft", &PipelineConfig::sft), field("bc", &PipelineConfig::bc),
                       field("cql", &PipelineConfig::cql));
  }
  void validate(const std::string& where) const {
    if (!(holdout_fraction >= 0 && holdout_fraction < 1))
      fail(where, ": field 'holdout_fraction' must be in [0, 1), got ", holdout_fraction);
  }
  static PipelineConfig from_json(const Json& j, const std::string& source = "agent config") {
    return reflect::from_json<PipelineConfig>(j, source);
  }
  [[nodiscard]] Json to_json() const { return reflect::to_json(*this); }
};

struct TrainedAgents {
  std::optional<agent::Agent> warm;  // after SFT or BC (absent for learner "cql")
  std::optional<agent::Agent> cql;   // after CQL (absent for "sft" and "bc")
  Json report;                       // see train_agents()

  [[nodiscard]] const agent::Agent& final_agent() const { return cql ? *cql : *warm; }
};

// ---- helpers (public: tests and the experiment driver use them) -----------------------------

// Recomputes every step's reward with `r` (the potential-difference rewards of reward/ need
// only the stored feedback, the base feedback and the spec).
template <class R>
void relabel_rewards(std::vector<Trajectory>& data, const R& r) {
  for (auto& tr : data) {
    const Feedback* prev = &tr.history.initial;
    for (std::size_t t = 0; t < tr.history.steps.size(); ++t) {
      auto& st = tr.history.steps[t];
      const RewardContext ctx{tr.history.initial, tr.history.spec, t + 1};
      st.reward = double(r(*prev, st.feedback, st.mixture, ctx));
      prev = &st.feedback;
    }
  }
}

// The dataset the learners see under `rr` (a copy; `data` is left alone).
inline std::vector<Trajectory> apply_reward_relabel(const std::vector<Trajectory>& data, const RewardRelabel& rr) {
  if (rr.kind == "stored") {
    if (!rr.target_weights.empty())
      fail("agent config: field 'reward.target_weights' needs rewards recomputed; set 'reward.kind' "
           "to balanced, source_mean, worst_domain or target_only (not 'stored')");
    return data;
  }
  auto relabel = [&](std::vector<Trajectory>& d) {
    if (rr.kind == "balanced") relabel_rewards(d, reward::Balanced{rr.worst_weight});
    else if (rr.kind == "source_mean") relabel_rewards(d, reward::Balanced{0.0});
    else if (rr.kind == "worst_domain") relabel_rewards(d, reward::Balanced{1.0});
    else if (rr.kind == "target_only") relabel_rewards(d, reward::TargetOnly{});
    else
      fail("agent config: field 'reward.kind': expected stored, balanced, source_mean, worst_domain or "
           "target_only, got '", rr.kind, "'");
  };
  if (rr.target_weights.empty()) {
    std::vector<Trajectory> d = data;
    relabel(d);
    return d;
  }
  std::vector<Trajectory> out;
  out.reserve(data.size() * rr.target_weights.size());
  for (std::size_t k = 0; k < rr.target_weights.size(); ++k) {
    const double tw = rr.target_weights[k];
    if (!(tw >= 0 && tw <= 1)) fail("agent config: field 'reward.target_weights': ", tw, " is not in [0, 1]");
    std::vector<Trajectory> d = data;
    for (auto& tr : d) {
      tr.history.spec.target_weight = tw;
      // A distinct instance key per weight: SFT ranks returns within (instance, weight).
      tr.episode_seed = tr.episode_seed * 131 + k;
    }
    relabel(d);
    out.insert(out.end(), d.begin(), d.end());
  }
  return out;
}

// Splits `data` by environment instance (episode_seed): about `fraction` of the instances go to
// `held`. With a single instance, trajectories are split instead. Deterministic in `seed`.
inline void split_by_instance(const std::vector<Trajectory>& data, double fraction, std::uint64_t seed,
                              std::vector<Trajectory>& train, std::vector<Trajectory>& held) {
  if (!(fraction >= 0 && fraction < 1)) fail("agent config: field 'holdout_fraction' must be in [0, 1), got ", fraction);
  std::set<std::uint64_t> inst;
  for (const auto& tr : data) inst.insert(tr.episode_seed);
  const bool by_instance = inst.size() >= 2;
  std::vector<std::uint64_t> keys;
  if (by_instance) keys.assign(inst.begin(), inst.end());
  else
    for (std::size_t k = 0; k < data.size(); ++k) keys.push_back(k);
  const auto n_held = fraction > 0 && keys.size() >= 2
                          ? std::clamp<std::size_t>(static_cast<std::size_t>(std::ceil(fraction * double(keys.size()))),
                                                    1, keys.size() - 1)
                          : 0;
  Rng rng = Rng(seed).split("rl.pipeline.holdout");
  const auto perm = shuffled(keys.size(), rng);
  std::set<std::uint64_t> held_keys;
  for (std::size_t k = 0; k < n_held; ++k) held_keys.insert(keys[perm[k]]);
  train.clear(), held.clear();
  for (std::size_t k = 0; k < data.size(); ++k)
    (held_keys.count(by_instance ? data[k].episode_seed : k) ? held : train).push_back(data[k]);
}

// Q-value sanity: the critic's Q(h_t, a_t) against the realised (discounted) return-to-go G_t at
// every stage of `data`. Returns {n, pearson, pearson_within_stage, mean_error (Q - G),
// mean_abs_error, mean_return_to_go, sd_return_to_go}. `pearson` pools all stages, so it also
// credits knowing that G shrinks as the run goes on; `pearson_within_stage` (the mean over stages
// of the correlation across trajectories at that stage) does not.
inline Json q_sanity(const agent::Agent& a, const std::vector<Trajectory>& data, double discount) {
  std::vector<double> q, g;
  std::vector<std::size_t> stage;
  for (const auto& tr : data) {
    const auto& steps = tr.history.steps;
    std::vector<double> rtg(steps.size() + 1, 0.0);
    for (std::size_t t = steps.size(); t-- > 0;) rtg[t] = steps[t].reward + discount * rtg[t + 1];
    History h;
    h.spec = tr.history.spec;
    h.initial = tr.history.initial;
    for (std::size_t t = 0; t < steps.size(); ++t) {
      q.push_back(a.q_value(h, steps[t].mixture));
      g.push_back(rtg[t]);
      stage.push_back(t);
      h.steps.push_back(steps[t]);
    }
  }
  if (q.empty()) return Json{{"n", 0}};
  auto corr = [&](auto&& take) {
    double n = 0, mq = 0, mg = 0;
    for (std::size_t k = 0; k < q.size(); ++k)
      if (take(k)) mq += q[k], mg += g[k], n += 1;
    if (n < 3) return std::pair{0.0, 0.0};
    mq /= n, mg /= n;
    double sqq = 0, sgg = 0, sqg = 0;
    for (std::size_t k = 0; k < q.size(); ++k)
      if (take(k)) sqq += (q[k] - mq) * (q[k] - mq), sgg += (g[k] - mg) * (g[k] - mg), sqg += (q[k] - mq) * (g[k] - mg);
    return std::pair{sqq > 0 && sgg > 0 ? sqg / std::sqrt(sqq * sgg) : 0.0, n};
  };
  const double n = double(q.size());
  double err = 0, abs_err = 0, mg = 0;
  for (std::size_t k = 0; k < q.size(); ++k) err += q[k] - g[k], abs_err += std::abs(q[k] - g[k]), mg += g[k];
  mg /= n;
  double sgg = 0;
  for (double x : g) sgg += (x - mg) * (x - mg);
  const std::size_t S = *std::max_element(stage.begin(), stage.end()) + 1;
  double within = 0, weight = 0;
  for (std::size_t t = 0; t < S; ++t) {
    const auto [c, m] = corr([&](std::size_t k) { return stage[k] == t; });
    within += c * m, weight += m;
  }
  return Json{{"n", q.size()},
              {"pearson", corr([](std::size_t) { return true; }).first},
              {"pearson_within_stage", weight > 0 ? within / weight : 0.0},
              {"mean_error", err / n},
              {"mean_abs_error", abs_err / n},
              {"mean_return_to_go", mg},
              {"sd_return_to_go", std::sqrt(sgg / n)}};
}

// Trains the agents `cfg` asks for on `data`. The report (JSON):
//   config, learner, trajectories {total, train, held_out, instances_held_out},
//   learners {sft|bc|cql: LearnReport::to_json() (per-epoch curve, seconds, updates, extra)},
//   seconds {learner name: wall s, total}, q_sanity {held_out, train} (for the CQL agent),
//   parameters.
inline TrainedAgents train_agents(const std::vector<Trajectory>& data, const PipelineConfig& cfg) {
  using Clock = std::chrono::steady_clock;
  const auto t0 = Clock::now();
  validate_dataset(data, "train_agents");
  const std::vector<Trajectory> all = apply_reward_relabel(data, cfg.reward);
  std::vector<Trajectory> train, held;
  split_by_instance(all, cfg.holdout_fraction, cfg.seed, train, held);

  TrainedAgents out;
  Json& rep = out.report;
  rep["config"] = cfg.to_json();
  rep["learner"] = to_string(cfg.learner);
  std::set<std::uint64_t> held_inst;
  for (const auto& tr : held) held_inst.insert(tr.episode_seed);
  rep["trajectories"] = {{"stored", data.size()}, {"after_relabel", all.size()}, {"train", train.size()},
                         {"held_out", held.size()}, {"instances_held_out", held_inst.size()}};
  rep["learners"] = Json::object();
  rep["seconds"] = Json::object();

  agent::Agent a(cfg.agent, cfg.seed);
  CqlConfig c = cfg.cql;
  // Without a warm start there is nothing to refine: the BC term pulls to the data (TD3+BC).
  if (cfg.learner == PipelineLearner::Cql) c.bc_target = BcTarget::Dataset;
  auto keep_warm = [&](const agent::Agent& w) { out.warm = w; };
  std::vector<LearnReport> reports;
  switch (cfg.learner) {
    case PipelineLearner::SftCql: reports = Then<Sft, Cql>(Sft(cfg.sft), Cql(c)).fit(train, a, keep_warm); break;
    case PipelineLearner::BcCql: reports = Then<Bc, Cql>(Bc(cfg.bc), Cql(c)).fit(train, a, keep_warm); break;
    case PipelineLearner::Sft: reports = {Sft(cfg.sft).fit(train, a)}, keep_warm(a); break;
    case PipelineLearner::Bc: reports = {Bc(cfg.bc).fit(train, a)}, keep_warm(a); break;
    case PipelineLearner::Cql: reports = {Cql(c).fit(train, a)}; break;
  }
  const bool run_cql = cfg.learner == PipelineLearner::SftCql || cfg.learner == PipelineLearner::Cql ||
                       cfg.learner == PipelineLearner::BcCql;
  for (std::size_t i = 0; i < reports.size(); ++i) {
    const std::string key = run_cql && i + 1 == reports.size() ? "cql" : reports[i].learner;
    rep["learners"][key] = reports[i].to_json();
    rep["seconds"][key] = reports[i].seconds;
  }
  if (run_cql) {
    out.cql = a;
    rep["q_sanity"] = {{"held_out", q_sanity(a, held, c.discount)}, {"train", q_sanity(a, train, c.discount)}};
  }
  rep["parameters"] = a.num_parameters();
  rep["seconds"]["total"] = std::chrono::duration<double>(Clock::now() - t0).count();
  return out;
}

}  // namespace dma::rl
