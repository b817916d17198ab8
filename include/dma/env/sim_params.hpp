// dma/env/sim_params.hpp: the parameters of the simulated CPT environment (env/sim.hpp).
// SimFamily is the user-facing configuration: ranges from which every instance is drawn (number
// of domains, source/target split, hidden target pool size, interference, noise). SimInstance
// is one drawn environment; draw_instance(family, seed) is deterministic (dma::Rng streams).
// Every formula that uses these fields is in sim.hpp and docs/SIM.md. Tested in sim_env.cpp.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "dma/core/config.hpp"
#include "dma/core/error.hpp"
#include "dma/core/reflect.hpp"
#include "dma/core/rng.hpp"
#include "dma/core/types.hpp"

namespace dma::env {

// Ranges of the family. Defaults follow the pilot in docs ENVIRONMENT_NOTES.md [ours].
struct SimFamily {
  std::size_t min_domains = 2, max_domains = 8;  // D, drawn uniformly
  std::size_t max_targets = 2;                   // targets drawn in [1, min(max_targets, D - 1)]
  std::size_t stages = 10;                       // S
  double tokens_per_stage = 16384;
  // Hidden target pool: unique target tokens per target domain as a fraction of the run's
  // total tokens (S * tokens_per_stage). With probability `unlimited_probability` the pool is
  // unlimited; otherwise log-uniform in [pool_min, pool_max]. A fixed value < 0 disables
  // drawing: pool_fixed >= 0 sets it (use +inf for unlimited).
  double unlimited_probability = 0.2;
  double pool_min = 0.03, pool_max = 0.25;
  double pool_fixed = -1;
  double target_weight_min = 0.4, target_weight_max = 0.6;  // the user's objective weight
  double interference = 1.0;      // scales the off-diagonal transfer matrix
  double forget_spread = 1.0;     // scales how differently source domains forget
  double noise_process = 0.01;    // sd of per-stage training noise (bits/byte), persists
  double noise_eval = 0.004;      // sd of per-evaluation noise, fresh each evaluation
  double params = 857e3;          // nominal model size, for FLOPs
  double train_seconds_per_stage = 1.6, eval_seconds_per_stage = 1.0;  // nominal cost

  // The JSON keys (the nominal costs are not configuration). Unknown keys are an error.
  static constexpr auto fields() {
    using namespace reflect;
    using F = SimFamily;
    return make_fields(field("min_domains", &F::min_domains), field("max_domains", &F::max_domains),
                       field("max_targets", &F::max_targets), field("stages", &F::stages),
                       field("tokens_per_stage", &F::tokens_per_stage),
                       field("unlimited_probability", &F::unlimited_probability), field("pool_min", &F::pool_min),
                       field("pool_max", &F::pool_max), field("pool_fixed", &F::pool_fixed, InfOrNumber{}),
                       field("target_weight_min", &F::target_weight_min),
                       field("target_weight_max", &F::target_weight_max), field("interference", &F::interference),
                       field("forget_spread", &F::forget_spread), field("noise_process", &F::noise_process),
                       field("noise_eval", &F::noise_eval), field("params", &F::params));
  }
  [[nodiscard]] Json to_json() const { return reflect::to_json(*this); }
  static SimFamily from_json(const Json& j, const std::string& source = "sim family") {
    return reflect::from_json<SimFamily>(j, source);
  }
  void validate(const std::string& source = "sim family") const {
    if (min_domains < 2 || max_domains < min_domains)
      fail(source, ": need 2 <= min_domains <= max_domains, got ", min_domains, "..", max_domains);
    if (max_targets < 1) fail(source, ": max_targets must be >= 1");
    if (stages < 2) fail(source, ": stages must be >= 2, got ", stages);
    if (!(tokens_per_stage > 0)) fail(source, ": tokens_per_stage must be > 0");
    if (!(pool_min > 0) || pool_max < pool_min) fail(source, ": need 0 < pool_min <= pool_max");
    if (target_weight_min < 0 || target_weight_max > 1 || target_weight_max < target_weight_min)
      fail(source, ": need 0 <= target_weight_min <= target_weight_max <= 1");
    if (noise_process < 0 || noise_eval < 0) fail(source, ": noise sds must be >= 0");
  }
};

// One drawn environment. Vectors are per domain (length D) unless said otherwise; entries
// that do not apply to a domain's field are 0.
struct SimInstance {
  std::vector<DomainInfo> domains;
  std::size_t stages = 10;
  double tokens_per_stage = 16384;
  double target_weight = 0.5;
  double recency = 0.85;             // rho: share of the gap to equilibrium closed per stage
  std::vector<double> transfer;      // D x D row-major, T[i][i] = 1: exposure of i from j
  std::vector<double> base_loss;     // L0
  // source domains
  std::vector<double> forget;        // F: loss rise at zero replay
  std::vector<double> forget_scale;  // kappa_s: relative replay that removes 63% of the pressure
  std::vector<double> damage_rate;   // a: how fast accumulated forgetting approaches F
  std::vector<double> repair_rate;   // b: how fast replay repairs accumulated forgetting
  std::vector<double> transient;     // c: the part of forgetting that the next stage undoes
  std::vector<double> rewarm;        // LR re-warm bump at peak LR
  // target domains
  std::vector<double> gain;          // G: loss drop of a fully learned target
  std::vector<double> learn_rate;    // eta
  std::vector<double> recall_scale;  // kappa_t: exposure that recalls 63% of what is learned
  std::vector<double> retained;      // beta: learned share shown without current exposure
  std::vector<double> pool;          // unique tokens of the target pool (+inf = unlimited)
  std::vector<double> fresh_epochs;  // epochs at which a repeated token is worth half
  std::vector<double> overfit_start; // epochs after which held-out loss rises
  std::vector<double> overfit_rate;  // held-out loss rise at many epochs beyond overfit_start
  std::vector<double> overfit_memory;  // per-stage decay of the recent epochs that overfitting follows
  double noise_process = 0.01, noise_eval = 0.004;
  double params = 857e3, train_seconds_per_stage = 1.6, eval_seconds_per_stage = 1.0;

  [[nodiscard]] std::size_t size() const noexcept { return domains.size(); }
  [[nodiscard]] std::size_t count(Field f) const noexcept {
    std::size_t n = 0;
    for (const auto& d : domains) n += d.field == f;
    return n;
  }
  // The hidden pool as a fraction of the run's total tokens (first target domain).
  [[nodiscard]] double pool_fraction() const {
    for (std::size_t i = 0; i < size(); ++i)
      if (domains[i].field == Field::Target) return pool[i] / (double(stages) * tokens_per_stage);
    return std::numeric_limits<double>::infinity();
  }
};

namespace detail {
inline const std::vector<std::string>& source_names() {
  static const std::vector<std::string> n{"fiction", "nonfiction", "speeches", "scripture",
                                          "dictionary", "techref", "manpages", "email",
                                          "legal", "quotes"};
  return n;
}
inline const std::vector<std::string>& target_names() {
  static const std::vector<std::string> n{"math", "code", "chemistry"};
  return n;
}
}  // namespace detail

// Draws one instance of the family; the same (family, seed) gives the same instance.
// `num_domains` = 0 draws D from the family's range, otherwise fixes it.
inline SimInstance draw_instance(const SimFamily& fam, std::uint64_t seed, std::size_t num_domains = 0) {
  fam.validate();
  Rng root(seed);
  Rng rs = root.split("sim.structure"), rp = root.split("sim.params");
  SimInstance in;
  const std::size_t D = num_domains ? num_domains
                                    : fam.min_domains + rs.below(std::uint32_t(fam.max_domains - fam.min_domains + 1));
  if (D < 2) fail("sim: an instance needs at least 2 domains (one source, one target), got ", D);
  const std::size_t max_t = std::min(fam.max_targets, D - 1);
  const std::size_t nt = 1 + rs.below(std::uint32_t(max_t));
  // Names: a random choice of distinct source names, targets in order.
  std::vector<std::string> src = detail::source_names();
  for (std::size_t i = src.size() - 1; i > 0; --i) std::swap(src[i], src[rs.below(std::uint32_t(i + 1))]);
  std::vector<DomainInfo> ds;
  for (std::size_t i = 0; i < D - nt; ++i)
    ds.push_back({i < src.size() ? src[i] : "source" + std::to_string(i), Field::Source});
  for (std::size_t k = 0; k < nt; ++k)
    ds.push_back({k < detail::target_names().size() ? detail::target_names()[k] : "target" + std::to_string(k),
                  Field::Target});
  // Interleave targets at random positions so that no policy can rely on the order.
  for (std::size_t i = D - 1; i > 0; --i) std::swap(ds[i], ds[rs.below(std::uint32_t(i + 1))]);
  in.domains = ds;
  in.stages = fam.stages;
  in.tokens_per_stage = fam.tokens_per_stage;
  in.target_weight = rp.uniform(fam.target_weight_min, fam.target_weight_max);
  in.recency = rp.uniform(0.75, 0.9);
  in.noise_process = fam.noise_process;
  in.noise_eval = fam.noise_eval;
  in.params = fam.params;
  in.train_seconds_per_stage = fam.train_seconds_per_stage;
  in.eval_seconds_per_stage = fam.eval_seconds_per_stage;

  auto zeros = [&] { return std::vector<double>(D, 0.0); };
  in.base_loss = in.forget = in.forget_scale = in.damage_rate = in.repair_rate = zeros();
  in.transient = in.rewarm = zeros();
  in.gain = in.learn_rate = in.recall_scale = in.retained = in.pool = zeros();
  in.fresh_epochs = in.overfit_start = in.overfit_rate = in.overfit_memory = zeros();
  in.transfer.assign(D * D, 0.0);

  const double forget_mean = rp.uniform(0.9, 1.5);
  const double total_tokens = double(fam.stages) * fam.tokens_per_stage;
  double pool_frac = fam.pool_fixed;
  if (pool_frac < 0) {
    const bool unlimited = rp.uniform() < fam.unlimited_probability;
    const double u = rp.uniform();
    pool_frac = unlimited ? std::numeric_limits<double>::infinity()
                          : fam.pool_min * std::pow(fam.pool_max / fam.pool_min, u);
  }
  for (std::size_t i = 0; i < D; ++i) {
    if (ds[i].field == Field::Source) {
      in.base_loss[i] = rp.uniform(1.6, 2.6);
      // Domains forget at different rates (pilot: man pages +1.87 against a mean of +1.35).
      const double m = std::exp(fam.forget_spread * rp.uniform(-0.6, 0.45));
      in.forget[i] = forget_mean * m;
      in.forget_scale[i] = rp.uniform(0.1, 0.2);
      in.damage_rate[i] = rp.uniform(0.28, 0.42);
      in.repair_rate[i] = rp.uniform(0.1, 0.2);
      in.transient[i] = rp.uniform(0.05, 0.12);
      in.rewarm[i] = rp.uniform(0.12, 0.3) * std::sqrt(m);
    } else {
      in.base_loss[i] = rp.uniform(3.3, 4.2);
      in.gain[i] = in.base_loss[i] * rp.uniform(0.5, 0.6);
      in.learn_rate[i] = rp.uniform(0.15, 0.3);
      in.recall_scale[i] = rp.uniform(0.25, 0.45);
      in.retained[i] = rp.uniform(0.75, 0.9);
      in.pool[i] = pool_frac * total_tokens;
      in.fresh_epochs[i] = rp.uniform(1.2, 2.0);
      in.overfit_start[i] = rp.uniform(1.5, 2.5);
      in.overfit_rate[i] = rp.uniform(0.25, 0.5);
      in.overfit_memory[i] = rp.uniform(0.6, 0.8);
    }
  }
  for (std::size_t i = 0; i < D; ++i)
    for (std::size_t j = 0; j < D; ++j) {
      double t = 1.0;
      if (i != j) {
        const bool si = ds[i].field == Field::Source, sj = ds[j].field == Field::Source;
        if (si && sj) t = rp.uniform(0.0, 0.25);          // related text helps retention
        else if (!si && !sj) t = rp.uniform(0.0, 0.3);    // targets share some skills
        else t = rp.uniform(-0.1, 0.1);                   // cross-field: mild (inter)ference
        t *= fam.interference;
      }
      in.transfer[i * D + j] = t;
    }
  return in;
}

}  // namespace dma::env
