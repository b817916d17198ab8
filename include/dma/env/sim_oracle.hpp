// dma/env/sim_oracle.hpp: the oracle of a SimEnv instance: the best schedule a search finds on
// the noise-free simulator, so the best achievable return is (nearly) known. Exactly:
//   1. a candidate set C of mixtures: target share in {0, 0.05, ..., 1} (plus `extra_shares`)
//      x source split (even, or one source domain tilted x3) x target split (even, or tilted),
//      plus, when D <= simplex_grid_max_domains, every point of the simplex grid of step 0.1;
//   2. the best static mixture over C (exhaustive);
//   3. coordinate ascent from it over per-stage mixtures: for each stage in turn, every
//      candidate of C replaces that stage's mixture; improvements are kept; sweeps repeat until
//      none improves (at most `max_sweeps`).
// It is a lower bound on the true optimum (the search is not exhaustive over schedules), but it
// is >= the noise-free return of every static mixture in C. Tested in tests/unit/sim_oracle.cpp (>= every baseline, beats the best static on small pools).
#pragma once

#include <cmath>
#include <vector>

#include "dma/core/concepts.hpp"
#include "dma/env/sim.hpp"
#include "dma/mixers/fixed.hpp"

namespace dma::env {

struct OracleOptions {
  double share_step = 0.05;
  std::vector<double> extra_shares;       // e.g. a carried static share, so the oracle covers it
  double tilt = 3.0;                      // weight multiplier of a tilted domain
  std::size_t simplex_grid_max_domains = 4;
  std::size_t max_sweeps = 4;
  bool dynamic = true;                    // false: stop after the best static mixture
};

struct OracleResult {
  std::vector<Mixture> schedule;  // the best schedule found (S mixtures)
  double value = 0;               // its noise-free return
  Mixture best_static;            // the best static mixture in C
  double best_static_value = 0;
  double best_static_share = 0;   // target share of best_static
  std::size_t rollouts = 0;       // stages simulated by the search
};

namespace detail {
inline std::vector<Mixture> oracle_candidates(const EpisodeSpec& spec, const OracleOptions& o) {
  const std::size_t D = spec.num_domains();
  std::vector<std::size_t> src, tgt;
  for (std::size_t i = 0; i < D; ++i) (spec.domains[i].field == Field::Source ? src : tgt).push_back(i);
  auto splits = [&](const std::vector<std::size_t>& idx) {
    std::vector<std::vector<double>> out{std::vector<double>(idx.size(), 1.0 / double(idx.size()))};
    if (idx.size() >= 2)
      for (std::size_t k = 0; k < idx.size(); ++k) {
        std::vector<double> w(idx.size(), 1.0);
        w[k] = o.tilt;
        double s = 0;
        for (double x : w) s += x;
        for (double& x : w) x /= s;
        out.push_back(w);
      }
    return out;
  };
  std::vector<double> shares;
  const auto n = std::size_t(std::llround(1.0 / o.share_step));
  for (std::size_t k = 0; k <= n; ++k) shares.push_back(std::min(1.0, double(k) * o.share_step));
  for (double s : o.extra_shares) shares.push_back(s);
  shares.push_back(double(tgt.size()) / double(D));  // uniform's share
  std::vector<Mixture> c;
  for (double sh : shares)
    for (const auto& ws : splits(src))
      for (const auto& wt : splits(tgt)) {
        Mixture m(D, 0.0);
        for (std::size_t k = 0; k < src.size(); ++k) m[src[k]] = (1.0 - sh) * ws[k];
        for (std::size_t k = 0; k < tgt.size(); ++k) m[tgt[k]] = sh * wt[k];
        c.push_back(space::normalize(m));
      }
  if (D <= o.simplex_grid_max_domains) {
    // Every point of the simplex grid with step 0.1 (compositions of 10 into D parts).
    std::vector<int> parts(D, 0);
    auto rec = [&](auto&& self, std::size_t i, int left) -> void {
      if (i + 1 == D) {
        parts[i] = left;
        Mixture m(D);
        for (std::size_t k = 0; k < D; ++k) m[k] = parts[k] / 10.0;
        c.push_back(m);
        return;
      }
      for (int v = 0; v <= left; ++v) {
        parts[i] = v;
        self(self, i + 1, left - v);
      }
    };
    rec(rec, 0, 10);
  }
  // Drop exact duplicates (cheap: candidates are few hundred).
  std::vector<Mixture> u;
  for (auto& m : c) {
    bool dup = false;
    for (const auto& v : u) {
      double d = 0;
      for (std::size_t k = 0; k < D; ++k) d += std::abs(v[k] - m[k]);
      if (d < 1e-12) { dup = true; break; }
    }
    if (!dup) u.push_back(std::move(m));
  }
  return u;
}
}  // namespace detail

// The noise-free return of `schedule` on env's instance under `reward`.
template <Reward R>
double noise_free_return(const SimEnv& env, const R& reward, const std::vector<Mixture>& schedule) {
  SimEnv e = env.fork();
  e.set_noise(false);
  const Feedback base = e.reset(0);
  const EpisodeSpec spec = e.spec();
  Feedback prev = base;
  double ret = 0;
  for (std::size_t t = 0; t < spec.stages; ++t) {
    const Mixture& m = schedule[std::min(t, schedule.size() - 1)];
    Feedback next = e.step(m);
    ret += double(reward(prev, next, m, RewardContext{base, spec, t + 1}));
    prev = std::move(next);
  }
  return ret;
}

template <Reward R>
OracleResult sim_oracle(const SimEnv& env, const R& reward, const OracleOptions& opt = {}) {
  const EpisodeSpec spec = env.spec();
  const std::size_t S = spec.stages;
  const auto cand = detail::oracle_candidates(spec, opt);
  OracleResult res;

  SimEnv root = env.fork();
  root.set_noise(false);
  const Feedback base = root.reset(0);

  // Return of stages [t, S) of `sched`, continuing from `state` whose last feedback is `prev`.
  auto tail = [&](SimEnv state, Feedback prev, const std::vector<Mixture>& sched, std::size_t t) {
    double ret = 0;
    for (; t < S; ++t) {
      Feedback next = state.step(sched[t]);
      ret += double(reward(prev, next, sched[t], RewardContext{base, spec, t + 1}));
      prev = std::move(next);
      ++res.rollouts;
    }
    return ret;
  };

  res.best_static_value = -std::numeric_limits<double>::infinity();
  for (const auto& m : cand) {
    const double v = tail(root, base, std::vector<Mixture>(S, m), 0);
    if (v > res.best_static_value) {
      res.best_static_value = v;
      res.best_static = m;
    }
  }
  res.best_static_share = space::field_share(res.best_static, spec, Field::Target);
  res.schedule.assign(S, res.best_static);
  res.value = res.best_static_value;
  if (!opt.dynamic) return res;

  for (std::size_t sweep = 0; sweep < opt.max_sweeps; ++sweep) {
    bool improved = false;
    SimEnv state = root;  // state before stage t under the current schedule
    Feedback prev = base;
    double prefix = 0;    // return of stages [0, t)
    for (std::size_t t = 0; t < S; ++t) {
      std::vector<Mixture> trial = res.schedule;
      for (const auto& m : cand) {
        trial[t] = m;
        const double v = prefix + tail(state, prev, trial, t);
        if (v > res.value + 1e-12) {
          res.value = v;
          res.schedule[t] = m;
          improved = true;
        }
      }
      Feedback next = state.step(res.schedule[t]);
      prefix += double(reward(prev, next, res.schedule[t], RewardContext{base, spec, t + 1}));
      prev = std::move(next);
    }
    if (!improved) break;
  }
  return res;
}

}  // namespace dma::env
