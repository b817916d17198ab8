// dma/rl/cql.hpp: Cql, offline RL with Conservative Q-Learning (Kumar et al. 2020)
// [paper: the RL agent = SFT warm start, then CQL; "crucial"]. Variant [ours]: CQL(H) on an
// actor-critic over mixtures (actions on the simplex, so no max over a discrete set):
//   critic:  sum_k E_t[(Q_k(h_t, a_t) - y_t)^2],  y_t = (1-m) (r_t/s + gamma min_k Q'_k(h_{t+1}, pi'(h_{t+1})))
//                                                    + m G_t/s   (G_t: the data's return-to-go)
//            + alpha * sum_k E_t[ T log sum_j exp(Q_k(h_t, a_j)/T) - Q_k(h_t, a_t) ]   (CQL(H), eq. 4)
//   actor:   TD3+BC (Fujimoto & Gu 2021): -lambda * Q(h_t, pi(h_t)) + beta * CE(target_t, pi(h_t)),
//            lambda = q_weight (Q is in units of the returns' RMS), the gradient flowing through
//            the mixture into the policy (actor = Td3Bc, the default);
//   or actor = Awr: advantage-weighted regression (Peng et al. 2019; IQL's extraction, Kostrikov
//            et al. 2021): -sum_t min(exp(A_t/b), w_max) log pi(a_t|h_t) + beta * CE(target_t, pi),
//            A_t = min_k Q_k(h_t, a_t) - min_k Q_k(h_t, pi(h_t)); the critic (CQL term kept) is the same.
// The a_j of the log-sum-exp are sampled, since the simplex is continuous: some from a Dirichlet
// around the (target) policy's mixture (the actions the actor would move to), the rest from a
// flat Dirichlet (everything else); no importance weights (on the simplex the proposal densities
// span many orders of magnitude, which makes the weighted estimate noisy).
// Target networks (Polyak tau), discount, alpha and the BC target are config. `s` is the root
// mean square of the dataset's returns, so alpha means the same for any reward scale; Q is
// stored in those units and Agent::q_value multiplies back. Tested in tests/unit/rl_cql.cpp.
#pragma once

#include <chrono>
#include <cmath>
#include <string>
#include <vector>

#include "dma/agent/adam.hpp"
#include "dma/agent/agent.hpp"
#include "dma/core/concepts.hpp"
#include "dma/core/progress.hpp"
#include "dma/core/reflect.hpp"
#include "dma/rl/dataset.hpp"
#include "dma/rl/report.hpp"
#include "dma/space/simplex.hpp"

namespace dma::rl {

// How the actor is extracted from the conservative critic.
enum class ActorMode {
  Td3Bc,  // follow dQ/da through the mixture, plus a behaviour-cloning term (TD3+BC)
  Awr,    // advantage-weighted regression onto the dataset's actions (AWR / IQL-style extraction)
};

// What the actor's behaviour-cloning term pulls toward.
enum class BcTarget {
  WarmStart,  // the policy the learner was given (e.g. the SFT agent): CQL refines it
  Dataset,    // the dataset's mixtures (TD3+BC as published)
};

struct CqlConfig {
  double discount = 1.0;      // episodes are short and finite; the return is the final score
  int epochs = 20;            // passes over the dataset
  int batch = 8;              // trajectories per optimizer step
  agent::AdamConfig critic_adam{.lr = 1e-3, .clip_norm = 1.0};
  agent::AdamConfig actor_adam{.lr = 3e-4, .clip_norm = 1.0};
  double tau = 0.02;          // target networks: theta' <- (1 - tau) theta' + tau theta per step
  // Share of the dataset's return-to-go in the critic's target (the rest is the one-step TD
  // target). One-step TD through a slow target network needs ~S target refreshes to carry a
  // final-stage reward back to stage 1; mixing in the Monte Carlo return carries it at once
  // (at the price of valuing the data's continuation, not the policy's).
  double mc_mix = 0.5;
  double alpha = 1.0;         // weight of the conservative term; 0 = plain actor-critic
  double temperature = 1.0;   // T of the log-sum-exp
  int policy_samples = 4;     // sampled actions per state around the current policy
  int random_samples = 4;     // sampled actions per state from Dirichlet(random_concentration)
  double random_concentration = 1.0;
  int warmup_epochs = 10;     // critic-only epochs before the actor moves
  int actor_every = 1;        // critic steps per actor step
  double q_weight = 0.05;     // weight of Q in the actor loss (Q in units of the returns' RMS);
                              // larger values hurt on the sim (0.2: gap 0.59, 1.0: < 0; docs/AGENT.md)
  double bc_weight = 1.0;     // weight of the cross-entropy to the BC target
  ActorMode actor = ActorMode::Td3Bc;
  // Awr: weight exp(A_t / awr_beta), clipped at awr_max_weight, on the cross-entropy to the
  // data's action a_t; A_t = min_k Q_k(h_t, a_t) - min_k Q_k(h_t, pi(h_t)) (Q in RMS-return units).
  double awr_beta = 0.1;
  double awr_max_weight = 20.0;
  double awr_weight = 1.0;    // weight of the advantage-weighted term in the actor loss
  BcTarget bc_target = BcTarget::WarmStart;
  bool normalize_rewards = true;
  bool refit_feature_norm = false;
  double max_seconds = 0;     // stop after this much wall time (0: no limit)
  std::uint64_t seed = 2;
  bool progress = false;

  // The JSON keys (docs/AGENT.md); `progress` is a run-time switch, not configuration.
  static constexpr auto fields() {
    using namespace reflect;
    return make_fields(
        field("discount", &CqlConfig::discount), field("epochs", &CqlConfig::epochs), field("batch", &CqlConfig::batch),
        field("critic_lr", [](auto& c) -> auto& { return c.critic_adam.lr; }),
        field("actor_lr", [](auto& c) -> auto& { return c.actor_adam.lr; }),
        field("critic_clip_norm", [](auto& c) -> auto& { return c.critic_adam.clip_norm; }),
        field("actor_clip_norm", [](auto& c) -> auto& { return c.actor_adam.clip_norm; }),
        field("tau", &CqlConfig::tau), field("mc_mix", &CqlConfig::mc_mix), field("alpha", &CqlConfig::alpha),
        field("temperature", &CqlConfig::temperature), field("policy_samples", &CqlConfig::policy_samples),
        field("random_samples", &CqlConfig::random_samples),
        field("random_concentration", &CqlConfig::random_concentration),
        field("warmup_epochs", &CqlConfig::warmup_epochs), field("actor_every", &CqlConfig::actor_every),
        field("q_weight", &CqlConfig::q_weight), field("bc_weight", &CqlConfig::bc_weight),
        field("actor", &CqlConfig::actor, one_of<ActorMode>(std::pair{ActorMode::Td3Bc, "td3bc"}, std::pair{ActorMode::Awr, "awr"})),
        field("awr_beta", &CqlConfig::awr_beta), field("awr_max_weight", &CqlConfig::awr_max_weight),
        field("awr_weight", &CqlConfig::awr_weight),
        field("bc_target", &CqlConfig::bc_target,
              one_of<BcTarget>(std::pair{BcTarget::WarmStart, "warm_start"}, std::pair{BcTarget::Dataset, "dataset"})),
        field("normalize_rewards", &CqlConfig::normalize_rewards),
        field("refit_feature_norm", &CqlConfig::refit_feature_norm), field("max_seconds", &CqlConfig::max_seconds),
        field("seed", &CqlConfig::seed));
  }
  void validate(const std::string& where) const {
    if (epochs < 0 || batch <= 0 || actor_every <= 0) fail(where, ": epochs must be >= 0, batch and actor_every > 0");
    if (alpha < 0 || !(temperature > 0) || policy_samples < 0 || random_samples < 0 ||
        (alpha > 0 && policy_samples + random_samples == 0))
      fail(where, ": need alpha >= 0, temperature > 0 and some sampled actions when alpha > 0");
    if (!(discount >= 0 && discount <= 1)) fail(where, ": discount must be in [0, 1]");
    if (!(tau > 0 && tau <= 1)) fail(where, ": tau must be in (0, 1]");
    if (!(awr_beta > 0) || !(awr_max_weight > 0)) fail(where, ": awr_beta and awr_max_weight must be > 0");
  }
  [[nodiscard]] Json to_json() const { return reflect::to_json(*this); }
};

class Cql {
 public:
  explicit Cql(CqlConfig cfg = {}) : m_cfg(cfg) { m_cfg.validate("cql config"); }

  LearnReport fit(const std::vector<Trajectory>& data, agent::Agent& a) const {
    using Clock = std::chrono::steady_clock;
    using agent::Mat;
    using agent::Tape;
    using agent::Var;
    const auto t0 = Clock::now();
    validate_dataset(data, "cql");
    fit_feature_norm(data, a, m_cfg.refit_feature_norm);

    std::vector<Episode> eps;
    for (const auto& tr : data) eps.push_back(make_episode(tr, a));
    double scale = 1.0;
    if (m_cfg.normalize_rewards) {
      // Root mean square of the returns: Q of the data is O(1) whatever the reward units. (Not
      // the sd: a dataset of similar returns would blow every gap up to many sds.)
      double m2 = 0;
      for (const auto& e : eps) m2 += e.ret * e.ret;
      m2 /= double(eps.size());
      if (m2 > 1e-24) scale = std::sqrt(m2);
    }
    a.set_q_scale(scale);

    // The behaviour-cloning targets, fixed for the whole fit.
    std::vector<Mat> bc(eps.size());
    for (std::size_t k = 0; k < eps.size(); ++k) {
      if (m_cfg.bc_target == BcTarget::Dataset) {
        bc[k] = eps[k].actions;
      } else {
        Tape t;
        bc[k] = a.policy()(t, a.policy_params(), eps[k].features).mixture.value().topRows(eps[k].actions.rows());
      }
    }

    agent::ParamStore target_critic = a.critic_params(), target_policy = a.policy_params();
    agent::Adam critic_opt(a.critic_params(), m_cfg.critic_adam);
    agent::Adam actor_opt(a.policy_params(), m_cfg.actor_adam);
    a.critic_params().zero_grad();
    a.policy_params().zero_grad();
    Rng root = Rng(m_cfg.seed);
    Rng shuffle_rng = root.split("rl.cql.shuffle"), sample_rng = root.split("rl.cql.samples");

    LearnReport rep;
    rep.learner = name();
    rep.trajectories = eps.size();
    double last_td = 0, last_pen = 0, last_actor_q = 0, last_data_q = 0;
    std::size_t critic_steps = 0;
    Progress prog("cql", static_cast<std::size_t>(m_cfg.epochs), 1.0, m_cfg.progress);
    for (int ep = 0; ep < m_cfg.epochs; ++ep) {
      const bool actor_on = ep >= m_cfg.warmup_epochs;
      double ep_loss = 0, ep_td = 0, ep_pen = 0, ep_aq = 0, ep_dq = 0;
      double n_ep = 0, n_actor = 0;
      const auto order = shuffled(eps.size(), shuffle_rng);
      for (std::size_t b0 = 0; b0 < order.size(); b0 += static_cast<std::size_t>(m_cfg.batch)) {
        const std::size_t b1 = std::min(order.size(), b0 + static_cast<std::size_t>(m_cfg.batch));
        // ---- critic ----
        std::vector<CriticParts> parts(b1 - b0);
        for (std::size_t bi = b0; bi < b1; ++bi) {
          auto& p = parts[bi - b0];
          p = critic_loss(a, eps[order[bi]], target_critic, target_policy, scale, sample_rng);
          ep_loss += p.total, ep_td += p.td, ep_pen += p.penalty, ep_dq += p.data_q;
          n_ep += 1;
        }
        critic_opt.step(a.critic_params(), double(b1 - b0));
        target_critic.soft_update_from(a.critic_params(), m_cfg.tau);
        ++critic_steps;
        ++rep.updates;
        // ---- actor ----
        if (actor_on && critic_steps % static_cast<std::size_t>(m_cfg.actor_every) == 0) {
          for (std::size_t bi = b0; bi < b1; ++bi) {
            ep_aq += actor_loss(a, eps[order[bi]], bc[order[bi]], parts[bi - b0]);
            n_actor += 1;
          }
          actor_opt.step(a.policy_params(), double(b1 - b0));
          ++rep.updates;
        }
        target_policy.soft_update_from(a.policy_params(), m_cfg.tau);
      }
      rep.curve.push_back(ep_loss / n_ep);
      last_td = ep_td / n_ep, last_pen = ep_pen / n_ep, last_data_q = ep_dq / n_ep;
      if (n_actor > 0) last_actor_q = ep_aq / n_actor;
      prog.update(static_cast<std::size_t>(ep + 1));
      if (m_cfg.max_seconds > 0 && std::chrono::duration<double>(Clock::now() - t0).count() > m_cfg.max_seconds)
        break;
    }
    rep.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
    rep.extra = Json{{"config", m_cfg.to_json()},     {"epochs_run", rep.curve.size()},
                     {"reward_scale", scale},         {"final_td_loss", last_td},
                     {"final_cql_penalty", last_pen}, {"final_mean_q_data", last_data_q * scale},
                     {"final_mean_q_policy", last_actor_q * scale}};
    return rep;
  }

  [[nodiscard]] std::string name() const { return m_cfg.alpha > 0 ? "cql" : "actor_critic(alpha=0)"; }
  [[nodiscard]] const CqlConfig& config() const noexcept { return m_cfg; }

 private:
  struct CriticParts {
    double total = 0, td = 0, penalty = 0, data_q = 0;
    agent::Mat E, H;  // the critic trunk's outputs, reused by the actor step (one Adam step old)
    agent::Mat q_data;  // tokens x heads: Q of the data's actions (rows >= S unused)
  };

  // Accumulates the critic's gradient for one episode into a.critic_params().
  CriticParts critic_loss(agent::Agent& a, const Episode& e, const agent::ParamStore& target_critic,
                          const agent::ParamStore& target_policy, double scale, Rng& rng) const {
    using namespace agent;
    const Features& f = e.features;
    const Eigen::Index S = e.actions.rows(), T = f.tokens, D = f.D;
    const int heads = a.config().q_heads;
    Tape t;
    t.train(a.critic_params());
    // Bootstrapped targets from the target networks (no gradient).
    Mat y(T, heads);
    Mat pi;  // the target policy's mixtures: centres of the sampled actions too
    {
      const auto pi_next = a.policy()(t, target_policy, f);
      pi = pi_next.mixture.value();
      const auto tr_next = a.critic().trunk(t, target_critic, f);
      const Mat qn = a.critic().q(t, target_critic, tr_next, f, pi_next.mixture, 1).value();
      // Return-to-go G_t (bootstrapped at the end of an unfinished episode), for the mixed target.
      std::vector<double> g(static_cast<std::size_t>(S) + 1, 0.0);
      g[static_cast<std::size_t>(S)] = e.terminal ? 0.0 : qn.row(S).minCoeff();
      for (Eigen::Index r = S - 1; r >= 0; --r)
        g[static_cast<std::size_t>(r)] = e.rewards[static_cast<std::size_t>(r)] / scale +
                                         m_cfg.discount * g[static_cast<std::size_t>(r + 1)];
      for (Eigen::Index r = 0; r < T; ++r) {
        double yr = 0;
        if (r < S) {
          const bool last = r + 1 == S;
          const double boot = last && e.terminal ? 0.0 : qn.row(r + 1).minCoeff();
          const double td = e.rewards[static_cast<std::size_t>(r)] / scale + m_cfg.discount * boot;
          yr = (1.0 - m_cfg.mc_mix) * td + m_cfg.mc_mix * g[static_cast<std::size_t>(r)];
        }
        y.row(r).setConstant(yr);
      }
    }
    Mat acts(T, D);
    acts.topRows(S) = e.actions;
    acts.row(T - 1).setConstant(1.0 / double(D));  // the final token has no action (masked)
    const auto tr = a.critic().trunk(t, a.critic_params(), f);
    const Var q = a.critic().q(t, a.critic_params(), tr, f, t.constant(acts), 1);
    Mat mask = Mat::Zero(T, heads);
    mask.topRows(S).setConstant(1.0 / double(S));
    const Var td = weighted_sum(square(sub(q, t.constant(y))), mask);
    CriticParts parts;
    parts.E = tr.E.value();
    parts.H = tr.H.value();
    parts.td = td.scalar();
    parts.data_q = q.value().topRows(S).mean();
    parts.q_data = q.value();
    Var total = td;
    if (m_cfg.alpha > 0) {
      const int N = m_cfg.policy_samples + m_cfg.random_samples;
      Mat samples(T * N, D);
      for (Eigen::Index r = 0; r < T; ++r) {
        Mixture center(static_cast<std::size_t>(D));
        for (Eigen::Index i = 0; i < D; ++i) center[static_cast<std::size_t>(i)] = pi(r, i);
        for (int j = 0; j < N; ++j) {
          const Mixture m = j < m_cfg.policy_samples
                                ? a.sample_around(center, rng)
                                : space::dirichlet(static_cast<std::size_t>(D), m_cfg.random_concentration, rng);
          for (Eigen::Index i = 0; i < D; ++i) samples(r * N + j, i) = m[static_cast<std::size_t>(i)];
        }
      }
      const Var qs = a.critic().q(t, a.critic_params(), tr, f, t.constant(samples), N);
      Var pen;
      for (int k = 0; k < heads; ++k) {
        const Var qk = reshape(slice_cols(qs, k, 1), T, N);
        const Var lse = scale_op(logsumexp_rows(scale_op(qk, 1.0 / m_cfg.temperature)), m_cfg.temperature);
        const Var gap = sub(lse, slice_cols(q, k, 1));
        const Var pk = weighted_sum(gap, mask.col(0));
        pen = k == 0 ? pk : add(pen, pk);
      }
      // Report the gap against the soft maximum's baseline (T log N) for readability.
      parts.penalty = pen.scalar() / heads - m_cfg.temperature * std::log(double(N));
      total = add(total, agent::scale(pen, m_cfg.alpha));
    }
    t.backward(total);
    parts.total = total.scalar();
    return parts;
  }

  // Accumulates the actor's gradient for one episode; returns the mean Q of the policy's actions.
  double actor_loss(agent::Agent& a, const Episode& e, const agent::Mat& bc_target,
                    const CriticParts& critic_out) const {
    using namespace agent;
    const Features& f = e.features;
    const Eigen::Index S = e.actions.rows(), T = f.tokens, D = f.D;
    const int heads = a.config().q_heads;
    Tape t;
    t.train(a.policy_params());
    const auto pi = a.policy()(t, a.policy_params(), f);
    // The critic's state encoding does not depend on the action: reuse the critic step's.
    const Trunk::Out tr{t.constant(critic_out.E), t.constant(critic_out.H)};
    const Var q = a.critic().q(t, a.critic_params(), tr, f, pi.mixture, 1);  // T x heads
    Mat qmask = Mat::Zero(T, heads);
    qmask.topRows(S).setConstant(1.0 / double(S * heads));
    const double mean_q = q.value().topRows(S).mean();
    Mat ce = Mat::Zero(T, D);
    ce.topRows(S) = -bc_target / double(S);
    Var loss;
    if (m_cfg.actor == ActorMode::Awr) {
      // Advantage-weighted regression (Peng et al. 2019; as policy extraction in IQL, Kostrikov
      // et al. 2021): maximise sum_t w_t log pi(a_t | h_t), w_t = min(exp(A_t/beta), w_max),
      // with A_t from the conservative critic; the policy's own action is the baseline V(h_t).
      Mat wce = Mat::Zero(T, D);
      for (Eigen::Index r = 0; r < S; ++r) {
        const double adv = critic_out.q_data.row(r).minCoeff() - q.value().row(r).minCoeff();
        const double w = std::min(std::exp(adv / m_cfg.awr_beta), m_cfg.awr_max_weight);
        wce.row(r) = -w * e.actions.row(r) / double(S);
      }
      loss = add(agent::scale(weighted_sum(pi.log_mix, wce), m_cfg.awr_weight),
                 agent::scale(weighted_sum(pi.log_mix, ce), m_cfg.bc_weight));
    } else {
      // TD3+BC divides by the batch's mean |Q|; our Q is already in units of the returns' RMS, and
      // that division explodes when Q crosses 0 (it did here), so lambda is the constant weight.
      const double lambda = m_cfg.q_weight;
      loss = add(agent::scale(weighted_sum(q, qmask), -lambda),
                 agent::scale(weighted_sum(pi.log_mix, ce), m_cfg.bc_weight));
    }
    t.backward(loss);
    return mean_q;
  }

  static agent::Var scale_op(agent::Var v, double s) { return s == 1.0 ? v : agent::scale(v, s); }

  CqlConfig m_cfg;
};

static_assert(Learner<Cql, agent::Agent>);

}  // namespace dma::rl
