// dma/rl/pipeline.hpp: train_agents(data, cfg), the one call that turns a trajectory store's
// contents into trained agents: optional reward relabelling (reward variants, several objective
// weights), a held-out split by environment instance, the warm-up learner (SFT on the best
// trajectories, or BC on all), then CQL, and a JSON report (curves, wall time per learner,
// Q-value sanity on held-out trajectories: predicted Q vs realised return-to-go). Used by
// examples/train_agent.cpp and the experiment driver (trainer/experiment*.hpp). Config keys and
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
#include "dma/core/rng.hpp"
#include "dma/core/types.hpp"
#include "dma/reward/balanced.hpp"
#include "dma/reward/target_only.hpp"
#include "dma/rl/bc.hpp"
#include "dma/rl/cql.hpp"
#include "dma/rl/dataset.hpp"
#include "dma/rl/sft.hpp"

namespace dma::rl {

// Which learners run, in order.
enum class PipelineLearner {
  SftCql,  // SFT on the top trajectories, then CQL from the SFT agent [paper]
  Cql,     // CQL from a fresh agent (no warm-up; the actor's BC term pulls to the data)
  Sft,     // SFT only
  Bc,      // behaviour cloning on all trajectories only
  BcCql,   // BC on all trajectories, then CQL from the BC agent
};

inline const char* to_string(PipelineLearner l) {
  switch (l) {
    case PipelineLearner::SftCql: return "sft+cql";
    case PipelineLearner::Cql: return "cql";
    case PipelineLearner::Sft: return "sft";
    case PipelineLearner::Bc: return "bc";
    case PipelineLearner::BcCql: return "bc+cql";
  }
  return "?";
}

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

  static PipelineConfig from_json(const Json& j, const std::string& source = "agent config");
  [[nodiscard]] Json to_json() const;
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
  const bool warm_sft = cfg.learner == PipelineLearner::SftCql || cfg.learner == PipelineLearner::Sft;
  const bool warm_bc = cfg.learner == PipelineLearner::Bc || cfg.learner == PipelineLearner::BcCql;
  if (warm_sft || warm_bc) {
    const LearnReport r = warm_sft ? Sft(cfg.sft).fit(train, a) : Bc(cfg.bc).fit(train, a);
    rep["learners"][r.learner] = r.to_json();
    rep["seconds"][r.learner] = r.seconds;
    out.warm = a;
  }
  const bool run_cql = cfg.learner == PipelineLearner::SftCql || cfg.learner == PipelineLearner::Cql ||
                       cfg.learner == PipelineLearner::BcCql;
  if (run_cql) {
    CqlConfig c = cfg.cql;
    // Without a warm start there is nothing to refine: the BC term pulls to the data (TD3+BC).
    if (cfg.learner == PipelineLearner::Cql) c.bc_target = BcTarget::Dataset;
    const LearnReport r = Cql(c).fit(train, a);
    rep["learners"]["cql"] = r.to_json();
    rep["seconds"]["cql"] = r.seconds;
    out.cql = a;
    rep["q_sanity"] = {{"held_out", q_sanity(a, held, c.discount)}, {"train", q_sanity(a, train, c.discount)}};
  }
  rep["parameters"] = a.num_parameters();
  rep["seconds"]["total"] = std::chrono::duration<double>(Clock::now() - t0).count();
  return out;
}

// ---- config ----------------------------------------------------------------------------------

namespace detail {
inline void check_keys(const Json& j, const std::set<std::string>& known, const std::string& where) {
  if (!j.is_object()) fail(where, ": expected a JSON object");
  for (auto it = j.begin(); it != j.end(); ++it)
    if (!known.count(it.key())) {
      std::string list;
      for (const auto& k : known) list += (list.empty() ? "" : ", ") + k;
      fail(where, ": unknown key '", it.key(), "' (known: ", list, ")");
    }
}
}  // namespace detail

inline PipelineConfig PipelineConfig::from_json(const Json& j, const std::string& source) {
  PipelineConfig p;
  detail::check_keys(j, {"learner", "seed", "holdout_fraction", "reward", "agent", "sft", "bc", "cql"}, source);
  const Config c(j, source);
  const auto learner = c.get<std::string>("learner", to_string(p.learner));
  bool found = false;
  for (auto l : {PipelineLearner::SftCql, PipelineLearner::Cql, PipelineLearner::Sft, PipelineLearner::Bc,
                 PipelineLearner::BcCql})
    if (learner == to_string(l)) p.learner = l, found = true;
  if (!found) fail(source, ": field 'learner': expected sft+cql, cql, sft, bc or bc+cql, got '", learner, "'");
  p.seed = c.get("seed", p.seed);
  p.holdout_fraction = c.get("holdout_fraction", p.holdout_fraction);
  if (!(p.holdout_fraction >= 0 && p.holdout_fraction < 1))
    fail(source, ": field 'holdout_fraction' must be in [0, 1), got ", p.holdout_fraction);

  const Config r = c.sub("reward");
  detail::check_keys(r.json(), {"kind", "worst_weight", "target_weights"}, source + ": reward");
  p.reward.kind = r.get("kind", p.reward.kind);
  p.reward.worst_weight = r.get("worst_weight", p.reward.worst_weight);
  p.reward.target_weights = r.get("target_weights", p.reward.target_weights);
  if (!(p.reward.worst_weight >= 0 && p.reward.worst_weight <= 1))
    fail(source, ": field 'reward.worst_weight' must be in [0, 1], got ", p.reward.worst_weight);

  if (c.has("agent")) p.agent = agent::AgentConfig::from_json(c.json()["agent"], source + ": agent");

  const Config s = c.sub("sft");
  detail::check_keys(s.json(), {"top_fraction", "per_instance", "epochs", "batch", "lr", "max_seconds", "seed"},
                     source + ": sft");
  p.sft.top_fraction = s.get("top_fraction", p.sft.top_fraction);
  p.sft.per_instance = s.get("per_instance", p.sft.per_instance);
  p.sft.epochs = s.get("epochs", p.sft.epochs);
  p.sft.batch = s.get("batch", p.sft.batch);
  p.sft.adam.lr = s.get("lr", p.sft.adam.lr);
  p.sft.max_seconds = s.get("max_seconds", p.sft.max_seconds);
  p.sft.seed = s.get("seed", p.sft.seed);

  const Config b = c.sub("bc");
  detail::check_keys(b.json(), {"epochs", "batch", "lr", "max_seconds", "seed"}, source + ": bc");
  p.bc.epochs = b.get("epochs", p.bc.epochs);
  p.bc.batch = b.get("batch", p.bc.batch);
  p.bc.adam.lr = b.get("lr", p.bc.adam.lr);
  p.bc.max_seconds = b.get("max_seconds", p.bc.max_seconds);
  p.bc.seed = b.get("seed", p.bc.seed);

  const Config q = c.sub("cql");
  detail::check_keys(q.json(),
                     {"discount", "epochs", "batch", "critic_lr", "actor_lr", "tau", "mc_mix", "alpha", "temperature",
                      "policy_samples", "random_samples", "random_concentration", "warmup_epochs", "actor_every",
                      "q_weight", "bc_weight", "actor", "awr_beta", "awr_max_weight", "awr_weight", "bc_target",
                      "normalize_rewards", "max_seconds", "seed"},
                     source + ": cql");
  CqlConfig& k = p.cql;
  k.discount = q.get("discount", k.discount);
  k.epochs = q.get("epochs", k.epochs);
  k.batch = q.get("batch", k.batch);
  k.critic_adam.lr = q.get("critic_lr", k.critic_adam.lr);
  k.actor_adam.lr = q.get("actor_lr", k.actor_adam.lr);
  k.tau = q.get("tau", k.tau);
  k.mc_mix = q.get("mc_mix", k.mc_mix);
  k.alpha = q.get("alpha", k.alpha);
  k.temperature = q.get("temperature", k.temperature);
  k.policy_samples = q.get("policy_samples", k.policy_samples);
  k.random_samples = q.get("random_samples", k.random_samples);
  k.random_concentration = q.get("random_concentration", k.random_concentration);
  k.warmup_epochs = q.get("warmup_epochs", k.warmup_epochs);
  k.actor_every = q.get("actor_every", k.actor_every);
  k.q_weight = q.get("q_weight", k.q_weight);
  k.bc_weight = q.get("bc_weight", k.bc_weight);
  const auto actor = q.get<std::string>("actor", "td3bc");
  if (actor != "td3bc" && actor != "awr") fail(source, ": field 'cql.actor': expected td3bc or awr, got '", actor, "'");
  k.actor = actor == "awr" ? ActorMode::Awr : ActorMode::Td3Bc;
  k.awr_beta = q.get("awr_beta", k.awr_beta);
  k.awr_max_weight = q.get("awr_max_weight", k.awr_max_weight);
  k.awr_weight = q.get("awr_weight", k.awr_weight);
  const auto bct = q.get<std::string>("bc_target", "warm_start");
  if (bct != "warm_start" && bct != "dataset")
    fail(source, ": field 'cql.bc_target': expected warm_start or dataset, got '", bct, "'");
  k.bc_target = bct == "dataset" ? BcTarget::Dataset : BcTarget::WarmStart;
  k.normalize_rewards = q.get("normalize_rewards", k.normalize_rewards);
  k.max_seconds = q.get("max_seconds", k.max_seconds);
  k.seed = q.get("seed", k.seed);
  Cql{k};  // validates
  Sft{p.sft};
  Bc{p.bc};
  return p;
}

inline Json PipelineConfig::to_json() const {
  Json s = sft.to_json();
  Json q = cql.to_json();
  q["max_seconds"] = cql.max_seconds;
  return Json{{"learner", to_string(learner)},
              {"seed", seed},
              {"holdout_fraction", holdout_fraction},
              {"reward", {{"kind", reward.kind}, {"worst_weight", reward.worst_weight},
                          {"target_weights", reward.target_weights}}},
              {"agent", agent.to_json()},
              {"sft", s},
              {"bc", {{"epochs", bc.epochs}, {"batch", bc.batch}, {"lr", bc.adam.lr},
                      {"max_seconds", bc.max_seconds}, {"seed", bc.seed}}},
              {"cql", q}};
}

}  // namespace dma::rl
